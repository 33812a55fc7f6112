# Remote SageMaker endpoints from SQL (scorekit.policy_file, docs/sagemaker.md), sourced by e2e.sh
# after its churn section (it uses e2e.sh's server, helpers, the churn table, $inputs and the
# `host score` answers). The remote is `host serve` on loopback (it speaks SageMaker; requests are
# SigV4-signed with the fixed test credentials the server was started with), a port where nothing
# listens (a remote that is down), and ../testing/slow_endpoint.py (a remote that answers after 5 s).
# The live endpoints listen on free ports they pick (port 0: fixed ports in the ephemeral range were
# taken by other processes' connections); the endpoint that is down is 56111 (a port no test listens on).

remote_t0=$(date +%s)
DOWN_PORT=56111 SLOW_DELAY_S=5
# host serve answers endpoint NAME with NAME.wasm: the churn module under the endpoints' names.
# shellcheck source=../../testing/endpoints.sh
source "$HERE/../../testing/endpoints.sh"
start_test_endpoints "$MODULES/churn.wasm" $SLOW_DELAY_S churn-prod churn-remote churn-fallback churn-shadow \
    "forecast-remote=$MODULES/forecast.wasm"

cat >"$WORK/policy.toml" <<TOML
[defaults]
region = "us-east-1"
endpoint_url = "http://127.0.0.1:$SERVE_PORT"
retries = 0
timeout_ms = 10000

# The Aurora wrapper's endpoint: the local module answers, the endpoint if it cannot.
[models.churn]
policy = "local-then-remote"
endpoint = "churn-prod"

# No local module of this name: the endpoint answers; the schema comes from the module file.
[models.churn_remote]
policy = "remote"
endpoint = "churn-remote"
description = "churn.wasm"
max_rows_per_request = 1000

[models.churn_fallback]
policy = "local-then-remote"
endpoint = "churn-fallback"
description = "churn.wasm"

[models.churn_down]
policy = "remote"
endpoint = "churn-down"
endpoint_url = "http://127.0.0.1:$DOWN_PORT"
description = "churn.wasm"

[models.churn_lt_down]
policy = "local-then-remote"
endpoint = "churn-lt-down"
endpoint_url = "http://127.0.0.1:$DOWN_PORT"
description = "churn.wasm"

[models.churn_slow]
policy = "remote"
endpoint = "churn-slow"
endpoint_url = "http://127.0.0.1:$SLOW_PORT"
timeout_ms = 30000
description = "churn.wasm"

# Shadow: the local module answers; the endpoint is asked in the background and compared.
[models.churn_shadow]
policy = "shadow"
endpoint = "churn-shadow"

# A shadow endpoint that answers 0.500 for every row: it disagrees.
[models.churn_shadow_wrong]
policy = "shadow"
endpoint = "churn-wrong"
endpoint_url = "http://127.0.0.1:$WRONG_PORT"

# The same endpoint answering alone (invoke_endpoint returns its body as it is).
[models.churn_raw]
policy = "remote"
endpoint = "churn-raw"
endpoint_url = "http://127.0.0.1:$WRONG_PORT"
description = "churn.wasm"

# Forecasts: DeepAR JSON to host serve's forecaster endpoint.
[models.forecast_remote]
policy = "remote"
endpoint = "forecast-remote"
description = "forecast.wasm"

[models.forecast_shadow]
policy = "shadow"
endpoint = "forecast-remote"

[models.churn_slow_timeout]
policy = "remote"
endpoint = "churn-slow-timeout"
endpoint_url = "http://127.0.0.1:$SLOW_PORT"
timeout_ms = 300
description = "churn.wasm"
TOML
chmod 644 "$WORK/policy.toml"
export PGOPTIONS="-c scorekit.policy_file=$WORK/policy.toml"
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
requests() { # endpoint name -> 2xx invocations host serve answered
    curl -sf "http://127.0.0.1:$SERVE_PORT/metrics" |
        sed -n "s/^scorekit_requests_total{model=\"$1\",endpoint=\"invocations\",status=\"2xx\"} //p" | grep . || echo 0
}

