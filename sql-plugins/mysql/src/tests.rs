//! The functions through the UDF ABI's Rust face without a server: the `udf` crate's mock builds
//! the `UDF_INIT` / `UDF_ARGS` a server would pass, the plugin runs the conformance suite's fixture
//! models (compiled here), and answers are compared with the native core bit for bit. Without a
//! server no `my_message` exists, so a failed row is only NULL here; the message it would raise is
//! kept by the function ([`crate::funcs::Failed`]). The real server runs in `tests/e2e.sh`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use scorekit_host::native::NativeScorer;
use scorekit_host::streams::{BookConfig, MemoryStore, StepOp, StreamBook};
use scorekit_host::{BatchBuilder, InputPolicy, SharedScorer, Value};
use udf::mock::{MockArg, MockArgData, MockArgList, MockUdfCfg};
use udf::prelude::*;

use crate::funcs::anomaly::ScorekitAnomaly;
use crate::funcs::codegen::ScorekitFunctionSql;
use crate::funcs::explain::ScorekitExplain;
use crate::funcs::forecast::ScorekitForecast;
use crate::funcs::info::{ScorekitModels, ScorekitVersion};
use crate::funcs::score::{ScorekitLabel, ScorekitScore, ScorekitScoreJson};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/models")
}

fn artifact(name: &str) -> scorekit_artifact::Artifact {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.model.json"))).unwrap();
    scorekit_artifact::Artifact::from_json(&text).unwrap()
}

fn native(name: &str) -> SharedScorer {
    Arc::new(NativeScorer::new(artifact(name)))
}

/// A model directory with the fixtures compiled, a state directory, and the configuration that
/// names them (read once per process by the plugin, like a server's).
fn setup() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("scorekit-mysql-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("models")).unwrap();
        for name in ["churn", "anomaly", "forecast"] {
            let wasm = scorekit_compile::compile(&artifact(name)).unwrap();
            std::fs::write(dir.join("models").join(format!("{name}.wasm")), wasm).unwrap();
        }
        let config = serde_json::json!({
            "model_dir": dir.join("models"),
            "state_dir": dir.join("state"),
            "deadline_ms": 5000,
        });
        let path = dir.join("scorekit.json");
        std::fs::write(&path, config.to_string()).unwrap();
        std::env::set_var(crate::config::ENV, &path);
        dir
    })
}

/// A churn row as the positional values the suite's first case uses.
fn churn_row() -> Vec<MockArgData> {
    use MockArgData::*;
    vec![
        String(Some("KS".into())),
        Int(Some(128)),
        Int(Some(415)),
        String(Some("no".into())),
        String(Some("yes".into())),
        Int(Some(25)),
        Real(Some(265.1)),
        Int(Some(110)),
        Decimal(Some("45.07".into())),
        Real(Some(197.4)),
        Int(Some(99)),
        Real(Some(16.78)),
        Real(Some(244.7)),
        Int(Some(91)),
        Real(Some(11.01)),
        Real(Some(10.0)),
        Int(Some(3)),
        Real(Some(2.7)),
        Int(Some(1)),
    ]
}

/// The same row as host values (DECIMAL as its text, as the plugin reads it).
fn churn_values(d: &[MockArgData]) -> Vec<Value<'_>> {
    d.iter()
        .map(|v| match v {
            MockArgData::String(Some(s)) | MockArgData::Decimal(Some(s)) => Value::Text(s),
            MockArgData::Int(Some(i)) => Value::Int(*i),
            MockArgData::Real(Some(x)) => Value::Float(*x),
            _ => Value::Null,
        })
        .collect()
}

fn clone_data(d: &MockArgData) -> MockArgData {
    match d {
        MockArgData::String(s) => MockArgData::String(s.clone()),
        MockArgData::Bytes(b) => MockArgData::Bytes(b.clone()),
        MockArgData::Real(x) => MockArgData::Real(*x),
        MockArgData::Int(i) => MockArgData::Int(*i),
        MockArgData::Decimal(s) => MockArgData::Decimal(s.clone()),
        _ => MockArgData::Int(None),
    }
}

/// The value an `_init` sees of a non-constant argument: its type, no value.
fn not_constant(d: &MockArgData) -> MockArgData {
    match d {
        MockArgData::String(_) | MockArgData::Bytes(_) => MockArgData::String(None),
        MockArgData::Real(_) => MockArgData::Real(None),
        MockArgData::Decimal(_) => MockArgData::Decimal(None),
        _ => MockArgData::Int(None),
    }
}

