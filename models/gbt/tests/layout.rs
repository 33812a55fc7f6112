//! The branch-free scoring layout against the reference tree walk, on random models and rows:
//! numeric splits with ties, missing values sent either way, categorical splits on features of
//! up to 70 levels (bitsets shorter than the level count, prefix, suffix and scattered level
//! sets), trees of uneven and excessive depth; rows with NaN, infinities, -0.0, values equal to
//! thresholds, and categories that are fractions, negative, huge or beyond the levels.

use proptest::prelude::*;
use scorekit_core::rng::Rng;
use scorekit_gbt::GbtModel;
use serde_json::{Value, json};

/// A model with `n_features` features (a random subset categorical) and `n_trees` random trees
/// of depth up to `max_depth`, built through the serialised form so the model checks run.
fn random_model(
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
                nodes[i] = json!({"feature": 0, "left": 0, "value": rng.next_normal(), "default_left": false,
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
    let model = json!({
        "n_features": n_features, "objective": if seed.is_multiple_of(2) { "binary" } else { "regression" },
        "base_score": rng.next_normal(), "cat_levels": cat_levels, "tree_starts": tree_starts,
        "nodes": nodes, "cover": cover, "gain": gain, "cat_bits": cat_bits,
    });
    (serde_json::from_value(model).expect("a valid random model"), cat_levels, pool)
}

/// A value for a feature: threshold hits, missing, infinities, signed zero, and categories that
/// are valid, fractional, negative, huge or beyond the levels.
fn random_value(rng: &mut Rng, levels: u32, pool: &[f64]) -> f64 {
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

fn check(seed: u64, n_features: usize, n_trees: usize, max_depth: usize) -> Result<(), TestCaseError> {
    let (model, levels, pool) = random_model(seed, n_features, n_trees, max_depth);
    let mut rng = Rng::seed_from_u64(seed ^ 0x5eed);
    let n_rows = 1 + rng.below(80) as usize;
    let rows: Vec<f64> = (0..n_rows)
        .flat_map(|_| (0..n_features).map(|f| random_value(&mut rng, levels[f], &pool)).collect::<Vec<_>>())
        .collect();
    let mut batch = vec![0.0; n_rows];
    model.predict_batch(&rows, &mut batch).unwrap();
    for (row, b) in rows.chunks_exact(n_features).zip(&batch) {
        let reference = model.predict_raw_reference(row);
        prop_assert_eq!(model.predict_raw(row).to_bits(), reference.to_bits(), "row {:?}", row);
        prop_assert_eq!(b.to_bits(), model.link(reference).to_bits(), "batch, row {:?}", row);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn layout_scores_equal_the_reference_walk(seed in any::<u64>(), n_features in 1usize..8, n_trees in 1usize..12, max_depth in 0usize..8) {
        check(seed, n_features, n_trees, max_depth)?;
    }

    #[test]
    fn deeper_trees_score_like_the_reference_walk(seed in any::<u64>(), n_features in 1usize..4) {
        // Up to deeper than the complete layout takes (MAX_LAYOUT_DEPTH = 10): those fall back.
        check(seed, n_features, 2, 13)?;
    }
}

#[test]
fn a_single_leaf_tree_scores_its_leaf() {
    let (model, _, _) = random_model(7, 2, 3, 0);
    let x = [f64::NAN, 1.0];
    assert_eq!(model.predict_raw(&x).to_bits(), model.predict_raw_reference(&x).to_bits());
}
