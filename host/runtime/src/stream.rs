//! RCF streaming: one instance owned by one stream, holding the forest state between calls.

use std::sync::Arc;

use scorekit_abi::op;
use scorekit_abi::values::{RcfStep, decode_f64s, decode_rcf_steps};

use crate::module::{check_count, in_batch, request_bytes};

use crate::instance::Instance;
use crate::{Rows, RuntimeError, ScoringModule};

/// An anomaly-detection stream over one module. Not shared: use one per series (e.g. per SQL
/// stream key), and persist it with [`Stream::export_state`].
pub struct Stream {
    module: Arc<ScoringModule>,
    /// `None` after a failure that may have corrupted the state.
    inst: Option<Instance>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("lost", &self.inst.is_none()).finish_non_exhaustive()
    }
}

impl Stream {
    pub(crate) fn new(module: Arc<ScoringModule>, inst: Instance) -> Self {
        Stream { module, inst: Some(inst) }
    }

    /// The module this stream runs.
    pub fn module(&self) -> &Arc<ScoringModule> {
        &self.module
    }

    /// Bytes of linear memory the stream's instance holds (0 once lost).
    pub fn memory_size(&self) -> usize {
        self.inst.as_ref().map_or(0, Instance::memory_size)
    }

    fn call<T>(
        &mut self,
        op: i32,
        req: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, RuntimeError>,
    ) -> Result<T, RuntimeError> {
        let inst = self.inst.as_mut().ok_or(RuntimeError::StreamLost)?;
        let r = inst.call(op, req, decode);
        if let Err(e) = &r
            && !e.is_client_error()
        {
            self.inst = None;
        }
        r
    }

    /// Adds readings (one per row) to the forest without scoring them.
    ///
    /// # Errors
    /// [`RuntimeError::BadInput`] (rows before the bad one were applied), limits, traps,
    /// [`RuntimeError::StreamLost`].
    pub fn update(&mut self, rows: &Rows) -> Result<(), RuntimeError> {
        self.rows_call(op::RCF_UPDATE, rows, |b| check_count(op::RCF_UPDATE, b.len(), 0, 0))
    }

    fn rows_call<T>(
        &mut self,
        op: i32,
        rows: &Rows,
        decode: impl FnOnce(&[u8]) -> Result<T, RuntimeError>,
    ) -> Result<T, RuntimeError> {
        let module = self.module.clone();
        let request = request_bytes(module.info(), rows);
        self.call(op, &request, decode).map_err(|e| in_batch(module.info(), rows, e))
    }

    /// Scores readings in order after the current state, without changing it.
    ///
    /// # Errors
    /// As [`Stream::update`].
    pub fn score(&mut self, rows: &Rows) -> Result<Vec<f64>, RuntimeError> {
        let n = rows.n_rows();
        self.rows_call(op::RCF_SCORE, rows, |b| {
            let v = decode_f64s(b)?;
            check_count(op::RCF_SCORE, v.len(), n, 1)?;
            Ok(v)
        })
    }

    /// Explains readings against the current state, without changing it: per row the
    /// attribution of each input dimension, then the total score.
    ///
    /// # Errors
    /// As [`Stream::update`].
    pub fn explain(&mut self, rows: &Rows) -> Result<Vec<f64>, RuntimeError> {
        let (n, per_row) = (rows.n_rows(), self.module.schema().inputs.len() + 1);
        self.rows_call(op::EXPLAIN, rows, |b| {
            let v = decode_f64s(b)?;
            check_count(op::EXPLAIN, v.len(), n, per_row)?;
            Ok(v)
        })
    }

    /// The streaming path: each reading is scored, then added.
    ///
    /// # Errors
    /// As [`Stream::update`].
    pub fn score_then_update(&mut self, rows: &Rows) -> Result<Vec<RcfStep>, RuntimeError> {
        let n = rows.n_rows();
        self.rows_call(op::RCF_SCORE_UPDATE, rows, |b| {
            let steps = decode_rcf_steps(b)?;
            check_count(op::RCF_SCORE_UPDATE, steps.len(), n, 1)?;
            Ok(steps)
        })
    }

    /// The stream state as opaque bytes, for [`Stream::import_state`] in this or another process.
    ///
    /// # Errors
    /// [`RuntimeError::Unsupported`] for non-RCF models, [`RuntimeError::StreamLost`].
    pub fn export_state(&mut self) -> Result<Vec<u8>, RuntimeError> {
        self.call(op::STATE_EXPORT, &[], |b| Ok(b.to_vec()))
    }

    /// Replaces the state with exported bytes; also recovers a lost stream.
    ///
    /// # Errors
    /// [`RuntimeError::BadInput`] for corrupt or foreign state (the old state is kept).
    pub fn import_state(&mut self, state: &[u8]) -> Result<(), RuntimeError> {
        if self.inst.is_none() {
            self.inst = Some(self.module.instantiate()?);
        }
        self.call(op::STATE_IMPORT, state, |_| Ok(()))
    }

    /// Back to the state compiled into the module; also recovers a lost stream.
    ///
    /// # Errors
    /// Instantiation errors.
    pub fn reset(&mut self) -> Result<(), RuntimeError> {
        if self.inst.is_none() {
            self.inst = Some(self.module.instantiate()?);
            return Ok(());
        }
        self.call(op::STATE_RESET, &[], |_| Ok(()))
    }
}
