//! Golden model: a small ensemble trained on the first 600 churn rows is stored as JSON with its
//! predictions on 50 later rows. Reloading must score identically, and retraining must give the
//! same model (any change to the trainer's numerics shows up here). Re-bless with
//! `SCOREKIT_BLESS=1 cargo test -p scorekit-gbt --all-features --test golden`.
#![cfg(feature = "train")]

mod common;

use scorekit_gbt::{GbtModel, GbtParams, TrainData, train};

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/churn_small.model.json");
const EXPECTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/churn_small.expected.json");

#[test]
fn golden_model_scores_and_retrains_identically() {
    let churn = common::load_churn();
    let (x, y) = churn.rows(0, 600);
    let data = TrainData { features: x, n_features: churn.n_features, types: &churn.types, target: y };
    let params =
        GbtParams { n_estimators: 20, max_depth: 3, max_leaves: 8, learning_rate: 0.2, ..Default::default() };
    let trained = train(&data, None, &params, &mut |_, _| {}).unwrap().model;
    let (probe, _) = churn.rows(3333, 3383);
    let scores: Vec<f64> = probe.chunks_exact(churn.n_features).map(|r| trained.predict(r)).collect();

    if std::env::var_os("SCOREKIT_BLESS").is_some() {
        std::fs::write(MODEL, serde_json::to_string_pretty(&trained).unwrap()).unwrap();
        std::fs::write(EXPECTED, serde_json::to_string_pretty(&scores).unwrap()).unwrap();
    }
    let stored: GbtModel = serde_json::from_str(&std::fs::read_to_string(MODEL).unwrap()).unwrap();
    let expected: Vec<f64> = serde_json::from_str(&std::fs::read_to_string(EXPECTED).unwrap()).unwrap();
    let reloaded: Vec<f64> = probe.chunks_exact(churn.n_features).map(|r| stored.predict(r)).collect();
    assert_eq!(reloaded, expected, "stored model scores differently from its stored predictions");
    assert_eq!(stored, trained, "retraining no longer reproduces the golden model");
    assert_eq!(scores, expected);
    assert!(stored.n_trees() > 1 && stored.categorical_levels()[0] == 51);
}
