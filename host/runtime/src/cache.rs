//! On-disk cache of compiled modules, so that a new process (a new database connection, a
//! restarted server) skips Cranelift and its first call is fast.
//!
//! Entry: `<module sha256>-<engine compatibility hash>.cwasm`: the serialised code, then what
//! the runtime took from the module bytes (their size and the module's schema section, the
//! description's JSON as the module carries it: read back by the same function a load of the
//! bytes uses, so the rules that apply are always this build's),
//! then a 20-byte footer (the tag [`ENTRY_TAG`], the lengths of code and description and the
//! CRC-32 of both, little-endian). With the description an entry is enough to load its module
//! ([`load_entry`]): a host that knows a module's SHA-256 need not read and hash its bytes when
//! the entry is there (why that is as safe: `Runtime::load_cached`). The code comes first so that a load maps the file itself (`Module::deserialize_open_file`)
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

use crate::inspect::{self, sha256_hex};
use crate::{ModuleInfo, RuntimeError};

/// First bytes of an entry's footer: names this layout, so an entry of an older layout (a
/// header before the code, a SHA-256 before it, no description after it, or the description as
/// an earlier build re-wrote it rather than the module's own section) is refused and rewritten
/// instead of misread.
const ENTRY_TAG: [u8; 8] = *b"skcwasm5";
const FOOTER: usize = 20;

/// The lengths of an entry's code and description and its CRC-32, if `footer` is of this
/// layout and names lengths that add up to `entry_len`.
fn footer_parts(footer: &[u8], entry_len: usize) -> Option<(usize, usize, u32)> {
    let word = |at: usize| Some(u32::from_le_bytes(footer.get(at..at + 4)?.try_into().ok()?));
    let (code_len, meta_len, crc) = (word(8)? as usize, word(12)? as usize, word(16)?);
    (footer.get(..8)? == ENTRY_TAG
        && footer.len() == FOOTER
        && code_len.checked_add(meta_len)? + FOOTER == entry_len)
        .then_some((code_len, meta_len, crc))
}

/// What an entry records about its module besides the code: the module's size, then its schema
/// section, both taken from the module bytes whose SHA-256 names the entry.
fn meta_bytes(info: &ModuleInfo, section_json: &[u8]) -> Vec<u8> {
    let mut meta = (info.size as u64).to_le_bytes().to_vec();
    meta.extend_from_slice(section_json);
    meta
}

/// The [`ModuleInfo`] of the module of hash `sha256` from its entry's record, if its schema
/// section reads as a load of the bytes reads it ([`inspect::read_description`]). The payload's
/// integrity check is not repeated: it held for the bytes the entry's code was compiled from.
fn meta_info(meta: &[u8], sha256: &[u8; 32]) -> Option<ModuleInfo> {
    let (size, section_json) = meta.split_at_checked(8)?;
    let size = usize::try_from(u64::from_le_bytes(size.try_into().ok()?)).ok()?;
    let description = inspect::read_description(section_json).ok()?;
    Some(ModuleInfo { sha256: *sha256, size, description })
}

/// The code and description of an entry read into memory, if its footer and checksum hold.
fn entry_parts(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (body, footer) = data.split_at(data.len().checked_sub(FOOTER)?);
    let (code_len, _, crc) = footer_parts(footer, data.len())?;
    (crc32fast::hash(body) == crc).then(|| body.split_at(code_len))
}

/// The entry at `path`, open at its start, and its description, if its footer and checksum
/// hold. The checksum is computed through a small buffer: the code is never held in memory here.
fn open_entry(path: &Path) -> Option<(File, Vec<u8>)> {
    let mut file = File::open(path).ok()?;
    let entry_len = usize::try_from(file.metadata().ok()?.len()).ok()?;
    file.seek(SeekFrom::Start(entry_len.checked_sub(FOOTER)? as u64)).ok()?;
    let mut footer = [0u8; FOOTER];
    file.read_exact(&mut footer).ok()?;
    let (code_len, meta_len, crc) = footer_parts(&footer, entry_len)?;
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
    let mut meta = vec![0u8; meta_len];
    file.read_exact(&mut meta).ok()?;
    hasher.update(&meta);
    (hasher.finalize() == crc).then_some(())?;
    file.seek(SeekFrom::Start(0)).ok()?;
    Some((file, meta))
}

