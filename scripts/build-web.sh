#!/usr/bin/env bash
# Rebuilds what the page loads — web/ (Rust) for wasm32, wasm-bindgen, then binaryen's wasm-opt
# for the glue; esbuild's minifier for the glue's JavaScript and the page's scripts (web/js/) —
# and refreshes web/dist/, the committed copies `host serve` embeds, so a fresh clone serves the
# page without the wasm32 target, wasm-bindgen-cli or node. The build is reproducible (paths
# are remapped; the tools are pinned: wasm-bindgen-cli by version, binaryen and esbuild by
# web/package-lock.json), so the same sources give the same bytes on any machine.
#   scripts/build-web.sh           rebuild and refresh web/dist/
#   scripts/build-web.sh --check   rebuild and fail if the committed web/dist/ differs (test script)
# Installs what it needs when missing: the wasm32 target, wasm-bindgen-cli (cargo install) and
# web/node_modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scorekit/target}"
bindgen_version=0.2.130
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $bindgen_version"; then
    # Not --locked: the CLI's lock file names webpki-roots 1.0.11, which the registry does not
    # offer; without default features the CLI needs no TLS stack at all (it never downloads).
    cargo install wasm-bindgen-cli --version "$bindgen_version" --no-default-features --quiet
fi
. scripts/node-tools.sh
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$root=/scorekit --remap-path-prefix=$cargo_home=/cargo"
cargo build --locked --quiet -p scorekit-web --target wasm32-unknown-unknown --profile web
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$out" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/web/scorekit_web.wasm"
# --flatten --rereloop then -Oz twice: 2.5 KB under a single -Oz (docs/web.md, Bytes).
web/node_modules/.bin/wasm-opt --flatten --rereloop -Oz -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$out/scorekit_web_bg.wasm" -o "$out/scorekit_web_bg.wasm"
# Minified as they are (no bundling, no syntax lowering): the same modules, imports and exports,
# without comments, white space and long local names — under half the bytes.
minify() { web/node_modules/.bin/esbuild "$1" --minify --format=esm --log-level=warning --outfile="$2"; }
minify "$out/scorekit_web.js" "$out/scorekit_web.min.js"
mv "$out/scorekit_web.min.js" "$out/scorekit_web.js"
for f in scorekit.js scorekit-model.js charts.js; do minify "web/js/$f" "$out/$f"; done
files=(scorekit.js scorekit-model.js charts.js scorekit_web.js scorekit_web_bg.wasm)
if [ "${1:-}" = "--check" ]; then
    for f in "${files[@]}"; do
        if ! cmp -s "$out/$f" "web/dist/$f"; then
            echo "error: web/dist/$f is not what web/ builds ($(wc -c <"$out/$f") vs $(wc -c <"web/dist/$f" 2>/dev/null || echo 0) bytes)." >&2
            echo "       Run scripts/build-web.sh and commit web/dist/." >&2
            exit 1
        fi
    done
    echo "web/dist is up to date ($(cat "${files[@]/#/web/dist/}" | wc -c) bytes)"
    exit 0
fi
mkdir -p web/dist
for f in "${files[@]}"; do install -m 644 "$out/$f" "web/dist/$f"; done
echo "wrote web/dist: $(for f in "${files[@]}"; do printf '%s %s bytes; ' "$f" "$(wc -c <"web/dist/$f")"; done)"
