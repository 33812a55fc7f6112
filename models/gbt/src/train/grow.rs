//! Growing one tree best-first from gradient histograms.
//!
//! Rows of the current tree live in one index array, each leaf owning a contiguous range (split =
//! stable partition of that range). Only the smaller child's histogram is built from rows; the
//! larger one is the parent's minus it.

use std::vec;
use std::vec::Vec;

use super::binning::{Binned, Binner};
use crate::model::Node;
use crate::params::GbtParams;

/// Gradient statistics of a set of rows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Stat {
    pub g: f64,
    pub h: f64,
    pub n: u32,
}

impl Stat {
    fn add(&mut self, o: &Stat) {
        self.g += o.g;
        self.h += o.h;
        self.n += o.n;
    }
    fn minus(&self, o: &Stat) -> Stat {
        Stat { g: self.g - o.g, h: self.h - o.h, n: self.n - o.n }
    }
}

#[derive(Clone, Debug)]
enum SplitRule {
    /// Value bins `<= bin` go left.
    Numeric { bin: usize },
    /// `left[level]` says whether the level goes left.
    Categorical { left: Vec<bool> },
}

#[derive(Clone, Debug)]
struct Split {
    gain: f64,
    feature: usize,
    rule: SplitRule,
    default_left: bool,
    left: Stat,
    right: Stat,
}

struct Leaf {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    hist: Vec<Stat>,
    best: Option<Split>,
}

/// A grown tree, node indices local to it.
pub(crate) struct GrownTree {
    pub nodes: Vec<Node>,
    pub cover: Vec<f64>,
    pub gain: Vec<f64>,
    /// Bitset of each categorical split, parallel to `nodes` (empty for others).
    pub bits: Vec<Vec<u32>>,
}

pub(crate) struct Grower<'a> {
    pub binned: &'a Binned,
    pub params: &'a GbtParams,
    pub grad: &'a [f64],
    pub hess: &'a [f64],
    /// Features this tree may split on.
    pub active: &'a [usize],
}

fn score(g: f64, h: f64, lambda: f64) -> f64 {
    let d = h + lambda;
    if d > 0.0 { g * g / d } else { 0.0 }
}

/// Splits with less gain than this are noise from floating-point rounding.
const MIN_GAIN: f64 = 1e-10;

