//! `host train forecast`: fit the quantile forecaster on a series, backtest it on the last
//! windows, and draw the fan chart.

use anyhow::{Context, Result, bail};
use clap::Args;
use scorekit_artifact::{Artifact, Metric, Model};
use scorekit_core::{Family, Field, Schema};
use scorekit_forecast::{ForecastParams, ForecastRequest, metrics};

use super::{CommonArgs, Outcome};
use crate::data::Table;
use crate::report::{Report, svg};

/// `host train forecast` arguments.
#[derive(Args)]
pub struct ForecastArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Column holding the series (default: the only numeric column besides the timestamp).
    #[arg(long)]
    pub value_column: Option<String>,
    /// Timestamp column (enables calendar features and resampling).
    #[arg(long)]
    pub timestamp_column: Option<String>,
    /// Aggregate to buckets of this many seconds first (e.g. 3600 for hourly), summing values.
    #[arg(long, requires = "timestamp_column")]
    pub resample_seconds: Option<i64>,
    /// Steps of history the model reads.
    #[arg(long)]
    pub context_length: Option<usize>,
    /// Steps forecast.
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Seasonal periods in steps (comma separated; default: detected).
    #[arg(long, value_delimiter = ',')]
    pub seasonal_periods: Vec<usize>,
    /// Disable hour-of-day / day-of-week features.
    #[arg(long)]
    pub no_calendar: bool,
    /// Backtest windows held out at the end for the report.
    #[arg(long, default_value_t = 4)]
    pub test_windows: usize,
}

/// Reads the series (and timestamps), resampled if asked.
fn read_series(table: &Table, args: &ForecastArgs) -> Result<(Vec<f64>, Option<Vec<i64>>)> {
    let ts_col = args.timestamp_column.as_deref().map(|c| table.column(c)).transpose()?;
    let value_col = match &args.value_column {
        Some(c) => table.column(c)?,
        None => {
            let numeric: Vec<usize> =
                (0..table.header.len()).filter(|c| Some(*c) != ts_col && table.is_numeric(*c)).collect();
            match numeric.as_slice() {
                [one] => *one,
                _ => bail!(
                    "{}: name the series with --value-column (numeric columns: {})",
                    table.path.display(),
                    numeric.iter().map(|c| table.header[*c].as_str()).collect::<Vec<_>>().join(", ")
                ),
            }
        }
    };
    let values = table.numeric_column(value_col)?;
    let Some(tc) = ts_col else { return Ok((values, None)) };
    let times = table.timestamps(tc)?;
    if let Some(i) = times.windows(2).position(|w| w[1] <= w[0]) {
        bail!("{}: row {}: timestamps must increase", table.path.display(), i + 2);
    }
    let Some(step) = args.resample_seconds else { return Ok((values, Some(times))) };
    if step <= 0 {
        bail!("--resample-seconds must be positive");
    }
    let mut out_v: Vec<f64> = Vec::new();
    let mut out_t: Vec<i64> = Vec::new();
    for (t, v) in times.iter().zip(&values) {
        let bucket = t.div_euclid(step) * step;
        if out_t.last() == Some(&bucket) {
            *out_v.last_mut().expect("same length") += v;
        } else {
            if let Some(&last) = out_t.last()
                && bucket != last + step
            {
                bail!(
                    "{}: gap in the series before {} (resampled step {step} s)",
                    table.path.display(),
                    bucket
                );
            }
            out_t.push(bucket);
            out_v.push(*v);
        }
    }
    Ok((out_v, Some(out_t)))
}

