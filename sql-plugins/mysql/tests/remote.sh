# Remote SageMaker endpoints from MariaDB (`policy_file` in scorekit.json, docs/mysql.md), in two
# parts sourced by e2e.sh: `remote_start` before the plugin's first call (the configuration and
# the policy file are read once per server process) and `remote_checks` after the churn table and
# the KILL QUERY checks. The remote is `host serve` on loopback (it speaks SageMaker; the server
# signs with the fixed test credentials e2e.sh exports), a port where nothing listens, and
# ../testing/slow_endpoint.py (answers after 5 s). The live endpoints listen on free ports they
# pick (port 0); the endpoint that is down is 56121 (a port no test listens on).

R_DOWN_PORT=56121 R_SLOW_DELAY_S=5
# shellcheck source=../../testing/endpoints.sh
source "$ROOT/sql-plugins/testing/endpoints.sh"
remote_start() {
    start_test_endpoints "$MODULES/churn.wasm" $R_SLOW_DELAY_S churn-remote churn-fallback churn-shadow \
        churn-switch-a churn-switch-b "forecast-remote=$MODULES/forecast.wasm"
    write_policy churn-switch-a "$WORK/policy.toml"
}

# The policy file; the model churn_switch goes to endpoint $1 (re-written by the reload checks).
write_policy() {
    cat >"$2" <<TOML
[defaults]
region = "us-east-1"
endpoint_url = "http://127.0.0.1:$SERVE_PORT"
retries = 0
timeout_ms = 10000

[models.churn_remote]
policy = "remote"
endpoint = "churn-remote"
description = "$MODULES/churn.wasm"

[models.churn_fallback]
policy = "local-then-remote"
endpoint = "churn-fallback"
description = "$MODULES/churn.wasm"

[models.churn_down]
policy = "remote"
endpoint = "churn-down"
endpoint_url = "http://127.0.0.1:$R_DOWN_PORT"
description = "$MODULES/churn.wasm"

[models.churn_slow]
policy = "remote"
endpoint = "churn-slow"
endpoint_url = "http://127.0.0.1:$SLOW_PORT"
timeout_ms = 30000
description = "$MODULES/churn.wasm"

# Shadow: the local module (churn_shadow.wasm, made by remote_checks) answers; the endpoint is
# compared in the background. The second endpoint answers 0.500 for every row: it disagrees.
[models.churn_shadow]
policy = "shadow"
endpoint = "churn-shadow"

[models.churn_shadow_wrong]
policy = "shadow"
endpoint = "churn-wrong"
endpoint_url = "http://127.0.0.1:$WRONG_PORT"

[models.churn_switch]
policy = "remote"
endpoint = "$1"
description = "$MODULES/churn.wasm"

[models.forecast_remote]
policy = "remote"
endpoint = "forecast-remote"
description = "$MODULES/forecast.wasm"
TOML
    chmod 644 "$2"
}

# rstat MODEL FIELD... -> the fields of MODEL in scorekit_remote_stats(), joined by |
rstat() {
    local model=$1
    shift
    sql "SELECT scorekit_remote_stats()" | python3 -c "
import json, sys
r = {m['model']: m for m in json.load(sys.stdin)}['$model']
print('|'.join(str(r[k]).lower() if r[k] is not None else 'null' for k in sys.argv[1:]))" "$@"
}

# Waits (up to 5 s) until MODEL's shadow calls have all finished.
settle() {
    for _ in $(seq 100); do
        [ "$(rstat "$1" shadow_calls)" = "$(sql "SELECT scorekit_remote_stats()" | python3 -c "
import json, sys
r = {m['model']: m for m in json.load(sys.stdin)}['$1']
print(r['shadow_agreed'] + r['shadow_disagreed'] + r['shadow_errors'])")" ] && return 0
        sleep 0.05
    done
}

remote_requests() { # endpoint name -> 2xx invocations host serve answered
    curl -sf "http://127.0.0.1:$SERVE_PORT/metrics" |
        sed -n "s/^scorekit_requests_total{model=\"$1\",endpoint=\"invocations\",status=\"2xx\"} //p" | grep . || echo 0
}

