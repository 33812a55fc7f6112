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
/// Levels of a descent remembered for the way back up (deeper ones follow parent links).
const PATH: usize = 40;

/// The sum, in tree order, of the normalised anomaly scores of `point` in `trees` (0 for an
/// empty tree). Each level of a descent is a likely cache miss (a forest is megabytes), so the
/// descents of [`INTERLEAVE`] trees go level by level together, letting their misses overlap,
/// and each remembers its path, so that the way back up knows every box it will read instead of
/// chasing parent links one miss after another. The scores and their order of summation are those
/// of scoring the trees one by one.
pub(crate) fn forest_score_sum(trees: &[Tree], store: &PointStore, dim: usize, point: &[f64]) -> f64 {
    let mut sum = 0.0;
    let mut path = [[NONE; PATH]; INTERLEAVE];
    // The trees of a full forest all hold the same mass: one logarithm for all of them.
    let mut normaliser = Normaliser { mass: u32::MAX, value: 0.0 };
    for group in trees.chunks(INTERLEAVE) {
        let mut node = [NONE; INTERLEAVE];
        let mut depth = [0u32; INTERLEAVE];
        for (n, t) in node.iter_mut().zip(group) {
            *n = t.root();
        }
        let mut descending = true;
        while descending {
            descending = false;
            for (((n, d), p), t) in node.iter_mut().zip(depth.iter_mut()).zip(path.iter_mut()).zip(group) {
                if *n != NONE && !is_leaf(*n) {
                    if let Some(slot) = p.get_mut(*d as usize) {
                        *slot = *n;
                    }
                    *n = t.child_towards(*n, point);
                    *d += 1;
                    descending = true;
                }
            }
        }
        for (((&n, &d), p), t) in node.iter().zip(&depth).zip(&path).zip(group) {
            sum += if n == NONE {
                0.0
            } else {
                let norm = normaliser.of(t.total_mass());
                score_from_leaf(&View { tree: t, store, dim }, point, n, d, p, norm)
            };
        }
    }
    sum
}

/// `log2(mass + 1)`, the score's normaliser, for the last tree mass asked.
struct Normaliser {
    mass: u32,
    value: f64,
}

impl Normaliser {
    #[inline]
    fn of(&mut self, mass: u32) -> f64 {
        if mass != self.mass {
            self.mass = mass;
            self.value = log2(mass as f64 + 1.0);
        }
        self.value
    }
}

/// Normalised anomaly score of `point` in one tree, from the leaf its descent reached at `depth`
/// through `path` (the internal nodes from the root, as far as it holds them); `normaliser` is
/// `log2` of the tree's mass + 1.
fn score_from_leaf(
    v: &View<'_>,
    point: &[f64],
    leaf: u32,
    mut depth: u32,
    path: &[u32; PATH],
    normaliser: f64,
) -> f64 {
    let t = v.tree;
    let tree_mass = t.total_mass() as f64;
    if v.store.get(t.leaf_point(leaf), v.dim) == point {
        // Every ancestor's box contains the point: no cut above could separate it.
        let lm = t.mass_of(leaf) as f64;
        return damp(lm, tree_mass) * score_seen(depth, lm) * normaliser;
    }
    // The node at `depth - 1` above the one at `depth` (`r`).
    let above = |r: u32, depth: u32| match depth.checked_sub(1) {
        None => NONE,
        Some(up) => path.get(up as usize).copied().unwrap_or_else(|| t.parent_of(r)),
    };
    let mut score = score_unseen(depth);
    let mut n = above(leaf, depth);
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
        n = above(n, depth);
    }
    score * normaliser
}

