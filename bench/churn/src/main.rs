//! Churn benchmark for scorekit-gbt.
//!
//! `churn-bench eval CSV`: train on rows 1-3333 (churnTrain), score rows 3334-5000 (churnTest);
//! prints one JSON object per model (ours with default parameters, smartcore decision tree).
//! `churn-bench tune CSV`: grid over a few parameters, scored on a seeded 25 % validation split
//! of the TRAIN rows only (the test rows are never looked at), to choose honest defaults; a
//! further argument `structure` or `more` picks the tree-shape grid or the third grid (learning
//! rate, column sampling, gamma, early-stopping patience).

mod data;

use data::Churn;
use scorekit_gbt::{GbtModel, GbtParams, TrainData, metrics, train};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_classifier::{DecisionTreeClassifier, DecisionTreeClassifierParameters};

const N_TRAIN: usize = 3333;
const PREDICT_REPEAT: usize = 60;

fn fit(c: &Churn, x: &[f64], y: &[f64], p: &GbtParams) -> GbtModel {
    let data = TrainData { features: x, n_features: c.n_features, types: &c.types, target: y };
    train(&data, None, p, &mut |_, _| {}).expect("training").model
}

/// CPU seconds used by this (single-threaded) process: unlike wall-clock time, it does not
/// count the time other jobs on a shared machine hold the cores.
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Median CPU seconds of `n` runs of `f`, and the last result.
fn timed<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..n {
        let t = cpu_seconds();
        out = Some(f());
        times.push(cpu_seconds() - t);
    }
    (median(times), out.unwrap())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn report(model: &str, scores: &[f64], y: &[f64], train_s: f64, predict_rows_per_s: f64, extra: &str) {
    println!(
        "{{\"model\":\"{model}\",\"auc\":{:.6},\"f1\":{:.6},\"accuracy\":{:.6},\"precision\":{:.6},\"recall\":{:.6},\"log_loss\":{:.6},\"train_s\":{train_s:.6},\"predict_rows_per_s\":{predict_rows_per_s:.1}{extra}}}",
        metrics::roc_auc(scores, y),
        metrics::f1(scores, y),
        metrics::accuracy(scores, y),
        metrics::precision(scores, y),
        metrics::recall(scores, y),
        metrics::log_loss(scores, y),
    );
}

fn eval(c: &Churn) {
    let (x, y) = c.rows(0, N_TRAIN);
    let (tx, ty) = c.rows(N_TRAIN, c.target.len());
    let n_test = ty.len();
    let p = GbtParams::default();

    let data = TrainData { features: &x, n_features: c.n_features, types: &c.types, target: &y };
    let (train_s, trained) = timed(7, || train(&data, None, &p, &mut |_, _| {}).expect("training"));
    let m = &trained.model;
    let big: Vec<f64> = tx.iter().copied().cycle().take(tx.len() * PREDICT_REPEAT).collect();
    let mut out = vec![0.0; n_test * PREDICT_REPEAT];
    let (predict_s, ()) = timed(5, || m.predict_batch(&big, &mut out).unwrap());
    let rows_per_s = out.len() as f64 / predict_s;
    let mut scores = vec![0.0; n_test];
    m.predict_batch(&tx, &mut scores).unwrap();
    let imp = m.feature_importance();
    let mut top: Vec<(usize, f64)> = imp.iter().copied().enumerate().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = top.iter().take(5).map(|(f, v)| format!("\"{}:{v:.3}\"", c.names[*f])).collect();
    let test_scores: Vec<String> = scores.iter().map(|v| format!("{v:.6}")).collect();
    let extra = format!(
        ",\"trees\":{},\"top_features\":[{}],\"scores\":[{}]",
        m.n_trees(),
        top.join(","),
        test_scores.join(",")
    );
    report("scorekit-gbt", &scores, &ty, train_s, rows_per_s, &extra);

    // smartcore CART decision tree on level indices (its default parameters).
    let rows = |x: &[f64]| x.chunks_exact(c.n_features).map(<[f64]>::to_vec).collect::<Vec<_>>();
    let xm = DenseMatrix::from_2d_vec(&rows(&x)).unwrap();
    let yl: Vec<u32> = y.iter().map(|&v| v as u32).collect();
    let (dt_train, dt) = timed(3, || {
        DecisionTreeClassifier::fit(&xm, &yl, DecisionTreeClassifierParameters::default()).unwrap()
    });
    let bigm = DenseMatrix::from_2d_vec(&rows(&big)).unwrap();
    let (dt_predict, _) = timed(3, || dt.predict_proba(&bigm).unwrap());
    let dt_rate = (n_test * PREDICT_REPEAT) as f64 / dt_predict;
    let proba = dt.predict_proba(&DenseMatrix::from_2d_vec(&rows(&tx)).unwrap()).unwrap();
    let dscores: Vec<f64> = (0..n_test).map(|i| *proba.get((i, 1))).collect();
    report("smartcore DecisionTree", &dscores, &ty, dt_train, dt_rate, "");
}

