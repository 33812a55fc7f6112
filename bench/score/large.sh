#!/usr/bin/env bash
# `host score` on a 2-million-row churn CSV (ROWS=… to change), with the compiled module and
# with the artifact: time, peak RSS, and output equal to scoring the rows in four pieces.
# Figures in docs/eval-serve.md ("host score on large inputs").
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/bench/out/score
mkdir -p "$OUT"
if [[ -z "${HOST_BIN:-}" ]]; then
  cargo build --release -p host >&2
  HOST_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/host
fi
MODELS=$OUT/models
if [[ ! -f $MODELS/churn.wasm ]]; then
  "$HOST_BIN" demo --out "$MODELS/.demo" >&2
  "$HOST_BIN" compile "$MODELS/.demo/churn.model.json" -o "$MODELS/churn.wasm" >&2
fi
python3 "$ROOT/bench/score/large.py" "$HOST_BIN" "$MODELS" "$OUT"
