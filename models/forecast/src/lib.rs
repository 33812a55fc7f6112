//! Autoregressive quantile forecaster: the job SageMaker DeepAR does, for one hourly-style metric
//! (CPU, load, demand), trained in milliseconds and scored inside a Wasm module.
//!
//! Main design choice: a **direct multi-horizon ridge regression on a shared, window-scaled
//! design**. Each forecast origin becomes one row: the last `context_length` values; for each
//! seasonal period, the values one season ago that line up with the horizon plus the
//! origin's own slot a season ago and the values before it, `context_length / 3` in all (lags 120‥191 for a
//! weekly period, horizon 48, context 72: last week's shape and the week-over-week level change);
//! and optional hour-of-day / day-of-week one-hots at the origin; all divided by the window's
//! mean-absolute deviation around its mean (DeepAR-style scaling, so one model serves any level).
//! Each step predicts the change from the same slot one (longest) season ago, so the ridge
//! shrinks toward seasonal naive rather than toward a flat line. Because every horizon step reads
//! the same row, one Gram matrix and one Cholesky factorisation
//! give all `horizon` linear models at once. Uncertainty is not assumed Gaussian: the
//! quantiles are the empirical quantiles of rolling-origin backtest residuals per horizon step
//! (three blocks over the most recent half of the origins, each predicted by a fit on the data
//! before it), widened or narrowed around their median by the factor that makes the quantiles
//! of the earlier blocks cover the later ones at 80 % (a time-split conformal check, so the
//! intervals carry the drift the training data shows), stored in the model; sample paths draw
//! from them through a Gaussian copula whose step-to-step correlation is also measured on the
//! backtest.
//!
//! Scoring ([`ForecastModel::forecast`]) is `no_std` + `alloc` and uses only
//! [`scorekit_core::math`], so native and Wasm forecasts are bit-identical. Training
//! (`train` feature) is native-only.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod calendar;
mod error;
mod features;
pub mod metrics;
mod model;
mod profile;
mod score;

#[cfg(feature = "train")]
mod params;
#[cfg(feature = "train")]
pub mod train;

pub use error::ForecastError;
pub use model::{Forecast, ForecastModel, ForecastRequest, MAX_SAMPLES};
#[cfg(feature = "train")]
pub use params::ForecastParams;
#[cfg(feature = "train")]
pub use train::{Member, TrainReport, Trained, train, train_global};