echo "-- remote endpoints (policy file $WORK/policy.toml)"
# --- remote-only model: the same calls, the same scores, bit for bit ----------------------------------
expect_eq "no local module of churn_remote" 0 "$(sql "SELECT count(*) FROM scorekit.modules WHERE name = 'churn_remote'")"
t=$(date +%s%N)
out "SELECT scorekit.score_args('churn_remote', $inputs) FROM churn ORDER BY id" pg_remote_args.csv
row_ms=$(ms_since "$t")
$CMP "remote churn, row path" "$WORK/host_churn.csv" probability "$WORK/pg_remote_args.csv" 0 || fails=$((fails + 1))
# The row path is batched (sql-plugins/postgres/src/batch): 5 batches of scorekit.batch_size 1024 rows,
# each in requests of max_rows_per_request 1000.
expect_eq "row path, batched: requests of at most 1000 rows" 9 "$(requests churn-remote)"
t=$(date +%s%N)
out "SELECT score FROM scorekit.score_query('churn_remote', 'SELECT * FROM churn', 'id') ORDER BY key::int" pg_remote_batch.csv
batch_ms=$(ms_since "$t")
$CMP "remote churn, score_query" "$WORK/host_churn.csv" probability "$WORK/pg_remote_batch.csv" 0 || fails=$((fails + 1))
# The same for score_query.
expect_eq "score_query: requests of at most 1000 rows" 18 "$(requests churn-remote)"
PGOPTIONS="$PGOPTIONS -c scorekit.batch_calls=off" out "SELECT scorekit.score_args('churn_remote', $inputs) FROM churn WHERE id <= 100 ORDER BY id" pg_remote_rows.csv
head -101 "$WORK/host_churn.csv" >"$WORK/host_churn100.csv"
$CMP "remote churn, row by row (scorekit.batch_calls off)" "$WORK/host_churn100.csv" probability "$WORK/pg_remote_rows.csv" 0 || fails=$((fails + 1))
expect_eq "row by row: one request per row" 118 "$(requests churn-remote)"
t=$(date +%s%N)
out "SELECT scorekit.score_args('churn', $inputs) FROM churn ORDER BY id" pg_local_args.csv
local_ms=$(ms_since "$t")
echo "     (5000 rows: local row path ${local_ms} ms; remote row path ${row_ms} ms; remote score_query ${batch_ms} ms; loopback, one backend)"
sql "SELECT scorekit.create_function('churn_remote_probability', 'churn_remote')" >/dev/null
out "SELECT churn_remote_probability($inputs) FROM churn ORDER BY id" pg_remote_typed.csv
$CMP "remote churn, generated typed function" "$WORK/host_churn.csv" probability "$WORK/pg_remote_typed.csv" 0 || fails=$((fails + 1))
expect_error "SELECT scorekit.create_function('churn_remote_pinned', 'churn_remote', pin => true)" \
    "model 'churn_remote' is answered by a remote endpoint (remote:churn-remote); pin => true pins a local module"
expect_error "SELECT * FROM scorekit.explain('churn_remote', (SELECT c FROM churn c WHERE id = 1))" \
    "served by the remote endpoint 'churn-remote', which cannot explain"

# --- fallback exactly per policy ------------------------------------------------------------------
out "SELECT scorekit.score_args('churn_fallback', $inputs) FROM churn WHERE id <= 100 ORDER BY id" pg_fallback.csv
$CMP "local-then-remote without a local module: the endpoint answers" "$WORK/host_churn100.csv" probability "$WORK/pg_fallback.csv" 0 || fails=$((fails + 1))
expect_eq "fallback requests: the 100 rows in one" 1 "$(requests churn-fallback)"
sql "SELECT scorekit.deploy('churn_lt_down', 'sha256:$(sql "SELECT sha256 FROM scorekit.models WHERE name = 'churn'")')" >/dev/null
out "SELECT scorekit.score_args('churn_lt_down', $inputs) FROM churn WHERE id <= 100 ORDER BY id" pg_lt_down.csv
$CMP "local-then-remote with its module: local answers, the endpoint is never asked" "$WORK/host_churn100.csv" probability "$WORK/pg_lt_down.csv" 0 || fails=$((fails + 1))
expect_eq "Aurora endpoint model answered locally" 0 "$(sql "SELECT count(scorekit.score_args('churn', $inputs)) FROM churn WHERE id <= 10" >/dev/null; requests churn-prod)"
expect_error "SELECT scorekit.score_args('churn_down', $inputs) FROM churn WHERE id = 1" "scorekit: model 'churn_down': endpoint 'churn-down'"
expect_eq "an unreachable endpoint is SQLSTATE 53000" "ERROR:  53000" \
    "$(psql_ -v VERBOSITY=verbose -At -c "SELECT scorekit.score_args('churn_down', $inputs) FROM churn WHERE id = 1" 2>&1 | grep -o '^ERROR:  [0-9A-Z]\{5\}')"
