//! `host score NAME.wasm`: the same outputs as the native path, computed inside the module by
//! `scorekit-runtime` — the code path the server and the SQL plugins use.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use scorekit_abi::ForecastQuery;
use scorekit_core::{Cell, Family};
use scorekit_runtime::{Rows, Runtime, RuntimeConfig, ScoringModule};

use super::score::{Output, ScoreArgs, forecast_output, history, input_columns};
use crate::data::Table;

/// Loads (and verifies) the module at `path`, using the on-disk compile cache.
///
/// # Errors
/// Unreadable file, invalid or hostile module.
pub fn load(path: &Path) -> Result<Arc<ScoringModule>> {
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: RuntimeConfig::default_cache_dir(),
        ..RuntimeConfig::default()
    })
    .context("cannot start the Wasm runtime")?;
    runtime.load_file(path, None).with_context(|| format!("{}", path.display()))
}

/// Scores `table` with `module`.
///
/// # Errors
/// Input that does not fit the module, or a module that exceeds its limits.
pub fn run(module: &Arc<ScoringModule>, args: &ScoreArgs, table: &Table) -> Result<Output> {
    let schema = module.schema().clone();
    let at = |e: scorekit_runtime::RuntimeError| anyhow::anyhow!("{}: {e}", table.path.display());

    if schema.family == Family::Forecast {
        let (history, start) = history(&schema, table, args)?;
        let query = ForecastQuery {
            horizon: args.horizon.map_or(0, |h| h as u32),
            quantiles: args.quantiles.clone(),
            num_samples: args.samples as u32,
            seed: args.seed,
            start,
        };
        let fc = module.forecast(&history, &query).map_err(at)?;
        return Ok(forecast_output(&fc.mean, &fc.quantiles, &fc.samples));
    }

    let columns = input_columns(&schema, table)?;
    let cells: Vec<Vec<Cell<'_>>> =
        table.rows.iter().map(|row| columns.iter().map(|&c| row[c].as_cell()).collect()).collect();
    let rows = Rows::from_cells(columns.len(), &cells).map_err(at)?;
    let streaming = schema.family == Family::Rcf && !args.no_update;
    let (mut header, values, width): (Vec<String>, Vec<f64>, usize) = if streaming {
        if args.explain {
            bail!(
                "--explain while streaming is only on the native path (score the .model.json, or add --no-update)"
            );
        }
        let steps = module.stream().map_err(at)?.score_then_update(&rows).map_err(at)?;
        let values = steps
            .iter()
            .flat_map(|s| [s.score, s.grade, if s.is_anomaly { 1.0 } else { 0.0 }, s.threshold])
            .collect();
        (vec!["score".into(), "grade".into(), "is_anomaly".into(), "threshold".into()], values, 4)
    } else {
        (schema.outputs.clone(), module.score(&rows).map_err(at)?, 1)
    };
    if !args.explain {
        return Ok((header, values.chunks(width).map(<[f64]>::to_vec).collect()));
    }
    let explanations = module.explain(&rows).map_err(at)?;
    let w = schema.inputs.len() + 1;
    header.extend(schema.inputs.iter().map(|f| format!("contribution_{}", f.name)));
    header.push(if schema.family == Family::Gbt { "bias".into() } else { "attribution_total".into() });
    Ok((
        header,
        values
            .chunks(width)
            .zip(explanations.chunks(w))
            .map(|(a, b)| a.iter().chain(b).copied().collect())
            .collect(),
    ))
}
