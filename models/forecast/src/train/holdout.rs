//! The training report's honest figures: fit on everything but the last `windows × horizon`
//! steps of every series, forecast those windows one after the other (each from all the history
//! before it), score them with [`crate::metrics`].

use std::format;
use std::vec::Vec;

use crate::error::ForecastError;
use crate::metrics;
use crate::model::{Forecast, ForecastRequest};
use crate::params::ForecastParams;
use crate::train::{Member, Trained, train_global};

/// What the held-out windows measured.
#[derive(Clone, Debug)]
pub struct Holdout {
    /// The model fitted without the held-out windows.
    pub trained: Trained,
    /// Mean MASE over windows (seasonal scale: the model's shortest period, or 1).
    pub mase: f64,
    /// Mean weighted quantile loss (0.1/0.5/0.9) over windows.
    pub wql: f64,
    /// Share of held-out actuals inside the 0.1–0.9 interval.
    pub coverage_80: f64,
    /// Windows scored (all series).
    pub windows: usize,
    /// The MASE seasonal scale used.
    pub season: usize,
    /// The last window scored: series index, origin, forecast (for charts).
    pub last: Option<(usize, usize, Forecast)>,
}

/// Holds out the last `windows` windows of `params.horizon` steps of every member and scores
/// forecasts of them from a model fitted on the rest.
///
/// # Errors
/// [`ForecastError::HistoryTooShort`] when a series cannot give the windows plus a training
/// part; any training or forecasting error.
pub fn holdout(
    members: &[Member<'_>],
    params: &ForecastParams,
    windows: usize,
) -> Result<Holdout, ForecastError> {
    let (h, windows) = (params.horizon, windows.max(1));
    if let Some((y, _)) = members.iter().find(|(y, _)| y.len() <= windows * h) {
        return Err(ForecastError::HistoryTooShort { needed: windows * h + 1, got: y.len() });
    }
    let cut = |y: &[f64]| y.len() - windows * h;
    let held_in: Vec<Member<'_>> =
        members.iter().map(|(y, t)| (&y[..cut(y)], t.map(|t| &t[..cut(y)]))).collect();
    let trained = train_global(&held_in, params, &mut |_, _| {})?;
    let season = trained.report.seasonal_periods.first().copied().unwrap_or(1).max(1);
    let (mut sum_mase, mut sum_wql, mut covered, mut total, mut scored) = (0.0, 0.0, 0.0, 0usize, 0usize);
    let mut last = None;
    for (m, (y, ts)) in members.iter().enumerate() {
        for w in 0..windows {
            let origin = cut(y) + w * h;
            let req = ForecastRequest {
                horizon: h,
                quantiles: Vec::from([0.1, 0.5, 0.9]),
                num_samples: 0,
                seed: 0,
                start: ts.map(|t| t[0]),
            };
            let fc = trained.model.forecast(&y[..origin], &req).map_err(|e| match e {
                ForecastError::HistoryTooShort { .. } => e,
                other => ForecastError::Numerical(format!("held-out origin {origin}: {other}")),
            })?;
            let actual = &y[origin..origin + h];
            let q: Vec<(f64, &[f64])> = fc.quantiles.iter().map(|(q, v)| (*q, v.as_slice())).collect();
            sum_mase +=
                metrics::mase(actual, &fc.mean, &y[..origin], season.min(origin / 2)).unwrap_or(f64::NAN);
            sum_wql += metrics::weighted_quantile_loss(actual, &q).unwrap_or(f64::NAN);
            let c = metrics::interval_coverage(actual, &fc.quantiles[0].1, &fc.quantiles[2].1)
                .unwrap_or(f64::NAN);
            covered += c * h as f64;
            total += h;
            scored += 1;
            last = Some((m, origin, fc));
        }
    }
    Ok(Holdout {
        trained,
        mase: sum_mase / scored as f64,
        wql: sum_wql / scored as f64,
        coverage_80: covered / total as f64,
        windows: scored,
        season,
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_out_windows_of_a_regular_series_score_well() {
        let y: Vec<f64> = (0..900)
            .map(|t| {
                10.0 + 3.0 * (t as f64 * core::f64::consts::TAU / 24.0).sin() + 0.1 * ((t * 37) % 11) as f64
            })
            .collect();
        let params = ForecastParams { context_length: 48, horizon: 24, ..ForecastParams::default() };
        let r = holdout(&[(&y, None)], &params, 3).unwrap();
        assert_eq!((r.windows, r.season), (3, 24));
        assert!(r.mase < 1.0, "{}", r.mase);
        assert!((0.0..=1.0).contains(&r.coverage_80));
        let (m, origin, fc) = r.last.unwrap();
        assert_eq!((m, origin, fc.mean.len()), (0, 900 - 24, 24));
        let short = &y[..40];
        assert!(matches!(holdout(&[(short, None)], &params, 2), Err(ForecastError::HistoryTooShort { .. })));
    }
}
