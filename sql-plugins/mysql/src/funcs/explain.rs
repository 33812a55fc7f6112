//! Explaining one row per call, as a JSON object of the host layer's explanation terms
//! (`scorekit_host::names`: one per input, named as the input, then `bias` for GBT — the margin
//! the contributions start from — or `total` for RCF):
//!
//! * `scorekit_explain(model, input1, …, inputN)` → STRING
//!   `{"state":0.0123,…,"number_customer_service_calls":-0.4,"bias":-2.31}`;
//! * `scorekit_explain_json(model, row [, options])` → STRING, the row as JSON (as
//!   `scorekit_score_json`).
//!
//! Read a term with `JSON_VALUE(scorekit_explain(…), '$.state')`.

use scorekit_host::formats::write_records;
use scorekit_host::{names, HostError, HostResult, Rows};
use udf::prelude::*;

use super::score::ROW_OPTIONS;
use super::{
    bind, check_count, check_inputs, init_done, json_rows, options, policy, positional_row, run, Bound,
    Failed,
};
use crate::args::{self, Want};

/// Longest explanation announced to the server (a MEDIUMTEXT).
pub const MAX_JSON: u64 = 16 << 20;

fn explain(b: &Bound, terms: &[String], rows: &Rows, out: &mut String) -> HostResult<()> {
    let values = b.loaded.scorer.explain(rows)?;
    if values.len() != terms.len() {
        return Err(HostError::bad_input(format!(
            "expected one row, got {}",
            values.len() / terms.len().max(1)
        )));
    }
    let keys: Vec<&str> = terms.iter().map(String::as_str).collect();
    *out = write_records(&values, &keys, None);
    out.truncate(out.trim_end().len());
    Ok(())
}

/// `scorekit_explain(model, inputs…)`.
#[derive(Debug)]
pub struct ScorekitExplain {
    bound: Bound,
    terms: Vec<String>,
    out: String,
    failed: Failed,
}

#[register]
impl BasicUdf for ScorekitExplain {
    type Returns<'a> = Option<&'a str>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        init_done((|| {
            let (bound, _) = bind(args, 0)?;
            check_inputs(&bound, args, 1)?;
            cfg.set_maybe_null(true);
            cfg.set_max_len(MAX_JSON);
            let terms = names::explanation_terms(bound.loaded.schema());
            Ok(ScorekitExplain { bound, terms, out: String::new(), failed: Failed::default() })
        })())
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        let base = self.bound.next_row();
        let (b, terms, out) = (&self.bound, &self.terms, &mut self.out);
        match run(|| explain(b, terms, &positional_row(b, args, 1, base)?, out)) {
            Ok(()) => Ok(Some(self.out.as_str())),
            Err(e) => Err(self.failed.fail(&self.bound.reference, &e)),
        }
    }
}

/// `scorekit_explain_json(model, row [, options])`.
#[derive(Debug)]
pub struct ScorekitExplainJson {
    bound: Bound,
    terms: Vec<String>,
    out: String,
    failed: Failed,
}

#[register]
impl BasicUdf for ScorekitExplainJson {
    type Returns<'a> = Option<&'a str>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        init_done((|| {
            check_count(args, "scorekit_explain_json(model, row [, options])", 2..=3)?;
            let (mut bound, _) = bind(args, 0)?;
            args::check(args, 1, "row", Want::Text)?;
            bound.policy = policy(&options(args, 2, &ROW_OPTIONS)?, bound.policy, 2)?;
            cfg.set_maybe_null(true);
            cfg.set_max_len(MAX_JSON);
            let terms = names::explanation_terms(bound.loaded.schema());
            Ok(ScorekitExplainJson { bound, terms, out: String::new(), failed: Failed::default() })
        })())
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        let base = self.bound.next_row();
        let (b, terms, out) = (&self.bound, &self.terms, &mut self.out);
        let r = run(|| {
            let rows = json_rows(b, args::text(args, 1, "row")?, base)?;
            if rows.n_rows() != 1 {
                return Err(HostError::bad_input(format!(
                    "expected one row, got {} (scorekit_explain_json explains one row per call)",
                    rows.n_rows()
                )));
            }
            explain(b, terms, &rows, out)
        });
        match r {
            Ok(()) => Ok(Some(self.out.as_str())),
            Err(e) => Err(self.failed.fail(&self.bound.reference, &e)),
        }
    }
}
