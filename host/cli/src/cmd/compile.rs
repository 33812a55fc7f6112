//! `host compile MODEL.model.json -o NAME.wasm`: one self-contained model module from an
//! artifact, by injecting it into the guest embedded in this binary (no toolchain needed).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::score::load_artifact;

/// `host compile` arguments.
#[derive(Args)]
pub struct CompileArgs {
    /// Model artifact (`NAME.model.json`) written by `host train`.
    pub model: PathBuf,
    /// Output module (default: the artifact's name with `.wasm`, e.g. `churn.wasm`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// GBT models: leave the trees to the guest's own scorer instead of emitting them as
    /// WebAssembly code. A smaller module (churn: 188 KB instead of 275 KB), several times
    /// slower to score; the same scores bit for bit.
    #[arg(long)]
    pub no_tree_code: bool,
}

/// The default output path: `churn.model.json` → `churn.wasm` next to it.
fn default_output(model: &std::path::Path) -> PathBuf {
    let name = model.file_name().and_then(|n| n.to_str()).unwrap_or("model");
    let stem = name.strip_suffix(".model.json").or_else(|| name.strip_suffix(".json")).unwrap_or(name);
    model.with_file_name(format!("{stem}.wasm"))
}

/// Runs `host compile`; prints the module's path, size and SHA-256 identity.
///
/// # Errors
/// Unreadable or invalid artifact, unwritable output.
pub fn run(args: CompileArgs) -> Result<()> {
    let artifact = load_artifact(&args.model)?;
    let options = scorekit_compile::CompileOptions::default().tree_code(!args.no_tree_code);
    let guest = scorekit_compile::guest_wasm(artifact.schema.family);
    let wasm =
        scorekit_compile::compile_with(guest, &artifact, options).context("compiling the model module")?;
    let info = scorekit_runtime::inspect(&wasm).context("checking the compiled module")?;
    let out = args.output.unwrap_or_else(|| default_output(&args.model));
    // Write then rename, so a server watching the directory never sees half a module.
    let tmp = out.with_extension("wasm.tmp");
    std::fs::write(&tmp, &wasm).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{}: {} model '{}', {} bytes, sha256 {}",
        out.display(),
        info.description.family.as_str(),
        info.description.schema.name,
        info.size,
        info.sha256_hex()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_output_replaces_the_artifact_suffix() {
        assert_eq!(default_output("a/churn.model.json".as_ref()), PathBuf::from("a/churn.wasm"));
        assert_eq!(default_output("x.json".as_ref()), PathBuf::from("x.wasm"));
    }
}
