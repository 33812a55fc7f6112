//! The two serialised forms of a [`GbtModel`]: readable flat arrays for JSON files, and a
//! compact form for postcard (what a compiled module carries) — one tagged entry per node, split
//! thresholds as indices into a table of the distinct values, covers as integers. Both decode to
//! the same [`Parts`], so they hold exactly the same model and go through the same checks.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::GbtError;
use crate::model::{GbtModel, Node, Objective, Parts, importance_of};

/// The JSON form: the stored fields as they are. Files written before the importance was
/// stored carry the per-node `gain` instead; the importance is computed from it on load.
#[derive(Serialize, Deserialize)]
struct Readable {
    n_features: u32,
    objective: Objective,
    base_score: f64,
    cat_levels: Vec<u32>,
    tree_starts: Vec<u32>,
    nodes: Vec<Node>,
    cover: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    importance: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gain: Option<Vec<f64>>,
    cat_bits: Vec<u32>,
}

/// The postcard form.
#[derive(Serialize, Deserialize)]
struct Compact {
    n_features: u32,
    objective: Objective,
    base_score: f64,
    cat_levels: Vec<u32>,
    importance: Vec<f64>,
    /// The distinct numeric split values, in the order they first occur.
    thresholds: Vec<f64>,
    /// Nodes per tree.
    tree_sizes: Vec<u32>,
    nodes: Vec<CompactNode>,
    cat_bits: Vec<u32>,
}

/// One node: `split` is `feature << 1 | default_left`, `to_left` the distance to the left
/// child (its right sibling follows it), `cover` the training rows that reached the node.
/// A split whose cover is its children's sum (every split of a trained model: each row goes one
/// way) is written without it (the `…Summed` forms, appended so earlier encodings still read).
#[derive(Serialize, Deserialize)]
enum CompactNode {
    Leaf {
        value: f64,
        cover: u32,
    },
    Numeric {
        split: u32,
        to_left: u32,
        threshold: u32,
        cover: u32,
    },
    Categorical {
        split: u32,
        to_left: u32,
        cat_start: u32,
        cat_len: u32,
        cover: u32,
    },
    NumericSummed {
        split: u32,
        to_left: u32,
        threshold: u32,
    },
    CategoricalSummed {
        split: u32,
        to_left: u32,
        cat_start: u32,
        cat_len: u32,
    },
    /// A leaf whose value is exactly an `f32` (every leaf a trainer of this version grows): 4
    /// bytes instead of 8.
    LeafF32 {
        value: f32,
        cover: u32,
    },
}

impl Serialize for GbtModel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.parts();
        if s.is_human_readable() {
            return Readable {
                n_features: p.n_features,
                objective: p.objective,
                base_score: p.base_score,
                cat_levels: p.cat_levels,
                tree_starts: p.tree_starts,
                nodes: p.nodes,
                cover: p.cover,
                importance: Some(p.importance),
                gain: None,
                cat_bits: p.cat_bits,
            }
            .serialize(s);
        }
        compact(p).serialize(s)
    }
}

impl<'de> Deserialize<'de> for GbtModel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let parts = if d.is_human_readable() {
            from_readable(Readable::deserialize(d)?)
        } else {
            from_compact(Compact::deserialize(d)?)
        };
        parts.and_then(GbtModel::try_from).map_err(serde::de::Error::custom)
    }
}

fn compact(p: Parts) -> Compact {
    let mut thresholds: Vec<f64> = Vec::new();
    let mut seen: BTreeMap<u64, u32> = BTreeMap::new();
    let mut index = |v: f64| {
        *seen.entry(v.to_bits()).or_insert_with(|| {
            thresholds.push(v);
            thresholds.len() as u32 - 1
        })
    };
    let nodes = p
        .nodes
        .iter()
        .zip(&p.cover)
        .enumerate()
        .map(|(i, (n, &c))| {
            // A checked model's covers are whole numbers of rows below 2^32.
            let cover = c as u32;
            let split = n.feature << 1 | u32::from(n.default_left);
            let to_left = n.left.wrapping_sub(i as u32);
            let l = n.left as usize;
            let summed = !n.is_leaf()
                && p.cover
                    .get(l..l + 2)
                    .is_some_and(|k| (k[0] as u32).checked_add(k[1] as u32) == Some(cover));
            match (n.is_leaf(), n.categorical, summed) {
                (true, _, _) => match as_f32(n.value) {
                    Some(value) => CompactNode::LeafF32 { value, cover },
                    None => CompactNode::Leaf { value: n.value, cover },
                },
                (false, false, true) => {
                    CompactNode::NumericSummed { split, to_left, threshold: index(n.value) }
                }
                (false, false, false) => {
                    CompactNode::Numeric { split, to_left, threshold: index(n.value), cover }
                }
                (false, true, true) => CompactNode::CategoricalSummed {
                    split,
                    to_left,
                    cat_start: n.cat_start,
                    cat_len: n.cat_len,
                },
                (false, true, false) => CompactNode::Categorical {
                    split,
                    to_left,
                    cat_start: n.cat_start,
                    cat_len: n.cat_len,
                    cover,
                },
            }
        })
        .collect();
    let n = p.nodes.len() as u32;
    let tree_sizes = p
        .tree_starts
        .iter()
        .enumerate()
        .map(|(t, &s)| p.tree_starts.get(t + 1).copied().unwrap_or(n) - s)
        .collect();
    Compact {
        n_features: p.n_features,
        objective: p.objective,
        base_score: p.base_score,
        cat_levels: p.cat_levels,
        importance: p.importance,
        thresholds,
        tree_sizes,
        nodes,
        cat_bits: p.cat_bits,
    }
}

