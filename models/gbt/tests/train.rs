//! Training behaviour on cases small enough to compute by hand.
#![cfg(feature = "train")]

use scorekit_gbt::{FeatureType, GbtError, GbtModel, GbtParams, Objective, TrainData, train};

/// One tree, no shrinkage, no regularisation, no sampling: leaf values are exactly -G/H.
fn stump(objective: Objective) -> GbtParams {
    GbtParams {
        objective,
        n_estimators: 1,
        learning_rate: 1.0,
        max_depth: 1,
        lambda: 0.0,
        min_child_weight: 0.0,
        min_samples_leaf: 1,
        subsample: 1.0,
        colsample: 1.0,
        early_stopping_rounds: None,
        min_data_per_category: 1,
        cat_l2: 0.0,
        ..GbtParams::default()
    }
}

fn fit(x: &[f64], types: &[FeatureType], y: &[f64], p: &GbtParams) -> GbtModel {
    let data = TrainData { features: x, n_features: types.len(), types, target: y };
    train(&data, None, p, &mut |_, _| {}).unwrap().model
}

#[test]
fn regression_stump_by_hand() {
    // base = mean(y) = 6; g = base - y = [5, 4, -4, -5]; best cut x <= 2.5:
    // left G = 9, H = 2 → -4.5; right G = -9, H = 2 → +4.5.
    let m = fit(
        &[1.0, 2.0, 3.0, 4.0],
        &[FeatureType::Numeric],
        &[1.0, 2.0, 10.0, 11.0],
        &stump(Objective::Regression),
    );
    assert_eq!(m.n_trees(), 1);
    assert_eq!(m.base_score(), 6.0);
    assert_eq!([1.0, 2.0, 2.5, 2.6, 4.0, 100.0].map(|v| m.predict(&[v])), [1.5, 1.5, 1.5, 10.5, 10.5, 10.5]);
    assert_eq!(m.feature_importance(), vec![1.0]);
}

#[test]
fn binary_stump_by_hand() {
    // base = logit(0.5) = 0; p = 0.5 → g = ±0.5, h = 0.25; leaves -G/H = -(1)/(0.5) = -2 and +2.
    let m =
        fit(&[1.0, 2.0, 3.0, 4.0], &[FeatureType::Numeric], &[0.0, 0.0, 1.0, 1.0], &stump(Objective::Binary));
    assert_eq!(m.predict_raw(&[1.0]), -2.0);
    assert_eq!(m.predict_raw(&[4.0]), 2.0);
    assert_eq!(m.predict(&[4.0]), 1.0 / (1.0 + (-2.0f64).exp()));
    let mut out = [0.0; 2];
    m.predict_batch(&[1.0, 4.0], &mut out).unwrap();
    assert_eq!(out, [m.predict(&[1.0]), m.predict(&[4.0])]);
}

#[test]
fn categorical_split_picks_the_level_set() {
    // Six levels (many-vs-many path): levels 1, 3, 4 have high targets. One split must separate
    // exactly {1, 3, 4} from {0, 2, 5}, which no single threshold on the index can do.
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for rep in 0..5 {
        for level in 0..6 {
            x.push(level as f64);
            y.push(if [1, 3, 4].contains(&level) { 10.0 + rep as f64 * 0.1 } else { rep as f64 * 0.1 });
        }
    }
    let types = [FeatureType::Categorical { n_levels: 6 }];
    let m = fit(&x, &types, &y, &stump(Objective::Regression));
    let p: Vec<f64> = (0..6).map(|l| m.predict(&[l as f64])).collect();
    assert!((p[1] - 10.2).abs() < 1e-9 && p[1] == p[3] && p[3] == p[4], "{p:?}");
    assert!((p[0] - 0.2).abs() < 1e-9 && p[0] == p[2] && p[2] == p[5], "{p:?}");
    // Out-of-range, fractional and negative "levels" take the missing direction, never panic.
    let missing = m.predict(&[f64::NAN]);
    for bad in [6.0, 2.5, -1.0, 1e300, f64::INFINITY] {
        assert_eq!(m.predict(&[bad]), missing);
    }
}

#[test]
fn missing_values_go_to_the_learned_side() {
    for missing_like_high in [true, false] {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..40 {
            let v = i as f64;
            let high = i >= 20;
            x.push(v);
            y.push(if high { 1.0 } else { 0.0 });
            // Missing rows share the target of the high or the low side.
            x.push(f64::NAN);
            y.push(if missing_like_high { 1.0 } else { 0.0 });
        }
        let m = fit(&x, &[FeatureType::Numeric], &y, &stump(Objective::Binary));
        let side = if missing_like_high { 30.0 } else { 5.0 };
        assert_eq!(m.predict(&[f64::NAN]), m.predict(&[side]), "missing like high: {missing_like_high}");
        assert_ne!(m.predict(&[30.0]), m.predict(&[5.0]));
    }
}

