//! What is served:
//!
//! * `scorekit_models()` → STRING: a JSON array, one object per model name in the model
//!   directory — `name`, `alias` (whether `NAME.wasm` exists), `versions`, and for the module a
//!   reference without version resolves to: `file`, `version`, `sha256`, `family`, `inputs`,
//!   `outputs`; or the `error` that keeps it from loading (every module is verified as it loads);
//! * `scorekit_schema(model)` → STRING: `{"name", "file", "version", "sha256", "size",
//!   "description"}`, the description being the module's own (`scorekit.schema` section: schema,
//!   family, metrics, provenance, forecaster facts);
//! * `scorekit_version()` → STRING: the plugin's version and what the server lets it do;
//! * `scorekit_remote_stats()` → STRING: a JSON array (empty without feature `remote`), one object per model of
//!   the policy file in force — its policy, endpoint and what the host layer counted for it since
//!   the file was read (`scorekit_host::policy::PolicyReport`), for this server process.

use scorekit_host::HostResult;
use serde_json::json;
use udf::prelude::*;

use super::explain::MAX_JSON;
use super::{bind, check_count, init_done, run, Bound, Failed};

use crate::plugin;
use crate::server;

/// What a function of no arguments answering a JSON document computed at each call keeps
/// (`scorekit_models()`, `scorekit_remote_stats()`).
#[derive(Debug, Default)]
struct Document {
    out: String,
    failed: Failed,
}

impl Document {
    /// Checks the call's form (`form`, no arguments) and the plugin; the answer is a nullable
    /// JSON string.
    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>, form: &str) -> Result<Self, String> {
        init_done((|| {
            check_count(args, form, 0..=0)?;
            run(|| plugin::get().map(|_| ()))?;
            cfg.set_maybe_null(true);
            cfg.set_max_len(MAX_JSON);
            Ok(Document::default())
        })())
    }

    /// Answers what `document` computes, or raises its error (NULL with the error).
    fn answer(
        &mut self,
        document: impl FnOnce() -> HostResult<String>,
    ) -> Result<Option<&str>, ProcessError> {
        match run(document) {
            Ok(s) => {
                self.out = s;
                Ok(Some(self.out.as_str()))
            }
            Err(e) => Err(self.failed.fail("", &e)),
        }
    }
}

/// `scorekit_models()`.
#[derive(Debug)]
pub struct ScorekitModels(Document);

#[register]
impl BasicUdf for ScorekitModels {
    type Returns<'a> = Option<&'a str>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        Document::init(cfg, args, "scorekit_models()").map(ScorekitModels)
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        _args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        self.0.answer(|| plugin::get()?.models.list_json())
    }
}

/// `scorekit_schema(model)`.
#[derive(Debug)]
pub struct ScorekitSchema {
    out: String,
}

/// The schema document of a bound model.
pub fn schema_json(b: &Bound) -> String {
    let info = b.loaded.scorer.info();
    json!({
        "name": b.loaded.name,
        "file": b.loaded.file.file_name().map(|f| f.to_string_lossy().into_owned()),
        "version": b.loaded.version,
        "sha256": info.sha256,
        "size": info.size,
        "description": info.description,
    })
    .to_string()
}

#[register]
impl BasicUdf for ScorekitSchema {
    type Returns<'a> = Option<&'a str>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        init_done((|| {
            check_count(args, "scorekit_schema(model)", 1..=1)?;
            let (bound, _) = bind(args, 0)?;
            cfg.set_maybe_null(true);
            cfg.set_max_len(MAX_JSON);
            Ok(ScorekitSchema { out: schema_json(&bound) })
        })())
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        _args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        Ok(Some(self.out.as_str()))
    }
}

/// `scorekit_version()`.
#[derive(Debug)]
pub struct ScorekitVersion {
    out: String,
}

#[register]
impl BasicUdf for ScorekitVersion {
    type Returns<'a> = Option<&'a str>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        init_done(check_count(args, "scorekit_version()", 0..=0))?;
        cfg.set_max_len(1024);
        let out = json!({
            "version": env!("CARGO_PKG_VERSION"),
            "library": server::pin_library(),
            "server": if server::is_mariadb() { "MariaDB" } else { "MySQL" },
            "kill_query": server::can_check_kill(),
            "statement_errors": server::can_raise(),
        })
        .to_string();
        Ok(ScorekitVersion { out })
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        _args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        Ok(Some(self.out.as_str()))
    }
}

/// `scorekit_remote_stats()` (an empty array without feature `remote`).
#[derive(Debug)]
pub struct ScorekitRemoteStats(Document);

#[register]
impl BasicUdf for ScorekitRemoteStats {
    type Returns<'a> = Option<&'a str>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        Document::init(cfg, args, "scorekit_remote_stats()").map(ScorekitRemoteStats)
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        _args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        self.0.answer(|| {
            let _plugin = plugin::get()?;
            #[cfg(feature = "remote")]
            let rows: Vec<serde_json::Value> = _plugin
                .policies
                .current()?
                .map(|p| p.report().iter().map(|r| r.json()).collect())
                .unwrap_or_default();
            #[cfg(not(feature = "remote"))]
            let rows: Vec<serde_json::Value> = Vec::new();
            Ok(serde_json::Value::Array(rows).to_string())
        })
    }
}
