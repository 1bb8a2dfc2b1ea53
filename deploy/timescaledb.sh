#!/usr/bin/env bash
# deploy/timescaledb.sh: a local TimescaleDB for HealthSphere development, tests and CI.
#
# Usage:  bash deploy/timescaledb.sh [start|stop|status|url|check]
#
#   start   (default) Provision if needed, then start the server, then check it.
#           Idempotent: the first run builds everything (about a minute), a
#           run while it is already up returns at once, and a run after `stop`
#           (or after the machine restarted) only starts the server (seconds).
#           On success the LAST line on stdout is the connection URL, e.g.
#               postgres://postgres@127.0.0.1:55432/postgres
#           All progress messages go to stderr, so
#               DATABASE_URL=$(bash deploy/timescaledb.sh start | tail -n 1)
#           works.
#   stop    Stop the server (fast shutdown). Leaves no process behind.
#   status  Print the state. Exit 0 when running, 3 when stopped or not built.
#   url     Print the connection URL (whether or not the server runs).
#   check   Smoke-test a running server: create a scratch database, CREATE
#           EXTENSION timescaledb, create_hypertable() on a small table,
#           print the TimescaleDB version and license, drop the database.
#           `start` runs the same check each time it (re)starts the server.
#
# Why this script exists
#   HealthSphere stores vital-sign time series in TimescaleDB. The machines
#   we develop and run CI on are Debian 12 (bookworm), which has no
#   TimescaleDB package, and they have no Docker engine. Debian 13 (trixie)
#   ships `postgresql-17-timescaledb`, so this script builds a minimal
#   Debian 13 root with debootstrap (only Debian's own mirror is needed) and
#   runs its PostgreSQL 17 from a chroot on a spare port. Nothing is
#   installed into the host system except the `debootstrap` package. The
#   host's own PostgreSQL (port 5432) is never touched.
#
#   If a Docker engine is reachable (`docker info` succeeds) the script uses
#   the image timescale/timescaledb:latest-pg17 instead (container name
#   healthsphere-tsdb). Set HEALTHSPHERE_TSDB_BACKEND=chroot to force the
#   debootstrap path, or =docker to force Docker.
#
# Edition caveat
#   Debian's package is the Apache-2.0 edition of TimescaleDB
#   (current_setting('timescaledb.license') = 'apache'). It has hypertables,
#   chunks, time_bucket() and the other Apache functions, but NOT the
#   community (TSL) features: no native compression/columnstore, no
#   continuous aggregates, no retention/compression/refresh policies and no
#   job scheduler for them. Code and tests must not depend on those, or must
#   skip when the license is 'apache'. (The Docker image is the community
#   edition, license 'timescale'; do not rely on the difference.)
#
# The server (debootstrap path)
#   - PostgreSQL 17 runs as the chroot's `postgres` user, data directory
#     /var/lib/postgresql/17/healthsphere inside the root, log file
#     <root>/var/log/postgresql/healthsphere-tsdb.log.
#   - Listens on 127.0.0.1 only; `trust` authentication for TCP connections
#     from 127.0.0.1 and ::1, `peer` on the chroot's Unix socket. It is a
#     development/test database: no password, never expose it.
#   - Settings (rewritten on every start into healthsphere.conf in the data
#     directory): shared_preload_libraries = 'timescaledb',
#     max_connections = 200, shared_buffers = 1GB,
#     max_locks_per_transaction = 256 (many hypertable chunks per
#     transaction), timescaledb.telemetry_level = off, max_worker_processes
#     = 32 (one TimescaleDB scheduler per database plus parallel workers),
#     timezone = UTC. fsync stays on. `ALTER SYSTEM` values
#     (postgresql.auto.conf) override these, as usual.
#   - The data files belong to the root's own `postgres` user (uid 100 on
#     Debian 13); the host may show that uid under another name.
#   - Harmless log noise with the Apache edition: each database that has the
#     extension logs "job 3 threw an error ... not supported under the
#     current "apache" license" once per start (TimescaleDB's built-in job
#     history retention job is a community-edition feature).
#   - No bind mounts: the chroot gets its own /dev/null, /dev/zero,
#     /dev/random, /dev/urandom device nodes, dynamic shared memory uses
#     System V segments (so no /dev/shm is needed) and PostgreSQL does not
#     need /proc. So there is nothing to unmount, and deleting the root
#     cannot reach into the host's /dev or /proc.
#
# Environment variables
#   HEALTHSPHERE_TSDB_PORT     TCP port on 127.0.0.1 (default 55432).
#   HEALTHSPHERE_TSDB_ROOT     Debian 13 root directory
#                              (default /var/lib/healthsphere/tsdb-root).
#   HEALTHSPHERE_TSDB_MIRROR   Debian mirror for debootstrap (default: the
#                              first Debian mirror in the host's apt sources,
#                              else http://deb.debian.org/debian).
#   HEALTHSPHERE_TSDB_BACKEND  auto (default), chroot or docker.
#   HEALTHSPHERE_TSDB_TIMEOUT  Seconds to wait for readiness (default 90).
#
# Requirements: run as root (chroot, debootstrap). Works from any working
# directory and from a fresh clone; it only needs Debian's package mirror.
#
# Removing everything
#   bash deploy/timescaledb.sh stop
#   rm -rf --one-file-system /var/lib/healthsphere/tsdb-root \
#          /var/lib/healthsphere/tsdb-root.partial /var/lib/healthsphere/tsdb-root.lock
#   apt-get remove debootstrap            # optional
#   (Docker backend: docker rm -f healthsphere-tsdb)

