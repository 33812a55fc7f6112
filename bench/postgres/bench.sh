#!/usr/bin/env bash
# Benchmark of the scorekit PostgreSQL extension (not a test). Needs the extension installed and the
# demo modules built: run sql-plugins/postgres/test.sh first (it leaves them in
# sql-plugins/postgres/tests/modules). Starts its own server (initdb in a temp dir, private socket),
# prints a Markdown table; docs/eval-postgres.md records a run.
#   bench/postgres/bench.sh [REPEATS]
#   FIRST_CALL_ONLY=1 bench/postgres/bench.sh 15    # only the new-connection figures
#   EXTENSION=scorekit_old MODULES=/dir/with/churn.wasm bench/postgres/bench.sh 3
#       another build installed under another extension name (schema scorekit), e.g. the previous
#       release for a before/after run on the same machine
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MODULES=${MODULES:-$ROOT/sql-plugins/postgres/tests/modules}
REPEATS=${1:-5}
EXTENSION=${EXTENSION:-scorekit}
BIN=/usr/lib/postgresql/15/bin
DATA=$ROOT/data/demo

WORK=$(mktemp -d /tmp/scorekit-bench.XXXXXX)
chmod 755 "$WORK"
if [ "$(id -u)" -eq 0 ]; then chown postgres "$WORK"; as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
stop() { as_pg "$BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap stop EXIT
as_pg "$BIN/initdb" -D "$WORK/data" -A trust -U postgres --no-sync >/dev/null
# No parallel query: per-row costs are compared on one core.
as_pg "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w \
    -o "-c listen_addresses='' -k $WORK -p 5432 -c fsync=off -c max_parallel_workers_per_gather=0 -c jit=off" start >/dev/null
cp "$MODULES"/churn.wasm "$WORK/" && chmod 644 "$WORK"/churn.wasm
psql_() { "$BIN/psql" -h "$WORK" -p 5432 -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
sql() { psql_ -At -c "$1"; }

sql "CREATE EXTENSION $EXTENSION"
sql "SELECT * FROM scorekit.load_model_file('churn', '$WORK/churn.wasm')" >/dev/null
header=$(head -1 "$DATA/churn.csv")
cols=""
for c in ${header//,/ }; do
    case $c in state | area_code | international_plan | voice_mail_plan | churn) t=text ;; *) t=float8 ;; esac
    cols+="$c $t, "
done
sql "CREATE TABLE churn (${cols} id serial PRIMARY KEY)"
psql_ -c "\\copy churn($header) FROM '$DATA/churn.csv' WITH (FORMAT csv, HEADER true)"
sql "CREATE TABLE churn500k AS SELECT c.* FROM churn c, generate_series(1, 100) g"; sql "VACUUM ANALYZE churn, churn500k"
psql_ -f "$ROOT/sql-plugins/postgres/examples/will_churn.sql" >/dev/null
sql "SELECT scorekit.create_function('churn_probability', 'churn')" >/dev/null
# The trivial peer: a SQL function of the same 20 arguments returning a label from two of them.
sql "CREATE FUNCTION trivial_churn(state text, acc_length bigint, area_code bigint, phone text, int_plan text,
       vmail_plan text, vmail_msg bigint, day_mins float8, day_calls bigint, day_charge float8, eve_mins float8,
       eve_calls bigint, eve_charge float8, night_mins float8, night_calls bigint, night_charge float8,
       intl_mins float8, intl_calls bigint, intl_charge float8, cust_service_calls bigint) RETURNS text
     LANGUAGE sql IMMUTABLE PARALLEL SAFE AS \$\$ SELECT CASE WHEN day_mins + 10 * cust_service_calls > 300 THEN 'True.' ELSE 'False.' END \$\$"
AARGS="state, account_length::bigint, substr(area_code, 11)::bigint, '000-0000', international_plan, voice_mail_plan, number_vmail_messages::bigint, total_day_minutes, total_day_calls::bigint, total_day_charge, total_eve_minutes, total_eve_calls::bigint, total_eve_charge, total_night_minutes, total_night_calls::bigint, total_night_charge, total_intl_minutes, total_intl_calls::bigint, total_intl_charge, number_customer_service_calls::bigint"
INPUTS=$(sql "SELECT string_agg(name, ', ' ORDER BY position) FROM scorekit.inputs('churn')")