/// Arguments as `_init` sees them (the first `constants` constant, the rest typed only) and as a
/// row call sees them.
fn args(values: &[MockArgData], constants: usize) -> (MockArgList, MockArgList) {
    let mut init = MockArgList::new();
    let mut row = MockArgList::new();
    for (i, v) in values.iter().enumerate() {
        let at_init = if i < constants { clone_data(v) } else { not_constant(v) };
        init.push_arg(MockArg::new(at_init, &format!("a{i}"), true));
        row.push_arg(MockArg::new(clone_data(v), &format!("a{i}"), true));
    }
    (init, row)
}

/// Arguments as `_init` sees them, exactly as given (None: not constant).
fn init_args(values: &[MockArgData]) -> MockArgList {
    let mut l = MockArgList::new();
    for (i, v) in values.iter().enumerate() {
        l.push_arg(MockArg::new(clone_data(v), &format!("a{i}"), true));
    }
    l
}

fn text(s: &str) -> MockArgData {
    MockArgData::String(Some(s.to_string()))
}

#[test]
fn score_by_position_matches_the_native_core_bit_for_bit() {
    setup();
    let row = churn_row();
    let mut all = vec![text("churn")];
    all.extend(row.iter().map(clone_data));
    let (mut init, mut call) = args(&all, 1);
    let mut cfg = MockUdfCfg::new();
    let mut f = ScorekitScore::init(cfg.as_init(), init.as_init()).unwrap();
    assert_eq!(*cfg.decimals(), 31, "REAL results print every digit");
    let got = f.process(cfg.as_process(), call.as_process(), None).unwrap().unwrap();
    let churn = native("churn");
    let mut b = BatchBuilder::new(churn.info().schema(), InputPolicy::default());
    b.push_positional(&churn_values(&row)).unwrap();
    let want = native("churn").score(&b.finish()).unwrap()[0];
    assert_eq!(got.to_bits(), want.to_bits(), "{got} vs {want}");
    // Twice in one statement: the same answer (instances are reused, nothing leaks between rows).
    let again = f.process(cfg.as_process(), call.as_process(), None).unwrap().unwrap();
    assert_eq!(again.to_bits(), want.to_bits());
}

#[test]
fn init_checks_arity_and_the_model_argument() {
    setup();
    let mut cfg = MockUdfCfg::new();
    let (mut init, _) = args(&[text("churn"), text("KS"), MockArgData::Int(Some(1))], 1);
    let e = ScorekitScore::init(cfg.as_init(), init.as_init()).unwrap_err();
    assert!(
        e.starts_with(
            "scorekit: model 'churn': takes 19 inputs from argument 2 on (state, account_length, area_code,"
        ),
        "{e}"
    );
    assert!(e.ends_with("got 2 arguments"), "{e}");
    let (mut init, _) = args(&[text("churn"), text("KS")], 0);
    let e = ScorekitScore::init(cfg.as_init(), init.as_init()).unwrap_err();
    assert_eq!(
        e,
        "scorekit: argument 1 (model) must be a constant string (its value must be known before the first row), got a string expression"
    );
    let (mut init, _) = args(&[MockArgData::Int(Some(3)), text("KS")], 1);
    let e = ScorekitScore::init(cfg.as_init(), init.as_init()).unwrap_err();
    assert!(
        e.contains("argument 1 (model) must be a constant string")
            && e.contains("got the constant an integer"),
        "{e}"
    );
    let (mut init, _) = args(&[text("nope"), text("KS")], 1);
    let e = ScorekitScore::init(cfg.as_init(), init.as_init()).unwrap_err();
    assert!(
        e.starts_with("scorekit: model 'nope': unknown model 'nope': no nope.wasm or nope@N.wasm in "),
        "{e}"
    );
    assert!(e.ends_with("(models: anomaly, churn, forecast)"), "{e}");
    let (mut init, _) = args(&[text("../etc/passwd"), text("KS")], 1);
    let e = ScorekitScore::init(cfg.as_init(), init.as_init()).unwrap_err();
    assert!(e.contains("'../etc/passwd' is not a model name"), "{e}");
}

