//! Anomaly detection (RCF models) from SQL: the aggregate `scorekit.anomaly_score(model, value)`,
//! usable as a window function over an ordered series, and `scorekit.anomaly_update(model, key,
//! value)`, which keeps one stream's state in `scorekit.stream_state` through the host layer's
//! stream book (see [`crate::streams`]) so a trigger can score each new reading.
//!
//! Both return the host layer's stream outputs (`scorekit_host::names::STREAM_OUTPUTS`); readings
//! are rows of the model's inputs built by the host layer's rules.

use pgrx::prelude::*;
use pgrx::{PgMemoryContexts, pg_sys};
use scorekit_host::streams::{StepOp, run_step};
use scorekit_host::{BatchBuilder, HostResult, Rows, SharedScorer, StreamScorer, Value};

use crate::engine;
use crate::error::{OrRaise, user_error};
use crate::guc;
use crate::streams;

/// One reading as a row of the model's inputs, numbered `row_base + 1` in messages.
fn reading(scorer: &SharedScorer, value: f64, row_base: usize) -> HostResult<Rows> {
    let mut b = BatchBuilder::new(scorer.info().schema(), guc::input_policy()).with_row_base(row_base)?;
    b.push_positional(&[Value::Float(value)])?;
    Ok(b.finish())
}

/// The aggregate's state: one unsaved stream that lives (and is dropped) with the aggregate's
/// memory context, like the single stream of `host score` (`streams::run_step`, no book: there
/// is no key and nothing to save).
struct AggState {
    model: String,
    scorer: SharedScorer,
    stream: Box<dyn StreamScorer>,
    /// Readings learned so far, for row numbers in messages.
    readings: usize,
    last: Option<f64>,
}

unsafe fn step_impl(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let mut aggctx: pg_sys::MemoryContext = std::ptr::null_mut();
    // SAFETY: fcinfo is live; AggCheckCallContext only inspects it.
    if unsafe { pg_sys::AggCheckCallContext(fcinfo, &mut aggctx) } == 0 {
        user_error("anomaly_score_step must be called as part of the anomaly_score aggregate");
    }
    // SAFETY: argument 0 is our state (internal) or NULL on the first row.
    let state: *mut AggState = unsafe {
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 0) {
            if pgrx::fcinfo::pg_arg_is_null(fcinfo, 1) {
                user_error("the model argument is NULL");
            }
            let model = pgrx::fcinfo::pg_getarg::<String>(fcinfo, 1).unwrap_or_default();
            let loaded = engine::resolve(&model);
            let scorer = loaded.scorer.clone();
            let stream = loaded.scorer.open_stream().or_raise(&model);
            // The state lives (and is dropped) with the aggregate's memory context.
            PgMemoryContexts::For(aggctx).leak_and_drop_on_delete(AggState {
                model,
                scorer,
                stream,
                readings: 0,
                last: None,
            })
        } else {
            pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<AggState>()
        }
    };
    // SAFETY: `state` points to a live AggState owned by the aggregate context.
    let st = unsafe { &mut *state };
    // SAFETY: argument 2 is declared float8.
    let value = unsafe { pgrx::fcinfo::pg_getarg::<f64>(fcinfo, 2) };
    match value {
        // A NULL reading is skipped: it neither moves the stream nor has a score.
        None => st.last = None,
        Some(v) => {
            let rows = reading(&st.scorer, v, st.readings).or_raise(&st.model);
            let t = std::time::Instant::now();
            let r = run_step(st.stream.as_mut(), &rows, StepOp::Learn);
            crate::stats::record(&st.model, &st.scorer.info().sha256, 1, t.elapsed(), r.is_err());
            let out = r.or_raise(&st.model);
            st.readings += 1;
            st.last = out.steps.first().map(|s| s.score);
        }
    }
    pg_sys::Datum::from(state)
}

