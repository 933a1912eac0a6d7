#!/usr/bin/env bash
# Runs the test suite in two phases:
#   1. SQLite: everything, the browser (e2e) tests included;
#   2. PostgreSQL: everything but the browser tests, against a private throwaway cluster
#      (or against WIJKWERF_TEST_DATABASE_URL when that is set).
# Extra arguments are passed to pytest in both phases (e.g. scripts/test.sh -k signup -x).
#
# Environment:
#   CI=true                      skip nothing: install missing PostgreSQL/Chromium with apt-get and
#                                turn a skipped browser or PostgreSQL fixture into a failure
#   WIJKWERF_TEST_DATABASE_URL   a PostgreSQL server to use for phase 2 (postgresql+psycopg://...)
#   WIJKWERF_TEST_PHASES         which phases to run (default "sqlite postgres")
#   WIJKWERF_TEST_WORKERS        pytest-xdist workers (default 2; 0 runs in a single process)
#   WIJKWERF_TEST_PHASE_TIMEOUT  seconds after which a phase counts as hung (default 900)
#   WIJKWERF_CHROMIUM            the Chromium binary (default /usr/bin/chromium)
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PY="$ROOT/.venv/bin/python"
PHASES=${WIJKWERF_TEST_PHASES:-sqlite postgres}
WORKERS=${WIJKWERF_TEST_WORKERS:-2}
PHASE_TIMEOUT=${WIJKWERF_TEST_PHASE_TIMEOUT:-900}
CHROMIUM=${WIJKWERF_CHROMIUM:-/usr/bin/chromium}
export WIJKWERF_CHROMIUM=$CHROMIUM

case "${CI:-}" in
    true | TRUE | True | 1 | yes) IS_CI=1 ;;
    *) IS_CI=0 ;;
esac
if [ "$IS_CI" = 1 ]; then
    export WIJKWERF_REQUIRE_ALL=1
fi

if [ ! -x "$PY" ]; then
    echo "test.sh: $PY not found; run 'make venv' (or 'make test') first" >&2
    exit 2
fi

say() { printf '\n== %s\n' "$*"; }

# --- system packages (CI only) --------------------------------------------------------------

APT_UPDATED=0
apt_install() {
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: need to install $* but cannot (not root or no apt-get)" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ "$APT_UPDATED" = 0 ]; then
        apt-get update -q || return 1
        APT_UPDATED=1
    fi
    apt-get install -y -q "$@"
}

find_pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$dir" ] && [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
        echo "$dir"
    fi
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- private PostgreSQL cluster ---------------------------------------------------------------

PG_TMP=""
PG_STARTED=0
RUN_AS=()

pg_as_owner() {
    # root may not run postgres; the cluster belongs to the postgres user then.
    (cd "$PG_TMP" && ${RUN_AS[@]+"${RUN_AS[@]}"} "$@")
}

start_private_postgres() {
    local pg_bin=$1 attempt
    PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wijkwerf-pg.XXXXXX") || return 1
    chmod 755 "$PG_TMP"
    if [ "$(id -u)" -eq 0 ]; then
        if ! id postgres >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin postgres || return 1
        fi
        chown postgres: "$PG_TMP"
        RUN_AS=(runuser -u postgres --)
    fi
    if ! pg_as_owner "$pg_bin/initdb" -D "$PG_TMP/data" -U postgres -A trust -E UTF8 \
        --no-locale --no-sync >"$PG_TMP/initdb.log" 2>&1; then
        cat "$PG_TMP/initdb.log" >&2
        return 1
    fi
    pg_as_owner mkdir -p "$PG_TMP/socket"
    for attempt in 1 2 3; do
        PG_PORT=$(free_port)
        if pg_as_owner "$pg_bin/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT \
                -c unix_socket_directories=$PG_TMP/socket -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >/dev/null; then
            PG_STARTED=1
            break
        fi
        echo "test.sh: PostgreSQL did not start on port $PG_PORT (attempt $attempt)" >&2
        tail -n 20 "$PG_TMP/postgres.log" >&2 || true
    done
    [ "$PG_STARTED" = 1 ] || return 1
    PG_BIN_DIR=$pg_bin
    pg_as_owner "$pg_bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres wijkwerf_test || return 1
    export WIJKWERF_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/wijkwerf_test"
}

stop_private_postgres() {
    if [ "$PG_STARTED" = 1 ]; then
        pg_as_owner "$PG_BIN_DIR/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
        PG_STARTED=0
    fi
    if [ -n "$PG_TMP" ] && [ -d "$PG_TMP" ]; then
        rm -rf "$PG_TMP"
        PG_TMP=""
    fi
}

# --- running pytest ----------------------------------------------------------------------------

