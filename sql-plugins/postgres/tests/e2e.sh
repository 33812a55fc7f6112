#!/usr/bin/env bash
# End-to-end test of the installed scorekit extension against a real PostgreSQL server started
# here (initdb in a temp dir, Unix socket in that dir, no TCP). Every score is compared with
# `host score` on the same rows; the cross-host conformance suite runs with this server as its
# PostgreSQL host. Called by ../test.sh, which sets HOST, MODULES, ROOT, PG_MAJOR (and
# CARGO_TARGET_DIR, where the workspace's test build is).
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
    # shellcheck disable=SC2086 # a list of pids (tests/remote.sh's stand-in endpoints)
    # (|| true: an endpoint that already exited must not end this handler before the server stops;
    # the server would keep the lock file of the caller's flock open.)
    [ -z "${REMOTE_PIDS:-}" ] || kill $REMOTE_PIDS 2>/dev/null || true
    as_pg "$BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap stop EXIT

as_pg "$BIN/initdb" -D "$WORK/data" -A trust -U postgres --no-sync >/dev/null
# Fixed test credentials: the server signs its requests to the test endpoints (tests/remote.sh)
# with them, through the AWS SDK's standard chain (no instance metadata here).
as_pg env AWS_ACCESS_KEY_ID=AKIDSCOREKITTEST AWS_SECRET_ACCESS_KEY=scorekit-test-secret \
    AWS_EC2_METADATA_DISABLED=true "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w \
    -o "-c listen_addresses='' -k $WORK -p 5432 -c fsync=off -c session_preload_libraries=scorekit" start >/dev/null
# session_preload_libraries: what docs/postgres.md recommends, so that a session's first statement
# batches its calls too (the planner hook is installed when the library loads).
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

# NULL is a missing value by default, exactly like an empty CSV field for `host score` (the host
# layer's one default: it was an ERROR before the port); under scorekit.null_inputs = 'error' it is
# an ERROR naming the row and the column, with the row counted in the whole input of a batch path.
null_call="churn_probability('IN',65,'area_code_415','no','no',NULL,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)"
{ echo "$header"; echo "IN,65,area_code_415,no,no,,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4,no"; } >"$WORK/null.csv"
"$HOST" score "$MODULES/demo/churn.model.json" --input "$WORK/null.csv" >"$WORK/host_null.csv"
sql "SELECT $null_call" >"$WORK/pg_null.csv"
$CMP "NULL argument = missing value (the default)" "$WORK/host_null.csv" probability "$WORK/pg_null.csv" 0 || fails=$((fails + 1))
expect_error "SET scorekit.null_inputs = 'error'; SELECT $null_call" "row 1, column 'number_vmail_messages': value is null"
null_1500="SELECT (jsonb_populate_record(c, CASE WHEN id = 1500 THEN ''{\"total_eve_calls\": null}'' ELSE ''{}'' END::jsonb)).* FROM churn c ORDER BY id"
expect_error "SET scorekit.null_inputs = 'error'; SELECT count(*) FROM scorekit.score_query('churn', '$null_1500')" \
    "row 1500, column 'total_eve_calls': value is null"
# A model error in the second module call (batch_size 1024) names the row of the whole input too.
bad_1500="SELECT (jsonb_populate_record(c, CASE WHEN id = 1500 THEN ''{\"state\": \"XX\"}'' ELSE ''{}'' END::jsonb)).* FROM churn c ORDER BY id"
expect_error "SELECT count(*) FROM scorekit.score_query('churn', '$bad_1500')" "row 1500, column 'state': unknown category 'XX'"
expect_error "SELECT scorekit.score_rows('churn', jsonb_agg(CASE WHEN id = 1500 THEN to_jsonb(c) || '{\"state\": \"XX\"}' ELSE to_jsonb(c) END ORDER BY id)) FROM churn c" \
    "row 1500, column 'state': unknown category 'XX'"

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
psql_ -c "\\copy (SELECT encode(state, 'hex') FROM scorekit.stream_state WHERE stream_key = 'm1') TO '$WORK/state600.hex'"
# Another session's step between two of this session's: this backend's live stream is stale and
# must not be used (the stream book checks the stored row first), so the scores stay the series'.
stale=$(psql_ -At <<SQL
SELECT score FROM scorekit.anomaly_update('anomaly', 'shared', (SELECT value FROM temps WHERE id = 1));
\\! $BIN/psql -h $WORK -p 5432 -U postgres -d postgres -X -q -At -c "SELECT score FROM scorekit.anomaly_update('anomaly', 'shared', (SELECT value FROM temps WHERE id = 2))" >$WORK/other_session.txt
SELECT score FROM scorekit.anomaly_update('anomaly', 'shared', (SELECT value FROM temps WHERE id = 3));
SQL
)
{ echo "score"; echo "$stale" | head -1; cat "$WORK/other_session.txt"; echo "$stale" | tail -1; } >"$WORK/pg_shared.csv"
head -4 "$WORK/host_anomaly.csv" >"$WORK/host_anomaly3.csv"
$CMP "stream stepped by two sessions in turn" "$WORK/host_anomaly3.csv" score "$WORK/pg_shared.csv" score --header-actual || fails=$((fails + 1))

