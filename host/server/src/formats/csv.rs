//! `text/csv` as SageMaker's built-in algorithms speak it: one row per line, no header, the
//! model's inputs in schema order; the answer is one line per row. A first line that names the
//! model's inputs is taken as a header, and then columns are matched by name (extra columns such
//! as an id or the label are ignored), which lets a CSV export be posted as it is.

use std::borrow::Cow;

use scorekit_core::{FieldKind, Schema};

use super::{Rows, Value, fmt_f64};
use crate::error::ApiError;

/// Splits one CSV record into fields (RFC 4180 quoting; `""` inside quotes is a quote).
/// `line_no` is 1-based, for messages.
fn split_record(line: &str, line_no: usize) -> Result<Vec<Cow<'_, str>>, ApiError> {
    let mut fields = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    loop {
        if i < bytes.len() && bytes[i] == b'"' {
            let mut s = String::new();
            let mut j = i + 1;
            loop {
                match line[j..].find('"') {
                    None => {
                        return Err(ApiError::bad_request(format!(
                            "malformed CSV at line {line_no}: unterminated quoted field"
                        )));
                    }
                    Some(k) => {
                        s.push_str(&line[j..j + k]);
                        j += k + 1;
                        if j < bytes.len() && bytes[j] == b'"' {
                            s.push('"');
                            j += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            fields.push(Cow::Owned(s));
            if j == bytes.len() {
                return Ok(fields);
            }
            if bytes[j] != b',' {
                return Err(ApiError::bad_request(format!(
                    "malformed CSV at line {line_no}: unexpected character after a closing quote"
                )));
            }
            i = j + 1;
        } else {
            match line[i..].find(',') {
                Some(k) => {
                    fields.push(Cow::Borrowed(&line[i..i + k]));
                    i += k + 1;
                }
                None => {
                    fields.push(Cow::Borrowed(&line[i..]));
                    return Ok(fields);
                }
            }
        }
    }
}

/// A CSV field as a cell. Fields of numeric inputs that parse as finite numbers are sent as
/// numbers (parsing natively is cheaper than in the module); anything else goes as text, so the
/// module's own encoder judges it and words the error like every other host.
fn to_value<'a>(field: Cow<'a, str>, kind: Option<&FieldKind>) -> Value<'a> {
    let t = field.trim();
    if t.is_empty() {
        return Value::Null;
    }
    if let Some(FieldKind::Numeric) = kind
        && let Ok(x) = t.parse::<f64>()
        && x.is_finite()
    {
        return Value::Number(x);
    }
    Value::Text(field)
}

/// Parses a CSV body into rows for `schema`.
///
/// # Errors
/// 400 naming the line: malformed quoting, wrong column count, a header without a model input,
/// non-UTF-8 text, no rows.
pub fn parse<'a>(body: &'a [u8], schema: &Schema) -> Result<Rows<'a>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let line = body[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        ApiError::bad_request(format!("malformed CSV at line {line}: not UTF-8 text"))
    })?;
    let n = schema.inputs.len();
    let mut rows = Rows::new(n);
    // Maps a model input to its column when a header is present.
    let mut columns: Option<Vec<usize>> = None;
    let mut first = true;
    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_record(line, line_no)?;
        if first {
            first = false;
            if let Some(map) = header_map(&fields, schema, line_no)? {
                columns = Some(map);
                continue;
            }
        }
        match &columns {
            None => {
                let kinds = schema.inputs.iter().map(|f| Some(&f.kind)).chain(std::iter::repeat(None));
                let values: Vec<Value<'a>> =
                    fields.into_iter().zip(kinds).map(|(f, k)| to_value(f, k)).collect();
                rows.push_row(schema, &format!("line {line_no}"), values.into_iter())?
            }
            Some(map) => {
                let width = map.iter().max().map_or(0, |m| m + 1);
                if fields.len() < width {
                    return Err(ApiError::bad_request(format!(
                        "line {line_no}: expected at least {width} values (as in the header), got {}",
                        fields.len()
                    )));
                }
                let mut fields: Vec<Option<Cow<'a, str>>> = fields.into_iter().map(Some).collect();
                let picked: Vec<Value<'a>> = map
                    .iter()
                    .zip(&schema.inputs)
                    .map(|(&c, f)| to_value(fields[c].take().unwrap_or(Cow::Borrowed("")), Some(&f.kind)))
                    .collect();
                rows.push_row(schema, &format!("line {line_no}"), picked.into_iter())?;
            }
        }
    }
    if rows.is_empty() {
        return Err(ApiError::bad_request("the CSV body holds no rows"));
    }
    Ok(rows)
}

