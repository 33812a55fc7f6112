//! JSON and JSON Lines rows.
//!
//! Accepted row shapes, anywhere a row is expected: an array of values in schema order
//! (`[1.5, "KS", null]`), SageMaker's `{"features": [...]}`, or an object keyed by input name
//! (`{"state": "KS", ...}`; keys that are not model inputs are ignored, a missing input is null).
//! Containers: `{"instances": [row, ...]}` (SageMaker), `{"rows": [row, ...]}` (native API), or
//! a bare array of rows; JSON Lines has one row per line.

use std::borrow::Cow;

use scorekit_core::Schema;
use serde_json::Value as Json;

use super::{Rows, Value, fmt_f64};
use crate::error::ApiError;

/// Parses a JSON body.
///
/// # Errors
/// 400 naming the line and column of malformed JSON.
pub fn parse_json(body: &[u8]) -> Result<Json, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))
}

fn cell(v: &Json, what: &dyn Fn() -> String) -> Result<Value<'static>, ApiError> {
    Ok(match v {
        Json::Null => Value::Null,
        Json::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => Value::Text(Cow::Owned(s.clone())),
        Json::Bool(_) | Json::Array(_) | Json::Object(_) => {
            return Err(ApiError::bad_request(format!(
                "{}: a value must be a number, a string or null, got {}",
                what(),
                kind(v)
            )));
        }
    })
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Appends one row (any accepted shape) to `rows`; `what` names it in errors (`row 3`).
///
/// # Errors
/// 400 naming the row and, where it applies, the column.
pub fn push_row(rows: &mut Rows<'static>, schema: &Schema, row: &Json, what: &str) -> Result<(), ApiError> {
    let positional = match row {
        Json::Array(a) => Some(a),
        Json::Object(o) => match o.get("features") {
            Some(Json::Array(a)) => Some(a),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "{what}: 'features' must be an array, got {}",
                    kind(other)
                )));
            }
            None => None,
        },
        other => {
            return Err(ApiError::bad_request(format!(
                "{what}: a row must be an array, {{\"features\": [...]}} or an object keyed by input name, got {}",
                kind(other)
            )));
        }
    };
    if let Some(a) = positional {
        let mut vals = Vec::with_capacity(a.len());
        for (i, v) in a.iter().enumerate() {
            let column = schema.inputs.get(i).map_or_else(|| format!("#{i}"), |f| format!("'{}'", f.name));
            vals.push(cell(v, &|| format!("{what}, column {column}"))?);
        }
        return rows.push_row(schema, what, vals.into_iter());
    }
    let Json::Object(o) = row else { unreachable!("handled above") };
    if !schema.inputs.iter().any(|f| o.contains_key(&f.name)) {
        return Err(ApiError::bad_request(format!(
            "{what}: the object names none of the inputs of model '{}' ({})",
            schema.name,
            super::input_names(schema)
        )));
    }
    let mut vals = Vec::with_capacity(schema.inputs.len());
    for f in &schema.inputs {
        vals.push(match o.get(&f.name) {
            None => Value::Null,
            Some(v) => cell(v, &|| format!("{what}, column '{}'", f.name))?,
        });
    }
    rows.push_row(schema, what, vals.into_iter())
}

/// Rows from a JSON document: `{"instances": [...]}`, `{"rows": [...]}` or `[...]`.
///
/// # Errors
/// 400 naming the problem.
pub fn rows_from_json(doc: &Json, schema: &Schema) -> Result<Rows<'static>, ApiError> {
    let list = match doc {
        Json::Array(a) => a,
        Json::Object(o) => match o.get("instances").or_else(|| o.get("rows")) {
            Some(Json::Array(a)) => a,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "'instances' must be an array, got {}",
                    kind(other)
                )));
            }
            None => {
                return Err(ApiError::bad_request(
                    "the JSON body needs an 'instances' (or 'rows') array of rows",
                ));
            }
        },
        other => {
            return Err(ApiError::bad_request(format!(
                "the JSON body must be an object, got {}",
                kind(other)
            )));
        }
    };
    let mut rows = Rows::new(schema.inputs.len());
    for (i, row) in list.iter().enumerate() {
        push_row(&mut rows, schema, row, &format!("instance {i}"))?;
    }
    if rows.is_empty() {
        return Err(ApiError::bad_request("the request holds no rows"));
    }
    Ok(rows)
}

