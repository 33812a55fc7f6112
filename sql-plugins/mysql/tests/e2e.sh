#!/usr/bin/env bash
# End-to-end test of the scorekit plugin in a real MariaDB server started here (mariadb-install-db
# in $WORK/data, mariadbd --no-defaults on $WORK/mysqld.sock and 127.0.0.1:$PORT, plugin_dir
# $WORK/plugin). Every score is compared with `host score` on the same rows, bit for bit. Called by
# ../test.sh, which sets WORK, HOST, LIBRARY, MODULES (the .wasm files, hostile ones included),
# ROOT, HERE, PORT and AS_USER (the OS user of the server, or empty).
set -euo pipefail
: "${WORK:?}" "${HOST:?}" "${LIBRARY:?}" "${MODULES:?}" "${ROOT:?}" "${HERE:?}" "${PORT:?}"
DATA=$ROOT/data/demo
CMP="python3 $ROOT/sql-plugins/postgres/tests/compare.py"
DB=scorekit_demo

# --- the server (tests/server.sh: install-db, start, stop, kill -9) ---------------------------------
# Fixed test credentials: the server signs its requests to the test endpoints (tests/remote.sh)
# with them, through the AWS SDK's standard chain (no instance metadata here).
export AWS_ACCESS_KEY_ID=AKIDSCOREKITTEST AWS_SECRET_ACCESS_KEY=scorekit-test-secret AWS_EC2_METADATA_DISABLED=true
# shellcheck source=server.sh
source "$HERE/tests/server.sh"
# shellcheck source=remote.sh
source "$HERE/tests/remote.sh"
# shellcheck disable=SC2086 # a list of pids (the stand-in endpoints)
trap 'stop_server; [ -z "${REMOTE_PIDS:-}" ] || kill $REMOTE_PIDS 2>/dev/null || true' EXIT
remote_start
start_server

sql() { $MYSQL -N -B -D "$DB" -e "$1"; }
fails=0
expect_eq() { # name, expected, actual
    if [ "$2" == "$3" ]; then echo "ok   $1: $3" | cut -c1-200; else echo "FAIL $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
expect_error() { # SQL, substring the error must contain [, error number]
    local out
    if out=$($MYSQL -N -B -D "$DB" -e "$1" 2>&1); then
        echo "FAIL expected an error containing '$2' from: ${1:0:200} (got: ${out:0:300})"; fails=$((fails + 1))
    elif [[ "$out" != *"$2"* ]]; then
        echo "FAIL expected '$2' in the error of: ${1:0:200}"; echo "     got: $out"; fails=$((fails + 1))
    elif [ -n "${3:-}" ] && ! grep -q "^ERROR $3 " <<<"$out"; then
        echo "FAIL expected ERROR $3 from: ${1:0:200}"; echo "     got: $out"; fails=$((fails + 1))
    else
        echo "ok   error: $(grep -m1 '^ERROR' <<<"$out" || echo "$out")" | cut -c1-220
    fi
}
alive() { # the same server process still answers, and still scores
    local pid
    pid=$(cat "$RUN/mysqld.pid" 2>/dev/null || echo gone)
    expect_eq "server still up (same process) after $1" "$SERVER_PID 1" "$pid $(sql 'SELECT 1' 2>&1)"
    expect_eq "another session scores after $1" "$seed_prob" "$(sql "SELECT scorekit_score('churn', $seed_inputs)" 2>&1)"
}

echo "-- $(sql 'SELECT VERSION()' 2>/dev/null || $MYSQL -N -B -e 'SELECT VERSION()'), thread_stack $($MYSQL -N -B -e 'SELECT @@thread_stack')"
$MYSQL -e "CREATE DATABASE $DB"

# --- install -------------------------------------------------------------------------------------------
config="{\"deadline_ms\": 20000, \"memory_limit_mb\": 64, \"flush_seconds\": 3600, \"policy_file\": \"$WORK/policy.toml\"}"
bash "$HERE/install.sh" --client "$MYSQL" --library "$LIBRARY" --plugin-dir "$WORK/plugin" \
    --model-dir "$MODULES" --state-dir "$WORK/state" --config-json "$config"
expect_eq "13 functions" 13 "$(sql "SELECT count(*) FROM mysql.func WHERE dl LIKE 'libscorekit_mysql-%'")"
soname=$(sql "SELECT dl FROM mysql.func WHERE name = 'scorekit_score'")
again=$(bash "$HERE/install.sh" --client "$MYSQL" --library "$LIBRARY" --plugin-dir "$WORK/plugin" | tail -1)
expect_eq "installing the same build again changes nothing" "functions: 0 created, 13 served by $soname" "$again"
version=$(sql "SELECT scorekit_version()")
expect_eq "server facts" '"kill_query":true,"server":"MariaDB","statement_errors":true' \
    "$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(json.dumps({k: d[k] for k in ('kill_query','server','statement_errors')}, separators=(',',':'))[1:-1])" "$version")"