/// If `fields` is a header (it names the first model input and no field parses as a number),
/// the column of each model input.
fn header_map(
    fields: &[Cow<'_, str>],
    schema: &Schema,
    line_no: usize,
) -> Result<Option<Vec<usize>>, ApiError> {
    let Some(first_input) = schema.inputs.first() else { return Ok(None) };
    let names: Vec<&str> = fields.iter().map(|f| f.trim()).collect();
    if !names.contains(&first_input.name.as_str()) || names.iter().any(|f| f.parse::<f64>().is_ok()) {
        return Ok(None);
    }
    schema
        .inputs
        .iter()
        .map(|f| {
            names.iter().position(|n| *n == f.name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "line {line_no}: the header has no column '{}' (model '{}' reads: {})",
                    f.name,
                    schema.name,
                    super::input_names(schema)
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Writes `values` (`width` per row) as CSV: one line per row.
pub fn write(values: &[f64], width: usize) -> String {
    let mut out = String::with_capacity(values.len() * 20);
    for row in values.chunks(width.max(1)) {
        for (i, &v) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            fmt_f64(&mut out, v);
        }
        out.push('\n');
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
            family: Family::Gbt,
            inputs: vec![Field::categorical("state", vec!["KS".into()]), Field::numeric("x")],
            target: None,
            positive_label: None,
            outputs: vec!["probability".into()],
        }
    }

    #[test]
    fn rows_without_header_quotes_and_crlf() {
        let rows = parse(b"KS,1.5\r\n\"K\"\"S\",\nKS,abc\n\n", &schema()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.values[0], Value::Text("KS".into()));
        assert_eq!(rows.values[1], Value::Number(1.5));
        // Not a number: left as text for the module to refuse with its own message.
        assert_eq!(rows.values[5], Value::Text("abc".into()));
        assert_eq!(rows.values[2], Value::Text("K\"S".into()));
        assert_eq!(rows.values[3], Value::Null);
    }

    #[test]
    fn header_selects_columns_by_name() {
        let rows = parse(b"id,x,state,churn\n7,2.5,KS,no\n", &schema()).unwrap();
        assert_eq!(rows.values, vec![Value::Text("KS".into()), Value::Number(2.5)]);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse(b"KS,1\nKS,1,2\n", &schema()).unwrap_err();
        assert!(e.message.starts_with("line 2: expected 2 values"), "{}", e.message);
        let e = parse(b"KS,1\n\"KS,1\n", &schema()).unwrap_err();
        assert!(e.message.contains("line 2") && e.message.contains("unterminated"), "{}", e.message);
        let e = parse(b"state,y\nKS,1\n", &schema()).unwrap_err();
        assert!(e.message.contains("no column 'x'"), "{}", e.message);
        assert!(parse(b"\n\n", &schema()).is_err());
        let e = parse(b"KS,1\nK\xffS,1\n", &schema()).unwrap_err();
        assert!(e.message.contains("line 2") && e.message.contains("UTF-8"), "{}", e.message);
    }

    #[test]
    fn writes_one_line_per_row() {
        assert_eq!(write(&[0.25, 0.5], 1), "0.25\n0.5\n");
        assert_eq!(write(&[1.0, 2.0], 2), "1,2\n");
    }
}