impl Grower<'_> {
    fn build_hist(&self, rows: &[u32]) -> Vec<Stat> {
        let b = self.binned;
        let mut hist = vec![Stat::default(); b.offsets[b.n_features]];
        for &r in rows {
            let r = r as usize;
            let (g, h) = (self.grad[r], self.hess[r]);
            let row = &b.bins[r * b.n_features..(r + 1) * b.n_features];
            for &f in self.active {
                let s = &mut hist[b.offsets[f] + row[f] as usize];
                s.g += g;
                s.h += h;
                s.n += 1;
            }
        }
        hist
    }

    fn valid_children(&self, l: &Stat, r: &Stat) -> bool {
        let p = self.params;
        let min_n = p.min_samples_leaf as u32;
        l.n >= min_n && r.n >= min_n && l.h >= p.min_child_weight && r.h >= p.min_child_weight
    }

    /// Tries both directions for missing values; keeps `best` if `left` does better.
    #[allow(clippy::too_many_arguments)]
    fn consider(
        &self,
        best: &mut Option<Split>,
        total: &Stat,
        acc: &Stat,
        missing: &Stat,
        lambda: f64,
        feature: usize,
        rule: impl Fn() -> SplitRule,
    ) {
        let parent = score(total.g, total.h, lambda);
        let mut try_one = |left: Stat, default_left: bool| {
            let right = total.minus(&left);
            if !self.valid_children(&left, &right) {
                return;
            }
            let gain = 0.5 * (score(left.g, left.h, lambda) + score(right.g, right.h, lambda) - parent)
                - self.params.gamma;
            if gain > MIN_GAIN && best.as_ref().is_none_or(|b| gain > b.gain) {
                *best = Some(Split { gain, feature, rule: rule(), default_left, left, right });
            }
        };
        if missing.n == 0 {
            // No missing value seen here: send future ones to the bigger child.
            let right_n = total.n - acc.n;
            try_one(*acc, acc.n >= right_n);
        } else {
            try_one(*acc, false);
            let mut with_missing = *acc;
            with_missing.add(missing);
            try_one(with_missing, true);
        }
    }

    fn best_split(&self, hist: &[Stat], total: &Stat) -> Option<Split> {
        let b = self.binned;
        let p = self.params;
        let mut best = None;
        for &f in self.active {
            let h = &hist[b.offsets[f]..b.offsets[f + 1]];
            let (values, missing) = h.split_at(h.len() - 1);
            let missing = &missing[0];
            match &b.binners[f] {
                Binner::Numeric { .. } => {
                    let mut acc = Stat::default();
                    for (bin, s) in values.iter().enumerate() {
                        if s.n == 0 {
                            continue;
                        }
                        acc.add(s);
                        self.consider(&mut best, total, &acc, missing, p.lambda, f, || SplitRule::Numeric {
                            bin,
                        });
                    }
                }
                Binner::Categorical { n_levels } => {
                    let min_n = p.min_data_per_category.max(1) as u32;
                    let mut used: Vec<usize> = (0..*n_levels).filter(|&l| values[l].n >= min_n).collect();
                    let one_hot = used.len() <= 4;
                    let lambda = if one_hot { p.lambda } else { p.lambda + p.cat_l2 };
                    let set = |levels: &[usize]| {
                        let mut left = vec![false; *n_levels];
                        levels.iter().for_each(|&l| left[l] = true);
                        SplitRule::Categorical { left }
                    };
                    if one_hot {
                        for &l in &used {
                            self.consider(&mut best, total, &values[l], missing, lambda, f, || set(&[l]));
                        }
                        continue;
                    }
                    let ratio = |l: usize| values[l].g / (values[l].h + p.cat_smooth);
                    used.sort_by(|&a, &b| ratio(a).total_cmp(&ratio(b)).then(a.cmp(&b)));
                    let max_k = p.max_cat_threshold.min(used.len() - 1);
                    for order in [used.clone(), used.iter().rev().copied().collect::<Vec<_>>()] {
                        let mut acc = Stat::default();
                        for k in 0..max_k {
                            acc.add(&values[order[k]]);
                            self.consider(&mut best, total, &acc, missing, lambda, f, || set(&order[..=k]));
                        }
                    }
                }
            }
        }
        best
    }

    /// A leaf's output, rounded to the nearest `f32`: the model is defined by the rounded values
    /// (boosting goes on from them), so a module stores 4 bytes a leaf and its tree code an
    /// `f32` immediate, and every host still adds the very same `f64`s (a relative change of at
    /// most 2^-24 to an output already scaled by the learning rate).
    fn leaf_value(&self, s: &Stat) -> f64 {
        let d = s.h + self.params.lambda;
        let value = if d > 0.0 { -s.g / d * self.params.learning_rate } else { 0.0 };
        // (An output past f32's range, which no real gradient reaches, stays as it is.)
        let rounded = value as f32;
        if rounded.is_finite() { f64::from(rounded) } else { value }
    }

    fn can_split(&self, depth: usize, s: &Stat) -> bool {
        depth < self.params.max_depth && s.n >= 2 * self.params.min_samples_leaf as u32
    }

    /// Grows a tree on `rows` (indices into the binned rows).
    pub fn grow(&self, rows: Vec<u32>) -> GrownTree {
        let b = self.binned;
        let nf = b.n_features;
        let mut rows = rows;
        let mut scratch: Vec<u32> = Vec::with_capacity(rows.len());
        let hist = self.build_hist(&rows);
        let mut total = Stat::default();
        for &r in &rows {
            total.add(&Stat { g: self.grad[r as usize], h: self.hess[r as usize], n: 1 });
        }
        let mut tree = GrownTree {
            nodes: vec![Node::leaf(self.leaf_value(&total))],
            cover: vec![f64::from(total.n)],
            gain: vec![0.0],
            bits: vec![Vec::new()],
        };
        let best = if self.can_split(0, &total) { self.best_split(&hist, &total) } else { None };
        let mut leaves = vec![Leaf { node: 0, start: 0, end: rows.len(), depth: 0, hist, best }];

        while leaves.len() < self.params.max_leaves {
            let Some((li, _)) = leaves
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.best.as_ref().map(|s| (i, s.gain)))
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            else {
                break;
            };
            let leaf = leaves.swap_remove(li);
            let split = leaf.best.clone().expect("chosen leaf has a split");
            let f = split.feature;
            let missing_bin = b.binners[f].n_value_bins() as u16;
            let goes_left = |r: u32| {
                let v = b.bins[r as usize * nf + f];
                if v == missing_bin {
                    return split.default_left;
                }
                match &split.rule {
                    SplitRule::Numeric { bin } => (v as usize) <= *bin,
                    SplitRule::Categorical { left } => left[v as usize],
                }
            };
            // Stable partition of the leaf's range.
            scratch.clear();
            let mut w = leaf.start;
            for i in leaf.start..leaf.end {
                let r = rows[i];
                if goes_left(r) {
                    rows[w] = r;
                    w += 1;
                } else {
                    scratch.push(r);
                }
            }
            rows[w..leaf.end].copy_from_slice(&scratch);
            let mid = w;
            debug_assert_eq!(mid - leaf.start, split.left.n as usize);

            let l_idx = tree.nodes.len();
            let node = &mut tree.nodes[leaf.node];
            node.feature = f as u32;
            node.left = l_idx as u32;
            node.default_left = split.default_left;
            match &split.rule {
                SplitRule::Numeric { bin } => {
                    let Binner::Numeric { uppers } = &b.binners[f] else { unreachable!() };
                    node.value = uppers[*bin];
                }
                SplitRule::Categorical { left } => {
                    node.value = 0.0;
                    node.categorical = true;
                    let top = left.iter().rposition(|&x| x).map_or(0, |l| l + 1);
                    let mut words = vec![0u32; top.div_ceil(32)];
                    for (l, _) in left.iter().enumerate().filter(|(_, x)| **x) {
                        words[l / 32] |= 1 << (l % 32);
                    }
                    tree.bits[leaf.node] = words;
                }
            }
            tree.gain[leaf.node] = split.gain;
            for s in [&split.left, &split.right] {
                tree.nodes.push(Node::leaf(self.leaf_value(s)));
                tree.cover.push(f64::from(s.n));
                tree.gain.push(0.0);
                tree.bits.push(Vec::new());
            }

            let depth = leaf.depth + 1;
            let (lrange, rrange) = ((leaf.start, mid), (mid, leaf.end));
            let left_smaller = split.left.n <= split.right.n;
            let small = if left_smaller { lrange } else { rrange };
            let small_hist = self.build_hist(&rows[small.0..small.1]);
            let mut big_hist = leaf.hist;
            for (bh, sh) in big_hist.iter_mut().zip(&small_hist) {
                *bh = bh.minus(sh);
            }
            let (lh, rh) = if left_smaller { (small_hist, big_hist) } else { (big_hist, small_hist) };
            for (node, range, hist, stat) in
                [(l_idx, lrange, lh, split.left), (l_idx + 1, rrange, rh, split.right)]
            {
                let best = if self.can_split(depth, &stat) { self.best_split(&hist, &stat) } else { None };
                let hist = if best.is_some() { hist } else { Vec::new() };
                leaves.push(Leaf { node, start: range.0, end: range.1, depth, hist, best });
            }
        }
        tree
    }
}
