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

#[pg_test(error = "scorekit: model 'churn': row 1, input 'account_length' (argument 2) is NULL")]
fn null_input_is_an_error_naming_it_by_default() {
    load("churn");
    Spi::run(&format!("SELECT scorekit.score_args('churn', 'KS', NULL{})", &ARGS[8..])).unwrap();
}

#[pg_test]
fn null_input_is_a_missing_value_when_asked() {
    load("churn");
    assert_eq!(&ARGS[..9], "'KS',128,");
    Spi::run("SET scorekit.null_inputs = 'missing'").unwrap();
    let with_null = f64_of(&format!("SELECT scorekit.score_args('churn', 'KS', NULL{})", &ARGS[8..]));
    // An empty field is how `host score` spells a missing value in CSV.
    let with_empty = f64_of(&format!("SELECT scorekit.score_args('churn', 'KS', ''{})", &ARGS[8..]));
    let with_json_null = f64_of(&format!(
        "SELECT scorekit.score('churn', jsonb_set('{ROW}'::jsonb, '{{account_length}}', 'null'))"
    ));
    assert_eq!(with_null.to_bits(), with_empty.to_bits());
    assert_eq!(with_null.to_bits(), with_json_null.to_bits());
    assert!((0.0..=1.0).contains(&with_null), "{with_null}");
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