#[test]
fn a_bad_value_fails_its_row_naming_the_row_of_the_statement() {
    setup();
    let mut good = vec![text("churn")];
    good.extend(churn_row());
    let mut bad = vec![text("churn")];
    bad.extend(churn_row());
    bad[1] = text("ZZ");
    let (mut init, mut good_call) = args(&good, 1);
    let (_, mut bad_call) = args(&bad, 1);
    let mut cfg = MockUdfCfg::new();
    let mut f = ScorekitScore::init(cfg.as_init(), init.as_init()).unwrap();
    assert!(f.process(cfg.as_process(), good_call.as_process(), None).unwrap().is_some());
    assert!(f.process(cfg.as_process(), bad_call.as_process(), None).is_err());
    let msg = f.failed_message().unwrap();
    assert!(
        msg.starts_with("scorekit: model 'churn': row 2, column 'state': unknown category 'ZZ' (known: AK,"),
        "{msg}"
    );
    // Text where a number is needed.
    let mut nan = vec![text("churn")];
    nan.extend(churn_row());
    nan[2] = text("abc");
    let (mut init, mut call) = args(&nan, 1);
    let mut f = ScorekitScore::init(cfg.as_init(), init.as_init()).unwrap();
    assert!(f.process(cfg.as_process(), call.as_process(), None).is_err());
    assert_eq!(
        f.failed_message().unwrap(),
        "scorekit: model 'churn': row 1, column 'account_length': expected a number, got 'abc'"
    );
}