expect_error "SELECT scorekit.score_args('churn_slow_timeout', $inputs) FROM churn WHERE id = 1" "endpoint 'churn-slow-timeout': no answer within 300 ms"

# --- the policy counters in SQL (scorekit.remote_stats(): this session's, since it read the file) --------
last_answer() { sql "$1" | tail -1; } # several statements: the last one's answer
stats_cols="local_calls, local_failures, remote_calls, remote_failures, fallbacks, breaker"
expect_eq "a fresh session: every model of the file, nothing counted" \
    "churn|local-then-remote|churn-prod|0|0|0|0|0|closed churn_down|remote|churn-down|0|0|0|0|0|closed" \
    "$(sql "SELECT model, policy, endpoint, $stats_cols FROM scorekit.remote_stats() WHERE model IN ('churn', 'churn_down') ORDER BY model" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "local-then-remote without a module: 100 rows in 1 remote call, 1 fallback" "0|0|1|0|1|closed" \
    "$(last_answer "SELECT count(scorekit.score_args('churn_fallback', $inputs)) FROM churn WHERE id <= 100; SELECT $stats_cols FROM scorekit.remote_stats() WHERE model = 'churn_fallback'")"
expect_eq "local-then-remote with its module: 100 rows in 1 local call, nothing remote" "1|0|0|0|0|closed" \
    "$(last_answer "SELECT count(scorekit.score_args('churn_lt_down', $inputs)) FROM churn WHERE id <= 100; SELECT $stats_cols FROM scorekit.remote_stats() WHERE model = 'churn_lt_down'")"
# Six calls to an endpoint that is down: five unavailable calls in a row open the breaker
# (breaker_failures 5); the sixth is refused at once.
expect_eq "a remote that is down: 6 failed remote calls, the breaker open" "0|0|6|6|0|open" \
    "$(last_answer "DO \$\$ BEGIN FOR i IN 1..6 LOOP BEGIN PERFORM scorekit.score_args('churn_down', $inputs) FROM churn WHERE id = 1; EXCEPTION WHEN OTHERS THEN NULL; END; END LOOP; END \$\$; SELECT $stats_cols FROM scorekit.remote_stats() WHERE model = 'churn_down'")"
expect_eq "remote_stats_json is the same facts" "6" \
    "$(last_answer "DO \$\$ BEGIN FOR i IN 1..6 LOOP BEGIN PERFORM scorekit.score_args('churn_down', $inputs) FROM churn WHERE id = 1; EXCEPTION WHEN OTHERS THEN NULL; END; END LOOP; END \$\$; SELECT e->>'remote_failures' FROM jsonb_array_elements(scorekit.remote_stats_json()) e WHERE e->>'model' = 'churn_down'")"

# --- shadow: answers stay local, the endpoint's answers are compared in the background ---------------
churn_sha=$(sql "SELECT sha256 FROM scorekit.models WHERE name = 'churn'")
sql "SELECT scorekit.deploy('churn_shadow', 'sha256:$churn_sha'), scorekit.deploy('churn_shadow_wrong', 'sha256:$churn_sha')" >/dev/null
shadow_cols="local_calls, remote_calls, shadow_calls, shadow_agreed, shadow_disagreed, shadow_rows_disagreed, shadow_errors, shadow_skipped"
# score_query over 100 rows: one module call, so one shadow call of 100 rows; wait for it to finish.
settle() { echo "DO \$\$ BEGIN FOR i IN 1..100 LOOP EXIT WHEN (SELECT shadow_agreed + shadow_disagreed + shadow_errors >= shadow_calls FROM scorekit.remote_stats() WHERE model = '$1'); PERFORM pg_sleep(0.05); END LOOP; END \$\$"; }
for m in churn_shadow churn_shadow_wrong; do
    psql_ -At -c "\\copy (SELECT key, score FROM scorekit.score_query('$m', 'SELECT * FROM churn WHERE id <= 100', 'id') ORDER BY key::int) TO '$WORK/pg_$m.csv' WITH (FORMAT csv)" \
        -c "$(settle "$m")" -c "SELECT $shadow_cols FROM scorekit.remote_stats() WHERE model = '$m'" >"$WORK/$m.stats"
    $CMP "shadow ($m): the answers are the local module's" "$WORK/host_churn100.csv" probability "$WORK/pg_$m.csv" 1 || fails=$((fails + 1))
