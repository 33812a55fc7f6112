#!/usr/bin/env bash
# Benchmark of the scorekit MySQL/MariaDB plugin (not a test; docs/eval-mysql.md records a run).
# Starts its own MariaDB (sql-plugins/mysql/tests/server.sh: temp datadir, private socket, loopback
# port $PORT), installs the plugin built in $CARGO_TARGET_DIR, loads the demo churn table (5,000
# rows) and a 500,000-row copy, and prints Markdown tables:
#   * per-row cost of scoring over a table vs a trivial built-in expression over the same rows
#     (median of REPEATS runs in one session, results aggregated in the server: no rows sent);
#   * concurrent throughput: single-row scoring statements vs `SELECT 1 + 1` from 1, 2, 4 and 8
#     clients at once (see below why not mariadb-slap's own timing).
# Needs: sql-plugins/mysql/test.sh run once (the library, the host binary, the demo data).
#   bench/mysql/bench.sh [REPEATS]         (PORT=18299 by default; THROUGHPUT_ONLY=1: only the throughput table)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REPEATS=${1:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/scorekit/target}
HOST=$CARGO_TARGET_DIR/release/host
LIBRARY=${LIBRARY:-$CARGO_TARGET_DIR/release/deps/libscorekit_mysql.so}
DATA=$ROOT/data/demo
export PORT=${PORT:-18299}
WORK=$(mktemp -d /tmp/scorekit-mysql-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/models" "$WORK/plugin" "$WORK/state" "$WORK/demo"
if [ "$(id -u)" -eq 0 ]; then AS_USER=mysql; chown mysql: "$WORK/state"; else AS_USER=; fi
"$HOST" demo --out "$WORK/demo" >/dev/null
"$HOST" compile "$WORK/demo/churn.model.json" -o "$WORK/models/churn.wasm" >/dev/null
# shellcheck source=../../sql-plugins/mysql/tests/server.sh
source "$ROOT/sql-plugins/mysql/tests/server.sh"
trap 'stop_server; rm -rf "$WORK"' EXIT
start_server
$MYSQL -e "CREATE DATABASE bench"
sql() { $MYSQL -N -B -D bench -e "$1"; }
bash "$ROOT/sql-plugins/mysql/install.sh" --client "$MYSQL" --library "$LIBRARY" --plugin-dir "$WORK/plugin" \
    --model-dir "$WORK/models" --state-dir "$WORK/state" >/dev/null

# The seed's table and data (as tests/e2e.sh loads it), the seed's will_churn, a 500,000-row copy.
python3 - "$DATA/churn.csv" "$WORK/churn.txt" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
with open(sys.argv[2], "w") as f:
    f.write("header\n")
    for i, r in enumerate(rows):
        f.write(",".join([r["state"], r["account_length"], r["area_code"].removeprefix("area_code_"), "%03d-%04d" % (100 + i // 10000, i % 10000),
                          r["international_plan"], r["voice_mail_plan"], r["number_vmail_messages"], r["total_day_minutes"],
                          r["total_day_calls"], r["total_day_charge"], r["total_eve_minutes"], r["total_eve_calls"], r["total_eve_charge"],
                          r["total_night_minutes"], r["total_night_calls"], r["total_night_charge"], r["total_intl_minutes"],
                          r["total_intl_calls"], r["total_intl_charge"], r["number_customer_service_calls"],
                          "True." if r["churn"] == "yes" else "False."]) + "\n")
PY
(cd "$WORK" && $MYSQL --local-infile=1 -D bench <"$ROOT/sql-plugins/mysql/examples/seed.sql")
bash "$ROOT/sql-plugins/mysql/install.sh" --client "$MYSQL" --library "$LIBRARY" --plugin-dir "$WORK/plugin" \
    --typed bench will_churn churn "$(cat "$ROOT/sql-plugins/mysql/examples/will_churn.json")" >/dev/null
sql "CREATE TABLE churn500k ENGINE=InnoDB AS SELECT c.* FROM churn c, (SELECT seq FROM seq_1_to_100) g"
sql "ANALYZE TABLE churn, churn500k" >/dev/null

cols="c.state, c.acc_length, CONCAT('area_code_', c.area_code), c.int_plan, c.vmail_plan, c.vmail_msg, c.day_mins, c.day_calls, c.day_charge, c.eve_mins, c.eve_calls, c.eve_charge, c.night_mins, c.night_calls, c.night_charge, c.intl_mins, c.intl_calls, c.intl_charge, c.cust_service_calls"
aurora="c.state, c.acc_length, c.area_code, c.phone, c.int_plan, c.vmail_plan, c.vmail_msg, c.day_mins, c.day_calls, c.day_charge, c.eve_mins, c.eve_calls, c.eve_charge, c.night_mins, c.night_calls, c.night_charge, c.intl_mins, c.intl_calls, c.intl_charge, c.cust_service_calls"
# The trivial peer: a built-in expression over the same 20 columns' rows (the CONCAT the score also
# pays for included), aggregated the same way.
trivial="(c.day_mins + 10 * c.cust_service_calls > 300) + (CONCAT('area_code_', c.area_code) = 'area_code_415')"

# Median wall time (µs) of STATEMENT over REPEATS runs in one session, after one warm-up run.
time_us() {
    { for _ in $(seq 0 "$REPEATS"); do echo "SET @t = NOW(6); $1; SELECT TIMESTAMPDIFF(MICROSECOND, @t, NOW(6));"; done; } \
        | $MYSQL -N -B -D bench | tail -n +2 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
declare -A base
row() { # label, table, rows, expression
    local us; us=$(time_us "SELECT sum($4) INTO @x FROM $2 c")
    [ "$1" = "built-in expression" ] && base[$2]=$us
    printf '| %s | %s | %d | %.1f | %.3f | %.1f |\n' "$1" "$2" "$3" "$(echo "$us / 1000" | bc -l)" \
        "$(echo "$us / $3" | bc -l)" "$(echo "$us / ${base[$2]}" | bc -l)"
}
echo "MariaDB $(sql 'SELECT VERSION()'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), repeats $REPEATS (median)"
echo
echo "| statement | table | rows | ms | µs/row | × built-in |"
echo "|---|---|---|---|---|---|"
tables="churn:5000 churn500k:500000"
[ -n "${THROUGHPUT_ONLY:-}" ] && tables=
for t in $tables; do
    table=${t%%:*} n=${t##*:}
    row "built-in expression" "$table" "$n" "$trivial"
    row "scorekit_score (19 inputs)" "$table" "$n" "scorekit_score('churn', $cols)"
    row "scorekit_label (19 inputs)" "$table" "$n" "scorekit_label('churn', 0.5, $cols) = 'True.'"
    row "will_churn (stored function, 20 args)" "$table" "$n" "will_churn($aurora) = 'True.'"
done

seed="'IN',65,'area_code_415','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4"
# Concurrent throughput: C clients at once, each sending N single-row statements in one session
# (the mariadb client reading a file), timed from outside. (mariadb-slap was tried first: its
# "seconds to run all queries" has a floor of ~1 s here — 1, 2,000 and 20,000 statements per client
# all reported 1.01 s — so it cannot time these.)
N=${N:-10000}
qps() { # clients, statement → statements per second over all clients
    local i t0 pids=()
    for _ in $(seq 1 "$N"); do echo "$2;"; done >"$WORK/q.sql"
    t0=$(date +%s%N)
    for i in $(seq 1 "$1"); do $MYSQL -N -B -D bench <"$WORK/q.sql" >/dev/null & pids+=($!); done
    wait "${pids[@]}"
    echo "$1 * $N * 1000000000 / ($(date +%s%N) - $t0)" | bc -l
}
echo
echo "$N statements per client"
echo
echo "| clients | SELECT 1 + 1 /s | single-row scorekit_score /s | of SELECT 1 + 1 | single-row will_churn /s | of SELECT 1 + 1 |"
echo "|---|---|---|---|---|---|"
for c in 1 2 4 8; do
    a=$(qps "$c" "SELECT 1 + 1")
    b=$(qps "$c" "SELECT scorekit_score('churn', $seed)")
    w=$(qps "$c" "SELECT will_churn('IN',65,415,'329-6603','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)")
    printf '| %d | %.0f | %.0f | %.2f | %.0f | %.2f |\n' "$c" "$a" "$b" "$(echo "$b / $a" | bc -l)" "$w" "$(echo "$w / $a" | bc -l)"
done
