//! Training (native only): build the window-scaled design, pick the ridge on a rolling-origin
//! backtest, calibrate the quantiles on that backtest's residuals, refit on everything.

mod linalg;
mod periods;

use std::format;
use std::string::ToString;
use std::vec;
use std::vec::Vec;

use crate::error::ForecastError;
use crate::model::ForecastModel;
use crate::params::ForecastParams;
use linalg::{Normal, transpose};

pub use periods::detect_periods as detect_seasonal_periods;

/// Fewest forecast origins a series must give (design rows), so the backtest has enough rows.
const MIN_ORIGINS: usize = 60;
/// Backtest blocks (each refit on the data before it).
const FOLDS: usize = 3;
/// Levels of the stored residual grid.
const LEVELS: [f64; 23] = [
    0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8,
    0.85, 0.9, 0.95, 0.975, 0.99,
];

/// A trained model and what training measured.
#[derive(Clone, Debug)]
pub struct Trained {
    /// The model to score or save.
    pub model: ForecastModel,
    /// Backtest figures and the choices made.
    pub report: TrainReport,
}

/// What training chose and measured on its own rolling-origin backtest.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    /// Seasonal periods used (detected or given).
    pub seasonal_periods: Vec<usize>,
    /// Ridge chosen.
    pub ridge: f64,
    /// Design rows used for the final fit.
    pub origins: usize,
    /// Origins in the backtest.
    pub backtest_origins: usize,
    /// Mean absolute backtest error in scaled units (error / window scale), over all steps.
    pub backtest_scaled_mae: f64,
}

