//! The design row of one forecast origin, shared by training and scoring so that both read a
//! window in exactly the same way.

use scorekit_core::math;

use crate::calendar::{calendar_features, calendar_width};

/// How a window becomes a row: `[1, scaled lags…, scaled seasonal means…, calendar one-hots…]`.
pub(crate) struct Layout<'a> {
    pub context_length: usize,
    /// Back offsets: feature `i` reads `y[t - lags[i]]` for origin `t`.
    pub lags: &'a [u32],
    /// Seasonal means `[first, step, count]`: the mean of `y[t - first - j·step]` over the
    /// `j < count` that the history reaches (the same slot over up to `count` past seasons: a
    /// smoothed seasonal profile that needs only one season of history).
    pub means: &'a [[u32; 3]],
    /// Sampling period in seconds when calendar features are on.
    pub calendar: Option<i64>,
    /// Smallest scale used, so a flat window does not divide by zero.
    pub scale_floor: f64,
}

impl Layout<'_> {
    pub fn width(&self) -> usize {
        1 + self.lags.len() + self.means.len() + self.calendar.map_or(0, calendar_width)
    }

    /// How many values before and including the origin a row needs.
    pub fn reach(&self) -> usize {
        let max_mean = self.means.iter().map(|m| m[0]).max().unwrap_or(0);
        let max_lag = self.lags.iter().copied().max().unwrap_or(0).max(max_mean) as usize;
        (max_lag + 1).max(self.context_length)
    }

    /// How many values a row can use: [`Self::reach`], or more when seasonal means average
    /// several seasons.
    pub fn full_reach(&self) -> usize {
        let max_mean = self
            .means
            .iter()
            .map(|[f, s, c]| f.saturating_add(s.saturating_mul(c.saturating_sub(1))) as usize)
            .max()
            .unwrap_or(0);
        self.reach().max(max_mean.saturating_add(1))
    }

    /// Location and scale of the window ending at `t` (the last `context_length` values).
    pub fn loc_scale(&self, y: &[f64], t: usize) -> (f64, f64) {
        let w = &y[t + 1 - self.context_length..=t];
        let n = w.len() as f64;
        let loc = w.iter().sum::<f64>() / n;
        let mad = w.iter().map(|v| math::abs(v - loc)).sum::<f64>() / n;
        let scale = if mad > self.scale_floor { mad } else { self.scale_floor };
        (loc, scale)
    }

    /// Fills `row` for origin `t`; `time_t` is the unix time of `y[t]` when calendar is on.
    pub fn row(&self, y: &[f64], t: usize, loc: f64, scale: f64, time_t: Option<i64>, row: &mut [f64]) {
        row[0] = 1.0;
        for (slot, &lag) in row[1..].iter_mut().zip(self.lags) {
            *slot = (y[t - lag as usize] - loc) / scale;
        }
        let base = 1 + self.lags.len();
        for (slot, &[first, step, count]) in row[base..].iter_mut().zip(self.means) {
            let (first, step) = (first as usize, (step as usize).max(1));
            // Seasons the history reaches (at least one: `first` is within `reach`).
            let seasons = ((t - first) / step + 1).min(count.max(1) as usize);
            let sum: f64 = (0..seasons).map(|j| y[t - first - j * step]).sum();
            *slot = (sum / seasons as f64 - loc) / scale;
        }
        if let (Some(p), Some(tt)) = (self.calendar, time_t) {
            calendar_features(tt, p, &mut row[base + self.means.len()..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_is_scaled_window() {
        let lags = [0u32, 1, 3];
        let l = Layout { context_length: 4, lags: &lags, means: &[], calendar: None, scale_floor: 1e-9 };
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        // Window 2..=5: mean 3.5, mean abs dev 1.0.
        let (loc, scale) = l.loc_scale(&y, 4);
        assert_eq!((loc, scale), (3.5, 1.0));
        let mut row = [0.0; 4];
        l.row(&y, 4, loc, scale, None, &mut row);
        assert_eq!(row, [1.0, 1.5, 0.5, -1.5]);
        assert_eq!(l.reach(), 4);
        // Mean of y[4 - 0] and y[4 - 2] (a third season, y[4 - 4], is asked for and read):
        // (5 + 3 + 1) / 3 = 3 → (3 - 3.5) / 1.
        let means = [[0u32, 2, 3]];
        let m = Layout { means: &means, ..l };
        let mut row = [0.0; 5];
        m.row(&y, 4, loc, scale, None, &mut row);
        assert_eq!(row, [1.0, 1.5, 0.5, -1.5, -0.5]);
        assert_eq!((m.reach(), m.full_reach()), (4, 5));
        // With less history only the seasons it reaches: y[3] and y[1] → (4 + 2) / 2 = 3.
        m.row(&y, 3, loc, scale, None, &mut row);
        assert_eq!(row[4], -0.5);
        let flat = [2.0; 4];
        assert_eq!(l.loc_scale(&flat, 3), (2.0, 1e-9));
    }
}
