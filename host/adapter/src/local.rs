//! [`Scorer`] over a local module in `scorekit-runtime` (wasmtime): what the server, the CLI and
//! the SQL plugins run. The only file of the host layer that names runtime types, and the one
//! place where a [`RuntimeError`] becomes a [`HostError`].

use std::sync::Arc;

use scorekit_abi::values::RcfStep;
use scorekit_abi::{ForecastOutput, ForecastQuery, Rows};
use scorekit_runtime::{Runtime, RuntimeError, ScoringModule, Stream};

use crate::error::{Code, HostError, HostResult};
use crate::history::History;
use crate::scorer::{ModelInfo, ModuleLoader, Scorer, SharedScorer, StreamScorer};

/// The one mapping of runtime failures to the host layer's codes.
pub fn host_error(e: RuntimeError) -> HostError {
    let code = match &e {
        RuntimeError::BadInput(_) | RuntimeError::Request(_) => Code::BadInput,
        RuntimeError::Unsupported(_) => Code::Unsupported,
        RuntimeError::DeadlineExceeded { .. } => Code::Deadline,
        RuntimeError::MemoryLimit { .. } => Code::MemoryLimit,
        RuntimeError::MemoryBudget { .. } => Code::Unavailable,
        RuntimeError::Interrupted => Code::Interrupted,
        RuntimeError::StreamLost => Code::StreamLost,
        RuntimeError::Guest(_) | RuntimeError::Trap(_) | RuntimeError::BadOutput(_) => Code::ModuleFailed,
        RuntimeError::InvalidModule(_)
        | RuntimeError::Imports(_)
        | RuntimeError::AbiMismatch { .. }
        | RuntimeError::HashMismatch { .. } => Code::InvalidModule,
        RuntimeError::Io { .. } => Code::Storage,
        _ => Code::Unavailable,
    };
    HostError::new(code, e.to_string())
}

/// A module loaded in wasmtime, as a [`Scorer`].
pub struct LocalScorer {
    info: ModelInfo,
    module: Arc<ScoringModule>,
}

impl std::fmt::Debug for LocalScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalScorer").field("sha256", &self.info.sha256).finish_non_exhaustive()
    }
}

impl LocalScorer {
    /// Wraps a loaded module.
    pub fn new(module: Arc<ScoringModule>) -> Self {
        let m = module.info();
        let info = ModelInfo::new(m.sha256_hex(), m.size, m.description.clone());
        LocalScorer { info, module }
    }

    /// The module (for hosts that report runtime details, e.g. the compile cache).
    pub fn module(&self) -> &Arc<ScoringModule> {
        &self.module
    }
}

impl Scorer for LocalScorer {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn score(&self, rows: &Rows) -> HostResult<Vec<f64>> {
        self.module.score(rows).map_err(host_error)
    }

    fn explain(&self, rows: &Rows) -> HostResult<Vec<f64>> {
        self.module.explain(rows).map_err(host_error)
    }

    fn forecast(&self, history: &History, query: &ForecastQuery) -> HostResult<ForecastOutput> {
        let query = ForecastQuery { start: history.start, ..query.clone() };
        self.module.forecast(&history.values, &query).map_err(host_error)
    }

    fn open_stream(&self) -> HostResult<Box<dyn StreamScorer>> {
        Ok(Box::new(LocalStream(self.module.stream().map_err(host_error)?)))
    }
}

struct LocalStream(Stream);

impl StreamScorer for LocalStream {
    fn score_update(&mut self, rows: &Rows) -> HostResult<Vec<RcfStep>> {
        self.0.score_then_update(rows).map_err(host_error)
    }

    fn score(&mut self, rows: &Rows) -> HostResult<Vec<f64>> {
        self.0.score(rows).map_err(host_error)
    }

    fn explain(&mut self, rows: &Rows) -> HostResult<Vec<f64>> {
        self.0.explain(rows).map_err(host_error)
    }

    fn export_state(&mut self) -> HostResult<Vec<u8>> {
        self.0.export_state().map_err(host_error)
    }

    fn import_state(&mut self, state: &[u8]) -> HostResult<()> {
        self.0.import_state(state).map_err(host_error)
    }

    fn footprint(&self) -> usize {
        self.0.memory_size()
    }
}

/// Loads modules with one shared [`Runtime`].
#[derive(Clone, Debug)]
pub struct LocalLoader {
    runtime: Runtime,
}

impl LocalLoader {
    /// A loader over `runtime`.
    pub fn new(runtime: Runtime) -> Self {
        LocalLoader { runtime }
    }

    /// The module of hash `sha256` from the runtime's disk cache alone, without its bytes
    /// (`Runtime::load_cached`: when it answers `None`, read the bytes and [`ModuleLoader::load`]).
    pub fn load_cached(&self, sha256: &[u8; 32]) -> Option<SharedScorer> {
        let module = self.runtime.load_cached(sha256)?;
        Some(Arc::new(LocalScorer::new(module)))
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
}

impl ModuleLoader for LocalLoader {
    fn load(&self, bytes: &[u8], pinned_sha256: Option<[u8; 32]>) -> HostResult<SharedScorer> {
        let module = self.runtime.load(bytes, pinned_sha256).map_err(host_error)?;
        Ok(Arc::new(LocalScorer::new(module)))
    }
}
