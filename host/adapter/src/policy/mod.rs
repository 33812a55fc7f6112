//! Which of a model's backends answers (feature `remote`): its local module, its remote
//! SageMaker endpoint, or both. A [`PolicyScorer`] is one [`Scorer`] composed of the two, so
//! every host gets fallback and shadow scoring without code of its own; the per-model policies
//! come from one TOML file ([`config`], [`Policies`]).
//!
//! | policy | answers | the other backend |
//! |---|---|---|
//! | `local` (default) | the local module | — |
//! | `remote` | the endpoint | — (explain and streams are refused: an endpoint cannot do them) |
//! | `local-then-remote` | the local module; the endpoint when the module is missing, fails (trap, malformed answer, memory) or misses its deadline | counted as a fallback, by reason |
//! | `shadow` | the local module | the endpoint is called in the background with the same rows; agreement is counted |
//!
//! A bad input is never retried remotely (the endpoint would refuse it the same way), and a
//! fallback that fails too says what both backends answered: every row gets a local score, a
//! remote score or a clear error. Explanations and RCF streams are always local.

pub mod config;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use scorekit_abi::{ForecastOutput, ForecastQuery, Rows};

pub use config::Policies;

use crate::error::{Code, HostError, HostResult, Kind};
use crate::history::History;
use crate::remote::RemoteScorer;
use crate::scorer::{ModelInfo, Scorer, SharedScorer, Stat, StatKind, StreamScorer};

/// Which backend answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// The local module only.
    #[default]
    Local,
    /// The remote endpoint only.
    Remote,
    /// The local module; the endpoint when the module is missing, fails or misses its deadline.
    LocalThenRemote,
    /// The local module; the endpoint in the background, for comparison.
    Shadow,
}

impl Policy {
    /// Parses `local`, `remote`, `local-then-remote`, `shadow`.
    ///
    /// # Errors
    /// A message listing the accepted words.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(Policy::Local),
            "remote" => Ok(Policy::Remote),
            "local-then-remote" | "local_then_remote" => Ok(Policy::LocalThenRemote),
            "shadow" => Ok(Policy::Shadow),
            other => Err(format!("policy '{other}' is not one of: local, remote, local-then-remote, shadow")),
        }
    }

    /// The policy's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Local => "local",
            Policy::Remote => "remote",
            Policy::LocalThenRemote => "local-then-remote",
            Policy::Shadow => "shadow",
        }
    }

    /// Whether the policy can answer without a local module.
    pub fn answers_remotely(self) -> bool {
        matches!(self, Policy::Remote | Policy::LocalThenRemote)
    }
}

/// Why a call went to the endpoint under `local-then-remote`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    Missing,
    Failed,
    Deadline,
}