# --- forecast -----------------------------------------------------------------------------------------
sql "CREATE TABLE elec (ts timestamptz, demand_mw float8)"
psql_ -c "\\copy elec FROM '$DATA/electricity_hourly.csv' WITH (FORMAT csv, HEADER true)"
"$HOST" score "$MODULES/demo/forecast.model.json" --input "$DATA/electricity_hourly.csv" --timestamp-column timestamp >"$WORK/host_fc.csv"
h=$(($(wc -l <"$WORK/host_fc.csv") - 1))
out "SELECT step, mean, q[1], q[2], q[3] FROM scorekit.forecast('forecast', (SELECT array_agg(demand_mw ORDER BY ts) FROM elec), $h, start => (SELECT min(ts) FROM elec))" pg_fc.csv
$CMP "forecast mean" "$WORK/host_fc.csv" mean "$WORK/pg_fc.csv" 1 || fails=$((fails + 1))
$CMP "forecast q0.1" "$WORK/host_fc.csv" q0.1 "$WORK/pg_fc.csv" 2 || fails=$((fails + 1))
$CMP "forecast q0.9" "$WORK/host_fc.csv" q0.9 "$WORK/pg_fc.csv" 4 || fails=$((fails + 1))
# The same history with its timestamps (checked against the model's period, gaps by the rule).
out "SELECT step, mean FROM scorekit.forecast('forecast', (SELECT array_agg(demand_mw ORDER BY ts) FROM elec), (SELECT array_agg(ts ORDER BY ts) FROM elec), $h)" pg_fc_timed.csv
$CMP "forecast mean, timestamped history" "$WORK/host_fc.csv" mean "$WORK/pg_fc_timed.csv" 1 || fails=$((fails + 1))
gap="ts NOT BETWEEN (SELECT max(ts) - interval '30 hours' FROM elec) AND (SELECT max(ts) - interval '28 hours' FROM elec)"
expect_error "SET scorekit.forecast_gaps = 'refuse'; SELECT count(*) FROM scorekit.forecast('forecast', (SELECT array_agg(demand_mw ORDER BY ts) FROM elec WHERE $gap), (SELECT array_agg(ts ORDER BY ts) FROM elec WHERE $gap), 24)" \
    "by 4 steps of 3600 s: 3 missing (the gap rule is 'refuse'"
expect_eq "forecast with a filled gap" 24 "$(sql "SELECT count(*) FROM scorekit.forecast('forecast', (SELECT array_agg(demand_mw ORDER BY ts) FROM elec WHERE $gap), (SELECT array_agg(ts ORDER BY ts) FROM elec WHERE $gap), 24)")"

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
expect_error "SELECT scorekit.score_args('churn', 'IN', 65)" "row 1: expected 19 values (the inputs of model 'churn': state, account_length"
expect_error "SELECT scorekit.score('churn', '{1,2,3}'::float8[])" "expected 19 values per row (the model's inputs), got 3"
expect_error "SELECT will_churn('XX',$seed_rest)" "column 'state': unknown category 'XX'"
expect_error "SELECT scorekit.score_args('churn', 'IN','abc','area_code_415','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)" \
    "column 'account_length': expected a number, got 'abc'"
expect_error "SELECT scorekit.score('churn', to_jsonb(c) - 'state') FROM churn c WHERE id = 1" "input 'state' is missing"
expect_error "SELECT scorekit.score('nope', '{}'::jsonb)" "unknown model 'nope'"
expect_error "SELECT scorekit.explain('churn', jsonb_build_array(to_jsonb(c), to_jsonb(c))) FROM churn c WHERE id = 1" "expected one row, got 2"
expect_error "SELECT scorekit.explain('churn', '[{}, {}]'::jsonb)" "row 1: the object names none of the inputs of model 'churn'"
expect_error "SELECT scorekit.score('churn', to_jsonb(c) || '{\"international_plan\": true}') FROM churn c WHERE id = 1" \
    "row 1, column 'international_plan': unknown category 'true'"
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
# Issue 14: only the extension's functions write stream states; a plain role still streams.
expect_error "SET ROLE analyst; UPDATE scorekit.stream_state SET readings = 0" "permission denied for table stream_state"
expect_error "SET ROLE analyst; DELETE FROM scorekit.stream_state" "permission denied for table stream_state"
expect_error "SET ROLE analyst; INSERT INTO scorekit.stream_state SELECT model, 'forged', sha256, state FROM scorekit.stream_state LIMIT 1" \
    "permission denied for table stream_state"
