#!/usr/bin/env bash
# A new connection's first statement (not a test): starts its own server like bench.sh, loads the
# demo churn module and the Aurora-form `will_churn`, then prints the median, minimum and 90th
# percentile (psql's \timing, ms) of the first statement of N new connections, for each statement
# given (default: `LOAD 'scorekit'`, `SELECT 1` and the seed `will_churn`). Needs the extension
# installed and the demo modules built (run sql-plugins/postgres/test.sh first).
#   bench/postgres/first-call.sh [N=31] ["STATEMENT" ...]
#   LIBS="/a/scorekit.so /b/scorekit.so" ROUNDS=2 bench/postgres/first-call.sh 31
#       alternates extension libraries (each copied over the installed scorekit.so for its turn;
#       the installed one is put back at the end): before/after in one run
#   PERF=1 bench/postgres/first-call.sh 300 "SELECT …"
#       perf record (cpu-clock, all CPUs, call graphs) over the N connections of the one
#       statement, then the top symbols of the postgres processes
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MODULES=${MODULES:-$ROOT/sql-plugins/postgres/tests/modules}
BIN=/usr/lib/postgresql/15/bin
N=${1:-31}
shift || true
SEED="SELECT will_churn('IN',65,415,'329-6603','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)"
if [ $# -eq 0 ]; then set -- "LOAD 'scorekit'" "SELECT 1" "$SEED"; fi
LIB="$("$BIN/pg_config" --pkglibdir)/scorekit.so"
# Replaced by a rename, never rewritten in place: a backend still exiting keeps the file it mapped.
install_lib() { cp "$1" "$LIB.new" && mv -f "$LIB.new" "$LIB"; }

WORK=$(mktemp -d /tmp/scorekit-first-call.XXXXXX)
chmod 755 "$WORK"
if [ "$(id -u)" -eq 0 ]; then chown postgres "$WORK"; as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
cp "$LIB" "$WORK/installed.so"
stop() {
    as_pg "$BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
    install_lib "$WORK/installed.so" 2>/dev/null || true
    rm -rf "$WORK"
}
trap stop EXIT
as_pg "$BIN/initdb" -D "$WORK/data" -A trust -U postgres --no-sync >/dev/null
# No shared_preload_libraries: every new backend loads the library itself (and a library copied
# over the installed one is what the next backend loads).
as_pg "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w \
    -o "-c listen_addresses='' -k $WORK -p 5432 -c fsync=off -c jit=off" start >/dev/null
cp "$MODULES/churn.wasm" "$WORK/" && chmod 644 "$WORK/churn.wasm"
psql_() { "$BIN/psql" -h "$WORK" -p 5432 -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_ -c "CREATE EXTENSION scorekit" -c "SELECT * FROM scorekit.load_model_file('churn', '$WORK/churn.wasm')" >/dev/null
psql_ -f "$ROOT/sql-plugins/postgres/examples/will_churn.sql" >/dev/null
psql_ -At -c "$SEED" >/dev/null # fills the compile cache

first_ms() { # statement → "median … min … p90 …"
    for _ in $(seq 1 "$N"); do
        { echo '\timing on'; echo "$1;"; } | psql_ -At 2>&1 | awk '/^Time:/ {print $2}'
    done | sort -n | awk '{a[NR]=$1} END {printf "median %.3f  min %.3f  p90 %.3f", a[int((NR+1)/2)], a[1], a[int(NR*0.9)]}'
}

if [ -n "${PERF:-}" ]; then
    command -v perf >/dev/null || { echo "perf is missing (linux-perf)" >&2; exit 1; }
    perf record -e cpu-clock -F 20000 -g -a -o "$WORK/perf.data" -- bash -c \
        "for i in \$(seq $N); do $BIN/psql -h $WORK -p 5432 -U postgres -d postgres -X -q -At -c \"$1\" >/dev/null; done" \
        >/dev/null 2>&1
    perf report -i "$WORK/perf.data" --comm postgres --no-children --sort dso,sym --stdio -g none 2>/dev/null \
        | grep -v '^#' | grep '%' | head -40
    exit 0
fi

echo "first statement of a new connection, $N connections each (ms):"
libs=${LIBS:-$WORK/installed.so}
for round in $(seq 1 "${ROUNDS:-1}"); do
    for lib in $libs; do
        install_lib "$lib"
        for stmt in "$@"; do
            printf '  round %s, %s: %s: %s\n' "$round" "$lib" "${stmt:0:40}" "$(first_ms "$stmt")"
        done
    done
done
