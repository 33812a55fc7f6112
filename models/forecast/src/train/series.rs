//! From a training table to series: which column is what, how gaps are handled, how rows are
//! grouped into series for global mode. Hosts read files and parse timestamps; these decide.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use scorekit_core::{Cell, TableView, looks_like_time};

use crate::error::ForecastError;

/// Where each role of a forecasting table is, by column index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesColumns {
    /// The values forecast.
    pub value: usize,
    /// The timestamp column: named by the caller, or found by its name ([`looks_like_time`])
    /// when the caller named none.
    pub timestamp: Option<usize>,
    /// Whether `timestamp` was found rather than named.
    pub timestamp_found: bool,
    /// The series-id column of global mode.
    pub series: Option<usize>,
}

fn find(table: &dyn TableView, name: &str) -> Result<usize, ForecastError> {
    table.find(name).ok_or_else(|| ForecastError::UnknownColumn {
        name: name.to_string(),
        available: table.names().join(", "),
    })
}

/// Resolves the column roles. Without a named value column, the only numeric column that is
/// neither the timestamp, the series id nor named like a time is the value. Without a named
/// timestamp column, a single column named like a time is taken as the timestamp, so that its
/// spacing is checked (gaps are never trained over silently).
///
/// # Errors
/// [`ForecastError::UnknownColumn`], or [`ForecastError::AmbiguousValue`] listing the
/// candidates when there is not exactly one.
pub fn resolve_series_columns(
    table: &dyn TableView,
    value: Option<&str>,
    timestamp: Option<&str>,
    series: Option<&str>,
) -> Result<SeriesColumns, ForecastError> {
    let series = series.map(|c| find(table, c)).transpose()?;
    let named_ts = timestamp.map(|c| find(table, c)).transpose()?;
    let time_named: Vec<usize> = (0..table.names().len())
        .filter(|c| Some(*c) != series && looks_like_time(&table.names()[*c]))
        .collect();
    let (timestamp, timestamp_found) = match (named_ts, value.is_some(), time_named.as_slice()) {
        (Some(c), _, _) => (Some(c), false),
        (None, _, [one]) if value != Some(table.names()[*one].as_str()) => (Some(*one), true),
        _ => (None, false),
    };
    let value = match value {
        Some(c) => find(table, c)?,
        None => {
            let numeric: Vec<usize> = (0..table.names().len())
                .filter(|c| Some(*c) != timestamp && Some(*c) != series)
                .filter(|c| !looks_like_time(&table.names()[*c]) && table.is_numeric(*c))
                .collect();
            match numeric.as_slice() {
                [one] => *one,
                _ => {
                    return Err(ForecastError::AmbiguousValue(
                        numeric.iter().map(|c| table.names()[*c].clone()).collect::<Vec<_>>().join(", "),
                    ));
                }
            }
        }
    };
    Ok(SeriesColumns { value, timestamp, timestamp_found, series })
}

/// What to do with missing steps in a timestamped series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapRule {
    /// Refuse, naming the timestamps around the first gap.
    Refuse,
    /// Insert the missing steps as missing values (NaN); training carries the last value forward
    /// over them and refuses a series with more than one value in ten missing.
    Fill,
}

