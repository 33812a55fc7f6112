//! The browser's answer checks: `scorekit_abi::answers` (the same checks and words as the
//! wasmtime runtime), as the host layer's errors.

use scorekit_abi::{Description, ForecastOutput, ForecastQuery, Rows};
use scorekit_host::{Code, HostError};

pub use scorekit_abi::answers::request_bytes;

/// A malformed answer: the module's fault.
fn bad_output(message: String) -> HostError {
    HostError::new(Code::ModuleFailed, format!("model module gave a malformed answer: {message}"))
}

/// `got` values for `n_rows` rows must be `n_rows × per_row`.
///
/// # Errors
/// [`Code::ModuleFailed`] naming the counts.
pub fn check_count(op: i32, got: usize, n_rows: usize, per_row: usize) -> Result<(), HostError> {
    scorekit_abi::answers::check_count(op, got, n_rows, per_row).map_err(bad_output)
}

/// A forecast must have the horizon, quantiles and samples asked for.
///
/// # Errors
/// [`Code::ModuleFailed`] naming what was asked and what came back.
pub fn check_forecast(query: &ForecastQuery, out: &ForecastOutput) -> Result<(), HostError> {
    scorekit_abi::answers::check_forecast(query, out).map_err(bad_output)
}

/// For a module that cannot number rows from the row base, says where the batch started.
pub fn in_batch(d: &Description, rows: &Rows, e: HostError) -> HostError {
    if e.code == Code::BadInput && !scorekit_abi::answers::numbers_rows(d, rows) {
        return e.context(format!("in the batch starting at row {}", rows.row_base() + 1));
    }
    e
}
