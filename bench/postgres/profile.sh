#!/usr/bin/env bash
# Where a PostgreSQL backend spends the row path's time: starts a server like bench.sh, scores
# 300,000 rows with the generated typed function while `perf record` samples the whole machine,
# then prints the top symbols of the postgres processes (unnamed addresses are the module's JIT
# code). Needs perf and the installed extension (run sql-plugins/postgres/test.sh first).
#   bench/postgres/profile.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd); BIN=/usr/lib/postgresql/15/bin; MODULES=$ROOT/sql-plugins/postgres/tests/modules; DATA=$ROOT/data/demo
WORK=$(mktemp -d /tmp/pf.XXXXXX); chmod 755 $WORK; chown postgres $WORK
as_pg() { runuser -u postgres -- "$@"; }
trap 'as_pg $BIN/pg_ctl -D $WORK/data -m immediate stop >/dev/null 2>&1; rm -rf $WORK' EXIT
as_pg $BIN/initdb -D $WORK/data -A trust -U postgres --no-sync >/dev/null
as_pg $BIN/pg_ctl -D $WORK/data -l $WORK/log -w -o "-c listen_addresses='' -k $WORK -p 5432 -c fsync=off -c max_parallel_workers_per_gather=0 -c jit=off" start >/dev/null
cp $MODULES/churn.wasm $WORK/; chmod 644 $WORK/churn.wasm
p() { $BIN/psql -h $WORK -p 5432 -U postgres -d postgres -X -q "$@"; }
p -c "CREATE EXTENSION scorekit" -c "SELECT * FROM scorekit.load_model_file('churn', '$WORK/churn.wasm')" >/dev/null
header=$(head -1 "$DATA/churn.csv"); cols=""
for c in ${header//,/ }; do case $c in state | area_code | international_plan | voice_mail_plan | churn) t=text ;; *) t=float8 ;; esac; cols+="$c $t, "; done
p -c "CREATE TABLE churn (${cols} id serial PRIMARY KEY)"
p -c "\\copy churn($header) FROM '$DATA/churn.csv' WITH (FORMAT csv, HEADER true)"
p -c "CREATE TABLE c2 AS SELECT c.* FROM churn c, generate_series(1, 60) g"
p -c "SELECT scorekit.create_function('churn_probability', 'churn')" >/dev/null
INPUTS=$(p -At -c "SELECT string_agg(name, ', ' ORDER BY position) FROM scorekit.inputs('churn')")
p -c "SELECT count(churn_probability($INPUTS)) FROM churn" >/dev/null
( p -At -c "\\timing on" -c "SELECT count(churn_probability($INPUTS)) FROM c2" ) &
sleep 1
perf record -F 1999 -g -a -o "$WORK/perf.data" -- sleep 4 2>/dev/null >/dev/null
wait
perf report -i "$WORK/perf.data" --comm postgres --no-children --sort symbol --stdio 2>/dev/null \
    | grep -v "^#" | grep "%" | head -25
