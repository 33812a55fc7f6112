//! The one implementation of transcendental functions used by every scoring path.
//!
//! `std`'s `f64::exp` calls the platform libm natively but a Rust port inside Wasm; the two can
//! differ in the last bit. Routing every scoring computation through the `libm` crate makes the
//! native and Wasm scores bit-identical.

/// e^x.
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// Natural logarithm.
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// Square root (IEEE-exact everywhere, provided for symmetry).
#[inline]
pub fn sqrt(x: f64) -> f64 {
    libm::sqrt(x)
}

/// Absolute value.
#[inline]
pub fn abs(x: f64) -> f64 {
    libm::fabs(x)
}

/// Floor.
#[inline]
pub fn floor(x: f64) -> f64 {
    libm::floor(x)
}

/// x^y.
#[inline]
pub fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// Logistic function, stable for large |x|.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + exp(-x))
    } else {
        let e = exp(x);
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_symmetric_and_bounded() {
        assert_eq!(sigmoid(0.0), 0.5);
        for x in [0.1, 1.0, 5.0, 40.0, 800.0] {
            let (p, q) = (sigmoid(x), sigmoid(-x));
            assert!((p + q - 1.0).abs() < 1e-15, "x={x}");
            assert!(p <= 1.0 && q >= 0.0);
        }
    }
}
