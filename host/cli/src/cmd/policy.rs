//! `--policy-file`: the one TOML file that says which models are answered by a remote
//! SageMaker endpoint, by their local module, or both (`scorekit_host::policy`), shared by
//! `host serve` and `host score` (docs/sagemaker.md).

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use scorekit_host::Backends;

/// Environment variable naming the policy file when `--policy-file` is not given.
pub const POLICY_FILE_ENV: &str = "SCOREKIT_POLICY_FILE";

/// The policy file to read: the flag, else `$SCOREKIT_POLICY_FILE`.
pub fn path(flag: Option<&Path>) -> Option<std::path::PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os(POLICY_FILE_ENV).filter(|v| !v.is_empty()).map(Into::into))
}

/// Reads the policy file, if one is named.
///
/// # Errors
/// An unreadable or invalid file (the message names the key), or a `host` built without the
/// `remote` feature.
pub fn load(path: Option<&Path>) -> Result<Option<Arc<dyn Backends>>> {
    let Some(path) = path else { return Ok(None) };
    #[cfg(feature = "remote")]
    {
        let policies = scorekit_host::policy::Policies::load(path).map_err(anyhow::Error::new)?;
        Ok(Some(Arc::new(policies)))
    }
    #[cfg(not(feature = "remote"))]
    {
        anyhow::bail!(
            "{}: this `host` was built without the 'remote' feature, so it cannot call remote endpoints",
            path.display()
        )
    }
}
