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
use crate::layout::Layout;

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
    #[cfg(feature = "train")]
    pub(crate) fn leaf(value: f64) -> Self {
        Node { feature: 0, left: 0, value, default_left: false, categorical: false, cat_start: 0, cat_len: 0 }
    }

    #[inline]
    pub(crate) fn is_leaf(&self) -> bool {
        self.left == 0
    }
}

/// What is serialised: exactly the stored fields, checked by [`GbtModel::try_from`] on load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct GbtModelRepr {
    n_features: u32,
    objective: Objective,
    base_score: f64,
    /// Per feature: 0 for numeric, the number of levels for categorical.
    cat_levels: Vec<u32>,
    /// Index of each tree's root in `nodes`; tree `t` spans `tree_starts[t]..tree_starts[t + 1]`.
    tree_starts: Vec<u32>,
    nodes: Vec<Node>,
    /// Training rows (after subsampling) that reached each node: TreeSHAP's cover weights.
    cover: Vec<f64>,
    /// Split gain per node (0 for leaves): feature importance.
    gain: Vec<f64>,
    cat_bits: Vec<u32>,
}

/// A trained gradient-boosted tree ensemble, ready to score.
///
/// Serialises (postcard and JSON) as flat arrays; deserialising re-checks every structural
/// invariant, so a scorer never indexes out of bounds or loops, whatever file it was given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GbtModelRepr", into = "GbtModelRepr")]
pub struct GbtModel {
    pub(crate) n_features: usize,
    pub(crate) objective: Objective,
    pub(crate) base_score: f64,
    pub(crate) cat_levels: Vec<u32>,
    pub(crate) tree_starts: Vec<u32>,
    pub(crate) nodes: Vec<Node>,
    pub(crate) cover: Vec<f64>,
    pub(crate) gain: Vec<f64>,
    pub(crate) cat_bits: Vec<u32>,
    /// Derived on construction: each tree's cover-weighted mean output (TreeSHAP's bias).
    pub(crate) tree_expected: Vec<f64>,
    /// Derived on construction: the branch-free scoring layout (`None`: a tree is too deep).
    pub(crate) layout: Option<Layout>,
}

impl From<GbtModel> for GbtModelRepr {
    fn from(m: GbtModel) -> Self {
        GbtModelRepr {
            n_features: m.n_features as u32,
            objective: m.objective,
            base_score: m.base_score,
            cat_levels: m.cat_levels,
            tree_starts: m.tree_starts,
            nodes: m.nodes,
            cover: m.cover,
            gain: m.gain,
            cat_bits: m.cat_bits,
        }
    }
}

impl TryFrom<GbtModelRepr> for GbtModel {
    type Error = GbtError;

    fn try_from(r: GbtModelRepr) -> Result<Self, GbtError> {
        check(&r).map_err(GbtError::InvalidModel)?;
        let mut m = GbtModel {
            n_features: r.n_features as usize,
            objective: r.objective,
            base_score: r.base_score,
            cat_levels: r.cat_levels,
            tree_starts: r.tree_starts,
            nodes: r.nodes,
            cover: r.cover,
            gain: r.gain,
            cat_bits: r.cat_bits,
            tree_expected: Vec::new(),
            layout: None,
        };
        m.derive();
        Ok(m)
    }
}

fn check(r: &GbtModelRepr) -> Result<(), String> {
    let n = r.nodes.len();
    if r.n_features == 0 {
        return Err("a model needs at least one feature".into());
    }
    if r.cat_levels.len() != r.n_features as usize {
        return Err(format!("{} feature kinds for {} features", r.cat_levels.len(), r.n_features));
    }
    if r.cover.len() != n || r.gain.len() != n {
        return Err("cover/gain arrays do not match the node count".into());
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
            if !(node.value.is_finite() && c.is_finite() && c > 0.0 && r.gain[i].is_finite()) {
                return Err(format!("node {i}: non-finite value, cover or gain, or zero cover"));
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
    /// Builds a checked model from parts (used by the trainer).
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
        GbtModel::try_from(GbtModelRepr {
            n_features: n_features as u32,
            objective,
            base_score,
            cat_levels,
            tree_starts,
            nodes,
            cover,
            gain,
            cat_bits,
        })
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

    /// Cover-weighted mean leaf value of tree `t` (children are after parents: one backward pass
    /// would do, but recursion from the root is clearer and trees are shallow).
    fn expected_value(&self, t: usize) -> f64 {
        fn go(m: &GbtModel, i: usize) -> f64 {
            let n = &m.nodes[i];
            if n.is_leaf() {
                return n.value;
            }
            let l = n.left as usize;
            let (cl, cr) = (m.cover[l], m.cover[l + 1]);
            (cl * go(m, l) + cr * go(m, l + 1)) / (cl + cr)
        }
        go(self, self.tree_range(t).0)
    }

    /// Computes the derived fields from the stored ones.
    fn derive(&mut self) {
        self.tree_expected = (0..self.n_trees()).map(|t| self.expected_value(t)).collect();
        self.layout = Layout::build(self);
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
