//! Prometheus text exposition, hand-rolled: a few atomic counters per (model, endpoint) and one
//! latency histogram per model. Lock-free on the request path once a model's series exist (a
//! read lock on a small map), so counting costs nanoseconds at tens of thousands of requests/s.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const BUCKETS: [f64; 16] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// What a request did, for the `endpoint` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    /// SageMaker `invocations`.
    Invocations,
    /// Native score.
    Score,
    /// Native explain.
    Explain,
    /// Native forecast.
    Forecast,
    /// RCF stream step.
    Stream,
    /// SageMaker `invocations-response-stream`.
    InvocationsStream,
}

impl Endpoint {
    const ALL: [Endpoint; 6] = [
        Endpoint::Invocations,
        Endpoint::Score,
        Endpoint::Explain,
        Endpoint::Forecast,
        Endpoint::Stream,
        Endpoint::InvocationsStream,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Endpoint::Invocations => "invocations",
            Endpoint::Score => "score",
            Endpoint::Explain => "explain",
            Endpoint::Forecast => "forecast",
            Endpoint::Stream => "stream",
            Endpoint::InvocationsStream => "invocations_stream",
        }
    }
}

const CLASSES: [&str; 3] = ["2xx", "4xx", "5xx"];

#[derive(Default)]
struct ModelSeries {
    /// [endpoint][status class]
    requests: [[AtomicU64; 3]; 6],
    rows: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// All counters of one server.
#[derive(Default)]
pub struct Metrics {
    models: RwLock<BTreeMap<String, Arc<ModelSeries>>>,
    /// Requests refused by the concurrency limit (503).
    pub shed: AtomicU64,
    /// Requests refused before a model was resolved (bad route, unknown model, bad body).
    pub unrouted_errors: AtomicU64,
    /// Successful model (re)loads.
    pub reloads: AtomicU64,
    /// Failed model loads (the previous version kept serving).
    pub reload_failures: AtomicU64,
    /// Stream states written to disk.
    pub state_saves: AtomicU64,
    /// Failed stream state writes.
    pub state_save_failures: AtomicU64,
}

impl Metrics {
    fn series(&self, model: &str) -> Arc<ModelSeries> {
        if let Some(s) = self.models.read().unwrap_or_else(|e| e.into_inner()).get(model) {
            return s.clone();
        }
        self.models.write().unwrap_or_else(|e| e.into_inner()).entry(model.to_string()).or_default().clone()
    }

