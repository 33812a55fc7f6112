//! A batch of rows read back as values, for hosts that pass rows on rather than score them (a
//! remote endpoint): the inverse of [`crate::BatchBuilder`]. Tagged cells come back as they were
//! pushed; a dense batch's categorical level index comes back as the level's text, so the rows
//! can be written as CSV or JSON that any SageMaker-style endpoint reads.

use scorekit_abi::{Rows, RowsRequest};
use scorekit_core::{Cell, Field, FieldKind, Schema};

use crate::error::{Code, HostError, HostResult};

/// One value of a row, as written on the wire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WireValue<'a> {
    /// A missing value (an empty CSV field, JSON null).
    Missing,
    /// A number.
    Number(f64),
    /// Text: a category level or a number written as text, as the host received it.
    Text(&'a str),
}

fn corrupt(e: impl std::fmt::Display) -> HostError {
    HostError::new(Code::BadInput, format!("the rows batch is malformed: {e}"))
}

/// Calls `each(row_index, values)` for every row of `rows` (built for `schema`), in order.
///
/// # Errors
/// [`Code::BadInput`] for a malformed batch or a dense level index the schema does not have;
/// whatever `each` returns.
pub fn for_each_row(
    rows: &Rows,
    schema: &Schema,
    mut each: impl FnMut(usize, &[WireValue<'_>]) -> HostResult<()>,
) -> HostResult<()> {
    let req = RowsRequest::decode(rows.as_bytes()).map_err(corrupt)?;
    if req.n_cols != schema.inputs.len() {
        return Err(corrupt(format!("{} values per row for {} inputs", req.n_cols, schema.inputs.len())));
    }
    let mut cursor = req.cursor();
    let mut cells: Vec<Cell<'_>> = Vec::with_capacity(req.n_cols);
    let mut values: Vec<WireValue<'_>> = Vec::with_capacity(req.n_cols);
    let dense = req.layout == scorekit_abi::rows::Layout::Dense;
    while cursor.next_cells(&mut cells).map_err(corrupt)? {
        let index = cursor.row() - 1;
        values.clear();
        for (cell, field) in cells.iter().zip(&schema.inputs) {
            values.push(match *cell {
                Cell::Null => WireValue::Missing,
                Cell::Number(x) if dense => dense_value(field, x).ok_or_else(|| {
                    HostError::bad_input(format!(
                        "row {}, column '{}': level index {x} is not one of the {} levels",
                        req.row_base as usize + index + 1,
                        field.name,
                        level_count(field)
                    ))
                })?,
                Cell::Number(x) if x.is_nan() => WireValue::Missing,
                Cell::Number(x) => WireValue::Number(x),
                Cell::Text(t) => WireValue::Text(t),
            });
        }
        each(index, &values)?;
    }
    Ok(())
}

/// What the value `x` of `field` in a dense batch says: missing (NaN), the level's text (a
/// categorical input holds a level index), or the number. `None` for a level index the field
/// does not have (negative, a fraction, past the levels).
pub(crate) fn dense_value(field: &Field, x: f64) -> Option<WireValue<'_>> {
    if x.is_nan() {
        return Some(WireValue::Missing);
    }
    match &field.kind {
        FieldKind::Numeric => Some(WireValue::Number(x)),
        FieldKind::Categorical { .. } => field.level_named_by(x).map(WireValue::Text),
    }
}

fn level_count(field: &Field) -> usize {
    match &field.kind {
        FieldKind::Categorical { levels } => levels.len(),
        FieldKind::Numeric => 0,
    }
}

/// Splits `rows` into batches of at most `max_rows` rows, in order, each numbered on from where
/// it starts (its row base), so messages name the row of the whole batch.
///
/// # Errors
/// [`Code::BadInput`] for a malformed batch.
pub fn split(rows: &Rows, max_rows: usize) -> HostResult<Vec<Rows>> {
    let req = RowsRequest::decode(rows.as_bytes()).map_err(corrupt)?;
    let max_rows = max_rows.max(1);
    if req.n_rows <= max_rows {
        return Ok(vec![rows.clone()]);
    }
    let wire = |e: scorekit_abi::WireError| HostError::new(Code::TooLarge, e.to_string());
    let mut out = Vec::with_capacity(req.n_rows.div_ceil(max_rows));
    let mut cursor = req.cursor();
    let mut cells: Vec<Cell<'_>> = Vec::with_capacity(req.n_cols);
    let dense = req.layout == scorekit_abi::rows::Layout::Dense;
    let mut values: Vec<f64> = Vec::new();
    let mut cur = Rows::tagged(req.n_cols);
    let mut first = 0usize;
    let finish = |cur: Rows, values: &mut Vec<f64>, first: usize| -> HostResult<Rows> {
        let mut r = if dense { Rows::dense(req.n_cols, values).map_err(wire)? } else { cur };
        values.clear();
        r.set_row_base(rows.row_base() + first).map_err(wire)?;
        Ok(r)
    };
    let mut n = 0usize;
    while cursor.next_cells(&mut cells).map_err(corrupt)? {
        if n == max_rows {
            let done = std::mem::replace(&mut cur, Rows::tagged(req.n_cols));
            out.push(finish(done, &mut values, first)?);
            first += n;
            n = 0;
        }
        if dense {
            values.extend(cells.iter().map(|c| if let Cell::Number(x) = c { *x } else { f64::NAN }));
        } else {
            for c in &cells {
                cur.push_cell(*c).map_err(wire)?;
            }
            cur.end_row().map_err(wire)?;
        }
        n += 1;
    }
    out.push(finish(cur, &mut values, first)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorekit_core::{Family, Field};

    fn schema() -> Schema {
        Schema {
            name: "m".into(),
            family: Family::Gbt,
            inputs: vec![Field::numeric("x"), Field::categorical("plan", vec!["no".into(), "yes".into()])],
            target: None,
            positive_label: None,
            outputs: vec!["probability".into()],
        }
    }

    fn collect(rows: &Rows) -> HostResult<Vec<String>> {
        let mut out = Vec::new();
        for_each_row(rows, &schema(), |i, v| {
            out.push(format!("{i}:{v:?}"));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn tagged_and_dense_rows_read_back() {
        let tagged =
            Rows::from_cells(2, &[vec![Cell::Number(1.5), Cell::Text("yes")], vec![Cell::Null, Cell::Null]])
                .unwrap();
        assert_eq!(collect(&tagged).unwrap(), ["0:[Number(1.5), Text(\"yes\")]", "1:[Missing, Missing]"]);
        let dense = Rows::dense(2, &[2.0, 1.0, f64::NAN, 0.0]).unwrap();
        assert_eq!(collect(&dense).unwrap(), ["0:[Number(2.0), Text(\"yes\")]", "1:[Missing, Text(\"no\")]"]);
        let parts = split(&tagged, 1).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[1].row_base(), parts[1].n_rows()), (1, 1));
        assert_eq!(collect(&parts[1]).unwrap(), ["0:[Missing, Missing]"]);
        let parts = split(&dense, 1).unwrap();
        assert_eq!(collect(&parts[1]).unwrap(), ["0:[Missing, Text(\"no\")]"]);
        assert_eq!(split(&dense, 5).unwrap().len(), 1);
        let bad = Rows::dense(2, &[2.0, 7.0]).unwrap();
        assert!(collect(&bad).unwrap_err().message.contains("level index 7"));
    }

    #[test]
    fn a_dense_level_index_is_a_whole_number_within_the_levels() {
        let plan = &schema().inputs[1];
        assert_eq!(dense_value(plan, 1.0), Some(WireValue::Text("yes")));
        assert_eq!(dense_value(plan, f64::NAN), Some(WireValue::Missing));
        for x in [-1.0, -0.5, 0.5, 2.0, f64::INFINITY] {
            assert_eq!(dense_value(plan, x), None, "level index {x}");
        }
        assert_eq!(dense_value(&schema().inputs[0], -1.0), Some(WireValue::Number(-1.0)));
    }
}
