//! Hyper-parameters of a forest and its streaming threshold, with the defaults of AWS's
//! random-cut-forest library (100 trees of 256 points, time decay 1/(10·256)).

use alloc::format;
use scorekit_core::decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::RcfError;

/// Largest supported shingled dimension (`dimensions × shingle_size`); beyond this random cuts
/// carry too little information per dimension to be useful and per-point memory explodes.
pub const MAX_SHINGLED_DIMENSIONS: usize = 1024;

/// Configuration of a random cut forest. Build with [`RcfConfig::new`] and adjust fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RcfConfig {
    /// Values per reading (1 for a univariate series).
    pub dimensions: usize,
    /// Consecutive readings concatenated into one point (1 = no shingling). The model keeps the
    /// last `shingle_size - 1` readings itself, so callers always feed raw readings.
    pub shingle_size: usize,
    /// Number of trees (AWS default 100).
    pub num_trees: usize,
    /// Points kept per tree (AWS default 256).
    pub sample_size: usize,
    /// Time decay λ of the reservoir: a point that arrived `k` shingles ago is kept with weight
    /// `e^{-λk}` relative to the newest. 0 = uniform reservoir (no forgetting).
    pub time_decay: f64,
    /// Number of shingles the forest must have seen before scores are produced (0 before).
    pub output_after: usize,
    /// Seed of the forest's random choices; the generator state is part of the model.
    pub seed: u64,
    /// Streaming threshold on top of the raw scores.
    pub threshold: ThresholdConfig,
}

/// Streaming threshold: turns raw scores into an anomaly grade and a yes/no decision, like the
/// basic thresholder of AWS's ThresholdedRandomCutForest, with a short-term average of scores
/// (as Numenta's anomaly likelihood) so that a sustained change counts more than one noisy point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdConfig {
    /// Decay of the running mean/variance of scores per point (≈ 1 / horizon in points).
    pub score_decay: f64,
    /// A point is anomalous when its evidence exceeds mean + `z_factor` · stddev.
    pub z_factor: f64,
    /// Points averaged into the short-term score (1 = the point's own score).
    pub short_window: usize,
    /// Scores observed before any anomaly can be flagged.
    pub warmup: usize,
    /// Floor on the standard deviation, relative to the running mean score, so that a perfectly
    /// regular stream does not flag microscopic score wiggles.
    pub min_relative_std: f64,
    /// After a flagged point, further flags are suppressed for this many points (the alarm has
    /// been raised; repeating it adds nothing). 0 disables suppression.
    pub suppress_after_flag: usize,
    /// Hysteresis: once a point is flagged, the following points stay flagged while their
    /// evidence exceeds mean + `hold_z_factor` · stddev (anomalies come in runs). 0 = off; only
    /// meaningful below `z_factor` and without suppression.
    pub hold_z_factor: f64,
}

impl Default for ThresholdConfig {
    fn default() -> Self {
        ThresholdConfig {
            // Chosen on a synthetic NAB-format corpus, never on NAB (bench/nab
            // `choose_nab_preset`, docs/eval-rcf.md): alarm-style, one flag per episode.
            score_decay: 1.0 / 5000.0,
            z_factor: 4.0,
            short_window: 6,
            warmup: 100,
            min_relative_std: 0.05,
            suppress_after_flag: 200,
            hold_z_factor: 0.0,
        }
    }
}

impl RcfConfig {
    /// AWS defaults for `dimensions` values per reading: shingle 8 when univariate (1 otherwise),
    /// 100 trees, 256 points per tree, time decay 1/(10·256), scores after 64 shingles, seed 42.
    pub fn new(dimensions: usize) -> Self {
        let sample_size = 256;
        RcfConfig {
            dimensions,
            shingle_size: if dimensions == 1 { 8 } else { 1 },
            num_trees: 100,
            sample_size,
            time_decay: 1.0 / (10.0 * sample_size as f64),
            output_after: sample_size / 4,
            seed: 42,
            threshold: ThresholdConfig::default(),
        }
    }