models=$(sql "SELECT scorekit_models()")
expect_eq "models listed (hostile ones too, refused ones with their error)" \
    "abi2:error anomaly:rcf churn:gbt corrupt:error deep:gbt forecast:forecast hog:gbt imports:error spin:gbt trap:gbt" \
    "$(python3 -c "import json,sys; print(' '.join(m['name'] + ':' + (m.get('family') or ('error' if 'error' in m else '?')) for m in json.loads(sys.argv[1])))" "$models")"
expect_eq "schema: the module's hash" "$(sha256sum "$MODULES/churn.wasm" | cut -c1-64)" \
    "$(sql "SELECT JSON_VALUE(scorekit_schema('churn'), '$.sha256')")"

# --- the seed: the table, LOAD DATA LOCAL INFILE, the generated will_churn, the two queries ------------
# churn.txt: the demo data in the Aurora example's form (area code as a number, a phone number,
# the label True./False.); phone numbers increase with the row, so ORDER BY phone is file order.
python3 - "$DATA/churn.csv" "$WORK/churn.txt" <<'PY'
import csv, sys
src, dst = sys.argv[1:3]
rows = list(csv.DictReader(open(src)))
cols = ["state", "acc_length", "area_code", "phone", "int_plan", "vmail_plan", "vmail_msg", "day_mins", "day_calls",
        "day_charge", "eve_mins", "eve_calls", "eve_charge", "night_mins", "night_calls", "night_charge", "intl_mins",
        "intl_calls", "intl_charge", "cust_service_calls", "churn"]
