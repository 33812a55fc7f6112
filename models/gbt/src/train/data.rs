//! The training data view and its validation.

use std::format;
use std::string::ToString;

use crate::error::GbtError;
use crate::model::Objective;

/// How a feature column is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureType {
    /// A real number; `NaN` is missing.
    Numeric,
    /// A level index in `0..n_levels` (what `scorekit_core::encode_row` produces); `NaN` is missing.
    Categorical {
        /// Number of levels.
        n_levels: usize,
    },
}

/// Largest level count a categorical feature may have (its levels are stored as `u16` bins, one
/// bin being reserved for missing).
pub const MAX_LEVELS: usize = u16::MAX as usize - 1;

/// Borrowed training rows: `features` is row-major, `n_features` values per row.
#[derive(Clone, Copy, Debug)]
pub struct TrainData<'a> {
    /// Row-major feature values; `NaN` is missing.
    pub features: &'a [f64],
    /// Values per row.
    pub n_features: usize,
    /// One type per feature.
    pub types: &'a [FeatureType],
    /// One target per row: 0/1 for binary, any finite value for regression.
    pub target: &'a [f64],
}

/// Whether `v` is an integer level index in `0..n_levels`.
fn is_level(v: f64, n_levels: usize) -> bool {
    (0.0..n_levels as f64).contains(&v) && v.fract() == 0.0
}

impl TrainData<'_> {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.target.len()
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.features[i * self.n_features..(i + 1) * self.n_features]
    }

    /// Checks shapes, feature values and targets.
    ///
    /// # Errors
    /// [`GbtError::InvalidData`], [`GbtError::InvalidFeature`], [`GbtError::InvalidTarget`].
    pub fn validate(&self, objective: Objective) -> Result<(), GbtError> {
        let nf = self.n_features;
        if nf == 0 {
            return Err(GbtError::InvalidData("no features".into()));
        }
        if self.types.len() != nf {
            return Err(GbtError::InvalidData(format!(
                "{} feature types for {nf} features",
                self.types.len()
            )));
        }
        if self.target.is_empty() {
            return Err(GbtError::InvalidData("no rows".into()));
        }
        if self.features.len() != nf * self.target.len() {
            return Err(GbtError::InvalidData(format!(
                "{} feature values for {} rows of {nf} features",
                self.features.len(),
                self.target.len()
            )));
        }
        for (f, t) in self.types.iter().enumerate() {
            if let FeatureType::Categorical { n_levels } = *t
                && (n_levels == 0 || n_levels > MAX_LEVELS)
            {
                return Err(GbtError::InvalidData(format!(
                    "feature {f}: {n_levels} levels (must be 1..={MAX_LEVELS})"
                )));
            }
        }
        for (row, (x, &y)) in self.features.chunks_exact(nf).zip(self.target).enumerate() {
            for (feature, (&v, t)) in x.iter().zip(self.types).enumerate() {
                let bad = |reason| GbtError::InvalidFeature { row, feature, value: v.to_string(), reason };
                match *t {
                    FeatureType::Numeric if v.is_infinite() => return Err(bad("must be finite or NaN")),
                    FeatureType::Categorical { n_levels } if !v.is_nan() && !is_level(v, n_levels) => {
                        return Err(bad("must be a level index or NaN"));
                    }
                    _ => {}
                }
            }
            let bad = |reason| GbtError::InvalidTarget { row, value: y.to_string(), reason };
            match objective {
                Objective::Binary if y != 0.0 && y != 1.0 => return Err(bad("binary targets are 0 or 1")),
                Objective::Regression if !y.is_finite() => return Err(bad("must be finite")),
                _ => {}
            }
        }
        Ok(())
    }
}