expect_error "SET ROLE analyst; SELECT scorekit.anomaly_reset('anomaly', 'm1')" "permission denied for function anomaly_reset"
expect_eq "a plain role streams" "601" "$(sql "SET ROLE analyst; SELECT count(*) FROM scorekit.anomaly_update('anomaly', 'm1', 70); SELECT readings FROM scorekit.stream_state WHERE stream_key = 'm1'" | tail -1)"
expect_eq "server still up" 1 "$(sql 'SELECT 1')"
# 5 module calls of scorekit.batch_size 1024 rows: the typed function's per-row calls are batched.
expect_eq "stats view: 5000 rows in 5 batched calls" "5|5000|0" "$(sql "SELECT count(churn_probability($inputs)) FROM churn; SELECT calls, rows, errors FROM scorekit.stats WHERE model = 'churn'" | tail -1)"
expect_eq "with scorekit.batch_calls off: a call per row" "100|100" "$(sql "SET scorekit.batch_calls = off; SELECT count(churn_probability($inputs)) FROM churn WHERE id <= 100; SELECT calls, rows FROM scorekit.stats WHERE model = 'churn'" | tail -1)"

# --- remote SageMaker endpoints and the Aurora drop-in (scorekit.policy_file) -------------------------
# shellcheck source=remote.sh
source "$HERE/remote.sh"

# --- the cross-host conformance suite (tests/conformance), with this server as its PostgreSQL host ----
sql "CREATE DATABASE conformance"
conformance() { # the suite's test binary as ../test.sh built it ($CONFORMANCE_BIN), else through cargo
    if [ -n "${CONFORMANCE_BIN:-}" ]; then
        (cd "$ROOT/tests/conformance" && "$CONFORMANCE_BIN" --nocapture)
    else
        cargo test --workspace --release --exclude scorekit --test conformance --manifest-path "$ROOT/Cargo.toml" -- --nocapture
    fi
}
if SCOREKIT_CONFORMANCE_PSQL="$BIN/psql -h $WORK -p 5432 -U postgres -d conformance" conformance >"$WORK/conformance.log" 2>&1; then
    echo "ok   conformance suite: $(grep -c ' postgres *ok$' "$WORK/conformance.log") cases agree on postgres," \
        "$(grep -c ' postgres *skip' "$WORK/conformance.log") skipped with their reason"
else
    echo "FAIL conformance suite:"; grep -E " FAIL$|disagreement| on [a-z]+: |panicked" "$WORK/conformance.log" | head -20
    fails=$((fails + 1))
fi

