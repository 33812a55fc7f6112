#!/usr/bin/env bash
# End-to-end test of the installed scorekit extension against a real PostgreSQL server started
# here (initdb in a temp dir, Unix socket in that dir, no TCP). Every score is compared with
# `host score` on the same rows. Called by ../test.sh, which sets HOST, MODULES, ROOT, PG_MAJOR.
set -euo pipefail
: "${HOST:?path of the host binary}" "${MODULES:?dir with churn.wasm, anomaly.wasm, forecast.wasm and demo/}"
: "${ROOT:?repository root}"
PG_MAJOR=${PG_MAJOR:-15}
BIN=/usr/lib/postgresql/$PG_MAJOR/bin
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=$ROOT/data/demo
CMP="python3 $HERE/compare.py"

WORK=$(mktemp -d /tmp/scorekit-e2e.XXXXXX)
chmod 755 "$WORK"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$WORK"
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi
stop() {
    as_pg "$BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap stop EXIT

as_pg "$BIN/initdb" -D "$WORK/data" -A trust -U postgres --no-sync >/dev/null
as_pg "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w \
    -o "-c listen_addresses='' -k $WORK -p 5432 -c fsync=off" start >/dev/null
# The server reads modules given by path (load_model_file) as its own OS user.
cp "$MODULES"/*.wasm "$WORK/" && chmod 644 "$WORK"/*.wasm

psql_() { "$BIN/psql" -h "$WORK" -p 5432 -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
sql() { psql_ -At -c "$1"; }
fails=0
expect_error() { # SQL, substring the ERROR must contain
    local out
    if out=$(psql_ -At -c "$1" 2>&1); then
        echo "FAIL expected an ERROR containing '$2' from: $1 (got: $out)"; fails=$((fails + 1))
    elif [[ "$out" != *"$2"* ]]; then
        echo "FAIL expected '$2' in the ERROR of: $1"; echo "     got: $out"; fails=$((fails + 1))
    else
        echo "ok   error: ${out%%$'\n'*}" | cut -c1-160
    fi
}
expect_eq() { # name, expected, actual
    if [ "$2" == "$3" ]; then echo "ok   $1: $3"; else echo "FAIL $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}

echo "-- server $(sql 'SHOW server_version'), data dir $WORK/data"
sql "CREATE EXTENSION scorekit"
expect_eq "extension version" "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'scorekit'")" "$(sql 'SELECT scorekit.version()')"

# --- models: bytes from the client (base64 via a psql variable), and from a server file ------------
psql_ >/dev/null <<SQL
\set churn_b64 \`base64 -w0 $MODULES/churn.wasm\`
SELECT * FROM scorekit.load_model('churn', decode(:'churn_b64', 'base64'));
SELECT * FROM scorekit.load_model_file('anomaly', '$WORK/anomaly.wasm');
SELECT * FROM scorekit.load_model_file('forecast', '$WORK/forecast.wasm');
SQL

expect_eq "models view" "churn|1|gbt|t anomaly|1|rcf|t forecast|1|forecast|t" \
    "$(sql "SELECT name, version, family, deployed FROM scorekit.models ORDER BY created_at" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "hash identity" "$(sha256sum "$MODULES/churn.wasm" | cut -c1-64)" "$(sql "SELECT sha256 FROM scorekit.models WHERE name = 'churn'")"
expect_eq "idempotent load" "1" "$(psql_ -At <<SQL
\set churn_b64 \`base64 -w0 $MODULES/churn.wasm\`
SELECT version FROM scorekit.load_model('churn', decode(:'churn_b64', 'base64'));
SQL
)"

# --- the churn table, loaded with \copy ----------------------------------------------------------
header=$(head -1 "$DATA/churn.csv")
cols=""
for c in ${header//,/ }; do
    case $c in state | area_code | international_plan | voice_mail_plan | churn) t=text ;; *) t=float8 ;; esac
    cols+="$c $t, "
done
sql "CREATE TABLE churn (${cols} id serial PRIMARY KEY)"
psql_ -c "\\copy churn($header) FROM '$DATA/churn.csv' WITH (FORMAT csv, HEADER true)"
expect_eq "churn rows" 5000 "$(sql 'SELECT count(*) FROM churn')"

"$HOST" score "$MODULES/demo/churn.model.json" --input "$DATA/churn.csv" >"$WORK/host_churn.csv"
inputs=$(sql "SELECT string_agg(name, ', ' ORDER BY position) FROM scorekit.inputs('churn')")

# Generated typed functions: native (float8, follows the alias) and pinned (IMMUTABLE).
sql "SELECT scorekit.create_function('churn_probability', 'churn')" >/dev/null
sql "SELECT scorekit.create_function('churn_probability_pinned', 'churn', pin => true)" >/dev/null
expect_eq "volatility" "s i" "$(sql "SELECT provolatile FROM pg_proc WHERE proname IN ('churn_probability', 'churn_probability_pinned') ORDER BY proname" | tr '\n' ' ' | sed 's/ $//')"

out() { psql_ -c "\\copy ($1) TO '$WORK/$2' WITH (FORMAT csv)"; }
out "SELECT scorekit.score('churn', c) FROM churn c ORDER BY id" pg_record.csv
out "SELECT churn_probability($inputs) FROM churn ORDER BY id" pg_typed.csv
out "SELECT churn_probability_pinned($inputs) FROM churn ORDER BY id" pg_pinned.csv
out "SELECT scorekit.score_args('churn', $inputs) FROM churn ORDER BY id" pg_args.csv
out "SELECT score FROM scorekit.score_query('churn', 'SELECT * FROM churn', 'id') ORDER BY key::int" pg_batch.csv
out "SELECT unnest(scorekit.score_rows('churn', jsonb_agg(to_jsonb(c) ORDER BY id))) FROM churn c" pg_rows.csv
for f in record typed pinned args batch rows; do
    $CMP "churn $f" "$WORK/host_churn.csv" probability "$WORK/pg_$f.csv" 0 || fails=$((fails + 1))
done

# --- Aurora ML compatibility: the seed's will_churn(...) with 20 arguments ----------------------------
psql_ -f "$HERE/../examples/will_churn.sql" >/dev/null
{ echo "$header"; echo "IN,65,area_code_415,no,no,0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4,no"; } >"$WORK/seed.csv"
"$HOST" score "$MODULES/demo/churn.model.json" --input "$WORK/seed.csv" >"$WORK/host_seed.csv"
want=$(python3 -c "import csv,sys; p=float(list(csv.DictReader(open('$WORK/host_seed.csv')))[0]['probability']); print('True.' if p > 0.5 else 'False.')")
expect_eq "Aurora seed statement" "$want" \
    "$(sql "SELECT will_churn('IN',65,415,'329-6603','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)")"
aurora_args="state, account_length::bigint, substr(area_code, 11)::bigint, '000-0000', international_plan, voice_mail_plan, number_vmail_messages::bigint, total_day_minutes, total_day_calls::bigint, total_day_charge, total_eve_minutes, total_eve_calls::bigint, total_eve_charge, total_night_minutes, total_night_calls::bigint, total_night_charge, total_intl_minutes, total_intl_calls::bigint, total_intl_charge, number_customer_service_calls::bigint"
out "SELECT will_churn($aurora_args) FROM churn ORDER BY id" pg_aurora.csv
$CMP "churn Aurora labels" "$WORK/host_churn.csv" probability "$WORK/pg_aurora.csv" 0 --label 0.5 True. False. || fails=$((fails + 1))

# NULL is an ERROR naming the input by default; with scorekit.null_inputs = 'missing' it is a missing
# value, exactly like an empty CSV field for `host score`.
null_call="churn_probability('IN',65,'area_code_415','no','no',NULL,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)"
expect_error "SELECT $null_call" "row 1, input 'number_vmail_messages' (argument 6) is NULL"
expect_error "SELECT count(*) FROM scorekit.score_query('churn', 'SELECT (jsonb_populate_record(c, CASE WHEN id = 1500 THEN ''{\"total_eve_calls\": null}'' ELSE ''{}'' END::jsonb)).* FROM churn c ORDER BY id')" \
    "row 1500, input 'total_eve_calls' (argument 11) is NULL"
{ echo "$header"; echo "IN,65,area_code_415,no,no,,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4,no"; } >"$WORK/null.csv"
"$HOST" score "$MODULES/demo/churn.model.json" --input "$WORK/null.csv" >"$WORK/host_null.csv"
sql "SET scorekit.null_inputs = 'missing'; SELECT $null_call" >"$WORK/pg_null.csv"
$CMP "NULL argument = missing value (null_inputs = missing)" "$WORK/host_null.csv" probability "$WORK/pg_null.csv" 0 || fails=$((fails + 1))

# --- explain: contributions sum to the margin ---------------------------------------------------------
expect_eq "explain rows" 20 "$(sql "SELECT count(*) FROM scorekit.explain('churn', (SELECT c FROM churn c WHERE id = 1))")"
expect_eq "explain sums to the margin" t "$(sql "SELECT abs(1 / (1 + exp(-sum(contribution))) - (SELECT scorekit.score('churn', c) FROM churn c WHERE id = 1)) < 1e-9 FROM scorekit.explain('churn', (SELECT c FROM churn c WHERE id = 1))")"

# --- anomaly: window form over the series, and the streaming trigger ----------------------------------------
sql "CREATE TABLE temps (id serial PRIMARY KEY, ts timestamp, value float8)"
psql_ -c "\\copy temps(ts, value) FROM '$DATA/machine_temperature.csv' WITH (FORMAT csv, HEADER true)"
"$HOST" score "$MODULES/demo/anomaly.model.json" --input "$DATA/machine_temperature.csv" >"$WORK/host_anomaly.csv"
out "SELECT scorekit.anomaly_score('anomaly', value) OVER (ORDER BY id) FROM temps ORDER BY id" pg_anomaly.csv
$CMP "anomaly window" "$WORK/host_anomaly.csv" score "$WORK/pg_anomaly.csv" 0 || fails=$((fails + 1))

PGOPTIONS="-c client_min_messages=warning" psql_ -f "$HERE/../examples/anomaly_trigger.sql"
# Two statements in two sessions: the second continues from the state saved by the first.
sql "INSERT INTO readings SELECT 'm1', ts, value FROM temps WHERE id <= 300 ORDER BY id"
sql "INSERT INTO readings SELECT 'm1', ts, value FROM temps WHERE id > 300 AND id <= 600 ORDER BY id"
out "SELECT score FROM reading_scores ORDER BY ts" pg_trigger.csv
head -601 "$WORK/host_anomaly.csv" >"$WORK/host_anomaly600.csv"
$CMP "anomaly trigger (state in scorekit.stream_state)" "$WORK/host_anomaly600.csv" score "$WORK/pg_trigger.csv" 0 || fails=$((fails + 1))
expect_eq "stream readings" 600 "$(sql "SELECT readings FROM scorekit.stream_state WHERE model = 'anomaly' AND stream_key = 'm1'")"

# --- forecast -----------------------------------------------------------------------------------------
sql "CREATE TABLE elec (ts timestamptz, demand_mw float8)"
psql_ -c "\\copy elec FROM '$DATA/electricity_hourly.csv' WITH (FORMAT csv, HEADER true)"
"$HOST" score "$MODULES/demo/forecast.model.json" --input "$DATA/electricity_hourly.csv" --timestamp-column timestamp >"$WORK/host_fc.csv"
h=$(($(wc -l <"$WORK/host_fc.csv") - 1))
out "SELECT step, mean, q[1], q[2], q[3] FROM scorekit.forecast('forecast', (SELECT array_agg(demand_mw ORDER BY ts) FROM elec), $h, start => (SELECT min(ts) FROM elec))" pg_fc.csv
$CMP "forecast mean" "$WORK/host_fc.csv" mean "$WORK/pg_fc.csv" 1 || fails=$((fails + 1))
$CMP "forecast q0.1" "$WORK/host_fc.csv" q0.1 "$WORK/pg_fc.csv" 2 || fails=$((fails + 1))
$CMP "forecast q0.9" "$WORK/host_fc.csv" q0.9 "$WORK/pg_fc.csv" 4 || fails=$((fails + 1))

# --- deploy / rollback, seen by another session ------------------------------------------------------
anomaly_sha=$(sql "SELECT sha256 FROM scorekit.models WHERE name = 'anomaly'")
deployed=$(psql_ -At <<SQL
SELECT scorekit.score('churn', c) > 0 FROM churn c WHERE id = 1;
\\! $BIN/psql -h $WORK -p 5432 -U postgres -d postgres -X -q -At -c "SELECT scorekit.deploy('churn', 'sha256:$anomaly_sha')" >/dev/null
SELECT i FROM scorekit.inputs('churn') AS i LIMIT 1;
SQL
)
expect_eq "deploy from another session is seen at the next statement" "t (1,value,numeric,)" "$(echo $deployed)"
expect_eq "rollback" "$(sha256sum "$MODULES/churn.wasm" | cut -c1-64)" "$(sql "SELECT scorekit.rollback('churn')")"

# --- bad input ----------------------------------------------------------------------------------------
seed_rest="65,415,'329-6603','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4"
expect_error "SELECT scorekit.score_args(NULL, 1)" "model argument is NULL"
expect_error "SELECT will_churn('IN', 65)" "function will_churn(unknown, integer) does not exist"
expect_error "SELECT scorekit.score_args('churn', 'IN', 65)" "model 'churn' takes 19 inputs (state, account_length"
expect_error "SELECT scorekit.score('churn', '{1,2,3}'::float8[])" "takes 19 inputs"
expect_error "SELECT will_churn('XX',$seed_rest)" "column 'state': unknown category 'XX'"
expect_error "SELECT scorekit.score_args('churn', 'IN','abc','area_code_415','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)" \
    "column 'account_length': expected a number, got 'abc'"
expect_error "SELECT scorekit.score('churn', to_jsonb(c) - 'state') FROM churn c WHERE id = 1" "input 'state' is missing"
expect_error "SELECT scorekit.score('nope', '{}'::jsonb)" "unknown model 'nope'"
expect_error "SELECT scorekit.explain('churn', '[{}, {}]'::jsonb)" "expected one JSON object, got an array of 2"
expect_error "SELECT scorekit.load_model('bad', '\\x68656c6c6f20776f726c64'::bytea)" "not a WebAssembly module"
expect_error "SELECT scorekit.load_model('bad', substring(bytes from 1 for 2000)) FROM scorekit.modules WHERE name = 'churn'" "invalid model module"
expect_error "SELECT scorekit.load_model('bad', bytes, expected_sha256 => repeat('0', 64)) FROM scorekit.modules WHERE name = 'churn'" "SHA-256 is"
expect_error "SELECT scorekit.forecast('churn', '{1,2,3}')" "not supported"
expect_error "SET scorekit.memory_limit_mb = 1; SELECT scorekit.score('churn', c) FROM churn c WHERE id = 1" "memory limit"
expect_error "SET statement_timeout = '200ms'; SELECT count(*) FROM scorekit.score_query('churn', 'SELECT c.* FROM churn c, generate_series(1, 200)')" \
    "canceling statement due to statement timeout"
sql "CREATE ROLE analyst LOGIN; GRANT SELECT ON churn TO analyst"
expect_error "SET ROLE analyst; SELECT scorekit.load_model('x', bytes) FROM scorekit.modules WHERE name = 'churn'" "permission denied for function load_model"
expect_eq "EXECUTE for everyone" t "$(sql "SET ROLE analyst; SELECT scorekit.score('churn', c) BETWEEN 0 AND 1 FROM churn c WHERE id = 1")"
expect_eq "server still up" 1 "$(sql 'SELECT 1')"
expect_eq "stats view" "5000|0" "$(sql "SELECT count(churn_probability($inputs)) FROM churn; SELECT rows, errors FROM scorekit.stats WHERE model = 'churn'" | tail -1)"

if [ "$fails" -ne 0 ]; then
    echo "e2e: $fails check(s) failed; server log:"; tail -n 20 "$WORK/server.log"
    exit 1
fi
echo "e2e: all checks passed"
