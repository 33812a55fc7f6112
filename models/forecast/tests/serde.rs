//! Round-trips through JSON and postcard give identical forecasts; the golden model still scores
//! the same numbers.
#![cfg(feature = "train")]

mod common;

use common::*;
use proptest::prelude::*;
use scorekit_forecast::{ForecastModel, ForecastRequest};
use std::sync::OnceLock;

fn trained() -> &'static (ForecastModel, Vec<f64>) {
    static M: OnceLock<(ForecastModel, Vec<f64>)> = OnceLock::new();
    M.get_or_init(|| {
        let y = noisy(900, 21);
        (fit(&y, &small_params()).model, y)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn json_and_postcard_round_trips_forecast_identically(
        shift in -100.0f64..100.0, stretch in 0.1f64..10.0, horizon in 1usize..=24,
        q in 0.001f64..0.999, samples in 0usize..20, seed in any::<u64>(),
    ) {
        let (m, y) = trained();
        let hist: Vec<f64> = y.iter().map(|v| shift + stretch * v).collect();
        let r = ForecastRequest { horizon, quantiles: vec![q, 0.5], num_samples: samples, seed, start: None };
        let want = m.forecast(&hist, &r).unwrap();
        let json: ForecastModel = serde_json::from_str(&serde_json::to_string(m).unwrap()).unwrap();
        let bin: ForecastModel = postcard::from_bytes(&postcard::to_allocvec(m).unwrap()).unwrap();
        prop_assert_eq!(&json, m);
        prop_assert_eq!(&json.forecast(&hist, &r).unwrap(), &want);
        prop_assert_eq!(&bin.forecast(&hist, &r).unwrap(), &want);
        // Affine equivariance of the window scaling: forecasts follow the history's level and scale.
        let base = m.forecast(y, &r).unwrap();
        for (a, b) in want.mean.iter().zip(&base.mean) {
            prop_assert!((a - (shift + stretch * b)).abs() < 1e-6 * (1.0 + a.abs()));
        }
    }
}

#[test]
fn golden_model_scores_the_same_numbers() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let model_path = dir.join("model.json");
    let out_path = dir.join("forecast.json");
    let y = noisy(700, 77);
    let r =
        ForecastRequest { horizon: 24, quantiles: vec![0.1, 0.5, 0.9], num_samples: 3, seed: 5, start: None };
    if std::env::var("SCOREKIT_BLESS").is_ok_and(|v| v == "1") {
        let m = fit(&y, &small_params()).model;
        std::fs::write(&model_path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
        let f = m.forecast(&y, &r).unwrap();
        std::fs::write(&out_path, serde_json::to_string_pretty(&f).unwrap()).unwrap();
    }
    let m: ForecastModel = serde_json::from_str(&std::fs::read_to_string(&model_path).unwrap()).unwrap();
    let want: scorekit_forecast::Forecast =
        serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    assert_eq!(m.forecast(&y, &r).unwrap(), want);
    // Training is deterministic too: retraining gives the stored model.
    assert_eq!(fit(&y, &small_params()).model, m);
}

#[test]
fn damaged_models_are_refused_by_check() {
    let (m, _) = trained();
    assert_eq!(m.check(), Ok(()));
    let mut v: serde_json::Value = serde_json::to_value(m).unwrap();
    let cases: Vec<(&str, serde_json::Value)> = vec![
        ("weights", serde_json::json!([1.0, 2.0])),
        ("residual_levels", serde_json::json!([0.5, 0.1])),
        ("baseline", serde_json::json!([100000])),
        ("horizon", serde_json::json!(0)),
        ("step_correlation", serde_json::json!(1.5)),
    ];
    for (field, bad) in cases {
        let good = v[field].clone();
        v[field] = bad;
        let damaged: ForecastModel = serde_json::from_value(v.clone()).unwrap();
        assert!(
            matches!(damaged.check(), Err(scorekit_forecast::ForecastError::Corrupt(_))),
            "{field} damage passed the check"
        );
        v[field] = good;
    }
}
