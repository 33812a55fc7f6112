//! Stream states as files: `DIR/MODEL/KEY.state`, each written whole to a temporary file, synced
//! and renamed, so a reader (or a crash) sees the old state or the new one, never half of one.
//!
//! File layout: `SKSTRM01`, `u32` LE length of a JSON header (model, stream, module and artifact
//! SHA-256, readings, save time), the header, then the state bytes. Keys are escaped into file
//! names (`%XX` for anything but letters, digits, `_`, `-`, and `.` after the first character),
//! so any key the book accepts is a safe file name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Code, HostError, HostResult};
use crate::streams::store::{StateMeta, StateStore, StoredState, StreamSummary};

const MAGIC: &[u8; 8] = b"SKSTRM01";
const SUFFIX: &str = ".state";
/// Headers are small; a bigger length field means a foreign or corrupt file.
const MAX_HEADER: usize = 64 << 10;

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    model: String,
    stream: String,
    sha256: String,
    #[serde(default)]
    model_sha256: String,
    readings: u64,
    saved_unix: u64,
}

/// States under one directory.
#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
}

fn storage(what: impl std::fmt::Display, e: impl std::fmt::Display) -> HostError {
    HostError::new(Code::Storage, format!("{what}: {e}"))
}

/// A key as a file name (see the module documentation).
pub fn escape_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, b) in key.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The key a file name stands for, if it is one [`escape_key`] wrote.
pub fn unescape_key(name: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(name.len());
    let raw = name.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let mut byte = [0u8; 1];
            hex::decode_to_slice(name.get(i + 1..i + 3)?, &mut byte).ok()?;
            bytes.push(byte[0]);
            i += 3;
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    String::from_utf8(bytes).ok()
}

impl FileStore {
    /// A store under `dir` (created on first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileStore { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, model: &str, key: &str) -> PathBuf {
        self.dir.join(escape_key(model)).join(format!("{}{SUFFIX}", escape_key(key)))
    }

    /// Reads just the header of a state file.
    fn read_header(path: &Path) -> std::io::Result<Option<Result<Header, String>>> {
        let mut f = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut head = [0u8; 12];
        if f.read_exact(&mut head).is_err() {
            return Ok(Some(Err("truncated file".into())));
        }
        let n = u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize;
        if &head[..8] != MAGIC || n > MAX_HEADER {
            return Ok(Some(Err("not a scorekit stream state file".into())));
        }
        let mut buf = head.to_vec();
        buf.resize(12 + n, 0);
        if f.read_exact(&mut buf[12..]).is_err() {
            return Ok(Some(Err("truncated header".into())));
        }
        Ok(Some(header_of(&buf).map(|(h, _)| h)))
    }
}

/// A decoded state file (the layout above): whose stream it was, and the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateFile {
    /// The model (alias) the stream belonged to.
    pub model: String,
    /// The stream key.
    pub stream: String,
    /// The state and whose it is.
    pub state: StoredState,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A state file's bytes (`saved_unix`: seconds since the epoch, for the header; passed in
/// because `wasm32` has no clock of its own). What [`FileStore`] writes; the browser host
/// downloads and uploads the same bytes.
pub fn encode_state(model: &str, key: &str, s: &StoredState, saved_unix: u64) -> Vec<u8> {
    let header = Header {
        model: model.into(),
        stream: key.into(),
        sha256: s.meta.module_sha256.clone(),
        model_sha256: s.meta.model_sha256.clone(),
        readings: s.meta.readings,
        saved_unix,
    };
    let json = serde_json::to_vec(&header).unwrap_or_default();
    let mut out = Vec::with_capacity(12 + json.len() + s.state.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&s.state);
    out
}

/// Reads a state file's bytes.
///
/// # Errors
/// A message saying why the bytes are not one.
pub fn decode_state(bytes: &[u8]) -> Result<StateFile, String> {
    let (h, at) = header_of(bytes)?;
    Ok(state_file(h, bytes, at))
}

