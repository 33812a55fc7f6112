//! Forecast accuracy measures shared by the training report, the CLI and the benchmark, so every
//! figure scorekit prints is computed one way.
//!
//! Conventions (GluonTS / M5 style): MASE scales the mean absolute error by the in-sample
//! seasonal-naive error; the weighted quantile loss is `2 Σ pinball / Σ |y|`, averaged over the
//! levels; coverage is the share of actuals inside `[lower, upper]`.

use scorekit_core::math;

/// Pinball (quantile) loss of `pred` at level `q` for actual `y`.
pub fn pinball(y: f64, pred: f64, q: f64) -> f64 {
    if y >= pred { q * (y - pred) } else { (1.0 - q) * (pred - y) }
}

/// Seasonal-naive scale of MASE: mean `|y[t] − y[t − season]|` over `insample`. `None` when the
/// in-sample series is not longer than `season` or the scale is 0.
pub fn mase_scale(insample: &[f64], season: usize) -> Option<f64> {
    if season == 0 || insample.len() <= season {
        return None;
    }
    let n = insample.len() - season;
    let s = (season..insample.len()).map(|t| math::abs(insample[t] - insample[t - season])).sum::<f64>();
    let s = s / n as f64;
    (s > 0.0).then_some(s)
}

/// Mean absolute scaled error of `point` against `actual` with the scale of [`mase_scale`].
pub fn mase(actual: &[f64], point: &[f64], insample: &[f64], season: usize) -> Option<f64> {
    let scale = mase_scale(insample, season)?;
    if actual.is_empty() || actual.len() != point.len() {
        return None;
    }
    let mae = actual.iter().zip(point).map(|(a, p)| math::abs(a - p)).sum::<f64>() / actual.len() as f64;
    Some(mae / scale)
}

/// Weighted quantile loss: for each `(level, predictions)`, `2 Σ pinball / Σ |actual|`, averaged
/// over the levels. `None` for empty input, mismatched lengths or an all-zero actual.
pub fn weighted_quantile_loss(actual: &[f64], quantiles: &[(f64, &[f64])]) -> Option<f64> {
    let denom = actual.iter().map(|a| math::abs(*a)).sum::<f64>();
    if quantiles.is_empty() || denom <= 0.0 {
        return None;
    }
    let mut total = 0.0;
    for (q, pred) in quantiles {
        if pred.len() != actual.len() {
            return None;
        }
        total += 2.0 * actual.iter().zip(pred.iter()).map(|(a, p)| pinball(*a, *p, *q)).sum::<f64>() / denom;
    }
    Some(total / quantiles.len() as f64)
}

/// Share of `actual` inside `[lower, upper]` (bounds inclusive). `None` for empty or mismatched input.
pub fn interval_coverage(actual: &[f64], lower: &[f64], upper: &[f64]) -> Option<f64> {
    if actual.is_empty() || actual.len() != lower.len() || actual.len() != upper.len() {
        return None;
    }
    let inside = actual.iter().zip(lower).zip(upper).filter(|((a, l), u)| **a >= **l && **a <= **u).count();
    Some(inside as f64 / actual.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        assert_eq!(pinball(10.0, 8.0, 0.9), 0.9 * 2.0);
        assert!((pinball(10.0, 12.0, 0.9) - 0.2).abs() < 1e-12);
        // In-sample 1,2,3,4 with season 1: scale 1. Errors 1 and 3: MASE 2.
        assert_eq!(mase(&[5.0, 6.0], &[4.0, 9.0], &[1.0, 2.0, 3.0, 4.0], 1), Some(2.0));
        assert_eq!(mase(&[1.0], &[1.0], &[3.0, 3.0], 1), None);
        // Median exactly right: 0 loss. 0.1 quantile 2 below on actual 10: 2·0.1·2/10 = 0.04.
        let a = [10.0];
        let wql = weighted_quantile_loss(&a, &[(0.5, &[10.0]), (0.1, &[8.0])]).unwrap();
        assert!((wql - 0.02).abs() < 1e-12, "{wql}");
        assert_eq!(interval_coverage(&[1.0, 5.0, 3.0, 2.0], &[0.0; 4], &[3.0; 4]), Some(0.75));
    }
}