# Median wall time (ms) of a statement over REPEATS runs in one session, after one warm-up run.
time_ms() {
    { echo '\timing on'; for _ in $(seq 0 "$REPEATS"); do echo "$1;"; done; } | psql_ -At 2>&1 \
        | awk '/^Time:/ {print $2}' | tail -n +2 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
row() { # label, rows, statement
    local ms; ms=$(time_ms "$3")
    printf '| %s | %s | %.1f | %.3f |\n' "$1" "$2" "$ms" "$(echo "$ms * 1000 / $2" | bc -l)"
}
if [ -z "${FIRST_CALL_ONLY:-}" ]; then
echo "| statement | rows | median ms | µs/row |"
echo "|---|---|---|---|"
for t in churn:5000 churn500k:500000; do
    tab=${t%%:*}; n=${t##*:}
    row "scan only: count(*)" $n "SELECT count(*) FROM $tab"
    row "trivial SQL function, 20 args" $n "SELECT count(trivial_churn($AARGS)) FROM $tab"
    # Per-row calls are batched by the planner hook (scorekit.batch_calls, default on); the session's
    # first statement (the warm-up) loads the library, so every timed one is batched.
    row "will_churn(...) Aurora form (batched calls)" $n "SELECT count(will_churn($AARGS)) FROM $tab"
    row "churn_probability(...) native (batched calls)" $n "SELECT count(churn_probability($INPUTS)) FROM $tab"
    PGOPTIONS="-c scorekit.batch_calls=off" row "will_churn(...) Aurora form (row by row: batch_calls off)" $n "SELECT count(will_churn($AARGS)) FROM $tab"
    PGOPTIONS="-c scorekit.batch_calls=off" row "churn_probability(...) native (row by row: batch_calls off)" $n "SELECT count(churn_probability($INPUTS)) FROM $tab"
    row "scorekit.score(model, row) via jsonb" $n "SELECT count(scorekit.score('churn', c)) FROM $tab c"
    row "score_query batch path (1024 rows/call)" $n "SELECT count(*) FROM scorekit.score_query('churn', 'SELECT * FROM $tab')"
done
fi

echo
echo "first statement on a new connection (median of $REPEATS, ms; includes connection setup):"
SEED="SELECT will_churn('IN',65,415,'329-6603','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)"
first_call() {
    for _ in $(seq 1 "$REPEATS"); do
        { echo '\timing on'; echo "$1;"; } | psql_ -At 2>&1 | awk '/^Time:/ {print $2}'
    done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
# Whole connection: psql start + connect + the statement + exit, wall clock, median (ms). The
# difference to `SELECT 1` is everything scorekit adds to a new connection's first call.
connection_ms() {
    for _ in $(seq 1 "$REPEATS"); do
        local t0 t1
        t0=$(date +%s%N); psql_ -At -c "$1" >/dev/null; t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000 ))
    done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)] / 1000}'
}
first_call_rows() { # label suffix
    echo "  SELECT 1$1:                          statement $(first_call 'SELECT 1') ms, whole connection $(connection_ms 'SELECT 1') ms"
    echo "  will_churn, compile cache on$1:      statement $(first_call "$SEED") ms, whole connection $(connection_ms "$SEED") ms"
}
first_call_rows ""
# Where a new connection's first call goes: one statement per step, in one new connection.
echo "  steps of a new connection (ms, median of $REPEATS connections): library load | alias + module load | first score | second score"
for _ in $(seq 1 "$REPEATS"); do
    psql_ -At <<SQL 2>&1 | awk '/^Time:/ {printf "%s ", $2} END {print ""}'
\timing on
SELECT scorekit.version();
SELECT count(*) FROM scorekit.inputs('churn');
$SEED;
$SEED;
SQL
done | sort -n -k2 | awk '{a[NR]=$0} END {print "   ", a[int((NR+1)/2)]}'
psql_ -At -c "LOAD '$EXTENSION'" -c "ALTER SYSTEM SET scorekit.cache_dir = ''" && sql "SELECT pg_reload_conf()" >/dev/null && sleep 0.5
echo "  will_churn, compile cache off:     statement $(first_call "$SEED") ms, whole connection $(connection_ms "$SEED") ms"
psql_ -At -c "LOAD '$EXTENSION'" -c "ALTER SYSTEM RESET scorekit.cache_dir" && sql "SELECT pg_reload_conf()" >/dev/null && sleep 0.5
# The library loaded once by the postmaster and inherited by every backend.
psql_ -At -c "ALTER SYSTEM SET shared_preload_libraries = '$EXTENSION'" >/dev/null
as_pg "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w restart -m fast >/dev/null
first_call_rows " (shared_preload_libraries)"
[ -n "${FIRST_CALL_ONLY:-}" ] && exit 0

echo
echo "pgbench, single-row scoring, 2 clients, 10 s, prepared:"
echo "$SEED;" >"$WORK/score.sql"
echo "SELECT trivial_churn('IN',65,415,'329-6603','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4);" >"$WORK/trivial.sql"
echo "SELECT 1;" >"$WORK/select1.sql"
for s in select1 trivial score; do
    tps=$("$BIN/pgbench" -h "$WORK" -p 5432 -U postgres -n -M prepared -c 2 -j 2 -T 10 -f "$WORK/$s.sql" postgres 2>/dev/null \
        | awk '/^tps/ {print $3; exit}')
    echo "  $s: $tps tps"
done
