//! Limits and knobs of a [`Runtime`](crate::Runtime).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How a [`Runtime`](crate::Runtime) runs modules. `Default` gives safe values for a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Longest one call into a module may run (default 1 s). Checked at the granularity of
    /// [`RuntimeConfig::tick`].
    pub deadline: Duration,
    /// Largest linear memory one instance may have, model included (default 256 MiB).
    pub memory_limit_bytes: usize,
    /// Linear memory all instances of the runtime may hold together — calls running at once,
    /// pooled idle instances, live streams (default 2 GiB). A call that would pass it fails with
    /// [`RuntimeError::MemoryBudget`](crate::RuntimeError::MemoryBudget), which a later retry can pass.
    pub memory_budget_bytes: usize,
    /// Directory for compiled code, keyed by module SHA-256 and engine compatibility hash;
    /// `None` compiles in every process. Only point this at a directory writable by trusted
    /// users: compiled code from it is executed.
    pub cache_dir: Option<PathBuf>,
    /// Idle instances kept per module for reuse (default: number of CPUs, at least 2). Callers
    /// beyond it get a fresh instance that is dropped afterwards.
    pub max_idle_instances: usize,
    /// Interval of the epoch ticker that enforces deadlines (default 5 ms).
    pub tick: Duration,
    /// Asked once per tick while a call runs; when it answers true the call stops with
    /// [`RuntimeError::Interrupted`](crate::RuntimeError::Interrupted). A database host points
    /// this at its query-cancel flag so that Ctrl-C or `statement_timeout` stops a long call
    /// within one tick instead of at the deadline.
    pub interrupt: Option<InterruptCheck>,
}

/// A cheap, thread-safe "should the running call stop?" question (see
/// [`RuntimeConfig::interrupt`]). It runs on the calling thread, inside the call.
#[derive(Clone)]
pub struct InterruptCheck(Arc<dyn Fn() -> bool + Send + Sync>);

impl InterruptCheck {
    /// Wraps `check`; it must be fast and must not unwind.
    pub fn new(check: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        InterruptCheck(Arc::new(check))
    }

    /// Asks the question.
    pub fn is_set(&self) -> bool {
        (self.0)()
    }
}

impl std::fmt::Debug for InterruptCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InterruptCheck(..)")
    }
}

/// Two checks are equal when they are the same closure (clones of one `InterruptCheck`).
impl PartialEq for InterruptCheck {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for InterruptCheck {}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            deadline: Duration::from_secs(1),
            memory_limit_bytes: 256 << 20,
            memory_budget_bytes: 2 << 30,
            cache_dir: None,
            max_idle_instances: std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
            tick: Duration::from_millis(5),
            interrupt: None,
        }
    }
}

impl RuntimeConfig {
    /// The conventional per-user cache directory: `$SCOREKIT_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/scorekit/modules`, else `$HOME/.cache/scorekit/modules`.
    pub fn default_cache_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("SCOREKIT_CACHE_DIR") {
            return Some(PathBuf::from(d));
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("scorekit").join("modules"))
    }

    /// This configuration with the on-disk cache at `dir`.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }
}
