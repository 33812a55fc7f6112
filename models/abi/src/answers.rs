//! What a host checks about every answer of a module, in one place for every host (the wasmtime
//! runtime, the browser): exactly what it asked for, or the answer is refused — a module that
//! returns too few or too many values would misalign every score after it. And the request a
//! host sends for a batch of rows, by the module's ABI minor.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;

use crate::{Description, ForecastOutput, ForecastQuery, Rows, op};

/// `got` values for `n_rows` rows must be `n_rows × per_row`.
///
/// # Errors
/// A message naming the counts.
pub fn check_count(op: i32, got: usize, n_rows: usize, per_row: usize) -> Result<(), String> {
    let want = n_rows.saturating_mul(per_row);
    if got != want {
        return Err(format!(
            "operation '{}' returned {got} values for {n_rows} rows, expected {want} ({per_row} per row)",
            op::name(op)
        ));
    }
    Ok(())
}

/// A forecast must have the horizon, quantile levels and samples asked for.
///
/// # Errors
/// A message naming what was asked and what came back.
pub fn check_forecast(query: &ForecastQuery, out: &ForecastOutput) -> Result<(), String> {
    let h = out.mean.len();
    let bad = (query.horizon != 0 && h != query.horizon as usize)
        || out.quantiles.len() != query.quantiles.len()
        || out
            .quantiles
            .iter()
            .zip(&query.quantiles)
            .any(|((l, v), q)| l.to_bits() != q.to_bits() || v.len() != h)
        || out.samples.len() != query.num_samples as usize
        || out.samples.iter().any(|s| s.len() != h);
    if bad {
        return Err(format!(
            "forecast answer does not match the request (asked horizon {}, {} quantiles, {} samples; got horizon {h}, {} quantiles, {} samples)",
            query.horizon,
            query.quantiles.len(),
            query.num_samples,
            out.quantiles.len(),
            out.samples.len()
        ));
    }
    Ok(())
}

/// The request bytes for `rows`: a module of ABI minor 0 refuses a non-zero row base, so it gets
/// the rows with base 0 (and the host says where the batch started: [`numbers_rows`]).
pub fn request_bytes<'r>(d: &Description, rows: &'r Rows) -> Cow<'r, [u8]> {
    if numbers_rows(d, rows) {
        return Cow::Borrowed(rows.as_bytes());
    }
    let mut bytes = rows.as_bytes().to_vec();
    let _ = crate::rows::set_row_base(&mut bytes, 0);
    Cow::Owned(bytes)
}

/// Whether the module's messages number `rows` over the whole input by itself; when not, a host
/// adds "in the batch starting at row N" to its rejections.
pub fn numbers_rows(d: &Description, rows: &Rows) -> bool {
    rows.row_base() == 0 || d.honours_row_base()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn counts_and_forecast_shapes_are_checked() {
        check_count(op::SCORE, 6, 3, 2).unwrap();
        let e = check_count(op::SCORE, 5, 3, 2).unwrap_err();
        assert!(e.contains("returned 5 values for 3 rows, expected 6"), "{e}");
        let q = ForecastQuery { horizon: 2, quantiles: vec![0.1], num_samples: 0, seed: 0, start: None };
        let good =
            ForecastOutput { mean: vec![1.0, 2.0], quantiles: vec![(0.1, vec![0.5, 1.5])], samples: vec![] };
        check_forecast(&q, &good).unwrap();
        let short = ForecastOutput { mean: vec![1.0], quantiles: vec![(0.1, vec![0.5])], samples: vec![] };
        assert!(check_forecast(&q, &short).unwrap_err().contains("asked horizon 2"));
        let wrong_level = ForecastOutput { quantiles: vec![(0.2, vec![0.5, 1.5])], ..good };
        assert!(check_forecast(&q, &wrong_level).is_err());
    }
}
