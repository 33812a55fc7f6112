//! The server's stream-state store: the host layer's file (or memory) store, counted in the
//! server's metrics.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use scorekit_host::HostResult;
use scorekit_host::streams::{StateMeta, StateStore, StoredState, StreamSummary};

use crate::metrics::Metrics;

/// A store whose saves are counted (`scorekit_stream_state_saves_total`, `…_failures_total`).
pub struct CountedStore {
    inner: Arc<dyn StateStore>,
    metrics: Arc<Metrics>,
}

impl CountedStore {
    /// Counts the saves of `inner` in `metrics`.
    pub fn new(inner: Arc<dyn StateStore>, metrics: Arc<Metrics>) -> Self {
        CountedStore { inner, metrics }
    }
}

impl StateStore for CountedStore {
    fn load(&self, model: &str, key: &str) -> HostResult<Option<StoredState>> {
        self.inner.load(model, key)
    }

    fn meta(&self, model: &str, key: &str) -> HostResult<Option<StateMeta>> {
        self.inner.meta(model, key)
    }

    fn save(&self, model: &str, key: &str, state: &StoredState) -> HostResult<()> {
        let r = self.inner.save(model, key, state);
        match &r {
            Ok(()) => self.metrics.state_saves.fetch_add(1, Relaxed),
            Err(e) => {
                tracing::error!(model, stream = key, error = %e, "cannot save stream state");
                self.metrics.state_save_failures.fetch_add(1, Relaxed)
            }
        };
        r
    }

    fn archive(&self, model: &str, key: &str, state: &StoredState, tag: &str) -> HostResult<String> {
        self.inner.archive(model, key, state, tag)
    }

    fn delete(&self, model: &str, key: &str) -> HostResult<bool> {
        self.inner.delete(model, key)
    }

    fn list(&self, model: &str) -> HostResult<Vec<StreamSummary>> {
        self.inner.list(model)
    }
}
