//! Errors about the data handed to a model. Every variant names the row (counted from 1 within
//! the batch) and the column, so that a host can point its user at the exact cell.

use alloc::string::String;

/// Input that a model cannot score.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The row has the wrong number of cells.
    #[error("row {row}: expected {expected} values, got {got}")]
    Arity {
        /// Row number in the batch, counted from 1 (hosts pass the offset they want).
        row: usize,
        /// Number of inputs in the schema.
        expected: usize,
        /// Number of cells given.
        got: usize,
    },
    /// A numeric column holds text that is not a number.
    #[error("row {row}, column '{column}': expected a number, got '{value}'")]
    NotANumber {
        /// Row number in the batch, counted from 1 (hosts pass the offset they want).
        row: usize,
        /// Column name.
        column: String,
        /// The offending text (truncated).
        value: String,
    },
    /// A numeric column holds NaN or an infinity where the model needs a finite value.
    #[error("row {row}, column '{column}': value must be finite, got {value}")]
    NotFinite {
        /// Row number in the batch, counted from 1 (hosts pass the offset they want).
        row: usize,
        /// Column name.
        column: String,
        /// The value as text.
        value: String,
    },
    /// A categorical column holds a level the model never saw in training.
    #[error("row {row}, column '{column}': unknown category '{value}' (known: {known})")]
    UnknownCategory {
        /// Row number in the batch, counted from 1 (hosts pass the offset they want).
        row: usize,
        /// Column name.
        column: String,
        /// The offending level (truncated).
        value: String,
        /// A short list of the known levels.
        known: String,
    },
    /// A value is missing where the model cannot accept a missing value.
    #[error("row {row}, column '{column}': value is missing (null) and this model needs it")]
    Missing {
        /// Row number in the batch, counted from 1 (hosts pass the offset they want).
        row: usize,
        /// Column name.
        column: String,
    },
    /// Input that is wrong as a whole (too short a history, a constant series, …).
    #[error("{0}")]
    Invalid(String),
}
