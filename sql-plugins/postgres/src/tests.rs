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
        "SELECT array_agg((scorekit.anomaly_update('anomaly', 'k', v)).score ORDER BY i) FROM (SELECT * FROM s ORDER BY i) t",
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
