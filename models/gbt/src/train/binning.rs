//! Quantile binning: every feature value becomes a small bin index so that split finding scans
//! histograms instead of sorted values. The last bin of every feature is reserved for missing.

use std::vec::Vec;

use super::data::{FeatureType, TrainData};

/// How one feature's values map to bins.
#[derive(Clone, Debug)]
pub(crate) enum Binner {
    /// Bin `i` holds values `x <= uppers[i]` (and above `uppers[i - 1]`); the last upper is `f64::MAX`.
    Numeric { uppers: Vec<f64> },
    /// Bin `i` is level `i`.
    Categorical { n_levels: usize },
}

impl Binner {
    /// Number of value bins; the missing bin comes right after them.
    pub fn n_value_bins(&self) -> usize {
        match self {
            Binner::Numeric { uppers } => uppers.len(),
            Binner::Categorical { n_levels } => *n_levels,
        }
    }

    /// Bin of `v` (validated data: categorical values are in-range level indices).
    pub fn bin(&self, v: f64) -> u16 {
        if v.is_nan() {
            return self.n_value_bins() as u16;
        }
        match self {
            Binner::Numeric { uppers } => uppers.partition_point(|&u| u < v) as u16,
            Binner::Categorical { .. } => v as u16,
        }
    }

    /// Cut points from the non-missing values: every midpoint between distinct values when there
    /// are few, else greedy equal-count bins over the distinct values (ties never straddle bins).
    fn numeric(mut values: Vec<f64>, max_bins: usize) -> Binner {
        values.sort_by(f64::total_cmp);
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        for v in values.iter().copied() {
            match distinct.last_mut() {
                Some((d, c)) if *d == v => *c += 1,
                _ => distinct.push((v, 1)),
            }
        }
        let mut uppers = Vec::new();
        let mid = |a: f64, b: f64| a + (b - a) / 2.0;
        if distinct.len() <= max_bins {
            for w in distinct.windows(2) {
                uppers.push(mid(w[0].0, w[1].0));
            }
        } else {
            let mut remaining = values.len();
            let mut bins_left = max_bins;
            let mut acc = 0usize;
            for (i, &(v, c)) in distinct.iter().enumerate() {
                acc += c;
                let target = remaining.div_ceil(bins_left);
                if acc >= target && i + 1 < distinct.len() && bins_left > 1 {
                    uppers.push(mid(v, distinct[i + 1].0));
                    remaining -= acc;
                    bins_left -= 1;
                    acc = 0;
                }
            }
        }
        uppers.push(f64::MAX);
        Binner::Numeric { uppers }
    }
}

/// The training rows as bins, row-major, plus each feature's histogram offset.
pub(crate) struct Binned {
    pub n_rows: usize,
    pub n_features: usize,
    pub bins: Vec<u16>,
    pub binners: Vec<Binner>,
    /// Feature `f`'s histogram occupies `offsets[f]..offsets[f + 1]` (value bins + missing bin).
    pub offsets: Vec<usize>,
}

impl Binned {
    /// Fits binners on `rows` of `data` and bins those rows.
    pub fn fit(data: &TrainData, rows: &[usize], max_bins: usize) -> Binned {
        let nf = data.n_features;
        let binners: Vec<Binner> = (0..nf)
            .map(|f| match data.types[f] {
                FeatureType::Numeric => {
                    let vals =
                        rows.iter().map(|&r| data.features[r * nf + f]).filter(|v| !v.is_nan()).collect();
                    Binner::numeric(vals, max_bins)
                }
                FeatureType::Categorical { n_levels } => Binner::Categorical { n_levels },
            })
            .collect();
        let mut offsets = Vec::with_capacity(nf + 1);
        let mut total = 0;
        for b in &binners {
            offsets.push(total);
            total += b.n_value_bins() + 1;
        }
        offsets.push(total);
        let mut binned = Binned { n_rows: 0, n_features: nf, bins: Vec::new(), binners, offsets };
        binned.bins = binned.bin_rows(data, rows);
        binned.n_rows = rows.len();
        binned
    }

    /// Bins other rows (the validation set) with the fitted binners.
    pub fn bin_rows(&self, data: &TrainData, rows: &[usize]) -> Vec<u16> {
        let nf = self.n_features;
        let mut out = Vec::with_capacity(rows.len() * nf);
        for &r in rows {
            for (f, b) in self.binners.iter().enumerate() {
                out.push(b.bin(data.features[r * nf + f]));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn few_values_get_midpoint_cuts_and_missing_bin() {
        let b = Binner::numeric(vec![3.0, 1.0, 2.0, 2.0], 255);
        let Binner::Numeric { uppers } = &b else { panic!() };
        assert_eq!(uppers, &[1.5, 2.5, f64::MAX]);
        assert_eq!([b.bin(1.0), b.bin(1.5), b.bin(2.0), b.bin(9.0), b.bin(f64::NAN)], [0, 0, 1, 2, 3]);
    }

    #[test]
    fn many_values_respect_max_bins_and_balance() {
        let vals: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let b = Binner::numeric(vals.clone(), 10);
        assert_eq!(b.n_value_bins(), 10);
        let mut counts = [0usize; 10];
        for v in vals {
            counts[b.bin(v) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c == 100), "{counts:?}");
    }
}