/// What a model's policy counts; kept per model across reloads of its module.
#[derive(Debug, Default)]
pub struct PolicyCounters {
    local_calls: AtomicU64,
    local_failures: AtomicU64,
    remote_calls: AtomicU64,
    remote_failures: AtomicU64,
    fallbacks: [AtomicU64; 3],
    shadow_calls: AtomicU64,
    shadow_agreed: AtomicU64,
    shadow_disagreed: AtomicU64,
    shadow_rows_disagreed: AtomicU64,
    shadow_errors: AtomicU64,
    shadow_skipped: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl PolicyCounters {
    /// Fallbacks to the endpoint (any reason).
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Shadow comparisons finished so far: (agreed, disagreed, errors, skipped).
    pub fn shadow(&self) -> (u64, u64, u64, u64) {
        (
            self.shadow_agreed.load(Ordering::Relaxed),
            self.shadow_disagreed.load(Ordering::Relaxed),
            self.shadow_errors.load(Ordering::Relaxed),
            self.shadow_skipped.load(Ordering::Relaxed),
        )
    }

    /// Calls answered by (local, remote).
    pub fn calls(&self) -> (u64, u64) {
        (self.local_calls.load(Ordering::Relaxed), self.remote_calls.load(Ordering::Relaxed))
    }

    fn stats(&self) -> Vec<Stat> {
        let c = |name, help, v: &AtomicU64| Stat {
            name,
            help,
            kind: StatKind::Counter,
            labels: vec![],
            value: v.load(Ordering::Relaxed) as f64,
        };
        let mut out = vec![
            c("policy_local_calls_total", "Calls the local module answered or tried.", &self.local_calls),
            c("policy_local_failures_total", "Local calls that failed.", &self.local_failures),
            c(
                "policy_remote_calls_total",
                "Calls sent to the remote endpoint (not counting shadow calls).",
                &self.remote_calls,
            ),
            c("policy_remote_failures_total", "Remote calls that failed.", &self.remote_failures),
        ];
        for (i, reason) in ["missing", "failed", "deadline"].iter().enumerate() {
            out.push(Stat {
                name: "policy_fallbacks_total",
                help: "Calls the remote endpoint answered because the local module was missing, failed or missed its deadline.",
                kind: StatKind::Counter,
                labels: vec![("reason", (*reason).to_string())],
                value: self.fallbacks[i].load(Ordering::Relaxed) as f64,
            });
        }
        out.extend([
            c(
                "policy_shadow_calls_total",
                "Background calls to the remote endpoint for comparison.",
                &self.shadow_calls,
            ),
            c(
                "policy_shadow_agreed_total",
                "Shadow calls whose answer agreed with the local one.",
                &self.shadow_agreed,
            ),
            c(
                "policy_shadow_disagreed_total",
                "Shadow calls whose answer differed from the local one.",
                &self.shadow_disagreed,
            ),
            c(
                "policy_shadow_rows_disagreed_total",
                "Rows (or forecast steps) whose shadow answer differed.",
                &self.shadow_rows_disagreed,
            ),
            c("policy_shadow_errors_total", "Shadow calls that failed.", &self.shadow_errors),
            c(
                "policy_shadow_skipped_total",
                "Shadow calls not made because too many were in flight.",
                &self.shadow_skipped,
            ),
        ]);
        out
    }
}

/// One model's policy and what it has counted since its policy file was read
/// ([`Policies::report`]): the numbers behind [`Scorer::stats`], for hosts that show them as
/// rows (the SQL plugins) rather than as metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyReport {
    /// The model's name (its section in the policy file).
    pub model: String,
    /// Its policy.
    pub policy: Policy,
    /// The SageMaker endpoint name (None under `local`).
    pub endpoint: Option<String>,
    /// Calls the local module answered or tried.
    pub local_calls: u64,
    /// Local calls that failed.
    pub local_failures: u64,
    /// Calls sent to the endpoint (not counting shadow calls).
    pub remote_calls: u64,
    /// Remote calls that failed.
    pub remote_failures: u64,
    /// Requests sent to the endpoint, every outcome and retry included (shadow calls too).
    pub remote_requests: u64,
    /// Calls the endpoint answered because the local module was missing, failed or was late.
    pub fallbacks: u64,
    /// The endpoint's circuit breaker (None under `local`).
    pub breaker: Option<crate::remote::BreakerState>,
    /// Shadow calls started in the background.
    pub shadow_calls: u64,
    /// Finished shadow calls that agreed with the local answer.
    pub shadow_agreed: u64,
    /// Finished shadow calls that disagreed.
    pub shadow_disagreed: u64,
    /// Rows (or forecast steps) whose shadow answer differed.
    pub shadow_rows_disagreed: u64,
    /// Shadow calls that failed.
    pub shadow_errors: u64,
    /// Shadow calls not made because too many were in flight.
    pub shadow_skipped: u64,
}

impl PolicyReport {
    /// The report as one JSON object, keyed by the field names (`breaker`: `closed`,
    /// `half-open`, `open` or null), as the SQL plugins show it.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "model": self.model,
            "policy": self.policy.as_str(),
            "endpoint": self.endpoint,
            "local_calls": self.local_calls,
            "local_failures": self.local_failures,
            "remote_calls": self.remote_calls,
            "remote_failures": self.remote_failures,
            "remote_requests": self.remote_requests,
            "fallbacks": self.fallbacks,
            "breaker": self.breaker.map(|b| b.as_str()),
            "shadow_calls": self.shadow_calls,
            "shadow_agreed": self.shadow_agreed,
            "shadow_disagreed": self.shadow_disagreed,
            "shadow_rows_disagreed": self.shadow_rows_disagreed,
            "shadow_errors": self.shadow_errors,
            "shadow_skipped": self.shadow_skipped,
        })
    }
}

