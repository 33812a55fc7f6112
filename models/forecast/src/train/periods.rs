//! Seasonal period detection from the autocorrelation function.

#![allow(clippy::needless_range_loop)]

use std::vec::Vec;

/// Autocorrelation of the mean-centred series for lags `0..=max_lag`.
pub(crate) fn acf(y: &[f64], max_lag: usize) -> Vec<f64> {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let c: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let var = c.iter().map(|v| v * v).sum::<f64>();
    (0..=max_lag.min(n - 1))
        .map(|k| if var > 0.0 { c[k..].iter().zip(&c).map(|(a, b)| a * b).sum::<f64>() / var } else { 0.0 })
        .collect()
}

/// Up to two periods: the lag with the strongest autocorrelation peak, plus either a shorter
/// period dividing it or a longer multiple where the ACF rises again (e.g. 168 on top of 24 for
/// hourly data with a weekly pattern). Periods longer than a third of the series are not
/// considered, so at least three seasons back every estimate.
pub fn detect_periods(y: &[f64]) -> Vec<usize> {
    let max_lag = (y.len() / 3).min(1000);
    if max_lag < 4 {
        return Vec::new();
    }
    let r = acf(y, max_lag + 1);
    let is_peak = |k: usize| k >= 2 && k < r.len() - 1 && r[k] > r[k - 1] && r[k] >= r[k + 1] && r[k] > 0.2;
    let peaks: Vec<usize> = (2..r.len() - 1).filter(|&k| is_peak(k)).collect();
    let Some(&p1) = peaks.iter().max_by(|a, b| r[**a].total_cmp(&r[**b])) else {
        return Vec::new();
    };
    // A peak within one step of an exact divisor or multiple counts (periods of real series drift).
    let near_peak = |k: usize| {
        (k.saturating_sub(1)..=k + 1)
            .filter(|&j| j < r.len() && is_peak(j))
            .max_by(|a, b| r[*a].total_cmp(&r[*b]))
    };
    let mut second: Option<usize> = None;
    let mut best = f64::NEG_INFINITY;
    for d in 2..=p1 / 2 {
        if p1 % d == 0
            && let Some(j) = near_peak(p1 / d)
            && r[j] > 0.3
            && r[j] > best
        {
            best = r[j];
            second = Some(j);
        }
    }
    if second.is_none() {
        for m in 2..=max_lag / p1 {
            if let Some(j) = near_peak(m * p1) {
                let prev = r[(m - 1) * p1];
                if r[j] > prev + 0.01 && r[j] > best {
                    best = r[j];
                    second = Some(j);
                }
            }
        }
    }
    let mut out = Vec::from([p1]);
    out.extend(second);
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_daily_period_of_a_sine() {
        let y: Vec<f64> = (0..600).map(|t| (t as f64 * core::f64::consts::TAU / 24.0).sin()).collect();
        assert_eq!(detect_periods(&y)[0], 24);
    }

    #[test]
    fn finds_daily_and_weekly() {
        let y: Vec<f64> = (0..2000)
            .map(|t| {
                let day = (t as f64 * core::f64::consts::TAU / 24.0).sin();
                let weekend = if (t / 24) % 7 >= 5 { -1.5 } else { 0.0 };
                day + weekend
            })
            .collect();
        assert_eq!(detect_periods(&y), [24, 168]);
    }

    #[test]
    fn white_noise_like_series_has_no_strong_period() {
        let mut rng = scorekit_core::rng::Rng::seed_from_u64(3);
        let y: Vec<f64> = (0..500).map(|_| rng.next_normal()).collect();
        assert!(detect_periods(&y).is_empty());
    }
}
