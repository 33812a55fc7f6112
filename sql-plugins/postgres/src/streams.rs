//! Anomaly streams: the host layer's one [`StreamBook`] per backend, over a [`StateStore`] kept
//! in `scorekit.stream_state` (and `scorekit.stream_state_archive` for states a redeploy
//! replaced). Every step saves inside the caller's transaction (`Persist::EveryStep`), and the
//! book checks the stored row before using a live stream (`shared_store`), so a rolled-back
//! transaction or another session's step is never overwritten: the row is read `FOR UPDATE`,
//! which also makes concurrent steps of one stream take turns. Redeploys follow
//! `scorekit.on_redeploy`, the same policy as the server.
//!
//! Only the extension's functions write these tables (they are `SECURITY DEFINER` with a pinned
//! `search_path`; the tables grant no writes to `PUBLIC`), so no role can forge a stream's state.

use std::cell::RefCell;
use std::sync::Arc;

use pgrx::prelude::*;
use scorekit_host::streams::{
    BookConfig, Persist, Redeploy, StateMeta, StateStore, StoredState, StreamBook, StreamSummary,
};
use scorekit_host::{Code, HostError, HostResult};

use crate::engine;
use crate::guc;

fn storage(what: &str, e: impl std::fmt::Display) -> HostError {
    HostError::new(Code::Storage, format!("{what} stream state in scorekit.stream_state: {e}"))
}

/// Serialises the first steps of a stream that has no row yet (a row lock needs a row): two
/// sessions starting the same stream take turns instead of one overwriting the other.
const LOCK_NEW_STREAM: &str =
    "SELECT pg_advisory_xact_lock(hashtext('scorekit.stream_state'), hashtext($1 || chr(31) || $2))";

/// Stream states in `scorekit.stream_state`, through SPI. It holds nothing itself; every call runs
/// on the backend's thread, inside the caller's transaction.
#[derive(Debug, Default)]
pub struct TableStore;

impl TableStore {
    /// The stored row of a stream, locked for this transaction (`FOR UPDATE`, or the advisory
    /// lock of a stream without a row, then read again).
    fn read(&self, model: &str, key: &str, with_state: bool) -> HostResult<Option<StoredState>> {
        let sql = if with_state {
            "SELECT sha256, model_sha256, readings, state FROM scorekit.stream_state
             WHERE model = $1 AND stream_key = $2 FOR UPDATE"
        } else {
            "SELECT sha256, model_sha256, readings, NULL::bytea FROM scorekit.stream_state
             WHERE model = $1 AND stream_key = $2 FOR UPDATE"
        };
        let once = || {
            Spi::connect_mut(|client| {
                let table = client.update(sql, Some(1), &[model.into(), key.into()])?;
                if table.is_empty() {
                    return Ok(None);
                }
                let row = table.first();
                let meta = StateMeta {
                    module_sha256: row.get::<String>(1)?.unwrap_or_default(),
                    model_sha256: row.get::<String>(2)?.unwrap_or_default(),
                    readings: row.get::<i64>(3)?.unwrap_or(0).max(0) as u64,
                };
                let state = row.get::<Vec<u8>>(4)?.unwrap_or_default();
                Ok::<_, pgrx::spi::Error>(Some(StoredState { meta, state }))
            })
        };
        if let Some(found) = once().map_err(|e| storage("reading", e))? {
            return Ok(Some(found));
        }
        Spi::run_with_args(LOCK_NEW_STREAM, &[model.into(), key.into()])
            .map_err(|e| storage("locking", e))?;
        once().map_err(|e| storage("reading", e))
    }
}

impl StateStore for TableStore {
    fn load(&self, model: &str, key: &str) -> HostResult<Option<StoredState>> {
        self.read(model, key, true)
    }

    fn meta(&self, model: &str, key: &str) -> HostResult<Option<StateMeta>> {
        Ok(self.read(model, key, false)?.map(|s| s.meta))
    }

