#![allow(dead_code)]
//! Random models and rows for the layout and serialisation property tests.

use scorekit_core::rng::Rng;
use scorekit_gbt::GbtModel;
use serde_json::{Value, json};

/// A model with `n_features` features (a random subset categorical) and `n_trees` random trees
/// of depth up to `max_depth`, built through the serialised form so the model checks run.
pub fn random_model(
    seed: u64,
    n_features: usize,
    n_trees: usize,
    max_depth: usize,
) -> (GbtModel, Vec<u32>, Vec<f64>) {
    let mut rng = Rng::seed_from_u64(seed);
    let cat_levels: Vec<u32> =
        (0..n_features).map(|_| if rng.below(3) == 0 { 1 + rng.below(70) as u32 } else { 0 }).collect();
    // A small pool of thresholds, so that splits share them and rows hit them exactly.
    let pool: Vec<f64> = (0..12).map(|_| (rng.next_normal() * 4.0).round() / 2.0).collect();
    // Leaves as a trainer of this version grows them (exactly `f32`s), as earlier ones did (any
    // `f64`), or mostly `f32`s with some `f64`s and signed zeros among them.
    let leaf_kind = rng.below(3);
    let leaf = |rng: &mut Rng| {
        let v = rng.next_normal();
        match (leaf_kind, rng.below(16)) {
            (2, 0) => -0.0,
            (2, 1) => 0.0,
            (2, 2) | (0, _) => v,
            _ => f64::from(v as f32),
        }
    };
    let (mut nodes, mut cover, mut gain, mut cat_bits, mut tree_starts) =
        (Vec::<Value>::new(), Vec::new(), Vec::new(), Vec::<u32>::new(), Vec::new());
    for _ in 0..n_trees {
        let root = nodes.len();
        tree_starts.push(root as u32);
        // Breadth-first: a split's children are the next two free slots, after their parent.
        let mut queue = vec![(root, 0usize)];
        nodes.push(Value::Null);
        while let Some((i, depth)) = queue.pop() {
            let split = depth < max_depth && (depth == 0 || rng.below(4) != 0);
            cover.push(1.0 + rng.below(100) as f64);
            if !split {
                gain.push(0.0);
                nodes[i] = json!({"feature": 0, "left": 0, "value": leaf(&mut rng), "default_left": false,
                    "categorical": false, "cat_start": 0, "cat_len": 0});
                continue;
            }
            gain.push(rng.next_f64());
            let f = rng.below(n_features as u64) as usize;
            let left = nodes.len();
            nodes.extend([Value::Null, Value::Null]);
            let default_left = rng.below(2) == 0;
            nodes[i] = if cat_levels[f] > 0 {
                let levels = cat_levels[f] as usize;
                // Sometimes fewer words than the levels need: the levels past them go right.
                let words = rng.below(levels.div_ceil(32) as u64 + 1) as usize;
                let start = cat_bits.len();
                let bits = match rng.below(3) {
                    0 => (1u64 << rng.below(levels.min(63) as u64 + 1)) - 1, // a prefix
                    1 => !((1u64 << rng.below(levels.min(63) as u64)) - 1),  // a suffix
                    _ => rng.next_u64(),                                     // scattered
                };
                cat_bits.extend(
                    (0..words).map(|w| if w < 2 { (bits >> (32 * w)) as u32 } else { rng.next_u64() as u32 }),
                );
                json!({"feature": f, "left": left, "value": 0.0, "default_left": default_left,
                    "categorical": true, "cat_start": start, "cat_len": words})
            } else {
                let t = pool[rng.below(pool.len() as u64) as usize];
                json!({"feature": f, "left": left, "value": t, "default_left": default_left,
                    "categorical": false, "cat_start": 0, "cat_len": 0})
            };
            queue.insert(0, (left, depth + 1));
            queue.insert(0, (left + 1, depth + 1));
        }
    }
    // Nodes are visited in slot order (first in, first out), so cover and gain line up.
    // One model in three has the covers of a trained one, each split's the sum of its children's
    // (what the compact form stores without repeating it); the others arbitrary ones.
    if seed.is_multiple_of(3) {
        for i in (0..nodes.len()).rev() {
            let left = nodes[i]["left"].as_u64().unwrap() as usize;
            if left != 0 {
                cover[i] = cover[left] + cover[left + 1];
            }
        }
    }
    let model = json!({
        "n_features": n_features, "objective": if seed.is_multiple_of(2) { "binary" } else { "regression" },
        "base_score": rng.next_normal(), "cat_levels": cat_levels, "tree_starts": tree_starts,
        "nodes": nodes, "cover": cover, "gain": gain, "cat_bits": cat_bits,
    });
    (serde_json::from_value(model).expect("a valid random model"), cat_levels, pool)
}

/// A value for a feature: threshold hits, missing, infinities, signed zero, and categories that
/// are valid, fractional, negative, huge or beyond the levels.
pub fn random_value(rng: &mut Rng, levels: u32, pool: &[f64]) -> f64 {
    match rng.below(10) {
        0 => f64::NAN,
        1 => [f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, 1e300, -1e300][rng.below(6) as usize],
        2 => pool[rng.below(pool.len() as u64) as usize],
        3 => rng.below(80) as f64,
        4 => rng.below(80) as f64 + 0.5,
        5 => -(rng.below(5) as f64) - 1.0,
        _ if levels > 0 => rng.below(u64::from(levels)) as f64,
        _ => rng.next_normal() * 4.0,
    }
}
