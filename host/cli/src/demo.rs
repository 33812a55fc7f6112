//! The demo data compiled into the binary, and the default models trained from it, so that the
//! README's first command works on a fresh clone with nothing downloaded.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::train::{self, CommonArgs, ForecastArgs, RcfArgs};

/// (file name, contents) of every embedded demo file.
pub const FILES: &[(&str, &str)] = &[
    ("churn.csv", include_str!("../../../data/demo/churn.csv")),
    ("machine_temperature.csv", include_str!("../../../data/demo/machine_temperature.csv")),
    ("machine_temperature.windows.json", include_str!("../../../data/demo/machine_temperature.windows.json")),
    ("electricity_hourly.csv", include_str!("../../../data/demo/electricity_hourly.csv")),
];

/// Names of the demo models.
pub const MODELS: [&str; 3] = ["churn", "anomaly", "forecast"];

/// Writes the demo data under `dir/data` and trains the three demo models into `dir`.
/// Returns the artifact paths.
///
/// # Errors
/// Unwritable directory, or a training failure (a bug: the demo data is fixed).
pub fn train_all(dir: &Path, quiet: bool) -> Result<Vec<PathBuf>> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    for (name, text) in FILES {
        std::fs::write(data.join(name), text)
            .with_context(|| format!("cannot write {}", data.join(name).display()))?;
    }
    let common = |file: &str, name: &str| CommonArgs {
        data: data.join(file),
        name: Some(name.into()),
        out: dir.to_path_buf(),
        quiet,
    };
    let churn = train::gbt_demo_args(common("churn.csv", "churn"));
    let anomaly = RcfArgs {
        common: common("machine_temperature.csv", "anomaly"),
        value_columns: vec!["value".into()],
        timestamp_column: Some("timestamp".into()),
        label_column: None,
        windows: Some(data.join("machine_temperature.windows.json")),
        shingle_size: None,
        trees: None,
        sample_size: None,
        time_decay: None,
        seed: None,
        z_factor: None,
        short_window: None,
        suppress_after_flag: None,
        score_decay: None,
        warmup: None,
        hold_z_factor: None,
    };
    let forecast = ForecastArgs {
        common: common("electricity_hourly.csv", "forecast"),
        value_column: Some("demand_mw".into()),
        timestamp_column: Some("timestamp".into()),
        series_column: None,
        fill_gaps: false,
        resample_seconds: None,
        context_length: None,
        horizon: None,
        seasonal_periods: vec![],
        no_calendar: false,
        test_windows: 4,
    };
    let mut paths = Vec::new();
    for outcome in
        [train::gbt::train(&churn)?, train::rcf::train(&anomaly)?, train::forecast::train(&forecast)?]
    {
        if !quiet {
            println!("{}", outcome.summary);
        }
        paths.push(outcome.artifact_path);
    }
    Ok(paths)
}

/// Whether `dir` already holds every demo artifact.
pub fn is_trained(dir: &Path) -> bool {
    MODELS.iter().all(|m| dir.join(format!("{m}.model.json")).is_file())
}
