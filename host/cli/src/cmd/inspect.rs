//! `host inspect NAME.wasm`: what a model module is — schema, identity, ABI version, size and
//! training metrics — read from its custom section without running it.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use scorekit_core::FieldKind;
use scorekit_runtime::ModuleInfo;

/// `host inspect` arguments.
#[derive(Args)]
pub struct InspectArgs {
    /// Model module (`NAME.wasm`).
    pub module: PathBuf,
    /// Print JSON (the description plus `sha256` and `size`) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `host inspect`.
///
/// # Errors
/// Unreadable file, or not a valid scorekit module (the error says why).
pub fn run(args: InspectArgs) -> Result<()> {
    let bytes =
        std::fs::read(&args.module).with_context(|| format!("cannot read {}", args.module.display()))?;
    let info = scorekit_runtime::inspect(&bytes).with_context(|| format!("{}", args.module.display()))?;
    if args.json {
        println!("{}", to_json(&info)?);
    } else {
        print!("{}", to_text(&info));
    }
    Ok(())
}

/// The JSON form: the description with `sha256` and `size` added.
///
/// # Errors
/// Serialisation failure (not expected).
pub fn to_json(info: &ModuleInfo) -> Result<String> {
    let mut v = serde_json::to_value(&info.description)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("sha256".into(), info.sha256_hex().into());
        o.insert("size".into(), info.size.into());
    }
    Ok(serde_json::to_string_pretty(&v)?)
}

/// The human-readable form.
pub fn to_text(info: &ModuleInfo) -> String {
    let d = &info.description;
    let s = &d.schema;
    let mut t = String::new();
    let _ = writeln!(t, "model     {} ({})", s.name, d.family.as_str());
    let _ = writeln!(t, "sha256    {}", info.sha256_hex());
    let _ = writeln!(t, "size      {} bytes", info.size);
    let _ = writeln!(t, "abi       {}   artifact format {}", d.abi, d.format);
    if let Some(target) = &s.target {
        let label = s.positive_label.as_deref().map(|l| format!(" = {l}")).unwrap_or_default();
        let _ = writeln!(t, "target    {target}{label}");
    }
    let _ = writeln!(t, "outputs   {}", s.outputs.join(", "));
    let _ = writeln!(t, "inputs    {}", s.inputs.len());
    for f in &s.inputs {
        match &f.kind {
            FieldKind::Numeric => {
                let _ = writeln!(t, "  {:<28} numeric", f.name);
            }
            FieldKind::Categorical { levels } => {
                let shown: Vec<&str> = levels.iter().take(6).map(String::as_str).collect();
                let more =
                    if levels.len() > 6 { format!(", … {} levels", levels.len()) } else { String::new() };
                let _ = writeln!(t, "  {:<28} categorical: {}{more}", f.name, shown.join(", "));
            }
        }
    }
    if !d.metrics.is_empty() {
        let _ = writeln!(t, "metrics");
        for m in &d.metrics {
            let _ = writeln!(t, "  {:<28} {:.4}", m.name, m.value);
        }
    }
    t
}
