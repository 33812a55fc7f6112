#!/usr/bin/env bash
# The browser host's tests, installing what they need first: Debian's chromium, node and npm (apt), the node
# tools pinned by web/package-lock.json (npm ci: binaryen, playwright-core), wasm-bindgen-cli and
# the wasm32 target (scripts/build-web.sh). Run by scripts/test-all.sh; on its own:
#   web/test.sh            every check below
# 1. the committed web/dist/ is what web/ builds (scripts/build-web.sh --check);
# 2. clippy on web/ for wasm32 (its JavaScript-facing half compiles only there);
# 3. end to end in headless Chromium against `host serve` with the demo models
#    (web/tests/e2e.mjs; screenshots in $SCOREKIT_WEB_SHOTS, default $CARGO_TARGET_DIR/web-shots);
# 4. the conformance suite on the browser host (and the native reference).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scorekit/target}"
step() { printf '\n--- web: %s (%s)\n' "$1" "$(date +%H:%M:%S)"; }

step "chromium, node and npm (apt, when missing)"
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
/usr/bin/chromium --version
echo "node $(node --version), npm $(npm --version)"

step "the committed web/dist is what web/ builds (installs wasm-bindgen-cli and the node tools when missing)"
scripts/build-web.sh --check

step "clippy on web/ for wasm32"
cargo clippy --locked --quiet -p scorekit-web --target wasm32-unknown-unknown --release -- -D warnings

step "end to end in headless Chromium (the demo page of host serve)"
cargo build --locked --quiet --release -p host
work=$(mktemp -d)   # the demo models are trained afresh: nothing is cached between runs
trap 'rm -rf "$work"' EXIT
shots="${SCOREKIT_WEB_SHOTS:-$CARGO_TARGET_DIR/web-shots}"
node web/tests/e2e.mjs "$CARGO_TARGET_DIR/release/host" "$work" "$shots"
echo "screenshots: $shots"

step "conformance: the browser host on every case"
SCOREKIT_CONFORMANCE_BROWSER=1 SCOREKIT_CONFORMANCE_HOSTS=native,browser \
    cargo test --locked --release -p scorekit-conformance --test conformance