with open(dst, "w") as f:
    f.write(",".join(cols) + "\n")
    for i, r in enumerate(rows):
        out = [r["state"], r["account_length"], r["area_code"].removeprefix("area_code_"), "%03d-%04d" % (100 + i // 10000, i % 10000),
               r["international_plan"], r["voice_mail_plan"], r["number_vmail_messages"], r["total_day_minutes"],
               r["total_day_calls"], r["total_day_charge"], r["total_eve_minutes"], r["total_eve_calls"], r["total_eve_charge"],
               r["total_night_minutes"], r["total_night_calls"], r["total_night_charge"], r["total_intl_minutes"],
               r["total_intl_calls"], r["total_intl_charge"], r["number_customer_service_calls"],
               "True." if r["churn"] == "yes" else "False."]
        f.write(",".join(out) + "\n")
PY
(cd "$WORK" && $MYSQL --local-infile=1 -D "$DB" <"$HERE/examples/seed.sql")
expect_eq "churn rows loaded" 5000 "$(sql 'SELECT count(*) FROM churn')"
bash "$HERE/install.sh" --client "$MYSQL" --library "$LIBRARY" --plugin-dir "$WORK/plugin" \
    --typed "$DB" will_churn churn "$(cat "$HERE/examples/will_churn.json")" | tail -1
expect_eq "will_churn's signature" \
    "\`state\` varchar(2048),\`acc_length\` bigint(20),\`area_code\` bigint(20),\`phone\` varchar(1000),\`int_plan\` varchar(2048)" \
    "$(sql "SELECT param_list FROM mysql.proc WHERE db = '$DB' AND name = 'will_churn'" | tr -d '\n ' | cut -d, -f1-5 | sed 's/varchar(/ varchar(/g; s/bigint(/ bigint(/g')"

header=$(head -1 "$DATA/churn.csv")
{ echo "$header"; echo "IN,65,area_code_415,no,no,0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4,no"; } >"$WORK/seed.csv"
"$HOST" score --deadline-ms 60000 "$MODULES/churn.wasm" --input "$WORK/seed.csv" >"$WORK/host_seed.csv"
seed_prob=$(python3 -c "import csv; print(list(csv.DictReader(open('$WORK/host_seed.csv')))[0]['probability'])")
seed_label=$(python3 -c "print('True.' if $seed_prob > 0.5 else 'False.')")
seed_inputs="'IN',65,'area_code_415','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4"
(cd "$WORK" && $MYSQL -D "$DB" --table <"$HERE/examples/seed_queries.sql") | tee "$WORK/seed_out.txt"
expect_eq "the seed's single-row statement" "$seed_label" "$(sed -n 4p "$WORK/seed_out.txt" | tr -d '| ')"
expect_eq "the seed's query over the table: 5 rows" 5 "$(grep -cE '^\| [A-Z]{2} +\| ' "$WORK/seed_out.txt")"
expect_eq "score of the seed row" "$seed_prob" "$(sql "SELECT scorekit_score('churn', $seed_inputs)")"

# --- parity over the whole table ------------------------------------------------------------------------
"$HOST" score --deadline-ms 60000 "$MODULES/churn.wasm" --input "$DATA/churn.csv" >"$WORK/host_churn.csv"
cols="c.state, c.acc_length, CONCAT('area_code_', c.area_code), c.int_plan, c.vmail_plan, c.vmail_msg, c.day_mins, c.day_calls, c.day_charge, c.eve_mins, c.eve_calls, c.eve_charge, c.night_mins, c.night_calls, c.night_charge, c.intl_mins, c.intl_calls, c.intl_charge, c.cust_service_calls"
aurora="c.state, c.acc_length, c.area_code, c.phone, c.int_plan, c.vmail_plan, c.vmail_msg, c.day_mins, c.day_calls, c.day_charge, c.eve_mins, c.eve_calls, c.eve_charge, c.night_mins, c.night_calls, c.night_charge, c.intl_mins, c.intl_calls, c.intl_charge, c.cust_service_calls"
named="JSON_OBJECT('state', c.state, 'account_length', c.acc_length, 'area_code', CONCAT('area_code_', c.area_code), 'international_plan', c.int_plan, 'voice_mail_plan', c.vmail_plan, 'number_vmail_messages', c.vmail_msg, 'total_day_minutes', c.day_mins, 'total_day_calls', c.day_calls, 'total_day_charge', c.day_charge, 'total_eve_minutes', c.eve_mins, 'total_eve_calls', c.eve_calls, 'total_eve_charge', c.eve_charge, 'total_night_minutes', c.night_mins, 'total_night_calls', c.night_calls, 'total_night_charge', c.night_charge, 'total_intl_minutes', c.intl_mins, 'total_intl_calls', c.intl_calls, 'total_intl_charge', c.intl_charge, 'number_customer_service_calls', c.cust_service_calls, 'phone', c.phone)"
sql "SELECT scorekit_score('churn', $cols) FROM churn c ORDER BY c.phone" >"$WORK/my_score.csv"
sql "SELECT scorekit_score_json('churn', $named) FROM churn c ORDER BY c.phone" >"$WORK/my_json.csv"
sql "SELECT will_churn($aurora) FROM churn c ORDER BY c.phone" >"$WORK/my_label.csv"
$CMP "churn scorekit_score over the table" "$WORK/host_churn.csv" probability "$WORK/my_score.csv" 0 || fails=$((fails + 1))
$CMP "churn scorekit_score_json (JSON_OBJECT by name)" "$WORK/host_churn.csv" probability "$WORK/my_json.csv" 0 || fails=$((fails + 1))
$CMP "churn will_churn labels" "$WORK/host_churn.csv" probability "$WORK/my_label.csv" 0 --label 0.5 True. False. || fails=$((fails + 1))
# Four sessions at once, each over the whole table: every answer the same as alone.
# (`wait` on the sessions' pids: the server is a background job of this shell too.)
pids=()
for i in 1 2 3 4; do sql "SELECT scorekit_score('churn', $cols) FROM churn c ORDER BY c.phone" >"$WORK/my_par$i.csv" & pids+=($!); done
wait "${pids[@]}"
for i in 1 2 3 4; do $CMP "churn, session $i of 4 concurrent" "$WORK/host_churn.csv" probability "$WORK/my_par$i.csv" 0 || fails=$((fails + 1)); done

# --- explain: terms named as the host layer names them, summing to the margin ------------------------------
ex=$(sql "SELECT scorekit_explain('churn', $seed_inputs)")
expect_eq "explain terms" "state account_length area_code international_plan voice_mail_plan number_vmail_messages total_day_minutes total_day_calls total_day_charge total_eve_minutes total_eve_calls total_eve_charge total_night_minutes total_night_calls total_night_charge total_intl_minutes total_intl_calls total_intl_charge number_customer_service_calls bias" \
    "$(python3 -c "import json,sys; print(' '.join(json.loads(sys.argv[1])))" "$ex")"
expect_eq "explain sums to the margin" True "$(python3 -c "import json,math,sys; s=sum(json.loads(sys.argv[1]).values()); print(abs(1/(1+math.exp(-s)) - $seed_prob) < 1e-9)" "$ex")"
expect_eq "explain by name = explain by position" "$ex" "$(sql "SELECT scorekit_explain_json('churn', JSON_ARRAY($seed_inputs))")"

# --- NULL: a missing value by default (as an empty CSV field for host score); refused on request ------------
null_inputs="'IN',65,'area_code_415','no','no',NULL,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4"
{ echo "$header"; echo "IN,65,area_code_415,no,no,,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4,no"; } >"$WORK/null.csv"
"$HOST" score --deadline-ms 60000 "$MODULES/churn.wasm" --input "$WORK/null.csv" >"$WORK/host_null.csv"
sql "SELECT scorekit_score('churn', $null_inputs)" >"$WORK/my_null.csv"
$CMP "NULL argument = missing value (the default)" "$WORK/host_null.csv" probability "$WORK/my_null.csv" 0 || fails=$((fails + 1))
expect_error "SELECT scorekit_score_json('churn', JSON_ARRAY($null_inputs), '{\"null_inputs\": \"error\"}')" \
    "scorekit: model 'churn': row 1, column 'number_vmail_messages': value is null (the null-input policy is 'error'" 1210

# --- bad input: the statement fails with a clear message, the server keeps serving ------------------------
# Found in _init: the full text with the kind's number (the server's own 1123 "Can't initialize
# function" would cut it at 80 characters; it follows as a second condition).
expect_error "SELECT scorekit_score('churn', 'IN', 65)" \
    "scorekit: model 'churn': takes 19 inputs from argument 2 on (state, account_length" 1210
# A constant expression is a constant model argument.
expect_eq "a constant expression names the model" "$seed_prob" "$(sql "SELECT scorekit_score(CONCAT('ch', 'urn'), $seed_inputs) FROM churn LIMIT 1")"
expect_error "SELECT scorekit_score(c.state, $seed_inputs) FROM churn c LIMIT 1" "argument 1 (model) must be a constant string"
expect_error "SELECT scorekit_score('churn', 'IN','abc','area_code_415','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)" \
    "scorekit: model 'churn': row 1, column 'account_length': expected a number, got 'abc'" 1210
expect_error "SELECT scorekit_score('churn', 'XX',65,'area_code_415','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)" \
    "row 1, column 'state': unknown category 'XX'" 1210
# A bad row in the middle of a table fails the statement (rows before it were fine).
expect_error "SELECT scorekit_score('churn', IF(c.phone = '100-2999', 'XX', c.state), c.acc_length, CONCAT('area_code_', c.area_code), c.int_plan, c.vmail_plan, c.vmail_msg, c.day_mins, c.day_calls, c.day_charge, c.eve_mins, c.eve_calls, c.eve_charge, c.night_mins, c.night_calls, c.night_charge, c.intl_mins, c.intl_calls, c.intl_charge, c.cust_service_calls) FROM churn c ORDER BY c.phone" \
    "column 'state': unknown category 'XX'" 1210
expect_error "SELECT will_churn('IN',65,999,'329-6603','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)" \
    "column 'area_code': unknown category 'area_code_999'"
expect_error "SELECT scorekit_score_json('churn', '{\"state\": \"IN\"}')" "row 1: input 'account_length' is missing (model 'churn' takes: state, account_length"
expect_error "SELECT scorekit_score_json('churn', '[1, 2')" "malformed JSON"
expect_error "SELECT scorekit_score('nope', 1)" "unknown model 'nope': no nope.wasm or nope@N.wasm in $MODULES (models: abi2, anomaly, churn"
expect_error "SELECT scorekit_score('../etc/passwd', 1)" "'../etc/passwd' is not a model name"
expect_error "SELECT scorekit_score('churn@7', 1)" "model 'churn' has no version 7"
expect_error "SELECT scorekit_score('churn@sha256:$(printf '0%.0s' $(seq 64))', 1)" "no module of model 'churn'"
expect_error "SELECT scorekit_score('corrupt', 1)" "scorekit: model 'corrupt': $MODULES/corrupt.wasm: "
expect_error "SELECT scorekit_score('imports', 1)" "import"
expect_error "SELECT scorekit_score('abi2', 1)" "ABI"
expect_error "SELECT scorekit_forecast('churn', '1,2,3')" "model 'churn': is a gbt model: scorekit_forecast needs a forecast model"
expect_error "SELECT scorekit_anomaly('churn', 'k', $seed_inputs)" "is a gbt model: anomaly streams need an rcf model"
expect_error "SELECT scorekit_label('churn', c.day_mins, $seed_inputs) FROM churn c LIMIT 1" "argument 2 (threshold) must be a constant number"
ln -s /etc/hostname "$MODULES/outside.wasm"
expect_error "SELECT scorekit_score('outside', 1)" "points outside the model directory"
rm "$MODULES/outside.wasm"
alive "bad input"

# --- hostile modules: each fails its statement, the server stays up ------------------------------------------
expect_error "SELECT scorekit_score('trap', 1)" "scorekit: model 'trap': " 1105
alive "a trapping module"
expect_error "SELECT scorekit_score('hog', 1)" "memory" 1226
alive "a module growing its memory without end"
# Recursion without end: wasmtime stops it at 512 KiB of stack, more than a MariaDB thread has
# (thread_stack 292 KiB); the call runs on a stack of its own, so this is a trap, not a crash.
expect_error "SELECT scorekit_score('deep', 1)" "scorekit: model 'deep': " 1105
alive "a module recursing without end"
# KILL QUERY reaches a running call (deadline 20 s here): it stops within a tick.
$MYSQL -N -B -D "$DB" -e "SELECT 'spin', scorekit_score('spin', 1)" >"$WORK/spin.out" 2>&1 &
spinner=$!
sleep 1
conn=$(sql "SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT ''spin''%' AND id <> CONNECTION_ID()")
t1=$(date +%s%N)
sql "KILL QUERY $conn"
wait $spinner || true
ms=$(( ($(date +%s%N) - t1) / 1000000 ))
expect_eq "KILL QUERY stops a spinning module (in ${ms} ms, < 2000)" "yes: ERROR 1317 (70100) at line 1: Query execution was interrupted" \
    "$([ $ms -lt 2000 ] && echo yes): $(cat "$WORK/spin.out")"
t1=$(date +%s%N)
expect_error "SET STATEMENT max_statement_time = 1 FOR SELECT scorekit_score('spin', 1)" "max_statement_time exceeded" 1969
ms=$(( ($(date +%s%N) - t1) / 1000000 ))
expect_eq "max_statement_time stops it too (in ${ms} ms, < 2500)" yes "$([ $ms -lt 2500 ] && echo yes)"
alive "killed spinning modules"

# --- remote SageMaker endpoints (policy_file) -------------------------------------------------------------
remote_checks

# --- anomaly streams: a trigger scores each reading; the stream survives kill -9 ------------------------------
sql "CREATE TABLE temps (id int AUTO_INCREMENT PRIMARY KEY, ts datetime, value double)"
(cd "$DATA" && $MYSQL --local-infile=1 -D "$DB" -e "LOAD DATA LOCAL INFILE 'machine_temperature.csv' INTO TABLE temps COLUMNS TERMINATED BY ',' IGNORE 1 LINES (ts, value)")
"$HOST" score --deadline-ms 60000 "$MODULES/anomaly.wasm" --input "$DATA/machine_temperature.csv" >"$WORK/host_anomaly.csv"
sql "CREATE TABLE readings (sensor varchar(64), ts datetime, value double, score double)"
sql "CREATE TRIGGER readings_score BEFORE INSERT ON readings FOR EACH ROW SET NEW.score = scorekit_anomaly('anomaly', NEW.sensor, NEW.value)"
sql "INSERT INTO readings (sensor, ts, value) SELECT 'm1', ts, value FROM temps WHERE id <= 600 ORDER BY id"
# Every reading was logged before its INSERT returned: kill -9 loses none of them.
crash_server
start_server
sql "INSERT INTO readings (sensor, ts, value) SELECT 'm1', ts, value FROM temps WHERE id > 600 AND id <= 1200 ORDER BY id"
grep -q "stream log of $WORK/state: .* 1 streams recovered" "$RUN/error.log" \
    && echo "ok   the stream log was replayed after kill -9: $(grep -o 'stream log of .*' "$RUN/error.log" | tail -1)" \
    || { echo "FAIL no stream recovery in the error log"; fails=$((fails + 1)); }
sql "SELECT score FROM readings WHERE sensor = 'm1' ORDER BY ts" >"$WORK/my_trigger.csv"
head -1201 "$WORK/host_anomaly.csv" >"$WORK/host_anomaly1200.csv"
$CMP "anomaly stream in a trigger, across kill -9 (1200 readings)" "$WORK/host_anomaly1200.csv" score "$WORK/my_trigger.csv" 0 || fails=$((fails + 1))
# A graceful restart too: the next reading continues the stream.
stop_server
start_server
sql "SELECT scorekit_anomaly('anomaly', 'm1', value) FROM temps WHERE id = 1201" >"$WORK/my_1201.csv"
sed -n '1p;1202p' "$WORK/host_anomaly.csv" >"$WORK/host_1201.csv"
$CMP "reading 1201 after a restart" "$WORK/host_1201.csv" score "$WORK/my_1201.csv" 0 || fails=$((fails + 1))
# Many readings in one step (JSON), checked whole: a bad one learns none.
step=$(sql "SELECT scorekit_anomaly_json('anomaly', 'batch', JSON_ARRAYAGG(JSON_ARRAY(value)), '{\"explain\": true}') FROM (SELECT value FROM temps WHERE id <= 300 ORDER BY id) t")
python3 -c "import json,sys; d=json.loads(sys.argv[1]); print('score'); [print(r['score']) for r in d['results']]" "$step" >"$WORK/my_batch.csv"
head -301 "$WORK/host_anomaly.csv" >"$WORK/host_anomaly300.csv"
$CMP "anomaly_json: 300 readings in one step" "$WORK/host_anomaly300.csv" score "$WORK/my_batch.csv" score --header-actual || fails=$((fails + 1))
expect_eq "anomaly_json: readings, durable, contribution terms" "300 True value,total" \
    "$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['readings'], d['durable'], ','.join(d['results'][0]['contributions']))" "$step")"
