//! `Decimal` writes every `f64` exactly as `format!("{}")` does: held to the standard library on
//! random bit patterns (every exponent, subnormals, both signs), on numbers with few digits (the
//! kind people type), and on the edges (powers of two and ten, the largest and smallest values).

use proptest::prelude::*;
use scorekit_core::decimal::{Decimal, to_text};

fn same(x: f64) {
    assert_eq!(Decimal(x).to_string(), format!("{x}"), "bits {:#018x}", x.to_bits());
    assert_eq!(to_text(x), format!("{x}"));
}

#[test]
fn edge_values_read_like_the_standard_library() {
    let mut edges = vec![
        0.0,
        -0.0,
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        f64::from_bits(1),
        f64::from_bits(0x000f_ffff_ffff_ffff),
        0.1,
        0.2 + 0.1,
        1.0 / 3.0,
        415.0,
        4.5,
        1e15,
        1e16,
        1e21,
        1e22,
        1e23,
        1e-5,
        1e-7,
        123_456_789_012_345_680_000.0,
        9_007_199_254_740_993.0,
        5e-324,
    ];
    for e in -1074..=1023 {
        let p = 2f64.powi(e);
        edges.extend([p, -p, f64::from_bits(p.to_bits() + 1), f64::from_bits(p.to_bits().saturating_sub(1))]);
    }
    for e in -325..=309 {
        let p: f64 = format!("1e{e}").parse().unwrap();
        edges.extend([p, -p, f64::from_bits(p.to_bits() + 1), f64::from_bits(p.to_bits().saturating_sub(1))]);
    }
    for x in edges {
        same(x);
    }
}

/// Dyadic numbers with exact decimal expansions just past 17 digits are where two shortest
/// candidates tie (Ryū rounds a tie to even, `{}` away from zero): `2^-25`, `…562.25`.
#[test]
fn exact_ties_read_like_the_standard_library() {
    for j in 1..=90 {
        for n in (1..4000u64).step_by(2) {
            let x = n as f64 * 2f64.powi(-j);
            same(x);
            same(-x);
            same(n as f64 * 2f64.powi(j));
            same(((1u64 << 53) - n) as f64 * 2f64.powi(j - 40));
        }
    }
}

#[test]
fn a_million_random_bit_patterns_read_like_the_standard_library() {
    // A fixed xorshift sequence: repeatable, and wider than proptest's default case count.
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..1_000_000 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        same(f64::from_bits(s));
    }
}

proptest! {
    #[test]
    fn any_float_reads_like_the_standard_library(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assert_eq!(Decimal(x).to_string(), format!("{x}"));
    }

    #[test]
    fn typed_numbers_read_like_the_standard_library(m in -10_000_000i64..10_000_000, e in -30i32..30) {
        let x: f64 = format!("{m}e{e}").parse().unwrap();
        prop_assert_eq!(Decimal(x).to_string(), format!("{x}"));
    }
}

fn same_parse(s: &str) {
    let (ours, std) = (scorekit_core::decimal::parse(s), s.parse::<f64>());
    match (&ours, &std) {
        (Ok(a), Ok(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{s:?}"),
        (Err(a), Err(b)) => assert_eq!(a, b, "{s:?}"),
        _ => panic!("{s:?}: {ours:?} vs {std:?}"),
    }
}

#[test]
fn parse_reads_like_the_standard_library_on_the_edges() {
    for s in [
        "",
        "-",
        "+",
        ".",
        "-.",
        "1.",
        ".5",
        "-.5",
        "+.5",
        "0",
        "-0",
        "+0",
        "-0.0",
        "00",
        "007.50",
        "1e5",
        "1E5",
        "1.5e-3",
        "inf",
        "-inf",
        "NaN",
        "nan",
        "infinity",
        "1_000",
        " 1",
        "1 ",
        "1.2.3",
        "--1",
        "+-1",
        "123456789012345",
        "1234567890123456",
        "0.000000000000000000001",
        "0.0000000000000000000001",
        "9007199254740993",
        "999999999999999",
        "99999999999999.9",
        "0.1",
        "0.3",
        "265.1",
        "45.07",
        "١",
        "1.0000000000000000000000",
        "4.9e-324",
        "1.7976931348623157e308",
    ] {
        same_parse(s);
    }
}

proptest! {
    /// Digits, dots, signs and exponents in any order: the same bits or the same error.
    #[test]
    fn parse_reads_like_the_standard_library(s in "[-+]?[0-9]{0,18}(\\.[0-9]{0,24})?([eE][-+]?[0-9]{1,3})?") {
        same_parse(&s);
    }

    /// Any number written the way `{}` writes it (what CSV files hold) reads back the same.
    #[test]
    fn parse_reads_written_numbers(bits in any::<u64>(), digits in 0usize..8) {
        let x = f64::from_bits(bits);
        same_parse(&format!("{x}"));
        same_parse(&format!("{x:.digits$}"));
        let small = (bits % 10_000_000) as f64 / 100.0;
        same_parse(&format!("{small}"));
        same_parse(&format!("{:.digits$}", -small));
    }

    /// Arbitrary text never parses differently.
    #[test]
    fn parse_of_any_text_is_the_standard_librarys(s in "\\PC{0,12}") {
        same_parse(&s);
    }
}
