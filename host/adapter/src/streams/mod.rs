//! The one RCF stream book of every host: state per (model, stream key), one policy when the
//! model behind a stream changes, bounded memory, persistence through a [`StateStore`].
//!
//! * A stream starts from its model's trained state, or from its saved state if it has one.
//! * When the model version serving a stream changes (a redeploy), [`Redeploy`] decides: by
//!   default the state carries over only if the new module holds the *same trained model*
//!   (same `model_sha256`, e.g. recompiled with a newer guest) and takes the state; otherwise
//!   the stream restarts from the new model's trained state — a retrained forest is the point of
//!   a redeploy — and the old state is archived in the store, never thrown away. Every outcome
//!   other than "nothing changed" comes back as a notice the host shows its caller.
//! * At most `max_live` streams, holding at most `max_live_bytes` of memory, are live; the least
//!   recently used idle one is saved and dropped to make room. [`Quotas`] bound how many streams a
//!   model may have in all (live and saved) and per key prefix, so one caller cannot fill it.
//! * [`Persist::EveryStep`] saves after every step (PostgreSQL: inside the caller's
//!   transaction); [`Persist::Deferred`] marks streams dirty and [`StreamBook::flush`] saves them
//!   (the server, on a timer and at shutdown). With a write-ahead log ([`wal`],
//!   [`StreamBook::with_wal`]) every learning step is logged and synced before it is
//!   acknowledged, so no acknowledged reading is lost between saves, whatever kills the process.
//! * When a call fails in a way that may have corrupted the stream (a trap, a deadline), the
//!   live stream is dropped and the next step continues from the last saved state; the error
//!   says so.
//! * Stores other writers share (a table) set `shared_store`: a live stream is used only while
//!   the store still holds the state it continued from, so a rolled-back transaction or another
//!   session's step is never overwritten.

mod file;
mod store;
#[cfg(feature = "wal")]
pub mod wal;
// Without the `wal` feature (the browser host, which has no files) no log can exist: `Wal` is a
// type without values, so a book never holds one and the log's code (and CRC table) is not linked.
#[cfg(not(feature = "wal"))]
#[path = "no_wal.rs"]
mod wal;

pub use file::{
    FileStore, StateFile, decode_state, decode_state_with, encode_state, escape_key, unescape_key,
    write_atomic,
};
pub use store::{MemoryStore, StateMeta, StateStore, StoredState, StreamSummary, sort_by_stream};
pub use wal::Wal;

/// One logged step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalRecord {
    /// Model name (alias).
    pub model: String,
    /// Stream key.
    pub key: String,
    /// Readings the stream had learned before this step.
    pub readings_before: u64,
    /// The step's rows request (ABI wire bytes).
    pub rows: Vec<u8>,
}

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use scorekit_abi::Rows;
use scorekit_abi::values::RcfStep;
use scorekit_core::Family;

use crate::error::{Code, HostError, HostResult, Kind};
use crate::scorer::{SharedScorer, StreamScorer};

/// Longest stream key, in bytes.
pub const MAX_KEY_BYTES: usize = 200;

/// What happens to a stream's state when its model version changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Redeploy {
    /// Carry the state over when the new module holds the same trained model; otherwise restart
    /// from the new model and archive the old state.
    #[default]
    SameModelCarriesOver,
    /// Always try to carry the state over (the new model's forest is then not used by this
    /// stream); restart and archive only when the new model cannot take it.
    CarryOver,
    /// Always restart from the new model, archiving the old state.
    Restart,
}

impl Redeploy {
    /// Parses `same-model`, `carry-over`, `restart`.
    ///
    /// # Errors
    /// A message listing the accepted words.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "same-model" | "same_model" => Ok(Redeploy::SameModelCarriesOver),
            "carry-over" | "carry_over" => Ok(Redeploy::CarryOver),
            "restart" => Ok(Redeploy::Restart),
            other => Err(format!("redeploy policy '{other}' is not one of: same-model, carry-over, restart")),
        }
    }
}

/// When states are saved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Persist {
    /// After every step.
    EveryStep,
    /// By [`StreamBook::flush`].
    #[default]
    Deferred,
}

