//! The operations every host performs on an artifact: score, explain, forecast, and the RCF
//! streaming calls. The Wasm guest and the native CLI both call exactly these functions, which
//! is what makes their outputs identical.
//!
//! Rows are numbered from 1 within a batch in every message, on every host.
//!
//! Rows arrive already encoded ([`scorekit_core::encode_row`]): `f64`s, row-major, one column per
//! schema input, categorical levels as their index, NaN for missing.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use scorekit_abi::{Layout, RowsRequest, WireError};
use scorekit_core::decimal::Decimal;
use scorekit_core::{Cell, Encoder, FieldKind, InputError};
#[cfg(feature = "forecast")]
use scorekit_forecast::{Forecast, ForecastRequest};

use crate::{Artifact, Model};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpsError {
    /// The input is wrong (names row and column where it can).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The model rejected the input or request (message from the family crate).
    #[error("{0}")]
    Model(String),
    /// The request bytes are malformed.
    #[error("malformed request: {0}")]
    Wire(#[from] WireError),
    /// The operation does not exist for this family.
    #[error("operation '{operation}' is not supported by a {family} model")]
    Unsupported {
        /// The operation asked for.
        operation: &'static str,
        /// The model's family.
        family: &'static str,
    },
}

fn model_err(e: impl core::fmt::Display) -> OpsError {
    OpsError::Model(e.to_string())
}

/// Per-row values of [`Artifact::score_update`]: score, grade, is_anomaly (0/1), threshold.
pub const STREAM_OUTPUTS: usize = 4;

impl Artifact {
    /// Number of input columns.
    pub fn arity(&self) -> usize {
        self.schema.inputs.len()
    }

    /// Values [`Artifact::score`] writes per row.
    pub fn outputs_per_row(&self) -> usize {
        1
    }

    /// Values [`Artifact::explain`] writes per row: one per input, then the base value
    /// (GBT: expected margin; RCF: the score the attributions sum to).
    pub fn explanations_per_row(&self) -> usize {
        self.arity() + 1
    }

    /// Encodes `n_rows` rows of cells (row-major, [`Artifact::arity`] per row) into `out`.
    ///
    /// # Errors
    /// [`InputError`] naming the row (offset by `first_row`) and column.
    pub fn encode(&self, cells: &[Cell<'_>], first_row: usize, out: &mut Vec<f64>) -> Result<(), InputError> {
        self.encode_with(&self.encoder(), cells, first_row, out)
    }

    /// The level index of this artifact's inputs: built once by a host that keeps the artifact
    /// (the guest, the native scorer) and passed to [`Artifact::decode_rows_with`].
    pub fn encoder(&self) -> Encoder {
        Encoder::new(&self.schema.inputs)
    }

    /// [`Artifact::encode`] with `encoder` (from [`Artifact::encoder`] of this artifact).
    ///
    /// # Errors
    /// As [`Artifact::encode`].
    pub fn encode_with(
        &self,
        encoder: &Encoder,
        cells: &[Cell<'_>],
        first_row: usize,
        out: &mut Vec<f64>,
    ) -> Result<(), InputError> {
        let width = encoder.inputs().len();
        if width == 0 || !cells.len().is_multiple_of(width) {
            return Err(InputError::Arity {
                row: first_row,
                expected: width,
                got: cells.len() % width.max(1),
            });
        }
        let start = out.len();
        out.resize(start + cells.len(), 0.0);
        for (i, (row, dst)) in cells.chunks(width).zip(out[start..].chunks_mut(width)).enumerate() {
            encoder.encode_row(row, first_row + i, dst)?;
        }
        Ok(())
    }

    /// Decodes a rows request (ABI wire form) into encoded rows, and the number of its first row
    /// in messages (`row_base + 1`): what the guest and the native host both do with a request.
    /// Tagged cells go through [`scorekit_core::encode_row`]'s rules; dense values are checked
    /// the way a level index or a number would be, so a bad dense value is an error, never a
    /// silent miss. Indexes the levels for this call; a host that keeps the artifact calls
    /// [`Artifact::decode_rows_with`] with an index it keeps.
    ///
    /// # Errors
    /// Malformed bytes, a wrong number of columns, or a value the schema refuses.
    pub fn decode_rows(&self, req: &[u8]) -> Result<(Vec<f64>, usize), OpsError> {
        self.decode_rows_by(req, None)
    }

    /// [`Artifact::decode_rows`] with `encoder` (from [`Artifact::encoder`] of this artifact).
    ///
    /// # Errors
    /// As [`Artifact::decode_rows`].
    pub fn decode_rows_with(&self, req: &[u8], encoder: &Encoder) -> Result<(Vec<f64>, usize), OpsError> {
        self.decode_rows_by(req, Some(encoder))
    }

    fn decode_rows_by(&self, req: &[u8], encoder: Option<&Encoder>) -> Result<(Vec<f64>, usize), OpsError> {
        let mut out = Vec::new();
        let first_row = self.decode_rows_into(req, encoder, &mut out)?;
        Ok((out, first_row))
    }

    /// [`Artifact::decode_rows_with`] into a caller-owned buffer (cleared first; the guest keeps
    /// one per instance, so a call allocates nothing for its rows). Returns the first row's number.
    ///
    /// # Errors
    /// As [`Artifact::decode_rows`].
    pub fn decode_rows_into(
        &self,
        req: &[u8],
        encoder: Option<&Encoder>,
        out: &mut Vec<f64>,
    ) -> Result<usize, OpsError> {
        out.clear();
        let rows = RowsRequest::decode(req)?;
        let arity = self.arity();
        let first_row = rows.row_base as usize + 1;
        if rows.n_cols != arity {
            return Err(OpsError::Input(InputError::Invalid(alloc::format!(
                "expected {arity} values per row (the model's inputs), got {}",
                rows.n_cols
            ))));
        }
        out.reserve(rows.n_rows * arity);
        match rows.layout {
            Layout::Tagged => {
                let mut cur = rows.cursor();
                let mut cells: Vec<Cell<'_>> = Vec::with_capacity(rows.n_rows * arity);
                let mut row = Vec::with_capacity(arity);
                while cur.next_cells(&mut row)? {
                    cells.extend_from_slice(&row);
                }
                match encoder {
                    Some(e) => self.encode_with(e, &cells, first_row, out)?,
                    None => self.encode(&cells, first_row, out)?,
                }
            }
            Layout::Dense => {
                rows.dense_values_into(out)?;
                self.check_dense(out, first_row)?;
            }
        }
        Ok(first_row)
    }

    fn check_dense(&self, values: &[f64], first_row: usize) -> Result<(), OpsError> {
        let inputs = &self.schema.inputs;
        for (r, row) in values.chunks(inputs.len().max(1)).enumerate() {
            for (field, &x) in inputs.iter().zip(row) {
                let bad = match &field.kind {
                    _ if x.is_nan() => None,
                    FieldKind::Numeric if x.is_infinite() => {
                        Some(alloc::format!("value must be finite, got {}", Decimal(x)))
                    }
                    FieldKind::Categorical { levels } if field.level_named_by(x).is_none() => {
                        Some(alloc::format!("level index {} is not one of 0..{}", Decimal(x), levels.len()))
                    }
                    _ => None,
                };
                if let Some(msg) = bad {
                    return Err(OpsError::Input(InputError::Invalid(alloc::format!(
                        "row {}, column '{}': {msg}",
                        first_row + r,
                        field.name
                    ))));
                }
            }
        }
        Ok(())
    }

    fn rows_of<'a>(&self, rows: &'a [f64]) -> Result<core::slice::ChunksExact<'a, f64>, OpsError> {
        let width = self.arity();
        if width == 0 || !rows.len().is_multiple_of(width) {
            return Err(OpsError::Input(InputError::Invalid(alloc::format!(
                "expected a multiple of {width} values (the model's inputs per row), got {}",
                rows.len()
            ))));
        }
        Ok(rows.chunks_exact(width))
    }

    /// Scores encoded rows, appending [`Artifact::outputs_per_row`] values per row to `out`.
    /// GBT: probability (or regression value). RCF: anomaly score of each reading, shingled in
    /// order after the current stream state, without changing any state.
    ///
    /// # Errors
    /// Wrong width, input the family rejects, or a forecaster (use [`Artifact::forecast`]).
    #[cfg_attr(not(any(feature = "gbt", feature = "rcf")), allow(unused_variables, clippy::ptr_arg))]
    pub fn score(&self, rows: &[f64], out: &mut Vec<f64>) -> Result<(), OpsError> {
        self.score_with(rows, out, |_, _| false)
    }

    /// [`Artifact::score`], with a GBT model's margins computed by `margins` when it returns
    /// `true` (`GbtModel::predict_batch_with`: the guest passes the tree code that `host compile`
    /// generated into the module). Other families never call it.
    ///
    /// # Errors
    /// As [`Artifact::score`].
    #[cfg_attr(not(any(feature = "gbt", feature = "rcf")), allow(clippy::ptr_arg))]
    #[cfg_attr(not(feature = "gbt"), allow(unused_variables))]
    pub fn score_with(
        &self,
        rows: &[f64],
        out: &mut Vec<f64>,
        margins: impl FnOnce(&[f64], &mut [f64]) -> bool,
    ) -> Result<(), OpsError> {
        let chunks = self.rows_of(rows)?;
        match &self.model {
            #[cfg(feature = "gbt")]
            Model::Gbt(m) => {
                let start = out.len();
                out.resize(start + chunks.len(), 0.0);
                m.predict_batch_with(rows, &mut out[start..], margins).map_err(model_err)
            }
            #[cfg(feature = "rcf")]
            Model::Rcf(m) => {
                let start = out.len();
                out.resize(start + chunks.len(), 0.0);
                m.score_sequence(rows, &mut out[start..]).map_err(model_err)
            }
            other => Err(OpsError::Unsupported { operation: "score", family: other.family().as_str() }),
        }
    }

    /// Explains encoded rows, appending [`Artifact::explanations_per_row`] values per row.
    ///
    /// # Errors
    /// As [`Artifact::score`].
    #[cfg_attr(not(any(feature = "gbt", feature = "rcf")), allow(unused_variables, clippy::ptr_arg))]
    pub fn explain(&self, rows: &[f64], out: &mut Vec<f64>) -> Result<(), OpsError> {
        let chunks = self.rows_of(rows)?;
        match &self.model {
            #[cfg(feature = "gbt")]
            Model::Gbt(m) => {
                let width = self.arity();
                for row in chunks {
                    let start = out.len();
                    out.resize(start + width + 1, 0.0);
                    m.contributions(row, &mut out[start..]).map_err(model_err)?;
                }
                Ok(())
            }
            #[cfg(feature = "rcf")]
            Model::Rcf(m) => {
                for row in chunks {
                    let attribution = m.attribution(row).map_err(model_err)?;
                    let total: f64 = attribution.iter().sum();
                    out.extend_from_slice(&attribution);
                    out.push(total);
                }
                Ok(())
            }
            other => Err(OpsError::Unsupported { operation: "explain", family: other.family().as_str() }),
        }
    }

    /// Forecasts from `history`. A request horizon of 0 means the model's own horizon.
    #[cfg(feature = "forecast")]
    ///
    /// # Errors
    /// Bad history or request, or a model that is not a forecaster.
    pub fn forecast(&self, history: &[f64], request: &ForecastRequest) -> Result<Forecast, OpsError> {
        match &self.model {
            Model::Forecast(m) if request.horizon == 0 => {
                let request = ForecastRequest { horizon: m.max_horizon(), ..request.clone() };
                m.forecast(history, &request).map_err(model_err)
            }
            Model::Forecast(m) => m.forecast(history, request).map_err(model_err),
            other => Err(OpsError::Unsupported { operation: "forecast", family: other.family().as_str() }),
        }
    }
}

/// The streaming operations (RCF).
#[cfg(feature = "rcf")]
impl Artifact {
    fn rcf_mut(&mut self, operation: &'static str) -> Result<&mut scorekit_rcf::RcfModel, OpsError> {
        match &mut self.model {
            Model::Rcf(m) => Ok(m),
            other => Err(OpsError::Unsupported { operation, family: other.family().as_str() }),
        }
    }

    /// Feeds readings into the forest without scoring them. `first_row` is the number of the
    /// first row in messages (1 unless the host sends a batch from the middle of its input).
    ///
    /// # Errors
    /// Non-RCF model, wrong width, non-finite values: the whole batch is checked first, so on
    /// an error the state is unchanged.
    pub fn update(&mut self, rows: &[f64], first_row: usize) -> Result<(), OpsError> {
        let width = self.arity();
        let chunks: Vec<&[f64]> = self.rows_of(rows)?.collect();
        let m = self.rcf_mut("update")?;
        check_all(m, &chunks, first_row, width)?;
        for (i, row) in chunks.into_iter().enumerate() {
            m.update(row).map_err(|e| row_err(first_row + i, width, e))?;
        }
        Ok(())
    }

    /// The streaming path: scores each reading, then learns from it. Appends
    /// [`STREAM_OUTPUTS`] values per row: score, grade, is_anomaly (0/1), threshold. `first_row`
    /// as in [`Artifact::update`].
    ///
    /// # Errors
    /// As [`Artifact::update`] (the state is unchanged on an error).
    pub fn score_update(
        &mut self,
        rows: &[f64],
        first_row: usize,
        out: &mut Vec<f64>,
    ) -> Result<(), OpsError> {
        let width = self.arity();
        let chunks: Vec<&[f64]> = self.rows_of(rows)?.collect();
        let m = self.rcf_mut("score_update")?;
        check_all(m, &chunks, first_row, width)?;
        for (i, row) in chunks.into_iter().enumerate() {
            let r = m.score_then_update(row).map_err(|e| row_err(first_row + i, width, e))?;
            out.extend_from_slice(&[r.score, r.grade, if r.is_anomaly { 1.0 } else { 0.0 }, r.threshold]);
        }
        Ok(())
    }

    /// The streaming state (the RCF model itself) as bytes.
    ///
    /// # Errors
    /// Non-RCF model.
    pub fn export_state(&self) -> Result<Vec<u8>, OpsError> {
        match &self.model {
            Model::Rcf(m) => Ok(postcard::to_allocvec(m).map_err(model_err)?),
            other => {
                Err(OpsError::Unsupported { operation: "export_state", family: other.family().as_str() })
            }
        }
    }

    /// Replaces the streaming state with bytes from [`Artifact::export_state`]. The state must
    /// belong to a forest of the same shape (dimensions, shingle size).
    ///
    /// # Errors
    /// Non-RCF model, corrupt bytes, or a state of another shape; the current state is kept.
    pub fn import_state(&mut self, bytes: &[u8]) -> Result<(), OpsError> {
        let arity = self.arity();
        let m = self.rcf_mut("import_state")?;
        let state: scorekit_rcf::RcfModel = postcard::from_bytes(bytes)
            .map_err(|e| OpsError::Model(alloc::format!("corrupt stream state: {e}")))?;
        if state.dimensions() != arity || state.dimensions() != m.dimensions() {
            return Err(OpsError::Model(alloc::format!(
                "stream state has {} dimensions but the model reads {arity}",
                state.dimensions()
            )));
        }
        *m = state;
        Ok(())
    }
}

/// The streaming operations in a build without RCF: every model here is of another family.
#[cfg(not(feature = "rcf"))]
impl Artifact {
    fn not_streaming(&self, operation: &'static str) -> OpsError {
        OpsError::Unsupported { operation, family: self.model.family().as_str() }
    }

    /// See the RCF build: not supported by this model.
    ///
    /// # Errors
    /// Always [`OpsError::Unsupported`].
    pub fn update(&mut self, _rows: &[f64], _first_row: usize) -> Result<(), OpsError> {
        Err(self.not_streaming("update"))
    }

    /// See the RCF build: not supported by this model.
    ///
    /// # Errors
    /// Always [`OpsError::Unsupported`].
    pub fn score_update(
        &mut self,
        _rows: &[f64],
        _first_row: usize,
        _out: &mut Vec<f64>,
    ) -> Result<(), OpsError> {
        Err(self.not_streaming("score_update"))
    }

    /// See the RCF build: not supported by this model.
    ///
    /// # Errors
    /// Always [`OpsError::Unsupported`].
    pub fn export_state(&self) -> Result<Vec<u8>, OpsError> {
        Err(self.not_streaming("export_state"))
    }

    /// See the RCF build: not supported by this model.
    ///
    /// # Errors
    /// Always [`OpsError::Unsupported`].
    pub fn import_state(&mut self, _bytes: &[u8]) -> Result<(), OpsError> {
        Err(self.not_streaming("import_state"))
    }
}

/// Checks every reading of a batch before any is learned: a bad reading fails the batch whole.
#[cfg(feature = "rcf")]
fn check_all(
    m: &scorekit_rcf::RcfModel,
    rows: &[&[f64]],
    first_row: usize,
    width: usize,
) -> Result<(), OpsError> {
    for (i, row) in rows.iter().enumerate() {
        m.check_reading(row).map_err(|e| row_err(first_row + i, width, e))?;
    }
    Ok(())
}

#[cfg(feature = "rcf")]
fn row_err(row: usize, _width: usize, e: impl core::fmt::Display) -> OpsError {
    OpsError::Model(alloc::format!("row {row}: {e}"))
}