set -euo pipefail

# ---------------------------------------------------------------- settings --
PORT="${HEALTHSPHERE_TSDB_PORT:-55432}"
ROOT="$(realpath -m "${HEALTHSPHERE_TSDB_ROOT:-/var/lib/healthsphere/tsdb-root}")"
BACKEND="${HEALTHSPHERE_TSDB_BACKEND:-auto}"
TIMEOUT="${HEALTHSPHERE_TSDB_TIMEOUT:-90}"
SUITE=trixie
PGVER=17
PGBIN="/usr/lib/postgresql/${PGVER}/bin"          # path inside the root
PGDATA_IN="/var/lib/postgresql/${PGVER}/healthsphere"
PGLOG_IN="/var/log/postgresql/healthsphere-tsdb.log"
PGDATA="${ROOT}${PGDATA_IN}"
PGLOG="${ROOT}${PGLOG_IN}"
READY_MARK="${ROOT}/.healthsphere-tsdb-ready"    # written when the root is complete
DOCKER_NAME=healthsphere-tsdb
DOCKER_IMAGE=timescale/timescaledb:latest-pg17

CHROOT="$(command -v chroot || echo /usr/sbin/chroot)"   # env -i below clears PATH

log() { printf 'timescaledb.sh: %s\n' "$*" >&2; }
die() { printf 'timescaledb.sh: ERROR: %s\n' "$*" >&2; exit 1; }

case "${PORT}" in
    ''|*[!0-9]*) die "HEALTHSPHERE_TSDB_PORT must be a number, got '${PORT}'" ;;
esac
[ "${PORT}" = 5432 ] && die "port 5432 belongs to the host's PostgreSQL; pick another HEALTHSPHERE_TSDB_PORT"

url_for() { printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$1"; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (it uses chroot and debootstrap)"
}

use_docker() {
    case "${BACKEND}" in
        docker) return 0 ;;
        chroot) return 1 ;;
        auto) command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 ;;
        *) die "HEALTHSPHERE_TSDB_BACKEND must be auto, chroot or docker" ;;
    esac
}

# Is something accepting TCP connections on 127.0.0.1:$1?
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ------------------------------------------------------- chroot helpers ----
# Numeric uid/gid of the root's own postgres user (the host's may differ).
pg_ids() {
    awk -F: '$1 == "postgres" { print $3 ":" $4; found = 1 } END { exit !found }' \
        "${ROOT}/etc/passwd" || die "no postgres user in ${ROOT}/etc/passwd"
}

