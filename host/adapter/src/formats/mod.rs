//! Wire formats every host reads and writes the same way: rows in JSON and CSV, DeepAR forecast
//! requests and responses, and the JSON records answers are written as. Parsing here is purely
//! syntactic plus the rules of [`crate::cells`]: whether `"415"` is a valid `area_code` is the
//! model's to decide, so every host reports bad values with the same words.

pub mod csv;
pub mod deepar;
pub mod json;
pub mod rows;

pub use self::csv::fmt_f64;

/// Writes `{"key": value, ...}` objects, one per row of `values` (`keys.len()` per row), either
/// as a JSON array under `list` (`{"scores":[{"score":0.1}]}`) or as JSON Lines.
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
            fmt_f64(&mut out, v, "null");
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

/// Reads the values of a JSON (or JSON Lines) answer of `n_rows` rows, `keys.len()` values each:
/// the inverse of [`write_records`]. A document is an object whose `predictions` or `scores` is
/// an array (SageMaker XGBoost and Random Cut Forest), or a bare array; JSON Lines hold one item
/// per line. An item is a number (one value per row) or an object holding every key.
///
/// # Errors
/// [`crate::Code::ModuleFailed`] naming the item that does not fit, or a count other than
/// `n_rows`.
pub fn parse_records(body: &[u8], lines: bool, keys: &[&str], n_rows: usize) -> crate::HostResult<Vec<f64>> {
    use serde_json::Value as Json;
    let bad = |m: String| crate::HostError::new(crate::Code::ModuleFailed, m);
    let items: Vec<Json> = if lines {
        let text = std::str::from_utf8(body).map_err(|_| bad("the JSON Lines answer is not UTF-8".into()))?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| bad(format!("line {} of the answer: {e}", i + 1)))
            })
            .collect::<Result<_, _>>()?
    } else {
        let doc: Json =
            serde_json::from_slice(body).map_err(|e| bad(format!("the JSON answer is malformed: {e}")))?;
        match doc {
            Json::Array(a) => a,
            Json::Object(mut o) => match o.remove("predictions").or_else(|| o.remove("scores")) {
                Some(Json::Array(a)) => a,
                _ => return Err(bad("the JSON answer has no 'predictions' or 'scores' array".into())),
            },
            other => return Err(bad(format!("the JSON answer is {}, not an object", json::kind(&other)))),
        }
    };
    if items.len() != n_rows {
        return Err(bad(format!("the answer holds {} results for {n_rows} rows", items.len())));
    }
    let mut out = Vec::with_capacity(n_rows * keys.len().max(1));
    for (i, item) in items.iter().enumerate() {
        let number = |v: Option<&Json>, key: &str| {
            v.and_then(Json::as_f64)
                .ok_or_else(|| bad(format!("result {} of the answer has no number '{key}'", i + 1)))
        };
        match item {
            Json::Number(_) if keys.len() <= 1 => out.push(number(Some(item), "score")?),
            Json::Object(o) => {
                for k in keys {
                    out.push(number(o.get(*k), k)?);
                }
            }
            other => {
                return Err(bad(format!("result {} of the answer is {}", i + 1, json::kind(other))));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{parse_records, write_records};

    #[test]
    fn records_read_back() {
        let text = write_records(&[0.5, 1.0], &["score"], Some("predictions"));
        assert_eq!(parse_records(text.as_bytes(), false, &["score"], 2).unwrap(), [0.5, 1.0]);
        let lines = write_records(&[0.25], &["score"], None);
        assert_eq!(parse_records(lines.as_bytes(), true, &["score"], 1).unwrap(), [0.25]);
        assert_eq!(parse_records(b"[0.1,0.2]", false, &["score"], 2).unwrap(), [0.1, 0.2]);
        let e = parse_records(b"{\"scores\":[{\"score\":1}]}", false, &["score"], 2).unwrap_err();
        assert!(e.message.contains("1 results for 2 rows"), "{}", e.message);
        let e = parse_records(b"{\"scores\":[{\"x\":1}]}", false, &["score"], 1).unwrap_err();
        assert!(e.message.contains("no number 'score'"), "{}", e.message);
        assert!(parse_records(b"<html>", false, &["score"], 1).is_err());
    }

    #[test]
    fn records_as_list_and_lines() {
        assert_eq!(
            write_records(&[0.5, 1.0], &["score"], Some("scores")),
            r#"{"scores":[{"score":0.5},{"score":1}]}"#
        );
        assert_eq!(write_records(&[0.5], &["score"], None), "{\"score\":0.5}\n");
        assert_eq!(write_records(&[f64::NAN], &["score"], None), "{\"score\":null}\n");
    }
}
