//! Bad inputs give typed errors, never panics.
#![cfg(feature = "train")]

mod common;

use common::*;
use scorekit_forecast::{ForecastError, ForecastParams, ForecastRequest, MAX_SAMPLES, train};

fn model() -> scorekit_forecast::ForecastModel {
    fit(&noisy(800, 1), &small_params()).model
}

#[test]
fn scoring_errors() {
    let m = model();
    let y = noisy(800, 2);
    let ok = ForecastRequest { horizon: 5, quantiles: vec![0.5], ..Default::default() };
    let need = m.min_history();
    assert_eq!(
        m.forecast(&y[..need - 1], &ok).unwrap_err(),
        ForecastError::HistoryTooShort { needed: need, got: need - 1 }
    );
    assert!(m.forecast(&y[..need], &ok).is_ok());
    for h in [0, 25] {
        let e = m.forecast(&y, &ForecastRequest { horizon: h, ..ok.clone() }).unwrap_err();
        assert_eq!(e, ForecastError::BadHorizon { requested: h, max: 24 });
    }
    for q in [0.0, 1.0, -0.1, f64::NAN] {
        let e = m.forecast(&y, &ForecastRequest { quantiles: vec![0.5, q], ..ok.clone() }).unwrap_err();
        assert!(matches!(e, ForecastError::BadQuantile { .. }), "{q}: {e}");
    }
    let e = m.forecast(&y, &ForecastRequest { num_samples: MAX_SAMPLES + 1, ..ok.clone() }).unwrap_err();
    assert_eq!(e, ForecastError::TooManySamples { requested: MAX_SAMPLES + 1, max: MAX_SAMPLES });
    let mut bad = y.clone();
    bad[790] = f64::INFINITY;
    let e = m.forecast(&bad, &ok).unwrap_err();
    assert_eq!(e.to_string(), "history[790] is not finite (inf)");
    // A few NaNs are carried forward; many are refused with the first index.
    let mut gaps = y.clone();
    gaps[795] = f64::NAN;
    assert!(m.forecast(&gaps, &ok).unwrap().mean.iter().all(|v| v.is_finite()));
    for v in &mut gaps[700..] {
        *v = f64::NAN;
    }
    assert!(matches!(m.forecast(&gaps, &ok).unwrap_err(), ForecastError::TooManyMissing { first: 700, .. }));
}

#[test]
fn training_errors() {
    let p = small_params();
    let e = train(&[3.0; 500], None, &p, &mut |_, _| {}).unwrap_err();
    assert_eq!(e, ForecastError::ConstantSeries { value: 3.0 });
    assert!(e.to_string().contains("constant"));
    let e = train(&noisy(100, 1), None, &p, &mut |_, _| {}).unwrap_err();
    assert!(matches!(e, ForecastError::HistoryTooShort { got: 100, .. }), "{e}");
    let mut y = noisy(800, 1);
    y[3] = f64::NEG_INFINITY;
    assert!(matches!(
        train(&y, None, &p, &mut |_, _| {}).unwrap_err(),
        ForecastError::NonFinite { index: 3, .. }
    ));
    let y = noisy(800, 1);
    let ts: Vec<i64> = (0..800).map(|i| if i < 400 { i * 60 } else { i * 60 + 5 }).collect();
    let e = train(&y, Some(&ts), &p, &mut |_, _| {}).unwrap_err();
    assert!(matches!(e, ForecastError::BadTimestamps(_)), "{e}");
    assert!(e.to_string().contains("index 400"), "{e}");
    assert!(matches!(
        train(&y, Some(&ts[..10]), &p, &mut |_, _| {}).unwrap_err(),
        ForecastError::BadTimestamps(_)
    ));
}

#[test]
fn invalid_parameters_are_named() {
    let bad = [
        (ForecastParams { horizon: 0, ..Default::default() }, "horizon"),
        (ForecastParams { context_length: 1, ..Default::default() }, "context_length"),
        (ForecastParams { ridge: 0.0, ..Default::default() }, "ridge"),
        (ForecastParams { ridge: f64::NAN, ..Default::default() }, "ridge"),
        (ForecastParams { seasonal_periods: Some(vec![1]), ..Default::default() }, "seasonal_periods"),
        (ForecastParams { backtest_fraction: 0.9, ..Default::default() }, "backtest_fraction"),
        (ForecastParams { bias_correction: 1.5, ..Default::default() }, "bias_correction"),
        (ForecastParams { bias_correction: f64::NAN, ..Default::default() }, "bias_correction"),
    ];
    for (p, name) in bad {
        match p.validate().unwrap_err() {
            ForecastError::InvalidParam { name: n, .. } => assert_eq!(n, name),
            e => panic!("{e}"),
        }
    }
    assert!(ForecastParams::default().validate().is_ok());
}
