// In-database tests (`cargo pgrx test`). They read the demo modules that `test.sh` builds into
// `tests/modules/` (override with `SCOREKIT_PG_TEST_MODULES` at build time); the server runs them
// as its own OS user, so that directory must be readable by it.

use pgrx::prelude::*;

fn module(name: &str) -> Vec<u8> {
    let dir = option_env!("SCOREKIT_PG_TEST_MODULES").unwrap_or(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/modules"));
    let path = format!("{dir}/{name}.wasm");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e} (run sql-plugins/postgres/test.sh to build it)"))
}

fn load(name: &str) -> String {
    Spi::get_one_with_args::<String>(
        "SELECT sha256 FROM scorekit.load_model($1, $2)",
        &[name.into(), module(name).as_slice().into()],
    )
    .unwrap()
    .unwrap()
}

const ROW: &str = r#"{"state": "KS", "account_length": 128, "area_code": "area_code_415", "international_plan": "no",
  "voice_mail_plan": "yes", "number_vmail_messages": 25, "total_day_minutes": 265.1, "total_day_calls": 110,
  "total_day_charge": 45.07, "total_eve_minutes": 197.4, "total_eve_calls": 99, "total_eve_charge": 16.78,
  "total_night_minutes": 244.7, "total_night_calls": 91, "total_night_charge": 11.01, "total_intl_minutes": 10.0,
  "total_intl_calls": 3, "total_intl_charge": 2.7, "number_customer_service_calls": 1, "churn": "no"}"#;

const ARGS: &str = "'KS',128,'area_code_415','no','yes',25,265.1,110,45.07,197.4,99,16.78,244.7,91,11.01,10.0,3,2.7,1";

fn leb(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn section(id: u8, content: &[u8], out: &mut Vec<u8>) {
    out.push(id);
    leb(content.len(), out);
    out.extend_from_slice(content);
}

fn wasm_name(name: &str, out: &mut Vec<u8>) {
    leb(name.len(), out);
    out.extend_from_slice(name.as_bytes());
}

/// A module that passes every load check (exports, ABI version, description with the churn
/// schema) and then spins forever in `scorekit_call`: only a deadline or a cancel stops it.
/// Encoded by hand (it is tiny) so that the test build needs no assembler. In WAT:
/// `(func (export "scorekit_call") (param i32 i32) (result i32) (loop $l (br $l)) i32.const 0)`,
/// the other exports returning constants.
fn spinning_module() -> Vec<u8> {
    let schema = Spi::get_one::<String>("SELECT schema::text FROM scorekit.modules WHERE name = 'churn'").unwrap().unwrap();
    let description = format!(
        r#"{{"abi":1,"family":"gbt","format":1,"schema":{schema},"metrics":[],"provenance":[],"artifact_sha256":"00"}}"#
    );
    const I32: u8 = 0x7f;
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    // Types: 0 = () -> i32, 1 = (i32) -> i32, 2 = (i32, i32) -> i32.
    section(1, &[3, 0x60, 0, 1, I32, 0x60, 1, I32, 1, I32, 0x60, 2, I32, I32, 1, I32], &mut m);
    // Functions 0..5 and their types.
    section(3, &[5, 0, 1, 0, 0, 2], &mut m);
    // One memory of one page.
    section(5, &[1, 0, 1], &mut m);
    let mut exports = vec![6];
    for (name, kind, index) in [
        ("memory", 2, 0),
        ("scorekit_abi_version", 0, 0),
        ("scorekit_input", 0, 1),
        ("scorekit_output_ptr", 0, 2),
        ("scorekit_output_len", 0, 3),
        ("scorekit_call", 0, 4),
    ] {
        wasm_name(name, &mut exports);
        exports.extend_from_slice(&[kind, index]);
    }
    section(7, &exports, &mut m);
    let bodies: [&[u8]; 5] = [
        &[0, 0x41, 1, 0x0b],                           // i32.const 1 (ABI version)
        &[0, 0x41, 0x80, 0x08, 0x0b],                  // i32.const 1024 (input buffer)
        &[0, 0x41, 0, 0x0b],                           // i32.const 0
        &[0, 0x41, 0, 0x0b],                           // i32.const 0
        &[0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x41, 0, 0x0b], // loop br 0 end; i32.const 0
    ];
    let mut code = vec![bodies.len() as u8];
    for body in bodies {
        leb(body.len(), &mut code);
        code.extend_from_slice(body);
    }
    section(10, &code, &mut m);
    let mut custom = Vec::new();
    wasm_name("scorekit.schema", &mut custom);
    custom.extend_from_slice(description.as_bytes());
    section(0, &custom, &mut m);
    m
}

fn f64_of(sql: &str) -> f64 {
    Spi::get_one::<f64>(sql).unwrap().unwrap()
}

fn text_of(sql: &str) -> String {
    Spi::get_one::<String>(sql).unwrap().unwrap()
}

/// SQLSTATE and message of the error `PERFORM <perform>` raises, caught in a subtransaction (so
/// the test goes on); `("", "no error")` when it raises none.
fn error_of(perform: &str) -> (String, String) {
    Spi::run("CREATE TEMP TABLE IF NOT EXISTS caught_errors (n serial, state text, msg text)").unwrap();
    Spi::run(&format!(
        "DO $t$ BEGIN PERFORM {perform}; INSERT INTO caught_errors (state, msg) VALUES ('', 'no error');
         EXCEPTION WHEN OTHERS THEN INSERT INTO caught_errors (state, msg) VALUES (SQLSTATE, SQLERRM); END $t$"
    ))
    .unwrap();
    let (state, msg) =
        Spi::get_two::<String, String>("SELECT state, msg FROM caught_errors ORDER BY n DESC LIMIT 1").unwrap();
    (state.unwrap(), msg.unwrap())
}

/// Asserts that `PERFORM <perform>` fails with `sqlstate` and a message starting with `start`.
fn assert_error(perform: &str, sqlstate: &str, start: &str) {
    let (state, msg) = error_of(perform);
    assert!(
        state == sqlstate && msg.starts_with(start),
        "{perform}\n  got:  {state} {msg}\n  want: {sqlstate} {start}…"
    );
}

/// A `churn_rows` table of `n` copies of ROW with an `id`, typed as a real table would be.
fn churn_rows(n: usize) {
    Spi::run(&format!(
        "CREATE TEMP TABLE churn_rows AS SELECT g AS id, r.* FROM generate_series(1, {n}) g,
         jsonb_to_record('{ROW}'::jsonb) AS r(state text, account_length int, area_code text, international_plan text,
           voice_mail_plan text, number_vmail_messages int, total_day_minutes float8, total_day_calls int,
           total_day_charge numeric, total_eve_minutes float8, total_eve_calls int, total_eve_charge float8,
           total_night_minutes float8, total_night_calls bigint, total_night_charge float8, total_intl_minutes float4,
           total_intl_calls smallint, total_intl_charge float8, number_customer_service_calls int, churn text)"
    ))
    .unwrap();
}

#[pg_test]
fn loads_and_scores_the_same_by_every_path() {
    let sha = load("churn");
    assert_eq!(sha.len(), 64);
    let by_json = f64_of(&format!("SELECT scorekit.score('churn', '{ROW}'::jsonb)"));
    assert!((0.0..=1.0).contains(&by_json), "{by_json}");
    let by_args = f64_of(&format!("SELECT scorekit.score_args('churn', {ARGS})"));
    let pinned = f64_of(&format!("SELECT scorekit.score_args_pinned('sha256:{sha}', {ARGS})"));
    let by_version = f64_of(&format!("SELECT scorekit.score('churn@1', '{ROW}'::jsonb)"));
    let by_rows = f64_of(&format!("SELECT (scorekit.score_rows('churn', jsonb_build_array('{ROW}'::jsonb, '{ROW}'::jsonb)))[2]"));
    assert_eq!(by_json.to_bits(), by_args.to_bits());
    assert_eq!(by_json.to_bits(), pinned.to_bits());
    assert_eq!(by_json.to_bits(), by_version.to_bits());
    assert_eq!(by_json.to_bits(), by_rows.to_bits());
}

#[pg_test]
fn generated_functions_have_typed_signatures_and_honest_volatility() {
    load("churn");
    Spi::run("SELECT scorekit.create_function('p_native', 'churn')").unwrap();
    Spi::run("SELECT scorekit.create_function('p_pinned', 'churn', pin => true)").unwrap();
    Spi::run("SELECT scorekit.create_function('p_label', 'churn', output => 'label', threshold => 0.0)").unwrap();
    let native = f64_of(&format!("SELECT p_native({ARGS})"));
    assert_eq!(native.to_bits(), f64_of(&format!("SELECT p_pinned({ARGS})")).to_bits());
    let label = Spi::get_one::<String>(&format!("SELECT p_label({ARGS})")).unwrap().unwrap();
    assert_eq!(label, "True.");
    let vol = Spi::get_one::<String>(
        "SELECT string_agg(proname || '=' || provolatile::text, ',' ORDER BY proname) FROM pg_proc WHERE proname IN ('p_native', 'p_pinned')",
    )
    .unwrap()
    .unwrap();
    assert_eq!(vol, "p_native=s,p_pinned=i");
    let args = Spi::get_one::<String>("SELECT pg_get_function_arguments('p_native'::regproc)").unwrap().unwrap();
    assert!(args.starts_with("state text, account_length double precision, area_code text"), "{args}");
}

#[pg_test]
fn aurora_form_maps_area_code_and_ignores_phone() {
    load("churn");
    Spi::run(
        r#"SELECT scorekit.create_function('will_churn', 'churn', output => 'label', arguments => '[
        {"name": "state"}, {"name": "acc_length", "input": "account_length", "type": "bigint"},
        {"name": "area_code", "type": "bigint", "format": "area_code_{}"}, {"name": "phone", "ignore": true},
        {"name": "international_plan"}, {"name": "voice_mail_plan"}, {"name": "number_vmail_messages"},
        {"name": "total_day_minutes"}, {"name": "total_day_calls"}, {"name": "total_day_charge"},
        {"name": "total_eve_minutes"}, {"name": "total_eve_calls"}, {"name": "total_eve_charge"},
        {"name": "total_night_minutes"}, {"name": "total_night_calls"}, {"name": "total_night_charge"},
        {"name": "total_intl_minutes"}, {"name": "total_intl_calls"}, {"name": "total_intl_charge"},
        {"name": "number_customer_service_calls"}]')"#,
    )
    .unwrap();
    let label = Spi::get_one::<String>(
        "SELECT will_churn('IN',65,415,'329-6603','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)",
    )
    .unwrap()
    .unwrap();
    let p = f64_of(
        "SELECT scorekit.score_args('churn', 'IN',65,'area_code_415','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4)",
    );
    assert_eq!(label, if p > 0.5 { "True." } else { "False." });
}

