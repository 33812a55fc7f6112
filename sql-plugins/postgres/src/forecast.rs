//! `scorekit.forecast(...)`: one row per step with the mean and the requested quantiles
//! (DeepAR-shaped), from a history array such as `array_agg(value ORDER BY ts)`.

use pgrx::prelude::*;
use scorekit_runtime::ForecastQuery;

use crate::engine;
use crate::error::user_error;

/// Forecast implementation; `start_epoch` is unix seconds of `history[1]` (for calendar
/// features), NULL when unknown. Prefer the `forecast(...)` wrapper, which takes a timestamptz.
#[pg_extern(stable, parallel_safe)]
fn forecast_epoch(
    model: &str,
    history: Vec<Option<f64>>,
    horizon: i32,
    quantiles: Vec<Option<f64>>,
    start_epoch: Option<f64>,
) -> TableIterator<'static, (name!(step, i32), name!(mean, f64), name!(q, Vec<f64>))> {
    if horizon < 1 {
        user_error(format!("forecast horizon must be at least 1, got {horizon}"));
    }
    let levels: Vec<f64> = quantiles
        .iter()
        .map(|q| match q {
            Some(x) if *x > 0.0 && *x < 1.0 => *x,
            other => user_error(format!("quantile levels must be in (0, 1), got {other:?}")),
        })
        .collect();
    let loaded = engine::resolve(model);
    let history: Vec<f64> = history.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    let query = ForecastQuery {
        horizon: horizon as u32,
        quantiles: levels,
        num_samples: 0,
        seed: 0,
        start: start_epoch.map(|s| s.floor() as i64),
    };
    let out = loaded.call(history.len(), |m| m.forecast(&history, &query));
    let rows: Vec<_> = out
        .mean
        .iter()
        .enumerate()
        .map(|(i, &m)| {
            let q: Vec<f64> =
                out.quantiles.iter().map(|(_, vals)| vals.get(i).copied().unwrap_or(f64::NAN)).collect();
            (i as i32 + 1, m, q)
        })
        .collect();
    TableIterator::new(rows)
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