#[test]
fn missing_only_split_separates_missing_from_present() {
    // The only signal is missingness itself.
    let x: Vec<f64> = (0..20).map(|i| if i % 2 == 0 { f64::NAN } else { i as f64 }).collect();
    let y: Vec<f64> = (0..20).map(|i| if i % 2 == 0 { 1.0 } else { 0.0 }).collect();
    let m = fit(&x, &[FeatureType::Numeric], &y, &stump(Objective::Binary));
    assert!(m.predict(&[f64::NAN]) > 0.8);
    assert!(m.predict(&[3.0]) < 0.2 && m.predict(&[1e300]) < 0.2);
}

fn noisy(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut s = 12345u64;
    let mut next = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let (a, b) = (next(), next());
        x.extend_from_slice(&[a, b]);
        y.push(if a + 0.3 * next() > 0.6 { 1.0 } else { 0.0 });
    }
    (x, y)
}

#[test]
fn training_is_deterministic_and_seeded() {
    let (x, y) = noisy(300);
    let types = [FeatureType::Numeric; 2];
    let p = GbtParams { n_estimators: 30, ..GbtParams::default() };
    let a = fit(&x, &types, &y, &p);
    assert_eq!(a, fit(&x, &types, &y, &p));
    assert_ne!(a, fit(&x, &types, &y, &GbtParams { seed: 7, ..p }));
}