#[pg_test(error = "scorekit: model 'churn': row 1, column 'state': unknown category 'XX' (known: AK, AL, AR, AZ, CA, CO, CT, DC, … 51 levels in all)")]
fn unknown_category_names_row_and_column() {
    load("churn");
    Spi::run(&format!("SELECT scorekit.score_args('churn', 'XX'{})", &ARGS[4..])).unwrap();
}

// Deliberately changed with the host layer: a NULL input is a missing value by default, as in
// every host (it was an ERROR unless scorekit.null_inputs = 'missing').
#[pg_test]
fn null_input_is_a_missing_value_by_default() {
    load("churn");
    assert_eq!(&ARGS[..9], "'KS',128,");
    let with_null = f64_of(&format!("SELECT scorekit.score_args('churn', 'KS', NULL{})", &ARGS[8..]));
    // An empty field is how `host score` spells a missing value in CSV.
    let with_empty = f64_of(&format!("SELECT scorekit.score_args('churn', 'KS', ''{})", &ARGS[8..]));
    let with_json_null = f64_of(&format!(
        "SELECT scorekit.score('churn', jsonb_set('{ROW}'::jsonb, '{{account_length}}', 'null'))"
    ));
    let with_nan = f64_of(&format!("SELECT scorekit.score_args('churn', 'KS', 'NaN'::float8{})", &ARGS[8..]));
    assert_eq!(with_null.to_bits(), with_empty.to_bits());
    assert_eq!(with_null.to_bits(), with_json_null.to_bits());
    assert_eq!(with_null.to_bits(), with_nan.to_bits());
    assert!((0.0..=1.0).contains(&with_null), "{with_null}");
}

#[pg_test]
fn null_input_is_an_error_naming_it_when_asked() {
    load("churn");
    Spi::run("SET scorekit.null_inputs = 'error'").unwrap();
    let refused =
        "scorekit: model 'churn': row 1, column 'account_length': value is null (the null-input policy is 'error'";
    assert_error(&format!("scorekit.score_args('churn', 'KS', NULL{})", &ARGS[8..]), "22004", refused);
    assert_error(
        &format!("scorekit.score('churn', jsonb_set('{ROW}'::jsonb, '{{account_length}}', 'null'))"),
        "22004",
        refused,
    );
    // The encoded float8[] path follows the same rule (NULL and NaN are its missing values).
    let dense = "ARRAY[16, NULL, 1, 0, 1, 25, 265.1, 110, 45.07, 197.4, 99, 16.78, 244.7, 91, 11.01, 10, 3, 2.7, 1]::float8[]";
    assert_error(&format!("scorekit.score('churn', {dense})"), "22004", refused);
    Spi::run("RESET scorekit.null_inputs").unwrap();
    let p = f64_of(&format!("SELECT scorekit.score('churn', {dense})"));
    assert!((0.0..=1.0).contains(&p), "{p}");
}

