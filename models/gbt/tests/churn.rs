//! Accuracy regression guard on the real churn split (train rows 1-3333, test rows 3334-5000).
//! Release only: `cargo test -p scorekit-gbt --all-features --release --test churn`.
#![cfg(feature = "train")]

mod common;

use scorekit_gbt::{GbtParams, TrainData, metrics, train};

#[test]
#[cfg_attr(debug_assertions, ignore)]
fn default_parameters_reach_the_documented_churn_auc() {
    let churn = common::load_churn();
    let (x, y) = churn.rows(0, 3333);
    let data = TrainData { features: x, n_features: churn.n_features, types: &churn.types, target: y };
    let t = std::time::Instant::now();
    let m = train(&data, None, &GbtParams::default(), &mut |_, _| {}).unwrap().model;
    let secs = t.elapsed().as_secs_f64();
    let (tx, ty) = churn.rows(3333, 5000);
    let mut p = vec![0.0; ty.len()];
    m.predict_batch(tx, &mut p).unwrap();
    let auc = metrics::roc_auc(&p, ty);
    // docs/eval-gbt.md records the exact figure; this guards against regressions only.
    assert!(auc > 0.92, "churn test AUC {auc}");
    assert!(metrics::accuracy(&p, ty) > 0.95);
    assert!(secs < 10.0, "training took {secs} s");
}
