//! The set of served models, swapped atomically.
//!
//! Readers take a snapshot (`ArcSwap::load`, no lock) and keep the `Arc<Entry>` of the version
//! they resolved for the whole request, so replacing or removing a model never fails a request in
//! flight: the old version lives until its last request ends. Writers (the directory poller and
//! the admin API) serialise on one mutex, build a new snapshot and publish it in one store.
//!
//! A model's alias is its file name without `.wasm`; every loaded version is also addressable as
//! `sha256:<hex>` (or a unique prefix of at least 8 hex digits), including the last few versions
//! that were replaced, so a client can pin a version across a swap.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use scorekit_host::{Backends, FileStamp, ModuleLoader, SharedScorer};

use crate::error::ApiError;
use crate::metrics::Metrics;
pub use scorekit_host::streams::write_atomic;

/// Replaced versions kept addressable by hash.
const RETIRED_KEPT: usize = 8;
/// A file modified more recently than this is probably still being written; the poller waits.
const SETTLE: Duration = Duration::from_millis(300);

/// One served model version.
pub struct Entry {
    /// The alias it is served under (file stem).
    pub alias: String,
    /// The loaded model.
    pub scorer: SharedScorer,
    /// When this version was loaded.
    pub loaded_at: SystemTime,
    /// The module file (what `GET /v1/models/{name}/module` answers: the browser host scores
    /// with the very bytes the server runs).
    pub module: Arc<[u8]>,
    sig: Option<FileStamp>,
    /// Measured cost of this version's calls, per kind of call (see `routes::CallCost`).
    pub costs: crate::routes::Costs,
}

impl Entry {
    /// SHA-256 of the module file (hex).
    pub fn sha256(&self) -> &str {
        &self.scorer.info().sha256
    }
}

#[derive(Default, Clone)]
struct Snapshot {
    by_alias: HashMap<String, Arc<Entry>>,
    retired: Vec<Arc<Entry>>,
}

/// What one directory scan changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Aliases loaded or replaced.
    pub loaded: Vec<String>,
    /// Aliases removed.
    pub removed: Vec<String>,
    /// (alias, error) of files that failed to load.
    pub failed: Vec<(String, String)>,
}

/// The served models.
pub struct Registry {
    dir: Option<PathBuf>,
    loader: Arc<dyn ModuleLoader>,
    backends: Option<Arc<dyn Backends>>,
    snap: ArcSwap<Snapshot>,
    writer: Mutex<()>,
    failed: Mutex<HashMap<String, FileStamp>>,
    metrics: Arc<Metrics>,
}

/// Checks an alias: 1–100 of `[A-Za-z0-9_.-]`, not starting with `.` or `-`.
///
/// # Errors
/// 400 naming the rule.
pub fn check_alias(alias: &str) -> Result<(), ApiError> {
    let ok = !alias.is_empty()
        && alias.len() <= 100
        && !alias.starts_with(['.', '-'])
        && alias.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "'{alias}' is not a valid model name: use 1-100 letters, digits, '_', '.', '-', not starting with '.' or '-'"
        )))
    }
}

impl Registry {
    /// A registry over `dir` (None: admin-installed models only, kept in memory).
    pub fn new(dir: Option<PathBuf>, loader: Arc<dyn ModuleLoader>, metrics: Arc<Metrics>) -> Self {
        Self::with_backends(dir, loader, None, metrics)
    }

