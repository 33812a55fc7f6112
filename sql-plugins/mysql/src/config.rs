//! The plugin's configuration: one JSON file, read once per server process.
//!
//! Loadable functions cannot declare server variables, and every user may call them (the UDF
//! API has no privileges), so nothing a statement passes may point the plugin at other files or
//! loosen its limits. The file lives next to the library in `plugin_dir` (written by
//! `install.sh`, owned by the administrator), or where `SCOREKIT_MYSQL_CONFIG` in the server's
//! environment says. A change takes effect at the next server start, except one to `policy_file`,
//! which is looked at again at every model resolution (`policies.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use scorekit_host::streams::{BookConfig, Quotas, Redeploy};
use scorekit_host::{AbsentInputs, Gaps, InputPolicy, NullInputs};
use serde::Deserialize;

/// Name of the file next to the library.
pub const FILE_NAME: &str = "scorekit.json";
/// Environment variable that names the file instead.
pub const ENV: &str = "SCOREKIT_MYSQL_CONFIG";

/// The settings (see docs/mysql.md for each).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory of model modules: `NAME.wasm` (a file, or a symlink: the alias), `NAME@N.wasm`
    /// (versions).
    pub model_dir: PathBuf,
    /// Directory for stream states, the stream log and compiled code; streams need it.
    pub state_dir: Option<PathBuf>,
    /// Longest one module call may run.
    pub deadline_ms: u64,
    /// Largest linear memory of one module instance.
    pub memory_limit_mb: usize,
    /// Linear memory of all instances together (calls, pooled instances, live streams).
    pub memory_budget_mb: usize,
    /// Largest module file read.
    pub max_module_mb: usize,
    /// Idle instances kept per module for reuse by concurrent statements.
    pub max_idle_instances: usize,
    /// Keep compiled code under `state_dir/compiled` (restarts skip compiling).
    pub compile_cache: bool,
    /// `missing` (default, as every host) or `error`.
    pub null_inputs: String,
    /// `error` (default) or `missing`, for JSON rows by name.
    pub absent_inputs: String,
    /// `fill` (default) or `refuse`: gaps in a timestamped forecast history.
    pub forecast_gaps: String,
    /// `same-model` (default), `carry-over` or `restart`.
    pub on_redeploy: String,
    /// Streams live in memory at once.
    pub max_live_streams: usize,
    /// Memory the live streams may hold, MiB (0 = no bound beyond the memory budget).
    pub max_live_stream_mb: usize,
    /// Streams one model may have in all (0 = no bound).
    pub max_streams_per_model: usize,
    /// Streams one model may have per key prefix (before the first `/` or `:`; 0 = no bound).
    pub max_streams_per_prefix: usize,
    /// Seconds between saves of changed stream states (the log keeps every step meanwhile).
    pub flush_seconds: u64,
    /// Model name → the only SHA-256 its modules may have.
    pub pins: BTreeMap<String, String>,
    /// The policy file (docs/sagemaker.md): models a remote SageMaker endpoint answers. Absolute.
    pub policy_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            model_dir: PathBuf::new(),
            state_dir: None,
            deadline_ms: 1000,
            memory_limit_mb: 256,
            memory_budget_mb: 2048,
            max_module_mb: 256,
            max_idle_instances: 16,
            compile_cache: true,
            null_inputs: "missing".into(),
            absent_inputs: "error".into(),
            forecast_gaps: "fill".into(),
            on_redeploy: "same-model".into(),
            max_live_streams: 1000,
            max_live_stream_mb: 0,
            max_streams_per_model: 0,
            max_streams_per_prefix: 0,
            flush_seconds: 30,
            pins: BTreeMap::new(),
            policy_file: None,
        }
    }
}

/// The settings, checked: words parsed, pins decoded.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The file as written.
    pub config: Config,
    /// Where it was read from.
    pub path: PathBuf,
    /// The input policy.
    pub policy: InputPolicy,
    /// The forecast gap rule.
    pub gaps: Gaps,
    /// The stream book's configuration.
    pub book: BookConfig,
    /// Decoded pins.
    pub pins: BTreeMap<String, [u8; 32]>,
}

