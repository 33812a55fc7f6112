//! A read-only view of a training table, so that the model crates (not the hosts) decide which
//! columns become features, which one is the target and how rows are split. A host reads its
//! file format into anything that implements [`TableView`] and hands it over; the decisions and
//! their errors live in the model crates' `train` modules, one implementation for every host.

use crate::encode::Cell;

/// Rows × named columns of loosely typed cells (CSV text, JSON values, SQL datums).
pub trait TableView {
    /// Column names, in order.
    fn names(&self) -> &[alloc::string::String];
    /// Number of data rows.
    fn rows(&self) -> usize;
    /// The cell at `row` (0-based), `col`; both in range.
    fn cell(&self, row: usize, col: usize) -> Cell<'_>;

    /// Index of the column called `name`.
    fn find(&self, name: &str) -> Option<usize> {
        self.names().iter().position(|n| n == name)
    }

    /// Whether every present cell of `col` reads as a number (missing cells are allowed).
    fn is_numeric(&self, col: usize) -> bool {
        (0..self.rows()).all(|r| match self.cell(r, col) {
            Cell::Null | Cell::Number(_) => true,
            Cell::Text(t) => t.trim().is_empty() || t.trim().parse::<f64>().is_ok(),
        })
    }
}

/// Whether a column's name says it holds time (`timestamp`, `time`, `ts`, `date`, `datetime`,
/// `epoch`, or a name ending in `_time`, `_timestamp`, `_ts`, `_date`, `_at`), case-insensitive.
/// Such a column is never a feature unless the caller names it as one: a numeric Unix-seconds
/// column only grows, so a model that reads it learns the calendar position, not the reading.
pub fn looks_like_time(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    const EXACT: [&str; 8] =
        ["timestamp", "time", "ts", "date", "datetime", "date_time", "epoch", "unix_time"];
    const SUFFIX: [&str; 5] = ["_time", "_timestamp", "_ts", "_date", "_at"];
    EXACT.contains(&n.as_str()) || SUFFIX.iter().any(|s| n.ends_with(s) && n.len() > s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_names() {
        for n in ["timestamp", "Time", " TS ", "date", "DateTime", "created_at", "event_time", "unix_time"] {
            assert!(looks_like_time(n), "{n}");
        }
        for n in ["value", "temperature", "at", "_at", "timestamps_seen", "state", "date_of"] {
            assert!(!looks_like_time(n), "{n}");
        }
    }
}
