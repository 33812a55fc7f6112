//! The one timestamp parser of every host (CSV columns, DeepAR `start`, SQL text, JavaScript).
//!
//! Accepted, all to Unix seconds (UTC):
//! * an integer: Unix seconds (`1257033600`);
//! * a date: `2009-11-01`;
//! * a date and time, `T` or a space between, seconds and fractions optional:
//!   `2009-11-01 00:00`, `2009-11-01T00:00:00`, `2014-04-10 07:15:00.000000`;
//! * either of those with a zone: `Z`, `+01:00`, `-0530`, `+01`.
//!
//! Without a zone a time is UTC. Calendar dates are validated (`2009-02-31` is refused, never
//! read as 3 March); fractions of a second are dropped.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::cells::Value;
use crate::error::{HostError, HostResult};

/// Timestamps from host values (text in any accepted form, integers of Unix seconds), numbered
/// from 1 in messages.
///
/// # Errors
/// [`crate::Code::BadInput`] naming the row of a value that is not a timestamp.
pub fn timestamps(values: &[Value<'_>]) -> HostResult<Vec<i64>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let row = i + 1;
            match *v {
                Value::Int(n) => Ok(n),
                Value::Float(x) if x.is_finite() && x == x.trunc() && x.abs() < 9.0e15 => Ok(x as i64),
                Value::Text(t) if !t.trim().is_empty() => {
                    parse_timestamp(t).map_err(|e| HostError::bad_input(format!("row {row}: {e}")))
                }
                _ if v.is_null() => Err(HostError::bad_input(format!("row {row}: the timestamp is missing"))),
                other => {
                    Err(HostError::bad_input(format!("row {row}: {other:?} is not a timestamp ({FORMS})")))
                }
            }
        })
        .collect()
}

const FORMS: &str = "e.g. 2014-04-10 07:15:00, 2011-12-31T13:00:00Z, 2014-04-10 or Unix seconds";

const NAIVE: [&str; 4] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"];
const ZONED: [&str; 4] =
    ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M%#z", "%Y-%m-%dT%H:%M%#z"];

/// Parses a timestamp into Unix seconds.
///
/// # Errors
/// A message naming the text and why it is not a timestamp.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    let mut reason = None;
    let utc = t.strip_suffix(['Z', 'z']);
    let naive_text = utc.unwrap_or(t);
    for fmt in NAIVE {
        match NaiveDateTime::parse_from_str(naive_text, fmt) {
            Ok(dt) => return Ok(dt.and_utc().timestamp()),
            Err(e) => note(&mut reason, e),
        }
    }
    if utc.is_none() {
        for fmt in ZONED {
            match DateTime::parse_from_str(t, fmt) {
                Ok(dt) => return Ok(dt.timestamp()),
                Err(e) => note(&mut reason, e),
            }
        }
    }
    match NaiveDate::parse_from_str(naive_text, "%Y-%m-%d") {
        Ok(d) => return Ok(d.and_hms_opt(0, 0, 0).map_or(0, |dt| dt.and_utc().timestamp())),
        Err(e) => note(&mut reason, e),
    }
    let why = reason.map_or(String::new(), |r| format!(": {r}"));
    Err(format!("'{}' is not a timestamp{why} ({FORMS})", echo(t)))
}

/// Keeps the most telling reason: a date that does not exist beats a shape mismatch.
fn note(reason: &mut Option<&'static str>, e: chrono::ParseError) {
    use chrono::format::ParseErrorKind::*;
    let r = match e.kind() {
        OutOfRange | Impossible => "no such date or time",
        _ => return,
    };
    *reason = Some(r);
}

fn echo(s: &str) -> String {
    if s.chars().count() <= 64 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(64).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_timestamp as p;

    #[test]
    fn known_instants() {
        assert_eq!(p("1970-01-01").unwrap(), 0);
        assert_eq!(p("1970-01-02").unwrap(), 86_400);
        assert_eq!(p("2009-11-01 00:00:00").unwrap(), 1_257_033_600);
        assert_eq!(p("2014-01-01T01:00:00Z").unwrap(), 1_388_538_000);
        assert_eq!(p("2014-01-01T02:00:00+01:00").unwrap(), 1_388_538_000);
        assert_eq!(p("2014-01-01 02:00+0100").unwrap(), 1_388_538_000);
        assert_eq!(p("2014-01-01T03:00:00+02").unwrap(), 1_388_538_000);
        assert_eq!(p("2000-02-29 12:30").unwrap(), 951_827_400);
        assert_eq!(p("2014-04-10 07:15:00.000000").unwrap(), 1_397_114_100);
        assert_eq!(p("1969-12-31 23:59:59").unwrap(), -1);
        assert_eq!(p(" 1234 ").unwrap(), 1234);
        assert_eq!(p("-60").unwrap(), -60);
    }

    #[test]
    fn impossible_dates_and_garbage_are_refused_by_name() {
        let e = p("2009-02-31").unwrap_err();
        assert!(e.contains("'2009-02-31'") && e.contains("no such date"), "{e}");
        let e = p("2009-02-29 10:00").unwrap_err();
        assert!(e.contains("no such date"), "{e}");
        assert!(p("2009-13-01").is_err());
        assert!(p("2009-11-01 25:00").is_err());
        let e = p("yesterday").unwrap_err();
        assert!(e.starts_with("'yesterday' is not a timestamp ("), "{e}");
    }
}
