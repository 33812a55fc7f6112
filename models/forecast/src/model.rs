//! The trained model and the request/response types of a forecast.

use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::ForecastError;
use crate::features::Layout;
use crate::profile::Profile;

/// Most sample paths one request may ask for: each path is `horizon` values, so this bounds the
/// response at 1000 × horizon numbers.
pub const MAX_SAMPLES: usize = 1000;

/// A trained forecaster: per-horizon-step ridge weights on a window-scaled design, plus the
/// backtest residual quantiles that calibrate its intervals.
///
/// Every field is finite (no NaN/∞ is ever stored) so the JSON artifact always reloads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastModel {
    pub(crate) context_length: u32,
    pub(crate) horizon: u32,
    /// Seasonal periods (in steps) the model was built with, longest last.
    pub(crate) periods: Vec<u32>,
    /// Back offsets read from the origin, ascending.
    pub(crate) lags: Vec<u32>,
    /// Seasonal means `[first, step, count]` (see the crate docs), after the lags in the design.
    pub(crate) means: Vec<[u32; 3]>,
    /// Sampling period in seconds, when timestamps were given at training.
    pub(crate) period_seconds: Option<i64>,
    /// Whether hour-of-day / day-of-week one-hots are part of the design.
    pub(crate) calendar: bool,
    /// Smallest window scale (a fraction of the training series' scale).
    pub(crate) scale_floor: f64,
    /// `horizon × width` weights, row-major by horizon step.
    pub(crate) weights: Vec<f64>,
    /// Quantile levels of the stored residual grid, ascending in (0, 1).
    pub(crate) residual_levels: Vec<f64>,
    /// `horizon × residual_levels.len()` scaled backtest residual quantiles, ascending per step.
    pub(crate) residual_quantiles: Vec<f64>,
    /// Bias correction of the mean forecast per step (a share of the mean scaled backtest residual).
    pub(crate) residual_mean: Vec<f64>,
    /// Per step, the design column (1-based lag position) of the same slot one longest season
    /// ago: the regression predicts the change from it, so the ridge shrinks toward seasonal
    /// naive rather than toward the window mean. Empty when the model has no seasonal period.
    pub(crate) baseline: Vec<u32>,
    /// Correlation of consecutive steps' residuals, for sample paths; in [0, 0.99].
    pub(crate) step_correlation: f64,
    /// The seasonal-profile component blended into the mean (weight 0 = ridge only).
    pub(crate) profile: Profile,
    /// Per-step blend weights of the profile (empty: `profile.weight` for every step).
    pub(crate) profile_steps: Vec<f64>,
}

/// What to forecast from a history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastRequest {
    /// Number of steps ahead, 1 ..= [`ForecastModel::max_horizon`].
    pub horizon: usize,
    /// Quantile levels wanted, each strictly inside (0, 1), any order.
    pub quantiles: Vec<f64>,
    /// Number of sample paths (0 for none), at most [`MAX_SAMPLES`].
    pub num_samples: usize,
    /// Seed of the sample paths: same seed, same paths, on every target.
    pub seed: u64,
    /// Unix seconds of `history[0]`; required when the model uses calendar features.
    pub start: Option<i64>,
}

impl Default for ForecastRequest {
    fn default() -> Self {
        ForecastRequest {
            horizon: 1,
            quantiles: alloc::vec![0.1, 0.5, 0.9],
            num_samples: 0,
            seed: 0,
            start: None,
        }
    }
}

/// A forecast: per horizon step, the mean, the requested quantiles and sample paths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// Mean forecast per step.
    pub mean: Vec<f64>,
    /// `(level, values per step)` in the order requested.
    pub quantiles: Vec<(f64, Vec<f64>)>,
    /// `num_samples` paths of `horizon` values each.
    pub samples: Vec<Vec<f64>>,
}

impl ForecastModel {
    /// Number of recent values that set the window's level and scale.
    pub fn context_length(&self) -> usize {
        self.context_length as usize
    }

