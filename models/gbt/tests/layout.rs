//! The branch-free scoring layout against the reference tree walk, on random models and rows:
//! numeric splits with ties, missing values sent either way, categorical splits on features of
//! up to 70 levels (bitsets shorter than the level count, prefix, suffix and scattered level
//! sets), trees of uneven and excessive depth; rows with NaN, infinities, -0.0, values equal to
//! thresholds, and categories that are fractions, negative, huge or beyond the levels.

#[path = "common/random.rs"]
mod random;

use proptest::prelude::*;
use random::{random_model, random_value};
use scorekit_core::rng::Rng;

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
    fn runs_of_trees_of_one_depth_score_like_the_reference_walk(seed in any::<u64>(), n_features in 1usize..6, n_trees in 8usize..40, max_depth in 1usize..3) {
        // Shallow trees in numbers: runs of four or more of one depth, which one row descends
        // four at a time, with odd trees left over.
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