/// Adds `weight ×` the per-dimension attribution of `point` in one tree to `out` (length = the
/// point's dimension); the contributions sum to the tree's score. `scratch` has the same length.
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use scorekit_core::rng::Rng;

    /// The score of one tree as it was computed before the descents were interleaved: down by
    /// cuts (the one-tree [`descend`] that attribution uses), back up by parent links, the gap
    /// by a three-way branch. The walk up is written out again on purpose: it is the evaluation
    /// the interleaved one must equal, kept as it was.
    fn reference_tree_score(t: &Tree, store: &PointStore, dim: usize, point: &[f64]) -> f64 {
        if t.root() == NONE {
            return 0.0;
        }
        let (leaf, mut depth) = descend(&View { tree: t, store, dim }, point);
        let tree_mass = t.total_mass() as f64;
        let normaliser = log2(tree_mass + 1.0);
        if store.get(t.leaf_point(leaf), dim) == point {
            let lm = t.mass_of(leaf) as f64;
            return damp(lm, tree_mass) * score_seen(depth, lm) * normaliser;
        }
        let mut score = score_unseen(depth);
        let mut n = t.parent_of(leaf);
        while n != NONE {
            depth -= 1;
            let (bmin, bmax, range) = t.bounding_box(n, dim);
            let mut gap = 0.0;
            for d in 0..dim {
                gap += if point[d] < bmin[d] {
                    bmin[d] - point[d]
                } else if point[d] > bmax[d] {
                    point[d] - bmax[d]
                } else {
                    0.0
                };
            }
            if gap <= 0.0 {
                break;
            }
            let p = gap / (range + gap);
            score = p * score_unseen(depth) + (1.0 - p) * score;
            n = t.parent_of(n);
        }
        score * normaliser
    }

    fn depth_of_deepest_leaf(t: &Tree, points: &[Vec<f64>]) -> usize {
        points
            .iter()
            .map(|p| {
                let (mut n, mut d) = (t.root(), 0);
                while n != NONE && !is_leaf(n) {
                    n = t.child_towards(n, p);
                    d += 1;
                }
                d
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn forest_score_sum_is_the_tree_by_tree_sum_bit_for_bit() {
        let dim = 3;
        let mut rng = Rng::seed_from_u64(11);
        // Scattered points, repeats among them, and a geometric run (each point outside the box
        // of all before it), which grows trees deeper than the remembered path.
        let mut points: Vec<Vec<f64>> = (0..60)
            .map(|i| (0..dim).map(|d| ((i * 7 + d * 3) % 11) as f64 + rng.next_f64()).collect())
            .collect();
        let repeats: Vec<Vec<f64>> = (0..8).map(|i| points[i * 5].clone()).collect();
        points.extend(repeats);
        points.extend((0..120).map(|k| (0..dim).map(|d| -(2f64.powi(k / 2)) - d as f64).collect()));
        let mut store = PointStore::new();
        // Seven trees (a group of four and a short one), the fourth left empty.
        let mut trees: Vec<Tree> = (0..7).map(|_| Tree::new()).collect();
        for (i, t) in trees.iter_mut().enumerate() {
            if i == 3 {
                continue;
            }
            for p in points.iter().skip(i * 3) {
                let s = store.add(p);
                let used = t.insert(&store, s, dim, &mut rng);
                store.inc(used);
                store.release_if_unused(s, dim);
            }
        }
        let deepest = trees.iter().map(|t| depth_of_deepest_leaf(t, &points)).max().unwrap();
        assert!(deepest > PATH, "the trees should be deeper than the remembered path: {deepest}");
        let mut queries = points.clone();
        queries.extend((0..40).map(|_| (0..dim).map(|_| rng.next_f64() * 40.0 - 20.0).collect()));
        queries.push(alloc::vec![1e9; dim]);
        queries.push(alloc::vec![-1e300; dim]);
        for q in &queries {
            let reference =
                trees.iter().map(|t| reference_tree_score(t, &store, dim, q)).fold(0.0, |a, b| a + b);
            let got = forest_score_sum(&trees, &store, dim, q);
            assert_eq!(got.to_bits(), reference.to_bits(), "query {q:?}: {got} vs {reference}");
        }
    }
}