/// How many streams one model may have (live and saved). 0 = no bound (the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quotas {
    /// Streams of one model in all.
    pub max_streams: usize,
    /// Streams of one model whose keys share a prefix: the part before the first `/` or `:`
    /// (keys with neither share the empty prefix), e.g. a tenant.
    pub max_streams_per_prefix: usize,
}

/// The quota prefix of a key (see [`Quotas::max_streams_per_prefix`]).
pub fn key_prefix(key: &str) -> &str {
    key.find(['/', ':']).map_or("", |i| &key[..i])
}

/// How a book behaves.
#[derive(Clone, Copy, Debug)]
pub struct BookConfig {
    /// Streams live in memory at once.
    pub max_live: usize,
    /// Memory the live streams may hold together (their instances), 0 = no bound.
    pub max_live_bytes: usize,
    /// Bounds on the number of streams.
    pub quotas: Quotas,
    /// When states are saved.
    pub persist: Persist,
    /// Redeploy policy.
    pub redeploy: Redeploy,
    /// Whether other writers share the store (see the module documentation).
    pub shared_store: bool,
}

impl Default for BookConfig {
    fn default() -> Self {
        BookConfig {
            max_live: 1000,
            max_live_bytes: 0,
            quotas: Quotas::default(),
            persist: Persist::Deferred,
            redeploy: Redeploy::default(),
            shared_store: false,
        }
    }
}

/// What one step does with its readings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepOp {
    /// Score each reading, then learn it.
    Learn,
    /// Score against the current state without learning.
    ScoreOnly,
    /// For each reading: explain it against the state before it, score it, learn it.
    LearnExplained,
}

/// The answer of one step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepOutcome {
    /// Per reading (learning ops): score, grade, flag, threshold.
    pub steps: Vec<RcfStep>,
    /// Per reading ([`StepOp::ScoreOnly`]): the score.
    pub scores: Vec<f64>,
    /// Per reading ([`StepOp::LearnExplained`]): attribution per input, then the total.
    pub explanations: Vec<f64>,
    /// Readings the stream has learned since it (re)started.
    pub readings: u64,
    /// Module version that answered.
    pub module_sha256: String,
    /// What happened to the state on the way, when anything did (restored, carried over,
    /// restarted after a redeploy, …).
    pub notice: Option<String>,
    /// Whether the step's readings were on disk before this answer (a log or a save per step):
    /// if false, readings since the last save are lost if the process dies.
    pub durable: bool,
}

/// Checks a stream key: 1 to [`MAX_KEY_BYTES`] bytes of text without control characters.
///
/// # Errors
/// [`Code::BadInput`] naming the rule.
pub fn check_key(key: &str) -> HostResult<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES || key.chars().any(char::is_control) {
        return Err(HostError::bad_input(format!(
            "'{}' is not a valid stream key: use 1-{MAX_KEY_BYTES} bytes of text without control characters",
            key.escape_debug()
        )));
    }
    Ok(())
}

struct Slot {
    stream: Option<Box<dyn StreamScorer>>,
    meta: StateMeta,
    dirty: bool,
    last_used: u64,
    footprint: usize,
    /// Logged steps the last restore replayed.
    replayed: usize,
}

impl Slot {
    fn empty() -> Self {
        Slot {
            stream: None,
            meta: StateMeta { module_sha256: String::new(), model_sha256: String::new(), readings: 0 },
            dirty: false,
            last_used: 0,
            footprint: 0,
            replayed: 0,
        }
    }
}

type Key = (String, String);
type Slots = HashMap<Key, Arc<Mutex<Slot>>>;

/// Live streams over a store.
pub struct StreamBook {
    store: Arc<dyn StateStore>,
    config: BookConfig,
    slots: Mutex<Slots>,
    clock: AtomicU64,
    wal: Option<Arc<Wal>>,
    /// Logged steps since each stream's last save: replayed when a stream is restored.
    pending: Mutex<HashMap<Key, Vec<WalRecord>>>,
    /// Keys of each model known to exist (live or saved), for the quotas; loaded lazily.
    known: Mutex<HashMap<String, HashSet<String>>>,
}