impl Settings {
    /// Parses and checks a configuration text read from `path`.
    ///
    /// # Errors
    /// A message naming the file and the setting.
    pub fn parse(text: &str, path: &Path) -> Result<Settings, String> {
        let at = |e: String| format!("configuration {}: {e}", path.display());
        let config: Config = serde_json::from_str(text).map_err(|e| at(e.to_string()))?;
        if config.model_dir.as_os_str().is_empty() {
            return Err(at("'model_dir' (the directory of .wasm modules) is not set".into()));
        }
        let relative =
            |p: &Path| p.is_relative().then(|| at(format!("'{}' must be an absolute path", p.display())));
        if let Some(e) = relative(&config.model_dir)
            .or_else(|| config.state_dir.as_deref().and_then(relative))
            .or_else(|| config.policy_file.as_deref().and_then(relative))
        {
            return Err(e);
        }
        let policy = InputPolicy {
            nulls: NullInputs::parse(&config.null_inputs).map_err(|e| at(format!("'null_inputs': {e}")))?,
            absent: AbsentInputs::parse(&config.absent_inputs)
                .map_err(|e| at(format!("'absent_inputs': {e}")))?,
        };
        let gaps = Gaps::parse(&config.forecast_gaps).map_err(|e| at(format!("'forecast_gaps': {e}")))?;
        let redeploy = Redeploy::parse(&config.on_redeploy).map_err(|e| at(format!("'on_redeploy': {e}")))?;
        if config.deadline_ms == 0 || config.memory_limit_mb == 0 || config.max_module_mb == 0 {
            return Err(at("'deadline_ms', 'memory_limit_mb' and 'max_module_mb' must be positive".into()));
        }
        let mut pins = BTreeMap::new();
        for (name, hex) in &config.pins {
            let sha = scorekit_host::parse_sha256_hex(hex)
                .ok_or_else(|| at(format!("pins.{name}: '{hex}' is not 64 hex digits")))?;
            pins.insert(name.clone(), sha);
        }
        let book = BookConfig {
            max_live: config.max_live_streams.max(1),
            max_live_bytes: config.max_live_stream_mb << 20,
            quotas: Quotas {
                max_streams: config.max_streams_per_model,
                max_streams_per_prefix: config.max_streams_per_prefix,
            },
            redeploy,
            ..BookConfig::default()
        };
        Ok(Settings { config, path: path.to_path_buf(), policy, gaps, book, pins })
    }

    /// Reads the configuration: `$SCOREKIT_MYSQL_CONFIG`, else `scorekit.json` next to the
    /// library at `library`.
    ///
    /// # Errors
    /// A message naming the file.
    pub fn load(library: Option<&Path>) -> Result<Settings, String> {
        let path = match std::env::var_os(ENV) {
            Some(p) => PathBuf::from(p),
            None => match library.and_then(Path::parent) {
                Some(dir) => dir.join(FILE_NAME),
                None => return Err(format!("cannot find the plugin's directory: set {ENV}")),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read the configuration {}: {e} (install.sh writes it; see docs/mysql.md)",
                path.display()
            )
        })?;
        Settings::parse(&text, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_and_refuses_mistakes() {
        let p = Path::new("/etc/x.json");
        let s = Settings::parse(r#"{"model_dir": "/m"}"#, p).unwrap();
        assert_eq!((s.config.deadline_ms, s.policy, s.book.max_live), (1000, InputPolicy::default(), 1000));
        let s =
            Settings::parse(r#"{"model_dir": "/m", "null_inputs": "error", "on_redeploy": "restart"}"#, p)
                .unwrap();
        assert_eq!((s.policy.nulls, s.book.redeploy), (NullInputs::Error, Redeploy::Restart));
        let e = Settings::parse(r#"{"model_dir": "/m", "deadline": 5}"#, p).unwrap_err();
        assert!(e.contains("/etc/x.json") && e.contains("unknown field `deadline`"), "{e}");
        let e = Settings::parse(r#"{"model_dir": "m"}"#, p).unwrap_err();
        assert!(e.contains("'m' must be an absolute path"), "{e}");
        let e = Settings::parse(r#"{"model_dir": "/m", "null_inputs": "maybe"}"#, p).unwrap_err();
        assert!(e.contains("'null_inputs'") && e.contains("missing, error"), "{e}");
        let e = Settings::parse(r#"{"model_dir": "/m", "pins": {"churn": "abc"}}"#, p).unwrap_err();
        assert!(e.contains("pins.churn"), "{e}");
        assert!(Settings::parse("{}", p).unwrap_err().contains("'model_dir'"));
    }
}
