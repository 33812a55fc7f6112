//! A stream's saved state as bytes: the layout of the host layer's file store
//! (`scorekit_host::streams::FileStore`, `DIR/MODEL/KEY.state`), so a state downloaded from a
//! page can be dropped into a server's state directory, and a server's state file loaded into a
//! page. `SKSTRM01`, `u32` LE length of a JSON header (model, stream, module and trained-model
//! SHA-256, readings, save time), the header, then the opaque state bytes.
//!
//! The file store keeps its encoder private; this is the same layout, checked against a file the
//! file store wrote in the tests below.

use scorekit_host::streams::{StateMeta, StoredState};
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"SKSTRM01";
/// Headers are small; a bigger length field means a foreign or corrupt file.
const MAX_HEADER: usize = 64 << 10;

#[derive(Serialize, Deserialize)]
struct Header {
    model: String,
    stream: String,
    sha256: String,
    #[serde(default)]
    model_sha256: String,
    readings: u64,
    saved_unix: u64,
}

/// A decoded state file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateFile {
    /// The model (alias) the stream belonged to.
    pub model: String,
    /// The stream key.
    pub stream: String,
    /// The state and whose it is.
    pub state: StoredState,
}

/// Encodes a state (`saved_unix`: seconds since the epoch, for the header).
pub fn encode(model: &str, stream: &str, s: &StoredState, saved_unix: u64) -> Vec<u8> {
    let header = Header {
        model: model.into(),
        stream: stream.into(),
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

/// Decodes a state file.
///
/// # Errors
/// A message saying why the bytes are not one.
pub fn decode(bytes: &[u8]) -> Result<StateFile, String> {
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err("not a scorekit stream state file".into());
    }
    let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    if n > MAX_HEADER {
        return Err("corrupt stream state file: header length".into());
    }
    let json = bytes.get(12..12 + n).ok_or("truncated stream state file")?;
    let h: Header = serde_json::from_slice(json).map_err(|e| format!("corrupt stream state header: {e}"))?;
    Ok(StateFile {
        model: h.model,
        stream: h.stream,
        state: StoredState {
            meta: StateMeta { module_sha256: h.sha256, model_sha256: h.model_sha256, readings: h.readings },
            state: bytes[12 + n..].to_vec(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorekit_host::streams::{FileStore, StateStore};

    fn state() -> StoredState {
        StoredState {
            meta: StateMeta { module_sha256: "ab".repeat(32), model_sha256: "cd".repeat(32), readings: 42 },
            state: vec![0, 1, 2, 255, 128],
        }
    }

    #[test]
    fn reads_what_the_file_store_writes_and_back() {
        let dir = std::env::temp_dir().join(format!("scorekit-web-state-{}", std::process::id()));
        let store = FileStore::new(&dir);
        store.save("anomaly", "sensor/1", &state()).unwrap();
        let path =
            dir.join("anomaly").join(format!("{}.state", scorekit_host::streams::escape_key("sensor/1")));
        let written = std::fs::read(&path).unwrap();
        let file = decode(&written).unwrap();
        assert_eq!((file.model.as_str(), file.stream.as_str()), ("anomaly", "sensor/1"));
        assert_eq!(file.state, state());
        // What this module writes, the file store reads.
        std::fs::write(&path, encode("anomaly", "sensor/1", &file.state, 7)).unwrap();
        assert_eq!(store.load("anomaly", "sensor/1").unwrap(), Some(state()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn refuses_foreign_and_truncated_bytes() {
        assert!(decode(b"hello world, not a state").unwrap_err().contains("not a scorekit"));
        let good = encode("m", "k", &state(), 0);
        assert!(decode(&good[..20]).unwrap_err().contains("truncated"));
        let mut bad = good.clone();
        bad[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&bad).unwrap_err().contains("header length"));
    }
}
