#!/usr/bin/env bash
# NAB (full corpus, NAB's own scoring rules) + WSN single-hop evaluation of scorekit-rcf against
# krcflib (AWS's Rust random cut forest) in the same run. Prints Markdown tables.
#   bench/nab/run.sh            full run
#   NAB_SWEEP=1 bench/nab/run.sh  also sweeps threshold settings (tuning aid)
#   bench/nab/run.sh --speed    only the score + update throughput (both forests, all NAB rows)
#   NAB_FOREST=1 bench/nab/run.sh also chooses forest settings + a spatial detector on the synthetic corpus, then scores NAB once
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${SCOREKIT_DATA:-$here/../../../shared/data/anomaly}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
"$CARGO_TARGET_DIR/release/bench-nab" "$data" "$@"
