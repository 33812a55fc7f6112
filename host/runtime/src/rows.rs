//! A batch of input rows, encoded once in ABI wire form so it can be copied straight into a
//! module's input buffer.

use scorekit_abi::rows::{write_dense, write_tagged};
use scorekit_core::Cell;

use crate::RuntimeError;

/// Rows to score, explain or stream, already in wire form.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    bytes: Vec<u8>,
    n_rows: usize,
    n_cols: usize,
}

impl Rows {
    /// Rows of loosely typed cells (what CSV, JSON and SQL give): numbers, text (category levels
    /// or numbers as text) and nulls, encoded by the model exactly like the native path does.
    ///
    /// # Errors
    /// [`RuntimeError::Request`] if a row's length differs from `n_cols`.
    pub fn from_cells<'c, R: AsRef<[Cell<'c>]>>(n_cols: usize, rows: &[R]) -> Result<Self, RuntimeError> {
        let mut r = Rows::default();
        r.set_cells(n_cols, rows)?;
        Ok(r)
    }

    /// Already-encoded rows, row-major: categorical inputs as level index, NaN for missing.
    ///
    /// # Errors
    /// [`RuntimeError::Request`] if `n_cols` is 0 or does not divide `values.len()`.
    pub fn dense(n_cols: usize, values: &[f64]) -> Result<Self, RuntimeError> {
        let mut r = Rows::default();
        r.set_dense(n_cols, values)?;
        Ok(r)
    }

    /// Replaces the contents with cells, reusing the buffer.
    ///
    /// # Errors
    /// As [`Rows::from_cells`].
    pub fn set_cells<'c, R: AsRef<[Cell<'c>]>>(
        &mut self,
        n_cols: usize,
        rows: &[R],
    ) -> Result<(), RuntimeError> {
        write_tagged(&mut self.bytes, n_cols, rows)?;
        (self.n_rows, self.n_cols) = (rows.len(), n_cols);
        Ok(())
    }

    /// Replaces the contents with dense values, reusing the buffer.
    ///
    /// # Errors
    /// As [`Rows::dense`].
    pub fn set_dense(&mut self, n_cols: usize, values: &[f64]) -> Result<(), RuntimeError> {
        write_dense(&mut self.bytes, n_cols, values)?;
        (self.n_rows, self.n_cols) = (values.len() / n_cols, n_cols);
        Ok(())
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Values per row.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// The wire bytes (ABI rows request).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}