# --- redeploy of a stream's model: retrained -> restart, the old state archived, a NOTICE -----------
psql_ >/dev/null <<SQL
\\set b64 \`base64 -w0 $MODULES/stream_a_retrained.wasm\`
SELECT * FROM scorekit.load_model('anomaly', decode(:'b64', 'base64'));
SQL
notice=$(psql_ -At -c "SELECT count(*) FROM scorekit.anomaly_update('anomaly', 'm1', 70)" 2>&1 >/dev/null)
want="NOTICE:  scorekit: model 'anomaly', stream 'm1': model 'anomaly' changed from version *: the stream restarted from the new model's trained state; the previous state (601 readings) is kept at scorekit.stream_state_archive id 1"
# shellcheck disable=SC2053 # $want is a pattern
if [[ "$notice" == $want ]]; then echo "ok   redeploy NOTICE: $notice" | cut -c1-160; else echo "FAIL redeploy NOTICE: $notice"; fails=$((fails + 1)); fi
expect_eq "archived state" "601|1" "$(sql "SELECT a.readings, s.readings FROM scorekit.stream_state_archive a, scorekit.stream_state s WHERE a.stream_key = 'm1' AND s.stream_key = 'm1'")"

# --- upgrade from 0.1.0: the schema equals a fresh install, and a saved stream continues ------------
sql "CREATE DATABASE upgraded"
psql_up() { "$BIN/psql" -h "$WORK" -p 5432 -U postgres -d upgraded -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_up -c "CREATE EXTENSION scorekit VERSION '0.1.0'" -c "SELECT * FROM scorekit.load_model_file('anomaly', '$WORK/anomaly.wasm')" >/dev/null
expect_eq "0.1.0 installed" "0.1.0" "$(psql_up -At -c "SELECT extversion FROM pg_extension WHERE extname = 'scorekit'")"
# A stream state as 0.1.0 kept it (no model_sha256): the trigger test's stream after 600 readings.
psql_up >/dev/null <<SQL
CREATE TEMP TABLE s (hex text);
\\copy s FROM '$WORK/state600.hex'
INSERT INTO scorekit.stream_state (model, stream_key, sha256, state, readings)
SELECT 'anomaly', 'm1', sha256, decode((SELECT hex FROM s), 'hex'), 600 FROM scorekit.modules WHERE name = 'anomaly';
SQL
psql_up -c "ALTER EXTENSION scorekit UPDATE TO '0.2.0'" -c "ALTER EXTENSION scorekit UPDATE"
expect_eq "upgraded to" "$(sql 'SELECT scorekit.version()')" "$(psql_up -At -c "SELECT extversion FROM pg_extension WHERE extname = 'scorekit'")"
catalog="SELECT 'fn', p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') ' || pg_get_function_result(p.oid) || ' ' || p.provolatile::text || p.proparallel::text || p.proisstrict::text || p.prosecdef::text || ' ' || coalesce(array_to_string(p.proconfig, ';'), '') || ' ' || coalesce(p.proacl::text, '') || ' ' || md5(p.prosrc) FROM pg_proc p WHERE p.pronamespace IN ('scorekit'::regnamespace, 'aws_sagemaker'::regnamespace)
  UNION ALL SELECT 'nsp', nspname || ' ' || coalesce(nspacl::text, '') || ' ' || coalesce(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace WHERE nspname IN ('scorekit', 'aws_sagemaker')
  UNION ALL SELECT 'col', c.relname || '.' || a.attname || ' ' || a.attnum || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' ' || a.attstorage::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE c.relnamespace = 'scorekit'::regnamespace AND c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT 'rel', c.relname || ' ' || c.relkind::text || ' ' || coalesce(c.relacl::text, '') || ' ' || coalesce(obj_description(c.oid, 'pg_class'), '') FROM pg_class c WHERE c.relnamespace = 'scorekit'::regnamespace
  UNION ALL SELECT 'con', conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'scorekit'::regnamespace
  UNION ALL SELECT 'cfg', unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'scorekit'
  UNION ALL SELECT 'trg', tgname || ' ' || tgrelid::regclass::text FROM pg_trigger WHERE tgrelid::regclass::text LIKE 'scorekit.%' AND NOT tgisinternal
  ORDER BY 1, 2"
sql "$catalog" >"$WORK/catalog_fresh.txt"
psql_up -At -c "$catalog" >"$WORK/catalog_upgraded.txt"
if diff "$WORK/catalog_fresh.txt" "$WORK/catalog_upgraded.txt" >"$WORK/catalog.diff"; then
    echo "ok   upgraded schema (0.1.0 -> 0.2.0 -> 0.3.0 -> 0.4.0 -> 0.5.0) = fresh install schema ($(wc -l <"$WORK/catalog_fresh.txt") catalog rows)"
else
    echo "FAIL upgraded schema differs from a fresh install:"; head -20 "$WORK/catalog.diff"; fails=$((fails + 1))
fi
# Modules are kept uncompressed (a new connection's first call reads one): the module 0.1.0 stored
# compressed was rewritten by the upgrade, and a fresh install stores them so.
expect_eq "upgraded modules stored uncompressed" "t" "$(psql_up -At -c "SELECT bool_and(pg_column_size(bytes) = length(bytes)) FROM scorekit.modules")"
expect_eq "fresh modules stored uncompressed" "t" "$(sql "SELECT bool_and(pg_column_size(bytes) = length(bytes)) FROM scorekit.modules")"
# The 0.1.0 state continues after the upgrade: reading 601 scores as in `host score`.
psql_up -At -c "SELECT score FROM scorekit.anomaly_update('anomaly', 'm1', $(sql "SELECT value FROM temps WHERE id = 601"))" >"$WORK/pg_601.csv"
sed -n '1p;602p' "$WORK/host_anomaly.csv" >"$WORK/host_601.csv"
$CMP "a 0.1.0 stream state continues after the upgrade" "$WORK/host_601.csv" score "$WORK/pg_601.csv" 0 || fails=$((fails + 1))
expect_eq "upgraded stream readings" 601 "$(psql_up -At -c "SELECT readings FROM scorekit.stream_state WHERE stream_key = 'm1'")"

if [ "$fails" -ne 0 ]; then
    echo "e2e: $fails check(s) failed; server log:"; tail -n 20 "$WORK/server.log"
    exit 1
fi
echo "e2e: all checks passed"
