//! One conversion of host values into model cells, for every host.
//!
//! A host reads its own values (CSV fields, JSON values, SQL datums, JavaScript values) as
//! [`Value`]s and pushes them through a [`BatchBuilder`], which applies the rules below and writes
//! the ABI rows request a scorer takes. Turning a cell into a feature (parsing numbers, matching
//! category levels) is the model's job, inside the module, so those errors read the same on every
//! host; what is decided here is only what a host value *is*:
//!
//! | host value | numeric input | categorical input |
//! |---|---|---|
//! | null (SQL NULL, JSON null, empty CSV field, empty/blank text, NaN) | missing, or an error under [`NullInputs::Error`] | same |
//! | boolean | 1 / 0 | the level `true` / `false` |
//! | integer | the number | the level spelled in decimal (`415` → `"415"`) |
//! | float | the number | the level of its shortest text (`415.0` → `"415"`, `2.5` → `"2.5"`) |
//! | text | the number it spells (the model parses it; `NA`, `nan`, `?` are missing) | the level, matched exactly after trimming |
//! | anything else (JSON array or object) | refused, naming row and column | same |
//!
//! Rows given by name (JSON objects, CSV with a header, SQL records): keys that are not model
//! inputs are ignored; an input with no key is an error under [`AbsentInputs::Error`] (the
//! default: a misspelt column would otherwise score as missing and give a plausible wrong
//! answer) or missing under [`AbsentInputs::Missing`]. Rows given by position must have exactly
//! one value per input. Rows are numbered from 1 (plus the batch's row base) in every message.

use scorekit_abi::Rows;
use scorekit_abi::rows::RowMark;
use scorekit_core::{Cell, Encoder, Field, FieldKind, Schema, decimal, encode};

use crate::error::{Code, HostError, HostResult};
#[cfg(feature = "dense-rows")]
use crate::scorer::ModelInfo;

/// One input value as a host received it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// SQL NULL, JSON null, an empty CSV field.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer (SQL integer types, JSON integers).
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text: a category level, or a number written as text.
    Text(&'a str),
}

impl Value<'_> {
    /// Whether the value counts as null under the null-input policy.
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Float(x) => x.is_nan(),
            Value::Text(t) => encode::trim(t).is_empty(),
            _ => false,
        }
    }
}

/// What a null input becomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NullInputs {
    /// A missing value: the model's learned default (GBT) — what SageMaker and XGBoost do with
    /// an empty CSV field, and what Aurora sends for a SQL NULL.
    #[default]
    Missing,
    /// An error naming the row and the input.
    Error,
}

impl NullInputs {
    /// Parses `missing` / `error`.
    ///
    /// # Errors
    /// A message listing the accepted words.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "missing" => Ok(NullInputs::Missing),
            "error" => Ok(NullInputs::Error),
            other => Err(format!("null-input policy '{other}' is not one of: missing, error")),
        }
    }

    /// The policy's word.
    pub fn as_str(self) -> &'static str {
        match self {
            NullInputs::Missing => "missing",
            NullInputs::Error => "error",
        }
    }
}

/// What an input with no key (by-name rows) becomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AbsentInputs {
    /// An error naming the row, the input and the inputs the model takes.
    #[default]
    Error,
    /// A null input (then [`NullInputs`] applies).
    Missing,
}

impl AbsentInputs {
    /// Parses `error` / `missing`.
    ///
    /// # Errors
    /// A message listing the accepted words.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "missing" => Ok(AbsentInputs::Missing),
            "error" => Ok(AbsentInputs::Error),
            other => Err(format!("absent-input policy '{other}' is not one of: error, missing")),
        }
    }

    /// The policy's word.
    pub fn as_str(self) -> &'static str {
        match self {
            AbsentInputs::Missing => "missing",
            AbsentInputs::Error => "error",
        }
    }
}

/// The input policy of a host: the same default everywhere, configurable where a host needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputPolicy {
    /// What a null input becomes.
    pub nulls: NullInputs,
    /// What an input with no key becomes.
    pub absent: AbsentInputs,
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