fn entry_bytes(code: &[u8], meta: &[u8]) -> Option<Vec<u8>> {
    let code_len = u32::try_from(code.len()).ok()?;
    let meta_len = u32::try_from(meta.len()).ok()?;
    u32::try_from(code.len().checked_add(meta.len())?.checked_add(FOOTER)?).ok()?;
    let mut data = Vec::with_capacity(code.len() + meta.len() + FOOTER);
    data.extend_from_slice(code);
    data.extend_from_slice(meta);
    let crc = crc32fast::hash(&data);
    data.extend_from_slice(&ENTRY_TAG);
    data.extend_from_slice(&code_len.to_le_bytes());
    data.extend_from_slice(&meta_len.to_le_bytes());
    data.extend_from_slice(&crc.to_le_bytes());
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

/// The entry of the module of hash `module_sha`, opened as a module, and its description.
fn from_entry(engine: &Engine, path: &Path, module_sha: &[u8; 32]) -> Option<(Module, ModuleInfo)> {
    let (file, meta) = open_entry(path)?;
    let info = meta_info(&meta, module_sha)?;
    // SAFETY: the entry comes from the runtime's own cache directory (trusted, see
    // `RuntimeConfig::cache_dir`), its checksum matches what this code wrote, and
    // `deserialize_open_file` refuses code built by an incompatible engine. The file is
    // mapped for the module's lifetime: entries are only ever replaced by a rename
    // (`write_atomic`), which leaves the mapped file as it was. The code ends where the
    // description begins; what follows the code is not read as code.
    if let Ok(m) = unsafe { Module::deserialize_open_file(engine, file) } {
        return Some((m, info));
    }
    // A directory on a `noexec` mount cannot be mapped executable: copy the code instead.
    let data = std::fs::read(path).ok()?;
    let (code, _) = entry_parts(&data)?;
    // SAFETY: as above; `deserialize` copies the code into memory of its own.
    unsafe { Module::deserialize(engine, code) }.ok().map(|m| (m, info))
}

pub(crate) fn load_or_compile(
    engine: &Engine,
    bytes: &[u8],
    info: &ModuleInfo,
    section_json: &[u8],
    dir: Option<&Path>,
) -> Result<(Module, Source), RuntimeError> {
    let Some(dir) = dir else { return Ok((compile(engine, bytes)?, Source::Compiled)) };
    let path = entry_path(dir, engine, &info.sha256);
    if let Some((m, _)) = from_entry(engine, &path, &info.sha256) {
        return Ok((m, Source::Cache));
    }
    let module = compile(engine, bytes)?;
    if let Ok(code) = module.serialize() {
        let _ = write_atomic(dir, &path, &code, &meta_bytes(info, section_json));
    }
    Ok((module, Source::Compiled))
}

/// The module of hash `module_sha` and its description from its entry alone, without the
/// module's bytes, if the entry is there and whole. An entry is written only by
/// [`load_or_compile`], under the SHA-256 of the bytes it compiled and with the schema section of
/// those bytes, so it holds what a load of those bytes would use.
pub(crate) fn load_entry(engine: &Engine, dir: &Path, module_sha: &[u8; 32]) -> Option<(Module, ModuleInfo)> {
    from_entry(engine, &entry_path(dir, engine, module_sha), module_sha)
}

fn write_atomic(dir: &Path, path: &Path, code: &[u8], meta: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry")
    ));
    let data = entry_bytes(code, meta).ok_or_else(|| std::io::Error::other("compiled code over 4 GiB"))?;
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
        let meta = b"and what it describes".to_vec();
        let entry = entry_bytes(&code, &meta).unwrap();
        assert_eq!(entry_parts(&entry), Some((&code[..], &meta[..])));
        // Any flipped byte (code, description or footer), a byte more or less, or nothing at
        // all: refused.
        for i in 0..entry.len() {
            let mut bad = entry.clone();
            bad[i] ^= 1;
            assert_eq!(entry_parts(&bad), None, "byte {i} flipped");
        }
        let mut long = entry.clone();
        long.push(0);
        assert_eq!(entry_parts(&long), None);
        assert_eq!(entry_parts(&entry[1..]), None);
        assert_eq!(entry_parts(&entry[..FOOTER - 1]), None);
        assert_eq!(entry_parts(&[]), None);
        // The previous layout (code, then tag, length and CRC-32 of the code): refused.
        let mut v3 = code.clone();
        v3.extend_from_slice(b"skcwasm3");
        v3.extend_from_slice(&(code.len() as u32).to_le_bytes());
        v3.extend_from_slice(&crc32fast::hash(&code).to_le_bytes());
        assert_eq!(entry_parts(&v3), None);
        // The layout before this one (the same parts, the description as a build re-wrote it
        // rather than the module's own section): refused by its tag.
        let mut v4 = entry.clone();
        let at = entry.len() - FOOTER;
        v4[at..at + 8].copy_from_slice(b"skcwasm4");
        assert_eq!(entry_parts(&v4), None);
    }

    /// A description section as a module may carry it (white space included).
    fn section(abi: i32) -> String {
        format!(
            r#"{{ "abi": {abi}, "family": "gbt", "format": 1,
                "schema": {{ "name": "t", "family": "gbt", "inputs": [{{ "name": "x", "kind": "numeric" }}],
                            "target": null, "positive_label": null, "outputs": ["y"] }},
                "metrics": [], "provenance": [], "artifact_sha256": "00" }}"#
        )
    }

    #[test]
    fn an_entry_keeps_the_modules_own_section_and_reads_it_as_a_load_does() {
        let json = section(scorekit_abi::ABI_VERSION);
        let description = inspect::read_description(json.as_bytes()).unwrap();
        let info = ModuleInfo { sha256: [7; 32], size: 1234, description };
        let meta = meta_bytes(&info, json.as_bytes());
        // The section's bytes as the module carries them, not a re-writing of them.
        assert_eq!(&meta[8..], json.as_bytes());
        assert_eq!(meta_info(&meta, &[7; 32]), Some(info.clone()));
        // What a load of the bytes refuses, a load from the entry refuses too: a section naming
        // another ABI, one that is not a description, a record too short to hold the size.
        let other = section(scorekit_abi::ABI_VERSION + 1);
        assert!(inspect::read_description(other.as_bytes()).is_err());
        assert_eq!(meta_info(&meta_bytes(&info, other.as_bytes()), &[7; 32]), None);
        assert_eq!(meta_info(&meta_bytes(&info, b"not json"), &[7; 32]), None);
        assert_eq!(meta_info(&meta[..7], &[7; 32]), None);
    }
}