/// How shadow calls compare and how many may run at once.
#[derive(Clone, Debug)]
pub struct ShadowSettings {
    /// Two values agree when |a − b| ≤ tolerance × max(1, |a|, |b|).
    pub tolerance: f64,
    /// Shadow calls in flight at most; more are skipped (and counted), never queued.
    pub slots: Arc<tokio::sync::Semaphore>,
}

impl ShadowSettings {
    /// `max_in_flight` calls at most, agreeing within `tolerance`.
    pub fn new(tolerance: f64, max_in_flight: usize) -> Self {
        ShadowSettings { tolerance, slots: Arc::new(tokio::sync::Semaphore::new(max_in_flight.max(1))) }
    }
}

/// Rows (values in groups of `width`) that differ beyond `tolerance`; a length mismatch
/// differs in every row.
fn rows_disagreeing(local: &[f64], remote: &[f64], width: usize, tolerance: f64) -> u64 {
    let width = width.max(1);
    if local.len() != remote.len() {
        return (local.len().max(remote.len()) / width) as u64;
    }
    let differs = |a: f64, b: f64| {
        if a.is_nan() || b.is_nan() {
            return a.is_nan() != b.is_nan();
        }
        (a - b).abs() > tolerance * 1f64.max(a.abs()).max(b.abs())
    };
    local
        .chunks(width)
        .zip(remote.chunks(width))
        .filter(|(l, r)| l.iter().zip(*r).any(|(a, b)| differs(*a, *b)))
        .count() as u64
}

/// A model answered per its [`Policy`] by a local module, a remote endpoint, or both.
pub struct PolicyScorer {
    policy: Policy,
    local: Option<SharedScorer>,
    remote: Option<RemoteScorer>,
    info: ModelInfo,
    counters: Arc<PolicyCounters>,
    shadow: ShadowSettings,
}

impl std::fmt::Debug for PolicyScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyScorer")
            .field("policy", &self.policy)
            .field("sha256", &self.info.sha256)
            .finish_non_exhaustive()
    }
}

impl PolicyScorer {
    /// Composes `local` and `remote` under `policy`. The identity is the local module's when the
    /// local module answers (every policy but `remote`), the endpoint's otherwise.
    ///
    /// # Errors
    /// [`Code::BadInput`] when the policy needs a backend it was not given.
    pub fn new(
        policy: Policy,
        local: Option<SharedScorer>,
        remote: Option<RemoteScorer>,
        counters: Arc<PolicyCounters>,
        shadow: ShadowSettings,
    ) -> HostResult<Self> {
        let need = |what: &str| HostError::bad_input(format!("policy '{}' needs {what}", policy.as_str()));
        let info = match (policy, &local, &remote) {
            (Policy::Remote, _, Some(r)) => r.info().clone(),
            (Policy::LocalThenRemote, None, Some(r)) => r.info().clone(),
            (Policy::Remote | Policy::LocalThenRemote | Policy::Shadow, _, None) => {
                return Err(need("a remote endpoint"));
            }
            (_, Some(l), _) => l.info().clone(),
            (_, None, _) => return Err(need("the local module")),
        };
        Ok(PolicyScorer { policy, local, remote, info, counters, shadow })
    }

    /// The policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The counters.
    pub fn counters(&self) -> &Arc<PolicyCounters> {
        &self.counters
    }

    fn local_call<T>(&self, f: impl FnOnce(&dyn Scorer) -> HostResult<T>) -> Option<HostResult<T>> {
        let local = self.local.as_ref()?;
        bump(&self.counters.local_calls);
        let r = f(local.as_ref());
        if r.is_err() {
            bump(&self.counters.local_failures);
        }
        Some(r)
    }

    fn remote_call<T>(&self, f: impl FnOnce(&RemoteScorer) -> HostResult<T>) -> HostResult<T> {
        let remote = self
            .remote
            .as_ref()
            .ok_or_else(|| HostError::new(Code::Unavailable, "no remote endpoint is configured"))?;
        let r = f(remote);
        // An operation SageMaker has no call for (explain, streams) is refused before anything
        // is sent: it is not a remote call.
        if matches!(&r, Err(e) if e.code == Code::Unsupported) {
            return r;
        }
        bump(&self.counters.remote_calls);
        if r.is_err() {
            bump(&self.counters.remote_failures);
        }
        r
    }

