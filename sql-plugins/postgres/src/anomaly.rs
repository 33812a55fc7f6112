//! Anomaly detection (RCF models) from SQL: the aggregate `scorekit.anomaly_score(model, value)`,
//! usable as a window function over an ordered series, and `scorekit.anomaly_update(model, key,
//! value)`, which keeps one stream's state in `scorekit.stream_state` so a trigger can score
//! each new reading.

use std::cell::RefCell;
use std::collections::HashMap;

use pgrx::prelude::*;
use pgrx::{PgMemoryContexts, pg_sys};
use scorekit_core::Cell;
use scorekit_runtime::{Rows, Stream};

use crate::engine;
use crate::error::{raise, user_error};

struct AggState {
    model: String,
    stream: Stream,
    last: Option<f64>,
}

fn one_reading(value: f64) -> Rows {
    Rows::from_cells(1, &[[Cell::Number(value)]]).unwrap_or_else(|e| raise("(reading)", e))
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
            let stream = loaded.module.stream().unwrap_or_else(|e| raise(&model, e));
            // The state lives (and is dropped) with the aggregate's memory context.
            PgMemoryContexts::For(aggctx).leak_and_drop_on_delete(AggState { model, stream, last: None })
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
            let rows = one_reading(v);
            let t = std::time::Instant::now();
            let r = st.stream.score_then_update(&rows);
            crate::stats::record(&st.model, "", 1, t.elapsed(), r.is_err());
            let steps = r.unwrap_or_else(|e| raise(&st.model, e));
            st.last = steps.first().map(|s| s.score);
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

struct Cached {
    sha256: String,
    readings: i64,
    stream: Stream,
}

thread_local! {
    static STREAMS: RefCell<HashMap<(String, String), Cached>> = RefCell::new(HashMap::new());
}

/// Scores one reading of stream `stream_key` with the RCF model `model`, learns it, and saves the
/// stream's state in `scorekit.stream_state` (in the caller's transaction: a rolled-back insert
/// rolls the state back too). A stream starts from the module's trained state; after a deploy of
/// `model` it restarts from the new module's state.
#[pg_extern(volatile, parallel_unsafe)]
fn anomaly_update(
    model: &str,
    stream_key: &str,
    value: f64,
) -> TableIterator<
    'static,
    (name!(score, f64), name!(grade, f64), name!(is_anomaly, bool), name!(threshold, f64)),
> {
    let loaded = engine::resolve(model);
    let key = (model.to_string(), stream_key.to_string());
    let stored = Spi::get_two_with_args::<String, i64>(
        "SELECT sha256, readings FROM scorekit.stream_state WHERE model = $1 AND stream_key = $2 FOR UPDATE",
        &[model.into(), stream_key.into()],
    )
    .unwrap_or((None, None));
    let mut cached = STREAMS.with(|s| s.borrow_mut().remove(&key));
    let fresh_or_restore = |stored_sha: Option<&str>| -> Cached {
        let mut stream = loaded.module.stream().unwrap_or_else(|e| raise(model, e));
        let mut readings = 0;
        if stored_sha == Some(loaded.sha256.as_str()) {
            let (state, n) = Spi::get_two_with_args::<Vec<u8>, i64>(
                "SELECT state, readings FROM scorekit.stream_state WHERE model = $1 AND stream_key = $2",
                &[model.into(), stream_key.into()],
            )
            .unwrap_or((None, None));
            if let Some(state) = state {
                stream.import_state(&state).unwrap_or_else(|e| raise(model, e));
                readings = n.unwrap_or(0);
            }
        }
        Cached { sha256: loaded.sha256.clone(), readings, stream }
    };
    let mut c = match (cached.take(), &stored) {
        // The session's stream is exactly what is stored: skip the import.
        (Some(c), (Some(sha), Some(n))) if *sha == c.sha256 && *n == c.readings && *sha == loaded.sha256 => c,
        (_, (sha, _)) => fresh_or_restore(sha.as_deref()),
    };
    let t = std::time::Instant::now();
    let r = c.stream.score_then_update(&one_reading(value));
    crate::stats::record(&loaded.name, &loaded.sha256, 1, t.elapsed(), r.is_err());
    let step = r.unwrap_or_else(|e| raise(model, e)).into_iter().next();
    let Some(step) = step else { user_error("the model returned no score") };
    let state = c.stream.export_state().unwrap_or_else(|e| raise(model, e));
    c.readings += 1;
    Spi::run_with_args(
        "INSERT INTO scorekit.stream_state AS s (model, stream_key, sha256, state, readings)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (model, stream_key) DO UPDATE SET
             sha256 = EXCLUDED.sha256, state = EXCLUDED.state, readings = EXCLUDED.readings, updated_at = now()",
        &[model.into(), stream_key.into(), loaded.sha256.as_str().into(), state.as_slice().into(), c.readings.into()],
    )
    .unwrap_or_else(|e| user_error(format!("saving stream state: {e}")));
    STREAMS.with(|s| s.borrow_mut().insert(key, c));
    TableIterator::once((step.score, step.grade, step.is_anomaly, step.threshold))
}

/// Forgets the saved state of one stream (it restarts from the module's trained state).
#[pg_extern(volatile, parallel_unsafe)]
fn anomaly_reset(model: &str, stream_key: &str) -> bool {
    STREAMS.with(|s| s.borrow_mut().remove(&(model.to_string(), stream_key.to_string())));
    Spi::get_one_with_args::<bool>(
        "DELETE FROM scorekit.stream_state WHERE model = $1 AND stream_key = $2 RETURNING true",
        &[model.into(), stream_key.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false)
}
