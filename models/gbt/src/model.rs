//! The trained ensemble as flat arrays, and the structural checks every loaded model passes.
//!
//! All trees share one node array; a node's right child is always `left + 1` and children come
//! after their parent, so a node is 32 bytes of hot data and a loaded model cannot contain a
//! cycle. Per-node cover and gain (used only by explanations) live in parallel cold arrays.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::error::GbtError;
#[cfg(feature = "layout")]
use crate::layout::LazyLayout;

/// Deepest tree a model may hold; bounds the fixed TreeSHAP path buffer (no allocation per row).
pub const MAX_DEPTH: usize = 32;

/// What the ensemble's margin means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Binary log-loss: the margin is the log-odds of the positive class.
    Binary,
    /// Squared error: the margin is the predicted value.
    Regression,
}

/// One tree node. A leaf has `left == 0` (the root is never anyone's child) and keeps its output
/// in `value`; a split keeps its threshold there (numeric: `x <= value` goes left).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Node {
    /// Feature tested (0 for leaves).
    pub feature: u32,
    /// Index of the left child in the model's node array; the right child is `left + 1`.
    pub left: u32,
    /// Threshold (numeric split) or output (leaf); unused for categorical splits.
    pub value: f64,
    /// Where a missing value (or an out-of-range category) goes.
    pub default_left: bool,
    /// Categorical split: levels whose bit is set in `cat_bits[cat_start..cat_start + cat_len]` go left.
    pub categorical: bool,
    /// First word of this split's left-level bitset.
    pub cat_start: u32,
    /// Number of 32-bit words in the bitset; levels beyond it go right.
    pub cat_len: u32,
}

impl Node {
    pub(crate) fn leaf(value: f64) -> Self {
        Node { feature: 0, left: 0, value, default_left: false, categorical: false, cat_start: 0, cat_len: 0 }
    }

    #[inline]
    pub(crate) fn is_leaf(&self) -> bool {
        self.left == 0
    }
}

/// The stored fields, as both serialised forms (`repr.rs`) hand them over; checked by
/// [`GbtModel::try_from`] before any scorer sees them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Parts {
    pub n_features: u32,
    pub objective: Objective,
    pub base_score: f64,
    /// Per feature: 0 for numeric, the number of levels for categorical.
    pub cat_levels: Vec<u32>,
    /// Index of each tree's root in `nodes`; tree `t` spans `tree_starts[t]..tree_starts[t + 1]`.
    pub tree_starts: Vec<u32>,
    pub nodes: Vec<Node>,
    /// Training rows (after subsampling) that reached each node: TreeSHAP's cover weights.
    pub cover: Vec<f64>,
    /// Each feature's share of the total split gain (all zeros when no tree splits).
    pub importance: Vec<f64>,
    pub cat_bits: Vec<u32>,
}

/// A trained gradient-boosted tree ensemble, ready to score.
///
/// Serialises as flat arrays: readable ones in JSON, a compact form (threshold table, integer
/// covers, one tagged entry per node) in postcard (`repr.rs`). Deserialising re-checks every
/// structural invariant, so a scorer never indexes out of bounds or loops, whatever file it
/// was given.
#[derive(Clone, Debug)]
pub struct GbtModel {
    pub(crate) n_features: usize,
    pub(crate) objective: Objective,
    pub(crate) base_score: f64,
    pub(crate) cat_levels: Vec<u32>,
    pub(crate) tree_starts: Vec<u32>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) cover: Vec<f64>,
    pub(crate) importance: Vec<f64>,
    pub(crate) cat_bits: Vec<u32>,
    /// The trainer's split gain per node, kept while training (early stopping drops trees and
    /// recomputes the importance); not stored, so empty in a loaded model.
    #[cfg(feature = "train")]
    pub(crate) gain: Vec<f64>,
    /// Derived on construction: each tree's cover-weighted mean output (TreeSHAP's bias).
    pub(crate) tree_expected: Vec<f64>,
    /// Derived on first use: the branch-free scoring layout (`layout.rs`; building it was ≈ 2.2M
    /// of 4.4M instructions to decode the demo churn model). Only with feature `layout` (native
    /// builds): the Wasm guest walks the nodes.
    #[cfg(feature = "layout")]
    pub(crate) layout: LazyLayout,
}

