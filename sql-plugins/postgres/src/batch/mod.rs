//! Batched scalar calls. PostgreSQL calls a scalar function once per row, so `will_churn(...)`
//! over a table would cost one module call per row — and, for a model answered by a remote
//! SageMaker endpoint, one request per row. This module makes such calls batch without any
//! change to the SQL:
//!
//! - a `planner_hook` ([`plan`]) looks at every finished plan for projecting nodes (scans, joins,
//!   aggregates, `Result`) whose target list calls `scorekit.score_args` (what every generated
//!   typed function such as `will_churn` inlines to) or `aws_sagemaker.invoke_endpoint` with a
//!   constant model or endpoint name, in a place evaluated for every row;
//! - it moves those calls into a `ScorekitBatch` CustomScan placed right above the node, which
//!   reads `scorekit.batch_size` rows (at most `max_rows_per_batch` for `invoke_endpoint`, at most
//!   `work_mem` of them, and no more than a `LIMIT` right above asks for first), scores each call
//!   for all of them in one module call or one run of requests ([`exec`]), and then returns the
//!   rows one by one with the node's original target list.
//!
//! An aggregate's argument holding such a call (`avg(will_churn(...))`, also in parallel plans'
//! partial aggregates) first moves into the target list of the aggregate's input, where it is
//! batched like any other.
//!
//! What is only evaluated for some rows stays row by row: a call in a `CASE` branch, in a later
//! operand of `AND` / `OR` / `COALESCE`, or in `WHERE` / `HAVING`. `SET scorekit.batch_calls =
//! off` turns batching off (plans made while it is off never batch). The hook is installed when
//! the library loads, so a session batches from its first statement only with
//! `session_preload_libraries = 'scorekit'` (or `shared_preload_libraries`); otherwise from the
//! statement after the first call.

mod exec;
mod nodes;
mod plan;

use std::ffi::CStr;

use pgrx::pg_sys;

/// The CustomScan's name, as EXPLAIN shows it and as parallel workers look it up.
const NAME: &CStr = c"ScorekitBatch";

/// Which scalar entry point a call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// `scorekit.score_args(model, VARIADIC inputs)` (and `score_args_pinned`): a float8 score.
    ScoreArgs,
    /// `aws_sagemaker.invoke_endpoint(endpoint, max_rows_per_batch, VARIADIC inputs)`: the
    /// answer's text.
    InvokeEndpoint,
}

impl Entry {
    /// Arguments before the model's inputs.
    fn leading_args(self) -> usize {
        match self {
            Entry::ScoreArgs => 1,
            Entry::InvokeEndpoint => 2,
        }
    }

    /// Its number in the plan's private list (plans are copied and sent to workers as nodes).
    fn code(self) -> i32 {
        match self {
            Entry::ScoreArgs => 1,
            Entry::InvokeEndpoint => 2,
        }
    }

    fn from_code(code: i32) -> Option<Entry> {
        match code {
            1 => Some(Entry::ScoreArgs),
            2 => Some(Entry::InvokeEndpoint),
            _ => None,
        }
    }
}

/// Which entry point function `funcid` is, if it is one of ours: its C symbol is looked up
/// through fmgr and compared with this library's functions, so renamed or re-schema'd SQL
/// declarations are still recognised and a same-named function of another library is not.
fn entry_of(funcid: pg_sys::Oid) -> Option<Entry> {
    let mut info = pg_sys::FmgrInfo::default();
    // SAFETY: fmgr_info fills `info` for an existing function (the planner just resolved it);
    // its allocations go to the current (planner) memory context.
    unsafe { pg_sys::fmgr_info(funcid, &mut info) };
    let addr = info.fn_addr? as usize;
    let score_args: pg_sys::PGFunction = Some(crate::score::scorekit_score_args);
    let invoke: pg_sys::PGFunction = Some(crate::aurora::scorekit_invoke_endpoint);
    if Some(addr) == score_args.map(|f| f as usize) {
        Some(Entry::ScoreArgs)
    } else if Some(addr) == invoke.map(|f| f as usize) {
        Some(Entry::InvokeEndpoint)
    } else {
        None
    }
}

/// Installs the planner hook and registers the CustomScan (from `_PG_init`, once per process).
pub fn register() {
    plan::install();
    exec::register_methods();
}