    /// A registry whose models are served through `backends` (policies and remote endpoints):
    /// every loaded module is handed to it, and names it can serve without a module are served
    /// remotely while no module file holds them ([`Registry::serve_remote_only`]).
    pub fn with_backends(
        dir: Option<PathBuf>,
        loader: Arc<dyn ModuleLoader>,
        backends: Option<Arc<dyn Backends>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Registry {
            dir,
            loader,
            backends,
            snap: ArcSwap::from_pointee(Snapshot::default()),
            writer: Mutex::new(()),
            failed: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// The models directory.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Resolves an alias, `sha256:<hex>` or a unique `sha256:` prefix (≥ 8 hex digits).
    ///
    /// # Errors
    /// 404 naming the model.
    pub fn resolve(&self, name: &str) -> Result<Arc<Entry>, ApiError> {
        let snap = self.snap.load();
        if let Some(e) = snap.by_alias.get(name) {
            return Ok(e.clone());
        }
        if let Some(hex) = name.strip_prefix("sha256:") {
            let hex = hex.to_ascii_lowercase();
            if hex.len() >= 8 {
                let mut found: Option<&Arc<Entry>> = None;
                for e in snap.by_alias.values().chain(&snap.retired) {
                    if e.sha256().starts_with(&hex) {
                        if found.is_some_and(|f| f.sha256() != e.sha256()) {
                            return Err(ApiError::bad_request(format!(
                                "'{name}' matches more than one model version; give more hex digits"
                            )));
                        }
                        found = found.or(Some(e));
                    }
                }
                if let Some(e) = found {
                    return Ok(e.clone());
                }
            }
        }
        Err(ApiError::unknown_model(name))
    }

    /// The current models, by alias.
    pub fn list(&self) -> Vec<Arc<Entry>> {
        let mut v: Vec<_> = self.snap.load().by_alias.values().cloned().collect();
        v.sort_by(|a, b| a.alias.cmp(&b.alias));
        v
    }

    /// Number of models served.
    pub fn len(&self) -> usize {
        self.snap.load().by_alias.len()
    }

    /// Whether no model is served.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn publish(&self, alias: &str, new: Option<Arc<Entry>>) {
        let cur = self.snap.load_full();
        let mut next = (*cur).clone();
        let old = match new {
            Some(e) => next.by_alias.insert(alias.to_string(), e),
            None => next.by_alias.remove(alias),
        };
        if let Some(old) = old {
            let still_served = next.by_alias.values().any(|e| e.sha256() == old.sha256());
            if !still_served {
                next.retired.retain(|r| r.sha256() != old.sha256());
                next.retired.push(old);
                if next.retired.len() > RETIRED_KEPT {
                    next.retired.remove(0);
                }
            }
        }
        self.snap.store(Arc::new(next));
    }

    /// What serves `alias` given its local module: the module itself, or the policy scorer the
    /// backends compose around it. `Ok(None)`: nothing serves it.
    fn compose(&self, alias: &str, local: Option<SharedScorer>) -> Result<Option<SharedScorer>, String> {
        match &self.backends {
            None => Ok(local),
            Some(b) => b.scorer(alias, local).map_err(|e| e.message),
        }
    }

    /// Serves, remotely, every name the backends can serve without a module and no module file
    /// holds (call after the first scan). Returns (name, error) of those that cannot be served.
    pub fn serve_remote_only(&self) -> Vec<(String, String)> {
        let Some(b) = &self.backends else { return Vec::new() };
        let mut failed = Vec::new();
        for alias in b.remote_names() {
            let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            if self.snap.load().by_alias.contains_key(&alias) {
                continue;
            }
            match self.compose(&alias, None) {
                Ok(Some(scorer)) => {
                    tracing::info!(model = %alias, sha256 = %scorer.info().sha256, "model served by its remote endpoint (no local module)");
                    let e = Entry {
                        alias: alias.clone(),
                        scorer,
                        loaded_at: SystemTime::now(),
                        sig: None,
                        costs: Default::default(),
                        // No module file: `GET /v1/models/{name}/module` answers 404.
                        module: Arc::from(&[][..]),
                    };
                    self.publish(&alias, Some(Arc::new(e)));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(model = %alias, error = %e, "model not served");
                    failed.push((alias, e));
                }
            }
        }
        failed
    }

    /// Loads `bytes` and serves them as `alias` (admin PUT). With a models directory, the file is
    /// written first (temp file + rename) so the version survives a restart.
    ///
    /// # Errors
    /// 422 for bytes that are not a loadable module (nothing changes), 500 for a write failure.
    pub fn install(&self, alias: &str, bytes: &[u8]) -> Result<(Arc<Entry>, bool), ApiError> {
        check_alias(alias)?;
        let scorer = self.loader.load(bytes, None).map_err(ApiError::from)?;
        let scorer = self
            .compose(alias, Some(scorer))
            .map_err(|e| ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_module", e))?
            .ok_or_else(|| ApiError::bad_request(format!("the policy file serves no model '{alias}'")))?;
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut sig = None;
        if let Some(dir) = &self.dir {
            let path = dir.join(format!("{alias}.wasm"));
            write_atomic(&path, bytes).map_err(|e| {
                ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "write_failed",
                    format!("cannot write {}: {e}", path.display()),
                )
            })?;
            sig = FileStamp::of(&path).ok();
        }
        let existed = self.snap.load().by_alias.contains_key(alias);
        let entry = Arc::new(Entry {
            alias: alias.to_string(),
            scorer,
            loaded_at: SystemTime::now(),
            module: bytes.into(),
            sig,
            costs: Default::default(),
        });
        self.publish(alias, Some(entry.clone()));
        self.metrics.reloads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(model = alias, sha256 = entry.sha256(), "model installed by the admin API");
        Ok((entry, existed))
    }

    /// Stops serving `alias` and deletes its file (admin DELETE).
    ///
    /// # Errors
    /// 404 for an unknown alias; 500 if the file cannot be deleted.
    pub fn uninstall(&self, alias: &str) -> Result<(), ApiError> {
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if !self.snap.load().by_alias.contains_key(alias) {
            return Err(ApiError::unknown_model(alias));
        }
        if let Some(dir) = &self.dir {
            let path = dir.join(format!("{alias}.wasm"));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(ApiError::new(
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "write_failed",
                        format!("cannot delete {}: {e}", path.display()),
                    ));
                }
            }
        }
        self.publish(alias, None);
        tracing::info!(model = alias, "model removed by the admin API");
        drop(_w);
        self.serve_remote_only();
        Ok(())
    }

    /// Brings the served set in line with the directory: loads new and changed `*.wasm` files,
    /// drops removed ones. A file that fails to load leaves the previous version serving and is
    /// retried when it changes again. Blocking (reads and compiles): run it off the async threads.
    pub fn scan(&self) -> ScanReport {
        self.scan_inner(true)
    }

    /// [`Registry::scan`] without waiting for recently modified files to settle: for start-up,
    /// when nothing is being written.
    pub fn scan_all(&self) -> ScanReport {
        self.scan_inner(false)
    }

    fn scan_inner(&self, settle: bool) -> ScanReport {
        let mut report = ScanReport::default();
        let Some(dir) = &self.dir else { return report };
        let Ok(read) = std::fs::read_dir(dir) else {
            tracing::warn!(dir = %dir.display(), "cannot read the models directory");
            return report;
        };
        let mut present = Vec::new();
        for item in read.flatten() {
            let path = item.path();
            let Some(alias) = module_alias(&path) else { continue };
            present.push(alias.clone());
            let Some(sig) = FileStamp::of(&path).ok() else { continue };
            if settle && sig.modified().and_then(|t| t.elapsed().ok()).is_some_and(|age| age < SETTLE) {
                continue; // still being written, probably: look again next time
            }
            let current = self.snap.load().by_alias.get(&alias).cloned();
            if current.as_ref().is_some_and(|c| c.sig == Some(sig)) {
                continue;
            }
            if self.failed.lock().unwrap_or_else(|e| e.into_inner()).get(&alias) == Some(&sig) {
                continue;
            }
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    report.failed.push((alias, e.to_string()));
                    continue;
                }
            };
            let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            if FileStamp::of(&path).ok() != Some(sig) {
                continue; // replaced meanwhile (e.g. by an admin PUT): the next scan sees it
            }
            let current = self.snap.load().by_alias.get(&alias).cloned();
            if let Some(c) = current.filter(|c| c.sha256() == sha256_hex(&bytes)) {
                // Touched but identical: remember the new signature, keep the loaded module.
                let e = Entry {
                    alias: alias.clone(),
                    scorer: c.scorer.clone(),
                    loaded_at: c.loaded_at,
                    module: c.module.clone(),
                    sig: Some(sig),
                    costs: Default::default(),
                };
                self.publish(&alias, Some(Arc::new(e)));
                continue;
            }
            if let Err(e) = check_alias(&alias) {
                report.failed.push((alias, e.message));
                continue;
            }
            let loaded = self.loader.load(&bytes, None).map_err(|e| e.to_string()).and_then(|scorer| {
                self.compose(&alias, Some(scorer))?
                    .ok_or_else(|| "the policy file serves no such model".to_string())
            });
            match loaded {
                Ok(scorer) => {
                    self.failed.lock().unwrap_or_else(|e| e.into_inner()).remove(&alias);
                    let e = Entry {
                        alias: alias.clone(),
                        scorer,
                        loaded_at: SystemTime::now(),
                        module: bytes.into(),
                        sig: Some(sig),
                        costs: Default::default(),
                    };
                    tracing::info!(model = %alias, sha256 = e.sha256(), "model loaded");
                    self.publish(&alias, Some(Arc::new(e)));
                    self.metrics.reloads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    report.loaded.push(alias);
                }
                Err(err) => {
                    self.failed.lock().unwrap_or_else(|e| e.into_inner()).insert(alias.clone(), sig);
                    self.metrics.reload_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(model = %alias, path = %path.display(), error = %err, "model file failed to load; the previous version (if any) keeps serving");
                    report.failed.push((alias, err));
                }
            }
        }
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let gone: Vec<String> = self
            .snap
            .load()
            .by_alias
            .values()
            // Checked again under the writer lock: an admin PUT may have installed the file
            // after this scan listed the directory.
            .filter(|e| {
                e.sig.is_some()
                    && !present.contains(&e.alias)
                    && !dir.join(format!("{}.wasm", e.alias)).is_file()
            })
            .map(|e| e.alias.clone())
            .collect();
        for alias in gone {
            tracing::info!(model = %alias, "model file removed; no longer served");
            self.publish(&alias, None);
            report.removed.push(alias);
        }
        drop(_w);
        if !report.removed.is_empty() {
            // A name whose policy can answer remotely goes on being served by its endpoint.
            self.serve_remote_only();
        }
        report
    }
}

/// The alias of a module file: `NAME.wasm` → `NAME` (hidden files and others: None).
fn module_alias(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    if name.starts_with('.') || !path.is_file() {
        return None;
    }
    name.strip_suffix(".wasm").map(str::to_string)
}

pub use scorekit_host::sha256_hex;
