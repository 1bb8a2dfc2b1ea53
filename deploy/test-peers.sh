#!/usr/bin/env bash
# Installs and starts the independent third-party peers the integration tests
# talk to: paho-mqtt, pymodbus, hl7 and hl7apy (PyPI), socat for serial
# pseudo-terminal pairs and Mosquitto (Debian), fhir.resources (PyPI) to
# validate the API's FHIR output and schemathesis (PyPI) to exercise its
# OpenAPI document. Idempotent: a second run only
# checks. Run as root on Debian; deploy/test.sh calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '%s\n' "$*" >&2; }

if ! python3 -c 'import paho.mqtt, pymodbus, serial, hl7, hl7apy, crccheck, fhir.resources.R4B, schemathesis' 2>/dev/null; then
    log "test peers: installing Python packages"
    python3 -m pip install --quiet --disable-pip-version-check -r tests/peers/requirements.txt
fi

missing=()
command -v socat >/dev/null || missing+=(socat)
command -v mosquitto >/dev/null || missing+=(mosquitto)
if [ ${#missing[@]} -gt 0 ]; then
    log "test peers: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Mosquitto on 127.0.0.1:1883, with persistence so sessions survive a gateway
# restart. The machine image runs one already; start it when it does not.
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
    log "test peers: starting Mosquitto"
    conf=/etc/mosquitto/mosquitto.conf
    if ! grep -q '^listener 1883' "$conf" 2>/dev/null; then
        conf=$(mktemp --suffix=.conf)
        printf 'listener 1883 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location /tmp/\n' >"$conf"
    fi
    mosquitto -d -c "$conf"
    for _ in $(seq 50); do
        (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break
        sleep 0.1
    done
fi
