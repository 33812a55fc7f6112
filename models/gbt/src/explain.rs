//! Explanations: exact TreeSHAP contributions (Lundberg et al. 2018, Algorithm 2, path-dependent
//! with node cover as the background distribution) and gain-based feature importance.
//!
//! The path buffer is a fixed-size stack array sized for [`MAX_DEPTH`], so explaining a row does
//! not allocate.

use alloc::vec::Vec;

use crate::error::GbtError;
use crate::model::{GbtModel, MAX_DEPTH};

#[derive(Clone, Copy, Default)]
struct PathElem {
    /// Feature index, or `usize::MAX` for the root's placeholder element.
    feature: usize,
    zero_fraction: f64,
    one_fraction: f64,
    pweight: f64,
}

/// Enough room for the nested path copies of a tree of depth `MAX_DEPTH`.
const PATH_CAP: usize = (MAX_DEPTH + 2) * (MAX_DEPTH + 3) / 2;
const NO_FEATURE: usize = usize::MAX;

fn extend(path: &mut [PathElem], depth: usize, zero: f64, one: f64, feature: usize) {
    path[depth] = PathElem {
        feature,
        zero_fraction: zero,
        one_fraction: one,
        pweight: if depth == 0 { 1.0 } else { 0.0 },
    };
    let d1 = (depth + 1) as f64;
    for i in (0..depth).rev() {
        path[i + 1].pweight += one * path[i].pweight * (i + 1) as f64 / d1;
        path[i].pweight = zero * path[i].pweight * (depth - i) as f64 / d1;
    }
}

fn unwind(path: &mut [PathElem], depth: usize, index: usize) {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let d1 = (depth + 1) as f64;
    let mut next_one = path[depth].pweight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = path[i].pweight;
            path[i].pweight = next_one * d1 / ((i + 1) as f64 * one);
            next_one = tmp - path[i].pweight * zero * (depth - i) as f64 / d1;
        } else {
            path[i].pweight = path[i].pweight * d1 / (zero * (depth - i) as f64);
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

fn unwound_sum(path: &[PathElem], depth: usize, index: usize) -> f64 {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let d1 = (depth + 1) as f64;
    let mut next_one = path[depth].pweight;
    let mut total = 0.0;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = next_one * d1 / ((i + 1) as f64 * one);
            total += tmp;
            next_one = path[i].pweight - tmp * zero * (depth - i) as f64 / d1;
        } else {
            total += path[i].pweight / zero * d1 / (depth - i) as f64;
        }
    }
    total
}

struct Walk<'a> {
    model: &'a GbtModel,
    x: &'a [f64],
    phi: &'a mut [f64],
    path: [PathElem; PATH_CAP],
}

impl Walk<'_> {
    /// `parent` is where the parent's path segment starts; this node's segment follows it.
    #[allow(clippy::too_many_arguments)]
    fn recurse(&mut self, node: usize, parent: usize, mut depth: usize, zero: f64, one: f64, feature: usize) {
        let start = parent + depth + 1;
        self.path.copy_within(parent..parent + depth + 1, start);
        let path = &mut self.path[start..];
        extend(path, depth, zero, one, feature);
        let n = self.model.nodes[node];
        if n.is_leaf() {
            for i in 1..=depth {
                let w = unwound_sum(path, depth, i);
                let e = path[i];
                self.phi[e.feature] += w * (e.one_fraction - e.zero_fraction) * n.value;
            }
            return;
        }
        let l = n.left as usize;
        let (hot, cold) = if self.model.goes_left(&n, self.x) { (l, l + 1) } else { (l + 1, l) };
        let cover = self.model.cover[l] + self.model.cover[l + 1];
        let hot_zero = self.model.cover[hot] / cover;
        let cold_zero = self.model.cover[cold] / cover;
        let split = n.feature as usize;
        let (mut in_zero, mut in_one) = (1.0, 1.0);
        // A feature already on the path is undone first, so each feature appears once.
        if let Some(k) = (1..=depth).find(|&k| path[k].feature == split) {
            in_zero = path[k].zero_fraction;
            in_one = path[k].one_fraction;
            unwind(path, depth, k);
            depth -= 1;
        }
        self.recurse(hot, start, depth + 1, hot_zero * in_zero, in_one, split);
        self.recurse(cold, start, depth + 1, cold_zero * in_zero, 0.0, split);
    }
}

impl GbtModel {
    /// Exact SHAP contributions of each feature to the margin of `x` (TreeSHAP, path-dependent,
    /// weighted by training cover). `out[..n_features]` gets one value per feature and
    /// `out[n_features]` the bias (the expected margin), so `out.iter().sum()` equals
    /// [`predict_raw`](Self::predict_raw) up to rounding.
    ///
    /// # Errors
    /// [`GbtError::Shape`] unless `x.len() == n_features()` and `out.len() == n_features() + 1`.
    pub fn contributions(&self, x: &[f64], out: &mut [f64]) -> Result<(), GbtError> {
        let nf = self.n_features;
        if x.len() != nf {
            return Err(GbtError::Shape { what: "features", expected: nf, got: x.len() });
        }
        if out.len() != nf + 1 {
            return Err(GbtError::Shape {
                what: "contributions (n_features + 1)",
                expected: nf + 1,
                got: out.len(),
            });
        }
        out.fill(0.0);
        let (phi, bias) = out.split_at_mut(nf);
        bias[0] = self.base_score + self.tree_expected.iter().sum::<f64>();
        let mut walk = Walk { model: self, x, phi, path: [PathElem::default(); PATH_CAP] };
        for t in 0..self.n_trees() {
            let root = self.tree_range(t).0;
            if !self.nodes[root].is_leaf() {
                walk.recurse(root, 0, 0, 1.0, 1.0, NO_FEATURE);
            }
        }
        Ok(())
    }

