//! A write-ahead log of stream steps: what makes every acknowledged reading survive `kill -9`
//! without saving a whole forest per step.
//!
//! Every learning step appends one record — model, stream key, the stream's reading count before
//! the step, and the step's rows request exactly as the module received it — to the current
//! segment file, and is acknowledged only once the record is on disk. Appends are ordered by the
//! stream's own lock; the `fdatasync` that makes them durable is shared (**group commit**): while
//! one caller syncs, others append, and the next sync covers them all, so the log's cost is one
//! sync per batch of concurrent steps, not one per step.
//!
//! Saved states are checkpoints: a segment whose records are all older than the saved state of
//! their stream is deleted. On start the log is read back (a torn last record — never
//! acknowledged — is dropped), each stream is restored from its checkpoint, the newer records are
//! replayed through the model, the state is saved, and the old segments are deleted
//! ([`crate::streams::StreamBook::recover`]).
//!
//! Record: `u32` LE payload length, `u32` LE CRC-32 of the payload, payload = `u16` model length,
//! model, `u16` key length, key, `u64` readings before the step, the rows request bytes.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use super::WalRecord;
use crate::error::{Code, HostError, HostResult};

/// A segment is closed and a new one started past this size.
const SEGMENT_BYTES: u64 = 64 << 20;
/// A record larger than this is corrupt (requests are bounded far below it).
const MAX_RECORD: usize = 256 << 20;

impl WalRecord {
    fn encode(&self) -> HostResult<Vec<u8>> {
        let too_long =
            |what: &str| HostError::new(Code::TooLarge, format!("{what} too long for the stream log"));
        let m = u16::try_from(self.model.len()).map_err(|_| too_long("model name"))?;
        let k = u16::try_from(self.key.len()).map_err(|_| too_long("stream key"))?;
        let mut payload = Vec::with_capacity(14 + self.model.len() + self.key.len() + self.rows.len());
        payload.extend_from_slice(&m.to_le_bytes());
        payload.extend_from_slice(self.model.as_bytes());
        payload.extend_from_slice(&k.to_le_bytes());
        payload.extend_from_slice(self.key.as_bytes());
        payload.extend_from_slice(&self.readings_before.to_le_bytes());
        payload.extend_from_slice(&self.rows);
        let len = u32::try_from(payload.len()).map_err(|_| too_long("step"))?;
        let mut out = Vec::with_capacity(8 + payload.len());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    fn decode(payload: &[u8]) -> Option<WalRecord> {
        let take = |at: &mut usize, n: usize| -> Option<&[u8]> {
            let s = payload.get(*at..*at + n)?;
            *at += n;
            Some(s)
        };
        let mut at = 0;
        let m = u16::from_le_bytes(take(&mut at, 2)?.try_into().ok()?) as usize;
        let model = std::str::from_utf8(take(&mut at, m)?).ok()?.to_string();
        let k = u16::from_le_bytes(take(&mut at, 2)?.try_into().ok()?) as usize;
        let key = std::str::from_utf8(take(&mut at, k)?).ok()?.to_string();
        let readings_before = u64::from_le_bytes(take(&mut at, 8)?.try_into().ok()?);
        Some(WalRecord { model, key, readings_before, rows: payload[at..].to_vec() })
    }
}

fn storage(what: impl std::fmt::Display, e: impl std::fmt::Display) -> HostError {
    HostError::new(Code::Storage, format!("stream log: {what}: {e}"))
}

struct Segment {
    number: u64,
    /// Per stream, the reading count after its last record in this segment.
    last: HashMap<(String, String), u64>,
}

struct Writer {
    file: File,
    current: Segment,
    /// Bytes written to the current segment.
    written: u64,
    /// Log position (bytes ever appended, all segments) of the end of the last append.
    appended: u64,
    /// Segments closed in this run, not yet deleted.
    closed: BTreeMap<u64, Segment>,
    /// Segments found at open, deleted once recovery saved every stream they hold.
    recovered: Vec<u64>,
}

struct Sync {
    durable: u64,
    syncing: bool,
    failed: Option<String>,
}

/// The log of one store directory.
pub struct Wal {
    dir: PathBuf,
    writer: Mutex<Writer>,
    sync: Mutex<Sync>,
    synced: Condvar,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal").field("dir", &self.dir).finish_non_exhaustive()
    }
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:012}.wal"))
}

