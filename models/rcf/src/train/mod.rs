//! Training = streaming a series through a fresh forest (which also warms the threshold), plus
//! helpers the evaluation scripts share.

mod columns;
mod evaluate;

use std::vec::Vec;

pub use columns::{Columns, resolve_columns};
pub use evaluate::{PointMetrics, WindowMetrics, point_metrics, window_metrics};

use crate::{RcfConfig, RcfError, RcfModel, RcfOutput};

/// Streams `readings` (row-major, `config.dimensions` values per reading) through a new forest.
/// `progress(done, total)` is called every 4096 readings and at the end.
///
/// # Errors
/// [`RcfError::InvalidParam`] before any work, [`RcfError::RaggedData`], or the first bad
/// reading's [`RcfError::NotFinite`].
pub fn train(
    readings: &[f64],
    config: RcfConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<RcfModel, RcfError> {
    config.validate()?;
    let k = config.dimensions;
    if !readings.len().is_multiple_of(k) {
        return Err(RcfError::RaggedData { len: readings.len(), dimensions: k });
    }
    let total = readings.len() / k;
    let mut model = RcfModel::new(config)?;
    for (i, r) in readings.chunks_exact(k).enumerate() {
        model.score_then_update(r)?;
        if (i + 1) % 4096 == 0 {
            progress(i + 1, total);
        }
    }
    progress(total, total);
    Ok(model)
}

/// Streams `readings` through `model`, returning one output per reading (the evaluation path).
///
/// # Errors
/// As [`train`]; readings before the failing one have been consumed.
pub fn stream(model: &mut RcfModel, readings: &[f64]) -> Result<Vec<RcfOutput>, RcfError> {
    let k = model.dimensions();
    if !readings.len().is_multiple_of(k) {
        return Err(RcfError::RaggedData { len: readings.len(), dimensions: k });
    }
    readings.chunks_exact(k).map(|r| model.score_then_update(r)).collect()
}

/// Min-max scales every column of row-major `readings` to [0, 1] in place (a constant column
/// becomes 0). Random cuts choose dimensions by side length, so multivariate inputs of very
/// different units should be scaled first.
pub fn minmax_scale(readings: &mut [f64], dimensions: usize) {
    for d in 0..dimensions {
        let col = readings.iter().skip(d).step_by(dimensions);
        let (lo, hi) = col.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        let span = if hi > lo { hi - lo } else { 1.0 };
        for x in readings.iter_mut().skip(d).step_by(dimensions) {
            *x = (*x - lo) / span;
        }
    }
}
