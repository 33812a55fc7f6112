//! The policy file in force (feature `remote`): the host layer's `Policies`, re-read without a
//! server restart when the file changes or the configuration names another one.
//!
//! The configuration (`scorekit.json`) is read once per server process, except its
//! `policy_file` key: every model resolution (once per function call site per statement, at
//! `_init`) looks at the size and modification time of the configuration and of the policy
//! file, and reads again what changed. A configuration or policy file that cannot be read or is
//! wrong is the error of every resolution until it is fixed: a configured policy is never
//! silently ignored. A re-read policy file starts its counters (`scorekit_remote_stats()`) at
//! zero, as a server restart would.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use scorekit_host::policy::Policies;
use scorekit_host::remote::Interrupt;
use scorekit_host::{Backends, Code, FileStamp, HostError, HostResult, SharedScorer};

use crate::config::Settings;

/// A file as it was when read (None: it could not be read, e.g. it did not exist).
type Stamp = Option<FileStamp>;

fn stamp(path: &Path) -> Stamp {
    FileStamp::of(path).ok()
}

#[derive(Default)]
struct State {
    config: Option<Stamp>,
    /// The policy file the configuration names now.
    path: Option<PathBuf>,
    /// The policy file's stamp and what reading it gave.
    loaded: Option<(Stamp, Result<Arc<Policies>, HostError>)>,
    /// Why the configuration could not be re-read, if it could not.
    config_error: Option<HostError>,
}

/// The policies of the policy file the configuration names, kept current.
pub struct WatchedPolicies {
    config_path: PathBuf,
    interrupt: Interrupt,
    state: Mutex<State>,
}

impl std::fmt::Debug for WatchedPolicies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchedPolicies").field("config", &self.config_path).finish_non_exhaustive()
    }
}

impl WatchedPolicies {
    /// Watches the configuration `settings` came from, starting with its `policy_file`.
    ///
    /// # Errors
    /// The policy file's problem, naming it.
    pub fn new(settings: &Settings, interrupt: Interrupt) -> HostResult<Self> {
        let w = WatchedPolicies {
            config_path: settings.path.clone(),
            interrupt,
            state: Mutex::new(State {
                config: Some(stamp(&settings.path)),
                path: settings.config.policy_file.clone(),
                ..State::default()
            }),
        };
        w.current()?;
        Ok(w)
    }

    /// The policies in force now (None: no policy file is configured), re-reading what changed.
    ///
    /// # Errors
    /// The configuration's or the policy file's problem, naming the file.
    pub fn current(&self) -> HostResult<Option<Arc<Policies>>> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = stamp(&self.config_path);
        if s.config.as_ref() != Some(&now) {
            s.config = Some(now);
            match std::fs::read_to_string(&self.config_path)
                .map_err(|e| format!("cannot read the configuration {}: {e}", self.config_path.display()))
                .and_then(|text| Settings::parse(&text, &self.config_path))
            {
                Ok(settings) => {
                    s.config_error = None;
                    if s.path != settings.config.policy_file {
                        s.path = settings.config.policy_file;
                        s.loaded = None;
                    }
                }
                Err(e) => s.config_error = Some(HostError::new(Code::Unavailable, e)),
            }
        }
        if let Some(e) = &s.config_error {
            return Err(e.clone());
        }
        let Some(path) = s.path.clone() else { return Ok(None) };
        let now = stamp(&path);
        if s.loaded.as_ref().map(|(st, _)| st) != Some(&now) {
            let read = Policies::load(&path)
                .map(|p| Arc::new(p.with_interrupt(self.interrupt.clone())))
                .map_err(|e| e.context("policy_file"));
            s.loaded = Some((now, read));
        }
        match &s.loaded {
            Some((_, Ok(p))) => Ok(Some(p.clone())),
            Some((_, Err(e))) => Err(e.clone()),
            None => Ok(None),
        }
    }
}

impl Backends for WatchedPolicies {
    fn scorer(&self, name: &str, local: Option<SharedScorer>) -> HostResult<Option<SharedScorer>> {
        match self.current()? {
            Some(p) => p.scorer(name, local),
            None => Ok(local),
        }
    }

    fn remote_names(&self) -> Vec<String> {
        self.current().ok().flatten().map(|p| p.remote_names()).unwrap_or_default()
    }
}
