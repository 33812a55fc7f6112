//! `host train rcf`: stream a series through a random cut forest, keeping the forest (and its
//! streaming threshold) as the artifact, and report the score trace against labelled anomalies.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use scorekit_artifact::{Artifact, Metric, Model};
use scorekit_core::{Family, Field, Schema};
use scorekit_rcf::train::{point_metrics, resolve_columns, window_metrics};
use scorekit_rcf::{RcfConfig, RcfModel};

use super::{CommonArgs, Outcome};
use crate::data::{Table, time::parse_unix_seconds};
use crate::report::{Report, svg};

/// `host train rcf` arguments.
#[derive(Args)]
pub struct RcfArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Columns holding the reading's values (comma separated; default: every numeric column but
    /// the timestamp and label columns and any column named like a time, e.g. `timestamp`).
    #[arg(long, value_delimiter = ',')]
    pub value_columns: Vec<String>,
    /// Timestamp column, used for charts and anomaly windows.
    #[arg(long)]
    pub timestamp_column: Option<String>,
    /// Column of 0/1 point labels (1 = anomaly), for evaluation only.
    #[arg(long)]
    pub label_column: Option<String>,
    /// JSON file with labelled anomaly windows: `[["start", "end"], …]` timestamps (NAB style).
    #[arg(long, requires = "timestamp_column")]
    pub windows: Option<PathBuf>,
    /// Consecutive readings concatenated into one point (default 8 for one value per reading,
    /// 1 for several).
    #[arg(long)]
    pub shingle_size: Option<usize>,
    /// Number of trees.
    #[arg(long)]
    pub trees: Option<usize>,
    /// Points sampled per tree.
    #[arg(long)]
    pub sample_size: Option<usize>,
    /// Reservoir time decay (larger forgets faster).
    #[arg(long)]
    pub time_decay: Option<f64>,
    /// Random seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Threshold: flag when the short-term mean score exceeds the running mean by this many
    /// running standard deviations (stored in the model; default 4).
    #[arg(long)]
    pub z_factor: Option<f64>,
    /// Threshold: scores averaged into the short-term score (1 = each point's own; default 6).
    #[arg(long)]
    pub short_window: Option<usize>,
    /// Threshold: after a flag, suppress further flags for this many readings (0 = flag every
    /// anomalous reading, for point-labelled data; default 200, alarm-style).
    #[arg(long)]
    pub suppress_after_flag: Option<usize>,
    /// Threshold: once flagged, keep flagging the following readings while their evidence stays
    /// above this many standard deviations (0 = off, the default; for point-labelled data).
    #[arg(long)]
    pub hold_z_factor: Option<f64>,
    /// Threshold: per-reading decay of the running score statistics (default 1/5000).
    #[arg(long)]
    pub score_decay: Option<f64>,
    /// Threshold: readings scored before any flag (default 100).
    #[arg(long)]
    pub warmup: Option<usize>,
}

fn windows_from(path: &PathBuf) -> Result<Vec<(i64, i64)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let pairs: Vec<(String, String)> = serde_json::from_str(&text).with_context(|| {
        format!("{}: expected a JSON array of [start, end] timestamp pairs", path.display())
    })?;
    pairs
        .iter()
        .map(|(a, b)| Ok((parse_unix_seconds(a)?, parse_unix_seconds(b)?)))
        .collect::<Result<_>>()
        .with_context(|| format!("{}", path.display()))
}