/// What a recovery did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Streams restored from their saved state plus the log, and saved again.
    pub streams: usize,
    /// Logged steps replayed (records older than a stream's saved state are skipped).
    pub steps: usize,
    /// (model, key, why) of streams that could not be recovered now (their records are kept).
    pub failed: Vec<(String, String, String)>,
}

impl std::fmt::Debug for StreamBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamBook").field("config", &self.config).field("live", &self.live()).finish()
    }
}

fn short(sha: &str) -> &str {
    let sha = sha.strip_prefix("artifact:").unwrap_or(sha);
    &sha[..12.min(sha.len())]
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl StreamBook {
    /// A book over `store`.
    pub fn new(store: Arc<dyn StateStore>, config: BookConfig) -> Self {
        StreamBook {
            store,
            config: BookConfig { max_live: config.max_live.max(1), ..config },
            slots: Mutex::default(),
            clock: AtomicU64::new(1),
            wal: None,
            pending: Mutex::default(),
            known: Mutex::default(),
        }
    }

    /// This book with every learning step logged to `wal` before it is acknowledged.
    #[must_use]
    pub fn with_wal(mut self, wal: Arc<Wal>) -> Self {
        self.wal = Some(wal);
        self
    }

    /// Whether steps are durable before they are acknowledged.
    pub fn durable(&self) -> bool {
        self.wal.is_some() || self.config.persist == Persist::EveryStep
    }

    /// Memory the live streams hold.
    pub fn live_bytes(&self) -> usize {
        lock(&self.slots).values().filter_map(|s| s.try_lock().ok().map(|g| g.footprint)).sum()
    }

    /// Restores every stream that has logged steps (records read back by [`Wal::open`]): its saved
    /// state, then the steps after it, through the model `resolve` names for it; saves it; and,
    /// when all succeeded, deletes the old log segments.
    pub fn recover(
        &self,
        records: Vec<WalRecord>,
        resolve: impl Fn(&str) -> Option<SharedScorer>,
    ) -> Recovery {
        let mut order: Vec<Key> = Vec::new();
        {
            let mut pending = lock(&self.pending);
            for r in records {
                let k = (r.model.clone(), r.key.clone());
                if !pending.contains_key(&k) {
                    order.push(k.clone());
                }
                pending.entry(k).or_default().push(r);
            }
        }
        let mut report = Recovery::default();
        for (model, key) in order {
            let Some(scorer) = resolve(&model) else {
                report.failed.push((model, key, "the model is not served".into()));
                continue;
            };
            let done = self.slot(&model, &key).and_then(|slot| {
                let mut s = lock(&slot);
                self.ensure(&model, &key, &mut s, &scorer)?;
                s.dirty = true;
                self.save(&model, &key, &mut s)?;
                Ok(s.replayed)
            });
            if self.config.max_live_bytes > 0 || lock(&self.slots).len() > self.config.max_live {
                let mut map = lock(&self.slots);
                while (self.over_bytes(&map) || map.len() > self.config.max_live) && map.len() > 1 {
                    if self.evict_one(&mut map, None).is_err() {
                        break;
                    }
                }
            }
            match done {
                Ok(n) => {
                    report.streams += 1;
                    report.steps += n;
                }
                Err(e) => report.failed.push((model, key, e.message)),
            }
        }
        if report.failed.is_empty()
            && let Some(w) = &self.wal
        {
            w.retire_recovered();
        }
        report
    }

    /// Counts a new stream against the quotas (a no-op for a known key).
    fn admit(&self, model: &str, key: &str) -> HostResult<()> {
        let q = self.config.quotas;
        if q.max_streams == 0 && q.max_streams_per_prefix == 0 {
            return Ok(());
        }
        let mut known = lock(&self.known);
        if !known.contains_key(model) {
            let saved = self.store.list(model)?;
            known.insert(model.to_string(), saved.into_iter().map(|s| s.stream).collect());
        }
        let keys = known.get_mut(model).expect("just inserted");
        if keys.contains(key) {
            return Ok(());
        }
        if q.max_streams > 0 && keys.len() >= q.max_streams {
            return Err(HostError::new(
                Code::QuotaExceeded,
                format!(
                    "model '{model}' has {} streams, its quota; delete streams or raise the quota",
                    keys.len()
                ),
            ));
        }
        let prefix = key_prefix(key);
        if q.max_streams_per_prefix > 0 {
            let same = keys.iter().filter(|k| key_prefix(k) == prefix).count();
            if same >= q.max_streams_per_prefix {
                return Err(HostError::new(
                    Code::QuotaExceeded,
                    format!(
                        "model '{model}': keys with the prefix '{prefix}' (the part before the first '/' or ':') hold {same} streams, the per-prefix quota; delete streams or raise the quota"
                    ),
                ));
            }
        }
        keys.insert(key.to_string());
        Ok(())
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// Streams live in memory.
    pub fn live(&self) -> usize {
        lock(&self.slots).len()
    }

    fn slot(&self, model: &str, key: &str) -> HostResult<Arc<Mutex<Slot>>> {
        let mut map = lock(&self.slots);
        if let Some(s) = map.get(&(model.to_string(), key.to_string())) {
            return Ok(s.clone());
        }
        while map.len() >= self.config.max_live || self.over_bytes(&map) {
            self.evict_one(&mut map, None)?;
        }
        // On wasm32 (the browser host) a stream scorer holds JavaScript objects and is not
        // `Send`: the book runs on the page's one thread there, and the Arc is shared by nothing else.
        #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
        let slot = Arc::new(Mutex::new(Slot::empty()));
        map.insert((model.to_string(), key.to_string()), slot.clone());
        Ok(slot)
    }

    fn over_bytes(&self, map: &Slots) -> bool {
        self.config.max_live_bytes > 0
            && map.values().filter_map(|s| s.try_lock().ok().map(|g| g.footprint)).sum::<usize>()
                > self.config.max_live_bytes
    }

    /// Saves (if needed) and drops the least recently used idle stream (never `keep`).
    fn evict_one(&self, map: &mut Slots, keep: Option<&Key>) -> HostResult<()> {
        let mut idle: Vec<((String, String), u64)> = map
            .iter()
            .filter(|(k, _)| Some(*k) != keep)
            .filter_map(|(k, s)| s.try_lock().ok().map(|g| (k.clone(), g.last_used)))
            .collect();
        // Ties (slots never stepped) come in the map's arbitrary order either way.
        idle.sort_unstable_by_key(|v| v.1);
        for ((model, key), _) in idle {
            let Some(s) = map.get(&(model.clone(), key.clone())).cloned() else { continue };
            let Ok(mut g) = s.try_lock() else { continue };
            if self.save(&model, &key, &mut g).is_ok() {
                drop(g);
                map.remove(&(model, key));
                return Ok(());
            }
        }
        Err(HostError::new(
            Code::Unavailable,
            format!("{} streams are live and none can be saved and evicted now; retry shortly", map.len()),
        ))
    }

    fn save(&self, model: &str, key: &str, s: &mut Slot) -> HostResult<()> {
        if !s.dirty {
            return Ok(());
        }
        let Some(stream) = s.stream.as_mut() else { return Ok(()) };
        let state = stream.export_state()?;
        self.store.save(model, key, &StoredState { meta: s.meta.clone(), state })?;
        s.dirty = false;
        // The saved state covers every logged step so far.
        if let Some(w) = &self.wal {
            w.checkpointed(model, key, s.meta.readings);
            if let Some(p) = lock(&self.pending).get_mut(&(model.to_string(), key.to_string())) {
                p.retain(|r| r.readings_before >= s.meta.readings);
            }
        }
        Ok(())
    }

    /// Runs one step on stream `key` of `model`, served now by `scorer`.
    ///
    /// # Errors
    /// A bad key or batch ([`Kind::Client`]: the batch was not learned), the scorer's errors
    /// (the stream then continues from its last saved state, as the message says), storage
    /// errors, [`Code::Unavailable`] when no stream slot can be freed.
    pub fn step(
        &self,
        scorer: &SharedScorer,
        model: &str,
        key: &str,
        rows: &Rows,
        op: StepOp,
    ) -> HostResult<StepOutcome> {
        check_key(key)?;
        if scorer.info().family() != Family::Rcf {
            return Err(HostError::new(
                Code::Unsupported,
                format!(
                    "model '{model}' is a {} model: streams need an rcf model",
                    scorer.info().family().as_str()
                ),
            ));
        }
        self.admit(model, key)?;
        let slot = self.slot(model, key)?;
        let mut s = lock(&slot);
        s.last_used = self.clock.fetch_add(1, Ordering::Relaxed);
        let notice = self.ensure(model, key, &mut s, scorer)?;
        let result = run_step(s.stream.as_deref_mut().expect("ensure opened the stream"), rows, op);
        match result {
            Ok(mut out) => {
                let mut logged = None;
                if op != StepOp::ScoreOnly {
                    let before = s.meta.readings;
                    s.meta.readings += rows.n_rows() as u64;
                    s.dirty = true;
                    if let Some(w) = &self.wal {
                        let record = WalRecord {
                            model: model.to_string(),
                            key: key.to_string(),
                            readings_before: before,
                            rows: rows.as_bytes().to_vec(),
                        };
                        match w.append(&record, s.meta.readings) {
                            Ok(position) => {
                                lock(&self.pending)
                                    .entry((model.to_string(), key.to_string()))
                                    .or_default()
                                    .push(record);
                                logged = Some(position);
                            }
                            Err(e) => {
                                // Not logged, so not acknowledged: forget the step with the stream.
                                s.stream = None;
                                s.dirty = false;
                                return Err(e);
                            }
                        }
                    } else if self.config.persist == Persist::EveryStep {
                        self.save(model, key, &mut s)?;
                    }
                }
                s.footprint = s.stream.as_deref().map_or(0, |st| st.footprint());
                out.readings = s.meta.readings;
                out.module_sha256 = s.meta.module_sha256.clone();
                out.notice = notice;
                out.durable = self.durable() && op != StepOp::ScoreOnly;
                drop(s);
                if let (Some(w), Some(position)) = (&self.wal, logged) {
                    // Group commit: the stream's lock is free while the log syncs.
                    if let Err(e) = w.sync(position) {
                        lock(&slot).stream = None;
                        return Err(e);
                    }
                }
                if self.config.max_live_bytes > 0 {
                    let mut map = lock(&self.slots);
                    let me = (model.to_string(), key.to_string());
                    while self.over_bytes(&map) && map.len() > 1 {
                        if self.evict_one(&mut map, Some(&me)).is_err() {
                            break;
                        }
                    }
                }
                Ok(out)
            }
            Err(e) if e.kind() == Kind::Client => Err(e),
            Err(e) => {
                // The stream's instance may be corrupt: forget it; the next step continues from
                // the last saved state.
                s.stream = None;
                s.dirty = false;
                let saved = self.store.meta(model, key).ok().flatten();
                let then = match saved {
                    Some(m) => {
                        format!("the stream continues from its last saved state ({} readings)", m.readings)
                    }
                    None => "the stream had no saved state and restarts from the model's trained state"
                        .to_string(),
                };
                Err(HostError::new(e.code, format!("{}; {then}", e.message)))
            }
        }
    }

    /// Makes `s` a live stream of `scorer`'s version, restoring or moving state as the policy
    /// says. Returns the notice to show, if any.
    fn ensure(
        &self,
        model: &str,
        key: &str,
        s: &mut Slot,
        scorer: &SharedScorer,
    ) -> HostResult<Option<String>> {
        let info = scorer.info();
        let (sha, artifact) = (info.sha256.clone(), info.description.model_sha256.clone());
        if s.stream.is_some() && self.config.shared_store {
            let stored = self.store.meta(model, key)?;
            let in_sync = match &stored {
                Some(m) => *m == s.meta && !s.dirty,
                None => s.meta.readings == 0 && !s.dirty,
            };
            if !in_sync {
                s.stream = None;
                s.dirty = false;
            }
        }
        if s.stream.is_some() && s.meta.module_sha256 == sha {
            return Ok(None);
        }
        let mut fresh = scorer.open_stream()?;
        let fresh_meta =
            StateMeta { module_sha256: sha.clone(), model_sha256: artifact.clone(), readings: 0 };
        // The state this stream continues from: the live one (a redeploy while live), or the saved one.
        let from_store = s.stream.is_none();
        let previous = match s.stream.as_mut() {
            Some(live) => Some(StoredState { meta: s.meta.clone(), state: live.export_state()? }),
            None => self.store.load(model, key)?,
        };
        let previous_readings = previous.as_ref().map_or(0, |p| p.meta.readings);
        let notice = match previous {
            None => {
                s.meta = fresh_meta;
                s.dirty = false;
                None
            }
            Some(prev) if prev.meta.module_sha256 == sha => match fresh.import_state(&prev.state) {
                Ok(()) => {
                    s.meta = prev.meta;
                    s.dirty = false;
                    None
                }
                Err(e) => {
                    let kept = self.store.archive(model, key, &prev, "unreadable")?;
                    s.meta = fresh_meta;
                    s.dirty = true;
                    Some(format!(
                        "the saved state could not be restored ({e}); the stream restarted from the model's trained state; the old state is kept at {kept}"
                    ))
                }
            },
            Some(prev) => {
                let same_model = !artifact.is_empty() && prev.meta.model_sha256 == artifact;
                let carry = match self.config.redeploy {
                    Redeploy::SameModelCarriesOver => same_model,
                    Redeploy::CarryOver => true,
                    Redeploy::Restart => false,
                };
                let from = short(&prev.meta.module_sha256).to_string();
                let imported = if carry { Some(fresh.import_state(&prev.state)) } else { None };
                match imported {
                    Some(Ok(())) => {
                        s.meta = StateMeta { readings: prev.meta.readings, ..fresh_meta };
                        s.dirty = true;
                        let why =
                            if same_model { "same trained model" } else { "redeploy policy carry-over" };
                        Some(format!("stream state carried over from model version {from} ({why})"))
                    }
                    other => {
                        let kept = self.store.archive(model, key, &prev, &from)?;
                        s.meta = fresh_meta;
                        s.dirty = true;
                        let why = match other {
                            Some(Err(e)) => {
                                format!("the new model version cannot take this stream's state ({e})")
                            }
                            _ => format!("model '{model}' changed from version {from} to {}", short(&sha)),
                        };
                        Some(format!(
                            "{why}: the stream restarted from the new model's trained state; the previous state ({} readings) is kept at {kept}",
                            prev.meta.readings
                        ))
                    }
                }
            }
        };
        // A restored state continues with the steps logged after it was saved.
        let mut notice = notice;
        if from_store && s.meta.readings == previous_readings {
            let (replayed, gap) = self.replay(model, key, &mut *fresh, &mut s.meta.readings)?;
            s.replayed = replayed;
            if replayed > 0 {
                s.dirty = true;
            }
            if let Some(g) = gap {
                notice = Some(notice.map_or(g.clone(), |n| format!("{n}; {g}")));
            }
        }
        s.footprint = fresh.footprint();
        s.stream = Some(fresh);
        if s.dirty && self.config.persist == Persist::EveryStep {
            self.save(model, key, s)?;
        }
        Ok(notice)
    }

    /// Replays the logged steps of `key` that follow `readings` into `stream`. Returns how many
    /// steps it replayed, and a notice if the log does not continue the state.
    fn replay(
        &self,
        model: &str,
        key: &str,
        stream: &mut dyn StreamScorer,
        readings: &mut u64,
    ) -> HostResult<(usize, Option<String>)> {
        let records: Vec<WalRecord> = match lock(&self.pending).get(&(model.to_string(), key.to_string())) {
            Some(r) => r.iter().filter(|r| r.readings_before >= *readings).cloned().collect(),
            None => return Ok((0, None)),
        };
        let mut replayed = 0;
        let total = records.len();
        for r in records {
            if r.readings_before != *readings {
                return Ok((
                    replayed,
                    Some(format!(
                        "the stream log skips from {} to {} readings: {} logged steps after the gap were not replayed",
                        *readings,
                        r.readings_before,
                        total - replayed
                    )),
                ));
            }
            let rows = Rows::from_bytes(r.rows)
                .map_err(|e| HostError::new(Code::Storage, format!("stream log: {e}")))?;
            stream.score_update(&rows)?;
            *readings += rows.n_rows() as u64;
            replayed += 1;
        }
        Ok((replayed, None))
    }

    /// Saves every changed stream. Returns (saved, failed).
    pub fn flush(&self) -> (usize, usize) {
        let slots: Vec<(Key, Arc<Mutex<Slot>>)> =
            lock(&self.slots).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let (mut ok, mut failed) = (0, 0);
        for ((model, key), slot) in slots {
            let mut s = lock(&slot);
            if !s.dirty {
                continue;
            }
            match self.save(&model, &key, &mut s) {
                Ok(()) => ok += 1,
                Err(_) => failed += 1,
            }
        }
        (ok, failed)
    }

    /// Streams of `model`: live ones and saved ones.
    ///
    /// # Errors
    /// Storage errors.
    pub fn list(&self, model: &str) -> HostResult<Vec<StreamSummary>> {
        let live: Vec<(String, Arc<Mutex<Slot>>)> = lock(&self.slots)
            .iter()
            .filter(|((m, _), _)| m == model)
            .map(|((_, k), s)| (k.clone(), s.clone()))
            .collect();
        let mut out: Vec<StreamSummary> = Vec::new();
        for (key, s) in live {
            let s = lock(&s);
            if s.stream.is_some() {
                out.push(StreamSummary {
                    stream: key,
                    readings: s.meta.readings,
                    sha256: s.meta.module_sha256.clone(),
                    loaded: true,
                });
            }
        }
        for saved in self.store.list(model)? {
            if !out.iter().any(|o| o.stream == saved.stream) {
                out.push(saved);
            }
        }
        sort_by_stream(&mut out);
        Ok(out)
    }

    /// Forgets a stream: live state and saved state. Returns whether it existed.
    ///
    /// # Errors
    /// A bad key; storage errors.
    pub fn delete(&self, model: &str, key: &str) -> HostResult<bool> {
        check_key(key)?;
        let live = lock(&self.slots).remove(&(model.to_string(), key.to_string()));
        let was_live = live.is_some_and(|s| lock(&s).stream.is_some());
        lock(&self.pending).remove(&(model.to_string(), key.to_string()));
        if let Some(keys) = lock(&self.known).get_mut(model) {
            keys.remove(key);
        }
        Ok(self.store.delete(model, key)? || was_live)
    }
}

/// Runs one step on a stream without a book (a host with a single, unsaved stream: `host score`).
/// Only the value fields of the outcome are set.
///
/// # Errors
/// The stream's errors.
pub fn run_step(stream: &mut dyn StreamScorer, rows: &Rows, op: StepOp) -> HostResult<StepOutcome> {
    let mut out = StepOutcome::default();
    match op {
        StepOp::Learn => out.steps = stream.score_update(rows)?,
        StepOp::ScoreOnly => out.scores = stream.score(rows)?,
        StepOp::LearnExplained => {
            // Reading by reading: each explanation describes the reading against the forest as
            // it was just before learning it.
            let req = rows.request().map_err(|e| HostError::bad_input(e.to_string()))?;
            let mut cur = req.cursor();
            let mut cells = Vec::new();
            let mut one = Rows::tagged(rows.n_cols());
            let mut i = 0;
            while cur.next_cells(&mut cells).map_err(|e| HostError::bad_input(e.to_string()))? {
                one.clear_tagged(rows.n_cols());
                for c in &cells {
                    one.push_cell(*c).map_err(|e| HostError::bad_input(e.to_string()))?;
                }
                one.end_row().map_err(|e| HostError::bad_input(e.to_string()))?;
                one.set_row_base(rows.row_base() + i).map_err(|e| HostError::bad_input(e.to_string()))?;
                out.explanations.extend(stream.explain(&one)?);
                out.steps.extend(stream.score_update(&one)?);
                i += 1;
            }
        }
    }
    Ok(out)
}