    /// Longest horizon the model forecasts.
    pub fn max_horizon(&self) -> usize {
        self.horizon as usize
    }

    /// Sampling period in seconds, when the model was trained with timestamps.
    pub fn period_seconds(&self) -> Option<i64> {
        self.period_seconds
    }

    /// Seasonal periods (in steps) the model reads lags for.
    pub fn seasonal_periods(&self) -> &[u32] {
        &self.periods
    }

    /// Whether a request must carry `start` (calendar features are on).
    pub fn uses_calendar(&self) -> bool {
        self.calendar
    }

    /// Shortest history accepted: the context, or one long season back to the oldest lag read.
    pub fn min_history(&self) -> usize {
        self.layout().reach()
    }

    /// History length beyond which more values change nothing (seasonal means and the profile
    /// component average every season they are given, up to their limits).
    pub fn useful_history(&self) -> usize {
        let profile = if self.profile_on() { self.profile.reach() } else { 0 };
        self.layout().full_reach().max(profile)
    }

    /// Checks that the stored parts fit together (lengths, ranges, finiteness), so that a damaged
    /// or hand-edited artifact is refused when it is loaded instead of failing while scoring.
    ///
    /// # Errors
    /// [`ForecastError::Corrupt`] naming the first inconsistency.
    pub fn check(&self) -> Result<(), ForecastError> {
        let bad = |m: &str| Err(ForecastError::Corrupt(m.into()));
        let hz = self.horizon as usize;
        if hz == 0 || self.context_length == 0 {
            return bad("horizon and context length must be at least 1");
        }
        if self.lags.windows(2).any(|w| w[0] >= w[1]) {
            return bad("lags must be strictly ascending");
        }
        if self.means.iter().any(|m| m[1] == 0 || m[2] == 0) {
            return bad("a seasonal mean has a zero step or count");
        }
        if self.period_seconds.is_some_and(|p| p <= 0) {
            return bad("the sampling period must be positive");
        }
        let width = self.layout().width();
        if self.weights.len() != hz * width {
            return bad("weights do not match horizon × design width");
        }
        let k = self.residual_levels.len();
        if k == 0 || self.residual_levels.windows(2).any(|w| w[0] >= w[1]) {
            return bad("residual levels must be ascending");
        }
        if self.residual_levels.iter().any(|l| !(*l > 0.0 && *l < 1.0)) {
            return bad("residual levels must lie in (0, 1)");
        }
        if self.residual_quantiles.len() != hz * k || self.residual_mean.len() != hz {
            return bad("residual tables do not match the horizon");
        }
        if !(self.baseline.is_empty() || self.baseline.len() == hz)
            || self.baseline.iter().any(|&c| c as usize >= width)
        {
            return bad("baseline columns do not match the design");
        }
        if !(self.profile_steps.is_empty() || self.profile_steps.len() == hz)
            || self.profile_steps.iter().chain([&self.profile.weight]).any(|w| !(0.0..=1.0).contains(w))
        {
            return bad("profile weights must be in [0, 1], one per step");
        }
        let numbers = self.weights.iter().chain(&self.residual_quantiles).chain(&self.residual_mean);
        if numbers.chain([&self.scale_floor, &self.step_correlation]).any(|v| !v.is_finite())
            || !(0.0..1.0).contains(&self.step_correlation)
            || self.scale_floor < 0.0
        {
            return bad("non-finite or out-of-range numbers");
        }
        Ok(())
    }

    /// Whether the profile component takes part in any step's forecast.
    pub(crate) fn profile_on(&self) -> bool {
        self.profile.is_on() || (self.profile.period > 0 && self.profile_steps.iter().any(|w| *w > 0.0))
    }

    pub(crate) fn layout(&self) -> Layout<'_> {
        Layout {
            context_length: self.context_length as usize,
            lags: &self.lags,
            means: &self.means,
            calendar: if self.calendar { self.period_seconds } else { None },
            scale_floor: self.scale_floor,
        }
    }
}