/// Puts `values` on a regular grid of spacing `step` (the smallest positive spacing when
/// `None`). Timestamps must increase strictly; a spacing that is not a whole number of steps is
/// refused whatever the rule; missing whole steps follow `rule`.
///
/// # Errors
/// [`ForecastError::BadTimestamps`] naming the offending timestamp (duplicate, decreasing, off
/// the grid), [`ForecastError::Gap`] under [`GapRule::Refuse`].
pub fn regularise(
    values: &[f64],
    timestamps: &[i64],
    step: Option<i64>,
    rule: GapRule,
) -> Result<(Vec<f64>, Vec<i64>), ForecastError> {
    if values.len() != timestamps.len() {
        return Err(ForecastError::BadTimestamps(format!(
            "{} timestamps for {} values",
            timestamps.len(),
            values.len()
        )));
    }
    if let Some(i) = timestamps.windows(2).position(|w| w[1] <= w[0]) {
        let what = if timestamps[i + 1] == timestamps[i] { "repeats" } else { "goes back from" };
        return Err(ForecastError::BadTimestamps(format!(
            "row {}: timestamp {} {what} the previous one ({})",
            i + 2,
            timestamps[i + 1],
            timestamps[i]
        )));
    }
    let step = match step {
        Some(s) if s > 0 => s,
        Some(s) => return Err(ForecastError::BadTimestamps(format!("step {s} s must be positive"))),
        None => timestamps.windows(2).map(|w| w[1] - w[0]).min().unwrap_or(1),
    };
    let (mut y, mut ts) = (Vec::with_capacity(values.len()), Vec::with_capacity(timestamps.len()));
    for (i, (&v, &t)) in values.iter().zip(timestamps).enumerate() {
        if let Some(&last) = ts.last() {
            let gap: i64 = t - last;
            if gap % step != 0 {
                return Err(ForecastError::BadTimestamps(format!(
                    "row {}: timestamp {t} is {gap} s after the previous one, not a multiple of the {step} s step",
                    i + 1
                )));
            }
            let missing = gap / step - 1;
            if missing > 0 && rule == GapRule::Refuse {
                return Err(ForecastError::Gap { after: last, before: t, missing: missing as usize, step });
            }
            for k in 1..=missing {
                y.push(f64::NAN);
                ts.push(last + k * step);
            }
        }
        y.push(v);
        ts.push(t);
    }
    Ok((y, ts))
}

/// Rows grouped by the text of their series-id cell, in order of first appearance.
pub fn group_rows(table: &dyn TableView, series: usize) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for r in 0..table.rows() {
        let id = match table.cell(r, series) {
            Cell::Null => String::new(),
            Cell::Number(x) => format!("{x}"),
            Cell::Text(t) => t.trim().to_string(),
        };
        match groups.iter_mut().find(|g| g.0 == id) {
            Some(g) => g.1.push(r),
            None => groups.push((id, Vec::from([r]))),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    struct T(Vec<String>, Vec<Vec<&'static str>>);
    impl TableView for T {
        fn names(&self) -> &[String] {
            &self.0
        }
        fn rows(&self) -> usize {
            self.1.len()
        }
        fn cell(&self, row: usize, col: usize) -> Cell<'_> {
            Cell::Text(self.1[row][col])
        }
    }

    #[test]
    fn a_time_named_column_is_found_and_never_the_value() {
        let t = T(
            vec!["timestamp".into(), "demand".into(), "site".into()],
            vec![vec!["1700000000", "5", "a"], vec!["1700003600", "6", "b"]],
        );
        let c = resolve_series_columns(&t, None, None, Some("site")).unwrap();
        assert_eq!(c, SeriesColumns { value: 1, timestamp: Some(0), timestamp_found: true, series: Some(2) });
        let groups = group_rows(&t, 2);
        assert_eq!(groups, vec![("a".to_string(), vec![0]), ("b".to_string(), vec![1])]);
        let two = T(vec!["a".into(), "b".into()], vec![vec!["1", "2"]]);
        assert_eq!(
            resolve_series_columns(&two, None, None, None).unwrap_err(),
            ForecastError::AmbiguousValue("a, b".into())
        );
        assert!(matches!(
            resolve_series_columns(&two, Some("c"), None, None).unwrap_err(),
            ForecastError::UnknownColumn { .. }
        ));
    }

    #[test]
    fn gaps_are_refused_with_their_timestamps_or_filled() {
        let v = [1.0, 2.0, 3.0, 4.0];
        let ts = [0, 3600, 3 * 3600, 4 * 3600];
        let e = regularise(&v, &ts, None, GapRule::Refuse).unwrap_err();
        assert_eq!(e, ForecastError::Gap { after: 3600, before: 10_800, missing: 1, step: 3600 });
        assert!(e.to_string().contains("1 step(s) of 3600 s missing between 3600 and 10800"), "{e}");
        let (y, t) = regularise(&v, &ts, None, GapRule::Fill).unwrap();
        assert_eq!(t, vec![0, 3600, 7200, 10_800, 14_400]);
        assert!(y[2].is_nan() && y[3] == 3.0);
        let dup = regularise(&v, &[0, 3600, 3600, 7200], None, GapRule::Fill).unwrap_err();
        assert!(dup.to_string().contains("row 3: timestamp 3600 repeats"), "{dup}");
        let off = regularise(&v, &[0, 3600, 5400, 9000], Some(3600), GapRule::Fill).unwrap_err();
        assert!(off.to_string().contains("not a multiple of the 3600 s step"), "{off}");
    }
}
