//! The session's models: one [`LocalLoader`] over one [`Runtime`] per backend (rebuilt when a
//! limit GUC changes), a cache of loaded [`SharedScorer`]s keyed by SHA-256 (content-addressed,
//! so never stale; at most `scorekit.max_loaded_modules`, the least recently used dropped beyond
//! it), and a cache of alias resolutions that a relcache invalidation of `scorekit.aliases`
//! clears in every backend when a deploy or rollback commits.
//!
//! The runtime is built here only because PostgreSQL's query cancel must reach a running call
//! (its [`InterruptCheck`]); everything else goes through the host layer's [`Scorer`].
//!
//! PostgreSQL backends are single-threaded, so the caches are thread-locals; the runtime's own
//! epoch-ticker thread never touches PostgreSQL.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pgrx::prelude::*;
use scorekit_host::local::LocalLoader;
use scorekit_host::{Code, HostError, HostResult, ModuleLoader, Schema, Scorer, SharedScorer, names};
use scorekit_runtime::{InterruptCheck, Runtime, RuntimeConfig};

use crate::error::{OrRaise, raise, user_error};
use crate::guc;
use crate::policy;
use crate::stats;

/// A model ready to call, with what SQL needs to know about it.
pub struct Loaded {
    /// Hex SHA-256 of the module: its identity.
    pub sha256: String,
    /// The model name it was loaded under (`scorekit.modules.name`).
    pub name: String,
    /// The model.
    pub scorer: SharedScorer,
    /// Values a score call returns per row (`names::score_outputs`), counted once at load.
    pub outputs_per_row: usize,
    /// When the session last resolved it (a tick of [`Session::ticks`]): which module to drop
    /// when more than `scorekit.max_loaded_modules` are loaded.
    used: Cell<u64>,
}

impl Loaded {
    /// The model's schema.
    pub fn schema(&self) -> &Schema {
        self.scorer.info().schema()
    }

    /// Runs `f` against the model, recording time, rows and errors in [`stats`], and raises a
    /// failure as an `ERROR` (or the pending query cancel, if there is one) about `model`, the
    /// reference the caller used.
    pub fn call<T>(&self, model: &str, rows: usize, f: impl FnOnce(&dyn Scorer) -> HostResult<T>) -> T {
        let t = Instant::now();
        let r = f(self.scorer.as_ref());
        stats::record(&self.name, &self.sha256, rows, t.elapsed(), r.is_err());
        r.or_raise(model)
    }
}

#[derive(Clone, PartialEq)]
struct Settings {
    deadline: Duration,
    memory_limit_bytes: usize,
    cache_dir: Option<PathBuf>,
}

fn settings() -> Settings {
    let cache_dir = guc::CACHE_DIR.get().and_then(|c| {
        let s = c.to_string_lossy().into_owned();
        (!s.trim().is_empty()).then(|| {
            let p = PathBuf::from(s.trim());
            if p.is_absolute() { p } else { data_dir().join(p) }
        })
    });
    Settings {
        deadline: Duration::from_millis(guc::DEADLINE_MS.get().max(1) as u64),
        memory_limit_bytes: (guc::MEMORY_LIMIT_MB.get().max(1) as usize) << 20,
        cache_dir,
    }
}

/// Whether a query cancel (Ctrl-C, `pg_cancel_backend`, `statement_timeout`) or a termination is
/// pending: the interrupt check of module calls and of waits on a remote endpoint.
pub fn cancel_pending() -> bool {
    // SAFETY: plain reads of sig_atomic_t flags that PostgreSQL's signal handlers set; volatile
    // because they change behind the compiler's back. Same thread as the backend (the check runs
    // inside the call).
    unsafe {
        std::ptr::read_volatile(&raw const pg_sys::QueryCancelPending) != 0
            || std::ptr::read_volatile(&raw const pg_sys::ProcDiePending) != 0
    }
}

