//! A loaded module: its description, compiled code, and a pool of ready instances.

use std::sync::{Arc, Mutex};

use scorekit_abi::{ForecastOutput, ForecastQuery, answers, op, values::decode_f64s_into};
use scorekit_core::Schema;
use wasmtime::{ExternType, InstancePre, Linker, Module};

use crate::instance::{Instance, StoreData};
use crate::{ModuleInfo, Rows, Runtime, RuntimeError, Stream};

/// A verified, compiled model module. Share it (`Arc`) between threads: each call borrows an
/// instance from the module's pool, so concurrent callers never share an instance.
pub struct ScoringModule {
    runtime: Runtime,
    info: ModuleInfo,
    pre: InstancePre<StoreData>,
    /// Boxed: an instance is a few hundred bytes, moved out of and back into the pool on every
    /// call (two copies a call where a box moves a pointer).
    #[allow(clippy::vec_box, reason = "measured: 438 instructions less per one-row call")]
    pool: Mutex<Vec<Box<Instance>>>,
}

impl std::fmt::Debug for ScoringModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScoringModule").field("info", &self.info).finish_non_exhaustive()
    }
}

/// Operations a pooled instance may run: none of them changes instance state.
const STATELESS: [i32; 6] =
    [op::SCHEMA, op::SCORE, op::EXPLAIN, op::FORECAST, op::RCF_SCORE, op::STATE_EXPORT];

impl ScoringModule {
    pub(crate) fn new(runtime: Runtime, info: ModuleInfo, module: Module) -> Result<Arc<Self>, RuntimeError> {
        check_exports(&module)?;
        let linker: Linker<StoreData> = Linker::new(module.engine());
        let pre =
            linker.instantiate_pre(&module).map_err(|e| RuntimeError::InvalidModule(format!("{e:#}")))?;
        let m = ScoringModule { runtime, info, pre, pool: Mutex::new(Vec::new()) };
        let mut first = Box::new(m.instantiate()?);
        let found = first.abi_version()?;
        if found != scorekit_abi::ABI_VERSION {
            return Err(RuntimeError::AbiMismatch { found, expected: scorekit_abi::ABI_VERSION });
        }
        m.release(first);
        Ok(Arc::new(m))
    }

    /// SHA-256, size and description.
    pub fn info(&self) -> &ModuleInfo {
        &self.info
    }

    /// The model's schema.
    pub fn schema(&self) -> &Schema {
        &self.info.description.schema
    }

    pub(crate) fn instantiate(&self) -> Result<Instance, RuntimeError> {
        Instance::new(&self.pre, self.runtime.limits(), self.info.description.has_call_slot())
    }

