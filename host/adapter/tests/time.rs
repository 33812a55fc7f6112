//! The timestamp parser and formatter against chrono, which they replaced (the browser's glue
//! could not afford chrono's format machinery): the reference below is the parser as it was
//! written with chrono, and both must give the same answer — the same seconds, or the same
//! message — for every text, generated near the accepted forms and far from them.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use proptest::prelude::*;
use scorekit_host::time::{format_utc, parse_timestamp};

const FORMS: &str = "e.g. 2014-04-10 07:15:00, 2011-12-31T13:00:00Z, 2014-04-10 or Unix seconds";
const NAIVE: [&str; 4] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"];
const ZONED: [&str; 4] =
    ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M%#z", "%Y-%m-%dT%H:%M%#z"];

/// `scorekit_host::time::parse_timestamp` as it was, on chrono.
fn chrono_parse(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    let mut reason = None;
    let mut note = |e: chrono::ParseError| {
        use chrono::format::ParseErrorKind::*;
        if matches!(e.kind(), OutOfRange | Impossible) {
            reason = Some("no such date or time");
        }
    };
    let utc = t.strip_suffix(['Z', 'z']);
    let naive_text = utc.unwrap_or(t);
    for fmt in NAIVE {
        match NaiveDateTime::parse_from_str(naive_text, fmt) {
            Ok(dt) => return Ok(dt.and_utc().timestamp()),
            Err(e) => note(e),
        }
    }
    if utc.is_none() {
        for fmt in ZONED {
            match DateTime::parse_from_str(t, fmt) {
                Ok(dt) => return Ok(dt.timestamp()),
                Err(e) => note(e),
            }
        }
    }
    match NaiveDate::parse_from_str(naive_text, "%Y-%m-%d") {
        Ok(d) => return Ok(d.and_hms_opt(0, 0, 0).map_or(0, |dt| dt.and_utc().timestamp())),
        Err(e) => note(e),
    }
    let why = reason.map_or(String::new(), |r| format!(": {r}"));
    let shown = if t.chars().count() <= 64 {
        t.to_string()
    } else {
        format!("{}…", t.chars().take(64).collect::<String>())
    };
    Err(format!("'{shown}' is not a timestamp{why} ({FORMS})"))
}

fn chrono_format(t: i64) -> Option<String> {
    DateTime::from_timestamp(t, 0).map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
}

fn same(text: &str) {
    assert_eq!(parse_timestamp(text), chrono_parse(text), "text {text:?}");
}

#[test]
fn chosen_texts_read_as_chrono_reads_them() {
    for t in [
        "2009-11-01",
        "2009-11-01 00:00:00",
        "2014-01-01T01:00:00Z",
        "2014-01-01T02:00:00+01:00",
        "2014-01-01 02:00+0100",
        "2014-01-01T03:00:00+02",
        "2000-02-29 12:30",
        "2014-04-10 07:15:00.000000",
        "1969-12-31 23:59:59",
        " 1234 ",
        "-60",
        "2009-02-31",
        "2009-02-29 10:00",
        "2009-13-01",
        "2009-11-01 25:00",
        "yesterday",
        "2009-02-31 xx",
        "2009-1-5",
        "2009-11-0100:00",
        "2009-11-01  00:00",
        "2009- 11- 01 1:2",
        "2009-11-01T 00:00",
        "2016-12-31 23:59:60",
        "2016-12-31 23:59:60.5Z",
        "2009-11-01 00:00:00.",
        "2009-11-01 00:00:00.1234567891234",
        "2009-11-01 00:00 +01:00",
        "2009-11-01 00:00+01:60",
        "2009-11-01 00:00+1",
        "2009-11-01 00:00+01:",
        "2009-11-01 00:00+01 30",
        "2009-11-01 00:00+99:59",
        "2009-11-01 00:00\u{2212}05:30",
        "2009-11-01 00:00z",
        "2009-11-01Z",
        "+12345-01-01",
        "-0001-12-31 23:59",
        "+262142-12-31 23:59:59",
        "+262142-12-31 23:59:59-01:00",
        "+262143-01-01",
        "-262143-01-01 00:00+01:00",
        "-262143-01-01 00:00-01:00",
        "99999999999999999999-01-01",
        "+99999999999999999999-01-01",
        "+3000000000-01-01",
        "0000-02-29",
        "1900-02-29",
        "2000-02-30",
        "2009-11-01 00:00:00+0530",
        "2009-11-01 00:00:00 Z",
        "2009-11-01T00:00:00ZZ",
        "2009-11-01 24:00",
        "2009-11-01 23:60",
        "2009-11-01 23:59:61",
        "2009-00-10",
        "2009-10-00",
        "2009-10-32",
        "",
        "  ",
        "T",
        "2009-11-01\t00:00",
        "2009-11-01\u{3000}00:00",
        "２009-11-01",
        "2009-11-01 00:00+01:00:00",
    ] {
        same(t);
    }
}

