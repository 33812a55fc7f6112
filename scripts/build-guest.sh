#!/usr/bin/env bash
# Rebuilds the Wasm guests (guest/, the scoring code inside every model module; one build per
# model family, so a module carries only its family's code; each then optimised by binaryen's
# wasm-opt) from source and refreshes guest/prebuilt/scorekit_guest_<family>.wasm, the copies that
# builds without the wasm32 target or wasm-opt embed (a fresh clone's `cargo run -p host -- serve`).
# The builds are reproducible: paths are remapped and wasm-opt is pinned, so the same sources give
# the same bytes on any machine with the same toolchain. Installs node/npm and web/node_modules
# (npm ci) when missing.
#   scripts/build-guest.sh           rebuild and refresh the committed copies
#   scripts/build-guest.sh --check   rebuild and fail if a committed copy differs (test script)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scorekit/target}"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# Every guest build ends with binaryen's wasm-opt (npm `binaryen`, pinned by web/package-lock.json).
. scripts/node-tools.sh
# The guest has its own lock file (it is outside the workspace): bring it in line with the
# model crates' dependencies (a no-op when nothing changed), then build with --locked.
[ "${1:-}" = "--check" ] || cargo metadata --manifest-path guest/Cargo.toml --format-version 1 >/dev/null
# The fresh guests are the ones scorekit-compile's build script embeds, in its OUT_DIR; cargo names
# that directory in its build-script-executed message (also when the build was already fresh).
out_dir="$(SCOREKIT_GUEST=source cargo build --release -q -p scorekit-compile --message-format=json |
    python3 -c 'import json, sys
dirs = [m["out_dir"] for m in map(json.loads, sys.stdin)
        if m.get("reason") == "build-script-executed" and "#scorekit-compile@" in m["package_id"]]
print(dirs[-1] if dirs else "")')"
if [ -z "$out_dir" ]; then
    echo "error: cargo did not say where scorekit-compile's build script put the guests" >&2
    exit 1
fi
stale=0
mkdir -p guest/prebuilt
for family in gbt rcf forecast; do
    fresh="$out_dir/scorekit_guest_$family.wasm"
    if [ ! -s "$fresh" ]; then
        echo "error: the build left no guest for $family at $fresh" >&2
        exit 1
    fi
    committed="guest/prebuilt/scorekit_guest_$family.wasm"
    if [ "${1:-}" = "--check" ]; then
        if ! cmp -s "$fresh" "$committed"; then
            echo "error: $committed is not what guest/ and models/ build ($(wc -c <"$fresh") vs $(wc -c <"$committed" 2>/dev/null || echo 0) bytes)." >&2
            stale=1
        else
            echo "$committed is up to date ($(wc -c <"$committed") bytes, sha256 $(sha256sum "$committed" | cut -c1-16)…)"
        fi
        continue
    fi
    install -m 644 "$fresh" "$committed"
    echo "wrote $committed ($(wc -c <"$committed") bytes, sha256 $(sha256sum "$committed" | cut -c1-16)…)"
done
if [ "$stale" = 1 ]; then
    echo "       Run scripts/build-guest.sh and commit guest/prebuilt/." >&2
    exit 1
fi
