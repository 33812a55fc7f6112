//! The production [`Loader`]: `scorekit-runtime` (wasmtime). The only file that names runtime
//! types; everything model-related the server does goes through here.

use std::sync::Arc;

use scorekit_abi::{ForecastOutput, ForecastQuery};
use scorekit_core::{Cell, Family};
use scorekit_runtime::{Rows, Runtime, RuntimeError, ScoringModule};

use crate::backend::{CallError, Loader, Module, ModuleInfo, Stream};

/// Maps a runtime error to the server's vocabulary (4xx for the caller's fault, 5xx otherwise).
pub fn call_error(e: RuntimeError) -> CallError {
    let msg = e.to_string();
    match e {
        RuntimeError::BadInput(_) | RuntimeError::Request(_) => CallError::BadInput(msg),
        RuntimeError::Unsupported(_) => CallError::Unsupported(msg),
        RuntimeError::DeadlineExceeded { .. } => CallError::Deadline(msg),
        RuntimeError::InvalidModule(_)
        | RuntimeError::Imports(_)
        | RuntimeError::AbiMismatch { .. }
        | RuntimeError::HashMismatch { .. } => CallError::InvalidModule(msg),
        _ => CallError::Failed(msg),
    }
}

fn rows(n_cols: usize, cells: &[Cell<'_>]) -> Result<Rows, CallError> {
    if n_cols == 0 {
        return Err(CallError::BadInput("the model has no inputs".into()));
    }
    let chunks: Vec<&[Cell<'_>]> = cells.chunks(n_cols).collect();
    Rows::from_cells(n_cols, &chunks).map_err(call_error)
}

/// Loads modules with one shared [`Runtime`].
pub struct WasmLoader {
    runtime: Runtime,
}

impl WasmLoader {
    /// A loader over `runtime`.
    pub fn new(runtime: Runtime) -> Self {
        WasmLoader { runtime }
    }
}

impl Loader for WasmLoader {
    fn load(&self, bytes: &[u8]) -> Result<Arc<dyn Module>, CallError> {
        let m = self.runtime.load(bytes, None).map_err(call_error)?;
        let info = m.info();
        let description = serde_json::to_value(&info.description).unwrap_or(serde_json::Value::Null);
        let mut out = WasmModule {
            info: ModuleInfo {
                schema: info.schema().clone(),
                sha256: info.sha256_hex(),
                size: info.size,
                metrics: info.description.metrics.iter().map(|m| (m.name.clone(), m.value)).collect(),
                description,
                max_horizon: None,
            },
            module: m,
        };
        if out.info.family() == Family::Forecast {
            out.info.max_horizon =
                out.module.info().description.max_horizon.or_else(|| probe_horizon(&out.module));
        }
        Ok(Arc::new(out))
    }
}

/// The longest horizon of a forecaster compiled before the description recorded it: ask the
/// module, which refuses an impossible horizon with "must be between 1 and N" before anything
/// else is checked.
fn probe_horizon(m: &ScoringModule) -> Option<u32> {
    let q = ForecastQuery { horizon: u32::MAX, quantiles: vec![], num_samples: 0, seed: 0, start: None };
    let msg = match m.forecast(&[], &q) {
        Err(e) => e.to_string(),
        Ok(_) => return None,
    };
    let tail = msg.split("between 1 and ").nth(1)?;
    tail.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

struct WasmModule {
    info: ModuleInfo,
    module: Arc<ScoringModule>,
}

impl Module for WasmModule {
    fn info(&self) -> &ModuleInfo {
        &self.info
    }

    fn score(&self, n_cols: usize, cells: &[Cell<'_>]) -> Result<Vec<f64>, CallError> {
        self.module.score(&rows(n_cols, cells)?).map_err(call_error)
    }

    fn explain(&self, n_cols: usize, cells: &[Cell<'_>]) -> Result<Vec<f64>, CallError> {
        self.module.explain(&rows(n_cols, cells)?).map_err(call_error)
    }

    fn forecast(&self, query: &ForecastQuery, history: &[f64]) -> Result<ForecastOutput, CallError> {
        self.module.forecast(history, query).map_err(call_error)
    }

    fn open_stream(&self) -> Result<Box<dyn Stream>, CallError> {
        Ok(Box::new(WasmStream(self.module.stream().map_err(call_error)?)))
    }
}

struct WasmStream(scorekit_runtime::Stream);

impl Stream for WasmStream {
    fn score_update(&mut self, n_cols: usize, cells: &[Cell<'_>]) -> Result<Vec<f64>, CallError> {
        let steps = self.0.score_then_update(&rows(n_cols, cells)?).map_err(call_error)?;
        let mut out = Vec::with_capacity(steps.len() * 4);
        for s in steps {
            out.extend_from_slice(&[s.score, s.grade, if s.is_anomaly { 1.0 } else { 0.0 }, s.threshold]);
        }
        Ok(out)
    }

    fn score(&mut self, n_cols: usize, cells: &[Cell<'_>]) -> Result<Vec<f64>, CallError> {
        self.0.score(&rows(n_cols, cells)?).map_err(call_error)
    }

    fn export_state(&mut self) -> Result<Vec<u8>, CallError> {
        self.0.export_state().map_err(call_error)
    }

    fn import_state(&mut self, bytes: &[u8]) -> Result<(), CallError> {
        self.0.import_state(bytes).map_err(call_error)
    }
}
