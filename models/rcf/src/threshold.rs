//! Streaming threshold over raw forest scores. Raw RCF scores are not comparable across
//! streams (a noisy stream scores higher everywhere), so the decision is made on a z-score:
//! the short-term mean of scores against a time-decayed mean and variance of that same
//! quantity. Flagged points do not update the statistics, so one long anomaly does not teach
//! the threshold that anomalies are normal.

use alloc::vec;
use alloc::vec::Vec;
use scorekit_core::math;
use serde::{Deserialize, Serialize};

use crate::params::ThresholdConfig;

/// The result of scoring one reading on the streaming path.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RcfOutput {
    /// Raw forest anomaly score (≈ 1 typical, larger = more anomalous; 0 while warming up).
    pub score: f64,
    /// Anomaly grade in [0, 1): 0 at or below the threshold, rising towards 1 above it.
    pub grade: f64,
    /// Whether this reading is flagged.
    pub is_anomaly: bool,
    /// The threshold the evidence (short-term mean score) was compared with; 0 while warming up.
    pub threshold: f64,
    /// Standardised evidence: (short-term mean score − running mean) / running stddev.
    pub zscore: f64,
}

/// Streaming threshold state (running statistics of the scores). [`crate::RcfModel`] owns one;
/// it is public so that the same post-processing can be applied to stored raw scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamingThreshold {
    /// Scores observed.
    seen: u64,
    mean: f64,
    var: f64,
    /// Ring of the last `short_window` scores.
    recent: Vec<f64>,
    pos: u32,
    /// Points since the last flag (saturating), for suppression.
    since_flag: u64,
    /// Whether the previous point was flagged (for the hold hysteresis).
    flagged_last: bool,
}

impl StreamingThreshold {
    /// Fresh statistics for `cfg`.
    pub fn new(cfg: &ThresholdConfig) -> Self {
        StreamingThreshold {
            seen: 0,
            mean: 0.0,
            var: 0.0,
            recent: vec![0.0; cfg.short_window],
            pos: 0,
            since_flag: u64::MAX,
            flagged_last: false,
        }
    }

    pub(crate) fn check(&self, cfg: &ThresholdConfig) -> Result<(), &'static str> {
        if self.recent.len() != cfg.short_window || self.pos as usize >= self.recent.len() {
            return Err("threshold window does not match its configuration");
        }
        if !(self.mean.is_finite() && self.var.is_finite() && self.var >= 0.0) {
            return Err("threshold statistics are not finite");
        }
        if self.recent.iter().any(|v| !v.is_finite()) {
            return Err("threshold window holds a non-finite score");
        }
        Ok(())
    }

    /// Grades `score` (one raw forest score, ≥ 0) and learns from it; `cfg` must be the
    /// configuration this state was created with.
    pub fn process(&mut self, cfg: &ThresholdConfig, score: f64) -> RcfOutput {
        let w = self.recent.len();
        self.recent[self.pos as usize] = score;
        self.pos = ((self.pos as usize + 1) % w) as u32;
        let filled = (self.seen + 1).min(w as u64) as usize;
        // Summed in ring order from the oldest so that the value is independent of history.
        let evidence = self.recent.iter().sum::<f64>() / filled as f64;
        self.since_flag = self.since_flag.saturating_add(1);
        let mut out = RcfOutput { score, grade: 0.0, is_anomaly: false, threshold: 0.0, zscore: 0.0 };
        if self.seen >= cfg.warmup as u64 {
            let std = math::sqrt(self.var).max(cfg.min_relative_std * self.mean).max(1e-12);
            let threshold = self.mean + cfg.z_factor * std;
            let z = (evidence - self.mean) / std;
            out.threshold = threshold;
            out.zscore = z;
            let held = cfg.hold_z_factor > 0.0 && self.flagged_last && z > cfg.hold_z_factor;
            if held || (evidence > threshold && self.since_flag > cfg.suppress_after_flag as u64) {
                out.is_anomaly = true;
                // Strictly increasing in the excess and never exactly 1, so grades still rank
                // anomalies against each other (0.5 three stddevs above the threshold).
                let excess = (evidence - threshold).max(0.0);
                out.grade = excess / (excess + 3.0 * std);
                self.since_flag = 0;
            }
        }
        self.flagged_last = out.is_anomaly;
        // Flagged evidence is learnt clipped at the threshold: one long anomaly does not teach
        // the statistics that it is normal, yet a lasting level shift is absorbed gradually.
        let learnt = if out.threshold > 0.0 { evidence.min(out.threshold) } else { evidence };
        self.learn(cfg, learnt);
        self.seen += 1;
        out
    }

    fn learn(&mut self, cfg: &ThresholdConfig, x: f64) {
        // Plain averages while few points are seen, then exponential forgetting.
        let a = (1.0 / (self.seen as f64 + 1.0)).max(cfg.score_decay);
        let d = x - self.mean;
        self.mean += a * d;
        self.var = (1.0 - a) * (self.var + a * d * d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_stats_match_hand_computation() {
        let cfg =
            ThresholdConfig { warmup: 10, score_decay: 1e-9, short_window: 1, ..ThresholdConfig::default() };
        let mut t = StreamingThreshold::new(&cfg);
        for x in [1.0, 2.0, 3.0, 4.0] {
            t.process(&cfg, x);
        }
        // Uniform weights: mean 2.5, population variance 1.25.
        assert!((t.mean - 2.5).abs() < 1e-12);
        assert!((t.var - 1.25).abs() < 1e-12);
    }

    #[test]
    fn flags_a_jump_after_warmup_and_suppresses_repeats() {
        let cfg = ThresholdConfig {
            warmup: 20,
            suppress_after_flag: 5,
            short_window: 3,
            ..ThresholdConfig::default()
        };
        let mut t = StreamingThreshold::new(&cfg);
        for i in 0..200 {
            let o = t.process(&cfg, 1.0 + 0.01 * ((i % 5) as f64));
            assert!(!o.is_anomaly, "point {i}");
        }
        let o = t.process(&cfg, 3.0);
        assert!(o.is_anomaly && o.grade > 0.5 && o.grade <= 1.0 && o.score == 3.0);
        assert!(!t.process(&cfg, 3.0).is_anomaly, "suppressed right after a flag");
    }

    #[test]
    fn hold_keeps_a_run_flagged_while_the_evidence_stays_high() {
        let cfg = ThresholdConfig {
            warmup: 20,
            suppress_after_flag: 0,
            short_window: 1,
            z_factor: 6.0,
            hold_z_factor: 2.0,
            ..ThresholdConfig::default()
        };
        let mut t = StreamingThreshold::new(&cfg);
        for i in 0..300 {
            t.process(&cfg, 1.0 + 0.01 * ((i % 5) as f64));
        }
        // A clear jump is flagged; a milder continuation (above 2σ, below 6σ) stays flagged
        // only because the run is held; back to normal ends it.
        assert!(t.process(&cfg, 2.0).is_anomaly);
        let mild = 1.0 + 0.02 + 4.0 * t.var.sqrt().max(cfg.min_relative_std * t.mean);
        let o = t.process(&cfg, mild);
        assert!(o.is_anomaly && o.grade == 0.0, "held: {o:?}");
        assert!(!t.process(&cfg, 1.0).is_anomaly);
        assert!(!t.process(&cfg, mild).is_anomaly, "a mild value alone is not flagged");
    }
}
