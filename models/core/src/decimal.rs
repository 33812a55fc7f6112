//! Numbers written as text exactly as Rust's `{}` writes an `f64` (the shortest digits that read
//! back to the same number, never an exponent: `0.1`, `415`, `1e21` → `1000000000000000000000`,
//! `inf`, `NaN`), without the standard library's float formatter.
//!
//! Why: the model modules write numbers only into messages and into the text a number is matched
//! by against category levels, and core's formatter (Grisu with a Dragon fallback, plus the
//! fixed-precision path linked with it) is 19 KB of every guest. Ryū (the `ryu` crate, which
//! serde_json uses too) finds the same shortest digits in a fraction of that; this module only
//! lays them out the way `{}` does. `tests/decimal.rs` holds it to `format!("{}")` on random bit
//! patterns and the edge cases.

use alloc::string::String;
use core::fmt;

/// Writes `x` as `format!("{x}")` would (no width, precision or sign flags).
///
/// ```
/// use scorekit_core::decimal::Decimal;
/// assert_eq!(Decimal(1e-7).to_string(), "0.0000001");
/// assert_eq!(Decimal(-2.5e21).to_string(), format!("{}", -2.5e21));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Decimal(pub f64);

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x.is_nan() {
            return f.write_str("NaN");
        }
        if x.is_infinite() {
            return f.write_str(if x < 0.0 { "-inf" } else { "inf" });
        }
        let mut buffer = ryu::Buffer::new();
        // `-1.2345e-7`, `1e30`, `0.001234`, `12340000000.0`, `0.0`: at most 24 bytes.
        let text = buffer.format_finite(x).as_bytes();
        let (negative, text) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        let (mantissa, exponent) = match text.iter().position(|&b| b == b'e') {
            Some(e) => (&text[..e], parse_exponent(&text[e + 1..])),
            None => (text, 0),
        };
        // The mantissa's digits without its point; `point`: how many of them precede it.
        let mut all = [0u8; 24];
        let (mut n, mut point) = (0, None);
        for &b in mantissa {
            if b == b'.' {
                point = Some(n);
            } else {
                all[n] = b;
                n += 1;
            }
        }
        let mut point = point.unwrap_or(n) as i32 + exponent;
        let lead = all[..n].iter().take_while(|&&b| b == b'0').count();
        point -= lead as i32;
        let digits = &mut all[lead..n];
        let end = digits.iter().rposition(|&b| b != b'0').map_or(0, |p| p + 1);
        let mut digits = &mut digits[..end];
        // Ryū breaks an exact tie between two shortest candidates towards the even one; `{}`
        // takes the larger magnitude (`2^-25` = …953125 × 10^-25: Ryū …5312, `{}` …5313).
        if rounds_up_a_tie(libm::fabs(x), digits, point) {
            if increment(digits) {
                // 99…9 + 1: one digit `1`, the point a place further.
                digits[0] = b'1';
                digits = &mut digits[..1];
                point += 1;
            }
            let end = digits.iter().rposition(|&b| b != b'0').map_or(0, |p| p + 1);
            digits = &mut digits[..end];
        }
        let digits = &*digits;
        if negative {
            f.write_str("-")?;
        }
        // value = 0.DIGITS × 10^point
        let len = digits.len() as i32;
        if len == 0 {
            f.write_str("0")
        } else if point <= 0 {
            f.write_str("0.")?;
            zeros(f, -point)?;
            ascii(f, digits)
        } else if point >= len {
            ascii(f, digits)?;
            zeros(f, point - len)
        } else {
            let (int, frac) = digits.split_at(point as usize);
            ascii(f, int)?;
            f.write_str(".")?;
            ascii(f, frac)
        }
    }
}

/// `x` as `format!("{x}")` would write it.
pub fn to_text(x: f64) -> String {
    alloc::format!("{}", Decimal(x))
}