#[pg_test]
fn json_rows_follow_the_host_layer_rules() {
    load("churn");
    let p = f64_of(&format!("SELECT scorekit.score('churn', '{ROW}'::jsonb)"));
    // Extra keys are ignored.
    let extra = f64_of(&format!("SELECT scorekit.score('churn', '{ROW}'::jsonb || '{{\"phone\": \"382-4657\"}}')"));
    assert_eq!(p.to_bits(), extra.to_bits());
    // The same row by position: a JSON array in input order, and SageMaker's {"features": [...]}.
    let positional = f64_of(&format!("SELECT scorekit.score('churn', jsonb_build_array({ARGS}))"));
    assert_eq!(p.to_bits(), positional.to_bits());
    let features = f64_of(&format!("SELECT scorekit.score('churn', jsonb_build_object('features', jsonb_build_array({ARGS})))"));
    assert_eq!(p.to_bits(), features.to_bits());
    // A JSON true for a categorical input is the level 'true' (as for `host score` and the server).
    assert_error(
        &format!("scorekit.score('churn', '{ROW}'::jsonb || '{{\"international_plan\": true}}')"),
        "22023",
        "scorekit: model 'churn': row 1, column 'international_plan': unknown category 'true'",
    );
    // An absent input is an error by default, a NULL input under absent_inputs = 'missing'.
    assert_error(
        &format!("scorekit.score('churn', '{ROW}'::jsonb - 'state')"),
        "22023",
        "scorekit: model 'churn': row 1: input 'state' is missing (model 'churn' takes: state, account_length",
    );
    Spi::run("SET scorekit.absent_inputs = 'missing'").unwrap();
    let absent = f64_of(&format!("SELECT scorekit.score('churn', '{ROW}'::jsonb - 'state')"));
    let null = f64_of(&format!("SELECT scorekit.score('churn', '{ROW}'::jsonb || '{{\"state\": null}}')"));
    assert_eq!(absent.to_bits(), null.to_bits());
    assert_error(
        &format!("scorekit.score('churn', jsonb_build_array('{ROW}'::jsonb, '{ROW}'::jsonb))"),
        "22023",
        "scorekit: model 'churn': expected one row, got 2",
    );
    assert_error(
        "scorekit.score_args('churn', 'IN', 65)",
        "22023",
        "scorekit: model 'churn': row 1: expected 19 values (the inputs of model 'churn': state, account_length",
    );
}

// Rows are numbered from 1 in the whole input, across module calls of scorekit.batch_size rows.
#[pg_test]
fn batch_paths_number_rows_of_the_whole_input() {
    load("churn");
    churn_rows(5);
    Spi::run("SET scorekit.batch_size = 2").unwrap();
    Spi::run("UPDATE churn_rows SET state = 'XX' WHERE id = 5").unwrap();
    let unknown = |row: usize| format!("scorekit: model 'churn': row {row}, column 'state': unknown category 'XX'");
    assert_error(
        "scorekit.score_rows('churn', (SELECT jsonb_agg(to_jsonb(c) ORDER BY id) FROM churn_rows c))",
        "22023",
        &unknown(5),
    );
    assert_error("* FROM scorekit.score_query('churn', 'SELECT * FROM churn_rows ORDER BY id', 'id')", "22023", &unknown(5));
    Spi::run("UPDATE churn_rows SET state = 'KS' WHERE id = 5").unwrap();
    // Refusals of the rules (not the model) too.
    assert_error(
        "scorekit.score_rows('churn', (SELECT jsonb_agg(CASE WHEN id = 3 THEN to_jsonb(c) - 'state' ELSE to_jsonb(c) END ORDER BY id) FROM churn_rows c))",
        "22023",
        "scorekit: model 'churn': row 3: input 'state' is missing",
    );
    Spi::run("UPDATE churn_rows SET total_eve_calls = NULL WHERE id = 4").unwrap();
    Spi::run("SET scorekit.null_inputs = 'error'").unwrap();
    assert_error(
        "* FROM scorekit.score_query('churn', 'SELECT * FROM churn_rows ORDER BY id')",
        "22004",
        "scorekit: model 'churn': row 4, column 'total_eve_calls': value is null",
    );
    Spi::run("RESET scorekit.null_inputs").unwrap();
    assert_error(
        "* FROM scorekit.score_query('churn', 'SELECT id, state FROM churn_rows')",
        "22023",
        "scorekit: model 'churn': row 1: input 'account_length' is missing",
    );
    assert_error(
        "* FROM scorekit.score_query('churn', 'SELECT * FROM churn_rows', 'nope')",
        "22023",
        "scorekit: score_query: key_column 'nope' is not a column of the query",
    );
    // Columns of every SQL type score as their values: the same as the jsonb row.
    Spi::run("UPDATE churn_rows SET total_eve_calls = 99 WHERE id = 4").unwrap();
    let keys = text_of("SELECT string_agg(key, ',' ORDER BY key) FROM scorekit.score_query('churn', 'SELECT * FROM churn_rows', 'id')");
    assert_eq!(keys, "1,2,3,4,5");
    let (n, same) = Spi::get_two::<i64, bool>(&format!(
        "SELECT count(*), bool_and(score = scorekit.score('churn', '{ROW}'::jsonb)) FROM scorekit.score_query('churn', 'SELECT * FROM churn_rows')"
    ))
    .unwrap();
    assert_eq!((n, same), (Some(5), Some(true)));
    let rows = Spi::get_one::<Vec<f64>>(
        "SELECT scorekit.score_rows('churn', (SELECT jsonb_agg(to_jsonb(c) ORDER BY id) FROM churn_rows c))",
    )
    .unwrap()
    .unwrap();
    assert_eq!(rows.len(), 5);
    // Every chunk (dense: levels already matched) scores as the row alone does.
    let alone = f64_of(&format!("SELECT scorekit.score('churn', '{ROW}'::jsonb)"));
    assert!(rows.iter().all(|r| r.to_bits() == alone.to_bits()), "{rows:?} vs {alone}");
}

#[pg_test]
fn settings_speak_the_host_layer_words() {
    use scorekit_host::streams::Redeploy;
    use scorekit_host::{AbsentInputs, Gaps, NullInputs};
    assert_eq!(crate::guc::input_policy(), scorekit_host::InputPolicy::default(), "the host layer's defaults");
    assert_eq!(crate::guc::redeploy(), Redeploy::default());
    assert_eq!(crate::guc::gaps(), Gaps::default());
    for word in ["missing", "error"] {
        Spi::run(&format!("SET scorekit.null_inputs = '{word}'")).unwrap();
        assert_eq!(crate::guc::input_policy().nulls, NullInputs::parse(word).unwrap());
        Spi::run(&format!("SET scorekit.absent_inputs = '{word}'")).unwrap();
        assert_eq!(crate::guc::input_policy().absent, AbsentInputs::parse(word).unwrap());
    }
    for word in ["same-model", "carry-over", "restart"] {
        Spi::run(&format!("SET scorekit.on_redeploy = '{word}'")).unwrap();
        assert_eq!(crate::guc::redeploy(), Redeploy::parse(word).unwrap());
    }
    for word in ["fill", "refuse"] {
        Spi::run(&format!("SET scorekit.forecast_gaps = '{word}'")).unwrap();
        assert_eq!(crate::guc::gaps(), Gaps::parse(word).unwrap());
    }
}