unsafe fn final_impl(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: argument 0 is our state or NULL.
    unsafe {
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 0) {
            return pgrx::fcinfo::pg_return_null(fcinfo);
        }
        let st = &*pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<AggState>();
        match st.last {
            Some(s) => s.into_datum().unwrap_or_else(|| pgrx::fcinfo::pg_return_null(fcinfo)),
            None => pgrx::fcinfo::pg_return_null(fcinfo),
        }
    }
}

/// V1 info record.
#[unsafe(no_mangle)]
#[doc(hidden)]
pub extern "C" fn pg_finfo_scorekit_anomaly_step() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// Transition function of `scorekit.anomaly_score`: scores the reading, then learns it.
///
/// # Safety
/// Called by PostgreSQL through the V1 calling convention only.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn scorekit_anomaly_step(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: forwarded from PostgreSQL.
    unsafe { step_impl(fcinfo) }
}

/// V1 info record.
#[unsafe(no_mangle)]
#[doc(hidden)]
pub extern "C" fn pg_finfo_scorekit_anomaly_final() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// Final function of `scorekit.anomaly_score`: the latest reading's score.
///
/// # Safety
/// Called by PostgreSQL through the V1 calling convention only.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn scorekit_anomaly_final(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: forwarded from PostgreSQL.
    unsafe { final_impl(fcinfo) }
}

extension_sql!(
    r#"
CREATE FUNCTION anomaly_score_step(internal, text, float8) RETURNS internal
    LANGUAGE c PARALLEL SAFE AS 'MODULE_PATHNAME', 'scorekit_anomaly_step';
CREATE FUNCTION anomaly_score_final(internal) RETURNS float8
    LANGUAGE c PARALLEL SAFE AS 'MODULE_PATHNAME', 'scorekit_anomaly_final';
CREATE AGGREGATE anomaly_score(model text, value float8) (
    SFUNC = anomaly_score_step,
    STYPE = internal,
    FINALFUNC = anomaly_score_final
);
COMMENT ON AGGREGATE anomaly_score(text, float8) IS
    'RCF anomaly score of the latest reading, each reading scored then learnt, starting from the module''s trained state. Use as a window function: anomaly_score(''m'', value) OVER (ORDER BY ts).';
"#,
    name = "anomaly_agg",
    requires = ["bootstrap"]
);

/// Scores one reading of stream `stream_key` with the RCF model `model`, learns it, and saves the
/// stream's state in `scorekit.stream_state` inside the caller's transaction (a rolled-back
/// insert rolls the state back too). A stream starts from the model's trained state; after a
/// redeploy of `model`, `scorekit.on_redeploy` decides whether its state carries over or the
/// stream restarts (the old state is then archived in `scorekit.stream_state_archive`); either
/// is announced as a NOTICE. Runs as the extension's owner: only these functions write stream
/// states.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn anomaly_update(
    model: &str,
    stream_key: &str,
    value: f64,
) -> TableIterator<
    'static,
    (name!(score, f64), name!(grade, f64), name!(is_anomaly, bool), name!(threshold, f64)),
> {
    let loaded = engine::resolve(model);
    let book = streams::book();
    let rows = reading(&loaded.scorer, value, 0).or_raise(model);
    let outcome =
        loaded.call(model, 1, |_| book.step(&loaded.scorer, model, stream_key, &rows, StepOp::Learn));
    if let Some(notice) = &outcome.notice {
        pgrx::notice!("scorekit: model '{model}', stream '{stream_key}': {notice}");
    }
    let Some(step) = outcome.steps.first() else { user_error("the model returned no score") };
    TableIterator::once((step.score, step.grade, step.is_anomaly, step.threshold))
}

/// Forgets the saved state of one stream (it restarts from the model's trained state); returns
/// whether there was one. Members of `scorekit_admin` only, unless granted.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn anomaly_reset(model: &str, stream_key: &str) -> bool {
    streams::book().delete(model, stream_key).or_raise(model)
}
