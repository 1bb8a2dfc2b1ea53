#!/usr/bin/env bash
# Runs every test of the workspace, including those against a real TimescaleDB.
#
# Starts (and on first use provisions) the local TimescaleDB with
# deploy/timescaledb.sh and the third-party test peers with deploy/test-peers.sh,
# then runs the tests with both required: a test that cannot reach them fails
# instead of skipping. Uses cargo-nextest when it is installed (one process per
# test, one summary line), `cargo test` otherwise. Extra arguments go to the
# runner (for example a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

url=$(bash deploy/timescaledb.sh start | tail -n 1)
bash deploy/test-peers.sh
export HEALTHSPHERE_TEST_DATABASE_URL="$url"
export HEALTHSPHERE_REQUIRE_DB=1
export HEALTHSPHERE_REQUIRE_PEERS=1
if command -v cargo-nextest >/dev/null; then
    exec cargo nextest run --workspace --locked --no-fail-fast "$@"
fi
exec cargo test --workspace --locked --no-fail-fast "$@"