/// Pieces of timestamps, so that generated texts are often near a form.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u32..10).prop_map(|d| d.to_string()),
        2 => (0u32..100).prop_map(|d| format!("{d:02}")),
        2 => prop_oneof![Just(1970), Just(2009), Just(2016), Just(0), Just(9999), Just(262_142)].prop_map(|y| y.to_string()),
        3 => prop::sample::select(vec![
            "-", "-", ":", ":", "T", " ", ".", "+", "Z", "z", "\t", "\u{2212}", "60", "29", "31", "02",
            "12", "23", "59", "00", "1", "x", "+01:00", "-0530", "+01", "  ",
        ])
        .prop_map(str::to_string),
    ]
}

/// A well-formed timestamp, then maybe one piece replaced, inserted or removed.
fn near_form() -> impl Strategy<Value = String> {
    (
        -400i64..12_000,
        0i64..14,
        0i64..33,
        0i64..25,
        0i64..61,
        prop::option::of(0i64..62),
        prop::option::of("[0-9]{0,11}"),
        prop::sample::select(vec![" ", "T", "  ", "", "\t"]),
        prop::sample::select(vec![
            "", "Z", "z", "+01:00", "-0530", "+02", " +01:00", "+1", "+01:", "-99:59", "+05:61",
        ]),
        prop::option::of((0usize..40, piece(), 0u8..3)),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, sep, zone, edit)| {
            let mut t = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}");
            if let Some(s) = s {
                t.push_str(&format!(":{s:02}"));
                if let Some(f) = frac {
                    t.push('.');
                    t.push_str(&f);
                }
            }
            t.push_str(zone);
            if let Some((at, p, how)) = edit {
                let chars: Vec<char> = t.chars().collect();
                let at = at.min(chars.len());
                let (head, tail) = chars.split_at(at);
                let head: String = head.iter().collect();
                let tail: String = match how {
                    0 => tail.iter().collect(),
                    1 => tail.iter().skip(1).collect(),
                    _ => tail.iter().skip(p.chars().count()).collect(),
                };
                t = if how == 1 { format!("{head}{tail}") } else { format!("{head}{p}{tail}") };
            }
            t
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn texts_near_the_forms_read_as_chrono_reads_them(t in near_form()) {
        same(&t);
    }

    #[test]
    fn texts_of_pieces_read_as_chrono_reads_them(parts in prop::collection::vec(piece(), 0..14)) {
        same(&parts.concat());
    }

    #[test]
    fn any_text_reads_as_chrono_reads_it(t in "\\PC{0,30}") {
        same(&t);
    }

    #[test]
    fn instants_are_written_as_chrono_writes_them(t in prop_oneof![
        -20_000_000_000i64..400_000_000_000,
        -8_334_632_851_200i64..8_210_298_412_800,
        any::<i64>(),
    ]) {
        prop_assert_eq!(format_utc(t), chrono_format(t), "instant {}", t);
    }
}

#[test]
fn the_edges_of_the_years_are_written_as_chrono_writes_them() {
    let edges = [
        i64::MIN,
        i64::MAX,
        0,
        -1,
        86_399,
        86_400,
        253_402_300_799,
        253_402_300_800,
        -62_167_219_200,
        -62_167_219_201,
        -62_135_596_800,
        8_210_266_876_799,
        8_210_266_876_800,
        -8_334_601_228_800,
        -8_334_601_228_801,
    ];
    for t in edges {
        assert_eq!(format_utc(t), chrono_format(t), "instant {t}");
    }
}