expect_error "SELECT scorekit_anomaly_json('anomaly', 'batch', '[[1.0], [null], [2.0]]')" "row 2"
expect_eq "a refused batch learned nothing" 301 \
    "$(sql "SELECT JSON_VALUE(scorekit_anomaly_json('anomaly', 'batch', '[[70.0]]'), '$.readings')")"
# Many connections at once on the stream book: 8 sessions, each its own stream over the same 300
# readings (each must equal host score's stream bit for bit), and 8 more feeding one shared stream
# (steps are serialised per stream: every reading is counted once, none lost or doubled).
pids=()
for i in $(seq 1 8); do
    sql "SELECT scorekit_anomaly('anomaly', 'own-$i', value) FROM temps WHERE id <= 300 ORDER BY id" >"$WORK/my_own$i.csv" &
    pids+=($!)
    sql "SELECT count(scorekit_anomaly('anomaly', 'shared', value)) FROM temps WHERE id <= 250" >"$WORK/my_shared$i.csv" &
    pids+=($!)
done
wait "${pids[@]}"
for i in $(seq 1 8); do
    $CMP "own stream $i of 8, 16 sessions at once" "$WORK/host_anomaly300.csv" score "$WORK/my_own$i.csv" 0 || fails=$((fails + 1))
done
expect_eq "one stream fed by 8 sessions at once: every reading learned once" "2000 2001" \
    "$(awk '{s += $1} END {print s}' "$WORK"/my_shared*.csv) $(sql "SELECT JSON_VALUE(scorekit_anomaly_json('anomaly', 'shared', '[[70.0]]'), '$.readings')")"
