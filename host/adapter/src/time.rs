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

/// Parses a timestamp into Unix seconds.
///
/// The forms are read exactly as chrono's `parse_from_str` reads the formats
/// `%Y-%m-%d[ |T]%H:%M[:%S%.f][%#z]` and `%Y-%m-%d`, which this parser replaced (chrono cost
/// the browser's glue ~40 KB); the tests hold it to chrono's answers on generated text. So:
/// space between date and time is any run of whitespace (also none), each number may be
/// preceded by whitespace, numbers have 1–2 digits (the year 1–4, or any with a sign), second
/// 60 is a leap second (read as 59), fraction digits past the ninth are skipped, and a zone is
/// `Z`, `±hh`, `±hhmm` or `±hh:mm` after optional whitespace.
///
/// # Errors
/// A message naming the text and why it is not a timestamp.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    let mut no_such_date = false;
    let mut note = |miss: Miss| no_such_date |= miss == Miss::NoSuchDate;
    let utc = t.strip_suffix(['Z', 'z']);
    let naive_text = utc.unwrap_or(t);
    for (sep, seconds) in FORMS_OF_TIME {
        match date_time(naive_text, sep, seconds, false) {
            Ok(ts) => return Ok(ts),
            Err(m) => note(m),
        }
    }
    if utc.is_none() {
        for (sep, seconds) in FORMS_OF_TIME {
            match date_time(t, sep, seconds, true) {
                Ok(ts) => return Ok(ts),
                Err(m) => note(m),
            }
        }
    }
    match date(naive_text)
        .and_then(|(rest, ymd)| if rest.is_empty() { day_number(ymd) } else { Err(Miss::Shape) })
    {
        Ok(days) => return Ok(days * DAY),
        Err(m) => note(m),
    }
    let why = if no_such_date { ": no such date or time" } else { "" };
    Err(format!("'{}' is not a timestamp{why} ({FORMS})", echo(t)))
}

/// A timestamp for messages and requests: `YYYY-MM-DD HH:MM:SS` (UTC; a year outside 0–9999
/// with its sign, `+10000-01-01 00:00:00`), or `None` beyond the years chrono represents
/// (±262,142), as `chrono::DateTime::from_timestamp(t, 0)?.format("%Y-%m-%d %H:%M:%S")` wrote it.
pub fn format_utc(t: i64) -> Option<String> {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    if !(MIN_YEAR..=MAX_YEAR).contains(&y) {
        return None;
    }
    let s = t.rem_euclid(DAY);
    let year = if (0..10_000).contains(&y) { format!("{y:04}") } else { format!("{y:+05}") };
    Some(format!("{year}-{m:02}-{d:02} {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60))
}

const DAY: i64 = 86_400;
/// The years chrono's dates cover (its `MIN_YEAR`, `MAX_YEAR`).
const MIN_YEAR: i64 = -262_143;
const MAX_YEAR: i64 = 262_142;

/// Why a form did not match: only "no such date" reaches the message (chrono's `OutOfRange`
/// and `Impossible`); any other mismatch is a shape the text does not have.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Miss {
    NoSuchDate,
    Shape,
}

#[derive(Clone, Copy)]
enum Sep {
    /// `' '` in the format: any run of whitespace, also none.
    Space,
    /// `T`.
    T,
}

/// The date-and-time forms, in the order they are tried: (separator, with seconds).
const FORMS_OF_TIME: [(Sep, bool); 4] =
    [(Sep::Space, true), (Sep::T, true), (Sep::Space, false), (Sep::T, false)];

/// Up to `max` ASCII digits (at least one) as a number.
fn number(s: &str, max: usize) -> Result<(&str, i64), Miss> {
    let digits = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(Miss::Shape);
    }
    let mut n = 0i64;
    for b in s[..digits].bytes() {
        n = n.checked_mul(10).and_then(|n| n.checked_add(i64::from(b - b'0'))).ok_or(Miss::NoSuchDate)?;
    }
    Ok((&s[digits..], n))
}

/// A field of at most two digits (after optional whitespace) that must lie in `range`.
fn field(s: &str, range: std::ops::RangeInclusive<i64>) -> Result<(&str, i64), Miss> {
    let (s, v) = number(s.trim_start(), 2)?;
    if range.contains(&v) { Ok((s, v)) } else { Err(Miss::NoSuchDate) }
}

fn literal<'a>(s: &'a str, what: &str) -> Result<&'a str, Miss> {
    s.strip_prefix(what).ok_or(Miss::Shape)
}

