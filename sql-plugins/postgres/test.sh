#!/usr/bin/env bash
# Builds, installs and tests the scorekit PostgreSQL extension against the Debian PostgreSQL 15
# on this machine, from a fresh machine if need be:
#   1. installs what is missing (apt packages, cargo-pgrx 0.18.1, `cargo pgrx init`);
#   2. builds the demo modules with the workspace's `host` binary (demo + compile);
#   3. runs the #[pg_test]s (`cargo pgrx test`, as user postgres), which builds the extension with
#      the `pg_test` feature and installs it into the Debian PostgreSQL 15;
#   4. end-to-end (tests/e2e.sh) against that installed extension: initdb in a temp dir, the
#      server on a private socket, CREATE EXTENSION, load the modules, \copy the demo data, and
#      compare every score with `host score` (parity), plus bad input, cancel and limits, remote
#      SageMaker endpoints with `host serve` as the remote (tests/remote.sh), the upgrade from the
#      previous release, and the conformance suite with this server as its PostgreSQL host.
# The `pg_test` build is the production code plus the `tests` schema; building it once serves
# both the #[pg_test]s and the end-to-end test (a second flavour would build wasmtime again).
# Usage: sql-plugins/postgres/test.sh [--prepare-only] [--skip-pg-test]
#   --prepare-only  step 1 only (scripts/test-all.sh runs it before linting the workspace)
#   --skip-pg-test  install the production build (`cargo pgrx install --release`) and run step 4
# Honours CARGO_TARGET_DIR (default ~/.cache/scorekit/target, shared with the workspace).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PGRX_VERSION=0.18.1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/scorekit/target}
# build.rs passes --no-gc-sections to the extension's link only; cargo-pgrx's RUSTFLAGS version of
# it would rebuild every dependency (wasmtime included) a second time.
export CARGO_PGRX_DISABLE_GC_SECTIONS_WORKAROUND=1
# `remote`: models backed by SageMaker endpoints (scorekit.policy_file), tested by tests/remote.sh.
FEATURES=remote
SKIP_PG_TEST=0
PREPARE_ONLY=0
for a in "$@"; do
    case $a in
        --skip-pg-test) SKIP_PG_TEST=1 ;;
        --prepare-only) PREPARE_ONLY=1 ;;
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
    # Its own target dir: installing must not evict the project's build cache. --debug: it only
    # drives cargo and writes SQL (install takes 2.0 s instead of 1.6 s) and builds in 3.3 min
    # instead of 7.2 on two cores.
    CARGO_TARGET_DIR="$CARGO_TARGET_DIR/cargo-pgrx" cargo install cargo-pgrx --version "$PGRX_VERSION" --locked --force --debug
fi
PGRX_HOME=${PGRX_HOME:-$HOME/.pgrx}
if ! grep -qs "^pg$PG_MAJOR = \"$PG_CONFIG\"" "$PGRX_HOME/config.toml"; then
    cargo pgrx init --pg$PG_MAJOR="$PG_CONFIG"
fi

[ $PREPARE_ONLY -eq 1 ] && exit 0

step "demo modules (host demo + host compile)"
MODULES="$HERE/tests/modules"
mkdir -p "$MODULES"
# Built exactly as scripts/test-all.sh's test step builds it (a no-op right after that step): a plain
# `cargo build -p host` resolves other features and would build wasmtime once more.
# The conformance suite's test binary is run by path in the end-to-end test: after `cargo pgrx
# test`, a `cargo test` of the workspace would rebuild ring and everything above it (the nested
# `cargo pgrx install` that pgrx-tests runs from inside the test binary sees the test process's
# CARGO_PKG_* variables, which ring's build script watches, and rebuilds it in place).
CONFORMANCE_BIN=$(cargo test --workspace --release --exclude scorekit --no-run --quiet --message-format=json \
    --manifest-path "$ROOT/Cargo.toml" | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "conformance" and m.get("executable"):
        print(m["executable"])')
export CONFORMANCE_BIN
HOST="$CARGO_TARGET_DIR/release/host"
if [ ! -s "$MODULES/stream_a_retrained.wasm" ] || [ "$HOST" -nt "$MODULES/churn.wasm" ]; then
    rm -rf "$MODULES"/*.wasm "$MODULES/demo" "$MODULES/fixtures"
    "$HOST" demo --out "$MODULES/demo" >/dev/null
    for m in churn anomaly forecast; do
        "$HOST" compile "$MODULES/demo/$m.model.json" -o "$MODULES/$m.wasm"
    done
    # Stream redeploys (#[pg_test] streams_follow_the_redeploy_policy): the conformance suite's RCF
    # fixture, the same trained model with other provenance (another module, same model_sha256),
    # and a retrained model.
    FIX="$ROOT/tests/conformance/models"
    mkdir -p "$MODULES/fixtures"
    python3 - "$FIX/anomaly.model.json" "$MODULES/fixtures/anomaly_rebuilt.model.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
a["provenance"].append(["rebuilt", "same trained model, another module"])
json.dump(a, open(sys.argv[2], "w"))
PY
    "$HOST" compile "$FIX/anomaly.model.json" -o "$MODULES/stream_a.wasm"
    "$HOST" compile "$MODULES/fixtures/anomaly_rebuilt.model.json" -o "$MODULES/stream_a_rebuilt.wasm"
    "$HOST" compile "$FIX/anomaly_retrained.model.json" -o "$MODULES/stream_a_retrained.wasm"
fi
ls -l "$MODULES"/*.wasm

cd "$HERE"
if [ $SKIP_PG_TEST -eq 0 ]; then
    step "cargo pgrx test (#[pg_test]; installs the pg_test build)"
    PGTEST_DATA=$(mktemp -d /tmp/scorekit-pgtest.XXXXXX)
    chown postgres "$PGTEST_DATA"
    # The test cluster runs as postgres: it must be able to read the modules.
    chmod -R a+rX "$MODULES"
    SCOREKIT_PG_TEST_MODULES="$MODULES" cargo pgrx test --release pg$PG_MAJOR --features "$FEATURES" --runas postgres --pgdata "$PGTEST_DATA"
    rm -rf "$PGTEST_DATA"
else
    step "cargo pgrx install --release"
    cargo pgrx install --release --features "$FEATURES" --pg-config "$PG_CONFIG" ${SUDO:+--sudo} 2>&1 | tail -n 3
fi

# The 0.1.0 install script, so that the end-to-end test can create the previous release and
# upgrade it (the upgrade script itself is installed by cargo pgrx from sql/).
$SUDO install -m 644 "$HERE/tests/upgrade/scorekit--0.1.0.sql" "$("$PG_CONFIG" --sharedir)/extension/"

step "end-to-end (tests/e2e.sh)"
HOST="$HOST" MODULES="$MODULES" ROOT="$ROOT" PG_MAJOR=$PG_MAJOR bash "$HERE/tests/e2e.sh"

step "all passed"