/// Builds a batch of rows for a model from host values, applying the host layer's rules.
///
/// Built for a model's [`ModelInfo`] ([`BatchBuilder::for_model`]), a batch is sent *dense*:
/// each cell already encoded by the model's own rules (scorekit-core's [`Encoder`], the very
/// code the module runs on a cell), which spares the module decoding and matching it (29 % of
/// a churn row's time in the module: docs/eval-wasm.md). The first value that the model would
/// refuse (an unknown level, a text that is no number, an infinity) turns the batch into tagged
/// cells, which mean the same to the model, and goes as it came, so the module words the error
/// exactly as it does for every other host. Built for a bare schema ([`BatchBuilder::new`]), a
/// batch is always tagged. (Feature `dense-rows`: the browser's glue leaves it out, 20 KB of
/// level matching and number parsing it would otherwise link.)
#[derive(Debug)]
pub struct BatchBuilder<'s> {
    schema: &'s Schema,
    policy: InputPolicy,
    rows: Rows,
    /// Text of integers and booleans for categorical inputs, reused.
    scratch: String,
    /// The model's level matching while the batch is dense (always `None` without the feature
    /// `dense-rows`).
    #[cfg_attr(not(feature = "dense-rows"), allow(dead_code))]
    levels: Option<&'s Encoder>,
    /// Where the row being built starts, to roll a failed row back to.
    row_start: RowMark,
}

impl<'s> BatchBuilder<'s> {
    /// An empty batch for `schema` under `policy`; rows are numbered from 1.
    pub fn new(schema: &'s Schema, policy: InputPolicy) -> Self {
        Self::build(schema, None, policy, Rows::default())
    }

    /// An empty batch that writes into `rows`' buffer (a host scoring row after row keeps one
    /// buffer instead of allocating a request per call).
    pub fn reusing(schema: &'s Schema, policy: InputPolicy, rows: Rows) -> Self {
        Self::build(schema, None, policy, rows)
    }

    /// An empty batch for the model `info` describes, sent dense while every value allows it
    /// (see [`BatchBuilder`]); rows are numbered from 1.
    #[cfg(feature = "dense-rows")]
    pub fn for_model(info: &'s ModelInfo, policy: InputPolicy) -> Self {
        Self::build(info.schema(), Some(info.levels()), policy, Rows::default())
    }

    /// [`BatchBuilder::for_model`], writing into `rows`' buffer.
    #[cfg(feature = "dense-rows")]
    pub fn reusing_for_model(info: &'s ModelInfo, policy: InputPolicy, rows: Rows) -> Self {
        Self::build(info.schema(), Some(info.levels()), policy, rows)
    }

    fn build(schema: &'s Schema, levels: Option<&'s Encoder>, policy: InputPolicy, mut rows: Rows) -> Self {
        let n = schema.inputs.len();
        // A model without inputs has no dense form (a dense request needs a width).
        let levels = levels.filter(|_| n > 0);
        if levels.is_some() {
            rows.clear_dense(n);
        } else {
            rows.clear_tagged(n);
        }
        let row_start = rows.mark();
        BatchBuilder { schema, policy, rows, scratch: String::new(), levels, row_start }
    }

    /// Numbers this batch's rows from `row_base + 1` (a chunk in the middle of a file).
    ///
    /// # Errors
    /// [`Code::TooLarge`] past 2^32 rows.
    pub fn with_row_base(mut self, row_base: usize) -> HostResult<Self> {
        self.rows.set_row_base(row_base).map_err(|e| HostError::new(Code::TooLarge, e.to_string()))?;
        Ok(self)
    }

