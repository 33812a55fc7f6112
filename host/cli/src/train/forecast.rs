//! `host train forecast`: fit the quantile forecaster on a series, backtest it on the last
//! windows, and draw the fan chart.

use anyhow::{Context, Result, bail};
use clap::Args;
use scorekit_artifact::{Artifact, Metric, Model};
use scorekit_core::{Family, Field, Schema};
use scorekit_forecast::train::holdout;
use scorekit_forecast::train::{GapRule, SeriesColumns, group_rows, regularise, resolve_series_columns};
use scorekit_forecast::{ForecastParams, Member, train_global};

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
    /// Timestamp column (enables calendar features and resampling). Without it, a column named
    /// like a time (`timestamp`, `date`, …) is read to check the spacing and record the sampling
    /// period; calendar features stay off then.
    #[arg(long)]
    pub timestamp_column: Option<String>,
    /// Column naming the series of each row: one model is trained across all series (global
    /// mode), each series scaled by its own level.
    #[arg(long)]
    pub series_column: Option<String>,
    /// Missing steps in a timestamped series are inserted as missing values (carried forward,
    /// at most one value in ten) instead of refused.
    #[arg(long)]
    pub fill_gaps: bool,
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

/// One series of the table: its id (empty without `--series-column`), values, timestamps.
struct Series {
    id: String,
    values: Vec<f64>,
    times: Option<Vec<i64>>,
}

/// Sums values into buckets of `step` seconds (the bucket of `t` starts at `t − t mod step`).
fn resample(values: &[f64], times: &[i64], step: i64) -> (Vec<f64>, Vec<i64>) {
    let (mut out_v, mut out_t): (Vec<f64>, Vec<i64>) = (Vec::new(), Vec::new());
    for (t, v) in times.iter().zip(values) {
        let bucket = t.div_euclid(step) * step;
        if out_t.last() == Some(&bucket) {
            *out_v.last_mut().expect("same length") += v;
        } else {
            out_t.push(bucket);
            out_v.push(*v);
        }
    }
    (out_v, out_t)
}

/// Reads the series (one per `--series-column` value), resampled if asked, on a regular grid.
/// The column roles and the gap rule are the forecaster's (`scorekit_forecast::train`).
fn read_series(table: &Table, args: &ForecastArgs) -> Result<(Vec<Series>, SeriesColumns)> {
    let cols = resolve_series_columns(
        table,
        args.value_column.as_deref(),
        args.timestamp_column.as_deref(),
        args.series_column.as_deref(),
    )
    .with_context(|| format!("{}", table.path.display()))?;
    if args.resample_seconds.is_some() && cols.timestamp.is_none() {
        bail!("--resample-seconds needs a timestamp column (--timestamp-column)");
    }
    if let Some(step) = args.resample_seconds
        && step <= 0
    {
        bail!("--resample-seconds must be positive");
    }
    let rule = if args.fill_gaps { GapRule::Fill } else { GapRule::Refuse };
    let groups = match cols.series {
        Some(c) => group_rows(table, c),
        None => vec![(String::new(), (0..table.rows.len()).collect())],
    };
    let all_times = cols.timestamp.map(|c| table.timestamps(c)).transpose()?;
    let mut out = Vec::with_capacity(groups.len());
    for (id, rows) in groups {
        let values: Vec<f64> = rows.iter().map(|&r| table.number_at(r, cols.value)).collect::<Result<_>>()?;
        let Some(all) = &all_times else {
            out.push(Series { id, values, times: None });
            continue;
        };
        let times: Vec<i64> = rows.iter().map(|&r| all[r]).collect();
        let (values, times) = match args.resample_seconds {
            Some(step) => resample(&values, &times, step),
            None => (values, times),
        };
        let what = if id.is_empty() { String::new() } else { format!(" (series '{id}')") };
        let found = if cols.timestamp_found {
            format!(" (column '{}' read as the timestamp)", table.header[cols.timestamp.unwrap_or(0)])
        } else {
            String::new()
        };
        let (values, times) = regularise(&values, &times, args.resample_seconds, rule)
            .with_context(|| format!("{}{what}{found}", table.path.display()))?;
        out.push(Series { id, values, times: Some(times) });
    }
    Ok((out, cols))
}

/// Fits, backtests and writes artifact and report.
pub fn train(args: &ForecastArgs) -> Result<Outcome> {
    let common = &args.common;
    let table = Table::read(&common.data)?;
    let (series, cols) = read_series(&table, args)?;
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
    if args.no_calendar || args.timestamp_column.is_none() {
        params.calendar = false;
    }
    params.validate().context("invalid forecaster parameters")?;
    let h = params.horizon;
    let windows = args.test_windows.max(1);
    if let Some(s) = series.iter().find(|s| s.values.len() <= windows * h) {
        bail!(
            "{}: {} points{} are too few to hold out {windows} windows of {h} steps",
            table.path.display(),
            s.values.len(),
            if s.id.is_empty() { String::new() } else { format!(" in series '{}'", s.id) }
        );
    }
    let members: Vec<Member<'_>> = series.iter().map(|s| (&s.values[..], s.times.as_deref())).collect();

    let bar = super::progress_bar(2, "fitting", common.quiet);
    let started = std::time::Instant::now();
    let held = holdout(&members, &params, windows).context("training on the held-in part failed")?;
    bar.inc(1);
    let full = train_global(&members, &params, &mut |_, _| {}).context("training failed")?;
    bar.finish_and_clear();
    let fit_time = started.elapsed();
    let season = held.season;
    let last = held.last.as_ref().map(|(m, origin, fc)| (&series[*m], *origin, fc));
    let n: usize = series.iter().map(|s| s.values.len()).sum();
    let figures: Vec<(String, f64)> = vec![
        ("mase".into(), held.mase),
        ("wql".into(), held.wql),
        ("coverage_80".into(), held.coverage_80),
        ("fit_ms".into(), fit_time.as_secs_f64() * 1e3 / 2.0),
    ];

    let name = common.model_name();
    let mut report = Report::new(
        &name,
        "forecast",
        format!(
            "{windows} rolling windows of {h} steps at the end of {} ({} series, {n} points; MASE scale: seasonal naive, period {season})",
            common.data.display(),
            series.len()
        ),
    );
    if let Some((s, origin, fc)) = last {
        let series = &s.values;
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
        (
            "base forecaster".into(),
            match full.report.seasonal_naive {
                Some(p) => format!("seasonal naive, period {p} (beat the ridge on the backtest)"),
                None => format!("ridge, penalty {}", full.report.ridge),
            },
        ),
        ("profile weight".into(), format!("{}", full.report.profile_weight)),
        (
            "interval widening".into(),
            format!(
                "{} (the residual quantiles scaled around their median so that earlier backtest blocks' 80 % intervals cover the later ones)",
                full.report.interval_scale
            ),
        ),
        (
            "timestamps".into(),
            match (cols.timestamp, cols.timestamp_found) {
                (Some(c), true) => {
                    format!("column '{}' found by name: spacing checked, calendar off", table.header[c])
                }
                (Some(c), false) => format!("column '{}'", table.header[c]),
                (None, _) => "none".into(),
            },
        ),
        ("artifact".into(), "refit on the full series after the backtest".into()),
    ];

    let schema = Schema {
        name: name.clone(),
        family: Family::Forecast,
        inputs: vec![Field::numeric(table.header[cols.value].clone())],
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
