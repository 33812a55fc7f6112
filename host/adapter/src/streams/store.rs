//! Where stream states live between calls: a small trait every host implements once (files for
//! the server, a table for PostgreSQL), plus an in-memory store for tests and ephemeral servers.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::error::HostResult;
use crate::scorer::MaybeSendSync;

/// What a saved state says about itself, without the state bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateMeta {
    /// SHA-256 of the module version the state belongs to.
    pub module_sha256: String,
    /// SHA-256 of the trained model inside that module (`Description::model_sha256`): two
    /// modules of the same trained model (recompiled with a newer guest, new provenance) share it.
    pub model_sha256: String,
    /// Readings the stream has learned since it (re)started.
    pub readings: u64,
}

/// A saved stream state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredState {
    /// Whose state it is and how far it got.
    pub meta: StateMeta,
    /// Opaque state bytes (`StreamScorer::export_state`).
    pub state: Vec<u8>,
}

/// One stream, for listings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StreamSummary {
    /// Stream key.
    pub stream: String,
    /// Readings learned.
    pub readings: u64,
    /// Module version the state belongs to.
    pub sha256: String,
    /// Whether it is live in memory now (`false`: saved only, restored on next use).
    pub loaded: bool,
}

/// Puts a listing in stream order (stream names are unique in a listing): the one sort every
/// store and the book use, so a build links one copy of it.
pub fn sort_by_stream(list: &mut [StreamSummary]) {
    list.sort_unstable_by(|a, b| a.stream.cmp(&b.stream));
}

/// Persistence of stream states, keyed by (model name, stream key).
pub trait StateStore: MaybeSendSync {
    /// The saved state, if any.
    ///
    /// # Errors
    /// [`crate::Code::Storage`] when the store cannot be read.
    fn load(&self, model: &str, key: &str) -> HostResult<Option<StoredState>>;

    /// The saved state's metadata, if any. Stores that other writers share (a table) answer
    /// this cheaply so a live stream can be checked against the store on every step.
    ///
    /// # Errors
    /// As [`StateStore::load`].
    fn meta(&self, model: &str, key: &str) -> HostResult<Option<StateMeta>> {
        Ok(self.load(model, key)?.map(|s| s.meta))
    }

    /// Saves (replaces) a state.
    ///
    /// # Errors
    /// [`crate::Code::Storage`].
    fn save(&self, model: &str, key: &str, state: &StoredState) -> HostResult<()>;

    /// Keeps a state that is being replaced (its model changed, it could not be restored)
    /// aside under `tag`, so nothing learned is ever thrown away; returns where it went.
    ///
    /// # Errors
    /// [`crate::Code::Storage`].
    fn archive(&self, model: &str, key: &str, state: &StoredState, tag: &str) -> HostResult<String>;

    /// Forgets a stream's saved state. Returns whether there was one.
    ///
    /// # Errors
    /// [`crate::Code::Storage`].
    fn delete(&self, model: &str, key: &str) -> HostResult<bool>;

    /// The saved streams of `model` (`loaded` is false in the answer).
    ///
    /// # Errors
    /// [`crate::Code::Storage`].
    fn list(&self, model: &str) -> HostResult<Vec<StreamSummary>>;
}

/// States kept in memory only (lost on exit): tests, and servers run without a state directory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    states: Mutex<BTreeMap<(String, String), StoredState>>,
    archived: Mutex<Vec<(String, String, String, StoredState)>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// Archived states: (model, key, tag, state).
    pub fn archived(&self) -> Vec<(String, String, String, StoredState)> {
        self.archived.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl StateStore for MemoryStore {
    fn load(&self, model: &str, key: &str) -> HostResult<Option<StoredState>> {
        Ok(self.states.lock().unwrap_or_else(|p| p.into_inner()).get(&(model.into(), key.into())).cloned())
    }

    fn save(&self, model: &str, key: &str, state: &StoredState) -> HostResult<()> {
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((model.into(), key.into()), state.clone());
        Ok(())
    }

    fn archive(&self, model: &str, key: &str, state: &StoredState, tag: &str) -> HostResult<String> {
        self.archived.lock().unwrap_or_else(|p| p.into_inner()).push((
            model.into(),
            key.into(),
            tag.into(),
            state.clone(),
        ));
        Ok(format!("memory ({model}/{key}, {tag})"))
    }

    fn delete(&self, model: &str, key: &str) -> HostResult<bool> {
        Ok(self
            .states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(model.into(), key.into()))
            .is_some())
    }

    fn list(&self, model: &str) -> HostResult<Vec<StreamSummary>> {
        Ok(self
            .states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|((m, _), _)| m == model)
            .map(|((_, k), s)| StreamSummary {
                stream: k.clone(),
                readings: s.meta.readings,
                sha256: s.meta.module_sha256.clone(),
                loaded: false,
            })
            .collect())
    }
}