done
expect_eq "shadow against an agreeing endpoint: 1 call, agreed" "1|0|1|1|0|0|0|0" "$(cat "$WORK/churn_shadow.stats")"
expect_eq "shadow against an endpoint answering 0.500: 1 call, disagreed in all 100 rows" "1|0|1|0|1|100|0|0" "$(cat "$WORK/churn_shadow_wrong.stats")"
expect_eq "host serve got the shadow request" 1 "$(requests churn-shadow)"
# The row path, batched: one local call for the 50 rows, shadowed by one call (up to
# max_shadow_in_flight at once; more are skipped, counted).
expect_eq "shadow, row path: 50 rows in 1 local call, shadowed, none failed" "1|0|1|0" \
    "$(last_answer "SELECT count(scorekit.score_args('churn_shadow', $inputs)) FROM churn WHERE id <= 50; $(settle churn_shadow); SELECT local_calls, remote_calls, shadow_calls + shadow_skipped, shadow_errors FROM scorekit.remote_stats() WHERE model = 'churn_shadow'")"

# --- forecasts from a remote forecaster (DeepAR JSON), and shadowed ------------------------------------
fc_sql() { echo "SELECT step, mean, q[1], q[2], q[3] FROM scorekit.forecast('$1', (SELECT array_agg(demand_mw ORDER BY ts) FROM elec), $h, start => (SELECT min(ts) FROM elec))"; }
out "$(fc_sql forecast_remote)" pg_fc_remote.csv
$CMP "remote forecast mean" "$WORK/host_fc.csv" mean "$WORK/pg_fc_remote.csv" 1 || fails=$((fails + 1))
$CMP "remote forecast q0.1" "$WORK/host_fc.csv" q0.1 "$WORK/pg_fc_remote.csv" 2 || fails=$((fails + 1))
$CMP "remote forecast q0.9" "$WORK/host_fc.csv" q0.9 "$WORK/pg_fc_remote.csv" 4 || fails=$((fails + 1))
expect_eq "remote forecast: one request" 1 "$(requests forecast-remote)"
sql "SELECT scorekit.deploy('forecast_shadow', 'sha256:$(sql "SELECT sha256 FROM scorekit.models WHERE name = 'forecast'")')" >/dev/null
expect_eq "shadowed forecast: answered locally, the endpoint agreed" "1|0|1|1|0" \
    "$(last_answer "SELECT count(*) FROM ($(fc_sql forecast_shadow)) f; $(settle forecast_shadow); SELECT local_calls, remote_calls, shadow_calls, shadow_agreed, shadow_disagreed FROM scorekit.remote_stats() WHERE model = 'forecast_shadow'")"

# --- a slow remote: statement_timeout and pg_cancel_backend stop the wait -------------------------------
t=$(date +%s%N)
expect_error "SET statement_timeout = '300ms'; SELECT scorekit.score_args('churn_slow', $inputs) FROM churn WHERE id = 1" \
    "canceling statement due to statement timeout"
took=$(ms_since "$t")
if [ "$took" -lt $((SLOW_DELAY_S * 1000 / 2)) ]; then echo "ok   statement_timeout 300 ms stopped a ${SLOW_DELAY_S} s remote call after $took ms"; else
    echo "FAIL statement_timeout took $took ms (the remote answers after ${SLOW_DELAY_S} s)"; fails=$((fails + 1)); fi
t=$(date +%s%N)
(psql_ -At -c "SELECT scorekit.score_args('churn_slow', $inputs) FROM churn WHERE id = 1 /* slow-cancel */" >"$WORK/cancel.out" 2>&1 || true) &
bg=$!
canceled=f
for _ in $(seq 50); do
    sleep 0.1
    canceled=$(sql "SELECT coalesce(bool_or(pg_cancel_backend(pid)), false) FROM pg_stat_activity WHERE query LIKE '%slow-cancel */' AND pid <> pg_backend_pid() AND state = 'active'")
    [ "$canceled" = t ] && break
done
wait $bg
took=$(ms_since "$t")
if [ "$canceled" = t ] && grep -q "canceling statement due to user request" "$WORK/cancel.out" && [ "$took" -lt $((SLOW_DELAY_S * 1000 / 2)) ]; then
    echo "ok   pg_cancel_backend stopped a ${SLOW_DELAY_S} s remote call; the statement ended after $took ms"
else
    echo "FAIL pg_cancel_backend (canceled=$canceled, $took ms): $(cat "$WORK/cancel.out")"; fails=$((fails + 1))
fi
expect_eq "the backend still answers after the canceled waits" "1" "$(sql "SELECT 1")"

