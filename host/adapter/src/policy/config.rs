//! The policy file: one TOML file, read by `host serve`, `host score` and the SQL plugins, that
//! says for each model which backend answers and how its endpoint is reached.
//!
//! ```toml
//! [defaults]                      # for every [models.NAME] below (each may override any key)
//! region = "eu-west-1"
//! timeout_ms = 3000
//!
//! [models.churn]
//! policy = "local-then-remote"    # local (default) | remote | local-then-remote | shadow
//! endpoint = "churn-prod"         # the SageMaker endpoint name (default: the model's name)
//! description = "churn.json"      # the model's description, for when no local module is present
//! ```
//!
//! Keys: `policy`, `endpoint`, `description` (a module `.wasm`, with feature `wasmtime`, or the
//! description JSON that `host inspect --json` prints; relative to the file), `region`,
//! `endpoint_url`, `profile`, `content_type`, `accept`, `timeout_ms` (default 3000, at most
//! 60000), `connect_timeout_ms` (1000), `retries` (2), `backoff_ms` (50), `max_backoff_ms`
//! (1000), `breaker_failures` (5; 0 never opens), `breaker_open_ms` (30000),
//! `max_rows_per_request` (10000), `max_request_bytes` (6 MiB), `response_stream` (false),
//! `custom_attributes`, `target_variant`, `target_model`, `shadow_tolerance` (1e-6),
//! `max_shadow_in_flight` (64). An unknown key, policy or format is refused, naming it. A model
//! without a section is `local`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use scorekit_abi::Description;
use serde::Deserialize;

use super::{Policy, PolicyCounters, PolicyScorer, ShadowSettings};
use crate::error::{Code, HostError, HostResult};
use crate::remote::runtime::{self, Interrupt};
use crate::remote::{BreakerConfig, Endpoint, EndpointConfig, RemoteScorer, SharedEndpoint, WireFormat};
use crate::scorer::{Backends, SharedScorer};

/// One section: `[defaults]` or `[models.NAME]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    policy: Option<String>,
    endpoint: Option<String>,
    description: Option<PathBuf>,
    region: Option<String>,
    endpoint_url: Option<String>,
    profile: Option<String>,
    content_type: Option<String>,
    accept: Option<String>,
    timeout_ms: Option<u64>,
    connect_timeout_ms: Option<u64>,
    retries: Option<u32>,
    backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    breaker_failures: Option<u32>,
    breaker_open_ms: Option<u64>,
    max_rows_per_request: Option<usize>,
    max_request_bytes: Option<usize>,
    response_stream: Option<bool>,
    custom_attributes: Option<String>,
    target_variant: Option<String>,
    target_model: Option<String>,
    shadow_tolerance: Option<f64>,
    max_shadow_in_flight: Option<usize>,
}

macro_rules! overlay {
    ($model:expr, $defaults:expr, $($field:ident),*) => {
        Section { $($field: $model.$field.clone().or_else(|| $defaults.$field.clone())),* }
    };
}

impl Section {
    fn over(&self, d: &Section) -> Section {
        overlay!(
            self,
            d,
            policy,
            endpoint,
            description,
            region,
            endpoint_url,
            profile,
            content_type,
            accept,
            timeout_ms,
            connect_timeout_ms,
            retries,
            backoff_ms,
            max_backoff_ms,
            breaker_failures,
            breaker_open_ms,
            max_rows_per_request,
            max_request_bytes,
            response_stream,
            custom_attributes,
            target_variant,
            target_model,
            shadow_tolerance,
            max_shadow_in_flight
        )
    }