    /// The schema the rows are built for.
    pub fn schema(&self) -> &'s Schema {
        self.schema
    }

    /// The policy applied.
    pub fn policy(&self) -> InputPolicy {
        self.policy
    }

    /// Number of the next row in messages (from 1, plus the row base).
    pub fn next_row_number(&self) -> usize {
        self.rows.row_base() + self.rows.n_rows() + 1
    }

    /// Rows pushed so far.
    pub fn len(&self) -> usize {
        self.rows.n_rows()
    }

    /// Whether no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Bytes of the encoded rows so far (for size bounds).
    pub fn encoded_len(&self) -> usize {
        self.rows.as_bytes().len()
    }

    /// The batch.
    pub fn finish(self) -> Rows {
        self.rows
    }

    /// Appends a row given by position: one value per model input, in schema order.
    ///
    /// # Errors
    /// [`Code::BadInput`] naming the row when the count is wrong; as [`BatchBuilder::push_value`].
    pub fn push_positional<'v>(&mut self, values: &[Value<'v>]) -> HostResult<()> {
        let n = self.schema.inputs.len();
        if values.len() != n {
            return Err(HostError::bad_input(format!(
                "row {}: expected {n} values (the inputs of model '{}': {}), got {}",
                self.next_row_number(),
                self.schema.name,
                input_names(self.schema),
                values.len()
            )));
        }
        self.push_each(|_, i| Ok(values[i]))
    }

    /// [`BatchBuilder::push_positional`] without a slice: `value_of(i)` is the value of input `i`
    /// (`0..` the model's input count, in schema order), for a host whose values are one per
    /// input by construction (a typed SQL function's arguments) and that would otherwise collect
    /// them per row.
    ///
    /// # Errors
    /// As [`BatchBuilder::push_value`].
    pub fn push_positional_with<'v>(
        &mut self,
        mut value_of: impl FnMut(usize) -> Value<'v>,
    ) -> HostResult<()> {
        self.push_each(|_, i| Ok(value_of(i)))
    }

    /// Appends a row given by name: `lookup(input name)` is the value of that key, `None` when
    /// the row has no such key. Other keys of the row are never asked for (they are ignored).
    ///
    /// # Errors
    /// [`Code::BadInput`] for an absent input under [`AbsentInputs::Error`]; as
    /// [`BatchBuilder::push_value`].
    pub fn push_named<'v>(&mut self, mut lookup: impl FnMut(&str) -> Option<Value<'v>>) -> HostResult<()> {
        let (schema, absent, row) = (self.schema, self.policy.absent, self.next_row_number());
        self.push_each(|field, _| match lookup(&field.name) {
            Some(v) => Ok(v),
            None if absent == AbsentInputs::Missing => Ok(Value::Null),
            None => Err(HostError::bad_input(format!(
                "row {row}: input '{}' is missing (model '{}' takes: {})",
                field.name,
                schema.name,
                input_names(schema)
            ))),
        })
    }

    /// Appends a row given as one optional value per model input, in schema order: `None` is an
    /// input with no key (the absent-input policy applies), `Some` its value.
    ///
    /// # Errors
    /// As [`BatchBuilder::push_named`]; [`Code::BadInput`] when `values` has the wrong length.
    pub fn push_fields<'v>(&mut self, values: &[Option<Value<'v>>]) -> HostResult<()> {
        if values.len() != self.schema.inputs.len() {
            return Err(HostError::bad_input(format!(
                "row {}: expected {} values, got {}",
                self.next_row_number(),
                self.schema.inputs.len(),
                values.len()
            )));
        }
        let (schema, absent, row) = (self.schema, self.policy.absent, self.next_row_number());
        self.push_each(|field, i| match values[i] {
            Some(v) => Ok(v),
            None if absent == AbsentInputs::Missing => Ok(Value::Null),
            None => Err(HostError::bad_input(format!(
                "row {row}: input '{}' is missing (model '{}' takes: {})",
                field.name,
                schema.name,
                input_names(schema)
            ))),
        })
    }

    fn push_each<'v>(
        &mut self,
        mut value: impl FnMut(&Field, usize) -> HostResult<Value<'v>>,
    ) -> HostResult<()> {
        let schema = self.schema;
        let row = self.next_row_number();
        self.row_start = self.rows.mark();
        let mut result = schema.inputs.iter().enumerate().try_for_each(|(i, field)| {
            let v = value(field, i)?;
            self.push_value(i, field, v, row)
        });
        if result.is_ok() {
            result = self.rows.end_row().map_err(|e| HostError::bad_input(e.to_string()));
        }
        if result.is_err() {
            // A failed row leaves nothing behind: the batch stays usable.
            self.rows.rollback(self.row_start);
        }
        result
    }

    /// Appends one value of `field` to the row being built, applying the rules of this module.
    ///
    /// # Errors
    /// [`Code::NullInput`] for a null under [`NullInputs::Error`].
    // Inlined where rows go dense (the hot path of native hosts); the browser's glue is built for size.
    #[cfg_attr(feature = "dense-rows", inline)]
    fn push_value(&mut self, i: usize, field: &Field, value: Value<'_>, row: usize) -> HostResult<()> {
        if value.is_null() {
            if self.policy.nulls == NullInputs::Error {
                return Err(HostError::new(
                    Code::NullInput,
                    format!(
                        "row {row}, column '{}': value is null (the null-input policy is 'error'; 'missing' scores it as a missing value)",
                        field.name
                    ),
                ));
            }
            return self.push_cell(i, Cell::Null, row);
        }
        let numeric = matches!(field.kind, FieldKind::Numeric);
        let cell = match value {
            Value::Null => Cell::Null,
            Value::Bool(b) if numeric => Cell::Number(if b { 1.0 } else { 0.0 }),
            Value::Bool(b) => Cell::Text(if b { "true" } else { "false" }),
            Value::Int(i) if numeric => Cell::Number(i as f64),
            Value::Int(n) => {
                use std::fmt::Write;
                let mut text = std::mem::take(&mut self.scratch);
                text.clear();
                let _ = write!(text, "{n}");
                let pushed = self.push_cell(i, Cell::Text(&text), row);
                self.scratch = text;
                return pushed;
            }
            Value::Float(x) => Cell::Number(x),
            // Numbers parsed here are parsed exactly as the model would (trim, then Rust's f64
            // grammar); anything else goes as text so the model words the error.
            Value::Text(t) if numeric => match decimal::parse(encode::trim(t)) {
                Ok(x) if x.is_finite() => Cell::Number(x),
                _ => Cell::Text(t),
            },
            Value::Text(t) => Cell::Text(t),
        };
        self.push_cell(i, cell, row)
    }

    /// Appends the cell of input `i`: encoded while the batch is dense and the model takes it,
    /// else as a tagged cell (the batch turning tagged first).
    // Inlined where rows go dense (the hot path of native hosts); the browser's glue is built for size.
    #[cfg_attr(feature = "dense-rows", inline)]
    fn push_cell(&mut self, i: usize, cell: Cell<'_>, row: usize) -> HostResult<()> {
        let wire = |e: scorekit_abi::WireError| HostError::new(Code::TooLarge, e.to_string());
        #[cfg(not(feature = "dense-rows"))]
        let _ = (i, row);
        #[cfg(feature = "dense-rows")]
        if let Some(levels) = self.levels {
            if let Ok(x) = levels.encode_cell(i, cell, row) {
                return self.rows.push_number(x).map_err(wire);
            }
            self.turn_tagged()?;
        }
        self.rows.push_cell(cell).map_err(wire)
    }

    /// Rewrites the dense batch as tagged cells that the model reads as the same values: a
    /// missing value as null, a number as itself, a level index as the level's text (the first
    /// level with that text is that level: the index came from matching it). The row being built
    /// keeps its cells and its place to roll back to.
    #[cfg(feature = "dense-rows")]
    fn turn_tagged(&mut self) -> HostResult<()> {
        use crate::formats::rows::WireValue;
        let wire = |e: scorekit_abi::WireError| HostError::new(Code::TooLarge, e.to_string());
        let inputs = &self.schema.inputs;
        let n = inputs.len();
        let done = self.rows.n_rows() * n;
        let mut tagged = Rows::tagged(n);
        tagged.set_row_base(self.rows.row_base()).map_err(wire)?;
        for (k, x) in self.rows.dense_values().enumerate() {
            if k == done {
                self.row_start = tagged.mark();
            }
            let field = &inputs[k % n];
            // The one reading of a dense value (the same as a remote endpoint's body gets).
            let cell = match crate::formats::rows::dense_value(field, x) {
                Some(WireValue::Missing) => Cell::Null,
                Some(WireValue::Number(x)) => Cell::Number(x),
                Some(WireValue::Text(level)) => Cell::Text(level),
                None => {
                    return Err(HostError::new(
                        Code::ModuleFailed,
                        format!("input '{}': level index {x} is not one of the model's levels", field.name),
                    ));
                }
            };
            tagged.push_cell(cell).map_err(wire)?;
            if k % n == n - 1 {
                tagged.end_row().map_err(wire)?;
            }
        }
        if done == self.rows.dense_values().count() {
            self.row_start = tagged.mark();
        }
        self.rows = tagged;
        self.levels = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorekit_abi::RowsRequest;
    use scorekit_core::Family;

    pub(crate) fn schema() -> Schema {
        Schema {
            name: "m".into(),
            family: Family::Gbt,
            inputs: vec![
                Field::numeric("x"),
                Field::categorical("plan", vec!["no".into(), "yes".into()]),
                Field::categorical("area", vec!["408".into(), "415".into()]),
            ],
            target: None,
            positive_label: None,
            outputs: vec!["probability".into()],
        }
    }

    fn cells(rows: &Rows) -> Vec<Vec<String>> {
        let req = RowsRequest::decode(rows.as_bytes()).unwrap();
        let mut cur = req.cursor();
        let mut row = Vec::new();
        let mut out = Vec::new();
        while cur.next_cells(&mut row).unwrap() {
            out.push(row.iter().map(|c| format!("{c:?}")).collect());
        }
        out
    }

    #[test]
    fn the_table_of_rules() {
        let s = schema();
        let mut b = BatchBuilder::new(&s, InputPolicy::default());
        b.push_positional(&[Value::Bool(true), Value::Bool(false), Value::Int(415)]).unwrap();
        b.push_positional(&[Value::Text(" 2.5 "), Value::Text("yes"), Value::Float(408.0)]).unwrap();
        b.push_positional(&[Value::Null, Value::Text("  "), Value::Float(f64::NAN)]).unwrap();
        b.push_positional(&[Value::Text("NA"), Value::Text("maybe"), Value::Int(999)]).unwrap();
        let got = cells(&b.finish());
        assert_eq!(got[0], ["Number(1.0)", "Text(\"false\")", "Text(\"415\")"]);
        assert_eq!(got[1], ["Number(2.5)", "Text(\"yes\")", "Number(408.0)"]);
        assert_eq!(got[2], ["Null", "Null", "Null"]);
        // Left for the model to judge (and word its error) exactly as every other host.
        assert_eq!(got[3], ["Text(\"NA\")", "Text(\"maybe\")", "Text(\"999\")"]);
    }

    #[test]
    fn null_policy_and_absent_keys() {
        let s = schema();
        let strict = InputPolicy { nulls: NullInputs::Error, absent: AbsentInputs::Error };
        let mut b = BatchBuilder::new(&s, strict).with_row_base(9).unwrap();
        let e = b.push_positional(&[Value::Int(1), Value::Null, Value::Int(415)]).unwrap_err();
        assert_eq!(e.code, Code::NullInput);
        assert!(e.message.starts_with("row 10, column 'plan': value is null"), "{}", e.message);
        let e = b.push_named(|k| (k != "area").then_some(Value::Int(1))).unwrap_err();
        assert_eq!(e.message, "row 10: input 'area' is missing (model 'm' takes: x, plan, area)");
        // The failed rows left nothing behind.
        assert_eq!(b.len(), 0);
        b.push_named(|k| Some(if k == "x" { Value::Float(1.0) } else { Value::Text("yes") })).unwrap();
        assert_eq!(b.next_row_number(), 11);
        let lenient = InputPolicy { nulls: NullInputs::Missing, absent: AbsentInputs::Missing };
        let mut b = BatchBuilder::new(&s, lenient);
        b.push_named(|k| (k == "x").then_some(Value::Int(3))).unwrap();
        assert_eq!(cells(&b.finish())[0], ["Number(3.0)", "Null", "Null"]);
    }

    #[test]
    fn arity_is_checked_and_named() {
        let s = schema();
        let mut b = BatchBuilder::new(&s, InputPolicy::default());
        b.push_positional(&[Value::Int(1), Value::Text("no"), Value::Int(408)]).unwrap();
        let e = b.push_positional(&[Value::Int(1)]).unwrap_err();
        assert_eq!(e.message, "row 2: expected 3 values (the inputs of model 'm': x, plan, area), got 1");
        assert_eq!(b.len(), 1);
        assert!(NullInputs::parse("sometimes").unwrap_err().contains("missing, error"));
    }
}
