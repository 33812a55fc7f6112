//! Named RCF streams: one module instance per (model alias, stream key) holding the forest state
//! between requests, persisted to `--state-dir` and restored on first use after a restart.
//!
//! State is never thrown away: a stream whose model is replaced carries its state over to the new
//! version (export, import); if the new version cannot take it (another shape), the old state is
//! kept on disk as `KEY.orphan-<sha12>.state` and the stream restarts from the new model, which the
//! response says. Streams idle beyond the in-memory cap are written to disk and evicted, so
//! memory stays bounded while every stream remains restorable. If a module call fails in a way
//! that may have corrupted the instance, the stream falls back to its last checkpoint (the last
//! state written to disk), again saying so.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use axum::http::StatusCode;
use scorekit_core::Cell;

use crate::backend::{CallError, Stream};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::registry::{Entry, write_atomic};

const MAGIC: &[u8; 8] = b"SKSTRM01";

/// Live streams by (model alias, stream key).
type SlotMap = HashMap<(String, String), Arc<Mutex<Slot>>>;

/// Checks a stream key: 1–128 of `[A-Za-z0-9_.:-]`, not starting with `.`.
///
/// # Errors
/// 400 naming the rule.
pub fn check_key(key: &str) -> Result<(), ApiError> {
    let ok = !key.is_empty()
        && key.len() <= 128
        && !key.starts_with('.')
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "'{key}' is not a valid stream key: use 1-128 letters, digits, '_', '.', '-', not starting with '.'"
        )))
    }
}

/// Header of a state file.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
struct FileHeader {
    model: String,
    sha256: String,
    stream: String,
    readings: u64,
    saved_unix: u64,
}

/// One live stream.
pub struct Slot {
    key: String,
    alias: String,
    sha256: String,
    stream: Option<Box<dyn Stream>>,
    /// Readings learned since the stream began (across restarts).
    pub readings: u64,
    dirty: bool,
    last_used: Instant,
    /// The last state written to disk: the fallback after a failed call.
    checkpoint: Option<Vec<u8>>,
}

/// What a stream step returned, with any notice about how the state was obtained.
pub struct StepOutcome {
    /// Values (4 per row for score-and-learn, 1 per row for score-only).
    pub values: Vec<f64>,
    /// The model version that answered.
    pub sha256: String,
    /// Readings learned so far.
    pub readings: u64,
    /// A notice (state carried over, restarted, restored from a checkpoint), if any.
    pub notice: Option<String>,
}

/// Summary of one stream, for listings.
#[derive(serde::Serialize, Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// Stream key.
    pub stream: String,
    /// Readings learned.
    pub readings: u64,
    /// Model version the state belongs to.
    pub sha256: String,
    /// Whether it is in memory (`false`: on disk only, restored on next use).
    pub loaded: bool,
}

/// All streams of a server.
pub struct StreamStore {
    dir: Option<PathBuf>,
    slots: Mutex<SlotMap>,
    max_loaded: usize,
    metrics: Arc<Metrics>,
}

fn internal(code: &'static str, msg: String) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code, msg)
}

impl StreamStore {
    /// Streams persisted under `dir` (None: in memory only, lost on exit), at most `max_loaded`
    /// in memory at once.
    pub fn new(dir: Option<PathBuf>, max_loaded: usize, metrics: Arc<Metrics>) -> Self {
        StreamStore { dir, slots: Mutex::new(HashMap::new()), max_loaded: max_loaded.max(1), metrics }
    }

