//! The engine, its configuration for embedding, and the epoch ticker that enforces deadlines.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::{Config, Engine, OptLevel};

use crate::cache::{self, Source};
use crate::instance::{Limits, MemoryBudget};
use crate::module::ScoringModule;
use crate::{RuntimeConfig, RuntimeError, inspect};

/// Loads and runs model modules. Cheap to clone (shared engine); `Send + Sync`. One per process
/// is typical.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    config: RuntimeConfig,
    stop: Arc<AtomicBool>,
    budget: Arc<MemoryBudget>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The ticker notices within one tick and exits; no join, so a drop never blocks.
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Runtime {
    /// An engine configured for embedding: no signal handlers, epoch-based deadlines, Cranelift
    /// optimising for speed. Starts one ticker thread.
    ///
    /// # Errors
    /// [`RuntimeError::Engine`] if the engine cannot be created or the thread cannot start.
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let mut c = Config::new();
        // Database servers own their signal handlers: bounds checks are explicit instead.
        c.signals_based_traps(false);
        c.epoch_interruption(true);
        c.cranelift_opt_level(OptLevel::Speed);
        // No guard pages (no signal handler to catch a fault in them). Each memory reserves its
        // whole limit of address space up front (reserved, not committed) and never moves, so
        // compiled code may keep its base address in a register instead of reloading it.
        c.memory_guard_size(0);
        c.memory_reservation(config.memory_limit_bytes as u64);
        c.memory_reservation_for_growth(0);
        c.memory_may_move(false);
        let engine = Engine::new(&c).map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (ticker_engine, ticker_stop, tick) = (engine.clone(), stop.clone(), config.tick);
        std::thread::Builder::new()
            .name("scorekit-epoch".into())
            .spawn(move || {
                while !ticker_stop.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    ticker_engine.increment_epoch();
                }
            })
            .map_err(|e| RuntimeError::Engine(format!("starting the deadline ticker: {e}")))?;
        let budget = Arc::new(MemoryBudget::new(config.memory_budget_bytes.max(config.memory_limit_bytes)));
        Ok(Runtime { inner: Arc::new(Inner { engine, config, stop, budget }) })
    }

    /// The configuration.
    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    pub(crate) fn limits(&self) -> Limits {
        let c = &self.inner.config;
        Limits {
            deadline: c.deadline,
            memory_limit_bytes: c.memory_limit_bytes,
            interrupt: c.interrupt.clone(),
            budget: self.inner.budget.clone(),
        }
    }

    /// Linear memory all instances of this runtime hold now (pooled, running, streams).
    pub fn memory_in_use(&self) -> usize {
        self.inner.budget.used()
    }

    /// Verifies and loads a module: pinned hash, valid Wasm, imports nothing, description,
    /// exports and ABI version; then compiles it (or takes it from the disk cache) and
    /// instantiates a first instance.
    ///
    /// # Errors
    /// [`RuntimeError::HashMismatch`], [`RuntimeError::InvalidModule`], [`RuntimeError::Imports`],
    /// [`RuntimeError::AbiMismatch`], and the limits errors if instantiation exceeds them.
    pub fn load(
        &self,
        bytes: &[u8],
        expected_sha256: Option<[u8; 32]>,
    ) -> Result<Arc<ScoringModule>, RuntimeError> {
        Ok(self.load_traced(bytes, expected_sha256)?.0)
    }

    pub(crate) fn load_traced(
        &self,
        bytes: &[u8],
        expected_sha256: Option<[u8; 32]>,
    ) -> Result<(Arc<ScoringModule>, Source), RuntimeError> {
        let actual = inspect::sha256(bytes);
        if let Some(expected) = expected_sha256
            && actual != expected
        {
            return Err(RuntimeError::HashMismatch {
                expected: inspect::sha256_hex(&expected),
                actual: inspect::sha256_hex(&actual),
            });
        }
        let (info, section_json) = inspect::describe_with_section(bytes, actual)?;
        let (module, source) = cache::load_or_compile(
            &self.inner.engine,
            bytes,
            &info,
            section_json,
            self.inner.config.cache_dir.as_deref(),
        )?;
        let m = ScoringModule::new(self.clone(), info, module)?;
        Ok((m, source))
    }

    /// The module of SHA-256 `sha256` from the disk cache alone, without its bytes: `None` when
    /// there is no cache directory, no entry for it (by this engine) or no whole one, or the
    /// module does not instantiate; the caller then reads the bytes and calls [`Runtime::load`],
    /// which reports why.
    ///
    /// As safe as [`Runtime::load`] with the hash pinned: on a cache hit that load runs the
    /// entry's code too, never code compiled from the bytes it was given; hashing those bytes
    /// proves only that they match the pin, not what runs. What runs is what the pin names
    /// because an entry is written only by a load that compiled bytes of that SHA-256 and
    /// described them (the description comes from the entry as well), in a directory only
    /// trusted users can write (`RuntimeConfig::cache_dir`). A store of module bytes (a database
    /// table) may be writable by more users than the cache: its bytes are still hashed whenever
    /// a host reads them, and a stored module whose bytes do not match its hash still fails the
    /// load that reads them.
    pub fn load_cached(&self, sha256: &[u8; 32]) -> Option<Arc<ScoringModule>> {
        let dir = self.inner.config.cache_dir.as_deref()?;
        let (module, info) = cache::load_entry(&self.inner.engine, dir, sha256)?;
        ScoringModule::new(self.clone(), info, module).ok()
    }

    /// [`Runtime::load`] from a file.
    ///
    /// # Errors
    /// [`RuntimeError::Io`], then as [`Runtime::load`].
    pub fn load_file(
        &self,
        path: impl AsRef<Path>,
        expected_sha256: Option<[u8; 32]>,
    ) -> Result<Arc<ScoringModule>, RuntimeError> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).map_err(|source| RuntimeError::Io { path: path.to_path_buf(), source })?;
        self.load(&bytes, expected_sha256)
    }

    /// Whether a module's compiled code is in the disk cache (a load would skip compiling).
    pub fn is_cached(&self, bytes: &[u8]) -> bool {
        let Some(dir) = &self.inner.config.cache_dir else { return false };
        cache::is_cached(&self.inner.engine, dir, &inspect::sha256(bytes))
    }
}
