# The test endpoints both SQL plugins' remote tests use (sourced by their tests/remote.sh):
# `host serve` on loopback answering each endpoint NAME with the module MODULE (it speaks SageMaker
# and checks SigV4 against the fixed test credentials the e2e scripts export), and slow_endpoint.py
# answering after DELAY seconds. Both listen on free ports they pick (port 0: fixed ports in the
# ephemeral range were taken by other processes' connections).
#   start_test_endpoints MODULE DELAY NAME...
# needs $HOST (the host binary) and $WORK (a scratch directory); sets SERVE_PORT and SLOW_PORT and
# adds the processes to REMOTE_PIDS (the caller's EXIT trap kills them).
start_test_endpoints() {
    local module=$1 delay=$2 dir=$WORK/remote_models name
    shift 2
    mkdir -p "$dir"
    for name in "$@"; do cp "$module" "$dir/$name.wasm"; done
    "$HOST" serve --models "$dir" --no-demo --no-state --port 0 >"$WORK/serve.out" 2>"$WORK/serve.log" &
    REMOTE_PIDS="${REMOTE_PIDS:-} $!"
    python3 "$(dirname "${BASH_SOURCE[0]}")/slow_endpoint.py" 0 "$delay" >"$WORK/slow.log" 2>&1 &
    REMOTE_PIDS="$REMOTE_PIDS $!"
    SERVE_PORT= SLOW_PORT=
    for _ in $(seq 100); do
        SERVE_PORT=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$WORK/serve.out")
        SLOW_PORT=$(sed -n 's/^ready \([0-9]*\)$/\1/p' "$WORK/slow.log")
        [ -n "$SERVE_PORT" ] && [ -n "$SLOW_PORT" ] && curl -sf "http://127.0.0.1:$SERVE_PORT/ping" >/dev/null && return 0
        sleep 0.1
    done
    echo "FAIL the test endpoints did not start:"
    cat "$WORK/serve.out" "$WORK/serve.log" "$WORK/slow.log"
    exit 1
}
