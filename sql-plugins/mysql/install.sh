#!/usr/bin/env bash
# Installs the scorekit plugin into a running MariaDB / MySQL server:
#   1. copies the library into the server's plugin_dir under a name holding its content hash
#      (libscorekit_mysql-<sha256:16>.so): a loaded library is never overwritten in place (that
#      crashes the server); installing the same build again changes nothing;
#   2. writes plugin_dir/scorekit.json when --model-dir is given (the plugin reads it once, at the
#      first call after a server start);
#   3. (re)creates every function with CREATE FUNCTION … RETURNS REAL|STRING SONAME '…' (only those
#      that point at another library or do not exist yet);
#   4. optionally creates typed stored functions from a model's schema (--typed), e.g. Aurora ML's
#      will_churn(...), with the SQL that scorekit_function_sql() generates.
#
# Usage: install.sh [options]
#   --client "CMD"        client command line (default: mariadb -u root), e.g. "mariadb -S /tmp/s.sock -u root"
#   --library PATH        the built library (default: $CARGO_TARGET_DIR/release/libscorekit_mysql.so)
#   --plugin-dir DIR      where to copy it (default: the server's @@plugin_dir)
#   --model-dir DIR       write scorekit.json with this model directory ...
#   --state-dir DIR       ... and this state directory (streams, their log, compiled code)
#   --config-json JSON    ... plus these settings (a JSON object merged into the file)
#   --typed DB NAME MODEL OPTIONS_JSON
#                         create stored function DB.NAME scoring MODEL (options: see docs/mysql.md)
# The plugin_dir must be writable by the user running this script (root, usually).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENT="mariadb -u root"
LIBRARY="${CARGO_TARGET_DIR:-$HOME/.cache/scorekit/target}/release/libscorekit_mysql.so"
PLUGIN_DIR=
MODEL_DIR=
STATE_DIR=
CONFIG_JSON='{}'
TYPED=()
while [ $# -gt 0 ]; do
    case $1 in
        --client) CLIENT=$2; shift 2 ;;
        --library) LIBRARY=$2; shift 2 ;;
        --plugin-dir) PLUGIN_DIR=$2; shift 2 ;;
        --model-dir) MODEL_DIR=$2; shift 2 ;;
        --state-dir) STATE_DIR=$2; shift 2 ;;
        --config-json) CONFIG_JSON=$2; shift 2 ;;
        --typed) TYPED+=("$2" "$3" "$4" "$5"); shift 5 ;;
        *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

sql() { $CLIENT -N -B -e "$1"; }

[ -f "$LIBRARY" ] || { echo "install.sh: no library at $LIBRARY (cargo build --release -p scorekit-mysql)" >&2; exit 1; }
[ -n "$PLUGIN_DIR" ] || PLUGIN_DIR=$(sql "SELECT @@plugin_dir")
PLUGIN_DIR=${PLUGIN_DIR%/}
hash=$(sha256sum "$LIBRARY" | cut -c1-16)
SONAME="libscorekit_mysql-$hash.so"
if [ -f "$PLUGIN_DIR/$SONAME" ] && cmp -s "$LIBRARY" "$PLUGIN_DIR/$SONAME"; then
    echo "library: $PLUGIN_DIR/$SONAME (already there)"
else
    # A new name for new content: copy to a temporary name, then rename (never a half-written
    # file under the real name).
    install -m 0644 "$LIBRARY" "$PLUGIN_DIR/.$SONAME.tmp"
    mv -f "$PLUGIN_DIR/.$SONAME.tmp" "$PLUGIN_DIR/$SONAME"
    echo "library: $PLUGIN_DIR/$SONAME"
fi

if [ -n "$MODEL_DIR" ]; then
    python3 - "$PLUGIN_DIR/scorekit.json" "$MODEL_DIR" "$STATE_DIR" "$CONFIG_JSON" <<'PY'
import json, os, sys
path, model_dir, state_dir, extra = sys.argv[1:5]
config = {"model_dir": model_dir}
if state_dir:
    config["state_dir"] = state_dir
config.update(json.loads(extra))
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
os.chmod(tmp, 0o644)
os.replace(tmp, path)
print(f"configuration: {path} (read at the first call after a server start)")
PY
fi

# name and return type of every function the library exports
FUNCTIONS="scorekit_score:REAL scorekit_score_json:REAL scorekit_label:STRING scorekit_explain:STRING
scorekit_explain_json:STRING scorekit_anomaly:REAL scorekit_anomaly_json:STRING scorekit_forecast:STRING
scorekit_models:STRING scorekit_schema:STRING scorekit_function_sql:STRING scorekit_version:STRING
scorekit_remote_stats:STRING"
created=0
for f in $FUNCTIONS; do
    name=${f%%:*}
    type=${f##*:}
    have=$(sql "SELECT dl FROM mysql.func WHERE name = '$name'")
    [ "$have" = "$SONAME" ] && continue
    [ -n "$have" ] && sql "DROP FUNCTION $name"
    sql "CREATE FUNCTION $name RETURNS $type SONAME '$SONAME'"
    created=$((created + 1))
done
echo "functions: $created created, $(sql "SELECT count(*) FROM mysql.func WHERE dl = '$SONAME'") served by $SONAME"

i=0
while [ $i -lt ${#TYPED[@]} ]; do
    db=${TYPED[$i]} name=${TYPED[$((i + 1))]} model=${TYPED[$((i + 2))]} options=${TYPED[$((i + 3))]}
    i=$((i + 4))
    ddl=$($CLIENT -N -B -r -D "$db" -e "SELECT scorekit_function_sql('$name', '$model', '${options//\'/\'\'}')")
    printf '%s\n' "$ddl" | $CLIENT -D "$db"
    echo "stored function: $db.$name (model $model)"
done
