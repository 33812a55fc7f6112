//! `host score MODEL --input FILE`: score a file with a module (`NAME.wasm`, in the Wasm runtime
//! exactly as the server and the database run it) or an artifact (`NAME.model.json`, natively).
//! Both are a `scorekit_host::Scorer`; everything after loading is one code path, so the two
//! print the same columns and the same numbers.
//!
//! The input is read and scored in chunks (`--chunk-rows`), so memory stays bounded and the
//! module's deadline applies to each call, whatever the file's size; rows keep their numbers
//! from the top of the file in every message.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use scorekit_artifact::Artifact;
use scorekit_host::local::LocalLoader;
use scorekit_host::native::NativeScorer;
use scorekit_host::streams::{StepOp, run_step};
use scorekit_host::{
    AbsentInputs, BatchBuilder, Family, ForecastQuery, Gaps, History, InputPolicy, ModuleLoader, NullInputs,
    SharedScorer, names,
};
use scorekit_runtime::{Runtime, RuntimeConfig};

use super::score_input::RowSource;
use crate::data::Table;

/// `host score` arguments.
/// Rows per module call by default.
const CHUNK_ROWS: usize = 4096;
/// Rows per module call with `--explain`: about 1.3 ms a row for the demo churn model in Wasm on
/// a quiet machine (5,000 rows explained in 6.5 s of CPU), so a chunk takes ~85 ms and stays
/// inside the 1 s default deadline on a machine several times slower or busier.
const EXPLAIN_CHUNK_ROWS: usize = 64;

#[derive(Args)]
pub struct ScoreArgs {
    /// Model module (`NAME.wasm`, scored in the Wasm runtime exactly as the server and the
    /// database do) or artifact (`NAME.model.json`, scored natively). With a policy file, the
    /// model's name is the file's (NAME), and a NAME with no file is scored by its remote
    /// endpoint when its policy allows.
    pub model: PathBuf,
    /// The policy file: whether a remote SageMaker endpoint answers for the model, alone, as a
    /// fallback or in the shadow of the local module (default: $SCOREKIT_POLICY_FILE; see
    /// docs/sagemaker.md).
    #[arg(long)]
    pub policy_file: Option<PathBuf>,
    /// Input rows (CSV with a header, or JSON Lines). Columns are matched to the model's inputs
    /// by name; other columns are ignored.
    #[arg(long)]
    pub input: PathBuf,
    /// Output CSV (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Also write per-input contributions (GBT: TreeSHAP; RCF: per-dimension attribution of
    /// each reading against the forest before it learns the reading).
    #[arg(long)]
    pub explain: bool,
    /// RCF: score against the stored forest without learning from the input (default: stream,
    /// scoring each reading and then learning from it).
    #[arg(long)]
    pub no_update: bool,
    /// What an empty field or null becomes: `missing` (the model's learned default) or `error`.
    #[arg(long, default_value = "missing", value_parser = NullInputs::parse)]
    pub null_inputs: NullInputs,
    /// What a model input with no column becomes: `error` or `missing`.
    #[arg(long, default_value = "error", value_parser = AbsentInputs::parse)]
    pub absent_inputs: AbsentInputs,
    /// Rows per module call (bounds memory; the deadline applies per call). Default: 4096, or
    /// 64 with `--explain`, whose per-row cost (TreeSHAP over every tree) is hundreds of times
    /// a score's, so that a chunk stays well inside the default deadline.
    #[arg(long)]
    pub chunk_rows: Option<usize>,
    /// Per-call deadline of a module, in milliseconds (`.wasm` models): it bounds one chunk.
    #[arg(long, default_value_t = 1000)]
    pub deadline_ms: u64,
    /// Forecast: steps ahead (default: the model's horizon).
    #[arg(long)]
    pub horizon: Option<u32>,
    /// Forecast: quantile levels.
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.5,0.9")]
    pub quantiles: Vec<f64>,
    /// Forecast: sample paths to draw.
    #[arg(long, default_value_t = 0)]
    pub samples: u32,
    /// Forecast: seed for sample paths.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Forecast: timestamp column of the history (its spacing is checked; calendar features).
    #[arg(long)]
    pub timestamp_column: Option<String>,
    /// Forecast: what a gap in the timestamps becomes: `fill` (missing values the model
    /// imputes) or `refuse`.
    #[arg(long, default_value = "fill", value_parser = Gaps::parse)]
    pub gaps: Gaps,
}

