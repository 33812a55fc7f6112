//! The one error type of this crate: bad input to scoring, bad hyper-parameters or training data,
//! and structurally invalid model files.

use alloc::string::String;

/// Why a model could not be trained, loaded or scored.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GbtError {
    /// A batch or output buffer does not have the length the model needs.
    #[error("expected {expected} values for {what}, got {got}")]
    Shape {
        /// What was being sized (e.g. `"rows"`, `"contributions"`).
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// A hyper-parameter is out of its valid range.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParam {
        /// Parameter name as in `GbtParams`.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The training data is unusable as a whole (empty, mismatched lengths, too many levels, …).
    #[error("invalid training data: {0}")]
    InvalidData(String),
    /// One training target value is unusable (not 0/1 for a binary model, not finite).
    #[error("row {row}: invalid target {value} ({reason})")]
    InvalidTarget {
        /// Row index in the training data.
        row: usize,
        /// The value, as text (it may be NaN).
        value: String,
        /// What a valid target looks like.
        reason: &'static str,
    },
    /// One training feature value is unusable (an infinity, or a category index out of range).
    #[error("row {row}, feature {feature}: invalid value {value} ({reason})")]
    InvalidFeature {
        /// Row index in the training data.
        row: usize,
        /// Feature (column) index.
        feature: usize,
        /// The value, as text.
        value: String,
        /// What a valid value looks like.
        reason: &'static str,
    },
    /// A deserialised model breaks a structural invariant (dangling child, bad bitset range, …).
    #[error("invalid model: {0}")]
    InvalidModel(String),
}
