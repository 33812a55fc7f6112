//! `scorekit.forecast(...)`: one row per step with the mean and the requested quantiles
//! (DeepAR-shaped), from a history array such as `array_agg(value ORDER BY ts)`. Two forms:
//! values with the start time of the first one (`History::untimed`), or values with one timestamp
//! each (`History::timed`: order, spacing and gaps checked against the model's sampling period,
//! gaps filled or refused as `scorekit.forecast_gaps` says). Both go through the host layer's
//! history rules, so a history reads the same as in `host score` and the server.

use pgrx::prelude::*;
use scorekit_host::{ForecastOutput, ForecastQuery, History, Value, history_values};

use crate::engine::{self, Loaded};
use crate::error::{OrRaise, user_error};
use crate::guc;

/// Unix seconds of 2000-01-01 00:00:00 UTC, PostgreSQL's timestamp epoch.
const PG_EPOCH_UNIX: i64 = 946_684_800;

fn values_of(model: &str, history: &[Option<f64>]) -> Vec<f64> {
    let values: Vec<Value<'_>> = history.iter().map(|v| v.map_or(Value::Null, Value::Float)).collect();
    history_values(&values).map_err(|e| e.context("history")).or_raise(model)
}

fn query(horizon: i32, quantiles: &[Option<f64>]) -> ForecastQuery {
    if horizon < 0 {
        user_error(format!("forecast horizon must be 0 (the model's own) or more, got {horizon}"));
    }
    ForecastQuery {
        horizon: horizon as u32,
        // The model checks the levels (and words the error); a NULL level is not a level.
        quantiles: quantiles.iter().map(|q| q.unwrap_or(f64::NAN)).collect(),
        num_samples: 0,
        seed: 0,
        start: None,
    }
}

/// One row per step: (step from 1, mean, the values at the requested quantile levels).
fn run(loaded: &Loaded, model: &str, history: &History, query: &ForecastQuery) -> Vec<(i32, f64, Vec<f64>)> {
    let out: ForecastOutput = loaded.call(model, history.values.len(), |s| s.forecast(history, query));
    out.mean
        .iter()
        .enumerate()
        .map(|(i, &m)| {
            let q: Vec<f64> =
                out.quantiles.iter().map(|(_, vals)| vals.get(i).copied().unwrap_or(f64::NAN)).collect();
            (i as i32 + 1, m, q)
        })
        .collect()
}

/// Forecast from values without timestamps; `start_epoch` is Unix seconds of `history[1]` (for
/// calendar features), NULL when unknown. Prefer the `forecast(...)` wrapper, which takes a
/// timestamptz.
#[pg_extern(stable, parallel_safe)]
fn forecast_epoch(
    model: &str,
    history: Vec<Option<f64>>,
    horizon: i32,
    quantiles: Vec<Option<f64>>,
    start_epoch: Option<f64>,
) -> TableIterator<'static, (name!(step, i32), name!(mean, f64), name!(q, Vec<f64>))> {
    let query = query(horizon, &quantiles);
    let loaded = engine::resolve(model);
    let values = values_of(model, &history);
    let history = History::untimed(values, start_epoch.map(|s| s.floor() as i64)).or_raise(model);
    TableIterator::new(run(&loaded, model, &history, &query))
}

/// Forecast from values with one timestamp each (`timestamps[i]` of `history[i]`, oldest first):
/// the timestamps must increase by whole multiples of the model's sampling period; a gap is
/// filled with missing values or refused (naming the timestamp), as `scorekit.forecast_gaps` says.
#[pg_extern(name = "forecast", stable, parallel_safe)]
fn forecast_timed(
    model: &str,
    history: Vec<Option<f64>>,
    timestamps: Vec<Option<pgrx::datum::TimestampWithTimeZone>>,
    horizon: default!(i32, 48),
    quantiles: default!(Vec<Option<f64>>, "'{0.1,0.5,0.9}'"),
) -> TableIterator<'static, (name!(step, i32), name!(mean, f64), name!(q, Vec<f64>))> {
    let query = query(horizon, &quantiles);
    let loaded = engine::resolve(model);
    let values = values_of(model, &history);
    let times: Vec<Value<'_>> = timestamps
        .iter()
        .enumerate()
        .map(|(i, t)| match t {
            None => Value::Null,
            Some(t) if !t.is_finite() => {
                user_error(format!("timestamps: row {}: an infinite timestamp", i + 1))
            }
            Some(t) => Value::Int(t.into_inner().div_euclid(1_000_000) + PG_EPOCH_UNIX),
        })
        .collect();
    let times = scorekit_host::time::timestamps(&times).map_err(|e| e.context("timestamps")).or_raise(model);
    let period = loaded.scorer.info().description.period_seconds;
    let history = History::timed(&times, &values, period, guc::gaps()).or_raise(model);
    TableIterator::new(run(&loaded, model, &history, &query))
}

extension_sql!(
    r#"
CREATE FUNCTION forecast(
    model text,
    history float8[],
    horizon int DEFAULT 48,
    quantiles float8[] DEFAULT '{0.1,0.5,0.9}',
    start timestamptz DEFAULT NULL
) RETURNS TABLE (step int, mean float8, q float8[])
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT * FROM @extschema@.forecast_epoch(model, history, horizon, quantiles, extract(epoch FROM start)::float8) $$;
COMMENT ON FUNCTION forecast(text, float8[], int, float8[], timestamptz) IS
    'Forecasts horizon steps after history (oldest first): per step the mean and the values at the requested quantile levels (q[i] is at quantiles[i]).';
"#,
    name = "forecast",
    requires = [forecast_epoch]
);