/// [`decode_state`] with the header's JSON text read by `parse` (the browser host hands it to
/// the page's own `JSON.parse`, so that its glue links no JSON text parser); the layout, the
/// header's fields and what they mean stay this module's.
///
/// # Errors
/// A message saying why the bytes are not a state file (`parse`'s own for the header's text).
pub fn decode_state_with(
    bytes: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<serde_json::Value, String>,
) -> Result<StateFile, String> {
    let (json, at) = header_bytes(bytes)?;
    let h: Header = serde_json::from_value(parse(json)?).map_err(|e| e.to_string())?;
    Ok(state_file(h, bytes, at))
}

fn state_file(h: Header, bytes: &[u8], at: usize) -> StateFile {
    let meta = meta_of(&h);
    StateFile { model: h.model, stream: h.stream, state: StoredState { meta, state: bytes[at..].to_vec() } }
}

fn header_of(bytes: &[u8]) -> Result<(Header, usize), String> {
    let (json, at) = header_bytes(bytes)?;
    let h: Header = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    Ok((h, at))
}

/// The header's JSON text and where the state bytes begin.
fn header_bytes(bytes: &[u8]) -> Result<(&[u8], usize), String> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err("not a scorekit stream state file".into());
    }
    let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    if n > MAX_HEADER {
        return Err("corrupt header length".into());
    }
    let json = bytes.get(12..12 + n).ok_or("truncated header")?;
    Ok((json, 12 + n))
}

fn meta_of(h: &Header) -> StateMeta {
    StateMeta { module_sha256: h.sha256.clone(), model_sha256: h.model_sha256.clone(), readings: h.readings }
}

