#!/usr/bin/env bash
# Runs every test scorekit has, installing what it needs first (the wasm32 target, apt packages for
# PostgreSQL 15, cargo-pgrx). This is what CI runs.
#   ./scripts/test-all.sh
# Builds go to $CARGO_TARGET_DIR (default ~/.cache/scorekit/target, outside the clone) so that
# repeated runs on one machine are incremental; a fresh machine builds everything from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scorekit/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
step() { printf '\n=== %s (%s)\n' "$1" "$(date +%H:%M:%S)"; }

step "toolchain"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
cargo --version

step "the committed guest is what guest/ and models/ build (scripts/build-guest.sh --check)"
# Builds without the wasm32 target (a fresh clone's first command) embed guest/prebuilt/.
scripts/build-guest.sh --check

step "PostgreSQL build prerequisites (apt packages, cargo-pgrx, pgrx init; skipped when present)"
# Before linting: the extension is a workspace member and builds against the server's headers.
sql-plugins/postgres/test.sh --prepare-only

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --release -- -D warnings

step "unit, property, golden, integration and conformance tests (optimised: scoring-heavy tests need it)"
cargo test --workspace --release --exclude scorekit

step "PostgreSQL extension: #[pg_test]s and end-to-end against a real PostgreSQL 15"
sql-plugins/postgres/test.sh

echo
echo "all test suites passed"
