//! From a labelled table to a training problem: which columns are features (numeric or
//! categorical, with their levels), what the target is (binary with a positive label, or a
//! number for regression), and the encoded feature matrix. Hosts read files; this decides, so
//! every host that trains gets the same schema from the same table.

use std::collections::BTreeSet;
use std::format;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use scorekit_core::{Cell, Field, TableView, encode_row};

use crate::error::GbtError;
use crate::model::Objective;
use crate::train::split::guess_positive;

/// What the caller says about the table.
#[derive(Clone, Debug, Default)]
pub struct ProblemSpec<'a> {
    /// Target column.
    pub target: &'a str,
    /// Label counted as positive (default: [`guess_positive`]).
    pub positive: Option<&'a str>,
    /// Columns read as categorical even when numeric.
    pub categorical: &'a [String],
    /// Columns left out of the features.
    pub ignore: &'a [String],
}

/// The encoded training problem.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Schema inputs, in feature order.
    pub fields: Vec<Field>,
    /// Table column of each field.
    pub columns: Vec<usize>,
    /// Row-major features, `rows × fields.len()`.
    pub features: Vec<f64>,
    /// Target per row (0/1 for binary).
    pub target: Vec<f64>,
    /// The positive label of a binary target.
    pub positive: Option<String>,
    /// Binary classification or regression.
    pub objective: Objective,
}

fn text(cell: Cell<'_>) -> Option<String> {
    match cell {
        Cell::Null => None,
        Cell::Number(x) => Some(format!("{x}")),
        Cell::Text(t) if t.trim().is_empty() => None,
        Cell::Text(t) => Some(t.trim().to_string()),
    }
}

fn column(table: &dyn TableView, name: &str) -> Result<usize, GbtError> {
    table.find(name).ok_or_else(|| {
        GbtError::InvalidData(format!("no column named '{name}' (columns: {})", table.names().join(", ")))
    })
}