    /// Total split gain per feature, normalised to sum to 1 (all zeros when no tree splits).
    pub fn feature_importance(&self) -> Vec<f64> {
        self.importance.clone()
    }
}

#[cfg(all(test, feature = "train"))]
mod tests {
    use super::*;
    use crate::{FeatureType, GbtParams, Objective, TrainData, train};
    use alloc::vec;
    use scorekit_core::rng::Rng;

    /// Path-dependent conditional expectation of tree `t` given the features in mask `s`.
    fn cond_exp(m: &GbtModel, i: usize, x: &[f64], s: u32) -> f64 {
        let n = m.nodes[i];
        if n.is_leaf() {
            return n.value;
        }
        let l = n.left as usize;
        if s >> n.feature & 1 == 1 {
            return cond_exp(m, if m.goes_left(&n, x) { l } else { l + 1 }, x, s);
        }
        let (cl, cr) = (m.cover[l], m.cover[l + 1]);
        (cl * cond_exp(m, l, x, s) + cr * cond_exp(m, l + 1, x, s)) / (cl + cr)
    }

    fn brute_force_shap(m: &GbtModel, x: &[f64]) -> Vec<f64> {
        let nf = m.n_features();
        let fact = |k: usize| (1..=k).product::<usize>() as f64;
        let v = |s: u32| (0..m.n_trees()).map(|t| cond_exp(m, m.tree_range(t).0, x, s)).sum::<f64>();
        let mut phi = vec![0.0; nf];
        for (i, p) in phi.iter_mut().enumerate() {
            for s in 0u32..(1 << nf) {
                if s >> i & 1 == 1 {
                    continue;
                }
                let k = s.count_ones() as usize;
                let w = fact(k) * fact(nf - k - 1) / fact(nf);
                *p += w * (v(s | 1 << i) - v(s));
            }
        }
        phi
    }

    fn synthetic(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = Rng::seed_from_u64(seed);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let a = rng.next_normal();
            let b = if rng.next_f64() < 0.2 { f64::NAN } else { rng.next_normal() };
            let c = rng.below(6) as f64;
            let d = rng.next_f64();
            let z = a + if b.is_nan() { 1.0 } else { b * d } + if c == 2.0 || c == 5.0 { 1.5 } else { -0.5 };
            x.extend_from_slice(&[a, b, c, d]);
            y.push(if z + 0.5 * rng.next_normal() > 0.3 { 1.0 } else { 0.0 });
        }
        (x, y)
    }

    #[test]
    fn tree_shap_matches_brute_force_shapley_values() {
        let (x, y) = synthetic(400, 3);
        let types = [
            FeatureType::Numeric,
            FeatureType::Numeric,
            FeatureType::Categorical { n_levels: 6 },
            FeatureType::Numeric,
        ];
        let data = TrainData { features: &x, n_features: 4, types: &types, target: &y };
        let params = GbtParams {
            n_estimators: 8,
            learning_rate: 0.3,
            max_depth: 4,
            max_leaves: 12,
            min_data_per_category: 1,
            early_stopping_rounds: None,
            objective: Objective::Binary,
            ..GbtParams::default()
        };
        let m = train(&data, None, &params, &mut |_, _| {}).unwrap().model;
        // The model must actually split on repeated features for this test to mean anything.
        assert!(m.nodes.iter().filter(|n| !n.is_leaf()).count() > 20);
        assert!(m.nodes.iter().any(|n| n.categorical));
        let mut out = [0.0; 5];
        for row in x.chunks_exact(4).take(40).chain([[f64::NAN, f64::NAN, 9.0, 0.5].as_slice()]) {
            m.contributions(row, &mut out).unwrap();
            let raw = m.predict_raw(row);
            assert!((out.iter().sum::<f64>() - raw).abs() < 1e-9, "sum property");
            let bf = brute_force_shap(&m, row);
            for (a, b) in out[..4].iter().zip(&bf) {
                assert!((a - b).abs() < 1e-9, "treeshap {:?} vs brute force {bf:?}", &out[..4]);
            }
            assert!((out[4] - (m.base_score + brute_force_bias(&m))).abs() < 1e-12);
        }
    }

    fn brute_force_bias(m: &GbtModel) -> f64 {
        (0..m.n_trees()).map(|t| cond_exp(m, m.tree_range(t).0, &[], 0)).sum()
    }

    #[test]
    fn contributions_reject_bad_lengths() {
        let (x, y) = synthetic(50, 1);
        let types = [FeatureType::Numeric; 4];
        let data = TrainData { features: &x, n_features: 4, types: &types, target: &y };
        let p = GbtParams { n_estimators: 2, early_stopping_rounds: None, ..GbtParams::default() };
        let m = train(&data, None, &p, &mut |_, _| {}).unwrap().model;
        let mut out = [0.0; 4];
        assert_eq!(
            m.contributions(&x[..4], &mut out),
            Err(GbtError::Shape { what: "contributions (n_features + 1)", expected: 5, got: 4 })
        );
        let mut out = [0.0; 5];
        assert!(matches!(m.contributions(&x[..3], &mut out), Err(GbtError::Shape { expected: 4, .. })));
    }
}