#[pg_test]
fn query_cancel_interrupts_a_running_call() {
    load("churn");
    Spi::run_with_args("SELECT scorekit.load_model('spin', $1)", &[spinning_module().as_slice().into()]).unwrap();
    // A cancel that is only noticed when the deadline stops the call would still end in the
    // cancel's message (`error::raise` checks for interrupts first), so the time is what tells
    // the two apart: the call must end long before this deadline.
    Spi::run("SET scorekit.deadline_ms = 120000").unwrap();
    Spi::run("CREATE TEMP TABLE cancelled (msg text, seconds float8)").unwrap();
    // What Ctrl-C in psql or pg_cancel_backend() does: SIGINT to this backend, 200 ms into the call.
    // SAFETY: MyProcPid is set at backend start and never changes.
    let pid = unsafe { pg_sys::MyProcPid };
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let _ = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status();
    });
    Spi::run(&format!(
        "DO $$ DECLARE t0 timestamptz := clock_timestamp();
         BEGIN PERFORM scorekit.score_args('spin', {ARGS});
         EXCEPTION WHEN query_canceled THEN
             INSERT INTO cancelled VALUES (SQLERRM, extract(epoch FROM clock_timestamp() - t0));
         END $$"
    ))
    .unwrap();
    let msg = Spi::get_one::<String>("SELECT msg FROM cancelled").unwrap().unwrap();
    let seconds = f64_of("SELECT seconds FROM cancelled");
    assert_eq!(msg, "canceling statement due to user request");
    assert!(seconds < 30.0, "the cancel was noticed only after {seconds} s (deadline 120 s)");
}

#[pg_test]
fn deadline_stops_a_spinning_module_and_the_session_goes_on() {
    load("churn");
    Spi::run_with_args("SELECT scorekit.load_model('spin', $1)", &[spinning_module().as_slice().into()]).unwrap();
    Spi::run("SET scorekit.deadline_ms = 100").unwrap();
    Spi::run("CREATE TEMP TABLE caught (sqlstate text, msg text)").unwrap();
    // Twice: the instance that hit the deadline is discarded, the next call gets a fresh one.
    for _ in 0..2 {
        // A PL/pgSQL handler runs the call in a subtransaction, as a client's retry would.
        Spi::run(&format!(
            "DO $$ BEGIN PERFORM scorekit.score_args('spin', {ARGS});
             EXCEPTION WHEN query_canceled THEN INSERT INTO caught VALUES (SQLSTATE, SQLERRM); END $$"
        ))
        .unwrap();
    }
    let caught = Spi::get_one::<String>("SELECT string_agg(sqlstate || ' ' || msg, ' | ') FROM caught").unwrap().unwrap();
    let one = "57014 scorekit: model 'spin': model call exceeded its deadline of 100ms and was stopped";
    assert_eq!(caught, format!("{one} | {one}"));
    let p = f64_of(&format!("SELECT scorekit.score_args('churn', {ARGS})"));
    assert!((0.0..=1.0).contains(&p));
}

#[pg_test(error = "scorekit: unknown model 'nope'")]
fn unknown_model() {
    Spi::run("SELECT scorekit.score('nope', '{}'::jsonb)").unwrap();
}

#[pg_test(error = "scorekit: model 'bad': invalid model module: not a WebAssembly module (bad magic number)")]
fn corrupt_module_is_refused() {
    Spi::run("SELECT scorekit.load_model('bad', '\\x68656c6c6f20776f726c64'::bytea)").unwrap();
}

/// A `scorekit.modules` row whose bytes are not what its `sha256` names (written over SQL, not by
/// `load_model`) is refused, by its alias and pinned: no compile-cache entry has that hash, so
/// its bytes are read, and bytes read are always checked against the row's hash.
#[pg_test]
fn a_module_row_whose_bytes_are_not_its_hash_is_refused() {
    let sha = load("churn");
    let forged = "ab".repeat(32);
    Spi::run(&format!(
        "INSERT INTO scorekit.modules (sha256, name, version, family, bytes, schema)
         SELECT '{forged}', 'forged', 1, family, bytes, schema FROM scorekit.modules WHERE sha256 = '{sha}';
         INSERT INTO scorekit.aliases (name, sha256) VALUES ('forged', '{forged}')"
    ))
    .unwrap();
    let want = format!("scorekit: model 'forged': model module SHA-256 is {sha}, expected {forged}");
    for model in ["forged".to_string(), format!("sha256:{forged}")] {
        assert_error(&format!("scorekit.score('{model}', '{ROW}'::jsonb)"), "22P03", &want);
    }
    // The genuine module still loads by its alias (from the compile cache or its bytes).
    assert!((0.0..=1.0).contains(&f64_of(&format!("SELECT scorekit.score('churn', '{ROW}'::jsonb)"))));
}

#[pg_test]
fn explain_sums_to_the_margin() {
    load("churn");
    let p = f64_of(&format!("SELECT scorekit.score('churn', '{ROW}'::jsonb)"));
    let margin = f64_of(&format!("SELECT sum(contribution) FROM scorekit.explain('churn', '{ROW}'::jsonb)"));
    assert!((1.0 / (1.0 + (-margin).exp()) - p).abs() < 1e-9, "{p} vs margin {margin}");
}

#[pg_test]
fn deploy_and_rollback_switch_the_alias_in_this_session() {
    let churn = load("churn");
    let anomaly = load("anomaly");
    assert_eq!(f64_of("SELECT count(*)::float8 FROM scorekit.inputs('churn')"), 19.0);
    Spi::run(&format!("SELECT scorekit.deploy('churn', 'sha256:{anomaly}')")).unwrap();
    assert_eq!(f64_of("SELECT count(*)::float8 FROM scorekit.inputs('churn')"), 1.0);
    let back = Spi::get_one::<String>("SELECT scorekit.rollback('churn')").unwrap().unwrap();
    assert_eq!(back, churn);
    assert_eq!(f64_of("SELECT count(*)::float8 FROM scorekit.inputs('churn')"), 19.0);
}

#[pg_test]
fn anomaly_window_equals_streaming_updates() {
    load("anomaly");
    Spi::run("CREATE TEMP TABLE s AS SELECT g AS i, 70 + sin(g / 5.0) + CASE WHEN g = 150 THEN 30 ELSE 0 END AS v FROM generate_series(1, 200) g").unwrap();
    let window = Spi::get_one::<Vec<f64>>(
        "SELECT array_agg(x ORDER BY i) FROM (SELECT i, scorekit.anomaly_score('anomaly', v) OVER (ORDER BY i) AS x FROM s) t",
    )
    .unwrap()
    .unwrap();
    let streamed = Spi::get_one::<Vec<f64>>(
        "SELECT array_agg(u.score ORDER BY t.i) FROM (SELECT * FROM s ORDER BY i) t, LATERAL scorekit.anomaly_update('anomaly', 'k', t.v) u",
    )
    .unwrap()
    .unwrap();
    assert_eq!(window.len(), 200);
    assert_eq!(window, streamed);
    let spike = window[149];
    let typical = window[100];
    assert!(spike > typical, "spike {spike} vs {typical}");
}

