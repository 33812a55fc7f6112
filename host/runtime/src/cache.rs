//! On-disk cache of compiled modules, so that a new process (a new database connection, a
//! restarted server) skips Cranelift and its first call is fast.
//!
//! Entry: `<module sha256>-<engine compatibility hash>.cwasm`: the serialised code, then a
//! 16-byte footer (the tag [`ENTRY_TAG`], the code's length and its CRC-32, little-endian). The
//! code comes first so that a load maps the file itself (`Module::deserialize_open_file`)
//! instead of reading it into memory and copying it again into executable memory: that read and
//! copy were most of a cached load (about 0.9 of 1.5 ms for the demo churn module's 981 KB).
//! Entries are written to a temporary file and renamed, never changed in place, so readers never
//! see half an entry and a mapped entry never changes under a live module; an entry whose
//! footer, checksum or engine check fails is recompiled and replaced. Cache trouble never fails
//! a load: it only costs a compile. A module loaded from the cache keeps its entry open (one file
//! descriptor per loaded module, as wasmtime holds the mapped file); when the process is out of
//! descriptors, the entry cannot be opened and the load compiles instead.
//!
//! Why a CRC and not a cryptographic hash: the checksum guards against accidental damage (a
//! disk error, a foreign file under the name); it cannot guard against tampering, since whoever
//! can write the directory can write a matching checksum too; that is why the directory must be
//! trusted (`RuntimeConfig::cache_dir`). SHA-256 over 0.6–1.6 MB of code cost about a millisecond
//! of every new process's first load (docs/eval-postgres.md); CRC-32 (crc32fast, carry-less
//! multiply) costs a few percent of that.

use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::{Engine, Module};

use crate::RuntimeError;
use crate::inspect::sha256_hex;

/// First bytes of an entry's footer: names this layout, so an entry of an older layout (a
/// header before the code, or a SHA-256 before it) is refused and rewritten instead of misread.
const ENTRY_TAG: [u8; 8] = *b"skcwasm3";
const FOOTER: usize = 16;

/// The CRC-32 an entry's footer gives for `code_len` bytes of code, if the footer is of this
/// layout and names that length.
fn footer_crc(footer: &[u8], code_len: usize) -> Option<u32> {
    let len = u32::from_le_bytes(footer.get(8..12)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(footer.get(12..16)?.try_into().ok()?);
    (footer.get(..8)? == ENTRY_TAG && len == code_len).then_some(crc)
}

/// The code of an entry read into memory, if its footer and checksum hold.
fn entry_code(data: &[u8]) -> Option<&[u8]> {
    let (code, footer) = data.split_at(data.len().checked_sub(FOOTER)?);
    (footer_crc(footer, code.len())? == crc32fast::hash(code)).then_some(code)
}

/// The entry at `path`, open at its start, if its footer and checksum hold. The checksum is
/// computed through a small buffer: the code is never held in memory here.
fn open_entry(path: &Path) -> Option<File> {
    let mut file = File::open(path).ok()?;
    let code_len = usize::try_from(file.metadata().ok()?.len()).ok()?.checked_sub(FOOTER)?;
    file.seek(SeekFrom::Start(code_len as u64)).ok()?;
    let mut footer = [0u8; FOOTER];
    file.read_exact(&mut footer).ok()?;
    let crc = footer_crc(&footer, code_len)?;
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; (64 << 10).min(code_len.max(1))];
    let mut left = code_len;
    while left > 0 {
        let n = buf.len().min(left);
        file.read_exact(&mut buf[..n]).ok()?;
        hasher.update(&buf[..n]);
        left -= n;
    }
    (hasher.finalize() == crc).then_some(file)
}

fn entry_bytes(code: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(code.len()).ok()?;
    let mut data = Vec::with_capacity(code.len() + FOOTER);
    data.extend_from_slice(code);
    data.extend_from_slice(&ENTRY_TAG);
    data.extend_from_slice(&len.to_le_bytes());
    data.extend_from_slice(&crc32fast::hash(code).to_le_bytes());
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
    if let Some(file) = open_entry(&path) {
        // SAFETY: the entry comes from the runtime's own cache directory (trusted, see
        // `RuntimeConfig::cache_dir`), its checksum matches what this code wrote, and
        // `deserialize_open_file` refuses code built by an incompatible engine. The file is
        // mapped for the module's lifetime: entries are only ever replaced by a rename
        // (`write_atomic`), which leaves the mapped file as it was.
        if let Ok(m) = unsafe { Module::deserialize_open_file(engine, file) } {
            return Ok((m, Source::Cache));
        }
        // A directory on a `noexec` mount cannot be mapped executable: copy the code instead.
        if let Ok(data) = std::fs::read(&path)
            && let Some(code) = entry_code(&data)
        {
            // SAFETY: as above; `deserialize` copies the code into memory of its own.
            if let Ok(m) = unsafe { Module::deserialize(engine, code) } {
                return Ok((m, Source::Cache));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_only_whole_and_of_this_layout() {
        let code = b"not really code, but bytes".to_vec();
        let entry = entry_bytes(&code).unwrap();
        assert_eq!(entry_code(&entry), Some(&code[..]));
        // Any flipped byte (code or footer), a byte more or less, or nothing at all: refused.
        for i in 0..entry.len() {
            let mut bad = entry.clone();
            bad[i] ^= 1;
            assert_eq!(entry_code(&bad), None, "byte {i} flipped");
        }
        let mut long = entry.clone();
        long.push(0);
        assert_eq!(entry_code(&long), None);
        assert_eq!(entry_code(&entry[1..]), None);
        assert_eq!(entry_code(&entry[..FOOTER - 1]), None);
        assert_eq!(entry_code(&[]), None);
    }
}
