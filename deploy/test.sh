#!/usr/bin/env bash
# Runs every test of the workspace, including those against a real TimescaleDB.
#
# Starts (and on first use provisions) the local TimescaleDB with
# deploy/timescaledb.sh, then runs `cargo test` with the database required:
# a test that cannot reach it fails instead of skipping. Extra arguments go to
# `cargo test` (for example a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

url=$(bash deploy/timescaledb.sh start | tail -n 1)
export HEALTHSPHERE_TEST_DATABASE_URL="$url"
export HEALTHSPHERE_REQUIRE_DB=1
exec cargo test --workspace --locked "$@"
