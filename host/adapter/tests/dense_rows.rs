//! Rows built for a model (`BatchBuilder::for_model`: sent dense, encoded by the model's own
//! rules) mean exactly what the same values built as tagged cells (`BatchBuilder::new`) mean to
//! the model: the same encoded values bit for bit, or the same error in the same words, on random
//! rows of every kind of host value (numbers, numbers as text, missing markers, levels with
//! spaces, unknown levels, integers and floats for categorical inputs, infinities, nulls under
//! both null policies), with rows refused midway; and a batch of valid values really goes dense.
//! (A batch turned tagged always holds a value the model refuses, so what its earlier rows were
//! converted to shows in which row the error names: a conversion to another valid level would
//! not show, one to a non-level does.)

use proptest::prelude::*;
use scorekit_artifact::{Artifact, Model};
use scorekit_core::{Family, Field, Schema};
use scorekit_host::{AbsentInputs, BatchBuilder, InputPolicy, ModelInfo, NullInputs, Rows, Value};

fn artifact() -> Artifact {
    let schema = Schema {
        name: "dense".into(),
        family: Family::Gbt,
        inputs: vec![
            Field::numeric("x"),
            Field::categorical("plan", vec!["no".into(), "yes".into()]),
            Field::categorical("area", vec!["408".into(), "415".into(), "2.5".into(), "true".into()]),
            Field::numeric("y"),
        ],
        target: Some("t".into()),
        positive_label: None,
        outputs: vec!["prediction".into()],
    };
    // One leaf: the rows' decoding, not the model, is under test.
    let model = serde_json::from_value(serde_json::json!({
        "n_features": 4, "objective": "binary", "base_score": 0.0, "cat_levels": [0, 2, 4, 0],
        "tree_starts": [0],
        "nodes": [{"feature": 0, "left": 0, "value": 0.5, "default_left": false, "categorical": false,
                   "cat_start": 0, "cat_len": 0}],
        "cover": [1.0], "importance": [0.0, 0.0, 0.0, 0.0], "cat_bits": []
    }))
    .expect("a one-leaf model");
    Artifact::new(schema, Model::Gbt(model))
}

/// Host values of every kind, chosen to hit levels, numbers and what the model refuses.
fn value() -> impl Strategy<Value = Value<'static>> {
    const TEXTS: &[&str] = &[
        "no", "yes", " yes ", "408", "415", "2.5", "true", "maybe", "", "  ", "NA", "nan", "?", "12.5",
        " 7 ", "1e3", "inf", "-0", "abc", "415.0",
    ];
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(408i64), Just(415), Just(0), Just(-3), Just(1)].prop_map(Value::Int),
        prop_oneof![
            Just(2.5),
            Just(415.0),
            Just(-0.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            -1e6f64..1e6,
        ]
        .prop_map(Value::Float),
        proptest::sample::select(TEXTS).prop_map(Value::Text),
    ]
}

/// Pushes every row; returns each push's result (as text) and the request.
fn build(mut b: BatchBuilder<'_>, rows: &[Vec<Value<'_>>]) -> (Vec<Result<(), String>>, Rows) {
    let results = rows.iter().map(|r| b.push_positional(r).map_err(|e| e.to_string())).collect();
    (results, b.finish())
}

/// What the model makes of a request: its encoded values (as bits) or its error.
fn decoded(a: &Artifact, rows: &Rows) -> Result<(Vec<u64>, usize), String> {
    a.decode_rows_with(rows.as_bytes(), &a.encoder())
        .map(|(v, first)| (v.iter().map(|x| x.to_bits()).collect(), first))
        .map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn rows_built_for_the_model_mean_what_tagged_cells_mean(
        rows in proptest::collection::vec(proptest::collection::vec(value(), 3..=5), 0..8),
        strict in any::<bool>(),
        base in 0usize..1000,
    ) {
        let a = artifact();
        let d = a.description();
        let info = ModelInfo::new("test".into(), 0, d);
        let nulls = if strict { NullInputs::Error } else { NullInputs::Missing };
        let policy = InputPolicy { nulls, absent: AbsentInputs::Error };
        let tagged = build(BatchBuilder::new(info.schema(), policy).with_row_base(base).unwrap(), &rows);
        let dense = build(BatchBuilder::for_model(&info, policy).with_row_base(base).unwrap(), &rows);
        prop_assert_eq!(&dense.0, &tagged.0);
        prop_assert!(!tagged.1.is_dense());
        prop_assert_eq!(dense.1.n_rows(), tagged.1.n_rows());
        prop_assert_eq!(dense.1.row_base(), tagged.1.row_base());
        prop_assert_eq!(decoded(&a, &dense.1), decoded(&a, &tagged.1));
    }
}

#[test]
fn valid_values_go_dense_and_a_value_for_the_model_to_word_turns_the_batch_tagged() {
    let a = artifact();
    let info = ModelInfo::new("test".into(), 0, a.description());
    let policy = InputPolicy::default();
    let ok = [Value::Float(1.5), Value::Text(" yes "), Value::Int(415), Value::Text("NA")];
    let mut b = BatchBuilder::for_model(&info, policy);
    b.push_positional(&ok).unwrap();
    // A refused row (three values for four inputs) leaves nothing behind.
    b.push_positional(&[Value::Null, Value::Bool(true), Value::Float(2.5)]).unwrap_err();
    b.push_positional(&ok).unwrap();
    let rows = b.finish();
    assert!(rows.is_dense(), "valid rows are sent encoded");
    let (values, _) = a.decode_rows_with(rows.as_bytes(), &a.encoder()).unwrap();
    assert_eq!(values.len(), 8);
    // `yes` is level 1 of plan, 415 level 1 of area, `NA` a missing number.
    assert_eq!(&values[..3], &[1.5, 1.0, 1.0]);
    assert!(values[3].is_nan());

    // An unknown level: the batch turns tagged, the earlier row keeps its values, the module
    // words the error for the row that has it.
    let mut b = BatchBuilder::for_model(&info, policy).with_row_base(40).unwrap();
    b.push_positional(&ok).unwrap();
    b.push_positional(&[Value::Float(1.0), Value::Text("maybe"), Value::Int(408), Value::Float(0.0)])
        .unwrap();
    let rows = b.finish();
    assert!(!rows.is_dense());
    let err = a.decode_rows_with(rows.as_bytes(), &a.encoder()).unwrap_err().to_string();
    assert!(err.contains("row 42") && err.contains("maybe"), "{err}");
}