CHILD=""
cleanup() {
    if [ -n "$CHILD" ]; then
        kill -TERM "$CHILD" 2>/dev/null || true
        wait "$CHILD" 2>/dev/null || true
        CHILD=""
    fi
    stop_private_postgres
}
trap cleanup EXIT
trap 'echo "test.sh: interrupted" >&2; exit 130' INT TERM HUP

XDIST_ARGS=()
if [ "$WORKERS" != 0 ]; then
    XDIST_ARGS=(-n "$WORKERS" --dist loadgroup)
fi

# Runs pytest under a hang guard; `timeout` puts pytest in its own process group, so the
# traps above forward an interrupt to it explicitly.
run_pytest() {
    timeout --kill-after=30 "$PHASE_TIMEOUT" "$PY" -m pytest -rfEs ${XDIST_ARGS[@]+"${XDIST_ARGS[@]}"} "$@" &
    CHILD=$!
    wait "$CHILD"
    local rc=$?
    CHILD=""
    return $rc
}

declare -a SUMMARY=()
FAILED=0

record() { # phase-label rc seconds allow-no-tests
    local label=$1 rc=$2 secs=$3 allow_empty=$4 verdict
    case $rc in
        0) verdict="PASSED" ;;
        5) if [ "$allow_empty" = 1 ]; then verdict="PASSED (no tests selected)"; rc=0;
           else verdict="FAILED (no tests collected)"; fi ;;
        124 | 137) verdict="FAILED (hung: killed after ${PHASE_TIMEOUT}s)" ;;
        *) verdict="FAILED (pytest exit code $rc)" ;;
    esac
    [ "$rc" = 0 ] || FAILED=1
    SUMMARY+=("$label: $verdict in ${secs}s")
    say "$label: $verdict in ${secs}s"
}

want_phase() { [[ " $PHASES " == *" $1 "* ]]; }

# --- phase 1: SQLite ---------------------------------------------------------------------------

if want_phase sqlite; then
    # Tests marked postgres_only (two instances sharing one database server) belong to phase 2.
    phase1_args=(-m "not postgres_only")
    label="phase 1 (SQLite, browser tests included)"
    if [ ! -x "$CHROMIUM" ]; then
        if [ "$IS_CI" = 1 ]; then
            say "Chromium not found at $CHROMIUM: installing it (CI=true)"
            apt_install chromium || { echo "test.sh: could not install chromium" >&2; exit 1; }
        else
            echo "Chromium not found at $CHROMIUM: browser tests skipped; install chromium (apt-get install chromium) or run with CI=true to let the test setup install it"
            phase1_args=(-m "not e2e and not postgres_only")
            label="phase 1 (SQLite, browser tests SKIPPED: no Chromium)"
        fi
    fi
    say "$label"
    start=$SECONDS
    saved_pg_url=${WIJKWERF_TEST_DATABASE_URL-}
    unset WIJKWERF_TEST_DATABASE_URL
    run_pytest ${phase1_args[@]+"${phase1_args[@]}"} "$@"
    rc=$?
    if [ -n "$saved_pg_url" ]; then export WIJKWERF_TEST_DATABASE_URL=$saved_pg_url; fi
    record "$label" "$rc" $((SECONDS - start)) 0
fi

# --- phase 2: PostgreSQL -----------------------------------------------------------------------

if want_phase postgres; then
    label="phase 2 (PostgreSQL, without browser tests)"
    if [ -n "${WIJKWERF_TEST_DATABASE_URL:-}" ]; then
        ready=1
        say "$label against WIJKWERF_TEST_DATABASE_URL"
    else
        ready=0
        pg_bin=$(find_pg_bin)
        if [ -z "$pg_bin" ] && [ "$IS_CI" = 1 ]; then
            say "PostgreSQL not found: installing it (CI=true)"
            apt_install postgresql || { echo "test.sh: could not install postgresql" >&2; exit 1; }
            pg_bin=$(find_pg_bin)
        fi
        if [ -z "$pg_bin" ]; then
            echo "PostgreSQL not found: phase 2 skipped; install postgresql (apt-get install postgresql) or run with CI=true to let the test setup install it"
            SUMMARY+=("$label: SKIPPED (PostgreSQL not installed)")
        elif start_private_postgres "$pg_bin"; then
            ready=1
            say "$label on a private cluster at 127.0.0.1:$PG_PORT"
        else
            echo "test.sh: could not start a private PostgreSQL cluster" >&2
            SUMMARY+=("$label: FAILED (could not start PostgreSQL)")
            FAILED=1
        fi
    fi
    if [ "$ready" = 1 ]; then
        start=$SECONDS
        run_pytest -m "not e2e" "$@"
        rc=$?
        record "$label" "$rc" $((SECONDS - start)) 1
        stop_private_postgres
    fi
fi

say "summary"
for line in "${SUMMARY[@]}"; do
    echo "   $line"
done
if [ "$FAILED" = 0 ]; then
    echo "   => all phases passed"
else
    echo "   => FAILED"
fi
exit "$FAILED"