/// The server's data directory (relative settings are under it).
pub fn data_dir() -> PathBuf {
    // SAFETY: DataDir is set by the postmaster before any backend runs extension code.
    let p = unsafe { pg_sys::DataDir };
    if p.is_null() {
        return PathBuf::from(".");
    }
    // SAFETY: a NUL-terminated C string owned by PostgreSQL for the life of the process.
    PathBuf::from(unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

#[derive(Default)]
struct Session {
    runtime: Option<(Settings, LocalLoader)>,
    /// Bumped whenever the runtime is rebuilt: streams opened under older limits are dropped.
    generation: u64,
    /// The (deadline, memory) GUC values the runtime was built with: checked per call without
    /// allocating (the cache directory is re-read whenever a module must be loaded).
    limits: Option<(i32, i32)>,
    /// The policy generation ([`policy::generation`]) the alias resolutions were made under.
    policies: u64,
    by_hash: HashMap<String, Rc<Loaded>>,
    by_ref: HashMap<String, Rc<Loaded>>,
    /// Resolutions so far: the clock of [`Loaded::used`].
    ticks: u64,
}

impl Session {
    fn touch(&mut self, loaded: &Loaded) {
        self.ticks += 1;
        loaded.used.set(self.ticks);
    }

    /// Drops the least recently used modules beyond `max` (never `keep`, the one just loaded),
    /// with the alias resolutions that point at them. A caller still holding one keeps it alive
    /// until it is done; the next resolution loads it again.
    fn evict(&mut self, max: usize, keep: &str) {
        while self.by_hash.len() > max {
            let Some(oldest) = self
                .by_hash
                .iter()
                .filter(|(sha, _)| sha.as_str() != keep)
                .min_by_key(|(_, l)| l.used.get())
                .map(|(sha, _)| sha.clone())
            else {
                return;
            };
            self.by_hash.remove(&oldest);
            self.by_ref.retain(|_, l| l.sha256 != oldest);
        }
    }
}

thread_local! {
    static SESSION: RefCell<Session> = RefCell::new(Session::default());
}

/// The session's module loader under the current settings (created, or rebuilt after a `SET`).
pub fn loader() -> LocalLoader {
    let want = settings();
    SESSION.with(|s| {
        let mut s = s.borrow_mut();
        if let Some((have, loader)) = &s.runtime
            && *have == want
        {
            return loader.clone();
        }
        let config = RuntimeConfig {
            deadline: want.deadline,
            memory_limit_bytes: want.memory_limit_bytes,
            cache_dir: want.cache_dir.clone(),
            // A backend runs one query at a time: one idle instance per module is enough.
            max_idle_instances: 1,
            // Ctrl-C and statement_timeout set these flags from a signal handler; a running call
            // stops within one tick and `error::raise` then lets PostgreSQL report the cancel.
            interrupt: Some(InterruptCheck::new(cancel_pending)),
            ..RuntimeConfig::default()
        };
        // The runtime's epoch-ticker thread must not take PostgreSQL's signals.
        let rt = crate::policy::with_signals_blocked(|| Runtime::new(config)).unwrap_or_else(|e| {
            raise("", HostError::new(Code::Unavailable, format!("cannot start the wasm engine: {e}")))
        });
        let loader = LocalLoader::new(rt);
        s.limits = Some((guc::DEADLINE_MS.get(), guc::MEMORY_LIMIT_MB.get()));
        // Modules belong to the engine that compiled them: drop them with the old engine.
        s.by_hash.clear();
        s.by_ref.clear();
        s.generation += 1;
        s.runtime = Some((want, loader.clone()));
        loader
    })
}

/// Which runtime the session's models run on now (changes when a limit GUC changes).
pub fn generation() -> u64 {
    SESSION.with(|s| s.borrow().generation)
}

/// Forgets alias resolutions; called when `scorekit.aliases` changes (any backend's deploy).
pub fn invalidate_aliases() {
    SESSION.with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.by_ref.clear();
        }
    });
}

/// Number of modules loaded in this session (for `scorekit.session_info`).
pub fn loaded_count() -> usize {
    SESSION.with(|s| s.borrow().by_hash.len())
}

