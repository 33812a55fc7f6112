//! The one error type of the forecaster, for both training and scoring.

use alloc::string::String;

/// Why a forecast or a training run was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ForecastError {
    /// The history is shorter than the model reads.
    #[error("history has {got} values but this model needs at least {needed}")]
    HistoryTooShort {
        /// Minimum number of values.
        needed: usize,
        /// Number of values given.
        got: usize,
    },
    /// A value is infinite.
    #[error("history[{index}] is not finite ({value})")]
    NonFinite {
        /// Index in the history (or training series).
        index: usize,
        /// The value as text.
        value: String,
    },
    /// More missing values (NaN) than can be imputed safely by carrying the last value forward.
    #[error(
        "{missing} missing (NaN) values in the window read, at most {allowed} are imputed; first at index {first}"
    )]
    TooManyMissing {
        /// Number of NaNs in the window read.
        missing: usize,
        /// How many the model imputes.
        allowed: usize,
        /// Index of the first NaN.
        first: usize,
    },
    /// The requested horizon is 0 or longer than the model was trained for.
    #[error("horizon {requested} is out of range: must be between 1 and {max}")]
    BadHorizon {
        /// Requested horizon.
        requested: usize,
        /// The model's maximum horizon.
        max: usize,
    },
    /// A requested quantile level is not strictly between 0 and 1.
    #[error(
        "quantile level {} is out of range: must be strictly between 0 and 1",
        scorekit_core::decimal::Decimal(*.value)
    )]
    BadQuantile {
        /// The offending level.
        value: f64,
    },
    /// Too many sample paths requested.
    #[error("{requested} sample paths requested, at most {max} are allowed")]
    TooManySamples {
        /// Requested number.
        requested: usize,
        /// The cap.
        max: usize,
    },
    /// The model uses calendar features and the request has no `start` timestamp.
    #[error("this model uses calendar features: give the unix time of history[0] as `start`")]
    MissingStart,
    /// A hyper-parameter is invalid.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// Parameter name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The training series is constant: there is nothing to learn and no scale to learn it in.
    #[error(
        "the training series is constant (every value is {}); nothing to forecast",
        scorekit_core::decimal::Decimal(*.value)
    )]
    ConstantSeries {
        /// The constant value.
        value: f64,
    },
    /// The timestamps do not match the series or are not evenly spaced.
    #[error("timestamps: {0}")]
    BadTimestamps(String),
    /// Missing steps in a timestamped series (under the refusing gap rule).
    #[error(
        "gap in the series: {missing} step(s) of {step} s missing between {after} and {before} (unix seconds); fill it or train with gaps filled"
    )]
    Gap {
        /// Timestamp before the gap.
        after: i64,
        /// Timestamp after the gap.
        before: i64,
        /// Whole steps missing.
        missing: usize,
        /// The series' step in seconds.
        step: i64,
    },
    /// A training table has no column of this name.
    #[error("no column named '{name}' (columns: {available})")]
    UnknownColumn {
        /// The name asked for.
        name: String,
        /// The table's columns, comma separated.
        available: String,
    },
    /// Not exactly one numeric column could be the series' values.
    #[error("name the value column (numeric candidates: {0})")]
    AmbiguousValue(String),
    /// A stored model whose parts do not fit together (damaged or hand-edited).
    #[error("corrupt forecaster: {0}")]
    Corrupt(String),
    /// The linear system could not be solved (should not happen with a positive ridge).
    #[error("numerical failure while fitting: {0}")]
    Numerical(String),
}
