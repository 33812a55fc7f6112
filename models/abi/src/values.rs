//! Packed little-endian `f64` arrays: the body of every numeric response, and helpers that read
//! and write little-endian integers without panicking.

use alloc::vec::Vec;

use crate::error::WireError;

/// A bounds-checked little-endian reader over a byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Reads `bytes`, naming them `what` in errors.
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { bytes, pos: 0, what }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Current offset.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.remaining() < n {
            return Err(WireError::Truncated {
                what: self.what,
                needed: self.pos.saturating_add(n),
                available: self.bytes.len(),
            });
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// A `u8`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    /// A little-endian `u32`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian `u64`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A little-endian `i64`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn i64(&mut self) -> Result<i64, WireError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A little-endian `f64`.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn f64(&mut self) -> Result<f64, WireError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// `n` little-endian `f64`s; the length is checked before allocating.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn f64s(&mut self, n: usize) -> Result<Vec<f64>, WireError> {
        let bytes = self.take(n.checked_mul(8).ok_or(WireError::TooLarge(self.what))?)?;
        Ok(bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect())
    }

    /// Fails unless every byte was read.
    ///
    /// # Errors
    /// [`WireError::Trailing`].
    pub fn finish(self) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(WireError::Trailing { what: self.what, extra }),
        }
    }
}

/// Appends `x` as 8 little-endian bytes.
#[inline]
pub fn put_f64(out: &mut Vec<u8>, x: f64) {
    out.extend_from_slice(&x.to_le_bytes());
}

/// Appends `x` as 4 little-endian bytes.
#[inline]
pub fn put_u32(out: &mut Vec<u8>, x: u32) {
    out.extend_from_slice(&x.to_le_bytes());
}

/// `n` as a wire `u32`.
///
/// # Errors
/// [`WireError::TooLarge`] naming `what`.
pub fn to_u32(n: usize, what: &'static str) -> Result<u32, WireError> {
    u32::try_from(n).map_err(|_| WireError::TooLarge(what))
}

/// Packs `values` as little-endian `f64`s.
pub fn encode_f64s(values: &[f64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 8);
    for &v in values {
        put_f64(&mut out, v);
    }
    out
}

/// Unpacks little-endian `f64`s, appending to `out` (so a host can reuse one buffer).
///
/// # Errors
/// [`WireError::NotMultiple`] when `bytes` is not a whole number of `f64`s.
pub fn decode_f64s_into(bytes: &[u8], out: &mut Vec<f64>) -> Result<(), WireError> {
    if !bytes.len().is_multiple_of(8) {
        return Err(WireError::NotMultiple { what: "f64 array", len: bytes.len(), unit: 8 });
    }
    out.reserve(bytes.len() / 8);
    out.extend(bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))));
    Ok(())
}

/// Unpacks little-endian `f64`s.
///
/// # Errors
/// As [`decode_f64s_into`].
pub fn decode_f64s(bytes: &[u8]) -> Result<Vec<f64>, WireError> {
    let mut out = Vec::new();
    decode_f64s_into(bytes, &mut out)?;
    Ok(out)
}

/// One result of `RCF_SCORE_UPDATE`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RcfStep {
    /// Anomaly score (about 1 is typical, larger is more anomalous).
    pub score: f64,
    /// Anomaly grade in [0, 1] from the streaming threshold.
    pub grade: f64,
    /// Whether the score crossed the threshold.
    pub is_anomaly: bool,
    /// The threshold the score was compared with.
    pub threshold: f64,
}

/// Number of `f64`s per row in an `RCF_SCORE_UPDATE` response.
pub const RCF_STEP_WIDTH: usize = 4;

impl RcfStep {
    /// Appends the wire form (4 f64s; `is_anomaly` as 0.0 or 1.0).
    pub fn write(&self, out: &mut Vec<u8>) {
        put_f64(out, self.score);
        put_f64(out, self.grade);
        put_f64(out, if self.is_anomaly { 1.0 } else { 0.0 });
        put_f64(out, self.threshold);
    }
}

/// Decodes an `RCF_SCORE_UPDATE` response.
///
/// # Errors
/// [`WireError::NotMultiple`] when the length is not a multiple of 32 bytes.
pub fn decode_rcf_steps(bytes: &[u8]) -> Result<Vec<RcfStep>, WireError> {
    if !bytes.len().is_multiple_of(8 * RCF_STEP_WIDTH) {
        return Err(WireError::NotMultiple { what: "rcf_score_update response", len: bytes.len(), unit: 32 });
    }
    let v = decode_f64s(bytes)?;
    Ok(v.chunks_exact(RCF_STEP_WIDTH)
        .map(|c| RcfStep { score: c[0], grade: c[1], is_anomaly: c[2] != 0.0, threshold: c[3] })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn f64s_round_trip_bit_for_bit_and_reject_odd_lengths() {
        let v = vec![0.0, -0.0, 1.5, f64::NAN, f64::MAX, f64::MIN_POSITIVE];
        let back = decode_f64s(&encode_f64s(&v)).unwrap();
        assert_eq!(
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(decode_f64s(&[0; 9]), Err(WireError::NotMultiple { what: "f64 array", len: 9, unit: 8 }));
        assert_eq!(encode_f64s(&[1.0]), 1.0f64.to_le_bytes().to_vec());
    }

    #[test]
    fn rcf_steps_round_trip() {
        let s = RcfStep { score: 2.5, grade: 0.75, is_anomaly: true, threshold: 1.9 };
        let mut out = Vec::new();
        s.write(&mut out);
        RcfStep { is_anomaly: false, ..s }.write(&mut out);
        let back = decode_rcf_steps(&out).unwrap();
        assert_eq!(back, vec![s, RcfStep { is_anomaly: false, ..s }]);
        assert!(decode_rcf_steps(&out[..24]).is_err());
    }

    #[test]
    fn reader_reports_truncation_with_offsets() {
        let mut r = Reader::new(&[1, 0, 0], "test");
        assert_eq!(r.u32(), Err(WireError::Truncated { what: "test", needed: 4, available: 3 }));
        assert_eq!(r.u8(), Ok(1));
        assert!(matches!(r.clone().finish(), Err(WireError::Trailing { extra: 2, .. })));
        assert!(r.f64s(usize::MAX).is_err());
    }
}
