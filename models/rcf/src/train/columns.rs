//! Which columns of a training table are the readings. A host names columns; this decides.

use std::string::{String, ToString};
use std::vec::Vec;

use scorekit_core::{TableView, looks_like_time};

use crate::RcfError;

/// Where each role of a training table is, by column index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    /// The reading's values, in order.
    pub values: Vec<usize>,
    /// The timestamp column, when named.
    pub timestamp: Option<usize>,
    /// The 0/1 point-label column, when named (evaluation only).
    pub label: Option<usize>,
}

fn find(table: &dyn TableView, name: &str) -> Result<usize, RcfError> {
    table.find(name).ok_or_else(|| RcfError::UnknownColumn {
        name: name.to_string(),
        available: table.names().join(", "),
    })
}

/// Resolves the column roles. `values` empty means "every numeric column but the timestamp and
/// label columns, and never one whose name says it holds time" ([`looks_like_time`]): a Unix
/// seconds column is numeric but only grows, so as a feature it would make every reading new.
///
/// # Errors
/// [`RcfError::UnknownColumn`] for a name the table lacks, [`RcfError::NoValueColumns`] when no
/// column is left to read.
pub fn resolve_columns(
    table: &dyn TableView,
    values: &[String],
    timestamp: Option<&str>,
    label: Option<&str>,
) -> Result<Columns, RcfError> {
    let timestamp = timestamp.map(|c| find(table, c)).transpose()?;
    let label = label.map(|c| find(table, c)).transpose()?;
    let values: Vec<usize> = if values.is_empty() {
        (0..table.names().len())
            .filter(|c| Some(*c) != timestamp && Some(*c) != label)
            .filter(|c| !looks_like_time(&table.names()[*c]) && table.is_numeric(*c))
            .collect()
    } else {
        values.iter().map(|c| find(table, c)).collect::<Result<_, _>>()?
    };
    if values.is_empty() {
        return Err(RcfError::NoValueColumns);
    }
    Ok(Columns { values, timestamp, label })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorekit_core::Cell;
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

    fn table() -> T {
        T(
            ["timestamp", "cpu", "host", "label", "mem"].map(String::from).to_vec(),
            vec![vec!["1700000000", "0.5", "a", "0", "3"], vec!["1700000060", "0.7", "b", "1", "4"]],
        )
    }

    #[test]
    fn a_numeric_timestamp_is_never_a_default_feature() {
        let c = resolve_columns(&table(), &[], None, Some("label")).unwrap();
        assert_eq!(c.values, vec![1, 4], "cpu and mem, not timestamp, host or label");
        assert_eq!(c.label, Some(3));
        // Asked for explicitly, it is read.
        let c = resolve_columns(&table(), &["timestamp".to_string()], None, None).unwrap();
        assert_eq!(c.values, vec![0]);
    }

    #[test]
    fn unknown_and_empty_are_named() {
        let e = resolve_columns(&table(), &[], Some("when"), None).unwrap_err();
        assert_eq!(
            e,
            RcfError::UnknownColumn {
                name: "when".into(),
                available: "timestamp, cpu, host, label, mem".into()
            }
        );
        let only = T(vec!["ts".into(), "name".into()], vec![vec!["1", "x"]]);
        assert_eq!(resolve_columns(&only, &[], None, None).unwrap_err(), RcfError::NoValueColumns);
    }
}