    /// Records one request against `model`.
    pub fn record(&self, model: &str, endpoint: Endpoint, status: u16, rows: usize, elapsed: Duration) {
        let s = self.series(model);
        let class = match status {
            200..=399 => 0,
            400..=499 => 1,
            _ => 2,
        };
        s.requests[endpoint as usize][class].fetch_add(1, Relaxed);
        if class == 0 {
            s.rows.fetch_add(rows as u64, Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            s.buckets[i].fetch_add(1, Relaxed);
        }
        s.count.fetch_add(1, Relaxed);
        s.sum_micros.fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    /// The text exposition. `gauges` are (name, help, value) sampled by the caller; `scorers`
    /// are what each model's scorer counts about itself (policies: local and remote calls,
    /// fallbacks, the circuit breaker, shadow agreement), written as `scorekit_<name>{model,…}`.
    pub fn render(
        &self,
        gauges: &[(&str, &str, f64)],
        scorers: &[(String, Vec<scorekit_host::Stat>)],
    ) -> String {
        let mut o = String::with_capacity(4096);
        let models = self.models.read().unwrap_or_else(|e| e.into_inner()).clone();
        o.push_str("# HELP scorekit_requests_total Scoring requests by model, endpoint and status class.\n");
        o.push_str("# TYPE scorekit_requests_total counter\n");
        for (m, s) in &models {
            for e in Endpoint::ALL {
                for (c, class) in CLASSES.iter().enumerate() {
                    let v = s.requests[e as usize][c].load(Relaxed);
                    if v > 0 {
                        let _ = writeln!(
                            o,
                            "scorekit_requests_total{{model=\"{}\",endpoint=\"{}\",status=\"{class}\"}} {v}",
                            esc(m),
                            e.as_str()
                        );
                    }
                }
            }
        }
        o.push_str("# HELP scorekit_errors_total Failed scoring requests (4xx and 5xx) by model.\n");
        o.push_str("# TYPE scorekit_errors_total counter\n");
        for (m, s) in &models {
            let v: u64 = s.requests.iter().map(|e| e[1].load(Relaxed) + e[2].load(Relaxed)).sum();
            let _ = writeln!(o, "scorekit_errors_total{{model=\"{}\"}} {v}", esc(m));
        }
        o.push_str(
            "# HELP scorekit_rows_scored_total Rows (or series, or stream readings) answered by model.\n",
        );
        o.push_str("# TYPE scorekit_rows_scored_total counter\n");
        for (m, s) in &models {
            let _ =
                writeln!(o, "scorekit_rows_scored_total{{model=\"{}\"}} {}", esc(m), s.rows.load(Relaxed));
        }
        o.push_str("# HELP scorekit_request_duration_seconds Request latency inside the server by model.\n");
        o.push_str("# TYPE scorekit_request_duration_seconds histogram\n");
        for (m, s) in &models {
            let mut cum = 0;
            for (i, b) in BUCKETS.iter().enumerate() {
                cum += s.buckets[i].load(Relaxed);
                let _ = writeln!(
                    o,
                    "scorekit_request_duration_seconds_bucket{{model=\"{}\",le=\"{b}\"}} {cum}",
                    esc(m)
                );
            }
            let count = s.count.load(Relaxed);
            let _ = writeln!(
                o,
                "scorekit_request_duration_seconds_bucket{{model=\"{}\",le=\"+Inf\"}} {count}",
                esc(m)
            );
            let sum = s.sum_micros.load(Relaxed) as f64 / 1e6;
            let _ = writeln!(o, "scorekit_request_duration_seconds_sum{{model=\"{}\"}} {sum}", esc(m));
            let _ = writeln!(o, "scorekit_request_duration_seconds_count{{model=\"{}\"}} {count}", esc(m));
        }
        let counters = [
            ("scorekit_shed_total", "Requests refused with 503 by the concurrency limit.", &self.shed),
            (
                "scorekit_unrouted_errors_total",
                "Errors before a model was resolved (unknown model, bad route).",
                &self.unrouted_errors,
            ),
            (
                "scorekit_model_loads_total",
                "Model versions loaded (start, file change, admin PUT).",
                &self.reloads,
            ),
            (
                "scorekit_model_load_failures_total",
                "Model files that failed to load; the previous version kept serving.",
                &self.reload_failures,
            ),
            ("scorekit_stream_state_saves_total", "RCF stream states written to disk.", &self.state_saves),
            (
                "scorekit_stream_state_save_failures_total",
                "RCF stream state writes that failed.",
                &self.state_save_failures,
            ),
        ];
        for (name, help, c) in counters {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", c.load(Relaxed));
        }
        for (name, help, v) in gauges {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        render_stats(&mut o, scorers);
        o
    }
}

/// Writes the scorers' own numbers, each metric's HELP and TYPE once, one line per model and
/// label set.
fn render_stats(o: &mut String, scorers: &[(String, Vec<scorekit_host::Stat>)]) {
    let mut names: Vec<&'static str> = Vec::new();
    for (_, stats) in scorers {
        for s in stats {
            if !names.contains(&s.name) {
                names.push(s.name);
            }
        }
    }
    for name in names {
        let mut header = false;
        for (model, stats) in scorers {
            for s in stats.iter().filter(|s| s.name == name) {
                if !header {
                    let kind = match s.kind {
                        scorekit_host::StatKind::Counter => "counter",
                        scorekit_host::StatKind::Gauge => "gauge",
                    };
                    let _ = writeln!(o, "# HELP scorekit_{name} {}\n# TYPE scorekit_{name} {kind}", s.help);
                    header = true;
                }
                let mut labels = format!("model=\"{}\"", esc(model));
                for (k, v) in &s.labels {
                    let _ = write!(labels, ",{k}=\"{}\"", esc(v));
                }
                let _ = writeln!(o, "scorekit_{name}{{{labels}}} {}", s.value);
            }
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_rows_of_successes_only() {
        let m = Metrics::default();
        m.record("churn", Endpoint::Invocations, 200, 3, Duration::from_micros(200));
        m.record("churn", Endpoint::Invocations, 200, 2, Duration::from_millis(3));
        m.record("churn", Endpoint::Score, 400, 9, Duration::from_micros(50));
        let stats = vec![scorekit_host::Stat {
            name: "policy_fallbacks_total",
            help: "Fallbacks.",
            kind: scorekit_host::StatKind::Counter,
            labels: vec![("reason", "deadline".into())],
            value: 2.0,
        }];
        let t = m.render(&[("scorekit_models", "Models.", 1.0)], &[("churn".into(), stats)]);
        assert!(t.contains("# TYPE scorekit_policy_fallbacks_total counter\n"), "{t}");
        assert!(
            t.contains("scorekit_policy_fallbacks_total{model=\"churn\",reason=\"deadline\"} 2\n"),
            "{t}"
        );
        assert!(t.contains(
            "scorekit_requests_total{model=\"churn\",endpoint=\"invocations\",status=\"2xx\"} 2\n"
        ));
        assert!(t.contains("scorekit_requests_total{model=\"churn\",endpoint=\"score\",status=\"4xx\"} 1\n"));
        assert!(t.contains("scorekit_rows_scored_total{model=\"churn\"} 5\n"));
        assert!(t.contains("scorekit_errors_total{model=\"churn\"} 1\n"));
        assert!(t.contains("le=\"0.0001\"} 1\n"), "{t}");
        assert!(t.contains("le=\"0.00025\"} 2\n"));
        assert!(t.contains("le=\"0.005\"} 3\n"));
        assert!(t.contains("le=\"+Inf\"} 3\n"));
        assert!(t.contains("scorekit_models 1\n"));
    }
}
