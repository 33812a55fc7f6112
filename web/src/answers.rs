//! What the browser checks about every answer of a module: exactly what it asked for, or the
//! answer is refused (a module that returns too few or too many values would misalign every
//! score after it). The same checks, with the same words, as `scorekit-runtime`
//! (`module::check_count`, `check_forecast`, `request_bytes`), which keeps them private to the
//! wasmtime embedding.

use scorekit_abi::{Description, ForecastOutput, ForecastQuery, Rows, op};
use scorekit_host::{Code, HostError};

/// A malformed answer: the module's fault.
fn bad_output(message: String) -> HostError {
    HostError::new(Code::ModuleFailed, format!("model module gave a malformed answer: {message}"))
}

/// `got` values for `n_rows` rows must be `n_rows × per_row`.
///
/// # Errors
/// [`Code::ModuleFailed`] naming the counts.
pub fn check_count(op: i32, got: usize, n_rows: usize, per_row: usize) -> Result<(), HostError> {
    let want = n_rows.saturating_mul(per_row);
    if got != want {
        return Err(bad_output(format!(
            "operation '{}' returned {got} values for {n_rows} rows, expected {want} ({per_row} per row)",
            op::name(op)
        )));
    }
    Ok(())
}

/// A forecast must have the horizon, quantiles and samples asked for.
///
/// # Errors
/// [`Code::ModuleFailed`] naming what was asked and what came back.
pub fn check_forecast(query: &ForecastQuery, out: &ForecastOutput) -> Result<(), HostError> {
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
        return Err(bad_output(format!(
            "forecast answer does not match the request (asked horizon {}, {} quantiles, {} samples; got horizon {h}, {} quantiles, {} samples)",
            query.horizon,
            query.quantiles.len(),
            query.num_samples,
            out.quantiles.len(),
            out.samples.len()
        )));
    }
    Ok(())
}

/// The request bytes for `rows`: a module of ABI minor 0 refuses a non-zero row base, so it gets
/// the rows with base 0 (and [`in_batch`] says where the batch started).
pub fn request_bytes<'r>(d: &Description, rows: &'r Rows) -> std::borrow::Cow<'r, [u8]> {
    if rows.row_base() == 0 || d.honours_row_base() {
        return std::borrow::Cow::Borrowed(rows.as_bytes());
    }
    let mut bytes = rows.as_bytes().to_vec();
    let _ = scorekit_abi::rows::set_row_base(&mut bytes, 0);
    std::borrow::Cow::Owned(bytes)
}

/// For a module that cannot number rows from the row base, says where the batch started.
pub fn in_batch(d: &Description, rows: &Rows, e: HostError) -> HostError {
    if e.code == Code::BadInput && rows.row_base() > 0 && !d.honours_row_base() {
        return e.context(format!("in the batch starting at row {}", rows.row_base() + 1));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_forecast_shapes_are_checked() {
        check_count(op::SCORE, 6, 3, 2).unwrap();
        let e = check_count(op::SCORE, 5, 3, 2).unwrap_err();
        assert_eq!(e.code, Code::ModuleFailed);
        assert!(e.message.contains("returned 5 values for 3 rows, expected 6"), "{}", e.message);
        let q = ForecastQuery { horizon: 2, quantiles: vec![0.1], num_samples: 0, seed: 0, start: None };
        let good =
            ForecastOutput { mean: vec![1.0, 2.0], quantiles: vec![(0.1, vec![0.5, 1.5])], samples: vec![] };
        check_forecast(&q, &good).unwrap();
        let short = ForecastOutput { mean: vec![1.0], quantiles: vec![(0.1, vec![0.5])], samples: vec![] };
        assert!(check_forecast(&q, &short).unwrap_err().message.contains("asked horizon 2"));
        let wrong_level = ForecastOutput { quantiles: vec![(0.2, vec![0.5, 1.5])], ..good };
        assert!(check_forecast(&q, &wrong_level).is_err());
    }
}
