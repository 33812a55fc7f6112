#!/usr/bin/env bash
# Instructions per request of `host serve`, counted by valgrind's callgrind (repeatable where
# wall-clock load tests on a shared machine are not). The server runs under callgrind; after
# WARMUP requests its counters are zeroed, N churn requests follow (SageMaker text/csv, one
# keep-alive connection; a single row, then a batch of BATCH rows as bench/serve/run.sh sends),
# then a dump: its total / N is the cost of one request, all threads included. `GET /ping` is
# counted the same way as the floor of the HTTP stack.
#
# Usage: bench/serve/callgrind.sh [HOST_BIN...]   (default: build and count this checkout's host)
# Env:   WARMUP=200 N=1000 BATCH=100 (BATCH=0: no batch workload)
# Output: a Markdown table on stdout (one row per binary and workload).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WARMUP=${WARMUP:-200}
N=${N:-1000}
BATCH=${BATCH:-100}
OUT=$ROOT/bench/out/serve-callgrind
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
if [[ $# -eq 0 ]]; then
  cargo build --release -p host >&2
  set -- "${CARGO_TARGET_DIR:-$ROOT/target}/release/host"
fi
PORT=${PORT:-18090}

port_free() { # waits until nothing answers on $PORT (a previous server has exited)
  for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 || return 0
    sleep 0.2
  done
  echo "port $PORT is still in use" >&2
  exit 1
}

count() { # host_bin path rows work -> instructions per request, counted between a zero and a dump
  local bin=$1 path=$2 rows=$3 work=$4
  port_free
  rm -f "$OUT"/callgrind.out.*
  (cd "$work" && exec valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.%p" \
      "$bin" serve --port "$PORT" --log-level error >"$OUT/server.log" 2>&1) &
  local server=$!
  for _ in $(seq 1200); do
    curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break
    sleep 0.5
  done
  # Warm-up requests (instances, caches), then counters zeroed, N requests, a dump.
  client "$path" "$WARMUP" "$work" "$rows"
  callgrind_control -z "$server" >/dev/null 2>&1
  client "$path" "$N" "$work" "$rows"
  callgrind_control -d "$server" >/dev/null 2>&1
  kill -TERM "$server"
  wait "$server" 2>/dev/null || true
  # The dump (file name ending .1) holds only what ran between the zero and the dump.
  local total
  total=$(awk '/^(summary|totals):/ {print $2; exit}' "$OUT"/callgrind.out.*.1)
  # Kept for callgrind_annotate, one file per binary and workload.
  cp "$OUT"/callgrind.out.*.1 "$OUT/$(basename "$bin")$(echo "$path" | tr '/' '_')_$rows.callgrind"
  echo $((total / N))
}

client() { # path n work rows: n requests of `rows` rows (the data's first) on one keep-alive
  # connection, each checked for 200
  python3 - "$PORT" "$1" "$2" "$3/scorekit-models/.demo/data/churn.csv" "$4" <<'PY'
import http.client, sys
port, path, n, data, rows = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
# Features only (the label is the last column), as bench/serve/run.sh sends them.
lines = [l.rsplit(",", 1)[0] for l in open(data).read().splitlines()[1:1 + rows]]
# One row without a line end (as this script always sent it), a batch one line per row.
row = lines[0] if rows == 1 else "".join(l + "\n" for l in lines)
conn = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    if path == "/ping":
        conn.request("GET", path)
    else:
        conn.request("POST", path, body=row, headers={"Content-Type": "text/csv"})
    r = conn.getresponse()
    r.read()
    assert r.status == 200, (r.status, path)
PY
}

echo "| binary | workload | instructions per request |"
echo "|---|---|---|"
for bin in "$@"; do
  # One directory per binary's bytes: `host serve` compiles the demo modules with its own guest
  # only when they are missing, so a rebuilt binary at the same path needs fresh ones.
  work=$OUT/work-$(md5sum <"$bin" | cut -c1-8)
  mkdir -p "$work"
  # First start trains and compiles the demo models outside the measurement.
  (cd "$work" && exec "$bin" serve --port "$PORT" --log-level error >/dev/null 2>&1) &
  pre=$!
  for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break; sleep 0.5; done
  kill -TERM "$pre"; wait "$pre" 2>/dev/null || true
  for w in "/ping 0" "/endpoints/churn/invocations 1" "/endpoints/churn/invocations $BATCH"; do
    set -- $w
    [[ $2 = 0 && $1 != /ping ]] && continue
    label=$1
    [[ $1 != /ping ]] && label="$1 ($2 row$([[ $2 = 1 ]] || echo s))"
    echo "| $bin | $label | $(count "$bin" "$1" "$2" "$work") |"
  done
done