/// `%Y-%m-%d`: the rest of the text and (year, month, day), each field in its range but the
/// date not yet checked against the calendar (chrono checks it once the whole text is read).
fn date(s: &str) -> Result<(&str, (i64, i64, i64)), Miss> {
    let s = s.trim_start();
    let (s, year) = match s.as_bytes().first() {
        Some(b'-') => number(&s[1..], usize::MAX).map(|(s, v)| (s, -v))?,
        Some(b'+') => number(&s[1..], usize::MAX)?,
        _ => number(s, 4)?,
    };
    if i32::try_from(year).is_err() {
        return Err(Miss::NoSuchDate);
    }
    let (s, month) = field(literal(s, "-")?, 1..=12)?;
    let (s, day) = field(literal(s, "-")?, 1..=31)?;
    Ok((s, (year, month, day)))
}

fn day_number((y, m, d): (i64, i64, i64)) -> Result<i64, Miss> {
    days_from_civil(y, m, d).ok_or(Miss::NoSuchDate)
}

/// `%Y-%m-%d{sep}%H:%M[:%S%.f][%#z]` as Unix seconds.
fn date_time(s: &str, sep: Sep, seconds: bool, zoned: bool) -> Result<i64, Miss> {
    let (s, ymd) = date(s)?;
    let s = match sep {
        Sep::Space => s.trim_start(),
        Sep::T => literal(s, "T")?,
    };
    let (s, hour) = field(s, 0..=23)?;
    let (mut s, minute) = field(literal(s, ":")?, 0..=59)?;
    let mut second = 0;
    if seconds {
        let (rest, sec) = field(literal(s, ":")?, 0..=60)?;
        second = sec.min(59);
        s = fraction(rest)?;
    }
    let mut offset = 0;
    if zoned {
        (s, offset) = zone(s.trim_start())?;
    }
    if !s.is_empty() {
        return Err(Miss::Shape);
    }
    let utc = day_number(ymd)? * DAY + hour * 3600 + minute * 60 + second - offset;
    if zoned {
        // A zone of a day or more does not exist; the instant must be a date chrono holds.
        let first = days_from_civil(MIN_YEAR, 1, 1).unwrap_or(0) * DAY;
        let last = (days_from_civil(MAX_YEAR, 12, 31).unwrap_or(0) + 1) * DAY;
        if offset.abs() >= DAY || utc < first || utc >= last {
            return Err(Miss::NoSuchDate);
        }
    }
    Ok(utc)
}

/// `%.f`: nothing, or a dot and at least one digit (those past the ninth are skipped).
fn fraction(s: &str) -> Result<&str, Miss> {
    match s.strip_prefix('.') {
        None => Ok(s),
        Some(f) => number(f, 9).map(|(rest, _)| rest.trim_start_matches(|c: char| c.is_ascii_digit())),
    }
}

/// `%#z`: `Z`, or a sign (`+`, `-`, `−`), two digits of hours, then optionally colons or
/// whitespace and two digits of minutes. Seconds east of UTC.
fn zone(s: &str) -> Result<(&str, i64), Miss> {
    if let Some(rest) = s.strip_prefix(['Z', 'z']) {
        return Ok((rest, 0));
    }
    let (negative, s) = if let Some(r) = s.strip_prefix('+') {
        (false, r)
    } else if let Some(r) = s.strip_prefix(['-', '\u{2212}']) {
        (true, r)
    } else {
        return Err(Miss::Shape);
    };
    let two = |s: &str| -> Option<(u8, u8)> { s.as_bytes().get(..2).map(|b| (b[0], b[1])) };
    let hours = match two(s) {
        Some((h1 @ b'0'..=b'9', h2 @ b'0'..=b'9')) => i64::from((h1 - b'0') * 10 + (h2 - b'0')),
        _ => return Err(Miss::Shape),
    };
    let s = s[2..].trim_start_matches(|c: char| c == ':' || c.is_whitespace());
    let minutes = match two(s) {
        Some((m1 @ b'0'..=b'5', m2 @ b'0'..=b'9')) => i64::from((m1 - b'0') * 10 + (m2 - b'0')),
        Some((b'6'..=b'9', b'0'..=b'9')) => return Err(Miss::NoSuchDate),
        Some(_) => return Err(Miss::Shape),
        None if s.is_empty() => 0,
        None => return Err(Miss::Shape),
    };
    let s = if s.is_empty() { s } else { &s[2..] };
    let offset = hours * 3600 + minutes * 60;
    Ok((s, if negative { -offset } else { offset }))
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (H. Hinnant's
/// `days_from_civil`); `None` for a day its month does not have or a year chrono does not hold.
fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    const LENGTHS: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let length = LENGTHS[(m - 1) as usize] + i64::from(m == 2 && is_leap(y));
    if !(MIN_YEAR..=MAX_YEAR).contains(&y) || d > length {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The date of a day number (days since 1970-01-01): H. Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
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
