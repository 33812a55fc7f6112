#!/usr/bin/env bash
# Wasm benchmarks: bench/wasm/run.sh  (prints key/value figures, then a Markdown table)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/scorekit-target-wasm}"
venv="$root/bench/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import xgboost, lightgbm, pandas" 2>/dev/null ||
  "$venv/bin/pip" install -q xgboost==2.1.3 lightgbm==4.5.0 pandas==2.2.3 scikit-learn==1.5.2
mkdir -p "$here/out"
cargo run --release --quiet --manifest-path "$here/Cargo.toml" --bin scorekit-wasm-bench > "$here/out/rust.txt"
# The peers grow as many trees, as deep and as wide, as the model the Rust bench trained.
read -r trees depth leaves < <(awk '$1=="trees"{t=$2} $1=="max_depth"{d=$2} $1=="max_leaves"{l=$2} END{print t, d, l}' "$here/out/rust.txt")
"$venv/bin/python" "$here/peers.py" "$root/../shared/data/churn/mlc_churn.csv" "$trees" "$depth" "$leaves" > "$here/out/peers.txt"
cat "$here/out/rust.txt" "$here/out/peers.txt"
