#!/usr/bin/env bash
# Forecast benchmark: scorekit-forecast vs seasonal naive, augurs (MSTL+AutoETS, Rust) and
# statsforecast (AutoETS, MSTL+AutoETS, AutoARIMA) on hourly vic_elec, taylor and bank_calls.
# Prints a Markdown table. Set REUSE=1 to keep statsforecast forecasts already in $OUT.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/scorekit-target-forecast}"
OUT=../out/forecast
VENV=../.venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q 'statsforecast==2.0.1'
cargo build --release -q
BIN="$CARGO_TARGET_DIR/release/scorekit-forecast-bench"
mkdir -p "$OUT"
[ "${REUSE:-0}" = 1 ] || rm -f "$OUT"/py_*.csv
"$BIN" prep "$OUT"
"$VENV/bin/python" statsforecast_peers.py "$OUT"
"$BIN" eval "$OUT"
