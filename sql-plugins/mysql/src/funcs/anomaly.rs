//! Anomaly streams (RCF models), state per (model name, stream key) in the plugin's one stream
//! book ([`crate::streams`]): each reading is scored, then learned, and logged before the answer
//! returns.
//!
//! * `scorekit_anomaly(model, stream_key, input1, …, inputN)` → REAL: the reading's anomaly
//!   score. In a trigger: `SET NEW.score = scorekit_anomaly('temps', NEW.sensor, NEW.value)`.
//! * `scorekit_anomaly_json(model, stream_key, readings [, options])` → STRING: one step of many
//!   readings (a JSON document of rows, e.g. `JSON_ARRAYAGG(JSON_ARRAY(value))`), checked whole
//!   before any is learned; the answer has every reading's `score`, `grade`, `is_anomaly`,
//!   `threshold` (and `contributions` with `{"explain": true}`), the stream's `readings`, whether
//!   the step is `durable`, and the `notice` of a redeploy. Options: `null_inputs`,
//!   `absent_inputs`, `explain` (each reading explained against the state before it), `learn`
//!   (false: score against the current state without learning).
//!
//! What happened to a stream's state on the way (restored after a redeploy, restarted from a
//! retrained model with the old state archived) is a warning of the statement (MariaDB) and a
//! line in the error log. The model name of a stream is the reference without its version, so a
//! stream follows its model's alias through deploys under the redeploy policy (`on_redeploy`).

use std::sync::Arc;

use scorekit_host::formats::{fmt_f64, write_records};
use scorekit_host::streams::{StepOp, StepOutcome};
use scorekit_host::{names, Code, Family, HostError, HostResult, Rows};
use serde_json::Value as Json;
use udf::prelude::*;

use super::explain::MAX_JSON;
use super::{
    bind, check_count, check_inputs, init_done, json_rows, options, policy, positional_row, run, Bound,
    Failed, ALL_DECIMALS,
};
use crate::args::{self, Want};
use crate::error;
use crate::streams::Streams;

fn check_family(b: &Bound) -> HostResult<()> {
    let family = b.loaded.scorer.info().family();
    if family == Family::Rcf {
        return Ok(());
    }
    Err(b.error(HostError::new(
        Code::Unsupported,
        format!("is a {} model: anomaly streams need an rcf model", family.as_str()),
    )))
}

/// The stream book (opened, and the log recovered, on the call stack: recovery runs modules).
fn open(p: &'static crate::plugin::Plugin) -> HostResult<Arc<Streams>> {
    run(|| p.streams())
}

/// The stream key at argument `i` (text or an integer).
fn key(args: &ArgList<'_, Process>, i: usize) -> HostResult<String> {
    match args::value(&args.get(i).map(|a| a.value()).unwrap_or(SqlResult::String(None)), i + 1)? {
        scorekit_host::Value::Text(t) => Ok(t.to_string()),
        scorekit_host::Value::Int(n) => Ok(n.to_string()),
        _ => Err(HostError::bad_input(format!("argument {} (stream key) is NULL", i + 1))),
    }
}

fn step(b: &Bound, s: &Streams, key: &str, rows: &Rows, op: StepOp) -> HostResult<StepOutcome> {
    s.book.step(&b.loaded.scorer, &b.loaded.name, key, rows, op)
}

/// `scorekit_anomaly(model, stream_key, inputs…)`.
pub struct ScorekitAnomaly {
    bound: Bound,
    streams: Arc<Streams>,
    failed: Failed,
}

impl std::fmt::Debug for ScorekitAnomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScorekitAnomaly").field("bound", &self.bound).finish_non_exhaustive()
    }
}

#[register]
impl BasicUdf for ScorekitAnomaly {
    type Returns<'a> = Option<f64>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        init_done((|| {
            let (bound, p) = bind(args, 0)?;
            check_family(&bound)?;
            args::check(args, 1, "stream key", Want::Key)?;
            check_inputs(&bound, args, 2)?;
            let streams = open(p)?;
            cfg.set_maybe_null(true);
            cfg.set_decimals(ALL_DECIMALS);
            // Every row is a step, even with constant arguments.
            cfg.set_is_const(false);
            Ok(ScorekitAnomaly { bound, streams, failed: Failed::default() })
        })())
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        let base = self.bound.next_row();
        let (b, s) = (&self.bound, &self.streams);
        let r = run(|| {
            let key = key(args, 1)?;
            let out = step(b, s, &key, &positional_row(b, args, 2, base)?, StepOp::Learn)?;
            Ok((key, out))
        });
        match r {
            Ok((key, out)) => {
                if let Some(n) = &out.notice {
                    error::notice(&self.bound.loaded.name, &key, n);
                }
                Ok(out.steps.first().map(|s| s.score))
            }
            Err(e) => Err(self.failed.fail(&self.bound.reference, &e)),
        }
    }
}