/// Two models are equal when their stored fields are (the derived ones follow from them).
impl PartialEq for GbtModel {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl GbtModel {
    /// The stored fields.
    pub(crate) fn parts(&self) -> Parts {
        Parts {
            n_features: self.n_features as u32,
            objective: self.objective,
            base_score: self.base_score,
            cat_levels: self.cat_levels.clone(),
            tree_starts: self.tree_starts.clone(),
            nodes: self.nodes.clone(),
            cover: self.cover.clone(),
            importance: self.importance.clone(),
            cat_bits: self.cat_bits.clone(),
        }
    }
}

impl TryFrom<Parts> for GbtModel {
    type Error = GbtError;

    fn try_from(r: Parts) -> Result<Self, GbtError> {
        check(&r).map_err(GbtError::InvalidModel)?;
        let mut m = GbtModel {
            n_features: r.n_features as usize,
            objective: r.objective,
            base_score: r.base_score,
            cat_levels: r.cat_levels,
            tree_starts: r.tree_starts,
            nodes: r.nodes,
            cover: r.cover,
            importance: r.importance,
            cat_bits: r.cat_bits,
            #[cfg(feature = "train")]
            gain: Vec::new(),
            tree_expected: Vec::new(),
            #[cfg(feature = "layout")]
            layout: LazyLayout::default(),
        };
        m.derive();
        Ok(m)
    }
}

/// Each feature's share of the total split `gain` (per node, 0 for leaves) of `nodes`, summed
/// in node order; all zeros when nothing splits.
pub(crate) fn importance_of(n_features: usize, nodes: &[Node], gain: &[f64]) -> Vec<f64> {
    let mut imp = vec![0.0; n_features];
    for (n, g) in nodes.iter().zip(gain) {
        if !n.is_leaf()
            && let Some(slot) = imp.get_mut(n.feature as usize)
        {
            *slot += g;
        }
    }
    let total: f64 = imp.iter().sum();
    if total > 0.0 {
        imp.iter_mut().for_each(|v| *v /= total);
    }
    imp
}

fn check(r: &Parts) -> Result<(), String> {
    let n = r.nodes.len();
    if r.n_features == 0 {
        return Err("a model needs at least one feature".into());
    }
    if r.cat_levels.len() != r.n_features as usize {
        return Err(format!("{} feature kinds for {} features", r.cat_levels.len(), r.n_features));
    }
    if r.cover.len() != n {
        return Err("the cover array does not match the node count".into());
    }
    if r.importance.len() != r.n_features as usize || !r.importance.iter().all(|v| v.is_finite() && *v >= 0.0)
    {
        return Err("feature importance is not one finite, non-negative value per feature".into());
    }
    if !r.base_score.is_finite() {
        return Err("base score is not finite".into());
    }
    for (t, &s) in r.tree_starts.iter().enumerate() {
        let end = r.tree_starts.get(t + 1).map_or(n, |&e| e as usize);
        if (s as usize) >= end || end > n || (t == 0 && s != 0) {
            return Err(format!("tree {t} has an empty or out-of-order node range"));
        }
    }
    if r.tree_starts.is_empty() && n != 0 {
        return Err("nodes without trees".into());
    }
    let mut depth = vec![0usize; n];
    for t in 0..r.tree_starts.len() {
        let start = r.tree_starts[t] as usize;
        let end = r.tree_starts.get(t + 1).map_or(n, |&e| e as usize);
        for i in start..end {
            let node = &r.nodes[i];
            let c = r.cover[i];
            // Cover counts training rows: a whole number, which the compact form stores as such.
            if !(node.value.is_finite() && c >= 1.0 && c <= f64::from(u32::MAX) && c == f64::from(c as u32)) {
                return Err(format!("node {i}: non-finite value, or a cover that is not a count of rows"));
            }
            if node.is_leaf() {
                continue;
            }
            let l = node.left as usize;
            if l <= i || l + 1 >= end {
                return Err(format!("node {i}: child {l} outside its tree or before its parent"));
            }
            if depth[i] + 1 > MAX_DEPTH {
                return Err(format!("tree {t} is deeper than {MAX_DEPTH}"));
            }
            depth[l] = depth[l].max(depth[i] + 1);
            depth[l + 1] = depth[l + 1].max(depth[i] + 1);
            let f = node.feature as usize;
            if f >= r.n_features as usize {
                return Err(format!("node {i}: feature {f} out of range"));
            }
            if node.categorical {
                let (s, len) = (node.cat_start as usize, node.cat_len as usize);
                if r.cat_levels[f] == 0 || s.checked_add(len).is_none_or(|e| e > r.cat_bits.len()) {
                    return Err(format!("node {i}: categorical split on a numeric feature or bad bitset"));
                }
            }
        }
    }
    Ok(())
}

impl GbtModel {
    /// Builds a checked model from parts (used by the trainer), with its per-node split gains.
    #[cfg(feature = "train")]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        n_features: usize,
        objective: Objective,
        base_score: f64,
        cat_levels: Vec<u32>,
        tree_starts: Vec<u32>,
        nodes: Vec<Node>,
        cover: Vec<f64>,
        gain: Vec<f64>,
        cat_bits: Vec<u32>,
    ) -> Result<Self, GbtError> {
        if gain.len() != nodes.len() || !gain.iter().all(|g| g.is_finite()) {
            return Err(GbtError::InvalidModel("gain array does not match the node count".into()));
        }
        let importance = importance_of(n_features, &nodes, &gain);
        let mut m = GbtModel::try_from(Parts {
            n_features: n_features as u32,
            objective,
            base_score,
            cat_levels,
            tree_starts,
            nodes,
            cover,
            importance,
            cat_bits,
        })?;
        m.gain = gain;
        Ok(m)
    }

