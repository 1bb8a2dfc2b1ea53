#!/usr/bin/env bash
# The demo ward: starts the local TimescaleDB (provisioning it on first use),
# builds the gateway and runs four simulated bedside monitors, a simulated
# serial pulse oximeter (on a socat pseudo-terminal pair) and a simulated
# Modbus vaccine refrigerator into it, printing
# what the database holds every five seconds. Ctrl-C stops it gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."

url=$(bash deploy/timescaledb.sh start | tail -n 1)
export HEALTHSPHERE_DATABASE_URL="${url%/*}/healthsphere_demo"
exec cargo run --locked -p gateway -- demo "$@"
