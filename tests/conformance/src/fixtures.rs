//! The fixture models: artifacts committed under `models/`, compiled once per run into modules
//! that every module host loads (so every host runs the same bytes).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use scorekit_artifact::Artifact;

use crate::case::suite_dir;

/// The fixtures of one run.
pub struct Fixtures {
    dir: tempfile::TempDir,
    artifacts: BTreeMap<String, Artifact>,
    sha256: BTreeMap<String, String>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Fixtures {
    /// Loads the artifacts and compiles them (and the derived `anomaly_rebuilt`: the same trained
    /// model as `anomaly` with other provenance, so another module) into a temporary directory.
    ///
    /// # Panics
    /// When a fixture is missing or does not compile: the suite itself is broken.
    pub fn build() -> Fixtures {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut artifacts = BTreeMap::new();
        for name in ["churn", "anomaly", "anomaly_retrained", "forecast"] {
            let path = suite_dir().join("models").join(format!("{name}.model.json"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let a = Artifact::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            artifacts.insert(name.to_string(), a);
        }
        let mut rebuilt = artifacts["anomaly"].clone();
        rebuilt.provenance.push(("rebuilt".into(), "same trained model, another module".into()));
        artifacts.insert("anomaly_rebuilt".into(), rebuilt);
        let mut sha256 = BTreeMap::new();
        for (name, a) in &artifacts {
            let wasm = scorekit_compile::compile(a).unwrap_or_else(|e| panic!("compiling {name}: {e}"));
            sha256.insert(name.clone(), sha256_hex(&wasm));
            std::fs::write(dir.path().join(format!("{name}.wasm")), wasm).expect("writing a module");
        }
        Fixtures { dir, artifacts, sha256 }
    }

    /// The artifact of fixture `name`.
    pub fn artifact(&self, name: &str) -> &Artifact {
        &self.artifacts[name]
    }

    /// The compiled module of fixture `name`.
    pub fn module_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.wasm"))
    }

    /// The SHA-256 of the module of fixture `name`: the identity every module host must report.
    pub fn module_sha256(&self, name: &str) -> &str {
        &self.sha256[name]
    }

    /// A scratch directory of this run.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }
}