    fn missing_local(&self) -> HostError {
        HostError::new(
            Code::UnknownModel,
            format!(
                "model '{}' has no local module (its policy is '{}')",
                self.info.schema().name,
                self.policy.as_str()
            ),
        )
    }

    /// Why a failed local call goes to the endpoint (None: it does not — the input is at fault,
    /// or the caller stopped it).
    fn fallback_reason(e: &HostError) -> Option<Reason> {
        match (e.kind(), e.code) {
            (_, Code::Deadline) => Some(Reason::Deadline),
            (_, Code::MemoryLimit) | (Kind::Model | Kind::Unavailable, _) => Some(Reason::Failed),
            _ => None,
        }
    }

    /// Runs a call per the policy: `local` and `remote` are the same call on each backend;
    /// `shadow` starts the background comparison of a local answer.
    fn dispatch<T>(
        &self,
        local: impl FnOnce(&dyn Scorer) -> HostResult<T>,
        remote: impl FnOnce(&RemoteScorer) -> HostResult<T>,
        shadow: impl FnOnce(&Self, &T),
    ) -> HostResult<T> {
        match self.policy {
            Policy::Local => self.local_call(local).unwrap_or_else(|| Err(self.missing_local())),
            Policy::Remote => self.remote_call(remote),
            Policy::Shadow => {
                let r = self.local_call(local).unwrap_or_else(|| Err(self.missing_local()))?;
                shadow(self, &r);
                Ok(r)
            }
            Policy::LocalThenRemote => {
                let (reason, local_error) = match self.local_call(local) {
                    None => (Reason::Missing, None),
                    Some(Ok(v)) => return Ok(v),
                    Some(Err(e)) => match Self::fallback_reason(&e) {
                        Some(reason) => (reason, Some(e)),
                        None => return Err(e),
                    },
                };
                bump(&self.counters.fallbacks[reason as usize]);
                self.remote_call(remote).map_err(|e| match local_error {
                    Some(l) => HostError::new(
                        e.code,
                        format!("{} (after the local module failed: {})", e.message, l.message),
                    ),
                    None => e,
                })
            }
        }
    }

    fn shadow_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        match self.shadow.slots.clone().try_acquire_owned() {
            Ok(p) => {
                bump(&self.counters.shadow_calls);
                Some(p)
            }
            Err(_) => {
                bump(&self.counters.shadow_skipped);
                None
            }
        }
    }

    fn record_shadow(counters: &PolicyCounters, disagreeing: u64) {
        if disagreeing == 0 {
            bump(&counters.shadow_agreed);
        } else {
            bump(&counters.shadow_disagreed);
            counters.shadow_rows_disagreed.fetch_add(disagreeing, Ordering::Relaxed);
        }
    }

    fn shadow_score(&self, rows: &Rows, local: &[f64]) {
        let (Some(remote), Some(permit)) = (self.remote.as_ref(), self.shadow_slot()) else { return };
        let call = remote.score_owned(rows.clone());
        let (counters, local, tol) = (self.counters.clone(), local.to_vec(), self.shadow.tolerance);
        let width = crate::names::score_outputs(self.info.schema()).len();
        crate::remote::runtime::runtime().spawn(async move {
            let _permit = permit;
            match call.await {
                Ok(r) => Self::record_shadow(&counters, rows_disagreeing(&local, &r, width, tol)),
                Err(_) => bump(&counters.shadow_errors),
            }
        });
    }

    fn shadow_forecast(&self, history: &History, query: &ForecastQuery, local: &ForecastOutput) {
        let (Some(remote), Some(permit)) = (self.remote.as_ref(), self.shadow_slot()) else { return };
        let call = remote.forecast_owned(history.clone(), query.clone());
        let (counters, local, tol) = (self.counters.clone(), local.clone(), self.shadow.tolerance);
        crate::remote::runtime::runtime().spawn(async move {
            let _permit = permit;
            match call.await {
                Ok(r) => {
                    // Steps where the mean or any quantile differs (samples are random draws).
                    let flat = |f: &ForecastOutput| {
                        let mut v = f.mean.clone();
                        for (_, q) in &f.quantiles {
                            v.extend_from_slice(q);
                        }
                        v
                    };
                    let differing =
                        rows_disagreeing(&flat(&local), &flat(&r), 1, tol).min(local.mean.len() as u64);
                    Self::record_shadow(&counters, differing);
                }
                Err(_) => bump(&counters.shadow_errors),
            }
        });
    }
}