# --- the Aurora PostgreSQL drop-in: aws_sagemaker.invoke_endpoint -------------------------------------
psql_ -f "$HERE/../examples/aurora_invoke_endpoint.sql" >/dev/null
aurora_in="state, account_length::int8, area_code, international_plan, voice_mail_plan, number_vmail_messages::int8, total_day_minutes, total_day_calls::int8, total_day_charge, total_eve_minutes, total_eve_calls::int8, total_eve_charge, total_night_minutes, total_night_calls::int8, total_night_charge, total_intl_minutes, total_intl_calls::int8, total_intl_charge, number_customer_service_calls::int8"
out "SELECT will_churn_aurora($aurora_in) FROM churn ORDER BY id" pg_aurora_example.csv
$CMP "the Aurora documentation's wrapper (endpoint churn-prod -> model churn)" "$WORK/host_churn.csv" probability "$WORK/pg_aurora_example.csv" 0 || fails=$((fails + 1))
expect_eq "invoke_endpoint local = remote, as text, every row (row by row in WHERE)" 0 \
    "$(sql "SELECT count(*) FROM churn WHERE id <= 200 AND aws_sagemaker.invoke_endpoint('churn', NULL, $inputs) IS DISTINCT FROM aws_sagemaker.invoke_endpoint('churn-remote', 10000, $inputs)")"
# In the target list both are batched: the remote answers of a batch are split into each row's
# (host serve answers a multi-row text/csv request with one comma-joined line, as XGBoost does).
before=$(requests churn-remote)
expect_eq "invoke_endpoint local = remote, batched, every row" "5000|0" \
    "$(sql "SELECT count(*), count(*) FILTER (WHERE l IS DISTINCT FROM r) FROM (SELECT aws_sagemaker.invoke_endpoint('churn', NULL, $inputs) l, aws_sagemaker.invoke_endpoint('churn-remote', 500, $inputs) r FROM churn OFFSET 0) s")"
expect_eq "invoke_endpoint batched: requests of max_rows_per_batch 500" 10 "$(($(requests churn-remote) - before))"
expect_eq "invoke_endpoint with the inputs in one array" \
    "$(sql "SELECT aws_sagemaker.invoke_endpoint('churn', NULL, $inputs) FROM churn WHERE id = 7")" \
    "$(sql "SELECT aws_sagemaker.invoke_endpoint('churn-remote', NULL, ARRAY[$(echo "$inputs" | sed 's/\([a-z_][a-z_]*\)/\1::text/g')]) FROM churn WHERE id = 7")"
# Aurora returns the endpoint's body as it is: "0.500" (a parsed and rewritten number would be 0.5).
expect_eq "invoke_endpoint returns the endpoint's body unchanged" "0.500" \
    "$(sql "SELECT aws_sagemaker.invoke_endpoint('churn-raw', NULL, $inputs) FROM churn WHERE id = 1")"
expect_error "SELECT aws_sagemaker.invoke_endpoint('churn', 0, 1)" "max_rows_per_batch must be NULL or at least 1, got 0"
expect_error "SELECT aws_sagemaker.invoke_endpoint('nowhere', NULL, 1)" "unknown model 'nowhere'"

# --- the setting: superuser only; a missing or wrong file is an ERROR naming it ----------------------
# (With the library loaded: before that the name is a placeholder, which PostgreSQL re-checks
# against the role that set it when the library defines the setting.)
expect_error "SELECT scorekit.version(); SET ROLE analyst; SET scorekit.policy_file = '/tmp/x.toml'" "permission denied to set parameter \"scorekit.policy_file\""
PGOPTIONS="-c scorekit.policy_file=$WORK/none.toml" expect_error "SELECT scorekit.score('churn', c) FROM churn c WHERE id = 1" \
    "cannot read the policy file $WORK/none.toml (scorekit.policy_file)"
printf '[models.churn]\npolicy = "fallback"\n' >"$WORK/bad.toml" && chmod 644 "$WORK/bad.toml"
PGOPTIONS="-c scorekit.policy_file=$WORK/bad.toml" expect_error "SELECT scorekit.score('churn', c) FROM churn c WHERE id = 1" \
    "[models.churn]: policy 'fallback' is not one of: local, remote, local-then-remote, shadow"
unset PGOPTIONS
expect_error "SELECT scorekit.score_args('churn_remote', 1)" "unknown model 'churn_remote'"
echo "     (remote section: $(($(date +%s) - remote_t0)) s)"