    fn save(&self, model: &str, key: &str, state: &StoredState) -> HostResult<()> {
        let readings = i64::try_from(state.meta.readings).unwrap_or(i64::MAX);
        Spi::run_with_args(
            "INSERT INTO scorekit.stream_state AS s (model, stream_key, sha256, model_sha256, state, readings)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (model, stream_key) DO UPDATE SET
                 sha256 = EXCLUDED.sha256, model_sha256 = EXCLUDED.model_sha256, state = EXCLUDED.state,
                 readings = EXCLUDED.readings, updated_at = now()",
            &[
                model.into(),
                key.into(),
                state.meta.module_sha256.as_str().into(),
                state.meta.model_sha256.as_str().into(),
                state.state.as_slice().into(),
                readings.into(),
            ],
        )
        .map_err(|e| storage("saving", e))
    }

    fn archive(&self, model: &str, key: &str, state: &StoredState, tag: &str) -> HostResult<String> {
        let readings = i64::try_from(state.meta.readings).unwrap_or(i64::MAX);
        let id = Spi::get_one_with_args::<i64>(
            "INSERT INTO scorekit.stream_state_archive (model, stream_key, sha256, model_sha256, state, readings, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                model.into(),
                key.into(),
                state.meta.module_sha256.as_str().into(),
                state.meta.model_sha256.as_str().into(),
                state.state.as_slice().into(),
                readings.into(),
                tag.into(),
            ],
        )
        .map_err(|e| storage("archiving", e))?;
        Ok(format!("scorekit.stream_state_archive id {}", id.unwrap_or_default()))
    }

    fn delete(&self, model: &str, key: &str) -> HostResult<bool> {
        let deleted = Spi::get_one_with_args::<bool>(
            "DELETE FROM scorekit.stream_state WHERE model = $1 AND stream_key = $2 RETURNING true",
            &[model.into(), key.into()],
        );
        match deleted {
            Ok(d) => Ok(d.unwrap_or(false)),
            Err(pgrx::spi::Error::InvalidPosition) => Ok(false),
            Err(e) => Err(storage("deleting", e)),
        }
    }

    fn list(&self, model: &str) -> HostResult<Vec<StreamSummary>> {
        Spi::connect(|client| {
            let table = client.select(
                "SELECT stream_key, readings, sha256 FROM scorekit.stream_state WHERE model = $1 ORDER BY stream_key",
                None,
                &[model.into()],
            )?;
            let mut out = Vec::with_capacity(table.len());
            for row in table {
                out.push(StreamSummary {
                    stream: row.get::<String>(1)?.unwrap_or_default(),
                    readings: row.get::<i64>(2)?.unwrap_or(0).max(0) as u64,
                    sha256: row.get::<String>(3)?.unwrap_or_default(),
                    loaded: false,
                });
            }
            Ok::<_, pgrx::spi::Error>(out)
        })
        .map_err(|e| storage("listing", e))
    }
}

/// The book's settings and the runtime it was opened under: a change of either opens a new book
/// (every state is saved after each step, so the old one holds nothing unsaved).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Opened {
    redeploy: Redeploy,
    max_live: usize,
    generation: u64,
}

thread_local! {
    static BOOK: RefCell<Option<(Opened, Arc<StreamBook>)>> = const { RefCell::new(None) };
}

/// The backend's stream book under the current settings.
pub fn book() -> Arc<StreamBook> {
    let want = Opened {
        redeploy: guc::redeploy(),
        max_live: guc::MAX_LIVE_STREAMS.get().max(1) as usize,
        generation: engine::generation(),
    };
    BOOK.with(|b| {
        let mut b = b.borrow_mut();
        if let Some((have, book)) = b.as_ref()
            && *have == want
        {
            return book.clone();
        }
        let config = BookConfig {
            max_live: want.max_live,
            persist: Persist::EveryStep,
            redeploy: want.redeploy,
            shared_store: true,
            ..BookConfig::default()
        };
        let book = Arc::new(StreamBook::new(Arc::new(TableStore), config));
        *b = Some((want, book.clone()));
        book
    })
}