    fn path(&self, alias: &str, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(alias).join(format!("{key}.state")))
    }

    /// Number of streams in memory.
    pub fn loaded(&self) -> usize {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn slot(&self, alias: &str, key: &str) -> Result<Arc<Mutex<Slot>>, ApiError> {
        let mut map = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get(&(alias.to_string(), key.to_string())) {
            return Ok(s.clone());
        }
        if map.len() >= self.max_loaded {
            self.evict_one(&mut map)?;
        }
        let slot = Arc::new(Mutex::new(Slot {
            key: key.to_string(),
            alias: alias.to_string(),
            sha256: String::new(),
            stream: None,
            readings: 0,
            dirty: false,
            last_used: Instant::now(),
            checkpoint: None,
        }));
        map.insert((alias.to_string(), key.to_string()), slot.clone());
        Ok(slot)
    }

    /// Writes the least recently used idle stream to disk and drops it from memory.
    fn evict_one(&self, map: &mut SlotMap) -> Result<(), ApiError> {
        let busy = || {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                format!("{} streams are open (--max-streams) and none can be evicted now", self.max_loaded),
            )
        };
        if self.dir.is_none() {
            return Err(ApiError { retry_after: Some(1), ..busy() });
        }
        let mut victims: Vec<((String, String), Instant)> =
            map.iter().filter_map(|(k, s)| s.try_lock().ok().map(|g| (k.clone(), g.last_used))).collect();
        victims.sort_by_key(|v| v.1);
        for (k, _) in victims {
            let Some(s) = map.get(&k).cloned() else { continue };
            let Ok(mut g) = s.try_lock() else { continue };
            if self.save(&mut g).is_ok() {
                drop(g);
                map.remove(&k);
                return Ok(());
            }
        }
        Err(ApiError { retry_after: Some(1), ..busy() })
    }

    /// Runs one step on stream `key` of `entry`: score-and-learn (`learn`) or score only.
    ///
    /// # Errors
    /// 4xx for bad rows (rows before a bad one were learned), 5xx for module failures (the
    /// stream falls back to its checkpoint), 503 when no stream slot is free.
    pub fn step(
        &self,
        entry: &Entry,
        key: &str,
        n_cols: usize,
        cells: &[Cell<'_>],
        learn: bool,
    ) -> Result<StepOutcome, ApiError> {
        check_key(key)?;
        let slot = self.slot(&entry.alias, key)?;
        let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
        s.last_used = Instant::now();
        let mut notice = self.ensure(&mut s, entry)?;
        let stream = s.stream.as_mut().expect("ensure opened the stream");
        let n_rows = cells.len() / n_cols.max(1);
        let result = if learn { stream.score_update(n_cols, cells) } else { stream.score(n_cols, cells) };
        match result {
            Ok(values) => {
                if learn {
                    s.readings += n_rows as u64;
                    s.dirty = true;
                }
                Ok(StepOutcome { values, sha256: s.sha256.clone(), readings: s.readings, notice })
            }
            Err(e @ (CallError::BadInput(_) | CallError::Unsupported(_))) => {
                // Rows before the bad one were learned: count them as changed state.
                if learn {
                    s.dirty = true;
                }
                Err(e.into())
            }
            Err(e) => {
                let restored = self.recover(&mut s);
                notice = Some(restored);
                let mut err: ApiError = e.into();
                err.message = format!("{}; {}", err.message, notice.unwrap_or_default());
                Err(err)
            }
        }
    }

    /// After a failed call: back to the last checkpoint, or the model's initial state.
    fn recover(&self, s: &mut Slot) -> String {
        let Some(stream) = s.stream.as_mut() else { return "the stream will restart".into() };
        if let Some(cp) = s.checkpoint.clone()
            && stream.import_state(&cp).is_ok()
        {
            s.dirty = false;
            return "the stream was restored to its last saved state".into();
        }
        // No checkpoint: a fresh instance of the model (the runtime re-instantiates on open).
        s.stream = None;
        "the stream had no saved state and will restart from the model's initial state".into()
    }

    /// Opens the stream if needed (restoring saved state) and moves it to `entry`'s version.
    fn ensure(&self, s: &mut Slot, entry: &Entry) -> Result<Option<String>, ApiError> {
        let sha = entry.sha256().to_string();
        if s.stream.is_some() && s.sha256 == sha {
            return Ok(None);
        }
        let mut fresh = entry.module.open_stream().map_err(ApiError::from)?;
        if s.stream.is_none() {
            s.sha256 = sha.clone();
            let notice = self.restore(s, &mut *fresh);
            s.stream = Some(fresh);
            return Ok(notice);
        }
        // The alias now points at another version: carry the state over.
        let old = s.stream.as_mut().expect("checked").export_state();
        let notice = match old {
            Ok(state) => match fresh.import_state(&state) {
                Ok(()) => Some(format!(
                    "stream state carried over from model version {}",
                    &s.sha256[..12.min(s.sha256.len())]
                )),
                Err(e) => {
                    let kept = self.orphan_bytes(s, &state);
                    Some(format!(
                        "the new model version cannot take this stream's state ({e}); restarted from the model's initial state; old state kept at {kept}"
                    ))
                }
            },
            Err(e) => {
                Some(format!("the previous state could not be exported ({e}); restarted from the new model"))
            }
        };
        s.stream = Some(fresh);
        s.sha256 = sha;
        s.dirty = true;
        s.checkpoint = None;
        tracing::info!(model = %s.alias, stream = %s.key, notice = ?notice, "stream moved to a new model version");
        Ok(notice)
    }

    /// Loads the saved state of `s` into `stream`, if there is one.
    fn restore(&self, s: &mut Slot, stream: &mut dyn Stream) -> Option<String> {
        let path = self.path(&s.alias, &s.key)?;
        let bytes = std::fs::read(&path).ok()?;
        match parse_file(&bytes) {
            Ok((header, state)) => match stream.import_state(state) {
                Ok(()) => {
                    s.readings = header.readings;
                    s.checkpoint = Some(state.to_vec());
                    tracing::debug!(model = %s.alias, stream = %s.key, "stream state restored");
                    (header.sha256 != s.sha256).then(|| {
                        format!(
                            "stream state restored from model version {}",
                            &header.sha256[..12.min(header.sha256.len())]
                        )
                    })
                }
                Err(e) => {
                    let kept = self.orphan_file(&path, &header.sha256);
                    Some(format!(
                        "saved state could not be restored ({e}); started fresh; old state kept at {kept}"
                    ))
                }
            },
            Err(e) => {
                let kept = self.orphan_file(&path, "corrupt");
                Some(format!("saved state file is unreadable ({e}); started fresh; it was kept at {kept}"))
            }
        }
    }

    fn orphan_file(&self, path: &Path, tag: &str) -> String {
        let tag: String = tag.chars().take(12).collect();
        let to = path.with_extension(format!("orphan-{tag}.state"));
        match std::fs::rename(path, &to) {
            Ok(()) => to.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }

    fn orphan_bytes(&self, s: &Slot, state: &[u8]) -> String {
        let Some(path) = self.path(&s.alias, &s.key) else { return "nowhere (no --state-dir)".into() };
        let tag: String = s.sha256.chars().take(12).collect();
        let to = path.with_extension(format!("orphan-{tag}.state"));
        let bytes = file_bytes(s, state);
        match write_atomic(&to, &bytes) {
            Ok(()) => to.display().to_string(),
            Err(e) => format!("nowhere ({e})"),
        }
    }

    /// Writes one stream's state if it changed.
    fn save(&self, s: &mut Slot) -> Result<(), ApiError> {
        if !s.dirty {
            return Ok(());
        }
        let Some(path) = self.path(&s.alias, &s.key) else { return Ok(()) };
        let Some(stream) = s.stream.as_mut() else { return Ok(()) };
        let state = stream.export_state().map_err(ApiError::from)?;
        let bytes = file_bytes(s, &state);
        match write_atomic(&path, &bytes) {
            Ok(()) => {
                s.dirty = false;
                s.checkpoint = Some(state);
                self.metrics.state_saves.fetch_add(1, Relaxed);
                Ok(())
            }
            Err(e) => {
                self.metrics.state_save_failures.fetch_add(1, Relaxed);
                tracing::error!(path = %path.display(), error = %e, "cannot save stream state");
                Err(internal("state_write_failed", format!("cannot write {}: {e}", path.display())))
            }
        }
    }

    /// Writes every changed stream to disk. Returns the number written and failed.
    pub fn flush(&self) -> (usize, usize) {
        let slots: Vec<Arc<Mutex<Slot>>> =
            self.slots.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        let (mut ok, mut failed) = (0, 0);
        for slot in slots {
            let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
            if !s.dirty {
                continue;
            }
            match self.save(&mut s) {
                Ok(()) => ok += 1,
                Err(_) => failed += 1,
            }
        }
        (ok, failed)
    }

    /// Streams of `alias`, in memory or on disk.
    pub fn list(&self, alias: &str) -> Vec<StreamInfo> {
        let mut out: Vec<StreamInfo> = Vec::new();
        let slots: Vec<Arc<Mutex<Slot>>> = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|((a, _), _)| a == alias)
            .map(|(_, s)| s.clone())
            .collect();
        for s in slots {
            let s = s.lock().unwrap_or_else(|e| e.into_inner());
            if s.stream.is_some() {
                out.push(StreamInfo {
                    stream: s.key.clone(),
                    readings: s.readings,
                    sha256: s.sha256.clone(),
                    loaded: true,
                });
            }
        }
        if let Some(dir) = self.dir.as_ref().map(|d| d.join(alias))
            && let Ok(read) = std::fs::read_dir(dir)
        {
            for item in read.flatten() {
                let name = item.file_name().to_string_lossy().to_string();
                let Some(key) = name.strip_suffix(".state") else { continue };
                if key.contains(".orphan-") || key.starts_with('.') || out.iter().any(|i| i.stream == key) {
                    continue;
                }
                if let Ok(bytes) = std::fs::read(item.path())
                    && let Ok((h, _)) = parse_file(&bytes)
                {
                    out.push(StreamInfo {
                        stream: key.to_string(),
                        readings: h.readings,
                        sha256: h.sha256,
                        loaded: false,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.stream.cmp(&b.stream));
        out
    }

    /// Forgets a stream: memory and saved state. Returns whether it existed.
    ///
    /// # Errors
    /// 400 for a bad key, 500 if the file cannot be deleted.
    pub fn delete(&self, alias: &str, key: &str) -> Result<bool, ApiError> {
        check_key(key)?;
        let removed = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(alias.to_string(), key.to_string()));
        let mut existed = removed.is_some();
        if let Some(path) = self.path(alias, key) {
            match std::fs::remove_file(&path) {
                Ok(()) => existed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(internal(
                        "state_write_failed",
                        format!("cannot delete {}: {e}", path.display()),
                    ));
                }
            }
        }
        Ok(existed)
    }
}

fn file_bytes(s: &Slot, state: &[u8]) -> Vec<u8> {
    let header = FileHeader {
        model: s.alias.clone(),
        sha256: s.sha256.clone(),
        stream: s.key.clone(),
        readings: s.readings,
        saved_unix: SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
    };
    let json = serde_json::to_vec(&header).unwrap_or_default();
    let mut out = Vec::with_capacity(12 + json.len() + state.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(state);
    out
}

fn parse_file(bytes: &[u8]) -> Result<(FileHeader, &[u8]), String> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err("not a scorekit stream state file".into());
    }
    let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let json = bytes.get(12..12 + n).ok_or("truncated header")?;
    let header: FileHeader = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    Ok((header, &bytes[12 + n..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(check_key("sensor-1.a_b").is_ok());
        for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(129)] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn state_file_round_trip_and_refusals() {
        let s = Slot {
            key: "k".into(),
            alias: "anomaly".into(),
            sha256: "ab".repeat(32),
            stream: None,
            readings: 42,
            dirty: true,
            last_used: Instant::now(),
            checkpoint: None,
        };
        let bytes = file_bytes(&s, b"STATE");
        let (h, state) = parse_file(&bytes).unwrap();
        assert_eq!((h.readings, h.stream.as_str(), state), (42, "k", &b"STATE"[..]));
        assert!(parse_file(b"garbage").is_err());
        assert!(parse_file(&bytes[..14]).is_err());
    }
}
