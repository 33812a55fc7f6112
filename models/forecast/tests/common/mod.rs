//! Shared synthetic series for the integration tests.
#![allow(dead_code)]

use scorekit_core::rng::Rng;
use scorekit_forecast::{ForecastParams, Trained, train};

pub fn seasonal(n: usize) -> Vec<f64> {
    (0..n).map(|t| 10.0 + 3.0 * (t as f64 * std::f64::consts::TAU / 24.0).sin()).collect()
}

/// Daily + weekly pattern with AR(1) noise (sd about 1).
pub fn noisy(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::seed_from_u64(seed);
    let mut e = 0.0;
    (0..n)
        .map(|t| {
            e = 0.6 * e + 0.8 * rng.next_normal();
            let day = 4.0 * (t as f64 * std::f64::consts::TAU / 24.0).sin();
            let weekend = if (t / 24) % 7 >= 5 { -3.0 } else { 0.0 };
            50.0 + day + weekend + e
        })
        .collect()
}

pub fn fit(y: &[f64], params: &ForecastParams) -> Trained {
    train(y, None, params, &mut |_, _| {}).expect("training succeeds")
}

pub fn small_params() -> ForecastParams {
    ForecastParams { context_length: 48, horizon: 24, ..ForecastParams::default() }
}
