#!/usr/bin/env bash
# Builds, installs and tests the scorekit PostgreSQL extension against the Debian PostgreSQL 15
# on this machine, from a fresh machine if need be:
#   1. installs what is missing (apt packages, cargo-pgrx 0.18.1, `cargo pgrx init`);
#   2. builds the demo modules with the workspace's `host` binary (train + compile);
#   3. runs the #[pg_test]s (`cargo pgrx test`, as user postgres);
#   4. `cargo pgrx install --release` into the Debian PostgreSQL 15;
#   5. end-to-end (tests/e2e.sh): initdb in a temp dir, start the server on a private socket,
#      CREATE EXTENSION, load the modules, \copy the demo data, and compare every score with
#      `host score` (parity), plus bad-input cases.
# Usage: sql-plugins/postgres/test.sh [--skip-pg-test] [--skip-install]
# Honours CARGO_TARGET_DIR (one target dir for `host` and the extension).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PGRX_VERSION=0.18.1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SKIP_PG_TEST=0
SKIP_INSTALL=0
for a in "$@"; do
    case $a in
        --skip-pg-test) SKIP_PG_TEST=1 ;;
        --skip-install) SKIP_INSTALL=1 ;;
        *) echo "unknown option $a" >&2; exit 2 ;;
    esac
done

t0=$(date +%s)
step() { printf '\n== [%4ss] %s\n' $(( $(date +%s) - t0 )) "$*"; }
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo

step "system packages"
need=()
for p in postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR clang libclang-dev sudo pkg-config; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

step "cargo-pgrx $PGRX_VERSION"
if ! cargo pgrx --version 2>/dev/null | grep -q " $PGRX_VERSION\$"; then
    # Its own target dir: installing must not evict the project's build cache.
    CARGO_TARGET_DIR="$CARGO_TARGET_DIR/cargo-pgrx" cargo install cargo-pgrx --version "$PGRX_VERSION" --locked --force
fi
PGRX_HOME=${PGRX_HOME:-$HOME/.pgrx}
if ! grep -qs "^pg$PG_MAJOR = \"$PG_CONFIG\"" "$PGRX_HOME/config.toml"; then
    cargo pgrx init --pg$PG_MAJOR="$PG_CONFIG"
fi

step "demo modules (host demo + host compile)"
MODULES="$HERE/tests/modules"
mkdir -p "$MODULES"
cargo build --release -p host --manifest-path "$ROOT/Cargo.toml"
HOST="$CARGO_TARGET_DIR/release/host"
if [ ! -s "$MODULES/churn.wasm" ] || [ "$HOST" -nt "$MODULES/churn.wasm" ]; then
    rm -rf "$MODULES"/*.wasm "$MODULES/demo" "$MODULES/.demo"
    if "$HOST" compile --help >/dev/null 2>&1; then
        "$HOST" demo --out "$MODULES/demo" >/dev/null
        for m in churn anomaly forecast; do
            "$HOST" compile "$MODULES/demo/$m.model.json" -o "$MODULES/$m.wasm"
        done
    else
        # This `host` has no `compile` subcommand wired yet: `host serve --demo` trains the same
        # demo models (crate::demo::train_all) and compiles them into the models directory.
        "$HOST" serve --models "$MODULES" --demo --no-state --port $((20000 + RANDOM % 20000)) >"$MODULES/serve.log" 2>&1 &
        serve_pid=$!
        for _ in $(seq 1 600); do
            [ -s "$MODULES/churn.wasm" ] && [ -s "$MODULES/anomaly.wasm" ] && [ -s "$MODULES/forecast.wasm" ] && break
            kill -0 $serve_pid 2>/dev/null || { cat "$MODULES/serve.log"; exit 1; }
            sleep 1
        done
        sleep 1
        kill $serve_pid; wait $serve_pid 2>/dev/null || true
        ln -sfn .demo "$MODULES/demo"
    fi
fi
ls -l "$MODULES"/*.wasm

cd "$HERE"
if [ $SKIP_PG_TEST -eq 0 ]; then
    step "cargo pgrx test (#[pg_test])"
    PGTEST_DATA=$(mktemp -d /tmp/scorekit-pgtest.XXXXXX)
    chown postgres "$PGTEST_DATA"
    # The test cluster runs as postgres: it must be able to read the modules.
    chmod -R a+rX "$MODULES"
    SCOREKIT_PG_TEST_MODULES="$MODULES" cargo pgrx test --release pg$PG_MAJOR --runas postgres --pgdata "$PGTEST_DATA"
    rm -rf "$PGTEST_DATA"
fi

# Installed after the tests: `cargo pgrx test` installs its own (pg_test) build into the same
# PostgreSQL, and the end-to-end test must run the production build.
if [ $SKIP_INSTALL -eq 0 ]; then
    step "cargo pgrx install --release"
    cargo pgrx install --release --pg-config "$PG_CONFIG" ${SUDO:+--sudo} 2>&1 | tail -n 3
fi

step "end-to-end (tests/e2e.sh)"
HOST="$HOST" MODULES="$MODULES" ROOT="$ROOT" PG_MAJOR=$PG_MAJOR bash "$HERE/tests/e2e.sh"

step "all passed"