/// Resolves a model reference: `name` (its deployed alias, or what the policy file says serves
/// it), `name@version`, or `sha256:<hex>`. A pinned reference (version or hash) names module
/// bytes and always runs that module; the policy file applies to names.
pub fn resolve(model: &str) -> Rc<Loaded> {
    // Fast path (every row of a query): a cached resolution under unchanged limits and policies.
    let limits = Some((guc::DEADLINE_MS.get(), guc::MEMORY_LIMIT_MB.get()));
    let policies = policy::generation();
    let hit = SESSION.with(|s| {
        let mut s = s.borrow_mut();
        if s.policies != policies {
            s.policies = policies;
            s.by_ref.clear();
        }
        let hit = if s.limits == limits { s.by_ref.get(model).cloned() } else { None };
        if let Some(h) = &hit {
            s.touch(h);
        }
        hit
    });
    if let Some(hit) = hit {
        return hit;
    }
    let loader = loader();
    let loaded = if pinned_hash(model).is_some() || model.starts_with("sha256:") || model.contains('@') {
        by_hash(&loader, &resolve_hash(model))
    } else {
        by_name(&loader, model)
    };
    SESSION.with(|s| s.borrow_mut().by_ref.insert(model.to_string(), loaded.clone()));
    loaded
}

/// A model by name: its deployed module, composed with a remote endpoint when the policy file
/// says so, or the endpoint alone.
fn by_name(loader: &LocalLoader, name: &str) -> Rc<Loaded> {
    let local = deployed(loader, name);
    let served = policy::scorer(name, local.as_ref().map(|l| l.scorer.clone()));
    match (served, local) {
        (None, _) => raise("", HostError::new(Code::UnknownModel, format!("unknown model '{name}'"))),
        (Some(s), Some(l)) if Arc::ptr_eq(&s, &l.scorer) => l,
        (Some(scorer), _) => {
            let outputs_per_row = names::score_outputs(scorer.info().schema()).len().max(1);
            let sha256 = scorer.info().sha256.clone();
            Rc::new(Loaded { sha256, name: name.to_string(), scorer, outputs_per_row, used: Cell::new(0) })
        }
    }
}

/// The module the alias `name` points at, loaded, if it is deployed. One statement finds the
/// alias's hash and the module's row; the row's bytes stay in their TOAST table unless the module
/// must be loaded from them ([`from_row`]). On a new connection this statement costs about
/// 0.8 ms, nearly all of it opening the two tables and their indexes for the first time (the
/// earlier two statements cost the same within noise: docs/eval-postgres.md).
fn deployed(loader: &LocalLoader, name: &str) -> Option<Rc<Loaded>> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT m.sha256, m.name, m.bytes FROM scorekit.aliases a
             JOIN scorekit.modules m ON m.sha256 = a.sha256 WHERE a.name = $1",
            Some(1),
            &[name.into()],
        );
        let found = rows.and_then(|rows| {
            if rows.is_empty() {
                return Ok(None);
            }
            let row = rows.first();
            Ok(Some((row.get::<String>(1)?, row.get::<String>(2)?, row.get_datum_by_ordinal(3)?)))
        });
        match found {
            Ok(None) => None,
            Ok(Some((Some(sha), Some(module), bytes))) => Some(from_row(loader, &sha, module, bytes)),
            Ok(Some(_)) => {
                raise("", HostError::new(Code::Storage, format!("looking up model '{name}': NULL in row")))
            }
            Err(e) => raise("", HostError::new(Code::Storage, format!("looking up model '{name}': {e}"))),
        }
    })
}

