//! The models a server serves: `.wasm` files in the configured directory, loaded through the host
//! layer's [`LocalLoader`] (which verifies each module: valid Wasm, imports nothing, ABI version,
//! the optional SHA-256 pin) and kept in one cache that every server thread shares.
//!
//! A model reference is `NAME` (the file `NAME.wasm`, often a symlink to a version: the alias; or,
//! without one, the highest version), `NAME@N` (the file `NAME@N.wasm`) or `NAME@sha256:HEX` (the
//! module of `NAME` with that hash, refused if none has it). Names are letters, digits, `_`, `-`
//! and `.` (not first), so no reference can leave the directory, and a symlink whose target lies
//! outside it is refused too. Deploying is replacing the symlink (`ln -sfn NAME@3.wasm
//! NAME.wasm`, atomic); rolling back is pointing it back. The cache is keyed by the file's
//! identity (device, inode, size, modification time), checked with one `stat` per statement, so
//! a deploy is seen by the next statement and a module is never compiled twice for one file.
//! There is no model table: a loadable function cannot run SQL.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use scorekit_host::local::LocalLoader;
use scorekit_host::{
    names, Backends, Code, FileStamp, HostError, HostResult, ModuleLoader, Schema, SharedScorer,
};

/// Longest model name.
pub const MAX_NAME: usize = 64;

/// A model ready to call.
pub struct Loaded {
    /// The model's name (the reference without its version).
    pub name: String,
    /// The version of the file, if it is `NAME@N.wasm`.
    pub version: Option<u32>,
    /// The module file.
    pub file: PathBuf,
    /// The model.
    pub scorer: SharedScorer,
    /// Values a score call returns per row, counted once at load.
    pub outputs_per_row: usize,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded").field("name", &self.name).field("file", &self.file).finish_non_exhaustive()
    }
}

impl Loaded {
    /// The model's schema.
    pub fn schema(&self) -> &Schema {
        self.scorer.info().schema()
    }
}

/// Which module of a name a reference selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    /// `NAME`: the alias file, else the highest version.
    Alias,
    /// `NAME@N`.
    Version(u32),
    /// `NAME@sha256:HEX`.
    Sha([u8; 32]),
}

fn unknown(msg: String) -> HostError {
    HostError::new(Code::UnknownModel, msg)
}

/// Checks a model name (see the module documentation).
///
/// # Errors
/// [`Code::BadInput`] naming the rule.
pub fn check_name(name: &str) -> HostResult<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(HostError::bad_input(format!(
            "'{}' is not a model name: use 1-{MAX_NAME} letters, digits, '_', '-' or '.' (not first), optionally followed by @VERSION or @sha256:HEX",
            name.escape_debug()
        )))
    }
}

/// Parses a model reference.
///
/// # Errors
/// [`Code::BadInput`] naming what is wrong.
pub fn parse_reference(reference: &str) -> HostResult<(&str, Select)> {
    let (name, select) = match reference.split_once('@') {
        None => (reference, Select::Alias),
        Some((name, rest)) => {
            let select = if let Some(hex) = rest.strip_prefix("sha256:") {
                Select::Sha(scorekit_host::parse_sha256_hex(hex).ok_or_else(|| {
                    HostError::bad_input(format!(
                        "model reference '{reference}': sha256: must be followed by 64 hex digits"
                    ))
                })?)
            } else {
                Select::Version(rest.parse::<u32>().ok().filter(|v| *v > 0).ok_or_else(|| {
                    HostError::bad_input(format!(
                        "model reference '{reference}': after '@' comes a version (a positive integer) or sha256:HEX"
                    ))
                })?)
            };
            (name, select)
        }
    };
    check_name(name)?;
    Ok((name, select))
}

/// Loaded modules by (real path, model name), with the identity of the file they came from.
type Cache = HashMap<(PathBuf, String), (FileStamp, Arc<Loaded>)>;

/// The directory of modules and the cache of loaded ones.
pub struct Registry {
    dir: PathBuf,
    loader: LocalLoader,
    /// What serves names beyond their local modules (the policy file), if configured.
    backends: Option<Arc<dyn Backends>>,
    pins: BTreeMap<String, [u8; 32]>,
    max_bytes: usize,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// A file name in the directory: `(name, version)` for `NAME.wasm` / `NAME@N.wasm`.
fn parse_file_name(file: &str) -> Option<(&str, Option<u32>)> {
    let stem = file.strip_suffix(".wasm")?;
    let (name, version) = match stem.split_once('@') {
        None => (stem, None),
        Some((n, v)) => (n, Some(v.parse::<u32>().ok().filter(|v| *v > 0)?)),
    };
    check_name(name).ok()?;
    Some((name, version))
}

impl Registry {
    /// Modules under `dir`, loaded by `loader`; `pins` fixes the hash of a name's modules.
    pub fn new(
        dir: PathBuf,
        loader: LocalLoader,
        pins: BTreeMap<String, [u8; 32]>,
        max_bytes: usize,
    ) -> Self {
        Registry { dir, loader, backends: None, pins, max_bytes, cache: Mutex::default() }
    }