    /// A pooled instance, or a new one.
    pub(crate) fn acquire(&self) -> Result<Box<Instance>, RuntimeError> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(i) => Ok(i),
            None => self.instantiate().map(Box::new),
        }
    }

    fn release(&self, inst: Box<Instance>) {
        // An instance that grew large for one huge batch is not kept around holding it.
        if inst.memory_size() > self.runtime.config().memory_limit_bytes / 4 {
            return;
        }
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < self.runtime.config().max_idle_instances {
            pool.push(inst);
        }
    }

    fn with_instance<T>(
        &self,
        f: impl FnOnce(&mut Instance) -> Result<T, RuntimeError>,
    ) -> Result<T, RuntimeError> {
        let mut inst = self.acquire()?;
        let r = f(&mut inst);
        // After a trap, a deadline, a memory limit or an internal error the instance's state is
        // unknown: drop it. Rejected input leaves it as it was.
        match &r {
            Ok(_) => self.release(inst),
            Err(e) if e.is_client_error() => self.release(inst),
            Err(_) => {}
        }
        r
    }

    /// Runs a stateless operation and returns the raw response bytes (for hosts that forward
    /// the wire format, e.g. the browser bridge or a binary HTTP body).
    ///
    /// # Errors
    /// [`RuntimeError::Unsupported`] for state-changing operations (use a [`Stream`]), then the
    /// call's errors.
    pub fn call_raw(&self, op: i32, request: &[u8]) -> Result<Vec<u8>, RuntimeError> {
        if !STATELESS.contains(&op) {
            return Err(RuntimeError::Unsupported(format!(
                "operation '{}' changes instance state: use ScoringModule::stream",
                op::name(op)
            )));
        }
        self.with_instance(|i| i.call(op, request, |b| Ok(b.to_vec())))
    }

    fn values(&self, op: i32, rows: &Rows, per_row: usize, out: &mut Vec<f64>) -> Result<(), RuntimeError> {
        out.clear();
        let request = request_bytes(&self.info, rows);
        self.with_instance(|i| {
            i.call(op, &request, |b| {
                decode_f64s_into(b, out)?;
                check_count(op, out.len(), rows.n_rows(), per_row)
            })
        })
        .map_err(|e| in_batch(&self.info, rows, e))
    }

    /// Scores a batch: `n_rows × n_outputs` values, row-major (`n_outputs` =
    /// `schema().outputs.len()`). GBT: probability or value; RCF: anomaly score of each reading
    /// after the compiled-in stream state, without changing it.
    ///
    /// # Errors
    /// [`RuntimeError::BadInput`] naming row and column, the limits errors, traps.
    pub fn score(&self, rows: &Rows) -> Result<Vec<f64>, RuntimeError> {
        let mut out = Vec::with_capacity(rows.n_rows());
        self.score_into(rows, &mut out)?;
        Ok(out)
    }

    /// [`ScoringModule::score`] into a caller-owned buffer (cleared first).
    ///
    /// # Errors
    /// As [`ScoringModule::score`].
    pub fn score_into(&self, rows: &Rows, out: &mut Vec<f64>) -> Result<(), RuntimeError> {
        self.values(op::SCORE, rows, self.n_outputs(), out)
    }

    /// Values a score call returns per row.
    pub fn n_outputs(&self) -> usize {
        self.schema().outputs.len().max(1)
    }

    /// Explains a batch: `n_rows × (n_inputs + 1)` values. GBT: TreeSHAP contribution of each
    /// input (margin units) then the bias; RCF: attribution per input then the total score.
    ///
    /// # Errors
    /// As [`ScoringModule::score`]; [`RuntimeError::Unsupported`] for forecasters.
    pub fn explain(&self, rows: &Rows) -> Result<Vec<f64>, RuntimeError> {
        let mut out = Vec::new();
        self.values(op::EXPLAIN, rows, self.schema().inputs.len() + 1, &mut out)?;
        Ok(out)
    }

    /// Forecasts from `history` (oldest first).
    ///
    /// # Errors
    /// [`RuntimeError::BadInput`] for a bad history or request; [`RuntimeError::Unsupported`]
    /// for non-forecasters.
    pub fn forecast(&self, history: &[f64], query: &ForecastQuery) -> Result<ForecastOutput, RuntimeError> {
        let request = query.encode(history)?;
        self.with_instance(|i| {
            i.call(op::FORECAST, &request, |b| {
                let out = ForecastOutput::decode(b)?;
                check_forecast(query, &out)?;
                Ok(out)
            })
        })
    }

    /// The description JSON as the guest returns it (same bytes as the custom section).
    ///
    /// # Errors
    /// Call errors.
    pub fn schema_json(&self) -> Result<Vec<u8>, RuntimeError> {
        self.call_raw(op::SCHEMA, &[])
    }

    /// A stream with its own instance, starting from the state compiled into the module (RCF).
    ///
    /// # Errors
    /// Instantiation errors.
    pub fn stream(self: &Arc<Self>) -> Result<Stream, RuntimeError> {
        Ok(Stream::new(self.clone(), *self.acquire()?))
    }
}

/// The request bytes for `rows` (`scorekit_abi::answers`, shared with the browser host).
pub(crate) fn request_bytes<'r>(info: &ModuleInfo, rows: &'r Rows) -> std::borrow::Cow<'r, [u8]> {
    answers::request_bytes(&info.description, rows)
}

/// For a module that cannot number rows from the row base, says where the batch started.
pub(crate) fn in_batch(info: &ModuleInfo, rows: &Rows, e: RuntimeError) -> RuntimeError {
    match e {
        RuntimeError::BadInput(m) if !answers::numbers_rows(&info.description, rows) => {
            RuntimeError::BadInput(format!("in the batch starting at row {}: {m}", rows.row_base() + 1))
        }
        other => other,
    }
}

/// A module must answer exactly the values it was asked for (`scorekit_abi::answers`).
pub(crate) fn check_count(op: i32, got: usize, n_rows: usize, per_row: usize) -> Result<(), RuntimeError> {
    answers::check_count(op, got, n_rows, per_row).map_err(RuntimeError::BadOutput)
}

fn check_forecast(query: &ForecastQuery, out: &ForecastOutput) -> Result<(), RuntimeError> {
    answers::check_forecast(query, out).map_err(RuntimeError::BadOutput)
}

fn check_exports(module: &Module) -> Result<(), RuntimeError> {
    let mut have_memory = false;
    for e in module.exports() {
        if e.name() == scorekit_abi::exports::MEMORY {
            have_memory = matches!(e.ty(), ExternType::Memory(_));
        }
    }
    if !have_memory {
        return Err(RuntimeError::InvalidModule("missing export 'memory'".into()));
    }
    for name in scorekit_abi::exports::FUNCTIONS {
        match module.get_export(name) {
            Some(ExternType::Func(_)) => {}
            Some(_) => return Err(RuntimeError::InvalidModule(format!("export '{name}' is not a function"))),
            None => return Err(RuntimeError::InvalidModule(format!("missing export '{name}'"))),
        }
    }
    Ok(())
}