    /// Number of input features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// What the model predicts.
    pub fn objective(&self) -> Objective {
        self.objective
    }

    /// Number of trees in the ensemble.
    pub fn n_trees(&self) -> usize {
        self.tree_starts.len()
    }

    /// The margin before any tree (log-odds of the training prior, or the training mean).
    pub fn base_score(&self) -> f64 {
        self.base_score
    }

    /// Number of levels of each categorical feature (0 for numeric features).
    pub fn categorical_levels(&self) -> &[u32] {
        &self.cat_levels
    }

    pub(crate) fn tree_range(&self, t: usize) -> (usize, usize) {
        let start = self.tree_starts[t] as usize;
        let end = self.tree_starts.get(t + 1).map_or(self.nodes.len(), |&e| e as usize);
        (start, end)
    }

    /// Cover-weighted mean leaf value of every tree (TreeSHAP's bias per tree). One backward
    /// pass over the nodes: children come after their parent (`check`), so each node's children
    /// are done before it, and each value is `(cl * left + cr * right) / (cl + cr)` exactly as a
    /// recursion from the root computes it (a node no root reaches is computed and unused).
    fn expected_values(&self) -> Vec<f64> {
        let mut value = vec![0.0; self.nodes.len()];
        for i in (0..self.nodes.len()).rev() {
            let n = &self.nodes[i];
            value[i] = if n.is_leaf() {
                n.value
            } else {
                let l = n.left as usize;
                let (cl, cr) = (self.cover[l], self.cover[l + 1]);
                (cl * value[l] + cr * value[l + 1]) / (cl + cr)
            };
        }
        (0..self.n_trees()).map(|t| value[self.tree_range(t).0]).collect()
    }

    /// Computes the derived fields from the stored ones.
    fn derive(&mut self) {
        self.tree_expected = self.expected_values();
        #[cfg(feature = "layout")]
        {
            self.layout = LazyLayout::default();
        }
    }

    /// Keeps only the first `n` trees (early stopping).
    #[cfg(feature = "train")]
    pub(crate) fn truncate(&mut self, n: usize) {
        if n >= self.n_trees() {
            return;
        }
        let end = self.tree_starts[n] as usize;
        self.tree_starts.truncate(n);
        self.nodes.truncate(end);
        self.cover.truncate(end);
        self.gain.truncate(end);
        self.importance = importance_of(self.n_features, &self.nodes, &self.gain);
        let bits_end = self
            .nodes
            .iter()
            .filter(|n| n.categorical)
            .map(|n| (n.cat_start + n.cat_len) as usize)
            .max()
            .unwrap_or(0);
        self.cat_bits.truncate(bits_end);
        self.derive();
    }
}
