//! SQL values → [`Cell`]s, the loosely typed input every host hands to the model. The model
//! itself (inside the module) turns cells into features, so an unknown category or a stray string
//! is reported with the same words as by `host score`.

use pgrx::prelude::*;
use pgrx::{JsonB, pg_sys};
use scorekit_core::{Cell, Schema};

use crate::error::{report, user_error};
use crate::guc::{self, NullInputs};

/// A cell that may own its text (values printed by a type's output function).
pub enum Value<'a> {
    /// NULL: a missing value.
    Null,
    /// A number.
    Number(f64),
    /// Text borrowed from a datum.
    Borrowed(&'a str),
    /// Text produced for this call.
    Owned(String),
}

impl Value<'_> {
    /// The cell the runtime takes.
    pub fn cell(&self) -> Cell<'_> {
        match self {
            Value::Null => Cell::Null,
            Value::Number(x) => Cell::Number(*x),
            Value::Borrowed(s) => Cell::Text(s),
            Value::Owned(s) => Cell::Text(s),
        }
    }
}

/// Converts one argument datum of type `typoid`. Text-like types are borrowed, numbers read
/// directly, anything else (numeric, date, …) goes through the type's output function, so any
/// type whose text form the model understands is accepted.
///
/// # Safety
/// `datum` must be a valid, non-null datum of type `typoid` that outlives the returned value.
pub unsafe fn from_datum<'a>(datum: pg_sys::Datum, typoid: pg_sys::Oid) -> Value<'a> {
    use pg_sys::BuiltinOid::*;
    // SAFETY: the caller guarantees the datum's type; each arm reads it as that type.
    unsafe {
        match pg_sys::BuiltinOid::try_from(typoid) {
            Ok(FLOAT8OID) => Value::Number(f64::from_datum(datum, false).unwrap_or(f64::NAN)),
            Ok(FLOAT4OID) => Value::Number(f64::from(f32::from_datum(datum, false).unwrap_or(f32::NAN))),
            Ok(INT4OID) => Value::Number(f64::from(i32::from_datum(datum, false).unwrap_or(0))),
            Ok(INT8OID) => Value::Number(i64::from_datum(datum, false).unwrap_or(0) as f64),
            Ok(INT2OID) => Value::Number(f64::from(i16::from_datum(datum, false).unwrap_or(0))),
            Ok(BOOLOID) => {
                Value::Number(if bool::from_datum(datum, false).unwrap_or(false) { 1.0 } else { 0.0 })
            }
            Ok(TEXTOID) | Ok(VARCHAROID) | Ok(BPCHAROID) => {
                Value::Borrowed(<&str>::from_datum(datum, false).unwrap_or(""))
            }
            Ok(UNKNOWNOID) | Ok(CSTRINGOID) => {
                let p = datum.cast_mut_ptr::<std::ffi::c_char>();
                Value::Owned(std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned())
            }
            _ => {
                let mut out_fn = pg_sys::InvalidOid;
                let mut varlena = false;
                pg_sys::getTypeOutputInfo(typoid, &mut out_fn, &mut varlena);
                let p = pg_sys::OidOutputFunctionCall(out_fn, datum);
                let s = std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
                pg_sys::pfree(p.cast());
                Value::Owned(s)
            }
        }
    }
}

/// What a NULL for input `col` (0-based) of `row` (1-based) becomes under
/// `scorekit.null_inputs`: a missing value, or an `ERROR` naming the input.
pub fn null_input<'a>(model: &str, schema: &Schema, row: usize, col: usize) -> Value<'a> {
    if guc::NULL_INPUTS.get() == NullInputs::Missing {
        return Value::Null;
    }
    let name = schema.inputs.get(col).map_or("?", |f| f.name.as_str());
    report(
        PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        format!("scorekit: model '{model}': row {row}, input '{name}' (argument {}) is NULL", col + 1),
        None,
        Some(
            "SET scorekit.null_inputs = 'missing' to score NULL as a missing value (GBT models learned where those go).",
        ),
    )
}

/// Checks that `n` values were given for `schema`'s inputs.
pub fn check_arity(model: &str, schema: &Schema, n: usize) {
    if n != schema.arity() {
        let names: Vec<&str> = schema.inputs.iter().map(|f| f.name.as_str()).collect();
        user_error(format!(
            "model '{model}' takes {} inputs ({}), got {n}",
            schema.arity(),
            names.join(", ")
        ));
    }
}

/// Values of one JSON object (`row`, 1-based, for messages), in schema input order, matched by
/// name; other keys are ignored (so `to_jsonb(t)` of a table with extra columns works). A missing
/// key is an error: silently scoring a misspelt column as "missing" would give plausible wrong
/// answers. A JSON null is a NULL input (see [`null_input`]).
pub fn from_json_object<'a>(
    model: &str,
    schema: &Schema,
    obj: &'a serde_json::Value,
    row: usize,
) -> Vec<Value<'a>> {
    let Some(map) = obj.as_object() else {
        user_error(format!("model '{model}': row {row}: expected a JSON object of input values, got {obj}"))
    };
    schema
        .inputs
        .iter()
        .enumerate()
        .map(|(col, f)| match map.get(&f.name) {
            None => {
                let names: Vec<&str> = schema.inputs.iter().map(|f| f.name.as_str()).collect();
                user_error(format!(
                    "model '{model}': row {row}: input '{}' is missing (the model takes: {})",
                    f.name,
                    names.join(", ")
                ))
            }
            Some(serde_json::Value::Null) => null_input(model, schema, row, col),
            Some(serde_json::Value::Number(n)) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            Some(serde_json::Value::String(s)) => Value::Borrowed(s.as_str()),
            Some(serde_json::Value::Bool(b)) => Value::Number(if *b { 1.0 } else { 0.0 }),
            Some(other) => user_error(format!(
                "model '{model}': row {row}, column '{}': expected a number or text, got {other}",
                f.name
            )),
        })
        .collect()
}

/// The rows of a jsonb value: one object, or an array of objects.
pub fn json_rows(j: &JsonB) -> Vec<&serde_json::Value> {
    match &j.0 {
        serde_json::Value::Array(a) => a.iter().collect(),
        v => vec![v],
    }
}
