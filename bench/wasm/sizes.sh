#!/usr/bin/env bash
# Module sizes of the demo models: bench/wasm/sizes.sh [path/to/host]
# Trains the embedded demo models (`host demo`, seconds), compiles each (`host compile`) and prints,
# per model, the bytes of its family's guest (the code every module of that family carries), of
# the rest (the model payload: artifact + description, and the description section) and of the
# module. Without an argument it builds the `host` binary first (release). The guests are the
# ones that binary embeds: guest/prebuilt/ unless it was built from source (host/compile/build.rs).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scorekit/target}"
host="${1:-}"
if [ -z "$host" ]; then
    cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p host
    host="$CARGO_TARGET_DIR/release/host"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$host" demo --out "$tmp" --quiet >/dev/null
printf '| %-8s | %-8s | %12s | %12s | %12s |\n' model family guest "rest (model)" module
printf '|%s|%s|%s|%s|%s|\n' ---------- ---------- -------------: -------------: -------------:
for model in churn anomaly forecast; do
    "$host" compile "$tmp/$model.model.json" -o "$tmp/$model.wasm" >"$tmp/compile.txt"
    family=$(sed -n 's/.*: \([a-z]*\) model .*/\1/p' "$tmp/compile.txt")
    guest=$(wc -c <"$root/guest/prebuilt/scorekit_guest_$family.wasm")
    module=$(wc -c <"$tmp/$model.wasm")
    printf '| %-8s | %-8s | %12s | %12s | %12s |\n' "$model" "$family" "$guest" "$((module - guest))" "$module"
done