#[pg_test]
fn forecast_returns_horizon_rows_with_ordered_quantiles() {
    load("forecast");
    let n = f64_of(
        "SELECT count(*)::float8 FROM scorekit.forecast('forecast', (SELECT array_agg(7000 + 500 * sin(g / 3.8)) FROM generate_series(1, 24 * 30) g), 24, start => '2014-01-01Z')",
    );
    assert_eq!(n, 24.0);
    let ordered = Spi::get_one::<bool>(
        "SELECT bool_and(q[1] <= q[2] AND q[2] <= q[3]) FROM scorekit.forecast('forecast', (SELECT array_agg(7000 + 500 * sin(g / 3.8)) FROM generate_series(1, 24 * 30) g), 24, start => '2014-01-01Z')",
    )
    .unwrap()
    .unwrap();
    assert!(ordered);
}

// Deliberately changed with the host layer: the terms are the input names, then `bias` (GBT) or
// `total` (RCF), as in every host (they were `(bias)` and `(score)`).
#[pg_test]
fn explanation_terms_are_the_host_layer_names() {
    load("churn");
    load("anomaly");
    let terms = text_of(&format!("SELECT string_agg(feature, ',') FROM scorekit.explain('churn', '{ROW}'::jsonb)"));
    let inputs = text_of("SELECT string_agg(name, ',' ORDER BY position) FROM scorekit.inputs('churn')");
    assert_eq!(terms, format!("{inputs},bias"));
    let rcf = text_of("SELECT string_agg(feature, ',') FROM scorekit.explain('anomaly', '{\"value\": 70}'::jsonb)");
    assert_eq!(rcf, "value,total");
    let total = f64_of("SELECT contribution FROM scorekit.explain('anomaly', '{\"value\": 70}'::jsonb) WHERE feature = 'total'");
    let score = f64_of("SELECT scorekit.score('anomaly', '{\"value\": 70}'::jsonb)");
    assert!((total - score).abs() < 1e-9, "total {total} vs score {score}");
}

#[pg_test]
fn stream_outputs_are_the_host_layer_names() {
    let out = text_of(
        "SELECT string_agg(n, ',' ORDER BY i) FROM pg_proc p, unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(n, m, i)
         WHERE p.oid = 'scorekit.anomaly_update(text, text, float8)'::regprocedure AND m = 't'",
    );
    assert_eq!(out, scorekit_host::names::STREAM_OUTPUTS.join(","));
}

const SERIES: &str = "SELECT g AS i, 70 + sin(g / 5.0) + CASE WHEN g % 97 = 0 THEN 25 ELSE 0 END AS v FROM generate_series(1, 240) g";

/// Scores of `anomaly_update(model, key, v)` for readings `from..=to` of [`SERIES`].
fn stream_scores(model: &str, key: &str, from: i32, to: i32) -> Vec<f64> {
    Spi::get_one::<Vec<f64>>(&format!(
        "SELECT array_agg(u.score ORDER BY t.i) FROM (SELECT * FROM ({SERIES}) s WHERE i BETWEEN {from} AND {to} ORDER BY i) t,
         LATERAL scorekit.anomaly_update('{model}', '{key}', t.v) u"
    ))
    .unwrap()
    .unwrap()
}

fn stored(model: &str, key: &str) -> (String, i64) {
    let (sha, n) = Spi::get_two_with_args::<String, i64>(
        "SELECT sha256, readings FROM scorekit.stream_state WHERE model = $1 AND stream_key = $2",
        &[model.into(), key.into()],
    )
    .unwrap();
    (sha.unwrap(), n.unwrap())
}

// A redeploy follows scorekit.on_redeploy like the server: the state carries over to a module of
// the same trained model; a retrained model restarts the stream and archives the old state.
#[pg_test]
fn streams_follow_the_redeploy_policy() {
    let a = Spi::get_one_with_args::<String>(
        "SELECT sha256 FROM scorekit.load_model('sa', $1)",
        &[module("stream_a").as_slice().into()],
    )
    .unwrap()
    .unwrap();
    let rebuilt = Spi::get_one_with_args::<String>(
        "SELECT sha256 FROM scorekit.load_model('sa', $1, deploy => false)",
        &[module("stream_a_rebuilt").as_slice().into()],
    )
    .unwrap()
    .unwrap();
    let retrained = Spi::get_one_with_args::<String>(
        "SELECT sha256 FROM scorekit.load_model('sa', $1, deploy => false)",
        &[module("stream_a_retrained").as_slice().into()],
    )
    .unwrap()
    .unwrap();
    assert_ne!(a, rebuilt);
    // A reference stream that never sees a redeploy, pinned by hash.
    let reference = stream_scores(&format!("sha256:{a}"), "ref", 1, 120);
    let before = stream_scores("sa", "k", 1, 60);
    assert_eq!(before[..], reference[..60]);
    Spi::run(&format!("SELECT scorekit.deploy('sa', 'sha256:{rebuilt}')")).unwrap();
    let after = stream_scores("sa", "k", 61, 120);
    assert_eq!(after[..], reference[60..], "carried over: the same scores as without the redeploy");
    assert_eq!(stored("sa", "k"), (rebuilt.clone(), 120));
    let archived = f64_of("SELECT count(*)::float8 FROM scorekit.stream_state_archive");
    assert_eq!(archived, 0.0);
    // A retrained model: the stream restarts from its trained state; the old state is archived.
    Spi::run(&format!("SELECT scorekit.deploy('sa', 'sha256:{retrained}')")).unwrap();
    let restarted = stream_scores("sa", "k", 121, 130);
    let fresh = stream_scores(&format!("sha256:{retrained}"), "fresh", 121, 130);
    assert_eq!(restarted, fresh);
    assert_eq!(stored("sa", "k"), (retrained.clone(), 10));
    let (sha, n) = Spi::get_two::<String, i64>("SELECT sha256, readings FROM scorekit.stream_state_archive").unwrap();
    assert_eq!((sha.unwrap(), n.unwrap()), (rebuilt.clone(), 120));
    // Under 'restart' even the same trained model restarts (and archives).
    Spi::run(&format!("SELECT scorekit.deploy('sa', 'sha256:{a}')")).unwrap();
    stream_scores("sa", "k3", 1, 5);
    Spi::run("SET scorekit.on_redeploy = 'restart'").unwrap();
    Spi::run(&format!("SELECT scorekit.deploy('sa', 'sha256:{rebuilt}')")).unwrap();
    let restarted = stream_scores("sa", "k3", 6, 10);
    assert_eq!(restarted, stream_scores(&format!("sha256:{rebuilt}"), "fresh3", 6, 10));
    assert_eq!(f64_of("SELECT count(*)::float8 FROM scorekit.stream_state_archive"), 2.0);
    // Under 'carry-over' even a retrained model takes the old state (its own forest is unused).
    Spi::run("SET scorekit.on_redeploy = 'carry-over'").unwrap();
    let reference = stream_scores(&format!("sha256:{rebuilt}"), "ref4", 1, 10);
    assert_eq!(stream_scores("sa", "k4", 1, 5)[..], reference[..5]);
    Spi::run(&format!("SELECT scorekit.deploy('sa', 'sha256:{retrained}')")).unwrap();
    assert_eq!(stream_scores("sa", "k4", 6, 10)[..], reference[5..]);
    assert_eq!(stored("sa", "k4"), (retrained, 10));
}