remote_checks() {
    echo "-- remote endpoints (policy file $WORK/policy.toml)"
    local t ms t0
    t0=$(date +%s)
    t=$(date +%s%N)
    sql "SELECT scorekit_score('churn_remote', $cols) FROM churn c ORDER BY c.phone" >"$WORK/my_remote.csv"
    ms=$((($(date +%s%N) - t) / 1000000))
    $CMP "remote-only churn (no churn_remote.wasm), bit for bit" "$WORK/host_churn.csv" probability "$WORK/my_remote.csv" 0 || fails=$((fails + 1))
    expect_eq "one request per row (5000 rows in $ms ms)" 5000 "$(remote_requests churn-remote)"
    bash "$HERE/install.sh" --client "$MYSQL" --library "$LIBRARY" --plugin-dir "$WORK/plugin" \
        --typed "$DB" will_churn_remote churn_remote "$(cat "$HERE/examples/will_churn.json")" | tail -1
    sql "SELECT will_churn_remote($aurora) FROM churn c ORDER BY c.phone" >"$WORK/my_remote_label.csv"
    $CMP "the typed will_churn over the remote-only model" "$WORK/host_churn.csv" probability "$WORK/my_remote_label.csv" 0 --label 0.5 True. False. || fails=$((fails + 1))
    sql "SELECT scorekit_score('churn_fallback', $cols) FROM churn c ORDER BY c.phone LIMIT 100" >"$WORK/my_fallback.csv"
    head -101 "$WORK/host_churn.csv" >"$WORK/host_churn100.csv"
    $CMP "local-then-remote without a local module: the endpoint answers" "$WORK/host_churn100.csv" probability "$WORK/my_fallback.csv" 0 || fails=$((fails + 1))
    expect_eq "fallback requests" 100 "$(remote_requests churn-fallback)"
    expect_error "SELECT scorekit_score('churn_down', $seed_inputs)" "scorekit: model 'churn_down': endpoint 'churn-down'"
    expect_error "SELECT scorekit_explain('churn_remote', $seed_inputs)" "served by the remote endpoint 'churn-remote', which cannot explain"
    # KILL QUERY and max_statement_time reach a call waiting on the network.
    $MYSQL -N -B -D "$DB" -e "SELECT 'slowremote', scorekit_score('churn_slow', $seed_inputs)" >"$WORK/slow.out" 2>&1 &
    local waiter=$! conn=
    for _ in $(seq 50); do
        sleep 0.1
        conn=$(sql "SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT ''slowremote''%' AND id <> CONNECTION_ID()")
        [ -n "$conn" ] && break
    done
    t=$(date +%s%N)
    sql "KILL QUERY $conn"
    wait $waiter || true
    ms=$((($(date +%s%N) - t) / 1000000))
    expect_eq "KILL QUERY stops a call waiting on a ${R_SLOW_DELAY_S} s remote (in ${ms} ms, < 2000)" \
        "yes: ERROR 1317 (70100) at line 1: Query execution was interrupted" "$([ $ms -lt 2000 ] && echo yes): $(cat "$WORK/slow.out")"
    t=$(date +%s%N)
    expect_error "SET STATEMENT max_statement_time = 0.3 FOR SELECT scorekit_score('churn_slow', $seed_inputs)" "max_statement_time exceeded" 1969
    ms=$((($(date +%s%N) - t) / 1000000))
    expect_eq "max_statement_time 0.3 s stops it too (in ${ms} ms, < 2500)" yes "$([ $ms -lt 2500 ] && echo yes)"
    alive "calls killed while waiting on a remote"

    # --- the policy counters (scorekit_remote_stats(): this server process's, since the file was read)
    local stats="local_calls|remote_calls|remote_failures|fallbacks|breaker"
    expect_eq "remote_stats: churn_remote answered 10000 rows remotely (the row path, will_churn)" "0|10000|0|0|closed" \
        "$(rstat churn_remote ${stats//|/ })"
    expect_eq "remote_stats: local-then-remote without a module fell back 100 times" "0|100|0|100|closed" \
        "$(rstat churn_fallback ${stats//|/ })"
    expect_eq "remote_stats: the endpoint that is down failed once" "0|1|1|0|closed" "$(rstat churn_down ${stats//|/ })"

    # --- shadow: the local module answers every row, the endpoint is compared in the background
    ln -sf churn.wasm "$MODULES/churn_shadow.wasm"
    ln -sf churn.wasm "$MODULES/churn_shadow_wrong.wasm"
    local m
    for m in churn_shadow churn_shadow_wrong; do
        sql "SELECT scorekit_score('$m', $cols) FROM churn c ORDER BY c.phone LIMIT 100" >"$WORK/my_$m.csv"
        $CMP "shadow ($m): the answers are the local module's" "$WORK/host_churn100.csv" probability "$WORK/my_$m.csv" 0 || fails=$((fails + 1))
        settle $m
    done
    # One shadow call per row (up to max_shadow_in_flight at once; more are skipped, and counted).
    local agreed
    agreed=$(rstat churn_shadow shadow_calls)
    expect_eq "shadow, agreeing endpoint: 100 local calls, nothing remote, every finished shadow call agreed" "100|0|$agreed|0|0" \
        "$(rstat churn_shadow local_calls remote_calls shadow_agreed shadow_disagreed shadow_errors)"
    expect_eq "every row shadowed or skipped" 100 "$(($(rstat churn_shadow shadow_calls) + $(rstat churn_shadow shadow_skipped)))"
    expect_eq "host serve got the shadow requests" "$agreed" "$(remote_requests churn-shadow)"
    local wrong
    wrong=$(rstat churn_shadow_wrong shadow_calls)
    expect_eq "shadow, endpoint answering 0.500: every shadow call disagreed, in its one row" "100|0|0|$wrong|$wrong|0" \
        "$(rstat churn_shadow_wrong local_calls remote_calls shadow_agreed shadow_disagreed shadow_rows_disagreed shadow_errors)"
    rm -f "$MODULES/churn_shadow.wasm" "$MODULES/churn_shadow_wrong.wasm"

    # --- the policy file is re-read when it changes, or when scorekit.json names another one ------------
    sql "SELECT scorekit_score('churn_switch', $seed_inputs)" >/dev/null
    expect_eq "churn_switch goes to churn-switch-a" "1|0" "$(remote_requests churn-switch-a)|$(remote_requests churn-switch-b)"
    write_policy churn-switch-b "$WORK/policy.toml.new" && mv "$WORK/policy.toml.new" "$WORK/policy.toml"
    expect_eq "after the file changed: churn-switch-b answers, no restart" "$seed_prob|1|1" \
        "$(sql "SELECT scorekit_score('churn_switch', $seed_inputs)")|$(remote_requests churn-switch-a)|$(remote_requests churn-switch-b)"
    expect_eq "a re-read file counts from zero" "1|churn-switch-b" "$(rstat churn_switch remote_calls endpoint)"
    printf '[models.churn_switch]\npolicy = "fallback"\n' >"$WORK/policy_bad.toml" && chmod 644 "$WORK/policy_bad.toml"
    local conf="$WORK/plugin/scorekit.json"
    python3 - "$conf" "$WORK/policy_bad.toml" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["policy_file"] = sys.argv[2]
open(sys.argv[1] + ".new", "w").write(json.dumps(c))
PY
    mv "$conf.new" "$conf"
    expect_error "SELECT scorekit_score('churn_switch', $seed_inputs)" "policy_bad.toml: [models.churn_switch]: policy 'fallback' is not one of"
    write_policy churn-switch-a "$WORK/policy_bad.toml"
    expect_eq "scorekit.json names another policy file, then it is fixed: churn-switch-a again" "$seed_prob|2" \
        "$(sql "SELECT scorekit_score('churn_switch', $seed_inputs)")|$(remote_requests churn-switch-a)"
    python3 - "$conf" "$WORK/policy.toml" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["policy_file"] = sys.argv[2]
open(sys.argv[1] + ".new", "w").write(json.dumps(c))
PY
    mv "$conf.new" "$conf"
    echo "     (remote checks: $(($(date +%s) - t0)) s)"
}

# After e2e.sh's forecast section (the elec table, $fc_config, to_csv): a remote forecaster.
remote_forecast_checks() {
    sql "SELECT scorekit_forecast('forecast_remote', GROUP_CONCAT(demand_mw ORDER BY ts), GROUP_CONCAT(ts ORDER BY ts), '$fc_config') FROM elec" | to_csv >"$WORK/my_fc_remote.csv"
    local q
    for q in mean q0.1 q0.9; do
        $CMP "remote forecast $q (DeepAR JSON to host serve)" "$WORK/host_fc.csv" "$q" "$WORK/my_fc_remote.csv" "$q" --header-actual || fails=$((fails + 1))
    done
    expect_eq "remote forecast: one request, counted" "1|1" "$(remote_requests forecast-remote)|$(rstat forecast_remote remote_calls)"
}
