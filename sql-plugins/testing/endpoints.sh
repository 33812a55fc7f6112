# The test endpoints both SQL plugins' remote tests use (sourced by their tests/remote.sh):
# `host serve` on loopback answering each endpoint NAME with the module MODULE (it speaks SageMaker
# and checks SigV4 against the fixed test credentials the e2e scripts export), and slow_endpoint.py
# answering after DELAY seconds. Both listen on free ports they pick (port 0: fixed ports in the
# ephemeral range were taken by other processes' connections).
# A third endpoint, slow_endpoint.py without a delay, answers 0.500 for every row at once: a remote
# that disagrees with the local model (shadow tests) and writes its numbers its own way (a raw body
# is passed on unchanged).
#   start_test_endpoints MODULE DELAY NAME[=OTHER_MODULE]...
# needs $HOST (the host binary) and $WORK (a scratch directory); sets SERVE_PORT, SLOW_PORT and
# WRONG_PORT and adds the processes to REMOTE_PIDS (the caller's EXIT trap kills them).
start_test_endpoints() {
    local module=$1 delay=$2 dir=$WORK/remote_models name
    shift 2
    mkdir -p "$dir"
    for name in "$@"; do
        case $name in
        *=*) cp "${name#*=}" "$dir/${name%%=*}.wasm" ;;
        *) cp "$module" "$dir/$name.wasm" ;;
        esac
    done
    "$HOST" serve --models "$dir" --no-demo --no-state --port 0 >"$WORK/serve.out" 2>"$WORK/serve.log" &
    REMOTE_PIDS="${REMOTE_PIDS:-} $!"
    python3 "$(dirname "${BASH_SOURCE[0]}")/slow_endpoint.py" 0 "$delay" >"$WORK/slow.log" 2>&1 &
    REMOTE_PIDS="$REMOTE_PIDS $!"
    python3 "$(dirname "${BASH_SOURCE[0]}")/slow_endpoint.py" 0 0 0.500 >"$WORK/wrong.log" 2>&1 &
    REMOTE_PIDS="$REMOTE_PIDS $!"
    SERVE_PORT= SLOW_PORT= WRONG_PORT=
    for _ in $(seq 100); do
        SERVE_PORT=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$WORK/serve.out")
        SLOW_PORT=$(sed -n 's/^ready \([0-9]*\)$/\1/p' "$WORK/slow.log")
        WRONG_PORT=$(sed -n 's/^ready \([0-9]*\)$/\1/p' "$WORK/wrong.log")
        [ -n "$SERVE_PORT" ] && [ -n "$SLOW_PORT" ] && [ -n "$WRONG_PORT" ] &&
            curl -sf "http://127.0.0.1:$SERVE_PORT/ping" >/dev/null && return 0
        sleep 0.1
    done
    echo "FAIL the test endpoints did not start:"
    cat "$WORK/serve.out" "$WORK/serve.log" "$WORK/slow.log" "$WORK/wrong.log"
    exit 1
}