alive "16 sessions streaming at once"

# --- forecast: GROUP_CONCAT or JSON_ARRAYAGG histories, timestamps and the gap rule -----------------------------
sql "CREATE TABLE elec (ts datetime, demand_mw double)"
tr -d 'TZ' <"$DATA/electricity_hourly.csv" | sed 's/^\([0-9-]*\)\([0-9][0-9]:\)/\1 \2/' >"$WORK/elec.csv"
(cd "$WORK" && $MYSQL --local-infile=1 -D "$DB" -e "LOAD DATA LOCAL INFILE 'elec.csv' INTO TABLE elec COLUMNS TERMINATED BY ',' IGNORE 1 LINES (ts, demand_mw)")
"$HOST" score --deadline-ms 60000 "$MODULES/forecast.wasm" --input "$DATA/electricity_hourly.csv" --timestamp-column timestamp >"$WORK/host_fc.csv"
h=$(($(wc -l <"$WORK/host_fc.csv") - 1))
fc_config="{\"prediction_length\": $h, \"quantiles\": [\"0.1\", \"0.5\", \"0.9\"]}"
to_csv() { python3 -c "
import json, sys
d = json.loads(sys.stdin.read())
print('step,mean,q0.1,q0.5,q0.9')
for i, m in enumerate(d['mean']):
    print(','.join([str(i + 1), repr(m)] + [repr(d['quantiles'][q][i]) for q in ('0.1', '0.5', '0.9')]))"; }
sql "SELECT scorekit_forecast('forecast', GROUP_CONCAT(demand_mw ORDER BY ts), GROUP_CONCAT(ts ORDER BY ts), '$fc_config') FROM elec" | to_csv >"$WORK/my_fc.csv"
sql "SELECT scorekit_forecast('forecast', JSON_ARRAYAGG(demand_mw ORDER BY ts), NULL, JSON_SET('$fc_config', '$.start', '2014-01-01 00:00:00')) FROM elec" 2>&1 | to_csv >"$WORK/my_fc_json.csv" || true
for q in mean q0.1 q0.5 q0.9; do
    $CMP "forecast $q (GROUP_CONCAT, timestamps)" "$WORK/host_fc.csv" "$q" "$WORK/my_fc.csv" "$q" --header-actual || fails=$((fails + 1))
done
$CMP "forecast mean (JSON_ARRAYAGG, start)" "$WORK/host_fc.csv" mean "$WORK/my_fc_json.csv" mean --header-actual || fails=$((fails + 1))
remote_forecast_checks
gap="ts NOT BETWEEN (SELECT max(ts) - INTERVAL 30 HOUR FROM elec) AND (SELECT max(ts) - INTERVAL 28 HOUR FROM elec)"
expect_error "SELECT scorekit_forecast('forecast', GROUP_CONCAT(demand_mw ORDER BY ts), GROUP_CONCAT(ts ORDER BY ts), '{\"gaps\": \"refuse\"}') FROM elec WHERE $gap" \
    "by 4 steps of 3600 s: 3 missing (the gap rule is 'refuse'"
expect_eq "forecast with a filled gap: 24 steps" 24 \
    "$(sql "SELECT JSON_LENGTH(scorekit_forecast('forecast', GROUP_CONCAT(demand_mw ORDER BY ts), GROUP_CONCAT(ts ORDER BY ts), '{\"prediction_length\": 24}'), '$.mean') FROM elec WHERE $gap")"
expect_error "SELECT scorekit_forecast('forecast', GROUP_CONCAT(demand_mw ORDER BY ts), GROUP_CONCAT(DATE_SUB(ts, INTERVAL IF(ts = '2014-06-01 00:00:00', 1, 0) HOUR) ORDER BY ts), '{}') FROM elec" \
    "repeats the timestamp of row"
expect_error "SELECT scorekit_forecast('forecast', '1,2,3', NULL, '{\"quantile\": [0.5]}')" "unknown key 'quantile'"

# --- deploys: the alias is a symlink; the next statement sees it; a pin refuses other bytes ---------------------
cp "$MODULES/churn.wasm" "$MODULES/churn@1.wasm"
"$HOST" compile "$ROOT/tests/conformance/models/churn.model.json" -o "$MODULES/churn@2.wasm" >/dev/null
ln -sfn churn@2.wasm "$MODULES/churn.tmp" && mv -Tf "$MODULES/churn.tmp" "$MODULES/churn.wasm"
expect_eq "deploy: the alias follows the symlink" "$(sha256sum "$MODULES/churn@2.wasm" | cut -c1-64) 2" \
    "$(sql "SELECT CONCAT(JSON_VALUE(scorekit_schema('churn'), '$.sha256'), ' ', JSON_VALUE(scorekit_schema('churn'), '$.version'))")"
expect_eq "a version by number" "$seed_prob" "$(sql "SELECT scorekit_score('churn@1', $seed_inputs)")"
expect_eq "a version by hash" "$seed_prob" "$(sql "SELECT scorekit_score('churn@sha256:$(sha256sum "$MODULES/churn@1.wasm" | cut -c1-64)', $seed_inputs)")"
ln -sfn churn@1.wasm "$MODULES/churn.tmp" && mv -Tf "$MODULES/churn.tmp" "$MODULES/churn.wasm"
expect_eq "rollback" "$seed_prob" "$(sql "SELECT scorekit_score('churn', $seed_inputs)")"

# --- the conformance suite, with this server as its MySQL host -----------------------------------------------
# (the workspace's feature set, as test.sh built it: `-p scorekit-conformance` would build again)
if SCOREKIT_CONFORMANCE_MYSQL="$MYSQL" SCOREKIT_CONFORMANCE_MYSQL_MODELS="$MODULES" \
    cargo test --workspace --release --exclude scorekit --quiet --manifest-path "$ROOT/Cargo.toml" --test conformance \
    -- every_host_agrees_with_the_golden_outcomes --nocapture >"$WORK/conformance.log" 2>&1; then
    echo "ok   conformance suite with the mysql host: $(grep -c ' mysql  *ok$' "$WORK/conformance.log") cases ok, $(grep -c ' mysql  *skip' "$WORK/conformance.log") skipped with a reason"
else
    echo "FAIL conformance suite:"; grep -E "FAIL|disagreement|panicked" "$WORK/conformance.log" | head -30; fails=$((fails + 1))
fi

# --- a new build is installed under a new name, next to the loaded one -----------------------------------------
cp "$LIBRARY" "$WORK/libscorekit_mysql.so" && printf 'rebuilt' >>"$WORK/libscorekit_mysql.so"
bash "$HERE/install.sh" --client "$MYSQL" --library "$WORK/libscorekit_mysql.so" --plugin-dir "$WORK/plugin" | tail -1
new_soname=$(sql "SELECT dl FROM mysql.func WHERE name = 'scorekit_score'")
expect_eq "upgrade: a new library name, the old file kept" "yes yes" \
    "$([ "$new_soname" != "$soname" ] && echo yes) $([ -f "$WORK/plugin/$soname" ] && echo yes)"
expect_eq "upgrade: the new library scores" "$seed_prob" "$(sql "SELECT scorekit_score('churn', $seed_inputs)")"
alive "an upgrade of the library"

# --- limits after a restart with other settings: the deadline, the null policy ------------------------------------
stop_server
python3 - "$WORK/plugin/scorekit.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c.update({"deadline_ms": 300, "null_inputs": "error"}); json.dump(c, open(sys.argv[1], "w"))
PY
start_server
t1=$(date +%s%N)
expect_error "SELECT scorekit_score('spin', 1)" "scorekit: model 'spin': " 1226
ms=$(( ($(date +%s%N) - t1) / 1000000 ))
expect_eq "the deadline stops a spinning module (in ${ms} ms, < 1500)" yes "$([ $ms -lt 1500 ] && echo yes)"
expect_error "SELECT scorekit_score('churn', $null_inputs)" "row 1, column 'number_vmail_messages': value is null (the null-input policy is 'error'" 1210
alive "a deadline"

if [ "$fails" -ne 0 ]; then
    echo "e2e: $fails check(s) failed; server log:"; tail -n 30 "$RUN/error.log"
    exit 1
fi
echo "e2e: all checks passed"
