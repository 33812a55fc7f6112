//! What can go wrong loading or calling a module, split so that a host can map each to its own
//! vocabulary (HTTP 4xx vs 5xx, a SQL `ERROR` with the guest's message, …).

use std::path::PathBuf;
use std::time::Duration;

/// A failure of the runtime or of a call into a module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The input cannot be scored; the message comes from the model and names row and column.
    #[error("{0}")]
    BadInput(String),
    /// The module's family does not support the operation.
    #[error("{0}")]
    Unsupported(String),
    /// The guest reported an internal error (a bug or a corrupt module).
    #[error("model module internal error: {0}")]
    Guest(String),
    /// The call ran longer than the configured deadline and was stopped.
    #[error("model call exceeded its deadline of {deadline:?} and was stopped")]
    DeadlineExceeded {
        /// The configured deadline.
        deadline: Duration,
    },
    /// The host's [`InterruptCheck`](crate::InterruptCheck) asked the call to stop (e.g. a
    /// query cancel).
    #[error("model call was interrupted by the host")]
    Interrupted,
    /// The module tried to use more memory than allowed.
    #[error("model module exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit {
        /// The configured limit.
        limit_bytes: usize,
    },
    /// The module answered something other than what it was asked for (wrong number of values,
    /// a forecast of another shape): a bug in it, or a hostile module.
    #[error("model module gave a malformed answer: {0}")]
    BadOutput(String),
    /// All instances of the runtime together hold the process-wide memory budget: this call could
    /// not grow; a later one may (other calls finish and give their memory back).
    #[error(
        "the model instances of this process hold their whole memory budget of {budget_bytes} bytes; retry shortly"
    )]
    MemoryBudget {
        /// The configured budget.
        budget_bytes: usize,
    },
    /// The module trapped (a bug in it, or a hostile module).
    #[error("model module trapped: {0}")]
    Trap(String),
    /// Not a valid scorekit module (not Wasm, truncated, missing exports or description, …).
    #[error("invalid model module: {0}")]
    InvalidModule(String),
    /// The module imports functions; scorekit modules must import nothing.
    #[error("refusing model module: it imports {0} (scorekit modules import nothing)")]
    Imports(String),
    /// The module speaks another ABI version.
    #[error("model module uses ABI version {found}, this runtime speaks version {expected}")]
    AbiMismatch {
        /// Version the module reports.
        found: i32,
        /// Version this runtime implements.
        expected: i32,
    },
    /// The module's SHA-256 differs from the pinned one.
    #[error("model module SHA-256 is {actual}, expected {expected}")]
    HashMismatch {
        /// Pinned hash, hex.
        expected: String,
        /// Hash of the bytes given, hex.
        actual: String,
    },
    /// An RCF stream lost its state when its instance failed; `reset` or `import_state` it.
    #[error("stream state was lost after a failed call; reset it or import a saved state")]
    StreamLost,
    /// Reading a module file failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A request could not be encoded (e.g. rows of different lengths).
    #[error("{0}")]
    Request(#[from] scorekit_abi::WireError),
    /// The engine could not be set up or could not compile the module.
    #[error("wasm engine: {0}")]
    Engine(String),
}

impl RuntimeError {
    /// True when the caller's input is at fault (bad rows, unsupported operation), as opposed to
    /// the module or the runtime: an HTTP host answers 4xx for these, 5xx otherwise.
    pub fn is_client_error(&self) -> bool {
        matches!(self, RuntimeError::BadInput(_) | RuntimeError::Unsupported(_) | RuntimeError::Request(_))
    }
}