/// Loads an artifact file.
///
/// # Errors
/// Unreadable file or an invalid artifact.
pub fn load_artifact(path: &Path) -> Result<Artifact> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Artifact::from_json(&text).with_context(|| format!("{}", path.display()))
}

/// Loads a module (`.wasm`, verified, through the on-disk compile cache) or an artifact.
///
/// # Errors
/// Unreadable file, invalid or hostile module, invalid artifact.
pub fn load_scorer(path: &Path, deadline_ms: u64) -> Result<SharedScorer> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wasm")) {
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: RuntimeConfig::default_cache_dir(),
            deadline: std::time::Duration::from_millis(deadline_ms.max(1)),
            ..RuntimeConfig::default()
        })
        .context("cannot start the Wasm runtime")?;
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        return LocalLoader::new(runtime)
            .load(&bytes, None)
            .map_err(anyhow::Error::new)
            .with_context(|| format!("{}", path.display()));
    }
    Ok(std::sync::Arc::new(NativeScorer::new(load_artifact(path)?)))
}

/// The model's name for the policy file: the file name without `.wasm` / `.model.json`.
fn model_name(path: &Path) -> String {
    let file = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
    let name = file.strip_suffix(".wasm").or_else(|| file.strip_suffix(".model.json")).unwrap_or(&file);
    name.to_string()
}

/// The scorer that answers: the local model, or what the policy file composes around it (or in
/// its place, when the file does not exist and the policy answers remotely).
fn resolve_scorer(args: &ScoreArgs) -> Result<SharedScorer> {
    let policy_file = super::policy::path(args.policy_file.as_deref());
    let Some(backends) = super::policy::load(policy_file.as_deref())? else {
        return load_scorer(&args.model, args.deadline_ms);
    };
    let name = model_name(&args.model);
    let remote_capable = backends.remote_names().contains(&name);
    let local = if args.model.exists() || !remote_capable {
        Some(load_scorer(&args.model, args.deadline_ms)?)
    } else {
        None
    };
    backends
        .scorer(&name, local)
        .map_err(anyhow::Error::new)?
        .with_context(|| format!("the policy file serves no model '{name}'"))
}

/// Runs `host score`.
///
/// # Errors
/// Unreadable model or input, input that does not fit the model, a model that fails.
pub fn run(args: ScoreArgs) -> Result<()> {
    // The model is read first: a wrong model path is the more fundamental mistake.
    let scorer = resolve_scorer(&args)?;
    let sink: Box<dyn Write> = match &args.output {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = csv::Writer::from_writer(std::io::BufWriter::new(sink));
    match scorer.info().family() {
        Family::Forecast => forecast(&scorer, &args, &mut out)?,
        _ => score_rows(&scorer, &args, &mut out)?,
    }
    out.flush()?;
    Ok(())
}

type Out = csv::Writer<std::io::BufWriter<Box<dyn Write>>>;

fn write_row(out: &mut Out, values: &[f64]) -> Result<()> {
    out.write_record(values.iter().map(|v| format!("{v}")))?;
    Ok(())
}

fn score_rows(scorer: &SharedScorer, args: &ScoreArgs, out: &mut Out) -> Result<()> {
    let info = scorer.info();
    let schema = info.schema();
    let policy = InputPolicy { nulls: args.null_inputs, absent: args.absent_inputs };
    let streaming = info.family() == Family::Rcf && !args.no_update;
    let mut header: Vec<String> = if streaming {
        names::STREAM_OUTPUTS.iter().map(|s| s.to_string()).collect()
    } else {
        names::score_outputs(schema)
    };
    if args.explain {
        header.extend(names::explanation_columns(schema));
    }
    out.write_record(&header)?;
    let mut source = RowSource::open(&args.input, schema, policy)?;
    // Rows scored so far, on stderr when it is a terminal (indicatif draws nothing otherwise).
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {human_pos} rows scored ({per_sec}) {elapsed}")
            .expect("static template"),
    );
    let mut stream = if streaming { Some(scorer.open_stream().map_err(anyhow::Error::new)?) } else { None };
    let at = |e: scorekit_host::HostError| anyhow::Error::new(e).context(args.input.display().to_string());
    let chunk = args.chunk_rows.unwrap_or(if args.explain { EXPLAIN_CHUNK_ROWS } else { CHUNK_ROWS }).max(1);
    loop {
        // A stream takes tagged cells (its explained steps re-read them one by one); scoring
        // takes the rows already encoded.
        let b =
            if streaming { BatchBuilder::new(schema, policy) } else { BatchBuilder::for_model(info, policy) };
        let mut b = b.with_row_base(source.rows_read()).map_err(at)?;
        if source.fill(&mut b, chunk)? == 0 {
            break;
        }
        let rows = b.finish();
        let (values, width, expl) = match &mut stream {
            Some(s) => {
                let op = if args.explain { StepOp::LearnExplained } else { StepOp::Learn };
                let step = run_step(s.as_mut(), &rows, op).map_err(at)?;
                let v: Vec<f64> = step
                    .steps
                    .iter()
                    .flat_map(|s| [s.score, s.grade, if s.is_anomaly { 1.0 } else { 0.0 }, s.threshold])
                    .collect();
                (v, names::STREAM_OUTPUTS.len(), step.explanations)
            }
            None => {
                let v = scorer.score(&rows).map_err(at)?;
                let e = if args.explain { scorer.explain(&rows).map_err(at)? } else { Vec::new() };
                (v, names::score_outputs(schema).len(), e)
            }
        };
        let ew = schema.inputs.len() + 1;
        progress.inc(rows.n_rows() as u64);
        for (i, row) in values.chunks(width).enumerate() {
            if args.explain {
                let mut r = row.to_vec();
                r.extend_from_slice(&expl[i * ew..(i + 1) * ew]);
                write_row(out, &r)?;
            } else {
                write_row(out, row)?;
            }
        }
    }
    progress.finish_and_clear();
    if source.rows_read() == 0 {
        bail!("{}: the file has no data rows", args.input.display());
    }
    Ok(())
}

