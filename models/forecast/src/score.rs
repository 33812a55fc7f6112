//! Scoring: history in, mean / quantiles / sample paths out. `no_std`, deterministic, never panics
//! on bad input.

use alloc::vec;
use alloc::vec::Vec;
use scorekit_core::math;
use scorekit_core::rng::Rng;

use crate::error::ForecastError;
use crate::model::{Forecast, ForecastModel, ForecastRequest, MAX_SAMPLES};

/// Share of the window read that may be missing and still be imputed by carrying forward.
const MISSING_SHARE: usize = 10;

impl ForecastModel {
    /// Forecasts the steps after `history` (oldest first, evenly spaced).
    ///
    /// Up to one value in ten of the window read may be NaN (imputed by carrying the previous
    /// value forward); infinities are refused.
    ///
    /// # Errors
    /// [`ForecastError::BadHorizon`], [`ForecastError::BadQuantile`],
    /// [`ForecastError::TooManySamples`], [`ForecastError::HistoryTooShort`],
    /// [`ForecastError::NonFinite`], [`ForecastError::TooManyMissing`],
    /// [`ForecastError::MissingStart`].
    pub fn forecast(&self, history: &[f64], req: &ForecastRequest) -> Result<Forecast, ForecastError> {
        let max = self.max_horizon();
        if req.horizon == 0 || req.horizon > max {
            return Err(ForecastError::BadHorizon { requested: req.horizon, max });
        }
        if let Some(&q) = req.quantiles.iter().find(|q| !(**q > 0.0 && **q < 1.0)) {
            return Err(ForecastError::BadQuantile { value: q });
        }
        if req.num_samples > MAX_SAMPLES {
            return Err(ForecastError::TooManySamples { requested: req.num_samples, max: MAX_SAMPLES });
        }
        let layout = self.layout();
        let reach = layout.reach();
        if history.len() < reach {
            return Err(ForecastError::HistoryTooShort { needed: reach, got: history.len() });
        }
        // Up to the full reach: seasonal means average every season the history holds.
        let offset = history.len() - history.len().min(self.useful_history());
        let window = impute(&history[offset..], offset)?;
        let time_t = if self.calendar {
            let start = req.start.ok_or(ForecastError::MissingStart)?;
            let p = self.period_seconds.unwrap_or(0);
            Some(start.saturating_add(p.saturating_mul(history.len() as i64 - 1)))
        } else {
            None
        };

        let t = window.len() - 1;
        let (loc, scale) = layout.loc_scale(&window, t);
        let width = layout.width();
        let mut row = vec![0.0; width];
        layout.row(&window, t, loc, scale, time_t, &mut row);
        let pw = if self.profile_on() { self.profile.weight } else { 0.0 };
        let base: Vec<f64> = (0..req.horizon)
            .map(|h| {
                let fit: f64 =
                    self.weights[h * width..(h + 1) * width].iter().zip(&row).map(|(w, x)| w * x).sum();
                let ridge = fit + self.baseline.get(h).map_or(0.0, |&c| row[c as usize]);
                let pw =
                    if self.profile_on() { self.profile_steps.get(h).copied().unwrap_or(pw) } else { 0.0 };
                match self.profile.forecast(&window, t, h + 1) {
                    Some(p) if pw > 0.0 => (1.0 - pw) * ridge + pw * (p - loc) / scale,
                    _ => ridge,
                }
            })
            .collect();

        let mean = (0..req.horizon).map(|h| loc + scale * (base[h] + self.residual_mean[h])).collect();
        let quantiles = req
            .quantiles
            .iter()
            .map(|&q| {
                (q, (0..req.horizon).map(|h| loc + scale * (base[h] + self.residual_at(h, q))).collect())
            })
            .collect();

        let mut samples = Vec::with_capacity(req.num_samples);
        if req.num_samples > 0 {
            let mut rng = Rng::seed_from_u64(req.seed);
            let rho = self.step_correlation;
            let innov = math::sqrt(1.0 - rho * rho);
            for _ in 0..req.num_samples {
                let mut z = rng.next_normal();
                let mut path = Vec::with_capacity(req.horizon);
                for (h, b) in base.iter().enumerate() {
                    if h > 0 {
                        z = rho * z + innov * rng.next_normal();
                    }
                    path.push(loc + scale * (b + self.residual_at(h, normal_cdf(z))));
                }
                samples.push(path);
            }
        }
        Ok(Forecast { mean, quantiles, samples })
    }