/// `scorekit_anomaly_json(model, stream_key, readings [, options])`.
pub struct ScorekitAnomalyJson {
    bound: Bound,
    streams: Arc<Streams>,
    op: StepOp,
    terms: Vec<String>,
    out: String,
    failed: Failed,
}

impl std::fmt::Debug for ScorekitAnomalyJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScorekitAnomalyJson")
            .field("bound", &self.bound)
            .field("op", &self.op)
            .finish_non_exhaustive()
    }
}

fn flag(o: &serde_json::Map<String, Json>, k: &str, default: bool) -> HostResult<bool> {
    match o.get(k) {
        None => Ok(default),
        Some(Json::Bool(b)) => Ok(*b),
        Some(other) => Err(HostError::bad_input(format!(
            "argument 4 (options): '{k}' must be true or false, got {other}"
        ))),
    }
}

/// The answer of a step as JSON, keys in a fixed order (terms in the schema's).
fn answer(b: &Bound, key: &str, op: StepOp, terms: &[String], out: &StepOutcome) -> String {
    let string = |s: &str| Json::from(s).to_string();
    let mut o = format!(
        "{{\"model\":{},\"stream\":{},\"sha256\":{},\"readings\":{},\"durable\":{},",
        string(&b.loaded.name),
        string(key),
        string(&out.module_sha256),
        out.readings,
        out.durable
    );
    if let Some(n) = &out.notice {
        o.push_str(&format!("\"notice\":{},", string(n)));
    }
    o.push_str("\"results\":[");
    let n = if op == StepOp::ScoreOnly { out.scores.len() } else { out.steps.len() };
    for i in 0..n {
        if i > 0 {
            o.push(',');
        }
        if op == StepOp::ScoreOnly {
            o.push_str(&write_records(&out.scores[i..=i], &["score"], None));
            o.truncate(o.trim_end().len());
            continue;
        }
        let r = &out.steps[i];
        let [score, grade, is_anomaly, threshold] = names::STREAM_OUTPUTS;
        o.push_str(&format!("{{\"{score}\":"));
        fmt_f64(&mut o, r.score, "null");
        o.push_str(&format!(",\"{grade}\":"));
        fmt_f64(&mut o, r.grade, "null");
        o.push_str(&format!(",\"{is_anomaly}\":{},\"{threshold}\":", r.is_anomaly));
        fmt_f64(&mut o, r.threshold, "null");
        if op == StepOp::LearnExplained {
            let row = out.explanations.get(i * terms.len()..(i + 1) * terms.len()).unwrap_or_default();
            let keys: Vec<&str> = terms.iter().map(String::as_str).collect();
            o.push_str(",\"contributions\":");
            o.push_str(write_records(row, &keys, None).trim_end());
        }
        o.push('}');
    }
    o.push_str("]}");
    o
}

#[register]
impl BasicUdf for ScorekitAnomalyJson {
    type Returns<'a> = Option<&'a str>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        init_done((|| {
            check_count(args, "scorekit_anomaly_json(model, stream_key, readings [, options])", 3..=4)?;
            let (mut bound, p) = bind(args, 0)?;
            check_family(&bound)?;
            args::check(args, 1, "stream key", Want::Key)?;
            args::check(args, 2, "readings", Want::Text)?;
            let o = options(args, 3, &["null_inputs", "absent_inputs", "explain", "learn"])?;
            bound.policy = policy(&o, bound.policy, 3)?;
            let op = match (flag(&o, "learn", true)?, flag(&o, "explain", false)?) {
                (true, false) => StepOp::Learn,
                (true, true) => StepOp::LearnExplained,
                (false, false) => StepOp::ScoreOnly,
                (false, true) => {
                    return Err(HostError::bad_input(
                        "argument 4 (options): 'explain' explains readings as they are learned; it needs 'learn' true",
                    ))
                }
            };
            let streams = open(p)?;
            cfg.set_maybe_null(true);
            cfg.set_max_len(MAX_JSON);
            cfg.set_is_const(false);
            let terms = names::explanation_terms(bound.loaded.schema());
            Ok(ScorekitAnomalyJson {
                bound,
                streams,
                op,
                terms,
                out: String::new(),
                failed: Failed::default(),
            })
        })())
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        let (b, s, op) = (&self.bound, &self.streams, self.op);
        let r = run(|| {
            let key = key(args, 1)?;
            // A document's readings are numbered within it.
            let rows = json_rows(b, args::text(args, 2, "readings")?, 0)?;
            let out = step(b, s, &key, &rows, op)?;
            Ok((key, out))
        });
        match r {
            Ok((key, out)) => {
                if let Some(n) = &out.notice {
                    error::notice(&self.bound.loaded.name, &key, n);
                }
                self.out = answer(&self.bound, &key, self.op, &self.terms, &out);
                Ok(Some(self.out.as_str()))
            }
            Err(e) => Err(self.failed.fail(&self.bound.reference, &e)),
        }
    }
}