impl Scorer for PolicyScorer {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn score(&self, rows: &Rows) -> HostResult<Vec<f64>> {
        self.dispatch(|l| l.score(rows), |r| r.score(rows), |me, v| me.shadow_score(rows, v))
    }

    fn csv_answer(&self, rows: &Rows) -> HostResult<String> {
        if self.policy == Policy::Shadow {
            // The comparison needs the local numbers: score (which starts it), then write them.
            let values = self.score(rows)?;
            let width = crate::names::score_outputs(self.info.schema()).len();
            return Ok(crate::formats::csv::write_answer(&values, self.info.family(), width));
        }
        self.dispatch(|l| l.csv_answer(rows), |r| r.csv_answer(rows), |_, _| {})
    }

    fn csv_answers(&self, rows: &Rows) -> HostResult<Vec<String>> {
        if self.policy == Policy::Shadow {
            // As csv_answer: the local numbers are the answer and the comparison's input.
            let values = self.score(rows)?;
            let width = crate::names::score_outputs(self.info.schema()).len().max(1);
            let family = self.info.family();
            return Ok(values
                .chunks(width)
                .map(|r| crate::formats::csv::write_answer(r, family, width))
                .collect());
        }
        self.dispatch(|l| l.csv_answers(rows), |r| r.csv_answers(rows), |_, _| {})
    }

    fn explain(&self, rows: &Rows) -> HostResult<Vec<f64>> {
        match self.policy {
            Policy::Remote => self.remote_call(|r| r.explain(rows)),
            _ => match self.local_call(|l| l.explain(rows)) {
                Some(r) => r,
                None => self.remote_call(|r| r.explain(rows)),
            },
        }
    }

    fn forecast(&self, history: &History, query: &ForecastQuery) -> HostResult<ForecastOutput> {
        self.dispatch(
            |l| l.forecast(history, query),
            |r| r.forecast(history, query),
            |me, f| me.shadow_forecast(history, query, f),
        )
    }

    fn open_stream(&self) -> HostResult<Box<dyn StreamScorer>> {
        match (self.policy, &self.local) {
            (Policy::Remote, _) | (_, None) => self.remote_call(|r| r.open_stream()),
            (_, Some(l)) => l.open_stream(),
        }
    }

    fn waits_on_network(&self) -> bool {
        // Shadow calls run in the background: the caller never waits for them.
        matches!(self.policy, Policy::Remote | Policy::LocalThenRemote)
    }

    fn stats(&self) -> Vec<Stat> {
        let mut out = self.counters.stats();
        if let Some(r) = &self.remote {
            out.extend(r.stats());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_words_and_disagreement() {
        assert_eq!(Policy::parse("Local-Then-Remote").unwrap(), Policy::LocalThenRemote);
        assert!(Policy::parse("fallback").unwrap_err().contains("local, remote, local-then-remote, shadow"));
        assert_eq!(rows_disagreeing(&[0.1, 0.2], &[0.1, 0.2], 1, 0.0), 0);
        assert_eq!(rows_disagreeing(&[0.1, 0.2], &[0.1, 0.2 + 1e-12], 1, 1e-9), 0);
        assert_eq!(rows_disagreeing(&[0.1, 0.2], &[0.1, 0.3], 1, 1e-9), 1);
        assert_eq!(rows_disagreeing(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.5, 3.0, 4.0], 2, 1e-9), 1);
        assert_eq!(rows_disagreeing(&[0.1], &[0.1, 0.2], 1, 0.0), 2);
        assert_eq!(rows_disagreeing(&[f64::NAN], &[f64::NAN], 1, 0.0), 0);
    }
}
