#!/usr/bin/env bash
# Load benchmark of `host serve` with wrk (Debian package `wrk`): requests/s and p50/p99/p99.9
# latency for single-row churn scoring (SageMaker text/csv), the same through the native JSON
# API, a batch of 100 rows (rows/s), and GET /ping as the in-run floor of the HTTP stack.
#
# Usage: bench/serve/run.sh [DURATION_SECONDS=20] [CONNECTIONS=64]
# Env:   HOST_BIN=path/to/host (default: build it in release), WRK_THREADS=1, PORT=18080,
#        WORK=bench/out/serve/work (the served models directory: `host serve` compiles the demo
#        modules with its own guest only when they are missing, so give each binary its own)
# Output: a Markdown table on stdout; raw wrk output under bench/out/serve/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DUR=${1:-20}
CONN=${2:-64}
WRK_THREADS=${WRK_THREADS:-1}
OUT=$ROOT/bench/out/serve
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

if [[ -z "${HOST_BIN:-}" ]]; then
  cargo build --release -p host >&2
  HOST_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/host
fi

# The demo models, trained and compiled by `host serve` itself on first start.
WORK=${WORK:-$OUT/work}
mkdir -p "$WORK"
PORT=${PORT:-18080}
(cd "$WORK" && exec "$HOST_BIN" serve --port "$PORT" --log-level error --max-concurrency 1024 >"$OUT/server.log" 2>&1) &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null || { cat "$OUT/server.log"; exit 1; }

DATA=$WORK/scorekit-models/.demo/data/churn.csv
# Features only (the label is the last column), as SageMaker's CSV carries them.
sed -n '2p' "$DATA" | sed 's/,[^,]*$//' >"$OUT/one.csv"
sed -n '2,101p' "$DATA" | sed 's/,[^,]*$//' >"$OUT/batch100.csv"
python3 - "$DATA" "$OUT/one.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
row = {k: v for k, v in rows[0].items() if k != "churn"}
json.dump({"rows": [row]}, open(sys.argv[2], "w"))
PY

URL=http://127.0.0.1:$PORT
run() { # label rows_per_request url script [body content-type]
  local name=$1 rows=$2 url=$3 script=$4
  local file
  file=$(echo "$name" | tr -c 'A-Za-z0-9\n' '_')
  # Warm-up (instances, caches, TCP), then the measured run.
  BODY_FILE=${5:-/dev/null} CONTENT_TYPE=${6:-} wrk -t"$WRK_THREADS" -c"$CONN" -d3s -s "$ROOT/bench/serve/$script" "$url" >/dev/null
  BODY_FILE=${5:-/dev/null} CONTENT_TYPE=${6:-} wrk -t"$WRK_THREADS" -c"$CONN" -d"${DUR}s" -s "$ROOT/bench/serve/$script" "$url" >"$OUT/$file.txt"
  local line
  line=$(grep '^RESULT' "$OUT/$file.txt")
  eval "$(echo "$line" | sed 's/^RESULT //' | tr ' ' '\n' | sed 's/^/local /')"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$rps" "$((rps * rows))" "$p50_ms" "$p99_ms" "$p999_ms" "$errors" "$non200"
}

echo "host serve load test: $(nproc) CPUs shared by server and wrk, $CONN connections, $WRK_THREADS wrk thread(s), ${DUR}s per run ($(date -u +%F))"
echo
echo "| workload | req/s | rows/s | p50 ms | p99 ms | p99.9 ms | socket errors | non-200 |"
echo "|---|---|---|---|---|---|---|---|"
run "GET /ping (HTTP floor)" 0 "$URL/ping" get.lua
run "churn 1 row, SageMaker text/csv" 1 "$URL/endpoints/churn/invocations" post.lua "$OUT/one.csv" text/csv
run "churn 1 row, native JSON" 1 "$URL/v1/models/churn:score" post.lua "$OUT/one.json" application/json
run "churn 100 rows, SageMaker text/csv" 100 "$URL/endpoints/churn/invocations" post.lua "$OUT/batch100.csv" text/csv
echo
curl -s "$URL/metrics" | grep -E '^scorekit_(shed_total|errors_total)' >"$OUT/metrics.txt" || true
echo "server-side: $(tr '\n' ' ' <"$OUT/metrics.txt")"