    /// Values per shingled point (`dimensions × shingle_size`).
    pub fn point_dimensions(&self) -> usize {
        self.dimensions * self.shingle_size
    }

    /// Checks every parameter.
    ///
    /// # Errors
    /// [`RcfError::InvalidParam`] naming the first bad parameter.
    pub fn validate(&self) -> Result<(), RcfError> {
        let bad = |name, reason: alloc::string::String| Err(RcfError::InvalidParam { name, reason });
        if self.dimensions == 0 {
            return bad("dimensions", format!("must be at least 1, got {}", self.dimensions));
        }
        if self.shingle_size == 0 {
            return bad("shingle_size", format!("must be at least 1, got {}", self.shingle_size));
        }
        let d = self.dimensions.saturating_mul(self.shingle_size);
        if d > MAX_SHINGLED_DIMENSIONS {
            return bad(
                "shingle_size",
                format!("dimensions × shingle_size = {d} exceeds the maximum {MAX_SHINGLED_DIMENSIONS}"),
            );
        }
        if self.num_trees == 0 || self.num_trees > 10_000 {
            return bad("num_trees", format!("must be in 1..=10000, got {}", self.num_trees));
        }
        if self.sample_size < 2 || self.sample_size > 1 << 20 {
            return bad("sample_size", format!("must be in 2..=1048576, got {}", self.sample_size));
        }
        if !(self.time_decay.is_finite() && (0.0..=1.0).contains(&self.time_decay)) {
            return bad("time_decay", format!("must be in [0, 1], got {}", Decimal(self.time_decay)));
        }
        let t = &self.threshold;
        if !(t.score_decay.is_finite() && t.score_decay > 0.0 && t.score_decay <= 1.0) {
            return bad(
                "threshold.score_decay",
                format!("must be in (0, 1], got {}", Decimal(t.score_decay)),
            );
        }
        if !(t.z_factor.is_finite() && t.z_factor >= 0.0) {
            return bad("threshold.z_factor", format!("must be finite and ≥ 0, got {}", Decimal(t.z_factor)));
        }
        if t.short_window == 0 || t.short_window > 10_000 {
            return bad("threshold.short_window", format!("must be in 1..=10000, got {}", t.short_window));
        }
        if !(t.hold_z_factor.is_finite() && t.hold_z_factor >= 0.0) {
            return bad(
                "threshold.hold_z_factor",
                format!("must be finite and ≥ 0, got {}", Decimal(t.hold_z_factor)),
            );
        }
        if !(t.min_relative_std.is_finite() && t.min_relative_std >= 0.0) {
            return bad(
                "threshold.min_relative_std",
                format!("must be finite and ≥ 0, got {}", Decimal(t.min_relative_std)),
            );
        }
        Ok(())
    }
}

impl Default for RcfConfig {
    /// The univariate configuration, [`RcfConfig::new`]`(1)`.
    fn default() -> Self {
        RcfConfig::new(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        assert!(RcfConfig::default().validate().is_ok());
        assert_eq!(RcfConfig::default().point_dimensions(), 8);
        let mut c = RcfConfig::new(3);
        assert_eq!(c.shingle_size, 1);
        c.time_decay = f64::NAN;
        assert!(matches!(c.validate(), Err(RcfError::InvalidParam { name: "time_decay", .. })));
        let mut c = RcfConfig::new(1);
        c.sample_size = 1;
        assert!(matches!(c.validate(), Err(RcfError::InvalidParam { name: "sample_size", .. })));
        let mut c = RcfConfig::new(0);
        c.shingle_size = 1;
        assert!(matches!(c.validate(), Err(RcfError::InvalidParam { name: "dimensions", .. })));
        let mut c = RcfConfig::new(2);
        c.shingle_size = 1000;
        assert!(matches!(c.validate(), Err(RcfError::InvalidParam { name: "shingle_size", .. })));
    }
}