/// Powers of ten up to 10^15, each exact as an `f64` (up to 10^22 are).
const POW10: [f64; 16] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// `s.parse::<f64>()`, bit for bit and with the same errors, but a plain decimal (`-12.50`: a
/// sign, digits, optionally a dot and more digits, at most 15 digits in all) is read without the
/// standard library's general algorithm: such a number is an integer below 2^53 divided by an
/// exact power of ten, and one IEEE division rounds that correctly (Clinger's fast path, which `str::parse` takes for it too, after a slower scan). CSV
/// cells are almost all of this form; anything else goes to `str::parse`. `tests/decimal.rs`
/// holds it to `str::parse`.
///
/// # Errors
/// As `str::parse::<f64>`.
pub fn parse(s: &str) -> Result<f64, core::num::ParseFloatError> {
    match plain_decimal(s.as_bytes()) {
        Some(x) => Ok(x),
        None => s.parse::<f64>(),
    }
}

fn plain_decimal(b: &[u8]) -> Option<f64> {
    let (negative, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    // One pass: digits into `m`, the position of the one dot; anything else is not plain.
    let (mut m, mut dot) = (0u64, None);
    for (i, &c) in digits.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d < 10 {
            m = m.wrapping_mul(10).wrapping_add(u64::from(d));
        } else if c == b'.' && dot.is_none() {
            dot = Some(i);
        } else {
            return None;
        }
    }
    let n = digits.len();
    let frac = match dot {
        // `1.` and `.5` are numbers to `str::parse` too, but rare: they take the general path.
        Some(i) if i == 0 || i + 1 == n => return None,
        Some(i) => n - i - 1,
        None if n == 0 => return None,
        None => 0,
    };
    // At most 15 digits: `m` < 10^15 < 2^53 is exact as an f64 (and never wrapped), and so is
    // the power of ten (frac ≤ 15).
    if n - usize::from(dot.is_some()) > 15 {
        return None;
    }
    let x = m as f64 / POW10[frac];
    Some(if negative { -x } else { x })
}

/// Whether `x` (positive, finite) lies exactly halfway between 0.DIGITS × 10^point and the next
/// number of as many digits: x = (10·D + 5) × 10^e with D the digits, e = point − len − 1.
fn rounds_up_a_tie(x: f64, digits: &[u8], point: i32) -> bool {
    let Some(d) = digits.iter().try_fold(0u64, |n, &b| n.checked_mul(10)?.checked_add(u64::from(b - b'0')))
    else {
        return false;
    };
    let Some(m) = d.checked_mul(10).and_then(|v| v.checked_add(5)) else { return false };
    let e = point - digits.len() as i32 - 1;
    // x = odd · 2^twos exactly.
    let bits = x.to_bits();
    let (fraction, biased) = (bits & ((1 << 52) - 1), (bits >> 52) as i32);
    let (mantissa, exp2) = if biased == 0 { (fraction, -1074) } else { (fraction | 1 << 52, biased - 1075) };
    if mantissa == 0 {
        return false;
    }
    let (odd, twos) = (mantissa >> mantissa.trailing_zeros(), exp2 + mantissa.trailing_zeros() as i32);
    // m is odd, so (m · 5^e) · 2^e (e ≥ 0), or m / 5^-e · 2^e (e < 0), has 2^e as its power of two.
    if twos != e {
        return false;
    }
    let fives = |n: u64, k: i32| (0..k).try_fold(n, |v, _| v.checked_mul(5));
    if e >= 0 { fives(m, e) == Some(odd) } else { fives(odd, -e) == Some(m) }
}

/// Adds one to the decimal digits in place; true when they all carried (99…9).
fn increment(digits: &mut [u8]) -> bool {
    for b in digits.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return false;
        }
    }
    true
}

fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let magnitude = digits.iter().fold(0i32, |n, &d| n * 10 + i32::from(d - b'0'));
    if negative { -magnitude } else { magnitude }
}

fn ascii(f: &mut fmt::Formatter<'_>, digits: &[u8]) -> fmt::Result {
    f.write_str(core::str::from_utf8(digits).map_err(|_| fmt::Error)?)
}

fn zeros(f: &mut fmt::Formatter<'_>, n: i32) -> fmt::Result {
    for _ in 0..n {
        f.write_str("0")?;
    }
    Ok(())
}
