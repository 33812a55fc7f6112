//! Timestamps as DeepAR requests write them (`"2009-11-01 00:00:00"`, `"2012-01-30"`, ISO 8601
//! with `T` and `Z` or an offset) → unix seconds, UTC. Hand-rolled: a date library would be the
//! server's largest dependency for one function.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str, what: &str, lo: i64, hi: i64) -> Result<i64, String> {
    let v: i64 = s.parse().map_err(|_| format!("bad {what} '{s}'"))?;
    if !(lo..=hi).contains(&v) {
        return Err(format!("{what} {v} is out of range"));
    }
    Ok(v)
}

/// Parses a timestamp into unix seconds.
///
/// # Errors
/// A message naming what is wrong.
pub fn parse_unix_seconds(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (date, rest) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(format!("'{s}' is not a date (expected YYYY-MM-DD[ HH:MM[:SS]])"));
    };
    let (y, m, d) = (num(y, "year", 1, 9999)?, num(m, "month", 1, 12)?, num(d, "day", 1, 31)?);
    // A trailing offset: Z, +HH:MM or -HH:MM.
    let (clock, offset) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']).filter(|&i| i > 0) {
        let (c, o) = rest.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let mut hm = o[1..].split(':');
        let oh = num(hm.next().unwrap_or(""), "offset hours", 0, 23)?;
        let om = hm.next().map_or(Ok(0), |v| num(v, "offset minutes", 0, 59))?;
        (c, sign * (oh * 3600 + om * 60))
    } else {
        (rest, 0)
    };
    let mut secs = 0;
    if !clock.is_empty() {
        let mut t = clock.split(':');
        let h = num(t.next().unwrap_or(""), "hour", 0, 23)?;
        let mi = t.next().map_or(Ok(0), |v| num(v, "minute", 0, 59))?;
        let se = t.next().map_or(Ok(0.0), |v| {
            v.parse::<f64>().ok().filter(|x| (0.0..61.0).contains(x)).ok_or(format!("bad second '{v}'"))
        })?;
        secs = h * 3600 + mi * 60 + se as i64;
    }
    Ok(days_from_civil(y, m, d) * 86_400 + secs - offset)
}

#[cfg(test)]
mod tests {
    use super::parse_unix_seconds as p;

    #[test]
    fn known_instants() {
        assert_eq!(p("1970-01-01").unwrap(), 0);
        assert_eq!(p("2009-11-01 00:00:00").unwrap(), 1_257_033_600);
        assert_eq!(p("2014-01-01T01:00:00Z").unwrap(), 1_388_538_000);
        assert_eq!(p("2014-01-01T02:00:00+01:00").unwrap(), 1_388_538_000);
        assert_eq!(p("2000-02-29 12:30").unwrap(), 951_827_400);
        assert_eq!(p("1969-12-31 23:59:59").unwrap(), -1);
    }

    #[test]
    fn refusals_name_the_part() {
        assert!(p("2009-13-01").unwrap_err().contains("month"));
        assert!(p("yesterday").unwrap_err().contains("not a date"));
        assert!(p("2009-11-01 25:00").unwrap_err().contains("hour"));
    }
}
