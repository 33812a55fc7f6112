//! Scoring one row per call:
//!
//! * `scorekit_score(model, input1, …, inputN)` → REAL: the model's first output (GBT: the
//!   probability or value; RCF: the anomaly score against the trained state), inputs in schema
//!   order;
//! * `scorekit_score_json(model, row [, options])` → REAL: one row as JSON — an object keyed by
//!   input name (`JSON_OBJECT('state', state, …)`), an array in schema order, `{"features": […]}`;
//!   `options` is a constant JSON object with `null_inputs` / `absent_inputs`;
//! * `scorekit_label(model, threshold, input1, …, inputN)` → STRING: `True.` when the score is
//!   above `threshold`, else `False.` (the labels of Aurora ML's churn example).

use scorekit_host::{HostError, Rows};
use udf::prelude::*;

use super::{
    bind, check_count, check_inputs, init_done, json_rows, options, policy, positional_row, run, Bound,
    Failed, ALL_DECIMALS,
};
use crate::args::{self, Want};

fn first_output(b: &Bound, rows: &Rows) -> scorekit_host::HostResult<f64> {
    let out = b.loaded.scorer.score(rows)?;
    Ok(out.first().copied().unwrap_or(f64::NAN))
}

/// `scorekit_score(model, inputs…)`.
#[derive(Debug)]
pub struct ScorekitScore {
    bound: Bound,
    failed: Failed,
}

#[cfg(test)]
impl ScorekitScore {
    /// The error its statement raised.
    pub fn failed_message(&self) -> Option<&str> {
        self.failed.message()
    }
}

#[register]
impl BasicUdf for ScorekitScore {
    type Returns<'a> = Option<f64>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        init_done((|| {
            let (bound, _) = bind(args, 0)?;
            check_inputs(&bound, args, 1)?;
            cfg.set_maybe_null(true);
            cfg.set_decimals(ALL_DECIMALS);
            Ok(ScorekitScore { bound, failed: Failed::default() })
        })())
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        let base = self.bound.next_row();
        let b = &self.bound;
        match run(|| first_output(b, &positional_row(b, args, 1, base)?)) {
            Ok(x) => Ok(Some(x)),
            Err(e) => Err(self.failed.fail(&self.bound.reference, &e)),
        }
    }
}

/// `scorekit_score_json(model, row [, options])`.
#[derive(Debug)]
pub struct ScorekitScoreJson {
    bound: Bound,
    failed: Failed,
}

/// Options of the JSON functions.
pub const ROW_OPTIONS: [&str; 2] = ["null_inputs", "absent_inputs"];

#[cfg(test)]
impl ScorekitScoreJson {
    /// The error its statement raised.
    pub fn failed_message(&self) -> Option<&str> {
        self.failed.message()
    }
}

#[register]
impl BasicUdf for ScorekitScoreJson {
    type Returns<'a> = Option<f64>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        init_done((|| {
            check_count(args, "scorekit_score_json(model, row [, options])", 2..=3)?;
            let (mut bound, _) = bind(args, 0)?;
            args::check(args, 1, "row", Want::Text)?;
            bound.policy = policy(&options(args, 2, &ROW_OPTIONS)?, bound.policy, 2)?;
            cfg.set_maybe_null(true);
            cfg.set_decimals(ALL_DECIMALS);
            Ok(ScorekitScoreJson { bound, failed: Failed::default() })
        })())
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        let base = self.bound.next_row();
        let b = &self.bound;
        let r = run(|| {
            let rows = json_rows(b, args::text(args, 1, "row")?, base)?;
            if rows.n_rows() != 1 {
                return Err(HostError::bad_input(format!(
                    "expected one row, got {} (scorekit_score_json scores one row per call)",
                    rows.n_rows()
                )));
            }
            first_output(b, &rows)
        });
        match r {
            Ok(x) => Ok(Some(x)),
            Err(e) => Err(self.failed.fail(&self.bound.reference, &e)),
        }
    }
}

/// `scorekit_label(model, threshold, inputs…)`.
#[derive(Debug)]
pub struct ScorekitLabel {
    bound: Bound,
    threshold: f64,
    failed: Failed,
}

/// The label above the threshold.
pub const LABEL_TRUE: &str = "True.";
/// The label at or below it.
pub const LABEL_FALSE: &str = "False.";

#[register]
impl BasicUdf for ScorekitLabel {
    type Returns<'a> = Option<&'a str>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        init_done((|| {
            let (bound, _) = bind(args, 0)?;
            let threshold = args::const_number(args, 1, "threshold")?;
            if !threshold.is_finite() {
                return Err(HostError::bad_input("argument 2 (threshold) must be a finite number"));
            }
            check_inputs(&bound, args, 2)?;
            cfg.set_maybe_null(true);
            cfg.set_max_len(LABEL_FALSE.len() as u64);
            Ok(ScorekitLabel { bound, threshold, failed: Failed::default() })
        })())
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        let base = self.bound.next_row();
        let b = &self.bound;
        match run(|| first_output(b, &positional_row(b, args, 2, base)?)) {
            Ok(p) => Ok(Some(if p > self.threshold { LABEL_TRUE } else { LABEL_FALSE })),
            Err(e) => Err(self.failed.fail(&self.bound.reference, &e)),
        }
    }
}