/// Seeds of the cross-validation splits: `CHURN_CV_SEEDS` (comma-separated), default 2024 (one
/// 4-fold split). More seeds repeat the 4-fold CV on other splits, which averages out the
/// fold-to-fold noise.
fn cv_seeds() -> Vec<u64> {
    std::env::var("CHURN_CV_SEEDS")
        .unwrap_or_else(|_| "2024".into())
        .split(',')
        .map(|s| s.trim().parse().expect("CHURN_CV_SEEDS: comma-separated integers"))
        .collect()
}

/// Fold `k` of a seeded, stratified 4-fold split of the training rows: (train, validation).
fn split(c: &Churn, k: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut state = seed;
    let mut key = |_| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 11
    };
    let mut idx: Vec<(u64, usize)> = (0..N_TRAIN).map(|i| (key(i), i)).collect();
    idx.sort_unstable();
    let (mut tr, mut va) = (Vec::new(), Vec::new());
    let (mut seen_pos, mut seen_neg) = (0, 0);
    for (_, i) in idx {
        let counter = if c.target[i] == 1.0 { &mut seen_pos } else { &mut seen_neg };
        *counter += 1;
        if *counter % 4 == k { va.push(i) } else { tr.push(i) }
    }
    (tr, va)
}

/// Mean validation AUC and log-loss over the 4 folds of every CV seed, and the mean tree count.
fn cv(c: &Churn, p: &GbtParams) -> (f64, f64, f64) {
    let (mut auc, mut ll, mut trees) = (0.0, 0.0, 0.0);
    let seeds = cv_seeds();
    let n = 4.0 * seeds.len() as f64;
    for (seed, k) in seeds.iter().flat_map(|&s| (0..4).map(move |k| (s, k))) {
        let (tr, va) = split(c, k, seed);
        let (x, y) = c.select(&tr);
        let (vx, vy) = c.select(&va);
        let m = fit(c, &x, &y, p);
        let s: Vec<f64> = vx.chunks_exact(c.n_features).map(|r| m.predict(r)).collect();
        auc += metrics::roc_auc(&s, &vy) / n;
        ll += metrics::log_loss(&s, &vy) / n;
        trees += m.n_trees() as f64 / n;
    }
    (auc, ll, trees)
}

