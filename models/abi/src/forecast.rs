//! The FORECAST request and response.
//!
//! Request (all little-endian; the f64 arrays start 8-byte aligned):
//! ```text
//! 0   u32 horizon          steps to forecast
//! 4   u32 num_samples      sample paths wanted (0 = none)
//! 8   u64 seed             seed for the sample paths
//! 16  u32 flags            bit 0: `start` is present; other bits 0
//! 20  u32 n_quantiles
//! 24  i64 start            unix seconds of history[0] (0 when absent)
//! 32  u32 n_history
//! 36  u32 reserved         0
//! 40  f64 quantiles[n_quantiles]   levels in (0, 1)
//! ..  f64 history[n_history]       oldest first
//! ```
//! Response:
//! ```text
//! 0   u32 horizon
//! 4   u32 n_quantiles
//! 8   u32 n_samples
//! 12  u32 reserved         0
//! 16  f64 levels[n_quantiles]
//! ..  f64 mean[horizon]
//! ..  f64 quantiles[n_quantiles][horizon]   level-major
//! ..  f64 samples[n_samples][horizon]       path-major
//! ```

use alloc::vec::Vec;

use crate::error::WireError;
use crate::values::{Reader, put_f64, put_u32, to_u32};

const FLAG_START: u32 = 1;

/// What to forecast (everything but the history).
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastQuery {
    /// Steps to forecast.
    pub horizon: u32,
    /// Quantile levels wanted, each in (0, 1).
    pub quantiles: Vec<f64>,
    /// Sample paths wanted.
    pub num_samples: u32,
    /// Seed of the sample paths.
    pub seed: u64,
    /// Unix seconds of the first history value, for calendar features.
    pub start: Option<i64>,
}

impl ForecastQuery {
    /// Writes the request for `history` into `out` (cleared first).
    ///
    /// # Errors
    /// [`WireError::TooLarge`] for counts beyond u32.
    pub fn write(&self, history: &[f64], out: &mut Vec<u8>) -> Result<(), WireError> {
        out.clear();
        put_u32(out, self.horizon);
        put_u32(out, self.num_samples);
        out.extend_from_slice(&self.seed.to_le_bytes());
        put_u32(out, if self.start.is_some() { FLAG_START } else { 0 });
        put_u32(out, to_u32(self.quantiles.len(), "number of quantiles")?);
        out.extend_from_slice(&self.start.unwrap_or(0).to_le_bytes());
        put_u32(out, to_u32(history.len(), "history length")?);
        put_u32(out, 0);
        for &q in &self.quantiles {
            put_f64(out, q);
        }
        for &h in history {
            put_f64(out, h);
        }
        Ok(())
    }

    /// The request bytes for `history`.
    ///
    /// # Errors
    /// As [`ForecastQuery::write`].
    pub fn encode(&self, history: &[f64]) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::new();
        self.write(history, &mut out)?;
        Ok(out)
    }

    /// Decodes a request into the query and the history.
    ///
    /// # Errors
    /// [`WireError`] naming the problem.
    pub fn decode(bytes: &[u8]) -> Result<(ForecastQuery, Vec<f64>), WireError> {
        let mut r = Reader::new(bytes, "forecast request");
        let horizon = r.u32()?;
        let num_samples = r.u32()?;
        let seed = r.u64()?;
        let flags = r.u32()?;
        if flags & !FLAG_START != 0 {
            return Err(WireError::Reserved("forecast request flags"));
        }
        let n_quantiles = r.u32()? as usize;
        let start = r.i64()?;
        let n_history = r.u32()? as usize;
        if r.u32()? != 0 {
            return Err(WireError::Reserved("forecast request"));
        }
        let quantiles = r.f64s(n_quantiles)?;
        let history = r.f64s(n_history)?;
        r.finish()?;
        let start = (flags & FLAG_START != 0).then_some(start);
        Ok((ForecastQuery { horizon, quantiles, num_samples, seed, start }, history))
    }
}

/// A forecast: mean, quantiles and sample paths per step.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ForecastOutput {
    /// Mean per step.
    pub mean: Vec<f64>,
    /// (level, value per step) for each requested level, in request order.
    pub quantiles: Vec<(f64, Vec<f64>)>,
    /// Sample paths, each one value per step.
    pub samples: Vec<Vec<f64>>,
}