# Run a command inside the root as its postgres user with a clean environment.
# `9>&-` closes our lock file descriptor: otherwise the postmaster started by
# pg_ctl would inherit it and hold the lock for as long as it runs.
in_root_pg() {
    local ids
    ids="$(pg_ids)"
    env -i PATH="${PGBIN}:/usr/bin:/bin" LANG=C.UTF-8 LC_ALL=C.UTF-8 \
        HOME=/var/lib/postgresql PGDATA="${PGDATA_IN}" \
        "${CHROOT}" --userspec="${ids}" --groups="${ids#*:}" "${ROOT}" "$@" 9>&-
}

# Run a command inside the root as root.
in_root() {
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 LC_ALL=C.UTF-8 HOME=/root \
        "${CHROOT}" "${ROOT}" "$@" 9>&-
}

# PIDs of all processes whose root directory is $ROOT (i.e. ours).
root_pids() {
    local p r
    for p in /proc/[0-9]*; do
        r="$(readlink "${p}/root" 2>/dev/null)" || continue
        [ "${r}" = "${ROOT}" ] && printf '%s\n' "${p#/proc/}"
    done
    return 0
}

# PID of the running postmaster, or nothing (exit 1).
postmaster_pid() {
    local pid r
    [ -r "${PGDATA}/postmaster.pid" ] || return 1
    pid="$(sed -n 1p "${PGDATA}/postmaster.pid" 2>/dev/null)" || return 1
    case "${pid}" in ''|*[!0-9]*) return 1 ;; esac
    r="$(readlink "/proc/${pid}/root" 2>/dev/null)" || return 1
    [ "${r}" = "${ROOT}" ] || return 1
    printf '%s\n' "${pid}"
}

# Port the running postmaster listens on (line 4 of postmaster.pid).
running_port() { sed -n 4p "${PGDATA}/postmaster.pid" 2>/dev/null; }

# Debian mirror: env override, else first non-security Debian URI in the
# host's apt sources (deb822 *.sources and one-line *.list), else deb.debian.org.
debian_mirror() {
    if [ -n "${HEALTHSPHERE_TSDB_MIRROR:-}" ]; then
        printf '%s\n' "${HEALTHSPHERE_TSDB_MIRROR}"
        return
    fi
    local files=() f uri
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "${f}" ] && files+=("${f}")
    done
    uri=""
    if [ "${#files[@]}" -gt 0 ]; then
        uri="$(awk '
            /^[[:space:]]*#/ { next }
            /^[[:space:]]*URIs:/ { for (i = 2; i <= NF; i++) print $i; next }
            /^[[:space:]]*deb[[:space:]]/ {
                for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break }
            }' "${files[@]}" 2>/dev/null |
            grep -E '^(https?|file)://.*/debian/?$' | grep -v -- '-security' | head -n 1 || true)"
    fi
    printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# Remove a directory tree that may hold stale mounts left by an interrupted
# debootstrap (it mounts /proc and /sys in the target while it works).
safe_rmtree() {
    local dir="$1" m
    [ -e "${dir}" ] || return 0
    awk -v d="${dir}" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts |
        sort -r | while read -r m; do umount -l "${m}" 2>/dev/null || true; done
    rm -rf --one-file-system "${dir}"
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null 2>&1 && return 0
    log "installing debootstrap (apt-get update + install)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends debootstrap >&2
}

# Build the Debian 13 root with PostgreSQL 17 + TimescaleDB (once).
provision_root() {
    [ -f "${READY_MARK}" ] && [ -x "${ROOT}${PGBIN}/postgres" ] && return 0
    ensure_debootstrap
    local mirror partial="${ROOT}.partial" script=""
    mirror="$(debian_mirror)"
    # Older debootstrap releases may lack a 'trixie' script; sid's is identical.
    if [ ! -e "/usr/share/debootstrap/scripts/${SUITE}" ]; then
        script=/usr/share/debootstrap/scripts/sid
    fi
    log "building Debian 13 (${SUITE}) root in ${ROOT} from ${mirror} (about a minute)"
    safe_rmtree "${partial}"
    safe_rmtree "${ROOT}"
    mkdir -p "$(dirname "${ROOT}")"
    debootstrap --variant=minbase --include=postgresql-${PGVER}-timescaledb \
        "${SUITE}" "${partial}" "${mirror}" ${script:+"${script}"} >&2 9>&- ||
        die "debootstrap failed; see ${partial}/debootstrap/debootstrap.log"
    # Make sure debootstrap left nothing mounted or running in the new root.
    awk -v d="${partial}" 'index($2, d "/") == 1 { print $2 }' /proc/self/mounts |
        sort -r | while read -r m; do umount -l "${m}" 2>/dev/null || true; done
    mv "${partial}" "${ROOT}"
    # The package created a default cluster "main" on port 5432; we never use it.
    rm -rf "${ROOT}/etc/postgresql/${PGVER}/main" "${ROOT}/var/lib/postgresql/${PGVER}/main"
    date -u +%FT%TZ >"${READY_MARK}"
    # shellcheck disable=SC2016  # dpkg-query's own ${...} format
    log "root ready: $(in_root dpkg-query -W -f='${Package} ${Version}' "postgresql-${PGVER}-timescaledb")"
}

