//! `host score MODEL --input FILE`: score a file with an artifact (natively) or a module (Wasm).
//! Both paths go through the same operations (`scorekit_artifact::ops`), so they print the same
//! numbers.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use scorekit_artifact::{Artifact, STREAM_OUTPUTS};
use scorekit_core::{Cell, Family};
use scorekit_forecast::ForecastRequest;

use crate::data::{Table, time::parse_unix_seconds};

/// `host score` arguments.
#[derive(Args)]
pub struct ScoreArgs {
    /// Model artifact (`NAME.model.json`, scored natively) or module (`NAME.wasm`, scored in the
    /// Wasm runtime exactly as the server and the database do).
    pub model: PathBuf,
    /// Input rows (CSV or JSON Lines). Columns are matched to the model's inputs by name.
    #[arg(long)]
    pub input: PathBuf,
    /// Output CSV (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Also write per-feature contributions (GBT: TreeSHAP; RCF: per-dimension attribution).
    #[arg(long)]
    pub explain: bool,
    /// RCF: score against the stored forest without learning from the input (default: stream,
    /// scoring each reading and then learning from it).
    #[arg(long)]
    pub no_update: bool,
    /// Forecast: steps ahead (default: the model's horizon).
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Forecast: quantile levels.
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.5,0.9")]
    pub quantiles: Vec<f64>,
    /// Forecast: sample paths to draw.
    #[arg(long, default_value_t = 0)]
    pub samples: usize,
    /// Forecast: seed for sample paths.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Forecast: timestamp column of the history (enables calendar features).
    #[arg(long)]
    pub timestamp_column: Option<String>,
}

/// Loads an artifact file.
///
/// # Errors
/// Unreadable file or an invalid artifact.
pub fn load_artifact(path: &Path) -> Result<Artifact> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Artifact::from_json(&text).with_context(|| format!("{}", path.display()))
}