    /// Scaled residual quantile of step `h` at level `q`: linear between stored levels, linear
    /// extrapolation of the end segments beyond them (so sample tails are not cut at the grid).
    pub(crate) fn residual_at(&self, h: usize, q: f64) -> f64 {
        let lv = &self.residual_levels;
        let k = lv.len();
        let qs = &self.residual_quantiles[h * k..(h + 1) * k];
        if k == 1 {
            return qs[0];
        }
        let i = match lv.iter().position(|&l| l >= q) {
            Some(0) => 1,
            Some(i) => i,
            None => k - 1,
        };
        let (l0, l1, v0, v1) = (lv[i - 1], lv[i], qs[i - 1], qs[i]);
        v0 + (v1 - v0) * (q - l0) / (l1 - l0)
    }
}

/// Carries the last value forward over NaNs (leading NaNs take the first finite value).
fn impute(w: &[f64], offset: usize) -> Result<Vec<f64>, ForecastError> {
    if let Some(i) = w.iter().position(|v| v.is_infinite()) {
        return Err(ForecastError::NonFinite {
            index: offset + i,
            value: scorekit_core::decimal::to_text(w[i]),
        });
    }
    let missing = w.iter().filter(|v| v.is_nan()).count();
    if missing == 0 {
        return Ok(w.to_vec());
    }
    let allowed = w.len() / MISSING_SHARE;
    let first = w.iter().position(|v| v.is_nan()).unwrap_or(0);
    if missing > allowed {
        return Err(ForecastError::TooManyMissing { missing, allowed, first: offset + first });
    }
    let mut last = w.iter().copied().find(|v| !v.is_nan()).unwrap_or(0.0);
    Ok(w.iter()
        .map(|&v| {
            if !v.is_nan() {
                last = v;
            }
            last
        })
        .collect())
}

/// Standard normal CDF via erfc (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), built on
/// `scorekit_core::math::exp` so it is bit-identical on every target.
pub(crate) fn normal_cdf(z: f64) -> f64 {
    let x = math::abs(z) / core::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * math::exp(-x * x);
    let upper = 0.5 * erfc;
    if z >= 0.0 { 1.0 - upper } else { upper }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-9);
        assert!((normal_cdf(1.281_551_6) - 0.9).abs() < 1e-6);
        assert!((normal_cdf(-1.959_964) - 0.025).abs() < 1e-6);
    }

    #[test]
    fn impute_carries_forward_and_limits() {
        let w = [
            f64::NAN,
            1.0,
            2.0,
            f64::NAN,
            4.0,
            5.0,
            6.0,
            7.0,
            8.0,
            9.0,
            10.0,
            11.0,
            12.0,
            13.0,
            14.0,
            15.0,
            16.0,
            17.0,
            18.0,
            19.0,
        ];
        assert_eq!(&impute(&w, 0).unwrap()[..5], &[1.0, 1.0, 2.0, 2.0, 4.0]);
        let mut bad = w;
        bad[5] = f64::NAN;
        assert_eq!(
            impute(&bad, 7).unwrap_err(),
            ForecastError::TooManyMissing { missing: 3, allowed: 2, first: 7 }
        );
        bad[5] = f64::INFINITY;
        assert!(matches!(impute(&bad, 7).unwrap_err(), ForecastError::NonFinite { index: 12, .. }));
    }
}