fn from_compact(c: Compact) -> Result<Parts, GbtError> {
    let bad = |msg: &str| GbtError::InvalidModel(msg.into());
    let mut tree_starts = Vec::with_capacity(c.tree_sizes.len());
    let mut at: u32 = 0;
    for size in c.tree_sizes {
        tree_starts.push(at);
        at = at.checked_add(size).ok_or_else(|| bad("tree sizes overflow"))?;
    }
    if at as usize != c.nodes.len() {
        return Err(bad("tree sizes do not add up to the node count"));
    }
    let (mut nodes, mut cover) = (Vec::with_capacity(c.nodes.len()), Vec::with_capacity(c.nodes.len()));
    // Covers as row counts; `None` for a split whose cover is its children's sum, filled below.
    let mut rows_of: Vec<Option<u32>> = Vec::with_capacity(c.nodes.len());
    for (i, n) in c.nodes.into_iter().enumerate() {
        let left = |to_left: u32| (i as u32).checked_add(to_left).ok_or_else(|| bad("child index overflows"));
        let (node, rows) = match n {
            CompactNode::Leaf { value, cover } => (Node::leaf(value), Some(cover)),
            CompactNode::LeafF32 { value, cover } => (Node::leaf(f64::from(value)), Some(cover)),
            CompactNode::Numeric { split, to_left, threshold, cover } => {
                (numeric(i, split, left(to_left)?, threshold, &c.thresholds)?, Some(cover))
            }
            CompactNode::NumericSummed { split, to_left, threshold } => {
                (numeric(i, split, left(to_left)?, threshold, &c.thresholds)?, None)
            }
            CompactNode::Categorical { split, to_left, cat_start, cat_len, cover } => {
                (categorical(split, left(to_left)?, cat_start, cat_len), Some(cover))
            }
            CompactNode::CategoricalSummed { split, to_left, cat_start, cat_len } => {
                (categorical(split, left(to_left)?, cat_start, cat_len), None)
            }
        };
        nodes.push(node);
        rows_of.push(rows);
    }
    // Children come after their parent (the model check refuses anything else), so from the
    // last node back every child's cover is known before its parent's is summed.
    for i in (0..rows_of.len()).rev() {
        if rows_of[i].is_none() {
            let l = nodes[i].left as usize;
            let sum = match (rows_of.get(l).copied().flatten(), rows_of.get(l + 1).copied().flatten()) {
                (Some(a), Some(b)) if l > i => a.checked_add(b),
                _ => None,
            };
            rows_of[i] = Some(sum.ok_or_else(|| {
                GbtError::InvalidModel(format!("node {i}: children outside its tree or a cover past 2^32"))
            })?);
        }
    }
    cover.extend(rows_of.into_iter().map(|r| f64::from(r.unwrap_or(0))));
    Ok(Parts {
        n_features: c.n_features,
        objective: c.objective,
        base_score: c.base_score,
        cat_levels: c.cat_levels,
        tree_starts,
        nodes,
        cover,
        importance: c.importance,
        cat_bits: c.cat_bits,
    })
}

fn numeric(i: usize, split: u32, left: u32, threshold: u32, thresholds: &[f64]) -> Result<Node, GbtError> {
    let value = *thresholds.get(threshold as usize).ok_or_else(|| {
        GbtError::InvalidModel(format!("node {i}: threshold {threshold} is not in the table"))
    })?;
    Ok(Node {
        feature: split >> 1,
        left,
        value,
        default_left: split & 1 == 1,
        categorical: false,
        cat_start: 0,
        cat_len: 0,
    })
}

fn categorical(split: u32, left: u32, cat_start: u32, cat_len: u32) -> Node {
    Node {
        feature: split >> 1,
        left,
        value: 0.0,
        default_left: split & 1 == 1,
        categorical: true,
        cat_start,
        cat_len,
    }
}

fn from_readable(r: Readable) -> Result<Parts, GbtError> {
    let importance = match (r.importance, r.gain) {
        (Some(importance), None) => importance,
        (None, Some(gain)) if gain.len() == r.nodes.len() && gain.iter().all(|g| g.is_finite()) => {
            importance_of(r.n_features as usize, &r.nodes, &gain)
        }
        (None, Some(_)) => {
            return Err(GbtError::InvalidModel("gain array does not match the node count".into()));
        }
        _ => return Err(GbtError::InvalidModel("expected exactly one of `importance` and `gain`".into())),
    };
    Ok(Parts {
        n_features: r.n_features,
        objective: r.objective,
        base_score: r.base_score,
        cat_levels: r.cat_levels,
        tree_starts: r.tree_starts,
        nodes: r.nodes,
        cover: r.cover,
        importance,
        cat_bits: r.cat_bits,
    })
}

/// `v` as an `f32` when that is exactly `v` (sign of zero included).
fn as_f32(v: f64) -> Option<f32> {
    let narrow = v as f32;
    (f64::from(narrow).to_bits() == v.to_bits()).then_some(narrow)
}
