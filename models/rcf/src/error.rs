//! The one error type of the crate. Every scoring and update path validates its input first and
//! returns one of these instead of panicking, leaving the model untouched.

use alloc::string::String;

/// Why a model could not be built, updated, scored or loaded.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RcfError {
    /// A hyper-parameter is out of range.
    #[error("invalid parameter '{name}': {reason}")]
    InvalidParam {
        /// Parameter name as in [`crate::RcfConfig`].
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A reading has the wrong number of values.
    #[error("reading has {got} values, the model expects {expected}")]
    WrongLength {
        /// Values per reading the model was configured with.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A reading holds NaN or an infinity.
    #[error("reading value {index} must be finite, got {}", scorekit_core::decimal::Decimal(*.value))]
    NotFinite {
        /// Position of the value within the reading.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// Training data whose length is not a whole number of readings.
    #[error("training data has {len} values, not a multiple of {dimensions} values per reading")]
    RaggedData {
        /// Number of values given.
        len: usize,
        /// Values per reading.
        dimensions: usize,
    },
    /// A training table has no column of this name.
    #[error("no column named '{name}' (columns: {available})")]
    UnknownColumn {
        /// The name asked for.
        name: String,
        /// The table's columns, comma separated.
        available: String,
    },
    /// No numeric column is left to read as the reading's values.
    #[error("no numeric value columns to read (name the value columns explicitly)")]
    NoValueColumns,
    /// A deserialised model whose internal structure is inconsistent (damaged or hand-edited).
    #[error("corrupt random cut forest state: {0}")]
    Corrupt(String),
}