// The backend's live stream is used only while the table holds the state it continued from: a
// rolled-back step is never the base of the next one.
#[pg_test]
fn a_rolled_back_step_is_not_kept() {
    load("anomaly");
    let fresh = stream_scores("anomaly", "fresh", 1, 3);
    Spi::run(&format!(
        "DO $t$ BEGIN
            PERFORM u.score FROM ({SERIES}) s, LATERAL scorekit.anomaly_update('anomaly', 'r', s.v) u WHERE s.i <= 50;
            RAISE EXCEPTION 'roll back';
         EXCEPTION WHEN raise_exception THEN NULL; END $t$"
    ))
    .unwrap();
    assert_eq!(f64_of("SELECT count(*)::float8 FROM scorekit.stream_state WHERE stream_key = 'r'"), 0.0);
    assert_eq!(stream_scores("anomaly", "r", 1, 3), fresh, "the stream starts again from the trained state");
    assert_eq!(stored("anomaly", "r").1, 3);
    assert!(Spi::get_one::<bool>("SELECT scorekit.anomaly_reset('anomaly', 'r')").unwrap().unwrap());
    assert_eq!(stream_scores("anomaly", "r", 1, 3), fresh);
    assert_error(
        "scorekit.anomaly_update('anomaly', '', 1)",
        "22023",
        "scorekit: model 'anomaly': '' is not a valid stream key",
    );
    assert_error(
        "scorekit.anomaly_update('churn', 'k', 1)",
        "42704",
        "scorekit: unknown model 'churn'",
    );
}

// Issue 14: only the extension's functions may write stream states.
#[pg_test]
fn a_plain_role_cannot_write_stream_state_but_can_score_streams() {
    load("anomaly");
    Spi::run("CREATE ROLE scorekit_test_plain NOLOGIN").unwrap();
    Spi::run("SET ROLE scorekit_test_plain").unwrap();
    let score = f64_of("SELECT score FROM scorekit.anomaly_update('anomaly', 'plain', 70)");
    assert!(score.is_finite());
    assert_eq!(f64_of("SELECT readings::float8 FROM scorekit.stream_state WHERE stream_key = 'plain'"), 1.0);
    for write in [
        "INSERT INTO scorekit.stream_state (model, stream_key, sha256, state) SELECT 'anomaly', 'forged', sha256, '\\x00' FROM scorekit.modules LIMIT 1",
        "UPDATE scorekit.stream_state SET state = '\\x00', readings = 0",
        "DELETE FROM scorekit.stream_state",
        "INSERT INTO scorekit.stream_state_archive (model, stream_key, sha256, model_sha256, state, readings, reason) SELECT 'a', 'b', sha256, '', '\\x00', 0, 'x' FROM scorekit.modules LIMIT 1",
    ] {
        let (state, msg) = error_of(&format!("1 FROM (SELECT 1) x; {write}; PERFORM 1"));
        assert_eq!(state, "42501", "{write}: {msg}");
    }
    assert_error("scorekit.anomaly_reset('anomaly', 'plain')", "42501", "permission denied for function anomaly_reset");
    Spi::run("RESET ROLE").unwrap();
    assert_eq!(f64_of("SELECT readings::float8 FROM scorekit.stream_state WHERE stream_key = 'plain'"), 1.0);
    // The functions run with a pinned search_path, so no role can plant objects they resolve.
    let config = text_of(
        "SELECT string_agg(proname || ':' || prosecdef || ':' || array_to_string(proconfig, ';'), ' ' ORDER BY proname)
         FROM pg_proc WHERE proname IN ('anomaly_update', 'anomaly_reset') AND pronamespace = 'scorekit'::regnamespace",
    );
    assert_eq!(config, "anomaly_reset:true:search_path=pg_catalog, pg_temp anomaly_update:true:search_path=pg_catalog, pg_temp");
}

const HOURLY: &str = "SELECT g, '2014-01-01 00:00Z'::timestamptz + g * interval '1 hour' AS ts, 7000 + 500 * sin(g / 3.8) AS v FROM generate_series(0, 24 * 30 - 1) g";

fn forecast_means(sql: &str) -> Vec<f64> {
    Spi::get_one::<Vec<f64>>(&format!("SELECT array_agg(mean ORDER BY step) FROM ({sql}) f")).unwrap().unwrap()
}

