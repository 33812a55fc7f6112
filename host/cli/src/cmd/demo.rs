//! `host demo`: train the embedded demo models.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// `host demo` arguments.
#[derive(Args)]
pub struct DemoArgs {
    /// Where to write the demo data, artifacts and reports.
    #[arg(long, default_value = "demo-models")]
    pub out: PathBuf,
    /// Do not draw progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `host demo`.
///
/// # Errors
/// As [`crate::demo::train_all`].
pub fn run(args: DemoArgs) -> Result<()> {
    for path in crate::demo::train_all(&args.out, args.quiet)? {
        println!("artifact: {}", path.display());
    }
    Ok(())
}
