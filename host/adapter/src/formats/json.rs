//! Rows in JSON, the same shapes for every host (HTTP bodies, SQL jsonb, JSON Lines files, the
//! browser, MySQL JSON strings).
//!
//! A row is one of: an array of values in schema order (`[1.5, "KS", null]`); SageMaker's
//! `{"features": [...]}`; the Random Cut Forest form `{"data": {"features": {"values": [...]}}}`;
//! or an object keyed by input name (`{"state": "KS", ...}`: other keys are ignored, absent
//! inputs follow [`crate::AbsentInputs`]). A document of rows is `{"instances": [row, ...]}`
//! (SageMaker), `{"rows": [row, ...]}`, a bare array of rows, or — where one row is expected —
//! a single row object. JSON Lines holds one row per line. Rows are numbered from 1 in messages.

use serde_json::Value as Json;

use crate::cells::{BatchBuilder, Value, input_names};
use crate::error::{HostError, HostResult};

/// Parses a JSON document.
///
/// # Errors
/// [`crate::Code::BadInput`] naming the line and column of malformed JSON.
pub fn parse(body: &[u8]) -> HostResult<Json> {
    serde_json::from_slice(body).map_err(|e| HostError::bad_input(format!("malformed JSON: {e}")))
}

/// What kind of JSON value `v` is, for messages.
pub fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// A JSON value as a host value, or what kind of value it is when it is none.
pub fn value(v: &Json) -> Result<Value<'_>, &'static str> {
    Ok(match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s),
        other => return Err(kind(other)),
    })
}

fn positional(row: &Json) -> HostResult<Option<&[Json]>> {
    Ok(match row {
        Json::Array(a) => Some(a),
        Json::Object(o) => {
            if let Some(f) = o.get("features") {
                match f {
                    Json::Array(a) => Some(a),
                    other => {
                        return Err(HostError::bad_input(format!(
                            "'features' must be an array, got {}",
                            kind(other)
                        )));
                    }
                }
            } else if let Some(Json::Object(data)) = o.get("data") {
                match data.get("features").and_then(|f| f.get("values")) {
                    Some(Json::Array(a)) => Some(a),
                    _ => {
                        return Err(HostError::bad_input(
                            "'data' must hold {\"features\": {\"values\": [...]}}".to_string(),
                        ));
                    }
                }
            } else {
                None
            }
        }
        other => {
            return Err(HostError::bad_input(format!(
                "a row must be an array, {{\"features\": [...]}} or an object keyed by input name, got {}",
                kind(other)
            )));
        }
    })
}

/// Appends one row (any accepted shape).
///
/// # Errors
/// [`crate::Code::BadInput`] naming the row and, where it applies, the column.
pub fn push_row(b: &mut BatchBuilder<'_>, row: &Json) -> HostResult<()> {
    let n = b.next_row_number();
    let schema = b.schema();
    if let Some(items) = positional(row).map_err(|e| e.context(format!("row {n}")))? {
        let mut values = Vec::with_capacity(items.len());
        for (i, v) in items.iter().enumerate() {
            let column =
                schema.inputs.get(i).map_or_else(|| format!("#{}", i + 1), |f| format!("'{}'", f.name));
            values.push(value(v).map_err(|k| {
                HostError::bad_input(format!(
                    "row {n}, column {column}: a value must be a number, a string, a boolean or null, got {k}"
                ))
            })?);
        }
        return b.push_positional(&values);
    }
    let Json::Object(o) = row else { unreachable!("positional() refuses every other shape") };
    // One pass over the inputs: each key looked up once, its JSON type checked on the way.
    let mut values = Vec::with_capacity(schema.inputs.len());
    for f in &schema.inputs {
        values.push(match o.get(&f.name) {
            None => None,
            Some(v) => Some(value(v).map_err(|k| {
                HostError::bad_input(format!(
                    "row {n}, column '{}': a value must be a number, a string, a boolean or null, got {k}",
                    f.name
                ))
            })?),
        });
    }
    if !schema.inputs.is_empty() && values.iter().all(Option::is_none) {
        return Err(HostError::bad_input(format!(
            "row {n}: the object names none of the inputs of model '{}' ({})",
            schema.name,
            input_names(schema)
        )));
    }
    b.push_fields(&values)
}

/// The rows of a JSON document: `{"instances": [...]}`, `{"rows": [...]}`, a bare array of
/// rows, or (with `single_row_ok`) one row object.
///
/// # Errors
/// [`crate::Code::BadInput`] naming the problem; a document without rows.
pub fn push_document(b: &mut BatchBuilder<'_>, doc: &Json, single_row_ok: bool) -> HostResult<()> {
    let list: &[Json] = match doc {
        Json::Array(a) if a.first().is_some_and(|r| r.is_array() || r.is_object()) => a,
        Json::Array(a) if single_row_ok && !a.is_empty() => std::slice::from_ref(doc),
        Json::Array(a) => a,
        Json::Object(o) => match o.get("instances").or_else(|| o.get("rows")) {
            Some(Json::Array(a)) => a,
            Some(other) => {
                return Err(HostError::bad_input(format!(
                    "'instances' must be an array of rows, got {}",
                    kind(other)
                )));
            }
            None if single_row_ok => std::slice::from_ref(doc),
            None => {
                return Err(HostError::bad_input(
                    "the JSON body needs an 'instances' (or 'rows') array of rows",
                ));
            }
        },
        other => {
            return Err(HostError::bad_input(format!(
                "the JSON body must be an object or an array, got {}",
                kind(other)
            )));
        }
    };
    for row in list {
        push_row(b, row)?;
    }
    if b.is_empty() {
        return Err(HostError::bad_input("the request holds no rows"));
    }
    Ok(())
}

