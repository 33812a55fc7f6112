//! Hyper-parameters of the trainer, their defaults and their validation.

use alloc::format;
use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::error::GbtError;
use crate::model::{MAX_DEPTH, Objective};

/// How to grow the ensemble. Defaults suit small and medium tabular data (thousands to millions
/// of rows): many shallow-ish trees with shrinkage, early stopping on a held-out split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GbtParams {
    /// Loss to minimise.
    pub objective: Objective,
    /// Maximum number of boosting rounds (trees).
    pub n_estimators: usize,
    /// Shrinkage applied to every leaf value, in (0, 1].
    pub learning_rate: f64,
    /// Maximum tree depth (root = depth 0), 1..=32.
    pub max_depth: usize,
    /// Maximum leaves per tree (trees grow best-first), ≥ 2.
    pub max_leaves: usize,
    /// Minimum hessian sum in a child.
    pub min_child_weight: f64,
    /// Minimum number of training rows in a child.
    pub min_samples_leaf: usize,
    /// L2 regularisation of leaf values.
    pub lambda: f64,
    /// Minimum gain for a split to be made.
    pub gamma: f64,
    /// Fraction of rows sampled (without replacement) for each tree, in (0, 1].
    pub subsample: f64,
    /// Fraction of features sampled for each tree, in (0, 1].
    pub colsample: f64,
    /// Maximum number of bins per numeric feature, 2..=255.
    pub max_bins: usize,
    /// Stop when the validation loss has not improved for this many rounds (`None`: never).
    pub early_stopping_rounds: Option<usize>,
    /// Fraction of the training rows held out for early stopping when no validation set is
    /// given, in [0, 1); 0 disables the hold-out.
    pub validation_fraction: f64,
    /// After early stopping on a hold-out (no explicit validation set), train again on all rows
    /// for the chosen number of rounds, so the held-out rows are not wasted.
    pub refit: bool,
    /// Seed of every random choice (row/column sampling, hold-out split).
    pub seed: u64,
    /// Categorical splits: smoothing added to the hessian when ordering levels by gradient ratio.
    pub cat_smooth: f64,
    /// Categorical splits: extra L2 regularisation of the split gain.
    pub cat_l2: f64,
    /// Categorical splits: most levels that may go to one side of a many-vs-many split.
    pub max_cat_threshold: usize,
    /// Categorical splits: levels seen in fewer rows than this in a node are never sent left
    /// explicitly (they follow the right side), which keeps rare levels from driving splits.
    pub min_data_per_category: usize,
}

impl Default for GbtParams {
    fn default() -> Self {
        GbtParams {
            objective: Objective::Binary,
            n_estimators: 500,
            learning_rate: 0.05,
            max_depth: 6,
            max_leaves: 31,
            min_child_weight: 0.1,
            min_samples_leaf: 1,
            lambda: 1.0,
            gamma: 0.0,
            subsample: 0.8,
            colsample: 0.8,
            max_bins: 255,
            early_stopping_rounds: Some(50),
            validation_fraction: 0.2,
            refit: true,
            seed: 42,
            cat_smooth: 10.0,
            cat_l2: 10.0,
            max_cat_threshold: 32,
            min_data_per_category: 50,
        }
    }
}

fn bad(name: &'static str, reason: String) -> Result<(), GbtError> {
    Err(GbtError::InvalidParam { name, reason })
}

impl GbtParams {
    /// Defaults with another objective.
    pub fn with_objective(objective: Objective) -> Self {
        GbtParams { objective, ..GbtParams::default() }
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// [`GbtError::InvalidParam`] naming the first bad field.
    pub fn validate(&self) -> Result<(), GbtError> {
        let unit = |x: f64| x > 0.0 && x <= 1.0;
        let nonneg = |x: f64| x.is_finite() && x >= 0.0;
        if self.n_estimators == 0 {
            return bad("n_estimators", "must be at least 1".into());
        }
        if !unit(self.learning_rate) {
            return bad("learning_rate", format!("must be in (0, 1], got {}", self.learning_rate));
        }
        if !(1..=MAX_DEPTH).contains(&self.max_depth) {
            return bad("max_depth", format!("must be in 1..={MAX_DEPTH}, got {}", self.max_depth));
        }
        if self.max_leaves < 2 {
            return bad("max_leaves", format!("must be at least 2, got {}", self.max_leaves));
        }
        if !nonneg(self.min_child_weight) {
            return bad(
                "min_child_weight",
                format!("must be finite and >= 0, got {}", self.min_child_weight),
            );
        }
        if self.min_samples_leaf == 0 {
            return bad("min_samples_leaf", "must be at least 1".into());
        }
        if !nonneg(self.lambda) {
            return bad("lambda", format!("must be finite and >= 0, got {}", self.lambda));
        }
        if !nonneg(self.gamma) {
            return bad("gamma", format!("must be finite and >= 0, got {}", self.gamma));
        }
        if !unit(self.subsample) {
            return bad("subsample", format!("must be in (0, 1], got {}", self.subsample));
        }
        if !unit(self.colsample) {
            return bad("colsample", format!("must be in (0, 1], got {}", self.colsample));
        }
        if !(2..=255).contains(&self.max_bins) {
            return bad("max_bins", format!("must be in 2..=255, got {}", self.max_bins));
        }
        if self.early_stopping_rounds == Some(0) {
            return bad("early_stopping_rounds", "must be at least 1 (use None to disable)".into());
        }
        if !(self.validation_fraction >= 0.0 && self.validation_fraction < 1.0) {
            return bad(
                "validation_fraction",
                format!("must be in [0, 1), got {}", self.validation_fraction),
            );
        }
        if !nonneg(self.cat_smooth) {
            return bad("cat_smooth", format!("must be finite and >= 0, got {}", self.cat_smooth));
        }
        if !nonneg(self.cat_l2) {
            return bad("cat_l2", format!("must be finite and >= 0, got {}", self.cat_l2));
        }
        if self.max_cat_threshold == 0 {
            return bad("max_cat_threshold", "must be at least 1".into());
        }
        Ok(())
    }
}