    fn endpoint_config(&self, model: &str) -> Result<EndpointConfig, String> {
        let mut c = EndpointConfig::new(self.endpoint.clone().unwrap_or_else(|| model.to_string()));
        let format = |key: &str, v: &Option<String>| -> Result<Option<WireFormat>, String> {
            v.as_deref()
                .map(|s| {
                    WireFormat::parse(s).ok_or_else(|| {
                        format!(
                            "{key} '{s}' is not one of: text/csv, application/json, application/jsonlines"
                        )
                    })
                })
                .transpose()
        };
        c.region.clone_from(&self.region);
        c.endpoint_url.clone_from(&self.endpoint_url);
        c.profile.clone_from(&self.profile);
        c.content_type = format("content_type", &self.content_type)?;
        c.accept = format("accept", &self.accept)?;
        let ms = Duration::from_millis;
        if let Some(v) = self.timeout_ms {
            c.timeout = ms(v);
        }
        if let Some(v) = self.connect_timeout_ms {
            c.connect_timeout = ms(v);
        }
        if let Some(v) = self.retries {
            c.retries = v;
        }
        if let Some(v) = self.backoff_ms {
            c.backoff = ms(v);
        }
        if let Some(v) = self.max_backoff_ms {
            c.max_backoff = ms(v);
        }
        c.breaker = BreakerConfig {
            failures: self.breaker_failures.unwrap_or(c.breaker.failures),
            open_for: self.breaker_open_ms.map_or(c.breaker.open_for, ms),
        };
        if let Some(v) = self.max_rows_per_request {
            c.max_rows_per_request = v;
        }
        if let Some(v) = self.max_request_bytes {
            c.max_request_bytes = v;
        }
        c.response_stream = self.response_stream.unwrap_or(false);
        c.custom_attributes.clone_from(&self.custom_attributes);
        c.target_variant.clone_from(&self.target_variant);
        c.target_model.clone_from(&self.target_model);
        c.check()?;
        Ok(c)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    defaults: Section,
    #[serde(default)]
    models: BTreeMap<String, Section>,
}

/// One model's policy, endpoint and counters (kept across reloads of its module).
struct ModelEntry {
    policy: Policy,
    endpoint: Option<SharedEndpoint>,
    description: Option<Description>,
    shadow: ShadowSettings,
    counters: Arc<PolicyCounters>,
}

/// Every model's policy, as the policy file says; the [`Backends`] a host serves through.
pub struct Policies {
    source: PathBuf,
    models: BTreeMap<String, ModelEntry>,
    interrupt: Option<Interrupt>,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies").field("source", &self.source).field("models", &self.models.keys()).finish()
    }
}

