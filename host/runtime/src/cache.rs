//! On-disk cache of compiled modules, so that a new process (a new database connection, a
//! restarted server) skips Cranelift and its first call is fast.
//!
//! Entry: `<module sha256>-<engine compatibility hash>.cwasm`, holding the SHA-256 of the
//! serialised code followed by the code. Written to a temporary file and renamed, so readers
//! never see half an entry; an entry whose checksum or engine check fails is recompiled and
//! overwritten. Cache trouble never fails a load: it only costs a compile.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::{Engine, Module};

use crate::RuntimeError;
use crate::inspect::{sha256, sha256_hex};

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
        && data.len() > 32
        && sha256(&data[32..])[..] == data[..32]
    {
        // SAFETY: the entry comes from the runtime's own cache directory (trusted, see
        // `RuntimeConfig::cache_dir`), its checksum matches what this code wrote, and
        // `deserialize` refuses code built by an incompatible engine.
        if let Ok(m) = unsafe { Module::deserialize(engine, &data[32..]) } {
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
    let mut data = Vec::with_capacity(32 + code.len());
    data.extend_from_slice(&sha256(code));
    data.extend_from_slice(code);
    let r = std::fs::write(&tmp, &data).and_then(|_| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

pub(crate) fn is_cached(engine: &Engine, dir: &Path, module_sha: &[u8; 32]) -> bool {
    entry_path(dir, engine, module_sha).is_file()
}