/// Non-empty lines of a JSON Lines body, each parsed, with its 1-based line number.
///
/// # Errors
/// 400 naming the line of malformed JSON.
pub fn lines(body: &[u8]) -> Result<Vec<(usize, Json)>, ApiError> {
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the JSON Lines body is not UTF-8"))?;
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v = serde_json::from_str(line)
            .map_err(|e| ApiError::bad_request(format!("malformed JSON at line {}: {e}", i + 1)))?;
        out.push((i + 1, v));
    }
    if out.is_empty() {
        return Err(ApiError::bad_request("the JSON Lines body holds no rows"));
    }
    Ok(out)
}

/// Rows from a JSON Lines body: one row per line.
///
/// # Errors
/// 400 naming the line.
pub fn rows_from_lines(body: &[u8], schema: &Schema) -> Result<Rows<'static>, ApiError> {
    let mut rows = Rows::new(schema.inputs.len());
    for (line, v) in lines(body)? {
        push_row(&mut rows, schema, &v, &format!("line {line}"))?;
    }
    Ok(rows)
}

/// Writes `{"key": value}` objects, one per row of `values`, either as a JSON array under `list`
/// (`{"scores":[{"score":0.1}]}`) or as JSON Lines.
pub fn write_records(values: &[f64], keys: &[&str], list: Option<&str>) -> String {
    let width = keys.len().max(1);
    let mut out = String::with_capacity(values.len() * (16 + 12 * keys.len()) + 16);
    if let Some(l) = list {
        out.push_str("{\"");
        out.push_str(l);
        out.push_str("\":[");
    }
    for (r, row) in values.chunks(width).enumerate() {
        if list.is_some() && r > 0 {
            out.push(',');
        }
        out.push('{');
        for (i, (k, &v)) in keys.iter().zip(row).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(k).unwrap_or_default());
            out.push(':');
            fmt_f64(&mut out, v);
        }
        out.push('}');
        if list.is_none() {
            out.push('\n');
        }
    }
    if list.is_some() {
        out.push_str("]}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorekit_core::{Family, Field};

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

    #[test]
    fn all_row_shapes() {
        let doc = parse_json(br#"{"instances":[{"features":[1,2]},[3,"4"],{"b":6,"zz":1}]}"#).unwrap();
        let rows = rows_from_json(&doc, &schema()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.values[3], Value::Text("4".into()));
        assert_eq!(rows.values[4], Value::Null);
        assert_eq!(rows.values[5], Value::Number(6.0));
    }

    #[test]
    fn errors_name_rows_lines_and_columns() {
        let e = parse_json(b"{\"instances\": [\n[1,]]}").unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
        let doc = parse_json(br#"{"instances":[[1,2],[1,true]]}"#).unwrap();
        let e = rows_from_json(&doc, &schema()).unwrap_err();
        assert!(
            e.message.contains("instance 1, column 'b'") && e.message.contains("boolean"),
            "{}",
            e.message
        );
        let doc = parse_json(br#"{"instances":[[1]]}"#).unwrap();
        assert!(rows_from_json(&doc, &schema()).unwrap_err().message.contains("expected 2 values"));
        let e = rows_from_lines(b"[1,2]\n\n{\"x\":1}\n", &schema()).unwrap_err();
        assert!(e.message.starts_with("line 3"), "{}", e.message);
        let e = rows_from_lines(b"[1,2]\n[1,\n", &schema()).unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
    }

    #[test]
    fn records_as_list_and_lines() {
        assert_eq!(
            write_records(&[0.5, 1.0], &["score"], Some("scores")),
            r#"{"scores":[{"score":0.5},{"score":1}]}"#
        );
        assert_eq!(write_records(&[0.5], &["score"], None), "{\"score\":0.5}\n");
    }
}