/// Reads the table into a [`Problem`]. A target with exactly two labels (or a named positive
/// label) is binary; otherwise it must be numeric (regression). Numeric columns are numeric
/// features unless listed as categorical; text columns are categorical with the levels seen.
///
/// # Errors
/// [`GbtError::InvalidData`] naming the column (unknown, empty, no features, missing or
/// non-numeric target, unknown positive label) or, from encoding, the row and column.
pub fn encode_table(table: &dyn TableView, spec: &ProblemSpec<'_>) -> Result<Problem, GbtError> {
    let target_col = column(table, spec.target)?;
    for name in spec.categorical.iter().chain(spec.ignore) {
        column(table, name)?;
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (col, name) in table.names().iter().enumerate() {
        if col == target_col || spec.ignore.contains(name) {
            continue;
        }
        if table.is_numeric(col) && !spec.categorical.contains(name) {
            fields.push(Field::numeric(name.clone()));
        } else {
            let levels: BTreeSet<String> =
                (0..table.rows()).filter_map(|r| text(table.cell(r, col))).collect();
            if levels.is_empty() {
                return Err(GbtError::InvalidData(format!("column '{name}' has no values")));
            }
            fields.push(Field::categorical(name.clone(), levels.into_iter().collect()));
        }
        columns.push(col);
    }
    if fields.is_empty() {
        return Err(GbtError::InvalidData(format!(
            "no feature columns besides the target '{}'",
            spec.target
        )));
    }

    let mut labels = Vec::with_capacity(table.rows());
    for r in 0..table.rows() {
        match text(table.cell(r, target_col)) {
            Some(l) => labels.push(l),
            None => {
                return Err(GbtError::InvalidData(format!(
                    "row {}, column '{}': the target is missing",
                    r + 1,
                    spec.target
                )));
            }
        }
    }
    let distinct: BTreeSet<&str> = labels.iter().map(String::as_str).collect();
    let list = || distinct.iter().copied().collect::<Vec<_>>().join(", ");
    let (objective, positive, target) = if distinct.len() == 2 || spec.positive.is_some() {
        if let Some(p) = spec.positive
            && !distinct.contains(p)
        {
            return Err(GbtError::InvalidData(format!(
                "positive label '{p}' is not a value of column '{}' (values: {})",
                spec.target,
                list()
            )));
        }
        if distinct.len() != 2 {
            return Err(GbtError::InvalidData(format!(
                "target '{}' has {} distinct values; binary classification needs 2",
                spec.target,
                distinct.len()
            )));
        }
        let positive =
            spec.positive.map(str::to_string).or_else(|| guess_positive(&labels)).unwrap_or_default();
        let y = labels.iter().map(|l| if *l == positive { 1.0 } else { 0.0 }).collect();
        (Objective::Binary, Some(positive), y)
    } else {
        let mut y = Vec::with_capacity(labels.len());
        for (r, l) in labels.iter().enumerate() {
            match l.parse::<f64>() {
                Ok(v) if v.is_finite() => y.push(v),
                _ => {
                    return Err(GbtError::InvalidData(format!(
                        "row {}, column '{}': expected a number, got '{l}' (target with {} distinct labels: not binary, so it must be numeric for regression)",
                        r + 1,
                        spec.target,
                        distinct.len()
                    )));
                }
            }
        }
        (Objective::Regression, None, y)
    };

    let width = fields.len();
    let mut features = vec![0.0; table.rows() * width];
    let mut cells = Vec::with_capacity(width);
    for r in 0..table.rows() {
        cells.clear();
        cells.extend(columns.iter().map(|&c| table.cell(r, c)));
        encode_row(&fields, &cells, r + 1, &mut features[r * width..(r + 1) * width])
            .map_err(|e| GbtError::InvalidData(e.to_string()))?;
    }
    Ok(Problem { fields, columns, features, target, positive, objective })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorekit_core::FieldKind;

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
            ["state", "calls", "area", "churn"].map(String::from).to_vec(),
            vec![vec!["KS", "1", "415", "no"], vec!["OH", "4", "408", "yes"], vec!["KS", "", "415", "no"]],
        )
    }

    #[test]
    fn schema_target_and_encoding() {
        let cat = ["area".to_string()];
        let p =
            encode_table(&table(), &ProblemSpec { target: "churn", categorical: &cat, ..Default::default() })
                .unwrap();
        assert_eq!(p.objective, Objective::Binary);
        assert_eq!(p.positive.as_deref(), Some("yes"));
        assert_eq!(p.target, vec![0.0, 1.0, 0.0]);
        assert_eq!(p.columns, vec![0, 1, 2]);
        assert_eq!(p.fields[0].kind, FieldKind::Categorical { levels: vec!["KS".into(), "OH".into()] });
        assert_eq!(p.fields[1].kind, FieldKind::Numeric);
        assert_eq!(p.fields[2].kind, FieldKind::Categorical { levels: vec!["408".into(), "415".into()] });
        // Row 3: KS → 0, missing calls → NaN, 415 → 1.
        assert_eq!(p.features[6], 0.0);
        assert!(p.features[7].is_nan());
        assert_eq!(p.features[8], 1.0);
    }

    #[test]
    fn regression_and_errors_name_the_problem() {
        let p = encode_table(&table(), &ProblemSpec { target: "calls", ..Default::default() });
        let e = p.unwrap_err().to_string();
        assert!(e.contains("row 3, column 'calls': the target is missing"), "{e}");
        let ignore = ["state".to_string(), "calls".to_string(), "churn".to_string()];
        let r =
            encode_table(&table(), &ProblemSpec { target: "area", ignore: &ignore, ..Default::default() });
        assert!(r.unwrap_err().to_string().contains("no feature columns"));
        let e = encode_table(
            &table(),
            &ProblemSpec { target: "churn", positive: Some("maybe"), ..Default::default() },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("positive label 'maybe' is not a value of column 'churn' (values: no, yes)"),
            "{e}"
        );
        let e = encode_table(&table(), &ProblemSpec { target: "nope", ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column named 'nope' (columns: state, calls, area, churn)"), "{e}");
        let num =
            T(["x".into(), "y".into()].to_vec(), vec![vec!["1", "0.5"], vec!["2", "1.5"], vec!["3", "2.5"]]);
        let p = encode_table(&num, &ProblemSpec { target: "y", ..Default::default() }).unwrap();
        assert_eq!((p.objective, p.target.clone()), (Objective::Regression, vec![0.5, 1.5, 2.5]));
    }
}
