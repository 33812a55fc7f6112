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
    start_test_endpoints "$MODULES/churn.wasm" $R_SLOW_DELAY_S churn-remote churn-fallback
    cat >"$WORK/policy.toml" <<TOML
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
TOML
    chmod 644 "$WORK/policy.toml"
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
    echo "     (remote checks: $(($(date +%s) - t0)) s)"
}
