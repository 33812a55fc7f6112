//! Turning a row of loosely typed cells (what CSV, JSON, SQL and JavaScript hand over) into the
//! `f64` feature vector a model reads. Every host goes through this one function, so an unknown
//! category or a stray string is reported identically everywhere.

use alloc::format;
use alloc::string::{String, ToString};

use crate::error::InputError;
use crate::schema::{Field, FieldKind};

/// One input value as a host received it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// SQL NULL, JSON null, an empty CSV field: a missing value.
    Null,
    /// A number.
    Number(f64),
    /// Text: a category level, or a number written as text.
    Text(&'a str),
}

const MAX_ECHO: usize = 64;

fn echo(s: &str) -> String {
    if s.len() <= MAX_ECHO {
        return s.to_string();
    }
    let mut end = MAX_ECHO;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn known_levels(levels: &[String]) -> String {
    const SHOW: usize = 8;
    let mut out = String::new();
    for (i, l) in levels.iter().take(SHOW).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&echo(l));
    }
    if levels.len() > SHOW {
        out.push_str(&format!(", … {} levels in all", levels.len()));
    }
    out
}

/// Formats a number the way a level written from it would look (`415.0` → `415`).
fn number_as_level(x: f64) -> String {
    if x.is_finite() && x == libm::trunc(x) && libm::fabs(x) < 1e15 {
        format!("{}", x as i64)
    } else {
        crate::decimal::to_text(x)
    }
}

/// Encodes `row` (one cell per schema input, in order) into `out`.
///
/// Numeric cells pass through (text is parsed as a number); categorical cells become the index of
/// their level. A [`Cell::Null`], an empty text, or a NaN becomes `NaN`, the models' marker for a
/// missing value; models that cannot take missing values reject it themselves.
///
/// # Errors
/// [`InputError::Arity`] when `row` or `out` has the wrong length, [`InputError::NotANumber`],
/// [`InputError::NotFinite`] for infinities, [`InputError::UnknownCategory`] for an unseen level.
pub fn encode_row(
    inputs: &[Field],
    row: &[Cell<'_>],
    row_index: usize,
    out: &mut [f64],
) -> Result<(), InputError> {
    if row.len() != inputs.len() || out.len() != inputs.len() {
        return Err(InputError::Arity { row: row_index, expected: inputs.len(), got: row.len() });
    }
    for ((field, cell), slot) in inputs.iter().zip(row).zip(out.iter_mut()) {
        *slot = encode_cell(field, *cell, row_index)?;
    }
    Ok(())
}

/// Encodes one cell of `field`; see [`encode_row`].
///
/// # Errors
/// As [`encode_row`].
pub fn encode_cell(field: &Field, cell: Cell<'_>, row_index: usize) -> Result<f64, InputError> {
    match (&field.kind, cell) {
        (_, Cell::Null) => Ok(f64::NAN),
        (_, Cell::Text(t)) if t.trim().is_empty() => Ok(f64::NAN),
        (FieldKind::Numeric, Cell::Number(x)) => check_finite(field, x, row_index),
        (FieldKind::Numeric, Cell::Text(t)) => {
            let t = t.trim();
            if t.eq_ignore_ascii_case("nan") || t.eq_ignore_ascii_case("na") || t == "?" {
                return Ok(f64::NAN);
            }
            match t.parse::<f64>() {
                Ok(x) => check_finite(field, x, row_index),
                Err(_) => {
                    Err(InputError::NotANumber { row: row_index, column: field.name.clone(), value: echo(t) })
                }
            }
        }
        (FieldKind::Categorical { levels }, Cell::Text(t)) => lookup(field, levels, t, row_index),
        (FieldKind::Categorical { levels }, Cell::Number(x)) => {
            if x.is_nan() {
                return Ok(f64::NAN);
            }
            lookup(field, levels, &number_as_level(x), row_index)
        }
    }
}

fn check_finite(field: &Field, x: f64, row_index: usize) -> Result<f64, InputError> {
    if x.is_infinite() {
        return Err(InputError::NotFinite {
            row: row_index,
            column: field.name.clone(),
            value: crate::decimal::to_text(x),
        });
    }
    Ok(x)
}

fn lookup(field: &Field, levels: &[String], text: &str, row_index: usize) -> Result<f64, InputError> {
    let wanted = text.trim();
    match levels.iter().position(|l| l == wanted) {
        Some(i) => Ok(i as f64),
        None => Err(InputError::UnknownCategory {
            row: row_index,
            column: field.name.clone(),
            value: echo(wanted),
            known: known_levels(levels),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn fields() -> Vec<Field> {
        vec![
            Field::numeric("x"),
            Field::categorical("plan", vec!["no".into(), "yes".into()]),
            Field::categorical("area", vec!["408".into(), "415".into()]),
        ]
    }

    #[test]
    fn encodes_numbers_levels_and_missing() {
        let mut out = [0.0; 3];
        encode_row(&fields(), &[Cell::Text("2.5"), Cell::Text("yes"), Cell::Number(415.0)], 0, &mut out)
            .unwrap();
        assert_eq!(out, [2.5, 1.0, 1.0]);
        encode_row(&fields(), &[Cell::Null, Cell::Text(""), Cell::Number(f64::NAN)], 0, &mut out).unwrap();
        assert!(out.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn errors_name_row_and_column() {
        let mut out = [0.0; 3];
        let e = encode_row(&fields(), &[Cell::Text("abc"), Cell::Text("no"), Cell::Null], 4, &mut out)
            .unwrap_err();
        assert_eq!(e.to_string(), "row 4, column 'x': expected a number, got 'abc'");
        let e = encode_row(&fields(), &[Cell::Number(1.0), Cell::Text("maybe"), Cell::Null], 2, &mut out)
            .unwrap_err();
        assert_eq!(e.to_string(), "row 2, column 'plan': unknown category 'maybe' (known: no, yes)");
        let e = encode_row(&fields(), &[Cell::Number(1.0)], 0, &mut out).unwrap_err();
        assert_eq!(e, InputError::Arity { row: 0, expected: 3, got: 1 });
        let e = encode_row(&fields(), &[Cell::Number(f64::INFINITY), Cell::Null, Cell::Null], 0, &mut out)
            .unwrap_err();
        assert!(matches!(e, InputError::NotFinite { .. }));
    }
}