/// Fits, backtests and writes artifact and report.
pub fn train(args: &ForecastArgs) -> Result<Outcome> {
    let common = &args.common;
    let table = Table::read(&common.data)?;
    let (series, times) = read_series(&table, args)?;
    let mut params = ForecastParams::default();
    if let Some(v) = args.context_length {
        params.context_length = v;
    }
    if let Some(v) = args.horizon {
        params.horizon = v;
    }
    if !args.seasonal_periods.is_empty() {
        params.seasonal_periods = Some(args.seasonal_periods.clone());
    }
    if args.no_calendar || times.is_none() {
        params.calendar = false;
    }
    params.validate().context("invalid forecaster parameters")?;
    let h = params.horizon;
    let windows = args.test_windows.max(1);
    let n = series.len();
    if n <= windows * h {
        bail!("{}: {n} points are too few to hold out {windows} windows of {h} steps", table.path.display());
    }
    let cut = n - windows * h;

    let bar = super::progress_bar(2, "fitting", common.quiet);
    let started = std::time::Instant::now();
    let holdout =
        scorekit_forecast::train(&series[..cut], times.as_ref().map(|t| &t[..cut]), &params, &mut |_, _| {})
            .context("training on the held-in part failed")?;
    bar.inc(1);
    let full = scorekit_forecast::train(&series, times.as_deref(), &params, &mut |_, _| {})
        .context("training failed")?;
    bar.finish_and_clear();
    let fit_time = started.elapsed();

    let levels = vec![0.1, 0.5, 0.9];
    let season =
        params.seasonal_periods.as_ref().and_then(|p| p.first().copied()).unwrap_or(24).min(cut / 2).max(1);
    let (mut sum_mase, mut sum_wql, mut covered, mut total) = (0.0, 0.0, 0.0, 0usize);
    let mut last = None;
    for w in 0..windows {
        let origin = cut + w * h;
        let req = ForecastRequest {
            horizon: h,
            quantiles: levels.clone(),
            num_samples: 0,
            seed: 0,
            start: times.as_ref().map(|t| t[0]),
        };
        let fc = holdout
            .model
            .forecast(&series[..origin], &req)
            .with_context(|| format!("backtest origin {origin}"))?;
        let actual = &series[origin..origin + h];
        let levels: Vec<(f64, &[f64])> = fc.quantiles.iter().map(|(q, v)| (*q, v.as_slice())).collect();
        sum_mase += metrics::mase(actual, &fc.mean, &series[..origin], season).unwrap_or(f64::NAN);
        sum_wql += metrics::weighted_quantile_loss(actual, &levels).unwrap_or(f64::NAN);
        let coverage =
            metrics::interval_coverage(actual, &fc.quantiles[0].1, &fc.quantiles[2].1).unwrap_or(f64::NAN);
        covered += coverage * h as f64;
        total += h;
        last = Some((origin, fc));
    }
    let figures: Vec<(String, f64)> = vec![
        ("mase".into(), sum_mase / windows as f64),
        ("wql".into(), sum_wql / windows as f64),
        ("coverage_80".into(), covered / total as f64),
        ("fit_ms".into(), fit_time.as_secs_f64() * 1e3 / 2.0),
    ];

    let name = common.model_name();
    let mut report = Report::new(
        &name,
        "forecast",
        format!(
            "{windows} rolling windows of {h} steps at the end of {} ({n} points; MASE scale: seasonal naive, period {season})",
            common.data.display()
        ),
    );
    if let Some((origin, fc)) = last {
        let from = origin.saturating_sub(3 * h);
        let idx = |i: usize| i as f64;
        report.charts.push(
            svg::Chart {
                title: "Last backtest window: p10–p90 band, mean, actual".into(),
                x_label: "step".into(),
                y_label: "value".into(),
                lines: vec![
                    svg::Line {
                        label: "actual".into(),
                        color: "#333",
                        points: (from..origin + h).map(|i| (idx(i), series[i])).collect(),
                        dashed: false,
                    },
                    svg::Line {
                        label: "mean".into(),
                        color: "#1f5fa8",
                        points: (0..h).map(|i| (idx(origin + i), fc.mean[i])).collect(),
                        dashed: false,
                    },
                ],
                bands: vec![svg::Band {
                    label: "p10–p90".into(),
                    color: "#1f5fa8",
                    points: (0..h)
                        .map(|i| (idx(origin + i), fc.quantiles[0].1[i], fc.quantiles[2].1[i]))
                        .collect(),
                }],
                ..Default::default()
            }
            .render(),
        );
    }
    report.metrics = figures.clone();
    report.details = vec![
        ("parameters".into(), format!("{params:?}")),
        ("seasonal periods".into(), format!("{:?}", full.report.seasonal_periods)),
        ("artifact".into(), "refit on the full series after the backtest".into()),
    ];

    let schema = Schema {
        name: name.clone(),
        family: Family::Forecast,
        inputs: vec![Field::numeric(args.value_column.clone().unwrap_or_else(|| "value".into()))],
        target: None,
        positive_label: None,
        outputs: vec!["mean".into(), "p10".into(), "p50".into(), "p90".into()],
    };
    let mut artifact = Artifact::new(schema, Model::Forecast(full.model));
    artifact.metrics = figures.iter().map(|(k, v)| Metric { name: k.clone(), value: *v }).collect();
    artifact.provenance = super::provenance(common, n);
    let artifact_path = super::write_artifact(&common.out, &artifact)?;
    let report_path = report.write(&common.out)?;
    let summary = figures.iter().map(|(k, v)| format!("{k} {v:.4}")).collect::<Vec<_>>().join(", ");
    Ok(Outcome { artifact_path, report_path, summary: format!("{name}: {summary}") })
}