fn segment_numbers(dir: &Path) -> HostResult<Vec<u64>> {
    let mut out = Vec::new();
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(storage(dir.display(), e)),
    };
    for item in read.flatten() {
        let name = item.file_name().to_string_lossy().to_string();
        if let Some(n) = name.strip_suffix(".wal").and_then(|n| n.parse::<u64>().ok()) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Reads the records of one segment; stops at the first torn or corrupt record.
fn read_segment(path: &Path) -> HostResult<Vec<WalRecord>> {
    let mut bytes = Vec::new();
    File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(|e| storage(path.display(), e))?;
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let crc = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let Some(payload) = bytes.get(at + 8..at + 8 + len).filter(|_| len <= MAX_RECORD) else { break };
        if crc32fast::hash(payload) != crc {
            break;
        }
        match WalRecord::decode(payload) {
            Some(r) => out.push(r),
            None => break,
        }
        at += 8 + len;
    }
    Ok(out)
}

impl Wal {
    /// Opens the log under `dir` (created if needed): returns it, appending to a new segment,
    /// and the records of the existing segments, oldest first, for recovery. The existing
    /// segments stay until [`Wal::retire_recovered`].
    ///
    /// # Errors
    /// [`Code::Storage`] when the directory or a segment cannot be read or created.
    pub fn open(dir: impl Into<PathBuf>) -> HostResult<(Wal, Vec<WalRecord>)> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| storage(dir.display(), e))?;
        let existing = segment_numbers(&dir)?;
        let mut records = Vec::new();
        for &n in &existing {
            records.extend(read_segment(&segment_path(&dir, n))?);
        }
        let next = existing.last().map_or(1, |n| n + 1);
        let file = Self::create_segment(&dir, next)?;
        let writer = Writer {
            file,
            current: Segment { number: next, last: HashMap::new() },
            written: 0,
            appended: 0,
            closed: BTreeMap::new(),
            recovered: existing,
        };
        let wal = Wal {
            dir,
            writer: Mutex::new(writer),
            sync: Mutex::new(Sync { durable: 0, syncing: false, failed: None }),
            synced: Condvar::new(),
        };
        Ok((wal, records))
    }

    fn create_segment(dir: &Path, n: u64) -> HostResult<File> {
        let path = segment_path(dir, n);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| storage(path.display(), e))?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(file)
    }

    /// Appends a record; returns its log position, to pass to [`Wal::sync`].
    ///
    /// # Errors
    /// [`Code::Storage`] when the write fails.
    pub fn append(&self, record: &WalRecord, readings_after: u64) -> HostResult<u64> {
        let bytes = record.encode()?;
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if w.written + bytes.len() as u64 > SEGMENT_BYTES && w.written > 0 {
            // Make everything in the old segment durable before leaving it.
            w.file.sync_data().map_err(|e| storage("sync", e))?;
            let next = w.current.number + 1;
            let file = Self::create_segment(&self.dir, next)?;
            let old = std::mem::replace(&mut w.current, Segment { number: next, last: HashMap::new() });
            w.closed.insert(old.number, old);
            w.file = file;
            w.written = 0;
        }
        w.file.write_all(&bytes).map_err(|e| storage("write", e))?;
        w.written += bytes.len() as u64;
        w.appended += bytes.len() as u64;
        w.current.last.insert((record.model.clone(), record.key.clone()), readings_after);
        Ok(w.appended)
    }

    /// Returns once everything appended up to `position` is on disk. One caller at a time syncs;
    /// the others wait for it, and a sync covers every append before it (group commit).
    ///
    /// # Errors
    /// [`Code::Storage`] when the sync fails (then every later sync fails too: the log is no
    /// longer trustworthy, and steps are refused rather than acknowledged undurably).
    pub fn sync(&self, position: u64) -> HostResult<()> {
        let mut s = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(f) = &s.failed {
                return Err(storage("sync", f));
            }
            if s.durable >= position {
                return Ok(());
            }
            if !s.syncing {
                break;
            }
            s = self.synced.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.syncing = true;
        drop(s);
        // Everything appended so far is covered by this sync.
        let (target, result) = {
            let w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            let target = w.appended;
            let file = w.file.try_clone();
            drop(w);
            (target, file.and_then(|f| f.sync_data()))
        };
        let mut s = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        s.syncing = false;
        match result {
            Ok(()) => s.durable = s.durable.max(target),
            Err(e) => s.failed = Some(e.to_string()),
        }
        self.synced.notify_all();
        match &s.failed {
            Some(f) => Err(storage("sync", f)),
            None => Ok(()),
        }
    }

    /// Records that the stream's state was saved with `readings` learned: closed segments whose
    /// records of every stream are covered by saved states are deleted.
    pub fn checkpointed(&self, model: &str, key: &str, readings: u64) {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let k = (model.to_string(), key.to_string());
        let mut done = Vec::new();
        for (n, seg) in &mut w.closed {
            if seg.last.get(&k).is_some_and(|&r| r <= readings) {
                seg.last.remove(&k);
            }
            if seg.last.is_empty() {
                done.push(*n);
            }
        }
        for n in done {
            w.closed.remove(&n);
            let _ = std::fs::remove_file(segment_path(&self.dir, n));
        }
        if w.current.last.get(&k).is_some_and(|&r| r <= readings) {
            w.current.last.remove(&k);
        }
    }

    /// After a recovery replayed and saved every stream of the segments found at open: deletes
    /// them.
    pub fn retire_recovered(&self) {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        for n in std::mem::take(&mut w.recovered) {
            let _ = std::fs::remove_file(segment_path(&self.dir, n));
        }
    }

    /// Segment files on disk (for tests and metrics).
    pub fn segments(&self) -> usize {
        segment_numbers(&self.dir).map_or(0, |v| v.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, before: u64) -> WalRecord {
        WalRecord {
            model: "m".into(),
            key: key.into(),
            readings_before: before,
            rows: vec![1, 2, 3, before as u8],
        }
    }

    #[test]
    fn records_survive_a_reopen_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (wal, old) = Wal::open(dir.path()).unwrap();
            assert!(old.is_empty());
            let p = wal.append(&rec("a", 0), 1).unwrap();
            let q = wal.append(&rec("b", 0), 1).unwrap();
            assert!(q > p);
            wal.sync(q).unwrap();
        }
        // A torn record at the end of the segment (a crash mid-write).
        let seg = segment_path(dir.path(), 1);
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[50, 0, 0, 0, 1, 2]).unwrap();
        let (wal, old) = Wal::open(dir.path()).unwrap();
        assert_eq!(old, vec![rec("a", 0), rec("b", 0)]);
        assert_eq!(wal.segments(), 2);
        wal.retire_recovered();
        assert_eq!(wal.segments(), 1);
    }

    #[test]
    fn group_commit_from_many_threads() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(dir.path()).unwrap();
        let wal = std::sync::Arc::new(wal);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let wal = wal.clone();
                std::thread::spawn(move || {
                    for i in 0..50u64 {
                        let p = wal.append(&rec(&format!("k{t}"), i), i + 1).unwrap();
                        wal.sync(p).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(wal);
        let (_, old) = Wal::open(dir.path()).unwrap();
        assert_eq!(old.len(), 400);
        for t in 0..8 {
            let befores: Vec<u64> =
                old.iter().filter(|r| r.key == format!("k{t}")).map(|r| r.readings_before).collect();
            assert_eq!(befores, (0..50).collect::<Vec<_>>(), "per-stream order kept");
        }
    }
}
