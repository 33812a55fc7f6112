//! Wire formats every host reads and writes the same way: rows in JSON and CSV, DeepAR forecast
//! requests and responses, and the JSON records answers are written as. Parsing here is purely
//! syntactic plus the rules of [`crate::cells`]: whether `"415"` is a valid `area_code` is the
//! model's to decide, so every host reports bad values with the same words.

pub mod csv;
pub mod deepar;
pub mod json;

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

#[cfg(test)]
mod tests {
    use super::write_records;

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