/// Writes `bytes` to `path` via a temporary file in the same directory, fsync and rename.
///
/// # Errors
/// The I/O error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl StateStore for FileStore {
    fn load(&self, model: &str, key: &str) -> HostResult<Option<StoredState>> {
        let path = self.path(model, key);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(storage(format!("reading {}", path.display()), e)),
        };
        let (h, at) = header_of(&bytes).map_err(|e| storage(format!("{}", path.display()), e))?;
        Ok(Some(StoredState { meta: meta_of(&h), state: bytes[at..].to_vec() }))
    }

    fn meta(&self, model: &str, key: &str) -> HostResult<Option<StateMeta>> {
        let path = self.path(model, key);
        match Self::read_header(&path) {
            Ok(None) => Ok(None),
            Ok(Some(Ok(h))) => Ok(Some(meta_of(&h))),
            Ok(Some(Err(e))) => Err(storage(format!("{}", path.display()), e)),
            Err(e) => Err(storage(format!("reading {}", path.display()), e)),
        }
    }

    fn save(&self, model: &str, key: &str, state: &StoredState) -> HostResult<()> {
        let path = self.path(model, key);
        write_atomic(&path, &encode_state(model, key, state, now_unix()))
            .map_err(|e| storage(format!("writing {}", path.display()), e))
    }

    fn archive(&self, model: &str, key: &str, state: &StoredState, tag: &str) -> HostResult<String> {
        let tag: String = tag.chars().filter(|c| c.is_ascii_alphanumeric()).take(16).collect();
        let path = self.dir.join(escape_key(model)).join(format!("{}.orphan-{tag}{SUFFIX}", escape_key(key)));
        write_atomic(&path, &encode_state(model, key, state, now_unix()))
            .map_err(|e| storage(format!("writing {}", path.display()), e))?;
        Ok(path.display().to_string())
    }

    fn delete(&self, model: &str, key: &str) -> HostResult<bool> {
        let path = self.path(model, key);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(storage(format!("deleting {}", path.display()), e)),
        }
    }

    fn list(&self, model: &str) -> HostResult<Vec<StreamSummary>> {
        let dir = self.dir.join(escape_key(model));
        let read = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(storage(format!("listing {}", dir.display()), e)),
        };
        let mut out = Vec::new();
        for item in read.flatten() {
            let name = item.file_name().to_string_lossy().to_string();
            let Some(stem) = name.strip_suffix(SUFFIX) else { continue };
            if stem.contains(".orphan-") || stem.starts_with('.') {
                continue;
            }
            let Some(key) = unescape_key(stem) else { continue };
            if let Ok(Some(Ok(h))) = Self::read_header(&item.path()) {
                out.push(StreamSummary {
                    stream: key,
                    readings: h.readings,
                    sha256: h.sha256,
                    loaded: false,
                });
            }
        }
        super::store::sort_by_stream(&mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(readings: u64) -> StoredState {
        StoredState {
            meta: StateMeta { module_sha256: "ab".repeat(32), model_sha256: "cd".repeat(32), readings },
            state: b"STATE".to_vec(),
        }
    }

    #[test]
    fn keys_escape_to_safe_names_and_back() {
        for key in ["sensor-1.a_b", "../etc/passwd", ".hidden", "host/cpu 1", "ünï", "%41"] {
            let name = escape_key(key);
            assert!(!name.contains('/') && !name.starts_with('.') && !name.contains(' '), "{name}");
            assert_eq!(unescape_key(&name).as_deref(), Some(key));
        }
        // Names escape_key never writes are no keys (a stray file in the state directory).
        for name in ["%+f", "%G1", "%4", "%", "%c3"] {
            assert_eq!(unescape_key(name), None, "{name}");
        }
    }

    #[test]
    fn save_load_meta_list_archive_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        assert_eq!(store.load("m", "k/1").unwrap(), None);
        store.save("m", "k/1", &state(42)).unwrap();
        assert_eq!(store.load("m", "k/1").unwrap(), Some(state(42)));
        assert_eq!(store.meta("m", "k/1").unwrap().unwrap().readings, 42);
        let kept = store.archive("m", "k/1", &state(7), "abcdef123456").unwrap();
        assert!(kept.ends_with("k%2F1.orphan-abcdef123456.state"), "{kept}");
        let list = store.list("m").unwrap();
        assert_eq!(list.len(), 1, "orphans are not streams");
        assert_eq!((list[0].stream.as_str(), list[0].readings), ("k/1", 42));
        assert!(store.delete("m", "k/1").unwrap());
        assert!(!store.delete("m", "k/1").unwrap());
        std::fs::create_dir_all(dir.path().join("m")).unwrap();
        std::fs::write(dir.path().join("m/bad.state"), b"garbage").unwrap();
        assert_eq!(store.load("m", "bad").unwrap_err().code, Code::Storage);
    }

    /// The bytes `FileStore` writes are the bytes `encode_state` gives (the browser host
    /// downloads and uploads them), and `decode_state` reads them back or says why not.
    #[test]
    fn state_files_encode_and_decode() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        store.save("anomaly", "sensor/1", &state(42)).unwrap();
        let written =
            std::fs::read(dir.path().join("anomaly").join(format!("{}.state", escape_key("sensor/1"))))
                .unwrap();
        let file = decode_state(&written).unwrap();
        assert_eq!(
            (file.model.as_str(), file.stream.as_str(), &file.state),
            ("anomaly", "sensor/1", &state(42))
        );
        let again = encode_state("anomaly", "sensor/1", &file.state, 7);
        assert_eq!(decode_state(&again).unwrap(), file);
        let by_value = |j: &[u8]| serde_json::from_slice::<serde_json::Value>(j).map_err(|e| e.to_string());
        assert_eq!(decode_state_with(&again, by_value).unwrap(), file);
        assert!(decode_state_with(&again[..20], by_value).unwrap_err().contains("truncated"));
        assert!(decode_state(b"hello world, not a state").unwrap_err().contains("not a scorekit"));
        assert!(decode_state(&again[..20]).unwrap_err().contains("truncated"));
        let mut long = again.clone();
        long[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_state(&long).unwrap_err().contains("header length"));
    }
}