/// Reads a model description: a module (feature `wasmtime`) or description JSON.
fn read_description(path: &Path) -> Result<Description, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        #[cfg(feature = "wasmtime")]
        {
            return scorekit_runtime::inspect(&bytes)
                .map(|i| i.description)
                .map_err(|e| format!("{}: {e}", path.display()));
        }
        #[cfg(not(feature = "wasmtime"))]
        return Err(format!(
            "{} is a module; this host reads descriptions as JSON (`host inspect --json` prints it)",
            path.display()
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a model description: {e}", path.display()))
}

impl Policies {
    /// Reads the policy file at `path`.
    ///
    /// # Errors
    /// [`Code::BadInput`] naming the file and the problem (unreadable, not TOML, an unknown key,
    /// a bad value, an unreadable description).
    pub fn load(path: &Path) -> HostResult<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            HostError::bad_input(format!("cannot read the policy file {}: {e}", path.display()))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base, path)
    }

    /// Reads a policy file's text; relative paths in it are relative to `base`, and `source`
    /// names it in messages.
    ///
    /// # Errors
    /// As [`Policies::load`].
    pub fn parse(text: &str, base: &Path, source: &Path) -> HostResult<Self> {
        let at = |m: String| HostError::new(Code::BadInput, format!("policy file {}: {m}", source.display()));
        let file: File = toml::from_str(text).map_err(|e| at(e.to_string()))?;
        if file.defaults.endpoint.is_some() || file.defaults.description.is_some() {
            return Err(at("'endpoint' and 'description' belong in a [models.NAME] section".into()));
        }
        let mut models = BTreeMap::new();
        for (name, section) in &file.models {
            let s = section.over(&file.defaults);
            let in_model = |m: String| at(format!("[models.{name}]: {m}"));
            let policy = s.policy.as_deref().map_or(Ok(Policy::Local), Policy::parse).map_err(in_model)?;
            let description = match &s.description {
                Some(p) => Some(read_description(&base.join(p)).map_err(in_model)?),
                None => None,
            };
            let endpoint = if policy == Policy::Local {
                None
            } else {
                let config = s.endpoint_config(name).map_err(in_model)?;
                Some(Arc::new(runtime::wait(async move { Ok(Endpoint::connect(config).await) }, None)?))
            };
            let tolerance = s.shadow_tolerance.unwrap_or(1e-6);
            if !(0.0..1.0).contains(&tolerance) {
                return Err(in_model(format!("shadow_tolerance {tolerance} must be in [0, 1)")));
            }
            let shadow = ShadowSettings::new(tolerance, s.max_shadow_in_flight.unwrap_or(64));
            models.insert(
                name.clone(),
                ModelEntry {
                    policy,
                    endpoint,
                    description,
                    shadow,
                    counters: Arc::new(PolicyCounters::default()),
                },
            );
        }
        Ok(Policies { source: source.to_path_buf(), models, interrupt: None })
    }

    /// The same policies, whose remote calls stop waiting when `interrupt` says so.
    #[must_use]
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = Some(interrupt);
        self
    }

    /// The policy of `name` (`local` when the file has no section for it).
    pub fn policy(&self, name: &str) -> Policy {
        self.models.get(name).map_or(Policy::Local, |m| m.policy)
    }

    /// The file the policies came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The endpoint of `name`, if its policy has one.
    pub fn endpoint(&self, name: &str) -> Option<&SharedEndpoint> {
        self.models.get(name)?.endpoint.as_ref()
    }

    /// Every model of the file (by name) with its policy and its counters as they are now. The
    /// counters are this `Policies`' own: they start at zero when the file is read, and a host
    /// that keeps one `Policies` per process (or per session) counts per process (session).
    pub fn report(&self) -> Vec<super::PolicyReport> {
        use std::sync::atomic::Ordering::Relaxed;
        self.models
            .iter()
            .map(|(name, m)| {
                let c = &m.counters;
                let (agreed, disagreed, errors, skipped) = c.shadow();
                let (local_calls, remote_calls) = c.calls();
                super::PolicyReport {
                    model: name.clone(),
                    policy: m.policy,
                    endpoint: m.endpoint.as_ref().map(|e| e.config().endpoint_name.clone()),
                    local_calls,
                    local_failures: c.local_failures.load(Relaxed),
                    remote_calls,
                    remote_failures: c.remote_failures.load(Relaxed),
                    remote_requests: m.endpoint.as_ref().map_or(0, |e| {
                        crate::remote::Outcome::ALL.iter().map(|o| e.counters().requests(*o)).sum()
                    }),
                    fallbacks: c.fallbacks(),
                    breaker: m.endpoint.as_ref().map(|e| e.breaker().state()),
                    shadow_calls: c.shadow_calls.load(Relaxed),
                    shadow_agreed: agreed,
                    shadow_disagreed: disagreed,
                    shadow_rows_disagreed: c.shadow_rows_disagreed.load(Relaxed),
                    shadow_errors: errors,
                    shadow_skipped: skipped,
                }
            })
            .collect()
    }

    /// The model a SageMaker endpoint name stands for (what an Aurora-style call names): the
    /// model of that name when the file has a section for it, else the one model whose
    /// `endpoint` it is, else the name itself (a local model of that name).
    ///
    /// # Errors
    /// [`Code::BadInput`] when several models name the same endpoint (the call is ambiguous).
    pub fn model_for_endpoint<'a>(&'a self, endpoint: &'a str) -> HostResult<&'a str> {
        if self.models.contains_key(endpoint) {
            return Ok(endpoint);
        }
        let mut named = self
            .models
            .iter()
            .filter(|(_, m)| m.endpoint.as_ref().is_some_and(|e| e.config().endpoint_name == endpoint));
        match (named.next(), named.next()) {
            (None, _) => Ok(endpoint),
            (Some((model, _)), None) => Ok(model),
            (Some((a, _)), Some((b, _))) => Err(HostError::bad_input(format!(
                "policy file {}: endpoint '{endpoint}' is the endpoint of more than one model ('{a}', '{b}'); call the model by its name",
                self.source.display()
            ))),
        }
    }
}

impl Backends for Policies {
    fn scorer(&self, name: &str, local: Option<SharedScorer>) -> HostResult<Option<SharedScorer>> {
        let Some(m) = self.models.get(name) else { return Ok(local) };
        if m.policy == Policy::Local {
            return Ok(local);
        }
        if local.is_none() && !m.policy.answers_remotely() {
            return Ok(None);
        }
        let endpoint = m.endpoint.clone().ok_or_else(|| HostError::bad_input("no endpoint configured"))?;
        let description = match (&m.description, &local) {
            (Some(d), _) => d.clone(),
            (None, Some(l)) => l.info().description.clone(),
            (None, None) => {
                return Err(HostError::new(
                    Code::UnknownModel,
                    format!(
                        "model '{name}' has no local module, and the policy file {} gives no 'description' to call its endpoint with",
                        self.source.display()
                    ),
                ));
            }
        };
        let mut remote = RemoteScorer::new(endpoint, description)?;
        if let Some(i) = &self.interrupt {
            remote = remote.with_interrupt(i.clone());
        }
        let scorer = PolicyScorer::new(m.policy, local, Some(remote), m.counters.clone(), m.shadow.clone())?;
        Ok(Some(Arc::new(scorer)))
    }