/// Streams the data through a new forest; writes artifact and report.
pub fn train(args: &RcfArgs) -> Result<Outcome> {
    let common = &args.common;
    let table = Table::read(&common.data)?;
    let columns = resolve_columns(
        &table,
        &args.value_columns,
        args.timestamp_column.as_deref(),
        args.label_column.as_deref(),
    )
    .with_context(|| format!("{}", table.path.display()))?;
    let (value_cols, ts_col, label_col) = (columns.values, columns.timestamp, columns.label);
    let dims = value_cols.len();
    let mut readings = Vec::with_capacity(table.rows.len() * dims);
    for row in 0..table.rows.len() {
        for &c in &value_cols {
            readings.push(table.number_at(row, c)?);
        }
    }
    let times: Option<Vec<i64>> = ts_col.map(|c| table.timestamps(c)).transpose()?;

    let mut config = RcfConfig::new(dims);
    if let Some(v) = args.shingle_size {
        config.shingle_size = v;
    }
    if let Some(v) = args.trees {
        config.num_trees = v;
    }
    if let Some(v) = args.sample_size {
        config.sample_size = v;
    }
    if let Some(v) = args.time_decay {
        config.time_decay = v;
    }
    if let Some(v) = args.seed {
        config.seed = v;
    }
    let t = &mut config.threshold;
    if let Some(v) = args.z_factor {
        t.z_factor = v;
    }
    if let Some(v) = args.short_window {
        t.short_window = v;
    }
    if let Some(v) = args.suppress_after_flag {
        t.suppress_after_flag = v;
    }
    if let Some(v) = args.score_decay {
        t.score_decay = v;
    }
    if let Some(v) = args.hold_z_factor {
        t.hold_z_factor = v;
    }
    if let Some(v) = args.warmup {
        t.warmup = v;
    }
    let mut model = RcfModel::new(config.clone()).context("invalid forest parameters")?;

    let n = table.rows.len();
    let bar = super::progress_bar(n as u64, "streaming", common.quiet);
    let started = std::time::Instant::now();
    let mut scores = Vec::with_capacity(n);
    let mut flags = Vec::with_capacity(n);
    let mut thresholds = Vec::with_capacity(n);
    for (i, reading) in readings.chunks(dims).enumerate() {
        let out = model
            .score_then_update(reading)
            .with_context(|| format!("{}: row {}", table.path.display(), i + 1))?;
        scores.push(out.score);
        flags.push(out.is_anomaly);
        thresholds.push(out.threshold);
        if i % 1024 == 0 {
            bar.set_position(i as u64);
        }
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();

    let name = common.model_name();
    let mut report =
        Report::new(&name, "rcf", format!("{n} readings of {} (streamed in order)", common.data.display()));
    let mut figures: Vec<(String, f64)> = vec![
        ("readings".into(), n as f64),
        ("flagged".into(), flags.iter().filter(|f| **f).count() as f64),
        ("mean_score".into(), scores.iter().sum::<f64>() / n as f64),
        ("points_per_second".into(), n as f64 / elapsed.as_secs_f64().max(1e-9)),
    ];
    let xs: Vec<f64> = match &times {
        Some(t) => t.iter().map(|&s| s as f64 / 86_400.0).collect(),
        None => (0..n).map(|i| i as f64).collect(),
    };
    let mut spans = Vec::new();
    if let Some(lc) = label_col {
        let labels: Vec<bool> =
            (0..n).map(|r| table.number_at(r, lc).map(|v| v != 0.0)).collect::<Result<_>>()?;
        let m = point_metrics(&flags, &labels);
        figures.extend([("precision".into(), m.precision), ("recall".into(), m.recall), ("f1".into(), m.f1)]);
        for (i, l) in labels.iter().enumerate() {
            if *l {
                spans.push((xs[i], xs[(i + 1).min(n - 1)]));
            }
        }
    }
    if let (Some(path), Some(t)) = (&args.windows, &times) {
        let windows = windows_from(path)?;
        let m = window_metrics(t, &flags, &windows);
        figures.push(("windows".into(), m.windows as f64));
        figures.push(("windows_detected".into(), m.detected as f64));
        figures.push(("flags_outside_windows".into(), m.flags_outside as f64));
        spans.extend(windows.iter().map(|(a, b)| (*a as f64 / 86_400.0, *b as f64 / 86_400.0)));
    }
    let values: Vec<(f64, f64)> = xs.iter().zip(readings.chunks(dims)).map(|(x, r)| (*x, r[0])).collect();
    let x_label = if times.is_some() { "time (UTC)" } else { "reading" };
    report.charts.push(
        svg::Chart {
            title: format!("{} (labelled anomalies shaded)", table.header[value_cols[0]]),
            x_label: x_label.into(),
            y_label: table.header[value_cols[0]].clone(),
            lines: vec![svg::Line { label: "value".into(), color: "#555", points: values, dashed: false }],
            spans: spans.clone(),
            x_dates: times.is_some(),
            ..Default::default()
        }
        .render(),
    );
    report.charts.push(
        svg::Chart {
            title: "Anomaly score and streaming threshold".into(),
            x_label: x_label.into(),
            y_label: "score".into(),
            lines: vec![
                svg::Line {
                    label: "score".into(),
                    color: "#1f5fa8",
                    points: xs.iter().copied().zip(scores.iter().copied()).collect(),
                    dashed: false,
                },
                svg::Line {
                    label: "threshold".into(),
                    color: "#b33",
                    points: xs.iter().copied().zip(thresholds.iter().copied()).collect(),
                    dashed: true,
                },
            ],
            spans,
            x_dates: times.is_some(),
            ..Default::default()
        }
        .render(),
    );
    report.metrics = figures.clone();
    report.details = vec![
        ("configuration".into(), format!("{config:?}")),
        ("streaming time".into(), format!("{:.1} ms", elapsed.as_secs_f64() * 1e3)),
    ];

    let schema = Schema {
        name: name.clone(),
        family: Family::Rcf,
        inputs: value_cols.iter().map(|&c| Field::numeric(table.header[c].clone())).collect(),
        target: None,
        positive_label: None,
        outputs: vec!["score".into()],
    };
    let mut artifact = Artifact::new(schema, Model::Rcf(model));
    artifact.metrics = figures.iter().map(|(k, v)| Metric { name: k.clone(), value: *v }).collect();
    artifact.provenance = super::provenance(common, n);
    let artifact_path = super::write_artifact(&common.out, &artifact)?;
    let report_path = report.write(&common.out)?;
    let summary = figures.iter().map(|(k, v)| format!("{k} {v:.4}")).collect::<Vec<_>>().join(", ");
    Ok(Outcome { artifact_path, report_path, summary: format!("{name}: {summary}") })
}
