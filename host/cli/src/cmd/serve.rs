//! `host serve`: serve every model module in a directory over HTTP (`scorekit-server`).
//!
//! With no arguments it serves `./scorekit-models`, first training the embedded demo models
//! (churn, anomaly, forecast) and compiling them to `.wasm` there if they are missing, so the
//! README's first command works on a fresh clone.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use scorekit_host::local::LocalLoader;
use scorekit_host::streams::Redeploy;
use scorekit_host::{AbsentInputs, Gaps, InputPolicy, NullInputs};
use scorekit_runtime::{Runtime, RuntimeConfig};
use scorekit_server::ServerConfig;

/// Default models directory.
pub const DEFAULT_MODELS_DIR: &str = "scorekit-models";

/// `host serve` arguments.
#[derive(Args)]
pub struct ServeArgs {
    /// Directory of model modules (`NAME.wasm`, served as NAME); watched for changes.
    /// Default: ./scorekit-models, with the demo models trained into it when missing.
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Train and compile the demo models into the models directory if missing (implied when
    /// --models is not given).
    #[arg(long)]
    pub demo: bool,
    /// Do not add the demo models, even to the default directory.
    #[arg(long, conflicts_with = "demo")]
    pub no_demo: bool,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port (0 picks a free one; the address is printed on stdout).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Where RCF stream states are persisted. Default: MODELS/.state
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Keep RCF stream state in memory only (lost on exit).
    #[arg(long, conflicts_with = "state_dir")]
    pub no_state: bool,
    /// Bearer token enabling PUT/DELETE /admin/models/NAME (default: $SCOREKIT_ADMIN_TOKEN).
    #[arg(long)]
    pub admin_token: Option<String>,
    /// Per-call deadline of a model module, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub deadline_ms: u64,
    /// Memory cap of one module instance, in MiB.
    #[arg(long, default_value_t = 256)]
    pub memory_mib: usize,
    /// Memory all module instances together may hold (running calls, pooled instances, live
    /// streams), in MiB; a call that would pass it gets 503 + Retry-After.
    #[arg(long, default_value_t = 2048)]
    pub memory_budget_mib: usize,
    /// Largest scoring request body, in bytes (SageMaker's limit is 6 MiB).
    #[arg(long, default_value_t = 6 << 20)]
    pub max_body_bytes: usize,
    /// Scoring requests running at once; beyond it requests wait --queue-ms, then get 503.
    #[arg(long, default_value_t = 256)]
    pub max_concurrency: usize,
    /// How long a request may wait for a free slot before 503 + Retry-After, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub queue_ms: u64,
    /// Connections open at once (keep it below `ulimit -n`); at the cap the longest-idle one is
    /// closed to make room.
    #[arg(long, default_value_t = 1000)]
    pub max_connections: usize,
    /// Time to receive a request's headers, in milliseconds; also how long a connection may sit
    /// idle between requests.
    #[arg(long, default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// Time to receive a request's body, in milliseconds (then 408).
    #[arg(long, default_value_t = 30_000)]
    pub body_timeout_ms: u64,
    /// Longest a response write may make no progress, in milliseconds (then the connection is
    /// closed).
    #[arg(long, default_value_t = 30_000)]
    pub io_timeout_ms: u64,
    /// How often the models directory is checked for changes, in milliseconds (0: never).
    #[arg(long, default_value_t = 1000)]
    pub reload_ms: u64,
    /// How often changed stream states are written to disk, in milliseconds (0: after every
    /// stream request).
    #[arg(long, default_value_t = 5000)]
    pub persist_ms: u64,
    /// RCF streams kept live in memory (least recently used ones are saved to disk and evicted).
    #[arg(long, default_value_t = 1000)]
    pub max_live_streams: usize,
    /// Memory the live RCF streams may hold together, in MiB (then the least recently used are
    /// saved and evicted).
    #[arg(long, default_value_t = 512)]
    pub max_live_stream_mib: usize,
    /// RCF streams one model may have in all, live and saved (0: no bound).
    #[arg(long, default_value_t = 10_000)]
    pub max_streams: usize,
    /// RCF streams one model may have per key prefix — the part of the key before the first `/`
    /// or `:` (keys with neither share one quota) — so one caller cannot fill --max-streams
    /// (0: no bound).
    #[arg(long, default_value_t = 1000)]
    pub max_streams_per_prefix: usize,
    /// Do not log stream steps: readings acknowledged since the last state save (--persist-ms)
    /// are then lost if the process dies, and answers say `"durable": false`.
    #[arg(long)]
    pub no_stream_log: bool,
    /// Directory of the compiled-code cache (default: the runtime's per-user cache).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// What a null input (JSON null, empty CSV field) becomes: `missing` or `error`.
    #[arg(long, default_value = "missing", value_parser = NullInputs::parse)]
    pub null_inputs: NullInputs,
    /// What a model input with no key (JSON object rows, CSV with a header) becomes: `error` or
    /// `missing`.
    #[arg(long, default_value = "error", value_parser = AbsentInputs::parse)]
    pub absent_inputs: AbsentInputs,
    /// What happens to a stream's state when its model is replaced: `same-model` (carry over
    /// when the new module holds the same trained model, else restart and archive), `carry-over`,
    /// `restart`.
    #[arg(long, default_value = "same-model", value_parser = Redeploy::parse)]
    pub on_redeploy: Redeploy,
    /// What a gap in a forecast history with timestamps becomes: `fill` or `refuse` (a request
    /// may say otherwise with its `gaps` field).
    #[arg(long, default_value = "fill", value_parser = Gaps::parse)]
    pub forecast_gaps: Gaps,
    /// Log format.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub log_format: String,
    /// Log level (error, warn, info, debug, trace).
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

/// Runs `host serve` until SIGTERM or Ctrl-C.
///
/// # Errors
/// Bad directories, a failure training the demo models, bind failure.
pub fn run(args: ServeArgs) -> Result<()> {
    scorekit_server::init_logging(args.log_format == "json", &args.log_level);
    let demo = args.demo || (args.models.is_none() && !args.no_demo);
    let models = args.models.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_MODELS_DIR));
    std::fs::create_dir_all(&models).with_context(|| format!("cannot create {}", models.display()))?;
    if demo {
        ensure_demo_models(&models)?;
    }
    let state_dir = if args.no_state {
        None
    } else {
        Some(args.state_dir.clone().unwrap_or_else(|| models.join(".state")))
    };
    let runtime = Runtime::new(RuntimeConfig {
        deadline: Duration::from_millis(args.deadline_ms.max(1)),
        memory_limit_bytes: args.memory_mib.max(1) << 20,
        memory_budget_bytes: args.memory_budget_mib.max(1) << 20,
        cache_dir: args.cache_dir.clone().or_else(RuntimeConfig::default_cache_dir),
        ..RuntimeConfig::default()
    })
    .context("cannot start the Wasm runtime")?;
    let config = ServerConfig {
        bind: SocketAddr::new(args.bind, args.port),
        models_dir: Some(models),
        state_dir,
        admin_token: args
            .admin_token
            .or_else(|| std::env::var("SCOREKIT_ADMIN_TOKEN").ok())
            .filter(|t| !t.is_empty()),
        max_body_bytes: args.max_body_bytes,
        max_concurrency: args.max_concurrency.max(1),
        max_connections: args.max_connections.max(1),
        header_timeout: Duration::from_millis(args.header_timeout_ms.max(1)),
        body_timeout: Duration::from_millis(args.body_timeout_ms.max(1)),
        io_timeout: Duration::from_millis(args.io_timeout_ms.max(1)),
        queue_timeout: Duration::from_millis(args.queue_ms),
        reload_interval: Duration::from_millis(args.reload_ms),
        persist_interval: Duration::from_millis(args.persist_ms),
        max_live_streams: args.max_live_streams.max(1),
        max_live_stream_bytes: args.max_live_stream_mib << 20,
        max_streams: args.max_streams,
        max_streams_per_prefix: args.max_streams_per_prefix,
        stream_log: !args.no_stream_log,
        input_policy: InputPolicy { nulls: args.null_inputs, absent: args.absent_inputs },
        redeploy: args.on_redeploy,
        forecast_gaps: args.forecast_gaps,
        ..ServerConfig::default()
    };
    scorekit_server::run(config, Arc::new(LocalLoader::new(runtime)))
}

/// Trains the demo models that are missing from `dir` and compiles them to `dir/NAME.wasm`.
/// Training data, artifacts and reports go to `dir/.demo/`.
fn ensure_demo_models(dir: &Path) -> Result<()> {
    let missing: Vec<&str> =
        crate::demo::MODELS.iter().copied().filter(|m| !dir.join(format!("{m}.wasm")).is_file()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let work = dir.join(".demo");
    if !crate::demo::is_trained(&work) {
        eprintln!("training the demo models ({}) into {} …", missing.join(", "), work.display());
        crate::demo::train_all(&work, true).context("training the demo models")?;
    }
    for name in missing {
        let artifact = crate::cmd::score::load_artifact(&work.join(format!("{name}.model.json")))?;
        let bytes = scorekit_compile::compile(&artifact)
            .with_context(|| format!("compiling the demo model '{name}'"))?;
        let path = dir.join(format!("{name}.wasm"));
        scorekit_server::registry::write_atomic(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("compiled {} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}