    fn remote_names(&self) -> Vec<String> {
        self.models.iter().filter(|(_, m)| m.policy.answers_remotely()).map(|(n, _)| n.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> HostResult<Policies> {
        Policies::parse(text, Path::new("."), Path::new("p.toml"))
    }

    #[test]
    fn sections_merge_and_bad_keys_are_named() {
        let p = parse(
            "[defaults]\nregion = \"eu-west-1\"\ntimeout_ms = 2000\n[models.churn]\npolicy = \"remote\"\nendpoint = \"churn-prod\"\ntimeout_ms = 500\n[models.anomaly]\n",
        )
        .unwrap();
        assert_eq!(p.policy("churn"), Policy::Remote);
        assert_eq!(p.policy("anomaly"), Policy::Local);
        assert_eq!(p.policy("other"), Policy::Local);
        let c = p.endpoint("churn").unwrap().config();
        assert_eq!((c.endpoint_name.as_str(), c.region.as_deref()), ("churn-prod", Some("eu-west-1")));
        assert_eq!(c.timeout, Duration::from_millis(500));
        assert_eq!(p.remote_names(), ["churn"]);
        let report = p.report();
        assert_eq!(report.len(), 2);
        assert_eq!(
            (report[0].model.as_str(), report[0].policy, report[0].endpoint.as_deref()),
            ("anomaly", Policy::Local, None)
        );
        assert_eq!(report[0].breaker, None);
        let r = &report[1];
        assert_eq!(
            (r.model.as_str(), r.policy, r.endpoint.as_deref()),
            ("churn", Policy::Remote, Some("churn-prod"))
        );
        assert_eq!(r.breaker, Some(crate::remote::BreakerState::Closed));
        assert_eq!(
            (r.local_calls, r.remote_calls, r.remote_requests, r.fallbacks, r.shadow_calls),
            (0, 0, 0, 0, 0)
        );
        let j = r.json();
        assert_eq!(
            (j["policy"].as_str(), j["breaker"].as_str(), j["fallbacks"].as_u64()),
            (Some("remote"), Some("closed"), Some(0))
        );
        assert!(report[0].json()["breaker"].is_null());
        assert_eq!(p.model_for_endpoint("churn-prod").unwrap(), "churn");
        assert_eq!(p.model_for_endpoint("anomaly").unwrap(), "anomaly");
        assert_eq!(p.model_for_endpoint("elsewhere").unwrap(), "elsewhere");
        let two = parse("[models.a]\npolicy = \"remote\"\nendpoint = \"e\"\n[models.b]\npolicy = \"remote\"\nendpoint = \"e\"\n")
            .unwrap();
        let e = two.model_for_endpoint("e").unwrap_err();
        assert!(e.message.contains("more than one model ('a', 'b')"), "{}", e.message);
        let e = parse("[models.churn]\npolcy = \"remote\"\n").unwrap_err();
        assert!(e.message.contains("unknown field `polcy`"), "{}", e.message);
        let e = parse("[models.churn]\npolicy = \"fallback\"\n").unwrap_err();
        assert!(e.message.contains("[models.churn]: policy 'fallback'"), "{}", e.message);
        let e = parse("[models.churn]\npolicy = \"remote\"\ntimeout_ms = 90000\n").unwrap_err();
        assert!(e.message.contains("SageMaker's limit"), "{}", e.message);
        let e = parse("[models.churn]\npolicy = \"remote\"\naccept = \"image/png\"\n").unwrap_err();
        assert!(e.message.contains("accept 'image/png'"), "{}", e.message);
        let e = parse("[defaults]\nendpoint = \"x\"\n").unwrap_err();
        assert!(e.message.contains("belong in a [models.NAME]"), "{}", e.message);
        // A remote-only model without a description cannot be served, and says why.
        let e = p.scorer("churn", None).err().expect("no description, no scorer");
        assert!(e.message.contains("no 'description'"), "{}", e.message);
        assert!(p.scorer("anomaly", None).unwrap().is_none());
    }
}
