//! A forecaster's history, checked the same way on every host.
//!
//! A history is the series' values, oldest first, and (when the host knows them) each value's
//! timestamp. With timestamps the spacing is checked against the model's sampling period (or,
//! for models trained without timestamps, the smallest spacing in the history):
//! * timestamps must increase: a duplicate or a step back is refused, naming both rows;
//! * every spacing must be a whole number of periods: anything else is refused, naming the row;
//! * a spacing of k > 1 periods is a gap of k − 1 missing steps. [`Gaps::Fill`] (the default)
//!   inserts them as missing values, which the model imputes (it accepts up to one value in ten of
//!   the window it reads missing, and refuses more); [`Gaps::Refuse`] refuses the history, naming
//!   the gap.
//!
//! The start time sent to the model is the first timestamp, so calendar features line up with
//! the real clock even when the history has holes.

use crate::cells::Value;
use crate::error::{Code, HostError, HostResult};

/// Longest history a host builds (after filling gaps): bounds the memory a request can make us
/// hold, whatever gap it claims.
pub const MAX_HISTORY: usize = 1_000_000;

/// What a gap in a timestamped history becomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gaps {
    /// Missing steps are inserted as missing values.
    #[default]
    Fill,
    /// The history is refused, naming the gap.
    Refuse,
}

impl Gaps {
    /// Parses `fill` / `refuse`.
    ///
    /// # Errors
    /// A message listing the accepted words.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fill" => Ok(Gaps::Fill),
            "refuse" => Ok(Gaps::Refuse),
            other => Err(format!("gap rule '{other}' is not one of: fill, refuse")),
        }
    }
}

/// A history ready for a forecast call.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// Values, oldest first; NaN = missing.
    pub values: Vec<f64>,
    /// Unix seconds of `values[0]`, when known.
    pub start: Option<i64>,
    /// Missing steps inserted for gaps.
    pub filled: usize,
}

/// The values of a history from host values: numbers as they are; null, empty text, NaN and the
/// texts `NaN`/`NA`/`?` are missing values (the model imputes a few, and refuses too many);
/// anything else is refused naming its row (from 1).
///
/// # Errors
/// [`Code::BadInput`] naming the row; [`Code::TooLarge`] beyond [`MAX_HISTORY`] values.
pub fn history_values(values: &[Value<'_>]) -> HostResult<Vec<f64>> {
    if values.len() > MAX_HISTORY {
        return Err(too_long(values.len()));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let bad = |what: String| {
                HostError::bad_input(format!("row {}: a history value must be a number, got {what}", i + 1))
            };
            match *v {
                _ if v.is_null() => Ok(f64::NAN),
                Value::Int(n) => Ok(n as f64),
                Value::Float(x) if x.is_finite() => Ok(x),
                Value::Float(x) => Err(bad(format!("{x}"))),
                Value::Text(t) => {
                    let t = t.trim();
                    if t.eq_ignore_ascii_case("nan") || t.eq_ignore_ascii_case("na") || t == "?" {
                        return Ok(f64::NAN);
                    }
                    match t.parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(x),
                        _ => Err(bad(format!("'{}'", t.chars().take(64).collect::<String>()))),
                    }
                }
                Value::Bool(b) => Err(bad(format!("{b}"))),
                Value::Null => Ok(f64::NAN),
            }
        })
        .collect()
}

impl History {
    /// A history without timestamps (`start` as given, e.g. DeepAR's `start` field).
    ///
    /// # Errors
    /// [`Code::TooLarge`] beyond [`MAX_HISTORY`] values.
    pub fn untimed(values: Vec<f64>, start: Option<i64>) -> HostResult<Self> {
        if values.len() > MAX_HISTORY {
            return Err(too_long(values.len()));
        }
        Ok(History { values, start, filled: 0 })
    }

