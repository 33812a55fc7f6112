#!/usr/bin/env bash
# Churn benchmark: scorekit-gbt vs XGBoost and LightGBM (defaults) and a smartcore decision tree.
# Train rows 1-3333 (churnTrain), test rows 3334-5000 (churnTest); prints Markdown tables.
# Usage: bench/churn/run.sh [tune [structure|more]]   (tune: 4-fold CV on the TRAIN rows only, for
# choosing defaults; the word after it picks the grid)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${CHURN_CSV:-$root/../shared/data/churn/mlc_churn.csv}"
venv="$root/bench/.venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scorekit-target-gbt-bench}"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q xgboost==2.1.3 lightgbm==4.5.0 pandas==2.2.3 scikit-learn==1.5.2

cargo build --release --manifest-path "$here/Cargo.toml" >&2
bench="$CARGO_TARGET_DIR/release/churn-bench"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

if [ "${1:-}" = "tune" ]; then
    "$venv/bin/python" "$here/peers.py" "$data" cv
    "$bench" tune "$data" "${@:2}"
    exit 0
fi

"$bench" eval "$data" > "$out/ours.jsonl"
"$venv/bin/python" "$here/peers.py" "$data" > "$out/peers.jsonl"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$venv/bin/python" "$here/report.py" "$out/ours.jsonl" "$out/peers.jsonl" "$data"