impl ForecastOutput {
    /// Writes the response into `out` (cleared first).
    ///
    /// # Errors
    /// [`WireError::Ragged`] if a quantile row or sample path is not `mean.len()` long.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let h = self.mean.len();
        out.clear();
        put_u32(out, to_u32(h, "horizon")?);
        put_u32(out, to_u32(self.quantiles.len(), "number of quantiles")?);
        put_u32(out, to_u32(self.samples.len(), "number of samples")?);
        put_u32(out, 0);
        for (level, _) in &self.quantiles {
            put_f64(out, *level);
        }
        for &m in &self.mean {
            put_f64(out, m);
        }
        for (i, row) in self.quantiles.iter().map(|(_, v)| v).chain(&self.samples).enumerate() {
            if row.len() != h {
                return Err(WireError::Ragged { row: i, expected: h, got: row.len() });
            }
            for &v in row {
                put_f64(out, v);
            }
        }
        Ok(())
    }

    /// The response bytes.
    ///
    /// # Errors
    /// As [`ForecastOutput::write`].
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::new();
        self.write(&mut out)?;
        Ok(out)
    }

    /// Decodes a response.
    ///
    /// # Errors
    /// [`WireError`] naming the problem.
    pub fn decode(bytes: &[u8]) -> Result<ForecastOutput, WireError> {
        let mut r = Reader::new(bytes, "forecast response");
        let h = r.u32()? as usize;
        let nq = r.u32()? as usize;
        let ns = r.u32()? as usize;
        if r.u32()? != 0 {
            return Err(WireError::Reserved("forecast response"));
        }
        // Bound every count by the bytes present before allocating.
        let cells = (nq as u64 + 1 + ns as u64) * h as u64 + nq as u64;
        if cells * 8 != r.remaining() as u64 {
            return Err(WireError::Invalid("forecast response length does not match its header"));
        }
        let levels = r.f64s(nq)?;
        let mean = r.f64s(h)?;
        let mut quantiles = Vec::with_capacity(nq);
        for level in levels {
            quantiles.push((level, r.f64s(h)?));
        }
        let mut samples = Vec::with_capacity(ns.min(r.remaining()));
        for _ in 0..ns {
            samples.push(r.f64s(h)?);
        }
        r.finish()?;
        Ok(ForecastOutput { mean, quantiles, samples })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    #[test]
    fn request_layout_offsets() {
        let q = ForecastQuery { horizon: 3, quantiles: vec![0.5], num_samples: 2, seed: 9, start: Some(-5) };
        let b = q.encode(&[1.0, 2.0]).unwrap();
        assert_eq!(b.len(), 40 + 8 + 16);
        assert_eq!(&b[0..4], &3u32.to_le_bytes());
        assert_eq!(&b[8..16], &9u64.to_le_bytes());
        assert_eq!(&b[16..20], &1u32.to_le_bytes());
        assert_eq!(&b[24..32], &(-5i64).to_le_bytes());
        assert_eq!(&b[40..48], &0.5f64.to_le_bytes());
        assert_eq!(ForecastQuery::decode(&b).unwrap(), (q, vec![1.0, 2.0]));
    }

    #[test]
    fn response_rejects_inconsistent_header() {
        let o =
            ForecastOutput { mean: vec![1.0, 2.0], quantiles: vec![(0.5, vec![1.0, 2.0])], samples: vec![] };
        let mut b = o.encode().unwrap();
        assert_eq!(ForecastOutput::decode(&b).unwrap(), o);
        b[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(ForecastOutput::decode(&b).is_err());
        let bad = ForecastOutput { mean: vec![1.0], quantiles: vec![(0.5, vec![])], samples: vec![] };
        assert!(bad.encode().is_err());
    }

    proptest! {
        #[test]
        fn request_round_trip(h in any::<u32>(), ns in any::<u32>(), seed in any::<u64>(), start in proptest::option::of(any::<i64>()),
                              qs in proptest::collection::vec(0.0f64..1.0, 0..5), hist in proptest::collection::vec(-1e9f64..1e9, 0..50)) {
            let q = ForecastQuery { horizon: h, quantiles: qs, num_samples: ns, seed, start };
            prop_assert_eq!(ForecastQuery::decode(&q.encode(&hist).unwrap()).unwrap(), (q, hist));
        }

        #[test]
        fn response_round_trip(h in 0usize..6, nq in 0usize..4, ns in 0usize..4, x in -1e6f64..1e6) {
            let row = vec![x; h];
            let o = ForecastOutput {
                mean: row.clone(),
                quantiles: (0..nq).map(|i| (0.1 * (i + 1) as f64, row.clone())).collect(),
                samples: vec![row.clone(); ns],
            };
            prop_assert_eq!(ForecastOutput::decode(&o.encode().unwrap()).unwrap(), o);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = ForecastQuery::decode(&bytes);
            let _ = ForecastOutput::decode(&bytes);
        }
    }
}
