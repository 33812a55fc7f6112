//! What the server needs from a model module, as two small traits.
//!
//! The server holds no model logic: every score, explanation, forecast and stream step is a call
//! into a [`Module`], which in production is a `scorekit-runtime` module (see [`crate::wasm`]).
//! Keeping the HTTP layer behind these traits keeps the one file that touches the runtime small,
//! and lets unit tests drive the HTTP layer with a scripted module.

use std::sync::Arc;

use scorekit_abi::{ForecastOutput, ForecastQuery};
use scorekit_core::{Cell, Family, Schema};

/// Why a call into a module failed. The HTTP status follows from the variant.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The request data is wrong (names row and column where it can): 400.
    #[error("{0}")]
    BadInput(String),
    /// The model family does not support the operation: 400.
    #[error("{0}")]
    Unsupported(String),
    /// The call ran past its deadline and was stopped: 504.
    #[error("{0}")]
    Deadline(String),
    /// The module hit its memory cap or trapped: 500 (the instance is discarded by the runtime).
    #[error("{0}")]
    Failed(String),
    /// The bytes are not a loadable scorekit module (at load time): 422.
    #[error("{0}")]
    InvalidModule(String),
}

/// Static facts about a loaded module.
#[derive(Debug, Clone)]
pub struct ModuleInfo {
    /// Inputs, outputs, family and the model's own name.
    pub schema: Schema,
    /// SHA-256 of the module file, lowercase hex: the version's identity.
    pub sha256: String,
    /// Size of the module file in bytes.
    pub size: usize,
    /// Training metrics recorded in the module (name, value).
    pub metrics: Vec<(String, f64)>,
    /// The module's description JSON (the `scorekit.schema` custom section), parsed.
    pub description: serde_json::Value,
    /// Longest forecast horizon (forecasters only), when the module says.
    pub max_horizon: Option<u32>,
}

impl ModuleInfo {
    /// The model family.
    pub fn family(&self) -> Family {
        self.schema.family
    }
}

/// A loaded model module: stateless calls, safe to share between request threads.
pub trait Module: Send + Sync + 'static {
    /// Static facts.
    fn info(&self) -> &ModuleInfo;
    /// Scores rows (row-major cells, `n_cols` per row): `schema.outputs.len()` values per row.
    ///
    /// # Errors
    /// [`CallError`] naming the problem.
    fn score(&self, n_cols: usize, cells: &[Cell<'_>]) -> Result<Vec<f64>, CallError>;
    /// Explains rows: `n_inputs + 1` values per row (contributions, then bias or total).
    ///
    /// # Errors
    /// [`CallError`] naming the problem.
    fn explain(&self, n_cols: usize, cells: &[Cell<'_>]) -> Result<Vec<f64>, CallError>;
    /// Forecasts from `history` (oldest first).
    ///
    /// # Errors
    /// [`CallError`] naming the problem.
    fn forecast(&self, query: &ForecastQuery, history: &[f64]) -> Result<ForecastOutput, CallError>;
    /// Opens a stream: an instance of its own holding RCF state, starting from the state compiled
    /// into the module.
    ///
    /// # Errors
    /// [`CallError`] if no instance can be created.
    fn open_stream(&self) -> Result<Box<dyn Stream>, CallError>;
}

/// One RCF stream: a module instance that owns its state.
pub trait Stream: Send + 'static {
    /// Scores each row, then learns it: per row `score, grade, is_anomaly (0/1), threshold`.
    ///
    /// # Errors
    /// [`CallError`]; rows before a bad row have been applied.
    fn score_update(&mut self, n_cols: usize, cells: &[Cell<'_>]) -> Result<Vec<f64>, CallError>;
    /// Scores rows against the current state without learning: one value per row.
    ///
    /// # Errors
    /// [`CallError`].
    fn score(&mut self, n_cols: usize, cells: &[Cell<'_>]) -> Result<Vec<f64>, CallError>;
    /// The stream state as opaque bytes.
    ///
    /// # Errors
    /// [`CallError`].
    fn export_state(&mut self) -> Result<Vec<u8>, CallError>;
    /// Replaces the state with bytes from [`Stream::export_state`].
    ///
    /// # Errors
    /// [`CallError`]; the state is unchanged.
    fn import_state(&mut self, bytes: &[u8]) -> Result<(), CallError>;
}

/// Turns module bytes into a [`Module`], and artifacts into module bytes.
pub trait Loader: Send + Sync + 'static {
    /// Validates and loads a module (compiling it, or taking it from the compile cache).
    ///
    /// # Errors
    /// [`CallError::InvalidModule`] naming why.
    fn load(&self, bytes: &[u8]) -> Result<Arc<dyn Module>, CallError>;
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}
