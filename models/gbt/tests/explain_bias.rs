//! TreeSHAP's bias (the expected margin, `contributions`' last value) is each tree's
//! cover-weighted mean leaf value, summed after the base score. The model computes the means in
//! one backward pass over the nodes; this holds it, bit for bit, to the definition: a recursion
//! from each root over the stored nodes and covers (read from the model's JSON form), on random
//! models of every shape the scorer accepts.

#[path = "common/random.rs"]
mod random;

use proptest::prelude::*;
use random::random_model;
use serde_json::Value;

/// The definition: a leaf's value, or the cover-weighted mean of the two children's.
fn expected(nodes: &[Value], cover: &[f64], i: usize) -> f64 {
    let n = &nodes[i];
    let left = n["left"].as_u64().unwrap() as usize;
    let is_leaf = left == 0;
    if is_leaf {
        return n["value"].as_f64().unwrap();
    }
    let (cl, cr) = (cover[left], cover[left + 1]);
    (cl * expected(nodes, cover, left) + cr * expected(nodes, cover, left + 1)) / (cl + cr)
}

fn check(seed: u64, n_features: usize, n_trees: usize, max_depth: usize) -> Result<(), TestCaseError> {
    let (model, _, _) = random_model(seed, n_features, n_trees, max_depth);
    let json: Value = serde_json::to_value(&model).unwrap();
    let nodes = json["nodes"].as_array().unwrap();
    let cover: Vec<f64> = json["cover"].as_array().unwrap().iter().map(|c| c.as_f64().unwrap()).collect();
    let roots: Vec<usize> =
        json["tree_starts"].as_array().unwrap().iter().map(|r| r.as_u64().unwrap() as usize).collect();
    let means: Vec<f64> = roots.iter().map(|&r| expected(nodes, &cover, r)).collect();
    let bias = json["base_score"].as_f64().unwrap() + means.iter().sum::<f64>();
    let mut out = vec![0.0; n_features + 1];
    model.contributions(&vec![f64::NAN; n_features], &mut out).unwrap();
    prop_assert_eq!(out[n_features].to_bits(), bias.to_bits(), "bias {} against {}", out[n_features], bias);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_bias_is_the_recursive_cover_weighted_mean(seed in any::<u64>(), n_features in 1usize..6, n_trees in 1usize..20, max_depth in 0usize..9) {
        check(seed, n_features, n_trees, max_depth)?;
    }
}