/// Whether `model` names a hash (`sha256:<64 hex>`); returns the hex.
pub fn pinned_hash(model: &str) -> Option<&str> {
    let hex = model.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

fn resolve_hash(model: &str) -> String {
    if let Some(hex) = pinned_hash(model) {
        return hex.to_ascii_lowercase();
    }
    if model.starts_with("sha256:") {
        user_error(format!("model reference '{model}' is not 'sha256:' followed by 64 hex digits"));
    }
    let found = if let Some((name, version)) = model.rsplit_once('@') {
        let Ok(v) = version.parse::<i32>() else {
            user_error(format!("model reference '{model}': version after '@' must be an integer"))
        };
        Spi::get_one_with_args::<String>(
            "SELECT sha256 FROM scorekit.modules WHERE name = $1 AND version = $2",
            &[name.into(), v.into()],
        )
    } else {
        Spi::get_one_with_args::<String>(
            "SELECT sha256 FROM scorekit.aliases WHERE name = $1",
            &[model.into()],
        )
    };
    match found {
        Ok(Some(sha)) => sha,
        Ok(None) | Err(pgrx::spi::Error::InvalidPosition) => {
            raise("", HostError::new(Code::UnknownModel, format!("unknown model '{model}'")))
        }
        Err(e) => raise("", HostError::new(Code::Storage, format!("looking up model '{model}': {e}"))),
    }
}

/// The session's loaded module of hash `sha`, if there is one (marked as just used).
fn session_module(sha: &str) -> Option<Rc<Loaded>> {
    SESSION.with(|s| {
        let mut s = s.borrow_mut();
        let hit = s.by_hash.get(sha).cloned();
        if let Some(h) = &hit {
            s.touch(h);
        }
        hit
    })
}

fn by_hash(loader: &LocalLoader, sha: &str) -> Rc<Loaded> {
    if let Some(hit) = session_module(sha) {
        return hit;
    }
    Spi::connect(|client| {
        let row = client
            .select("SELECT name, bytes FROM scorekit.modules WHERE sha256 = $1", Some(1), &[sha.into()])
            .and_then(|rows| {
                if rows.is_empty() {
                    return Ok(None);
                }
                let row = rows.first();
                Ok(row.get::<String>(1)?.map(|name| (name, row.get_datum_by_ordinal(2))))
            });
        match row {
            Ok(Some((name, Ok(bytes)))) => from_row(loader, sha, name, bytes),
            _ => raise(
                "",
                HostError::new(
                    Code::UnknownModel,
                    format!("no module with SHA-256 {sha} in scorekit.modules"),
                ),
            ),
        }
    })
}

/// The module of a `scorekit.modules` row (hash `sha`, `name`, the `bytes` datum as SPI returned
/// it, possibly a pointer into the TOAST table): the session's, else from the compile cache by
/// its hash alone, else loaded from its bytes. Called inside the SPI connection that read the
/// row: the bytes are read (detoasted into the connection's memory, freed with it, never copied
/// again) only when the compile cache does not hold the module.
///
/// Taking a cached module without reading and hashing its bytes is as safe as the load of
/// the bytes (`Runtime::load_cached`): on a cache hit that load runs the cached code too, and the
/// hash it checked was the bytes' against the catalog's, not the code's. The cache is written
/// only by the server (`scorekit.cache_dir` is set in postgresql.conf, the directory is the
/// server's) and only under the SHA-256 of bytes it compiled, while `scorekit.modules` is
/// written over SQL (`scorekit_admin` may insert rows directly): so the catalog's bytes are still
/// hashed whenever they are read, and a row whose bytes do not match its hash still fails then.
/// Reading and hashing the churn module's 246 KB cost about 0.35 ms of a new connection's first
/// call (docs/eval-postgres.md).
fn from_row(loader: &LocalLoader, sha: &str, name: String, bytes: Option<pg_sys::Datum>) -> Rc<Loaded> {
    if let Some(hit) = session_module(sha) {
        return hit;
    }
    let expected = scorekit_host::parse_sha256_hex(sha);
    let cached = expected.as_ref().and_then(|h| loader.load_cached(h));
    let scorer = match cached {
        Some(scorer) => scorer,
        None => {
            // SAFETY: a `bytea` datum of the current SPI tuple table (column `bytes` is NOT
            // NULL), read while the connection is open; the slice is not used after `load`.
            let bytes: Option<&[u8]> =
                bytes.and_then(|d| unsafe { <&[u8]>::from_polymorphic_datum(d, false, pg_sys::BYTEAOID) });
            let Some(bytes) = bytes else {
                raise(
                    "",
                    HostError::new(
                        Code::UnknownModel,
                        format!("no module with SHA-256 {sha} in scorekit.modules"),
                    ),
                )
            };
            loader.load(bytes, expected).or_raise(&name)
        }
    };
    let outputs_per_row = names::score_outputs(scorer.info().schema()).len().max(1);
    let loaded =
        Rc::new(Loaded { sha256: sha.to_string(), name, scorer, outputs_per_row, used: Cell::new(0) });
    SESSION.with(|s| {
        let mut s = s.borrow_mut();
        s.touch(&loaded);
        s.by_hash.insert(sha.to_string(), loaded.clone());
        s.evict(guc::MAX_LOADED_MODULES.get().max(1) as usize, sha);
    });
    loaded
}
