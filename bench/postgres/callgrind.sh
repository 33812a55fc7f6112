#!/usr/bin/env bash
# Instructions per scored row, counted by callgrind (repeatable where wall-clock figures on a shared
# 2-core machine are not): a single-user `postgres --single` backend runs each statement over 1 row
# and over 2001 rows of the demo churn table; (count(2001) - count(1)) / 2000 is the per-row cost,
# fixed costs (library load, module load, hashing, planning) cancelling out. Main thread only (the
# runtime's epoch ticker thread counts wall time, not work). Needs valgrind and the installed
# extension (sql-plugins/postgres/test.sh first).
#   bench/postgres/callgrind.sh
#   EXTENSION=scorekit_old MODULES=/dir/with/churn.wasm bench/postgres/callgrind.sh   # another build
#   CG_KEEP=/tmp/cg bench/postgres/callgrind.sh   # keep the callgrind files for callgrind_annotate
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MODULES=${MODULES:-$ROOT/sql-plugins/postgres/tests/modules}
EXTENSION=${EXTENSION:-scorekit}
BIN=/usr/lib/postgresql/15/bin
DATA=$ROOT/data/demo
W=$(mktemp -d /tmp/scorekit-callgrind.XXXXXX)
chmod 755 "$W"
if [ "$(id -u)" -eq 0 ]; then chown postgres "$W"; as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
trap 'as_pg $BIN/pg_ctl -D $W/data -m immediate stop >/dev/null 2>&1 || true; rm -rf $W' EXIT
as_pg "$BIN/initdb" -D "$W/data" -A trust -U postgres --no-sync >/dev/null
OPTS="-c jit=off -c max_parallel_workers_per_gather=0"
as_pg "$BIN/pg_ctl" -D "$W/data" -l "$W/log" -w -o "-c listen_addresses='' -k $W -p 5432 -c fsync=off $OPTS" start >/dev/null
cp "$MODULES/churn.wasm" "$W/" && chmod 644 "$W/churn.wasm"
p() { "$BIN/psql" -h "$W" -p 5432 -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
p -c "CREATE EXTENSION $EXTENSION" -c "SELECT * FROM scorekit.load_model_file('churn', '$W/churn.wasm')" >/dev/null
header=$(head -1 "$DATA/churn.csv")
cols=""
for c in ${header//,/ }; do
    case $c in state | area_code | international_plan | voice_mail_plan | churn) t=text ;; *) t=float8 ;; esac
    cols+="$c $t, "
done
p -c "CREATE TABLE churn (${cols} id serial PRIMARY KEY)"
p -c "\\copy churn($header) FROM '$DATA/churn.csv' WITH (FORMAT csv, HEADER true)"
p -c "CREATE TABLE c1 AS SELECT * FROM churn WHERE id = 1" -c "CREATE TABLE c2k AS SELECT * FROM churn WHERE id <= 2001" -c "VACUUM ANALYZE"
p -c "SELECT scorekit.create_function('churn_probability', 'churn')" >/dev/null
p -c "CREATE FUNCTION trivial(a text, b float8, c text) RETURNS float8 LANGUAGE sql IMMUTABLE AS \$\$ SELECT CASE WHEN a = c THEN b ELSE 0 END \$\$"
INPUTS=$(p -At -c "SELECT string_agg(name, ', ' ORDER BY position) FROM scorekit.inputs('churn')")
as_pg "$BIN/pg_ctl" -D "$W/data" -m fast stop >/dev/null

count() { # label, FROM clause, expression: instructions of the main thread ($EXTRA: more options)
    echo "SELECT count($3) FROM $2;" >"$W/q.sql" && chmod 644 "$W/q.sql"
    # shellcheck disable=SC2086 # OPTS and EXTRA hold several options
    as_pg valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$W/cg.$1" \
        "$BIN/postgres" --single -D "$W/data" $OPTS ${EXTRA:-} postgres <"$W/q.sql" >/dev/null 2>"$W/vg.$1.log" \
        || { tail -5 "$W/vg.$1.log" >&2; exit 1; }
    [ -z "${CG_KEEP:-}" ] || { mkdir -p "$CG_KEEP" && cp "$W/cg.$1-01" "$CG_KEEP/"; }
    grep -h "^summary:\|^totals:" "$W/cg.$1-01" | head -1 | awk '{print $2}'
}
per_row() { # label, FROM clause for 1 row, for 2001 rows, expression
    local one many
    one=$(count "$1.1" "$2" "$4")
    many=$(count "$1.2001" "$3" "$4")
    printf '| %s | %d |\n' "$1" $(((many - one) / 2000))
}
# Valgrind's CPU differs from the host's: the first run compiles the module for it into the cache.
count warm-up c1 "churn_probability($INPUTS)" >/dev/null
echo "| statement ($EXTENSION) | instructions per row |"
echo "|---|---|"
per_row "churn_probability(...) native (row path)" c1 c2k "churn_probability($INPUTS)"
# The library loaded before planning, so the planner hook batches the calls (crate::batch).
EXTRA="-c shared_preload_libraries=$EXTENSION" per_row "churn_probability(...) native, batched" c1 c2k "churn_probability($INPUTS)"
per_row "scorekit.score(model, row) via jsonb" "c1 c" "c2k c" "scorekit.score('churn', c)"
per_row "score_query batch path" "scorekit.score_query('churn', 'SELECT * FROM c1') q" "scorekit.score_query('churn', 'SELECT * FROM c2k') q" "*"
per_row "trivial SQL function, 3 args" c1 c2k "trivial(state, account_length, area_code)"