// The timed form reads the timestamps through the host layer's history rule: without gaps it is
// the untimed form with start = the first timestamp; a gap is filled with missing values (the
// untimed form with NULLs there) or refused naming it; disorder and odd spacing are refused.
#[pg_test]
fn forecast_with_timestamps_checks_and_fills_gaps() {
    load("forecast");
    Spi::run(&format!("CREATE TEMP TABLE hist AS {HOURLY}")).unwrap();
    let untimed = forecast_means(
        "SELECT * FROM scorekit.forecast('forecast', (SELECT array_agg(v ORDER BY g) FROM hist), 24, start => '2014-01-01Z')",
    );
    let timed = forecast_means(
        "SELECT * FROM scorekit.forecast('forecast', (SELECT array_agg(v ORDER BY g) FROM hist), (SELECT array_agg(ts ORDER BY g) FROM hist), 24)",
    );
    assert_eq!(untimed.len(), 24);
    assert_eq!(untimed, timed);
    // Three hours missing, inside the window the model reads.
    let gap = "g NOT BETWEEN 700 AND 702";
    let filled = forecast_means(&format!(
        "SELECT * FROM scorekit.forecast('forecast', (SELECT array_agg(v ORDER BY g) FROM hist WHERE {gap}), (SELECT array_agg(ts ORDER BY g) FROM hist WHERE {gap}), 24)"
    ));
    let with_nulls = forecast_means(&format!(
        "SELECT * FROM scorekit.forecast('forecast', (SELECT array_agg(CASE WHEN {gap} THEN v END ORDER BY g) FROM hist), 24, start => '2014-01-01Z')"
    ));
    assert_eq!(filled, with_nulls);
    assert_ne!(filled, untimed);
    Spi::run("SET scorekit.forecast_gaps = 'refuse'").unwrap();
    assert_error(
        &format!("* FROM scorekit.forecast('forecast', (SELECT array_agg(v ORDER BY g) FROM hist WHERE {gap}), (SELECT array_agg(ts ORDER BY g) FROM hist WHERE {gap}), 24)"),
        "22023",
        "scorekit: model 'forecast': row 701: timestamp 2014-01-30 07:00:00 follows 2014-01-30 03:00:00 by 4 steps of 3600 s: 3 missing",
    );
    Spi::run("RESET scorekit.forecast_gaps").unwrap();
    assert_error(
        "* FROM scorekit.forecast('forecast', (SELECT array_agg(v ORDER BY g) FROM hist), (SELECT array_agg(ts ORDER BY g DESC) FROM hist), 24)",
        "22023",
        "scorekit: model 'forecast': row 2: timestamp 2014-01-30 22:00:00 goes back before the timestamp of row 1",
    );
    assert_error(
        "* FROM scorekit.forecast('forecast', (SELECT array_agg(v ORDER BY g) FROM hist), (SELECT array_agg(ts + CASE WHEN g = 10 THEN interval '30 minutes' ELSE interval '0' END ORDER BY g) FROM hist), 24)",
        "22023",
        "scorekit: model 'forecast': row 11: timestamp 2014-01-01 10:30:00 is 5400 s after the previous one",
    );
    assert_error(
        "* FROM scorekit.forecast('forecast', (SELECT array_agg(v ORDER BY g) FROM hist), (SELECT array_agg(CASE WHEN g = 5 THEN NULL ELSE ts END ORDER BY g) FROM hist), 24)",
        "22023",
        "scorekit: model 'forecast': timestamps: row 6: the timestamp is missing",
    );
}

/// `churn_rows(n)` with inputs varied by id, so that rows score differently.
fn varied_churn_rows(n: usize) {
    churn_rows(n);
    Spi::run(
        "UPDATE churn_rows SET state = (ARRAY['KS','OH','NJ','IN','TX','CA'])[1 + id % 6],
           account_length = 20 + id % 190, total_day_minutes = 100 + (id * 37) % 250,
           number_customer_service_calls = id % 8, international_plan = CASE WHEN id % 5 = 0 THEN 'yes' ELSE 'no' END",
    )
    .unwrap();
}

/// The churn model, a typed function `p_batch` over it and `varied_churn_rows(n)`.
fn batch_fixture(n: usize) {
    load("churn");
    Spi::run("SELECT scorekit.create_function('p_batch', 'churn')").unwrap();
    varied_churn_rows(n);
}

const CHURN_COLUMNS: &str = "state, account_length, area_code, international_plan, voice_mail_plan, number_vmail_messages,
    total_day_minutes, total_day_calls, total_day_charge, total_eve_minutes, total_eve_calls, total_eve_charge,
    total_night_minutes, total_night_calls, total_night_charge, total_intl_minutes, total_intl_calls, total_intl_charge,
    number_customer_service_calls";

/// Module calls and rows this session has made for `model`.
fn calls_and_rows(model: &str) -> (i64, i64) {
    let (c, r) = Spi::get_two_with_args::<i64, i64>(
        "SELECT coalesce(sum(calls), 0)::int8, coalesce(sum(rows), 0)::int8 FROM scorekit.session_stats() WHERE model = $1",
        &[model.into()],
    )
    .unwrap();
    (c.unwrap(), r.unwrap())
}

/// The text of `sql`'s one column over all rows (in the query's order), with batching `on`.
fn answers(sql: &str, on: bool) -> String {
    Spi::run(&format!("SET scorekit.batch_calls = {on}")).unwrap();
    let out = text_of(&format!("SELECT string_agg(v::text, '|' ORDER BY n) FROM (SELECT row_number() OVER () AS n, q.v FROM ({sql}) q(v)) s"));
    Spi::run("RESET scorekit.batch_calls").unwrap();
    out
}

fn explain(sql: &str) -> String {
    explain_with("VERBOSE, COSTS OFF", sql)
}