# Device nodes PostgreSQL and the shell need (debootstrap normally makes them).
ensure_devices() {
    local spec name major minor
    mkdir -p "${ROOT}/dev"
    for spec in null:1:3 zero:1:5 random:1:8 urandom:1:9; do
        IFS=: read -r name major minor <<<"${spec}"
        if [ ! -c "${ROOT}/dev/${name}" ]; then
            rm -f "${ROOT}/dev/${name}"
            mknod -m 666 "${ROOT}/dev/${name}" c "${major}" "${minor}"
        fi
    done
}

# initdb once, then (re)write our configuration on every start.
ensure_cluster() {
    local ids
    ids="$(pg_ids)"
    install -d -o "${ids%:*}" -g "${ids#*:}" -m 2775 "${ROOT}/run/postgresql"
    install -d -o "${ids%:*}" -g "${ids#*:}" -m 0755 "${ROOT}/var/log/postgresql"
    install -d -o "${ids%:*}" -g "${ids#*:}" -m 0755 "${ROOT}/var/lib/postgresql/${PGVER}"
    if [ ! -f "${PGDATA}/PG_VERSION" ]; then
        log "initialising PostgreSQL ${PGVER} cluster in ${PGDATA}"
        rm -rf "${PGDATA}"
        in_root_pg initdb -D "${PGDATA_IN}" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=trust >&2
        printf "\ninclude 'healthsphere.conf'\n" >>"${PGDATA}/postgresql.conf"
    fi
    cat >"${PGDATA}/healthsphere.conf" <<EOF
# Written by deploy/timescaledb.sh on every start; edits here are lost.
listen_addresses = '127.0.0.1'
port = ${PORT}
unix_socket_directories = '/run/postgresql'
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
max_connections = 200
shared_buffers = 1GB
max_locks_per_transaction = 256
max_worker_processes = 32
dynamic_shared_memory_type = sysv
timezone = 'UTC'
log_timezone = 'UTC'
EOF
    cat >"${PGDATA}/pg_hba.conf" <<'EOF'
# Written by deploy/timescaledb.sh: a development/test database.
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  peer
host    all          all   127.0.0.1/32   trust
host    all          all   ::1/128        trust
host    replication  all   127.0.0.1/32   trust
host    replication  all   ::1/128        trust
EOF
    chown "${ids}" "${PGDATA}/healthsphere.conf" "${PGDATA}/pg_hba.conf"
}

# Poll pg_isready until the server accepts connections, or fail with the log.
wait_ready() {
    local started="${SECONDS}" deadline=$((SECONDS + TIMEOUT)) rc
    while :; do
        rc=0
        in_root_pg pg_isready -q -h 127.0.0.1 -p "${PORT}" -U postgres -d postgres || rc=$?
        [ "${rc}" -eq 0 ] && return 0
        # No postmaster 3 s after pg_ctl returned: it died (bad config, port...).
        if [ $((SECONDS - started)) -ge 3 ] && ! postmaster_pid >/dev/null; then
            log "the server exited during startup; last lines of ${PGLOG}:"
            tail -n 30 "${PGLOG}" >&2 || true
            die "PostgreSQL did not start"
        fi
        if [ "${SECONDS}" -ge "${deadline}" ]; then
            log "not ready after ${TIMEOUT}s (pg_isready exit ${rc}); last lines of ${PGLOG}:"
            tail -n 30 "${PGLOG}" >&2 || true
            die "PostgreSQL did not become ready on 127.0.0.1:${PORT}"
        fi
        sleep 0.2
    done
}