fn tune(c: &Churn) {
    let base = GbtParams::default();
    let mut grid = vec![base.clone()];
    let structural = std::env::args().any(|a| a == "structure");
    if std::env::args().any(|a| a == "defaults") {
        // Only the defaults (with CHURN_CV_SEEDS: a repeated CV to set beside the peers').
    } else if std::env::args().any(|a| a == "cat") {
        // Structure: how categorical levels are split, leaf regularisation, bins, XGBoost's shape.
        for min_data_per_category in [50, 100, 200] {
            for max_cat_threshold in [1, 8, 32] {
                for cat_l2 in [10.0, 50.0] {
                    grid.push(GbtParams { min_data_per_category, max_cat_threshold, cat_l2, ..base.clone() });
                }
            }
        }
        for lambda in [3.0, 10.0] {
            grid.push(GbtParams { lambda, ..base.clone() });
        }
        for max_bins in [32, 63, 127] {
            grid.push(GbtParams { max_bins, ..base.clone() });
        }
        for min_child_weight in [1.0, 3.0] {
            grid.push(GbtParams { min_child_weight, max_leaves: 64, ..base.clone() });
        }
        // XGBoost's defaults in our trainer (no early stopping: 100 rounds at 0.3).
        grid.push(GbtParams {
            n_estimators: 100,
            learning_rate: 0.3,
            max_leaves: 64,
            min_child_weight: 1.0,
            subsample: 1.0,
            colsample: 1.0,
            early_stopping_rounds: None,
            min_data_per_category: 1,
            cat_l2: 0.0,
            cat_smooth: 0.0,
            max_cat_threshold: 64,
            ..base.clone()
        });
    } else if std::env::args().any(|a| a == "more") {
        // Knobs the first two grids left at their defaults.
        for learning_rate in [0.02, 0.05] {
            for colsample in [0.5, 0.65, 0.8] {
                for gamma in [0.0, 0.5] {
                    for early_stopping_rounds in [Some(50), Some(100)] {
                        grid.push(GbtParams {
                            learning_rate,
                            colsample,
                            gamma,
                            early_stopping_rounds,
                            n_estimators: 2000,
                            ..base.clone()
                        });
                    }
                }
            }
        }
    } else if structural {
        for max_depth in [4, 6, 8] {
            for max_leaves in [15, 31, 63] {
                for min_samples_leaf in [1, 5, 20] {
                    for min_child_weight in [0.1, 1.0] {
                        grid.push(GbtParams {
                            max_depth,
                            max_leaves,
                            min_samples_leaf,
                            min_child_weight,
                            ..base.clone()
                        });
                    }
                }
            }
        }
    } else {
        for learning_rate in [0.03, 0.05, 0.1] {
            for colsample in [0.8, 1.0] {
                for subsample in [0.8, 1.0] {
                    for min_data_per_category in [10, 50] {
                        for lambda in [1.0, 5.0] {
                            grid.push(GbtParams {
                                learning_rate,
                                colsample,
                                subsample,
                                min_data_per_category,
                                lambda,
                                ..base.clone()
                            });
                        }
                    }
                }
            }
        }
    }
    let mut results: Vec<(f64, f64, f64, GbtParams)> = grid
        .into_iter()
        .map(|p| {
            let (a, l, t) = cv(c, &p);
            (a, l, t, p)
        })
        .collect();
    let (da, dl, dt, _) = results[0].clone();
    results.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (auc, ll, trees, p) in results.iter().take(40) {
        println!(
            "cv auc {auc:.4} logloss {ll:.4} trees {trees:5.1} gamma {} patience {:?} lr {} colsample {} subsample {} min_data_per_category {} lambda {} depth {} leaves {} min_samples_leaf {} min_child_weight {} max_cat_threshold {} cat_l2 {} max_bins {} rounds {}",
            p.gamma,
            p.early_stopping_rounds,
            p.learning_rate,
            p.colsample,
            p.subsample,
            p.min_data_per_category,
            p.lambda,
            p.max_depth,
            p.max_leaves,
            p.min_samples_leaf,
            p.min_child_weight,
            p.max_cat_threshold,
            p.cat_l2,
            p.max_bins,
            p.n_estimators
        );
    }
    println!("defaults: cv auc {da:.4} logloss {dl:.4} trees {dt:.1}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(2)
        .filter(|a| a.ends_with(".csv"))
        .map_or("../../../shared/data/churn/mlc_churn.csv", String::as_str);
    let c = Churn::load(path);
    match args.get(1).map(String::as_str) {
        Some("tune") => tune(&c),
        _ => eval(&c),
    }
}
