//! On-disk cache of compiled modules, so that a new process (a new database connection, a
//! restarted server) skips Cranelift and its first call is fast.
//!
//! Entry: `<module sha256>-<engine compatibility hash>.cwasm`: a 16-byte header (the tag
//! [`ENTRY_TAG`], the code's length and its CRC-32, little-endian) followed by the serialised
//! code. Written to a temporary file and renamed, so readers never see half an entry; an entry
//! whose header, checksum or engine check fails is recompiled and overwritten. Cache trouble
//! never fails a load: it only costs a compile.
//!
//! Why a CRC and not a cryptographic hash: the checksum guards against accidental damage (a
//! disk error, a foreign file under the name); it cannot guard against tampering, since whoever
//! can write the directory can write a matching checksum too; that is why the directory must be
//! trusted (`RuntimeConfig::cache_dir`). SHA-256 over 0.6–1.6 MB of code cost about a millisecond
//! of every new process's first load (docs/eval-postgres.md); CRC-32 (crc32fast, carry-less
//! multiply) costs a few percent of that.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::{Engine, Module};

use crate::RuntimeError;
use crate::inspect::sha256_hex;

/// First bytes of an entry: names this layout, so an entry of an older layout (which began with
/// a SHA-256) is refused and rewritten instead of misread.
const ENTRY_TAG: [u8; 8] = *b"skcwasm2";
const HEADER: usize = 16;

/// The code of an entry, if its header and checksum hold.
fn entry_code(data: &[u8]) -> Option<&[u8]> {
    let (header, code) = (data.get(..HEADER)?, &data[HEADER.min(data.len())..]);
    let len = u32::from_le_bytes(header[8..12].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[12..16].try_into().ok()?);
    (header[..8] == ENTRY_TAG && len == code.len() && crc32fast::hash(code) == crc).then_some(code)
}

fn entry_bytes(code: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(code.len()).ok()?;
    let mut data = Vec::with_capacity(HEADER + code.len());
    data.extend_from_slice(&ENTRY_TAG);
    data.extend_from_slice(&len.to_le_bytes());
    data.extend_from_slice(&crc32fast::hash(code).to_le_bytes());
    data.extend_from_slice(code);
    Some(data)
}

fn entry_path(dir: &Path, engine: &Engine, module_sha: &[u8; 32]) -> PathBuf {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    dir.join(format!("{}-{:016x}.cwasm", sha256_hex(module_sha), h.finish()))
}

pub(crate) fn compile(engine: &Engine, bytes: &[u8]) -> Result<Module, RuntimeError> {
    Module::new(engine, bytes).map_err(|e| RuntimeError::InvalidModule(format!("{e:#}")))
}

/// Whether a load came from the cache (for tests and metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Compiled,
    Cache,
}

pub(crate) fn load_or_compile(
    engine: &Engine,
    bytes: &[u8],
    module_sha: &[u8; 32],
    dir: Option<&Path>,
) -> Result<(Module, Source), RuntimeError> {
    let Some(dir) = dir else { return Ok((compile(engine, bytes)?, Source::Compiled)) };
    let path = entry_path(dir, engine, module_sha);
    if let Ok(data) = std::fs::read(&path)
        && let Some(code) = entry_code(&data)
    {
        // SAFETY: the entry comes from the runtime's own cache directory (trusted, see
        // `RuntimeConfig::cache_dir`), its checksum matches what this code wrote, and
        // `deserialize` refuses code built by an incompatible engine.
        if let Ok(m) = unsafe { Module::deserialize(engine, code) } {
            return Ok((m, Source::Cache));
        }
    }
    let module = compile(engine, bytes)?;
    if let Ok(code) = module.serialize() {
        let _ = write_atomic(dir, &path, &code);
    }
    Ok((module, Source::Compiled))
}

fn write_atomic(dir: &Path, path: &Path, code: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry")
    ));
    let data = entry_bytes(code).ok_or_else(|| std::io::Error::other("compiled code over 4 GiB"))?;
    let r = std::fs::write(&tmp, &data).and_then(|_| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

pub(crate) fn is_cached(engine: &Engine, dir: &Path, module_sha: &[u8; 32]) -> bool {
    entry_path(dir, engine, module_sha).is_file()
}