fn explain_with(options: &str, sql: &str) -> String {
    Spi::connect(|c| {
        c.select(&format!("EXPLAIN ({options}) {sql}"), None, &[])
            .unwrap()
            .map(|r| r.get::<String>(1).unwrap().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

#[pg_test]
fn batched_calls_equal_row_by_row_calls_bit_for_bit() {
    batch_fixture(3000);
    Spi::run("SET scorekit.batch_size = 256").unwrap();
    Spi::run("SET extra_float_digits = 3").unwrap();
    let call = format!("p_batch({CHURN_COLUMNS})");
    // (query, whether every call in it is batched)
    for (sql, all_batched) in [
        (format!("SELECT {call} FROM churn_rows"), true),
        (format!("SELECT ({call} > 0.5)::text || ':' || {call} || ':' || id FROM churn_rows"), true),
        // Only the first WHEN is evaluated for every row; the branches stay row by row.
        (format!("SELECT CASE WHEN {call} > 0.5 THEN 'high ' || {call} ELSE 'low ' || (id / (id % 7)) END FROM churn_rows WHERE id % 7 <> 0"), false),
        (format!("SELECT coalesce({call}, 0) + coalesce(NULL, {call}) FROM churn_rows"), true),
        (format!("SELECT scorekit.score_args('churn', {CHURN_COLUMNS}) FROM churn_rows"), true),
        // A branch evaluated for no row must not be evaluated at all (it would divide by zero).
        (format!("SELECT CASE WHEN {call} > 2 THEN (1 / (id - id))::text ELSE {call}::text END FROM churn_rows"), false),
        (format!("SELECT avg({call}) FROM churn_rows GROUP BY state"), true),
        (format!("SELECT {call} FROM churn_rows ORDER BY id DESC"), true),
    ] {
        let (calls0, rows0) = calls_and_rows("churn");
        let off = answers(&sql, false);
        let (calls1, rows1) = calls_and_rows("churn");
        let on = answers(&sql, true);
        let (calls2, rows2) = calls_and_rows("churn");
        assert_eq!(on, off, "{sql}");
        assert!(!on.is_empty(), "{sql}");
        // Row by row: a call per row; batched: the same rows in calls of at most 256.
        assert_eq!(calls1 - calls0, rows1 - rows0, "{sql}");
        assert_eq!(rows2 - rows1, rows1 - rows0, "{sql}: the same rows are scored");
        let batched_bound = (rows2 - rows1) / 256 + 9;
        if all_batched {
            assert!(calls2 - calls1 <= batched_bound, "{sql}: {} calls for {} rows", calls2 - calls1, rows2 - rows1);
        } else {
            // The CASE branch's call stays row by row: fewer calls than rows, more than batches.
            assert!(calls2 - calls1 < calls1 - calls0 && calls2 - calls1 > batched_bound, "{sql}: {} calls", calls2 - calls1);
        }
    }
    // A call in WHERE stays row by row; the one in the target list still batches.
    let filtered = format!("SELECT {call} FROM churn_rows WHERE {call} > 0.2");
    assert_eq!(answers(&filtered, true), answers(&filtered, false));
}

#[pg_test]
fn explain_shows_the_batch_node_and_what_it_did() {
    batch_fixture(1000);
    Spi::run("SET scorekit.batch_size = 300").unwrap();
    let sql = format!("SELECT id, p_batch({CHURN_COLUMNS}) > 0.5 FROM churn_rows");
    let plan = explain(&sql);
    assert!(plan.contains("Custom Scan (ScorekitBatch)"), "{plan}");
    assert!(plan.contains("Batched Calls: 1") && plan.contains("Batch Rows: 300"), "{plan}");
    assert!(plan.contains("score_args('churn'::text"), "EXPLAIN VERBOSE names the call:\n{plan}");
    let analyzed = explain_with("ANALYZE, COSTS OFF, TIMING OFF", &sql);
    assert!(analyzed.contains("Batches: 4"), "1000 rows in batches of 300:\n{analyzed}");
    Spi::run("SET scorekit.batch_calls = off").unwrap();
    assert!(!explain(&sql).contains("ScorekitBatch"));
}

#[pg_test]
fn a_limit_bounds_the_first_batch_and_rescans_start_over() {
    batch_fixture(500);
    let (_, rows0) = calls_and_rows("churn");
    let first = answers(&format!("SELECT p_batch({CHURN_COLUMNS}) FROM churn_rows LIMIT 7"), true);
    let (_, rows1) = calls_and_rows("churn");
    assert_eq!(first.split('|').count(), 7);
    assert_eq!(rows1 - rows0, 7, "only the rows the LIMIT reads are scored");
    // A correlated sub-plan and a nested loop rescan the batch node for every outer row.
    Spi::run("SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_material = off").unwrap();
    for sql in [
        format!("SELECT (SELECT p_batch({CHURN_COLUMNS}) FROM churn_rows b WHERE b.id = a.id) FROM churn_rows a WHERE a.id <= 40"),
        "SELECT p_batch(b.state, b.account_length, b.area_code, b.international_plan, b.voice_mail_plan,
            b.number_vmail_messages, b.total_day_minutes, b.total_day_calls, b.total_day_charge, b.total_eve_minutes,
            b.total_eve_calls, b.total_eve_charge, b.total_night_minutes, b.total_night_calls, b.total_night_charge,
            b.total_intl_minutes, b.total_intl_calls, b.total_intl_charge, a.number_customer_service_calls)
            FROM churn_rows a JOIN churn_rows b ON b.id = a.id + 1 WHERE a.id <= 30"
            .to_string(),
    ] {
        assert_eq!(answers(&sql, true), answers(&sql, false), "{sql}");
    }
}

#[pg_test]
fn batched_errors_name_the_row_and_update_writes_batched_scores() {
    batch_fixture(5);
    Spi::run("SET scorekit.batch_size = 2").unwrap();
    Spi::run("UPDATE churn_rows SET state = 'XX' WHERE id = 5").unwrap();
    assert_error(
        &format!("p_batch({CHURN_COLUMNS}) FROM churn_rows"),
        "22023",
        "scorekit: model 'churn': row 5, column 'state': unknown category 'XX'",
    );
    Spi::run("UPDATE churn_rows SET state = 'KS' WHERE id = 5").unwrap();
    Spi::run("ALTER TABLE churn_rows ADD COLUMN p float8").unwrap();
    Spi::run(&format!("UPDATE churn_rows SET p = p_batch({CHURN_COLUMNS})")).unwrap();
    Spi::run("SET scorekit.batch_calls = off").unwrap();
    let differ = Spi::get_one::<i64>(&format!(
        "SELECT count(*) FROM churn_rows WHERE p IS DISTINCT FROM p_batch({CHURN_COLUMNS})"
    ))
    .unwrap();
    assert_eq!(differ, Some(0));
}

#[pg_test]
fn invoke_endpoint_batches_up_to_max_rows_per_batch() {
    load("churn");
    varied_churn_rows(100);
    let args = CHURN_COLUMNS;
    let sql = format!("SELECT aws_sagemaker.invoke_endpoint('churn', 7, {args}) FROM churn_rows");
    let plan = explain(&sql);
    assert!(plan.contains("Batch Rows: 7"), "{plan}");
    let (calls0, _) = calls_and_rows("churn");
    let on = answers(&sql, true);
    let (calls1, _) = calls_and_rows("churn");
    assert_eq!(on, answers(&sql, false));
    assert_eq!(calls1 - calls0, 15, "100 rows in calls of at most 7");
    // The array form too.
    let array = format!("SELECT aws_sagemaker.invoke_endpoint('churn', NULL, ARRAY[{args}]::text[]) FROM churn_rows");
    assert_eq!(answers(&array, true), answers(&array, false));
}

#[pg_test]
fn parallel_workers_run_the_batch_node() {
    batch_fixture(2000);
    Spi::run("CREATE TABLE churn_shared AS SELECT * FROM churn_rows").unwrap();
    Spi::run(
        "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
         SET max_parallel_workers_per_gather = 2; SET force_parallel_mode = on",
    )
    .unwrap();
    let sql = format!("SELECT sum(p_batch({CHURN_COLUMNS})) FROM churn_shared");
    let plan = explain(&sql);
    assert!(plan.contains("Gather") && plan.contains("ScorekitBatch"), "{plan}");
    assert_eq!(answers(&sql, true), answers(&sql, false));
}

#[pg_test]
fn a_session_keeps_at_most_max_loaded_modules() {
    // Each loaded module holds its code, an instance and an open cache file: bounded per session.
    Spi::run("SET scorekit.max_loaded_modules = 2").unwrap();
    for m in ["churn", "forecast", "anomaly"] {
        load(m);
    }
    let loaded = || Spi::get_one::<i64>("SELECT scorekit.session_modules()").unwrap().unwrap();
    let churn = || f64_of(&format!("SELECT scorekit.score_args('churn', {ARGS})"));
    let first = churn();
    for m in ["forecast", "anomaly"] {
        Spi::run(&format!("SELECT count(*) FROM scorekit.inputs('{m}')")).unwrap();
    }
    assert_eq!(loaded(), 2, "three modules used, two kept");
    // churn was the least recently used: dropped, loaded again when asked for, the same answer;
    // forecast goes instead, and comes back too.
    assert_eq!(churn(), first);
    assert_eq!(loaded(), 2);
    assert!(!text_of("SELECT string_agg(name, ',' ORDER BY position) FROM scorekit.inputs('forecast')").is_empty());
    assert_eq!(loaded(), 2);
    // Raising the bound keeps what is loaded from then on.
    Spi::run("SET scorekit.max_loaded_modules = 16").unwrap();
    churn();
    Spi::run("SELECT count(*) FROM scorekit.inputs('anomaly')").unwrap();
    assert_eq!(loaded(), 3);
}
