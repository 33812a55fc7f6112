#!/usr/bin/env bash
# Replays the abuse cases (slow bodies, idle-connection flood under ulimit -n 1024, stream-key
# flood, large refused uploads, expensive requests beside cheap ones, stream durability and its
# rate, kill -9 at full rate) against a real `host serve` on loopback; prints a Markdown table
# with each outcome and the server's RSS. Figures in docs/eval-serve.md.
#
# Usage: bench/serve/abuse.sh      Env: HOST_BIN=path/to/host (default: build it in release)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/bench/out/serve-abuse
mkdir -p "$OUT"
if [[ -z "${HOST_BIN:-}" ]]; then
  cargo build --release -p host >&2
  HOST_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/host
fi
# The demo models, trained and compiled by `host serve` itself on first start.
WORK=$OUT/work
mkdir -p "$WORK"
if [[ ! -f $WORK/scorekit-models/churn.wasm ]]; then
  (cd "$WORK" && "$HOST_BIN" demo --out scorekit-models/.demo >&2 &&
    for m in churn anomaly forecast; do "$HOST_BIN" compile "scorekit-models/.demo/$m.model.json" -o "scorekit-models/$m.wasm" >&2; done)
fi
python3 "$ROOT/bench/serve/abuse.py" "$HOST_BIN" "$WORK/scorekit-models"