/// Runs `host score`.
///
/// # Errors
/// Unreadable model or input, input that does not fit the model.
pub fn run(args: ScoreArgs) -> Result<()> {
    let is_module = args.model.extension().is_some_and(|e| e.eq_ignore_ascii_case("wasm"));
    // The model is read first: a wrong model path is the more fundamental mistake.
    let (header, rows) = if is_module {
        let module = super::score_wasm::load(&args.model)?;
        super::score_wasm::run(&module, &args, &Table::read(&args.input)?)?
    } else {
        let mut artifact = load_artifact(&args.model)?;
        let table = Table::read(&args.input)?;
        match artifact.schema.family {
            Family::Gbt | Family::Rcf => score_rows(&mut artifact, &table, &args)?,
            Family::Forecast => forecast(&artifact, &table, &args)?,
        }
    };
    let mut sink: Box<dyn Write> = match &args.output {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = csv::Writer::from_writer(&mut sink);
    w.write_record(&header)?;
    for row in rows {
        w.write_record(row.iter().map(|v| format!("{v}")))?;
    }
    w.flush()?;
    Ok(())
}

/// Column positions in `table` of each model input.
pub fn input_columns(schema: &scorekit_core::Schema, table: &Table) -> Result<Vec<usize>> {
    schema
        .inputs
        .iter()
        .map(|f| {
            table
                .column(&f.name)
                .with_context(|| format!("the model '{}' needs column '{}'", schema.name, f.name))
        })
        .collect()
}

/// Encodes every row of `table` for `artifact`; errors name the file, row (1-based) and column.
pub fn encode_table(artifact: &Artifact, table: &Table) -> Result<Vec<f64>> {
    let columns = input_columns(&artifact.schema, table)?;
    let mut cells: Vec<Cell<'_>> = Vec::with_capacity(table.rows.len() * columns.len());
    for row in &table.rows {
        cells.extend(columns.iter().map(|&c| row[c].as_cell()));
    }
    let mut encoded = Vec::with_capacity(cells.len());
    artifact.encode(&cells, 1, &mut encoded).with_context(|| format!("{}", table.path.display()))?;
    Ok(encoded)
}

/// Output header and rows.
pub type Output = (Vec<String>, Vec<Vec<f64>>);

fn score_rows(artifact: &mut Artifact, table: &Table, args: &ScoreArgs) -> Result<Output> {
    let encoded = encode_table(artifact, table)?;
    let n = table.rows.len();
    let streaming = artifact.schema.family == Family::Rcf && !args.no_update;
    let mut header: Vec<String>;
    let mut values = Vec::new();
    let width;
    if streaming {
        header = vec!["score".into(), "grade".into(), "is_anomaly".into(), "threshold".into()];
        width = STREAM_OUTPUTS;
        if args.explain {
            // Explanations describe each reading against the forest as it was before learning it.
            let mut out = Vec::new();
            let mut expl = Vec::new();
            let w = artifact.arity();
            for (i, row) in encoded.chunks(w).enumerate() {
                let start = expl.len();
                artifact
                    .explain(row, &mut expl)
                    .with_context(|| format!("{}: row {}", table.path.display(), i + 1))?;
                expl.truncate(start + w);
                artifact
                    .score_update(row, &mut out)
                    .with_context(|| format!("{}: row {}", table.path.display(), i + 1))?;
            }
            return Ok(with_explanations(artifact, header, out, width, expl));
        }
        artifact.score_update(&encoded, &mut values).with_context(|| format!("{}", table.path.display()))?;
    } else {
        header = artifact.schema.outputs.clone();
        width = artifact.outputs_per_row();
        artifact.score(&encoded, &mut values).with_context(|| format!("{}", table.path.display()))?;
    }
    if args.explain {
        let mut expl = Vec::with_capacity(n * artifact.explanations_per_row());
        artifact.explain(&encoded, &mut expl).with_context(|| format!("{}", table.path.display()))?;
        let w = artifact.explanations_per_row();
        let trimmed: Vec<f64> = expl.chunks(w).flat_map(|c| c.iter().copied()).collect();
        header.extend(artifact.schema.inputs.iter().map(|f| format!("contribution_{}", f.name)));
        header.push(match artifact.schema.family {
            Family::Gbt => "bias".into(),
            _ => "attribution_total".into(),
        });
        let rows = values
            .chunks(width)
            .zip(trimmed.chunks(w))
            .map(|(a, b)| a.iter().chain(b).copied().collect())
            .collect();
        return Ok((header, rows));
    }
    Ok((header, values.chunks(width).map(<[f64]>::to_vec).collect()))
}

fn with_explanations(
    artifact: &Artifact,
    mut header: Vec<String>,
    values: Vec<f64>,
    width: usize,
    expl: Vec<f64>,
) -> Output {
    let w = artifact.arity();
    header.extend(artifact.schema.inputs.iter().map(|f| format!("attribution_{}", f.name)));
    let rows =
        values.chunks(width).zip(expl.chunks(w)).map(|(a, b)| a.iter().chain(b).copied().collect()).collect();
    (header, rows)
}

/// The history column (the model's input name, or the only numeric column) and the start time.
pub fn history(
    schema: &scorekit_core::Schema,
    table: &Table,
    args: &ScoreArgs,
) -> Result<(Vec<f64>, Option<i64>)> {
    let column = table.column(&schema.inputs[0].name).or_else(|e| {
        let numeric: Vec<usize> = (0..table.header.len()).filter(|c| table.is_numeric(*c)).collect();
        if numeric.len() == 1 { Ok(numeric[0]) } else { Err(e) }
    })?;
    let history = table.numeric_column(column)?;
    let start = match &args.timestamp_column {
        Some(tc) => {
            let c = table.column(tc)?;
            Some(
                parse_unix_seconds(&table.rows[0][c].text().unwrap_or_default())
                    .with_context(|| format!("{}: row 1", table.path.display()))?,
            )
        }
        None => None,
    };
    Ok((history, start))
}

/// Forecast output rows: step, mean, one column per quantile, one per sample path.
pub fn forecast_output(mean: &[f64], quantiles: &[(f64, Vec<f64>)], samples: &[Vec<f64>]) -> Output {
    let mut header = vec!["step".to_string(), "mean".to_string()];
    header.extend(quantiles.iter().map(|(q, _)| format!("q{q}")));
    header.extend((0..samples.len()).map(|s| format!("sample_{s}")));
    let rows = (0..mean.len())
        .map(|i| {
            let mut r = vec![(i + 1) as f64, mean[i]];
            r.extend(quantiles.iter().map(|(_, v)| v[i]));
            r.extend(samples.iter().map(|s| s[i]));
            r
        })
        .collect();
    (header, rows)
}

fn forecast(artifact: &Artifact, table: &Table, args: &ScoreArgs) -> Result<Output> {
    let (history, start) = history(&artifact.schema, table, args)?;
    let model_horizon = match &artifact.model {
        scorekit_artifact::Model::Forecast(m) => m.max_horizon(),
        _ => bail!("not a forecaster"),
    };
    let request = ForecastRequest {
        horizon: args.horizon.unwrap_or(model_horizon),
        quantiles: args.quantiles.clone(),
        num_samples: args.samples,
        seed: args.seed,
        start,
    };
    let fc = artifact.forecast(&history, &request).with_context(|| format!("{}", table.path.display()))?;
    Ok(forecast_output(&fc.mean, &fc.quantiles, &fc.samples))
}
