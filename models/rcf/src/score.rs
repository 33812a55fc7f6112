//! The anomaly score of AWS's random-cut-forest library ("collusive displacement" approximated
//! bottom-up): at the leaf reached by the query, score `1/(depth+1)` if the leaf is a different
//! point, or the damped `1/(depth + log2(mass+1))` if it is the same point; then, walking up,
//! mix in `1/(depth+1)` with the probability that a random cut of the node's box grown by the
//! query would have separated the query there. The tree score is normalised by `log2(mass+1)`
//! so that a typical point scores about 1.
//!
//! Both visitors walk down by cuts and back up by parent links: no allocation per tree.

use scorekit_core::math;

use crate::store::PointStore;
use crate::tree::{NONE, Tree, View, gap_of, is_leaf};

const LN_2: f64 = core::f64::consts::LN_2;

#[inline]
fn log2(x: f64) -> f64 {
    math::ln(x) / LN_2
}

#[inline]
fn score_unseen(depth: u32) -> f64 {
    1.0 / (depth as f64 + 1.0)
}

#[inline]
fn score_seen(depth: u32, mass: f64) -> f64 {
    1.0 / (depth as f64 + log2(mass + 1.0))
}

#[inline]
fn damp(leaf_mass: f64, tree_mass: f64) -> f64 {
    1.0 - leaf_mass / (2.0 * tree_mass)
}

/// Descends to the leaf of `point`; returns (leaf, depth).
#[inline]
fn descend(v: &View<'_>, point: &[f64]) -> (u32, u32) {
    let mut node = v.tree.root();
    let mut depth = 0u32;
    while !is_leaf(node) {
        node = v.tree.child_towards(node, point);
        depth += 1;
    }
    (node, depth)
}

/// Trees whose descents [`forest_score_sum`] interleaves.
const INTERLEAVE: usize = 4;

/// The sum, in tree order, of the normalised anomaly scores of `point` in `trees` (0 for an
/// empty tree). The descents of [`INTERLEAVE`] trees at a time go level by level together: each
/// level of each tree is a likely cache miss (a forest is megabytes), and independent descents
/// let those misses overlap. The scores and their order of summation are those of scoring the
/// trees one by one.
pub(crate) fn forest_score_sum(trees: &[Tree], store: &PointStore, dim: usize, point: &[f64]) -> f64 {
    let mut sum = 0.0;
    for group in trees.chunks(INTERLEAVE) {
        let mut node = [NONE; INTERLEAVE];
        let mut depth = [0u32; INTERLEAVE];
        for (n, t) in node.iter_mut().zip(group) {
            *n = t.root();
        }
        let mut descending = true;
        while descending {
            descending = false;
            for ((n, d), t) in node.iter_mut().zip(depth.iter_mut()).zip(group) {
                if *n != NONE && !is_leaf(*n) {
                    *n = t.child_towards(*n, point);
                    *d += 1;
                    descending = true;
                }
            }
        }
        for ((&n, &d), t) in node.iter().zip(&depth).zip(group) {
            sum += if n == NONE { 0.0 } else { score_from_leaf(&View { tree: t, store, dim }, point, n, d) };
        }
    }
    sum
}

/// Normalised anomaly score of `point` in one tree, from the leaf its descent reached.
fn score_from_leaf(v: &View<'_>, point: &[f64], leaf: u32, mut depth: u32) -> f64 {
    let t = v.tree;
    let tree_mass = t.total_mass() as f64;
    let normaliser = log2(tree_mass + 1.0);
    if v.store.get(t.leaf_point(leaf), v.dim) == point {
        // Every ancestor's box contains the point: no cut above could separate it.
        let lm = t.mass_of(leaf) as f64;
        return damp(lm, tree_mass) * score_seen(depth, lm) * normaliser;
    }
    let mut score = score_unseen(depth);
    let mut n = t.parent_of(leaf);
    while n != NONE {
        depth -= 1;
        let (bmin, bmax, range) = t.bounding_box(n, v.dim);
        let mut gap = 0.0;
        for d in 0..v.dim {
            gap += gap_of(point[d], bmin[d], bmax[d]);
        }
        if gap <= 0.0 {
            // Inside this box, hence inside every box above.
            break;
        }
        let p = gap / (range + gap);
        score = p * score_unseen(depth) + (1.0 - p) * score;
        n = t.parent_of(n);
    }
    score * normaliser
}

/// Adds `weight ×` the per-dimension attribution of `point` in one tree to `out` (length = the
/// point's dimension); the contributions sum to [`tree_score`]. `scratch` has the same length.
pub(crate) fn tree_attribution(
    v: &View<'_>,
    point: &[f64],
    weight: f64,
    scratch: &mut [f64],
    out: &mut [f64],
) {
    let t = v.tree;
    if t.root() == NONE {
        return;
    }
    let dim = v.dim;
    let (leaf, mut depth) = descend(v, point);
    let tree_mass = t.total_mass() as f64;
    let normaliser = log2(tree_mass + 1.0) * weight;
    let lp = v.store.get(t.leaf_point(leaf), dim);
    if lp == point {
        let lm = t.mass_of(leaf) as f64;
        let s = damp(lm, tree_mass) * score_seen(depth, lm) / dim as f64;
        for o in out.iter_mut() {
            *o += s * normaliser;
        }
        return;
    }
    let su = score_unseen(depth);
    let total: f64 = (0..dim).map(|d| (point[d] - lp[d]).abs()).sum();
    for d in 0..dim {
        scratch[d] = su * (point[d] - lp[d]).abs() / total;
    }
    let mut n = t.parent_of(leaf);
    while n != NONE {
        depth -= 1;
        let (bmin, bmax, range) = t.bounding_box(n, dim);
        let mut gap = 0.0;
        for d in 0..dim {
            gap += gap_of(point[d], bmin[d], bmax[d]);
        }
        if gap <= 0.0 {
            break;
        }
        let new_range = range + gap;
        let keep = 1.0 - gap / new_range;
        let su = score_unseen(depth);
        for d in 0..dim {
            scratch[d] = gap_of(point[d], bmin[d], bmax[d]) / new_range * su + keep * scratch[d];
        }
        n = t.parent_of(n);
    }
    for d in 0..dim {
        out[d] += scratch[d] * normaliser;
    }
}