# SQL smoke test in a throw-away database; prints version and license.
# Arguments: the command that runs psql (e.g. `in_root_pg psql`), then the port.
smoke_sql() {
    local port="${*: -1}" db="healthsphere_tsdb_selftest_$$"
    local psql=("${@:1:$#-1}" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port}" -U postgres)
    "${psql[@]}" -d postgres -c "CREATE DATABASE ${db}" >&2
    local rc=0 out
    out="$("${psql[@]}" -d "${db}" -At -F ' ' <<'SQL'
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE TABLE selftest_vitals (ts timestamptz NOT NULL, bed int NOT NULL, hr real);
SELECT count(*) FROM create_hypertable('selftest_vitals', 'ts', chunk_time_interval => interval '1 hour');
INSERT INTO selftest_vitals
    SELECT t, 1, 60 + random() * 40
    FROM generate_series(now() - interval '3 hours', now(), interval '1 minute') AS t;
SELECT count(*) FROM (SELECT time_bucket('15 minutes', ts) FROM selftest_vitals GROUP BY 1) b;
SELECT 'timescaledb', extversion, current_setting('timescaledb.license')
    FROM pg_extension WHERE extname = 'timescaledb';
SQL
)" || rc=$?
    "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS ${db} WITH (FORCE)" >&2 || true
    [ "${rc}" -eq 0 ] || die "TimescaleDB smoke test failed: ${out}"
    printf '%s\n' "${out}" | grep '^timescaledb ' |
        awk '{ printf "timescaledb.sh: smoke test passed: TimescaleDB %s, license %s\n", $2, $3 }' >&2
}

chroot_check() {
    postmaster_pid >/dev/null || die "not running (use: bash deploy/timescaledb.sh start)"
    # Use the root's own PostgreSQL 17 psql; the host's may be older or absent.
    smoke_sql in_root_pg psql "$(running_port)"
}

chroot_start() {
    need_root
    mkdir -p "$(dirname "${ROOT}")"
    exec 9>"${ROOT}.lock"
    flock -w 600 9 || die "another timescaledb.sh is holding ${ROOT}.lock"

    if postmaster_pid >/dev/null; then
        local rport
        rport="$(running_port)"
        [ "${rport}" = "${PORT}" ] ||
            log "note: already running on port ${rport}, not ${PORT}; stop it first to change ports"
        PORT="${rport}"
        wait_ready
        log "already running (pid $(postmaster_pid), root ${ROOT})"
        url_for "${PORT}"
        return 0
    fi

    provision_root
    ensure_devices
    ensure_cluster
    if port_open "${PORT}"; then
        die "127.0.0.1:${PORT} is already in use by another program; set HEALTHSPHERE_TSDB_PORT"
    fi
    log "starting PostgreSQL ${PGVER} + TimescaleDB on 127.0.0.1:${PORT} (log: ${PGLOG})"
    # pg_ctl detaches the postmaster (setsid) and points its stdin/stdout/
    # stderr at /dev/null and the log. Close every other descriptor we may
    # have inherited (CI runners leak pipes): a postmaster holding the write
    # end of a caller's pipe would make that caller wait for EOF forever.
    (
        for fd in /proc/self/fd/*; do
            fd="${fd##*/}"
            if [ "${fd}" -gt 2 ] && [ "${fd}" -ne 255 ]; then exec {fd}>&- || true; fi
        done 2>/dev/null
        in_root_pg pg_ctl start -W -D "${PGDATA_IN}" -l "${PGLOG_IN}" >&2
    ) || {
        tail -n 30 "${PGLOG}" >&2 || true
        die "pg_ctl start failed"
    }
    wait_ready
    chroot_check
    log "running (pid $(postmaster_pid)); stop with: bash deploy/timescaledb.sh stop"
    url_for "${PORT}"
}

