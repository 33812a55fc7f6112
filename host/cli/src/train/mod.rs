//! `host train FAMILY`: read a CSV, fit a model, evaluate it on held-out rows, write
//! `NAME.model.json` plus `NAME.report.{json,html}`.

pub mod forecast;
pub mod gbt;
pub mod rcf;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use scorekit_artifact::Artifact;

pub use forecast::ForecastArgs;
pub use gbt::GbtArgs;
pub use rcf::RcfArgs;

/// The families `host train` can fit.
#[derive(Subcommand)]
pub enum TrainCommand {
    /// Gradient-boosted trees (binary classification or regression).
    Gbt(GbtArgs),
    /// Random cut forest for streaming anomaly detection.
    Rcf(RcfArgs),
    /// Autoregressive quantile forecaster.
    Forecast(ForecastArgs),
}

/// Arguments every family takes.
#[derive(Args, Clone)]
pub struct CommonArgs {
    /// Training data (CSV with a header line).
    #[arg(long)]
    pub data: PathBuf,
    /// Model name (default: the data file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Output directory for the artifact and the report.
    #[arg(long)]
    pub out: PathBuf,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl CommonArgs {
    /// The model name: `--name` or the data file's stem.
    pub fn model_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.data.file_stem().and_then(|s| s.to_str()).unwrap_or("model").replace(['.', ' '], "_")
        })
    }
}

/// Runs `host train …`.
///
/// # Errors
/// Bad data, bad hyper-parameters, unwritable output.
pub fn run(command: TrainCommand) -> Result<()> {
    let outcome = match command {
        TrainCommand::Gbt(a) => gbt::train(&a)?,
        TrainCommand::Rcf(a) => rcf::train(&a)?,
        TrainCommand::Forecast(a) => forecast::train(&a)?,
    };
    println!("{}", outcome.summary);
    println!("artifact: {}", outcome.artifact_path.display());
    println!("report:   {}", outcome.report_path.display());
    Ok(())
}

/// What a training run produced.
pub struct Outcome {
    pub artifact_path: PathBuf,
    pub report_path: PathBuf,
    pub summary: String,
}

/// Writes `DIR/NAME.model.json`, creating DIR.
///
/// # Errors
/// The directory or file cannot be written.
pub fn write_artifact(dir: &Path, artifact: &Artifact) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("{}.model.json", artifact.schema.name));
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, artifact.to_json()).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// A progress bar for `total` steps, hidden with `--quiet` or when stderr is not a terminal.
pub fn progress_bar(total: u64, what: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {elapsed_precise}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Provenance entries every artifact carries.
pub fn provenance(common: &CommonArgs, rows: usize) -> Vec<(String, String)> {
    vec![
        ("scorekit".into(), env!("CARGO_PKG_VERSION").into()),
        ("data".into(), common.data.display().to_string()),
        ("rows".into(), rows.to_string()),
    ]
}

/// The churn demo's settings: the classic churnTrain/churnTest split of the MLC churn data.
pub fn gbt_demo_args(common: CommonArgs) -> GbtArgs {
    GbtArgs {
        common,
        target: "churn".into(),
        positive: Some("yes".into()),
        categorical: vec![],
        ignore: vec![],
        test_from_row: Some(3334),
        test_fraction: 0.2,
        n_estimators: None,
        learning_rate: None,
        max_depth: None,
        max_leaves: None,
        min_child_weight: None,
        lambda: None,
        subsample: None,
        colsample: None,
        early_stopping_rounds: None,
        seed: None,
    }
}
