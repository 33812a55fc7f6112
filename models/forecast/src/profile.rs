//! The seasonal-profile component: the same slot averaged over up to `seasons` past long
//! seasons, shifted by how far the most recent `offset_len` values ran above or below their own
//! profile. It is a cheap, robust stand-in for what MSTL's seasonal component plus a level gives;
//! the model blends it with the ridge forecast by a weight chosen on the training backtest.
//! Shared by training and scoring so that both compute it identically.

use serde::{Deserialize, Serialize};

/// Settings of the profile component (all 0 = no component).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Profile {
    /// Season length in steps (the model's longest period).
    pub period: u32,
    /// Seasons averaged at most.
    pub seasons: u32,
    /// Recent values whose deviation from the profile sets the level.
    pub offset_len: u32,
    /// Share of the profile in the blended forecast over all steps, in [0, 1] (the model's
    /// per-step weights, when stored, take precedence; a weight 0 here turns the component off).
    pub weight: f64,
}

impl Profile {
    pub fn is_on(&self) -> bool {
        self.period > 0 && self.seasons > 0 && self.weight > 0.0
    }

    /// Values before and including the origin the component can use.
    pub fn reach(&self) -> usize {
        (self.period as usize)
            .saturating_mul(self.seasons as usize + 1)
            .saturating_add(self.offset_len as usize)
    }

    /// Mean of `y[i - k·P]` for the `seasons` smallest `k ≥ k0` with index in `0..=t`.
    fn slot_mean(&self, y: &[f64], t: usize, i: usize, k0: usize) -> Option<f64> {
        let p = self.period as usize;
        let (mut sum, mut count) = (0.0, 0usize);
        let mut k = k0.max(1);
        while count < self.seasons as usize && k * p <= i {
            let j = i - k * p;
            if j <= t {
                sum += y[j];
                count += 1;
            }
            k += 1;
        }
        (count > 0).then(|| sum / count as f64)
    }

    /// The component's forecast of `y[t + h]` (h ≥ 1) from `y[..=t]`; `None` when the history
    /// holds less than one season before the target.
    pub fn forecast(&self, y: &[f64], t: usize, h: usize) -> Option<f64> {
        let p = self.period as usize;
        if p == 0 {
            return None;
        }
        let target = self.slot_mean(y, t, t + h, h.div_ceil(p))?;
        let (mut off, mut n) = (0.0, 0usize);
        for j in 0..(self.offset_len as usize).min(t + 1) {
            if let Some(m) = self.slot_mean(y, t, t - j, 1) {
                off += y[t - j] - m;
                n += 1;
            }
        }
        Some(target + if n > 0 { off / n as f64 } else { 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_of_a_shifted_season() {
        // Period 2: pattern 0, 10 repeated, then everything 5 higher for the last season.
        let y = [0.0, 10.0, 0.0, 10.0, 5.0, 15.0];
        let p = Profile { period: 2, seasons: 2, offset_len: 2, weight: 1.0 };
        // Target t+1 = 6 (slot 0): mean of y[4], y[2] = 2.5; offsets: y[5] − mean(y[3], y[1]) = 5,
        // y[4] − mean(y[2], y[0]) = 5 → 7.5. Target t+2 = 7 (slot 1): mean(y[5], y[3]) = 12.5 + 5.
        assert_eq!(p.forecast(&y, 5, 1), Some(7.5));
        assert_eq!(p.forecast(&y, 5, 2), Some(17.5));
        // Not one season of history before the target: no forecast.
        assert_eq!(p.forecast(&y, 0, 3), None);
        assert!(!Profile::default().is_on());
    }
}