#[test]
fn early_stopping_keeps_the_best_round_and_reports_progress() {
    let (x, y) = noisy(400);
    let types = [FeatureType::Numeric; 2];
    let data = TrainData { features: &x, n_features: 2, types: &types, target: &y };
    let p = GbtParams {
        n_estimators: 400,
        learning_rate: 0.5,
        early_stopping_rounds: Some(10),
        refit: false,
        ..GbtParams::default()
    };
    let mut calls = Vec::new();
    let t = train(&data, None, &p, &mut |done, total| calls.push((done, total))).unwrap();
    let best = t.valid_loss.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(t.valid_loss.len() < 400, "noise must trigger early stopping");
    assert_eq!(t.valid_loss.len(), t.best_iteration + 10);
    assert_eq!(t.valid_loss[t.best_iteration - 1], best);
    assert_eq!(t.model.n_trees(), t.best_iteration);
    assert_eq!(calls.len(), t.valid_loss.len());
    assert_eq!(calls[0], (1, 400));
    // Feature 0 carries the signal.
    let imp = t.model.feature_importance();
    assert!(imp[0] > imp[1] && (imp.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{imp:?}");

    // Refit: same round count, but trained on every row (so a different model), progress counts again.
    let mut calls = Vec::new();
    let r = train(&data, None, &GbtParams { refit: true, ..p }, &mut |d, n| calls.push((d, n))).unwrap();
    assert_eq!((r.best_iteration, r.model.n_trees()), (t.best_iteration, t.best_iteration));
    assert_eq!(r.valid_loss, t.valid_loss);
    assert_ne!(r.model, t.model);
    assert_eq!(calls.len(), t.valid_loss.len() + t.best_iteration);
    assert_eq!(calls.last(), Some(&(t.best_iteration, t.best_iteration)));
}

#[test]
fn explicit_validation_set_must_match_features() {
    let (x, y) = noisy(100);
    let types = [FeatureType::Numeric; 2];
    let data = TrainData { features: &x, n_features: 2, types: &types, target: &y };
    let other = [FeatureType::Numeric, FeatureType::Categorical { n_levels: 3 }];
    let bad = TrainData { types: &other, ..data };
    let e = train(&data, Some(&bad), &GbtParams::default(), &mut |_, _| {}).unwrap_err();
    assert!(matches!(e, GbtError::InvalidData(_) | GbtError::InvalidFeature { .. }), "{e}");
    let t = train(&data, Some(&data), &GbtParams { n_estimators: 5, ..GbtParams::default() }, &mut |_, _| {});
    assert_eq!(t.unwrap().valid_loss.len(), 5);
}

#[test]
fn bad_params_and_data_are_rejected_by_name() {
    let bad = |p: GbtParams| match p.validate() {
        Err(GbtError::InvalidParam { name, .. }) => name,
        other => panic!("{other:?}"),
    };
    assert!(GbtParams::default().validate().is_ok());
    assert_eq!(bad(GbtParams { learning_rate: 0.0, ..Default::default() }), "learning_rate");
    assert_eq!(bad(GbtParams { max_depth: 33, ..Default::default() }), "max_depth");
    assert_eq!(bad(GbtParams { subsample: f64::NAN, ..Default::default() }), "subsample");
    assert_eq!(bad(GbtParams { max_bins: 256, ..Default::default() }), "max_bins");
    assert_eq!(bad(GbtParams { validation_fraction: 1.0, ..Default::default() }), "validation_fraction");
    assert_eq!(
        bad(GbtParams { early_stopping_rounds: Some(0), ..Default::default() }),
        "early_stopping_rounds"
    );

    let types = [FeatureType::Numeric, FeatureType::Categorical { n_levels: 2 }];
    let p = GbtParams::default();
    let run = |x: &[f64], y: &[f64]| {
        train(&TrainData { features: x, n_features: 2, types: &types, target: y }, None, &p, &mut |_, _| {})
    };
    assert!(matches!(run(&[1.0, 0.0], &[2.0]), Err(GbtError::InvalidTarget { row: 0, .. })));
    assert!(matches!(run(&[1.0, 2.0], &[1.0]), Err(GbtError::InvalidFeature { row: 0, feature: 1, .. })));
    assert!(matches!(run(&[f64::INFINITY, 1.0], &[1.0]), Err(GbtError::InvalidFeature { feature: 0, .. })));
    assert!(matches!(run(&[1.0, 0.0, 1.0], &[1.0]), Err(GbtError::InvalidData(_))));
    assert!(matches!(run(&[], &[]), Err(GbtError::InvalidData(_))));
}

#[test]
fn batch_shape_is_checked() {
    let m =
        fit(&[1.0, 2.0, 3.0, 4.0], &[FeatureType::Numeric], &[0.0, 0.0, 1.0, 1.0], &stump(Objective::Binary));
    let mut out = [0.0; 2];
    assert_eq!(
        m.predict_batch(&[1.0, 2.0, 3.0], &mut out),
        Err(GbtError::Shape { what: "rows (out.len() * n_features)", expected: 2, got: 3 })
    );
}

#[test]
fn corrupt_model_files_are_refused() {
    let m =
        fit(&[1.0, 2.0, 3.0, 4.0], &[FeatureType::Numeric], &[0.0, 0.0, 1.0, 1.0], &stump(Objective::Binary));
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<GbtModel>(&json).unwrap(), m);
    // A child index outside the tree.
    let dangling = json.replacen("\"left\":1", "\"left\":7", 1);
    assert!(dangling != json);
    let e = serde_json::from_str::<GbtModel>(&dangling).unwrap_err();
    assert!(e.to_string().contains("invalid model"), "{e}");
    let wrong_feature = json.replacen("\"feature\":0", "\"feature\":3", 1);
    assert!(serde_json::from_str::<GbtModel>(&wrong_feature).unwrap_err().to_string().contains("feature 3"));
}

#[test]
fn batch_scoring_is_bit_identical_to_row_scoring() {
    let (mut x, y) = noisy(150);
    x[7] = f64::NAN;
    let types = [FeatureType::Numeric; 2];
    let m = fit(&x, &types, &y, &GbtParams { n_estimators: 20, ..GbtParams::default() });
    assert!(m.n_trees() > 1);
    // 150 rows: two full blocks of 64 and a partial one.
    let mut out = vec![0.0; 150];
    m.predict_batch(&x, &mut out).unwrap();
    for (row, o) in x.chunks_exact(2).zip(&out) {
        assert_eq!(o.to_bits(), m.predict(row).to_bits());
    }
}

#[test]
fn trained_leaves_are_f32s_which_the_compact_form_stores_in_four_bytes() {
    let (x, y) = noisy(300);
    let types = [FeatureType::Numeric; 2];
    let m = fit(&x, &types, &y, &GbtParams { n_estimators: 30, ..GbtParams::default() });
    let mut leaves = Vec::new();
    for t in 0..m.n_trees() {
        let mut stack = vec![m.tree_root(t)];
        while let Some(i) = stack.pop() {
            match m.node(i) {
                scorekit_gbt::TreeNode::Leaf { value } => leaves.push(value),
                scorekit_gbt::TreeNode::Split { left, right, .. } => stack.extend([left, right]),
            }
        }
    }
    assert!(leaves.len() > 30, "{} leaves", leaves.len());
    for v in &leaves {
        assert_eq!(f64::from(*v as f32).to_bits(), v.to_bits(), "leaf {v:e} is not an f32");
    }
    // One leaf moved off f32 by one f64 step takes 4 bytes more in the compact form.
    let mut json = serde_json::to_value(&m).unwrap();
    let node = json["nodes"].as_array_mut().unwrap().iter_mut().find(|n| n["left"] == 0).unwrap();
    let v = node["value"].as_f64().unwrap();
    node["value"] = serde_json::json!(f64::from_bits(v.to_bits() + 1));
    let off: GbtModel = serde_json::from_value(json).unwrap();
    let size = |m: &GbtModel| postcard::to_allocvec(m).unwrap().len();
    assert_eq!(size(&off), size(&m) + 4);
}