    /// A history from timestamped values (`timestamps[i]` of `values[i]`), checked and filled as
    /// the module documentation says. `period` is the model's sampling period in seconds, when
    /// it has one. Rows in messages are numbered from 1.
    ///
    /// # Errors
    /// [`Code::BadInput`] naming the offending row and timestamp; [`Code::TooLarge`].
    pub fn timed(timestamps: &[i64], values: &[f64], period: Option<i64>, gaps: Gaps) -> HostResult<Self> {
        if timestamps.len() != values.len() {
            return Err(HostError::bad_input(format!(
                "{} timestamps for {} values",
                timestamps.len(),
                values.len()
            )));
        }
        let Some(&first) = timestamps.first() else { return History::untimed(Vec::new(), None) };
        for (i, w) in timestamps.windows(2).enumerate() {
            if w[1] <= w[0] {
                let what = if w[1] == w[0] { "repeats" } else { "goes back before" };
                return Err(HostError::bad_input(format!(
                    "row {}: timestamp {} {what} the timestamp of row {} ({}): a history must be in time order without duplicates",
                    i + 2,
                    show(w[1]),
                    i + 1,
                    show(w[0])
                )));
            }
        }
        let step = match period.filter(|p| *p > 0) {
            Some(p) => p,
            None => timestamps.windows(2).map(|w| w[1] - w[0]).min().unwrap_or(1),
        };
        let mut out = Vec::with_capacity(values.len());
        let mut filled = 0;
        out.push(values[0]);
        for (i, w) in timestamps.windows(2).enumerate() {
            let d = w[1] - w[0];
            if d % step != 0 {
                return Err(HostError::bad_input(format!(
                    "row {}: timestamp {} is {d} s after the previous one, not a whole number of the series' {step} s step",
                    i + 2,
                    show(w[1])
                )));
            }
            let missing = (d / step - 1) as usize;
            if missing > 0 {
                if gaps == Gaps::Refuse {
                    return Err(HostError::bad_input(format!(
                        "row {}: timestamp {} follows {} by {} steps of {step} s: {missing} missing (the gap rule is 'refuse'; 'fill' scores them as missing values)",
                        i + 2,
                        show(w[1]),
                        show(w[0]),
                        missing + 1
                    )));
                }
                if out.len() + missing + 1 > MAX_HISTORY {
                    return Err(too_long(out.len() + missing + 1));
                }
                out.resize(out.len() + missing, f64::NAN);
                filled += missing;
            }
            out.push(values[i + 1]);
        }
        if out.len() > MAX_HISTORY {
            return Err(too_long(out.len()));
        }
        Ok(History { values: out, start: Some(first), filled })
    }
}

fn too_long(n: usize) -> HostError {
    HostError::new(
        Code::TooLarge,
        format!("the history would hold {n} values; at most {MAX_HISTORY} are accepted"),
    )
}

/// A timestamp for messages: ISO 8601 UTC.
fn show(t: i64) -> String {
    crate::time::format_utc(t).unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;

    #[test]
    fn regular_history_passes_unchanged() {
        let h = History::timed(&[0, H, 2 * H], &[1.0, 2.0, 3.0], Some(H), Gaps::Fill).unwrap();
        assert_eq!((h.values, h.start, h.filled), (vec![1.0, 2.0, 3.0], Some(0), 0));
    }

    #[test]
    fn gaps_are_filled_or_refused_by_name() {
        let ts = [0, H, 5 * H, 6 * H];
        let h = History::timed(&ts, &[1.0, 2.0, 3.0, 4.0], Some(H), Gaps::Fill).unwrap();
        assert_eq!(h.values.len(), 7);
        assert!(h.values[2..5].iter().all(|v| v.is_nan()));
        assert_eq!((h.values[5], h.filled), (3.0, 3));
        let e = History::timed(&ts, &[1.0, 2.0, 3.0, 4.0], Some(H), Gaps::Refuse).unwrap_err();
        assert!(e.message.starts_with("row 3: timestamp 1970-01-01 05:00:00 follows 1970-01-01 01:00:00 by 4 steps of 3600 s: 3 missing"), "{}", e.message);
        // Without a model period the smallest spacing is the step.
        let h = History::timed(&[0, 60, 180], &[1.0, 2.0, 3.0], None, Gaps::Fill).unwrap();
        assert_eq!(h.filled, 1);
    }

    #[test]
    fn disorder_duplicates_and_odd_spacing_are_refused() {
        let e = History::timed(&[0, H, H], &[1.0; 3], Some(H), Gaps::Fill).unwrap_err();
        assert!(e.message.starts_with("row 3: timestamp 1970-01-01 01:00:00 repeats"), "{}", e.message);
        let e = History::timed(&[H, 0], &[1.0; 2], Some(H), Gaps::Fill).unwrap_err();
        assert!(e.message.contains("goes back before"), "{}", e.message);
        let e = History::timed(&[0, H, H + 1800], &[1.0; 3], Some(H), Gaps::Fill).unwrap_err();
        assert!(e.message.contains("row 3") && e.message.contains("1800 s after"), "{}", e.message);
    }

    #[test]
    fn history_values_follow_one_rule() {
        let v = history_values(&[
            Value::Int(3),
            Value::Null,
            Value::Text(" 2.5 "),
            Value::Text("NaN"),
            Value::Float(1.0),
        ])
        .unwrap();
        assert_eq!((v[0], v[2], v[4]), (3.0, 2.5, 1.0));
        assert!(v[1].is_nan() && v[3].is_nan());
        let e = history_values(&[Value::Int(1), Value::Text("abc")]).unwrap_err();
        assert_eq!(e.message, "row 2: a history value must be a number, got 'abc'");
        assert!(history_values(&[Value::Text("inf")]).is_err());
    }

    #[test]
    fn a_huge_claimed_gap_is_bounded() {
        let e = History::timed(&[0, 1 << 40], &[1.0, 2.0], Some(1), Gaps::Fill).unwrap_err();
        assert_eq!(e.code, Code::TooLarge);
    }
}