#[test]
fn null_is_a_missing_value_by_default_and_refused_on_request() {
    setup();
    let mut row = churn_row();
    row[5] = MockArgData::Int(None);
    let mut all = vec![text("churn")];
    all.extend(row.iter().map(clone_data));
    let (mut init, mut call) = args(&all, 1);
    let mut cfg = MockUdfCfg::new();
    let mut f = ScorekitScore::init(cfg.as_init(), init.as_init()).unwrap();
    let got = f.process(cfg.as_process(), call.as_process(), None).unwrap().unwrap();
    let churn = native("churn");
    let mut b = BatchBuilder::new(churn.info().schema(), InputPolicy::default());
    b.push_positional(&churn_values(&row)).unwrap();
    assert_eq!(got.to_bits(), native("churn").score(&b.finish()).unwrap()[0].to_bits());
    // By name, under nulls = error.
    let doc = r#"{"state":"KS","account_length":null}"#;
    let (_, mut call) = args(&[text("churn"), text(doc), text(r#"{"null_inputs": "error"}"#)], 1);
    let mut init =
        init_args(&[text("churn"), MockArgData::String(None), text(r#"{"null_inputs": "error"}"#)]);
    let mut f = ScorekitScoreJson::init(cfg.as_init(), init.as_init()).unwrap();
    assert!(f.process(cfg.as_process(), call.as_process(), None).is_err());
    let msg = f.failed_message().unwrap();
    assert!(msg.starts_with("scorekit: model 'churn': row 1, column 'account_length': value is null (the null-input policy is 'error'"), "{msg}");
    let (mut init, _) = args(&[text("churn"), text(doc), text(r#"{"nulls": "error"}"#)], 3);
    let e = ScorekitScoreJson::init(cfg.as_init(), init.as_init()).unwrap_err();
    assert_eq!(
        e,
        "scorekit: argument 3 (options): unknown option 'nulls' (options: null_inputs, absent_inputs)"
    );
}

#[test]
fn label_and_explain() {
    setup();
    let mut cfg = MockUdfCfg::new();
    let mut all = vec![text("churn"), MockArgData::Real(Some(0.0))];
    all.extend(churn_row());
    let (mut init, mut call) = args(&all, 2);
    let mut f = ScorekitLabel::init(cfg.as_init(), init.as_init()).unwrap();
    assert_eq!(f.process(cfg.as_process(), call.as_process(), None).unwrap(), Some("True."));
    all[1] = MockArgData::Real(Some(1.0));
    let (mut init, mut call) = args(&all, 2);
    let mut f = ScorekitLabel::init(cfg.as_init(), init.as_init()).unwrap();
    assert_eq!(f.process(cfg.as_process(), call.as_process(), None).unwrap(), Some("False."));
    all[1] = text("0.5");
    let (mut init, _) = args(&all, 2);
    let e = ScorekitLabel::init(cfg.as_init(), init.as_init()).unwrap_err();
    assert!(e.contains("argument 2 (threshold) must be a constant number"), "{e}");

    let mut all = vec![text("churn")];
    all.extend(churn_row());
    let (mut init, mut call) = args(&all, 1);
    let mut f = ScorekitExplain::init(cfg.as_init(), init.as_init()).unwrap();
    let json = f.process(cfg.as_process(), call.as_process(), None).unwrap().unwrap().to_string();
    let churn = native("churn");
    let mut b = BatchBuilder::new(churn.info().schema(), InputPolicy::default());
    b.push_positional(&churn_values(&churn_row())).unwrap();
    let want = native("churn").explain(&b.finish()).unwrap();
    let terms = scorekit_host::names::explanation_terms(native("churn").info().schema());
    let keys: Vec<&str> = terms.iter().map(String::as_str).collect();
    assert_eq!(json, scorekit_host::formats::write_records(&want, &keys, None).trim_end());
    assert!(json.starts_with("{\"state\":") && json.contains(",\"bias\":"), "{json}");
}

#[test]
fn an_anomaly_stream_continues_across_statements() {
    setup();
    let readings = [93.62065279, 95.47050538, 95.81561035, 93.49390502, 94.72414877, 95.64261128];
    let mut cfg = MockUdfCfg::new();
    let mut got = Vec::new();
    // Two statements of three readings: the stream carries on between them.
    for chunk in readings.chunks(3) {
        let (mut init, _) = args(&[text("anomaly"), text("unit-stream"), MockArgData::Real(Some(0.0))], 2);
        let mut f = ScorekitAnomaly::init(cfg.as_init(), init.as_init()).unwrap();
        for v in chunk {
            let (_, mut call) = args(&[text("anomaly"), text("unit-stream"), MockArgData::Real(Some(*v))], 2);
            got.push(f.process(cfg.as_process(), call.as_process(), None).unwrap().unwrap());
        }
    }
    let book = StreamBook::new(Arc::new(MemoryStore::new()), BookConfig::default());
    let scorer = native("anomaly");
    let mut want = Vec::new();
    for v in readings {
        let mut b = BatchBuilder::new(scorer.info().schema(), InputPolicy::default());
        b.push_positional(&[Value::Float(v)]).unwrap();
        want.push(book.step(&scorer, "anomaly", "k", &b.finish(), StepOp::Learn).unwrap().steps[0].score);
    }
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got), bits(&want));
    // A GBT model has no streams.
    let mut all = vec![text("churn"), text("k")];
    all.extend(churn_row());
    let (mut init, _) = args(&all, 2);
    let e = ScorekitAnomaly::init(cfg.as_init(), init.as_init()).unwrap_err();
    assert_eq!(e, "scorekit: model 'churn': is a gbt model: anomaly streams need an rcf model");
}

#[test]
fn forecast_from_text_with_timestamps_matches_the_native_core() {
    setup();
    let cases = std::fs::read_to_string(fixtures().join("../cases.json")).unwrap();
    let cases: serde_json::Value = serde_json::from_str(&cases).unwrap();
    let case = cases.as_array().unwrap().iter().find(|c| c["id"] == "fc-timed-history").unwrap();
    let f = &case["forecast"];
    let values: Vec<String> = f["values"].as_array().unwrap().iter().map(|v| v.to_string()).collect();
    let stamps: Vec<String> =
        f["timestamps"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let config = format!(
        r#"{{"prediction_length": {}, "quantiles": [0.1, 0.9]}}"#,
        f["horizon"].as_u64().unwrap_or(24)
    );
    let all = [text("forecast"), text(&values.join(",")), text(&stamps.join(",")), text(&config)];
    let (_, mut call) = args(&all, 1);
    // The history and timestamps are expressions; the model and the configuration constants.
    let mut init = init_args(&[
        clone_data(&all[0]),
        MockArgData::String(None),
        MockArgData::String(None),
        clone_data(&all[3]),
    ]);
    let mut cfg = MockUdfCfg::new();
    let mut udf = ScorekitForecast::init(cfg.as_init(), init.as_init()).unwrap();
    let got: serde_json::Value =
        serde_json::from_str(udf.process(cfg.as_process(), call.as_process(), None).unwrap().unwrap())
            .unwrap();
    let scorer = native("forecast");
    let ts: Vec<i64> = stamps.iter().map(|s| scorekit_host::parse_timestamp(s).unwrap()).collect();
    let vals: Vec<f64> =
        f["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect();
    let history = scorekit_host::History::timed(
        &ts,
        &vals,
        scorer.info().description.period_seconds,
        Default::default(),
    )
    .unwrap();
    let query = scorekit_host::ForecastQuery {
        horizon: f["horizon"].as_u64().unwrap_or(24) as u32,
        quantiles: vec![0.1, 0.9],
        num_samples: 0,
        seed: 0,
        start: None,
    };
    let want = scorer.forecast(&history, &query).unwrap();
    let mean: Vec<f64> = got["mean"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(
        mean.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        want.mean.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(got["quantiles"]["0.9"].as_array().unwrap().len(), want.mean.len());
}

#[test]
fn the_typed_function_of_the_seed_is_generated_and_checked() {
    setup();
    let mapping =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/will_churn.json"))
            .unwrap();
    // The demo model's inputs are the conformance fixture's (same schema).
    let (mut init, mut call) = args(&[text("will_churn"), text("churn"), text(&mapping)], 3);
    let mut cfg = MockUdfCfg::new();
    let mut f = ScorekitFunctionSql::init(cfg.as_init(), init.as_init()).unwrap();
    let sql = f.process(cfg.as_process(), call.as_process(), None).unwrap().unwrap().to_string();
    assert!(sql.starts_with("DROP FUNCTION IF EXISTS `will_churn`;\nCREATE FUNCTION `will_churn`(`state` varchar(2048), `acc_length` bigint(20), `area_code` bigint(20), `phone` varchar(1000), `int_plan` varchar(2048),"), "{sql}");
    assert!(sql.contains(") RETURNS varchar(2048) NO SQL NOT DETERMINISTIC COMMENT "), "{sql}");
    assert!(sql.contains("RETURN scorekit_label('churn', 0.5, `state`, `acc_length`, CONCAT('area_code_', `area_code`, ''), `int_plan`,"), "{sql}");
    assert!(!sql.contains("`phone`,"), "the phone is accepted, not passed: {sql}");
    // PostgreSQL's other options: labels of one's own, strict (NULL in, NULL out).
    let (mut init, mut call) = args(
        &[text("f"), text("churn"), text(r#"{"output": "label", "labels": ["yes", "no"], "strict": true}"#)],
        3,
    );
    let mut f = ScorekitFunctionSql::init(cfg.as_init(), init.as_init()).unwrap();
    let sql = f.process(cfg.as_process(), call.as_process(), None).unwrap().unwrap().to_string();
    assert!(sql.contains(") RETURNS varchar(3) NO SQL"), "{sql}");
    assert!(sql.contains("RETURN IF(`state` IS NULL OR `account_length` IS NULL OR "), "{sql}");
    assert!(sql.contains(", NULL, IF(scorekit_score('churn', `state`, `account_length`, "), "{sql}");
    assert!(sql.trim_end().ends_with(") > 0.5, 'yes', 'no'));"), "{sql}");
    for (bad, why) in [
        (r#"{"labels": ["a", "b"]}"#, "'labels' goes with"),
        (r#"{"output": "label", "labels": ["a"]}"#, "'labels' must be two texts"),
        (r#"{"strict": 1}"#, "'strict' must be true or false"),
        (r#"{"arguments": [{"name": "x; DROP", "input": "state"}]}"#, "is not an SQL name"),
        (
            r#"{"arguments": [{"name": "state", "type": "int); DROP TABLE t; --"}]}"#,
            "is not a supported SQL type",
        ),
        (r#"{"arguments": [{"name": "state"}]}"#, "input 'account_length' has no argument"),
        (r#"{"output": "maybe"}"#, "'output' must be 'probability' or 'label'"),
    ] {
        let (mut init, _) = args(&[text("f"), text("churn"), text(bad)], 3);
        let e = ScorekitFunctionSql::init(cfg.as_init(), init.as_init()).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn models_and_version_without_a_server() {
    setup();
    let mut cfg = MockUdfCfg::new();
    let mut none = MockArgList::new();
    let mut f = ScorekitModels::init(cfg.as_init(), none.as_init()).unwrap();
    let list: serde_json::Value =
        serde_json::from_str(f.process(cfg.as_process(), none.as_process(), None).unwrap().unwrap()).unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["anomaly", "churn", "forecast"]);
    assert_eq!(list[1]["family"], "gbt");
    assert_eq!(list[1]["inputs"].as_array().unwrap().len(), 19);
    let mut f = ScorekitVersion::init(cfg.as_init(), none.as_init()).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(f.process(cfg.as_process(), none.as_process(), None).unwrap().unwrap()).unwrap();
    // No server in this process: no kill check, no statement errors (the tests of the server say yes).
    assert_eq!((v["kill_query"].as_bool(), v["statement_errors"].as_bool()), (Some(false), Some(false)));
}
