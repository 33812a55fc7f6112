//! Wire formats spoken over HTTP, each turned into rows of cells (or forecast requests) for the
//! module and back. Parsing here is purely syntactic: whether `"415"` is a valid `area_code` is for
//! the module to decide, so every host reports bad values with the same words.

pub mod csv;
pub mod deepar;
pub mod json;
pub mod media;
pub mod time;

use std::borrow::Cow;

use scorekit_core::{Cell, Schema};

use crate::error::ApiError;

/// One input value as parsed from a request, owning or borrowing its text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Missing (JSON null, empty CSV field).
    Null,
    /// A number.
    Number(f64),
    /// Text: a category level or a number written as text.
    Text(Cow<'a, str>),
}

impl Value<'_> {
    /// The cell the module receives.
    pub fn as_cell(&self) -> Cell<'_> {
        match self {
            Value::Null => Cell::Null,
            Value::Number(x) => Cell::Number(*x),
            Value::Text(t) => Cell::Text(t),
        }
    }
}

/// A batch of rows, row-major, `n_cols` values per row.
#[derive(Debug, Default, Clone)]
pub struct Rows<'a> {
    /// Values per row (the schema's number of inputs).
    pub n_cols: usize,
    /// All values, row-major.
    pub values: Vec<Value<'a>>,
}

impl<'a> Rows<'a> {
    /// An empty batch of `n_cols`-wide rows.
    pub fn new(n_cols: usize) -> Self {
        Rows { n_cols, values: Vec::new() }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.n_cols).unwrap_or(0)
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The cells, for a module call.
    pub fn cells(&self) -> Vec<Cell<'_>> {
        self.values.iter().map(Value::as_cell).collect()
    }

    /// Appends one row given positionally; `what` names the row in errors (e.g. `line 3`).
    ///
    /// # Errors
    /// 400 when the row has the wrong number of values.
    pub fn push_row(
        &mut self,
        schema: &Schema,
        what: &str,
        row: impl ExactSizeIterator<Item = Value<'a>>,
    ) -> Result<(), ApiError> {
        if row.len() != self.n_cols {
            return Err(ApiError::bad_request(format!(
                "{what}: expected {} values (the inputs of model '{}': {}), got {}",
                self.n_cols,
                schema.name,
                input_names(schema),
                row.len()
            )));
        }
        self.values.extend(row);
        Ok(())
    }
}

/// The schema's input names, comma-separated (shortened when long), for messages.
pub fn input_names(schema: &Schema) -> String {
    const SHOW: usize = 24;
    let mut s: Vec<&str> = schema.inputs.iter().take(SHOW).map(|f| f.name.as_str()).collect();
    if schema.inputs.len() > SHOW {
        s.push("…");
    }
    s.join(", ")
}

/// Formats an f64 the shortest way that reads back to the same bits (`0.1` not `0.1000000001`).
/// Non-finite values (never produced by scoring, but never trusted either) become `null` in JSON.
pub fn fmt_f64(out: &mut String, x: f64) {
    use std::fmt::Write;
    if x.is_finite() {
        let _ = write!(out, "{x}");
    } else {
        out.push_str("null");
    }
}

/// Rows from a body in `media`.
///
/// # Errors
/// 400 naming the line/row and column.
pub fn rows_from_body<'a>(
    media: media::Media,
    body: &'a [u8],
    schema: &Schema,
) -> Result<Rows<'a>, ApiError> {
    match media {
        media::Media::Csv => csv::parse(body, schema),
        media::Media::Json => json::rows_from_json(&json::parse_json(body)?, schema),
        media::Media::JsonLines => json::rows_from_lines(body, schema),
    }
}