/// The history column (the model's input name, or the only numeric column) and its timestamps.
fn history(scorer: &SharedScorer, table: &Table, args: &ScoreArgs) -> Result<History> {
    let info = scorer.info();
    let schema = info.schema();
    let column = table.column(&schema.inputs[0].name).or_else(|e| {
        let numeric: Vec<usize> = (0..table.header.len())
            .filter(|c| table.is_numeric(*c) && Some(&table.header[*c]) != args.timestamp_column.as_ref())
            .collect();
        if numeric.len() == 1 { Ok(numeric[0]) } else { Err(e) }
    })?;
    let at = |e: scorekit_host::HostError| anyhow::Error::new(e).context(args.input.display().to_string());
    let cells: Vec<scorekit_host::Value<'_>> = table.rows.iter().map(|r| r[column].as_value()).collect();
    let values = scorekit_host::history_values(&cells).map_err(at)?;
    match &args.timestamp_column {
        Some(tc) => {
            let c = table.column(tc)?;
            let ts = table.timestamps(c)?;
            History::timed(&ts, &values, info.description.period_seconds, args.gaps).map_err(at)
        }
        None => History::untimed(values, None).map_err(at),
    }
}

fn forecast(scorer: &SharedScorer, args: &ScoreArgs, out: &mut Out) -> Result<()> {
    let table = Table::read(&args.input)?;
    let history = history(scorer, &table, args)?;
    let query = ForecastQuery {
        horizon: args.horizon.unwrap_or(0),
        quantiles: args.quantiles.clone(),
        num_samples: args.samples,
        seed: args.seed,
        start: None,
    };
    let fc = scorer
        .forecast(&history, &query)
        .map_err(anyhow::Error::new)
        .with_context(|| args.input.display().to_string())?;
    let mut header = vec!["step".to_string(), "mean".to_string()];
    header.extend(fc.quantiles.iter().map(|(q, _)| format!("q{q}")));
    header.extend((0..fc.samples.len()).map(|s| format!("sample_{s}")));
    out.write_record(&header)?;
    for i in 0..fc.mean.len() {
        let mut r = vec![(i + 1) as f64, fc.mean[i]];
        r.extend(fc.quantiles.iter().map(|(_, v)| v[i]));
        r.extend(fc.samples.iter().map(|s| s[i]));
        write_row(out, &r)?;
    }
    if history.filled > 0 {
        eprintln!(
            "note: {}: {} missing steps in the history were filled as missing values (--gaps refuse to refuse them)",
            args.input.display(),
            history.filled
        );
    }
    Ok(())
}
