#!/usr/bin/env bash
# Builds, installs and tests the scorekit MySQL/MariaDB plugin against Debian's MariaDB 10.11 on
# this machine, from a fresh machine if need be:
#   1. installs what is missing (mariadb-server, mariadb-client, python3);
#   2. builds the plugin, the demo modules (host demo + host compile) and the hostile test modules;
#   3. starts MariaDB itself: mariadb-install-db in a temp dir, mariadbd --no-defaults on a private
#      socket and a loopback port, its own plugin_dir;
#   4. installs the plugin with install.sh and runs tests/e2e.sh: the seed's statements through the
#      mariadb client, every score over the table compared with `host score` bit for bit, bad input
#      and hostile modules, KILL QUERY, streams across kill -9, forecasts, the conformance suite.
# Usage: sql-plugins/mysql/test.sh [--keep]   (--keep: leave the temp dir and the server log)
# Honours CARGO_TARGET_DIR (default ~/.cache/scorekit/target, shared with the workspace) and
# SCOREKIT_MYSQL_PORT (default 3399).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/scorekit/target}
KEEP=0
for a in "$@"; do
    case $a in
        --keep) KEEP=1 ;;
        *) echo "unknown option $a" >&2; exit 2 ;;
    esac
done

t0=$(date +%s)
step() { printf '\n== [%4ss] %s\n' $(( $(date +%s) - t0 )) "$*"; }
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo

step "system packages"
need=()
for p in mariadb-server mariadb-client python3; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    $SUDO apt-get update -qq
    # policy-rc.d keeps Debian from starting (and enabling) a system server on port 3306.
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
mariadbd --version

step "build: plugin, host binary, demo modules, test modules"
# The workspace's test build (a no-op right after scripts/test-all.sh's test step) gives the host
# binary, the module writer (examples are built by `cargo test`) and the plugin library (the
# examples link the crate, so its cdylib is built too, in deps/: cargo copies only a root target's
# cdylib up to release/). A `cargo build -p scorekit-mysql` would resolve other features and build
# wasmtime a second time (measured: ~6 min on 2 cores).
cargo test --workspace --release --exclude scorekit --no-run --quiet --manifest-path "$ROOT/Cargo.toml"
HOST="$CARGO_TARGET_DIR/release/host"
LIBRARY="$CARGO_TARGET_DIR/release/deps/libscorekit_mysql.so"
ls -l "$LIBRARY"

WORK=$(mktemp -d /tmp/scorekit-mysql.XXXXXX)
chmod 755 "$WORK"
MODULES="$WORK/models"
mkdir -p "$MODULES" "$WORK/plugin" "$WORK/state" "$WORK/demo"
"$HOST" demo --out "$WORK/demo" >/dev/null
for m in churn anomaly forecast; do
    "$HOST" compile "$WORK/demo/$m.model.json" -o "$MODULES/$m.wasm" >/dev/null
done
"$CARGO_TARGET_DIR/release/examples/test_modules" "$WORK/hostile" >/dev/null
cp "$WORK/hostile"/*.wasm "$MODULES/"
# A corrupt module: the churn module cut short.
head -c 4000 "$MODULES/churn.wasm" >"$MODULES/corrupt.wasm"
ls "$MODULES"

step "MariaDB in $WORK (socket $WORK/run/mysqld.sock, port ${SCOREKIT_MYSQL_PORT:-3399})"
export WORK HOST LIBRARY MODULES ROOT HERE
export PORT=${SCOREKIT_MYSQL_PORT:-3399}
if [ "$(id -u)" -eq 0 ]; then
    export AS_USER=mysql
    chown mysql: "$WORK/state"
else
    export AS_USER=
fi
status=0
bash "$HERE/tests/e2e.sh" || status=$?
if [ $KEEP -eq 0 ] && [ $status -eq 0 ]; then
    rm -rf "$WORK"
else
    echo "kept $WORK (server log: $WORK/run/error.log)"
fi
[ $status -eq 0 ] || exit $status
step "all passed"
