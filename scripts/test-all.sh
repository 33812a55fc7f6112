#!/usr/bin/env bash
# Runs every test scorekit has, installing what it needs first (the wasm32 target, apt packages for
# PostgreSQL 15, MariaDB 10.11 and Chromium, cargo-pgrx, wasm-bindgen-cli, npm packages). This is
# what CI runs.
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

step "SageMaker test prerequisites (python3-boto3 for the boto3 client test; skipped when present)"
# host/cli/tests/sagemaker.rs drives boto3's invoke_endpoint (default retries) against host serve.
python3 -c 'import boto3' 2>/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-boto3; }

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --release -- -D warnings
# Again with the PostgreSQL extension's `remote` feature, so both of its builds are linted (the SDK
# is already checked for the `host` binary: features unify across the workspace; only the extension
# is checked again, seconds).
cargo clippy --workspace --all-targets --release --features scorekit/remote -- -D warnings

step "unit, property, golden, integration and conformance tests (optimised: scoring-heavy tests need it)"
# Includes the remote SageMaker tests: scorekit-host's `remote` test (fault-injecting stand-in) and
# host/cli/tests/sagemaker.rs (host serve as the remote), built with the workspace's features.
cargo test --workspace --release --exclude scorekit

step "browser host: web/dist freshness, end to end in headless Chromium, conformance on the browser (web/test.sh)"
# Installs Debian's chromium/node/npm, wasm-bindgen-cli 0.2.130 and web/node_modules when missing;
# reuses the release build above. About 7 min cold on 2 cores, 1.5 min warm.
web/test.sh

step "MySQL/MariaDB plugin: end-to-end against a real MariaDB 10.11 (apt mariadb-server when missing)"
# Its unit tests (the udf crate's mock) ran in the workspace step; this reuses that build.
sql-plugins/mysql/test.sh

# Last: the nested `cargo pgrx install` of its #[pg_test]s rebuilds ring (and what is above it) under
# other environment variables, so a workspace build after it would rebuild them once more.
step "PostgreSQL extension: #[pg_test]s and end-to-end against a real PostgreSQL 15"
sql-plugins/postgres/test.sh

echo
echo "all test suites passed"
