//! Timestamps as the data sets write them, to Unix seconds.

use anyhow::{Result, bail};
use chrono::{NaiveDate, NaiveDateTime};

/// Parses RFC 3339 (`2011-12-31T13:00:00Z`), `YYYY-MM-DD HH:MM:SS[.ffffff]`, `YYYY-MM-DD`, or a
/// plain integer of Unix seconds. Times without zone are taken as UTC.
///
/// # Errors
/// Text in none of those forms.
pub fn parse_unix_seconds(text: &str) -> Result<i64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp());
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(dt.and_utc().timestamp());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp());
    }
    bail!("'{t}' is not a timestamp (expected e.g. 2014-04-10 07:15:00, 2011-12-31T13:00:00Z or 2014-04-10)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_the_data_uses() {
        assert_eq!(parse_unix_seconds("1970-01-02").unwrap(), 86_400);
        assert_eq!(parse_unix_seconds("1970-01-01 00:01:00").unwrap(), 60);
        assert_eq!(parse_unix_seconds("2014-04-10 07:15:00.000000").unwrap(), 1_397_114_100);
        assert_eq!(parse_unix_seconds("1970-01-01T01:00:00Z").unwrap(), 3600);
        assert_eq!(parse_unix_seconds("1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert_eq!(parse_unix_seconds("1234").unwrap(), 1234);
        assert!(parse_unix_seconds("yesterday").is_err());
    }
}