/// Trains a forecaster on `series` (oldest first, evenly spaced).
///
/// `timestamps` (unix seconds, one per value, evenly spaced) enable calendar features and fix
/// [`ForecastModel::period_seconds`]. Up to one value in ten may be NaN (carried forward).
/// `progress(done, total)` is called as fitting proceeds.
///
/// # Errors
/// [`ForecastError::InvalidParam`], [`ForecastError::NonFinite`], [`ForecastError::TooManyMissing`],
/// [`ForecastError::ConstantSeries`], [`ForecastError::BadTimestamps`],
/// [`ForecastError::HistoryTooShort`] (saying how many values are needed),
/// [`ForecastError::Numerical`].
pub fn train(
    series: &[f64],
    timestamps: Option<&[i64]>,
    params: &ForecastParams,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Trained, ForecastError> {
    params.validate()?;
    let y = clean(series)?;
    let n = y.len();
    let period_seconds = timestamps.map(|ts| check_timestamps(ts, n)).transpose()?;
    let (ctx, hz) = (params.context_length, params.horizon);

    let periods: Vec<usize> = match &params.seasonal_periods {
        Some(p) => p.clone(),
        None => periods::detect_periods(&y),
    };
    let mut lags: Vec<u32> = (0..ctx as u32).collect();
    for &p in &periods {
        for h in 1..=hz {
            lags.push((p * h.div_ceil(p) - h) as u32);
        }
        // The day after the same time one long season ago: with the lags before it, the model
        // sees the season-over-season level change, not just last season's shape.
        lags.extend((p..p + ctx / 3).map(|l| l as u32));
    }
    lags.sort_unstable();
    lags.dedup();

    let mean = y.iter().sum::<f64>() / n as f64;
    let spread = y.iter().map(|v| (v - mean).abs()).sum::<f64>() / n as f64;
    let mut model = ForecastModel {
        context_length: ctx as u32,
        horizon: hz as u32,
        periods: periods.iter().map(|&p| p as u32).collect(),
        lags,
        period_seconds,
        calendar: params.calendar && period_seconds.is_some_and(|p| crate::calendar::calendar_width(p) > 0),
        scale_floor: 1e-6 * spread,
        weights: Vec::new(),
        residual_levels: LEVELS.to_vec(),
        residual_quantiles: Vec::new(),
        residual_mean: Vec::new(),
        baseline: Vec::new(),
        step_correlation: 0.0,
    };
    if let Some(&p) = periods.iter().max() {
        model.baseline = (1..=hz)
            .map(|h| {
                let lag = (p * h.div_ceil(p) - h) as u32;
                // Lags are sorted and deduplicated, and every seasonal lag was pushed above.
                1 + model.lags.binary_search(&lag).unwrap_or(0) as u32
            })
            .collect();
    }
    let layout = model.layout();
    let reach = layout.reach();
    let needed = reach + hz + MIN_ORIGINS - 1;
    if n < needed {
        return Err(ForecastError::HistoryTooShort { needed, got: n });
    }
    let origins = n - reach - hz + 1;
    let width = layout.width();
    let start = timestamps.map(|ts| ts[0]);

    // Design rows and scaled targets.
    let mut x = vec![0.0; origins * width];
    let mut targets = vec![0.0; origins * hz];
    for i in 0..origins {
        let t = reach - 1 + i;
        let (loc, scale) = layout.loc_scale(&y, t);
        let time_t = start.zip(period_seconds).map(|(s, p)| s + p * t as i64);
        layout.row(&y, t, loc, scale, time_t, &mut x[i * width..(i + 1) * width]);
        for h in 0..hz {
            let base = model.baseline.get(h).map_or(0.0, |&c| x[i * width + c as usize]);
            targets[i * hz + h] = (y[t + 1 + h] - loc) / scale - base;
        }
    }

    // Rolling-origin backtest over the most recent origins, in `FOLDS` consecutive blocks: each
    // block is predicted by a fit that only saw targets before the block starts, so its residuals
    // are honest out-of-sample errors; several blocks widen the sample the quantiles come from.
    let n_back = ((origins as f64 * params.backtest_fraction) as usize).max(MIN_ORIGINS / 3);
    let back0 = origins - n_back;
    if back0 < hz - 1 + MIN_ORIGINS / 3 {
        return Err(ForecastError::HistoryTooShort { needed: n + hz - 1 + MIN_ORIGINS / 3 - back0, got: n });
    }
    let folds = FOLDS.min(n_back / (MIN_ORIGINS / 6)).max(1);
    let bounds: Vec<usize> = (0..=folds).map(|k| back0 + k * n_back / folds).collect();
    let grid: Vec<f64> = if params.auto_ridge {
        (-2..=1).map(|e| params.ridge * 10f64.powi(e)).collect()
    } else {
        vec![params.ridge]
    };
    let total = grid.len() + 2;
    let mut acc = Normal::new(width, hz);
    let mut added = 0;
    let mut add_until = |acc: &mut Normal, end: usize| {
        while added < end {
            acc.add(&x[added * width..(added + 1) * width], &targets[added * hz..(added + 1) * hz]);
            added += 1;
        }
    };
    // Normal equations of the data before each block, accumulated once.
    let mut snapshots = Vec::with_capacity(folds);
    for &b in &bounds[..folds] {
        add_until(&mut acc, b + 1 - hz);
        snapshots.push(acc.clone());
    }
    let mae = |r: &[f64]| r.iter().map(|v| v.abs()).sum::<f64>() / r.len() as f64;
    let mut best: Option<(f64, f64, Vec<f64>)> = None;
    for (gi, &lambda) in grid.iter().enumerate() {
        let mut r = Vec::with_capacity(n_back * hz);
        for (k, snap) in snapshots.iter().enumerate() {
            let w =
                snap.solve(lambda).ok_or_else(|| ForecastError::Numerical("singular system".to_string()))?;
            r.extend(residuals(&x, &targets, &w, width, hz, bounds[k]..bounds[k + 1]));
        }
        let m = mae(&r);
        if best.as_ref().is_none_or(|b| m < b.1) {
            best = Some((lambda, m, r));
        }
        progress(gi + 1, total);
    }
    let (lambda, _, res) = best.ok_or_else(|| ForecastError::Numerical("no ridge tried".to_string()))?;
    let mae = mae(&res);
    calibrate(&mut model, &res, n_back, hz);
    progress(total - 1, total);

    add_until(&mut acc, origins);
    let w = acc.solve(lambda).ok_or_else(|| ForecastError::Numerical("singular system".to_string()))?;
    model.weights = transpose(&w, width, hz);
    progress(total, total);
    if !model.weights.iter().chain(&model.residual_quantiles).all(|v| v.is_finite()) {
        return Err(ForecastError::Numerical("non-finite weights".to_string()));
    }
    Ok(Trained {
        model,
        report: TrainReport {
            seasonal_periods: periods,
            ridge: lambda,
            origins,
            backtest_origins: n_back,
            backtest_scaled_mae: mae,
        },
    })
}

/// Scaled residuals (actual − prediction) of rows `range`, row-major `rows × hz`; `w` is `width × hz`.
fn residuals(
    x: &[f64],
    targets: &[f64],
    w: &[f64],
    width: usize,
    hz: usize,
    range: core::ops::Range<usize>,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(range.len() * hz);
    let mut pred = vec![0.0; hz];
    for i in range {
        pred.iter_mut().for_each(|p| *p = 0.0);
        for (j, xj) in x[i * width..(i + 1) * width].iter().enumerate() {
            if *xj != 0.0 {
                for (p, wj) in pred.iter_mut().zip(&w[j * hz..(j + 1) * hz]) {
                    *p += xj * wj;
                }
            }
        }
        out.extend(targets[i * hz..(i + 1) * hz].iter().zip(&pred).map(|(t, p)| t - p));
    }
    out
}

/// Stores per-step residual quantiles, means and the step-to-step residual correlation.
fn calibrate(model: &mut ForecastModel, res: &[f64], rows: usize, hz: usize) {
    let mut quantiles = Vec::with_capacity(hz * LEVELS.len());
    let mut means = Vec::with_capacity(hz);
    let mut col = vec![0.0; rows];
    for h in 0..hz {
        for (r, c) in col.iter_mut().enumerate() {
            *c = res[r * hz + h];
        }
        means.push(col.iter().sum::<f64>() / rows as f64);
        col.sort_unstable_by(f64::total_cmp);
        quantiles.extend(LEVELS.iter().map(|&q| empirical_quantile(&col, q)));
    }
    let mut corr_sum = 0.0;
    let mut pairs = 0;
    for h in 1..hz {
        let a: Vec<f64> = (0..rows).map(|r| res[r * hz + h - 1]).collect();
        let b: Vec<f64> = (0..rows).map(|r| res[r * hz + h]).collect();
        if let Some(c) = pearson(&a, &b) {
            corr_sum += c;
            pairs += 1;
        }
    }
    model.step_correlation = if pairs > 0 { (corr_sum / pairs as f64).clamp(0.0, 0.99) } else { 0.0 };
    model.residual_quantiles = quantiles;
    model.residual_mean = means;
}

/// Type-7 (linear interpolation) quantile of sorted data.
fn empirical_quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// Refuses infinities and constant series; carries values forward over a few NaNs.
fn clean(series: &[f64]) -> Result<Vec<f64>, ForecastError> {
    if let Some(i) = series.iter().position(|v| v.is_infinite()) {
        return Err(ForecastError::NonFinite { index: i, value: format!("{}", series[i]) });
    }
    let missing = series.iter().filter(|v| v.is_nan()).count();
    let allowed = series.len() / 10;
    if missing > allowed || missing == series.len() {
        let first = series.iter().position(|v| v.is_nan()).unwrap_or(0);
        return Err(ForecastError::TooManyMissing { missing, allowed, first });
    }
    let mut last = series.iter().copied().find(|v| !v.is_nan()).unwrap_or(0.0);
    let y: Vec<f64> = series
        .iter()
        .map(|&v| {
            if !v.is_nan() {
                last = v;
            }
            last
        })
        .collect();
    if let Some(first) = y.first()
        && y.iter().all(|v| v == first)
    {
        return Err(ForecastError::ConstantSeries { value: *first });
    }
    Ok(y)
}

/// The common spacing of `ts`, which must match the series length and be strictly increasing.
fn check_timestamps(ts: &[i64], n: usize) -> Result<i64, ForecastError> {
    if ts.len() != n {
        return Err(ForecastError::BadTimestamps(format!("{} timestamps for {} values", ts.len(), n)));
    }
    if n < 2 {
        return Err(ForecastError::BadTimestamps("need at least two timestamps".to_string()));
    }
    let step = ts[1] - ts[0];
    if step <= 0 {
        return Err(ForecastError::BadTimestamps("timestamps must increase".to_string()));
    }
    if let Some(i) = ts.windows(2).position(|w| w[1] - w[0] != step) {
        return Err(ForecastError::BadTimestamps(format!(
            "uneven spacing at index {}: {} s after the previous, expected {} s",
            i + 1,
            ts[i + 1] - ts[i],
            step
        )));
    }
    Ok(step)
}