    /// The same registry, serving names as `backends` says (a remote endpoint, a fallback, a
    /// shadow) on top of their local modules.
    #[must_use]
    pub fn with_backends(mut self, backends: Arc<dyn Backends>) -> Self {
        self.backends = Some(backends);
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The loader (its runtime).
    pub fn loader(&self) -> &LocalLoader {
        &self.loader
    }

    /// Module files per name: whether `NAME.wasm` exists, and the versions.
    fn scan(&self) -> HostResult<BTreeMap<String, (bool, BTreeSet<u32>)>> {
        let read = std::fs::read_dir(&self.dir).map_err(|e| {
            HostError::new(
                Code::Unavailable,
                format!("cannot list the model directory {}: {e}", self.dir.display()),
            )
        })?;
        let mut out: BTreeMap<String, (bool, BTreeSet<u32>)> = BTreeMap::new();
        for item in read.flatten() {
            let file = item.file_name().to_string_lossy().into_owned();
            if let Some((name, version)) = parse_file_name(&file) {
                let e = out.entry(name.to_string()).or_default();
                match version {
                    None => e.0 = true,
                    Some(v) => {
                        e.1.insert(v);
                    }
                }
            }
        }
        Ok(out)
    }

    fn versions(&self, name: &str) -> HostResult<(bool, BTreeSet<u32>)> {
        Ok(self.scan()?.remove(name).unwrap_or_default())
    }

    fn no_such_model(&self, name: &str) -> HostError {
        let known: Vec<String> = self.scan().map(|m| m.into_keys().collect()).unwrap_or_default();
        let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
        unknown(format!(
            "unknown model '{name}': no {name}.wasm or {name}@N.wasm in {} (models: {known})",
            self.dir.display()
        ))
    }

    fn path(&self, name: &str, version: Option<u32>) -> PathBuf {
        match version {
            None => self.dir.join(format!("{name}.wasm")),
            Some(v) => self.dir.join(format!("{name}@{v}.wasm")),
        }
    }

    /// Resolves a model reference to a loaded model.
    ///
    /// # Errors
    /// [`Code::BadInput`] for a malformed reference, [`Code::UnknownModel`],
    /// [`Code::InvalidModule`] (with why), [`Code::TooLarge`], [`Code::Unavailable`].
    pub fn resolve(&self, reference: &str) -> HostResult<Arc<Loaded>> {
        let (name, select) = parse_reference(reference)?;
        match select {
            Select::Alias => {
                let local = self.resolve_alias(name);
                let Some(backends) = &self.backends else { return local };
                let (local, missing) = match local {
                    Ok(l) => (Some(l), None),
                    Err(e) if e.code == Code::UnknownModel => (None, Some(e)),
                    Err(e) => return Err(e),
                };
                match backends.scorer(name, local.as_ref().map(|l| l.scorer.clone()))? {
                    None => Err(missing.unwrap_or_else(|| self.no_such_model(name))),
                    Some(s) => match local {
                        Some(l) if Arc::ptr_eq(&s, &l.scorer) => Ok(l),
                        l => {
                            let outputs_per_row = names::score_outputs(s.info().schema()).len().max(1);
                            Ok(Arc::new(Loaded {
                                name: name.to_string(),
                                version: l.as_ref().and_then(|l| l.version),
                                file: l.map(|l| l.file.clone()).unwrap_or_default(),
                                scorer: s,
                                outputs_per_row,
                            }))
                        }
                    },
                }
            }
            Select::Version(v) => {
                let path = self.path(name, Some(v));
                if std::fs::symlink_metadata(&path).is_err() {
                    let (alias, versions) = self.versions(name)?;
                    if !alias && versions.is_empty() {
                        return Err(self.no_such_model(name));
                    }
                    let list: Vec<String> = versions.iter().map(u32::to_string).collect();
                    return Err(unknown(format!(
                        "model '{name}' has no version {v} (versions: {})",
                        if list.is_empty() { "none".to_string() } else { list.join(", ") }
                    )));
                }
                self.load(name, &path, None)
            }
            Select::Sha(sha) => {
                let (alias, versions) = self.versions(name)?;
                if !alias && versions.is_empty() {
                    return Err(self.no_such_model(name));
                }
                let hex = scorekit_host::digest_hex(&sha);
                let candidates = alias
                    .then(|| self.path(name, None))
                    .into_iter()
                    .chain(versions.iter().map(|v| self.path(name, Some(*v))));
                for path in candidates {
                    // A candidate that cannot be loaded is not the pinned module.
                    if let Ok(l) = self.load(name, &path, None) {
                        if l.scorer.info().sha256 == hex {
                            return Ok(l);
                        }
                    }
                }
                Err(unknown(format!(
                    "no module of model '{name}' in {} has SHA-256 {hex}",
                    self.dir.display()
                )))
            }
        }
    }

    /// The local module `NAME` selects: the alias file, else the highest version.
    fn resolve_alias(&self, name: &str) -> HostResult<Arc<Loaded>> {
        let alias = self.path(name, None);
        if std::fs::symlink_metadata(&alias).is_ok() {
            return self.load(name, &alias, None);
        }
        let (_, versions) = self.versions(name)?;
        match versions.last() {
            Some(v) => self.load(name, &self.path(name, Some(*v)), None),
            None => Err(self.no_such_model(name)),
        }
    }

    /// Loads (or takes from the cache) the module at `path` for model `name`.
    fn load(&self, name: &str, path: &Path, pin: Option<[u8; 32]>) -> HostResult<Arc<Loaded>> {
        let unavailable = |what: &str, e: std::io::Error| {
            HostError::new(Code::Unavailable, format!("{what} {}: {e}", path.display()))
        };
        let real = std::fs::canonicalize(path).map_err(|e| unavailable("cannot open", e))?;
        let dir = std::fs::canonicalize(&self.dir)
            .map_err(|e| unavailable("cannot open the model directory for", e))?;
        if real.parent() != Some(dir.as_path()) {
            return Err(HostError::bad_input(format!(
                "{} points outside the model directory ({}): refused",
                path.display(),
                real.display()
            )));
        }
        let meta = std::fs::metadata(&real).map_err(|e| unavailable("cannot stat", e))?;
        let id = FileStamp::from_metadata(&meta);
        let key = (real, name.to_string());
        if let Some((have, loaded)) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            if *have == id {
                return Ok(loaded.clone());
            }
        }
        let real = &key.0;
        if meta.len() > self.max_bytes as u64 {
            return Err(HostError::new(
                Code::TooLarge,
                format!(
                    "{} holds {} bytes; modules of at most {} bytes are read (max_module_mb)",
                    real.display(),
                    meta.len(),
                    self.max_bytes
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        std::fs::File::open(real)
            .and_then(|f| f.take(self.max_bytes as u64 + 1).read_to_end(&mut bytes))
            .map_err(|e| unavailable("cannot read", e))?;
        let pin = pin.or_else(|| self.pins.get(name).copied());
        let scorer = self.loader.load(&bytes, pin).map_err(|e| e.context(format!("{}", real.display())))?;
        let version =
            real.file_name().and_then(|f| f.to_str()).and_then(parse_file_name).and_then(|(_, v)| v);
        let outputs_per_row = names::score_outputs(scorer.info().schema()).len().max(1);
        let loaded =
            Arc::new(Loaded { name: name.to_string(), version, file: real.clone(), scorer, outputs_per_row });
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(key, (id, loaded.clone()));
        Ok(loaded)
    }

    /// Every model of the directory as JSON: name, alias target, versions, hash, family, inputs,
    /// outputs — or the error that keeps it from loading.
    pub fn list_json(&self) -> HostResult<String> {
        let mut out = Vec::new();
        for (name, (alias, versions)) in self.scan()? {
            let versions: Vec<u32> = versions.into_iter().collect();
            let mut o = serde_json::json!({ "name": name, "versions": versions, "alias": alias });
            match self.resolve(&name) {
                Ok(l) => {
                    let info = l.scorer.info();
                    o["file"] = l.file.file_name().map(|f| f.to_string_lossy().into_owned()).into();
                    o["version"] = l.version.into();
                    o["sha256"] = info.sha256.clone().into();
                    o["family"] = info.family().as_str().into();
                    o["inputs"] =
                        info.schema().inputs.iter().map(|f| f.name.clone()).collect::<Vec<_>>().into();
                    o["outputs"] = names::score_outputs(info.schema()).into();
                }
                Err(e) => o["error"] = e.message.into(),
            }
            out.push(o);
        }
        Ok(serde_json::Value::Array(out).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_file_names() {
        assert_eq!(parse_reference("churn").unwrap(), ("churn", Select::Alias));
        assert_eq!(parse_reference("churn@3").unwrap(), ("churn", Select::Version(3)));
        let sha = format!("churn@sha256:{}", "AB".repeat(32));
        let (n, s) = parse_reference(&sha).unwrap();
        assert_eq!((n, s), ("churn", Select::Sha([0xab; 32])));
        for bad in ["../etc/passwd", "a/b", ".hidden", "", "x@0", "x@", "x@sha256:12", "x y", "x@1@2"] {
            assert_eq!(parse_reference(bad).unwrap_err().code, Code::BadInput, "{bad}");
        }
        assert_eq!(parse_file_name("churn@2.wasm"), Some(("churn", Some(2))));
        assert_eq!(parse_file_name("churn.wasm"), Some(("churn", None)));
        assert_eq!(parse_file_name("churn@x.wasm"), None);
        assert_eq!(parse_file_name("notes.txt"), None);
    }
}