chroot_stop() {
    need_root
    mkdir -p "$(dirname "${ROOT}")"
    exec 9>"${ROOT}.lock"
    flock -w 600 9 || die "another timescaledb.sh is holding ${ROOT}.lock"
    if postmaster_pid >/dev/null; then
        log "stopping PostgreSQL (pid $(postmaster_pid))"
        in_root_pg pg_ctl stop -D "${PGDATA_IN}" -m fast -w -t 60 >&2 ||
            log "pg_ctl stop failed; terminating the remaining processes"
    else
        log "not running"
    fi
    # Anything still running inside the root (a stray psql, a stuck backend).
    local pids sig
    for sig in TERM KILL; do
        pids="$(root_pids)"
        [ -n "${pids}" ] || break
        log "sending SIG${sig} to leftover processes in the root: $(tr '\n' ' ' <<<"${pids}")"
        # shellcheck disable=SC2086
        kill "-${sig}" ${pids} 2>/dev/null || true
        for _ in $(seq 50); do [ -z "$(root_pids)" ] && break; sleep 0.1; done
    done
    pids="$(root_pids)"
    [ -z "${pids}" ] || die "processes still running in ${ROOT}: $(tr '\n' ' ' <<<"${pids}")"
    log "stopped"
}

chroot_status() {
    local pid
    if pid="$(postmaster_pid)"; then
        echo "running: pid ${pid}, root ${ROOT}, url $(url_for "$(running_port)")"
        return 0
    elif [ -f "${READY_MARK}" ]; then
        echo "stopped: root ${ROOT} is built; start with: bash deploy/timescaledb.sh start"
    else
        echo "not provisioned: ${ROOT} does not exist yet; start with: bash deploy/timescaledb.sh start"
    fi
    return 3
}

chroot_url() {
    if postmaster_pid >/dev/null; then url_for "$(running_port)"; else url_for "${PORT}"; fi
}

# ------------------------------------------------------------ docker path --
docker_running() { [ "$(docker inspect -f '{{.State.Running}}' "${DOCKER_NAME}" 2>/dev/null)" = true ]; }

docker_start() {
    if docker_running; then
        log "container ${DOCKER_NAME} already running"
    elif docker inspect "${DOCKER_NAME}" >/dev/null 2>&1; then
        docker start "${DOCKER_NAME}" >&2
    else
        docker run -d --name "${DOCKER_NAME}" -p "127.0.0.1:${PORT}:5432" \
            -e POSTGRES_HOST_AUTH_METHOD=trust "${DOCKER_IMAGE}" \
            -c max_connections=200 -c shared_buffers=1GB -c max_locks_per_transaction=256 \
            -c timescaledb.telemetry_level=off >&2
    fi
    local deadline=$((SECONDS + TIMEOUT))
    until docker exec "${DOCKER_NAME}" pg_isready -q -h 127.0.0.1 -U postgres; do
        if [ "${SECONDS}" -ge "${deadline}" ]; then
            docker logs --tail 30 "${DOCKER_NAME}" >&2 || true
            die "container ${DOCKER_NAME} not ready after ${TIMEOUT}s"
        fi
        sleep 0.5
    done
    smoke_sql docker exec -i "${DOCKER_NAME}" psql 5432
    url_for "${PORT}"
}

# ------------------------------------------------------------------- main --
cmd="${1:-start}"
if use_docker; then
    case "${cmd}" in
        start) docker_start ;;
        stop) docker stop "${DOCKER_NAME}" >&2 || true ;;
        status) if docker_running; then echo "running: container ${DOCKER_NAME}, url $(url_for "${PORT}")"; else echo "stopped"; exit 3; fi ;;
        url) url_for "${PORT}" ;;
        check) smoke_sql docker exec -i "${DOCKER_NAME}" psql 5432 ;;
        *) die "unknown command '${cmd}' (use start, stop, status, url or check)" ;;
    esac
else
    case "${cmd}" in
        start) chroot_start ;;
        stop) chroot_stop ;;
        status) chroot_status ;;
        url) chroot_url ;;
        check) chroot_check ;;
        *) die "unknown command '${cmd}' (use start, stop, status, url or check)" ;;
    esac
fi