/// History values from JSON (numbers; null or `"NaN"` for missing), by the host layer's one
/// rule ([`crate::history_values`]).
///
/// # Errors
/// [`crate::Code::BadInput`] naming the row (from 1) of a value that is not a number.
pub fn history_values(items: &[Json]) -> HostResult<Vec<f64>> {
    let mut values = Vec::with_capacity(items.len());
    for (i, x) in items.iter().enumerate() {
        values.push(value(x).map_err(|k| {
            HostError::bad_input(format!("row {}: a history value must be a number, got {k}", i + 1))
        })?);
    }
    crate::history::history_values(&values)
}

/// A JSON array of timestamps (strings in any form [`crate::parse_timestamp`] accepts, or
/// integers of Unix seconds), e.g. the `timestamps` of a forecast history.
///
/// # Errors
/// [`crate::Code::BadInput`] naming the position (from 1) of a value that is not a timestamp.
pub fn timestamps(v: &Json, what: &str) -> HostResult<Vec<i64>> {
    let Json::Array(items) = v else {
        return Err(HostError::bad_input(format!(
            "'{what}' must be an array of timestamps, got {}",
            kind(v)
        )));
    };
    let mut values = Vec::with_capacity(items.len());
    for (i, t) in items.iter().enumerate() {
        values.push(value(t).map_err(|k| {
            HostError::bad_input(format!(
                "row {}: '{what}' values must be timestamp strings or Unix seconds, got {k}",
                i + 1
            ))
        })?);
    }
    crate::time::timestamps(&values)
}

/// Non-empty lines of a JSON Lines body, each parsed, with its 1-based line number.
///
/// # Errors
/// [`crate::Code::BadInput`] naming the line of malformed JSON; a body without lines.
pub fn lines(body: &[u8]) -> HostResult<Vec<(usize, Json)>> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let line = body[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        HostError::bad_input(format!("the JSON Lines body is not UTF-8 at line {line}"))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v = serde_json::from_str(line)
            .map_err(|e| HostError::bad_input(format!("malformed JSON at line {}: {e}", i + 1)))?;
        out.push((i + 1, v));
    }
    if out.is_empty() {
        return Err(HostError::bad_input("the JSON Lines body holds no rows"));
    }
    Ok(out)
}

/// Appends every line of a JSON Lines body as a row.
///
/// # Errors
/// As [`lines`] and [`push_row`].
pub fn push_lines(b: &mut BatchBuilder<'_>, body: &[u8]) -> HostResult<()> {
    for (_, v) in lines(body)? {
        push_row(b, &v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::InputPolicy;
    use scorekit_abi::RowsRequest;
    use scorekit_core::{Family, Field, Schema};

    fn schema() -> Schema {
        Schema {
            name: "m".into(),
            family: Family::Rcf,
            inputs: vec![Field::numeric("a"), Field::numeric("b")],
            target: None,
            positive_label: None,
            outputs: vec!["score".into()],
        }
    }

    fn texts(b: BatchBuilder<'_>) -> Vec<String> {
        let rows = b.finish();
        let req = RowsRequest::decode(rows.as_bytes()).unwrap();
        let mut cur = req.cursor();
        let mut cells = Vec::new();
        let mut out = Vec::new();
        while cur.next_cells(&mut cells).unwrap() {
            out.push(format!("{cells:?}"));
        }
        out
    }

    #[test]
    fn all_row_shapes() {
        let s = schema();
        let mut b = BatchBuilder::new(&s, InputPolicy::default());
        let doc = parse(br#"{"instances":[{"features":[1,2]},[3,"4"],{"b":6,"a":true,"zz":1},{"data":{"features":{"values":[7,8.5]}}}]}"#).unwrap();
        push_document(&mut b, &doc, false).unwrap();
        assert_eq!(
            texts(b),
            [
                "[Number(1.0), Number(2.0)]",
                "[Number(3.0), Number(4.0)]",
                "[Number(1.0), Number(6.0)]",
                "[Number(7.0), Number(8.5)]"
            ]
        );
    }

    #[test]
    fn errors_name_rows_lines_and_columns() {
        let s = schema();
        let e = parse(b"{\"instances\": [\n[1,]]}").unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
        let mut b = BatchBuilder::new(&s, InputPolicy::default());
        let doc = parse(br#"{"instances":[[1,2],[1,[2]]]}"#).unwrap();
        let e = push_document(&mut b, &doc, false).unwrap_err();
        assert!(
            e.message.starts_with("row 2, column 'b'") && e.message.contains("an array"),
            "{}",
            e.message
        );
        let mut b = BatchBuilder::new(&s, InputPolicy::default());
        let e = push_document(&mut b, &parse(br#"{"instances":[[1]]}"#).unwrap(), false).unwrap_err();
        assert!(e.message.starts_with("row 1: expected 2 values"), "{}", e.message);
        let mut b = BatchBuilder::new(&s, InputPolicy::default());
        let e = push_lines(&mut b, b"[1,2]\n\n{\"x\":1}\n").unwrap_err();
        assert!(e.message.starts_with("row 2: the object names none"), "{}", e.message);
        let mut b = BatchBuilder::new(&s, InputPolicy::default());
        let e = push_lines(&mut b, b"[1,2]\n[1,\n").unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
        let mut b = BatchBuilder::new(&s, InputPolicy::default());
        let e = push_document(&mut b, &parse(br#"{"a":1}"#).unwrap(), false).unwrap_err();
        assert!(e.message.contains("'instances'"), "{}", e.message);
        let mut b = BatchBuilder::new(&s, InputPolicy::default());
        push_document(&mut b, &parse(br#"{"a":1,"b":2}"#).unwrap(), true).unwrap();
        assert_eq!(b.len(), 1);
    }
}
