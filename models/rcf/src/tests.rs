//! Behavioural unit tests of the whole model.

use alloc::vec;
use alloc::vec::Vec;
use scorekit_core::rng::Rng;

use crate::{RcfConfig, RcfError, RcfModel};

fn small(dimensions: usize, shingle: usize, seed: u64) -> RcfConfig {
    let mut c = RcfConfig::new(dimensions);
    c.shingle_size = shingle;
    c.num_trees = 30;
    c.sample_size = 64;
    c.output_after = 16;
    c.seed = seed;
    c
}

/// A dense 2-d Gaussian cluster around the origin.
fn cluster(model: &mut RcfModel, n: usize, seed: u64) {
    let mut rng = Rng::seed_from_u64(seed);
    for _ in 0..n {
        model.update(&[rng.next_normal() * 0.1, rng.next_normal() * 0.1]).unwrap();
    }
}

#[test]
fn isolated_point_scores_far_above_cluster_points() {
    let mut m = RcfModel::new(small(2, 1, 1)).unwrap();
    cluster(&mut m, 500, 9);
    let inside = m.score(&[0.0, 0.0]).unwrap();
    let outlier = m.score(&[3.0, 3.0]).unwrap();
    assert!(inside > 0.0 && inside < 1.5, "inside {inside}");
    assert!(outlier > 3.0 * inside, "outlier {outlier} vs inside {inside}");
}

#[test]
fn repeated_typical_point_scores_around_one_or_less() {
    let mut m = RcfModel::new(small(1, 1, 2)).unwrap();
    for i in 0..400 {
        m.update(&[(i % 10) as f64]).unwrap();
    }
    let s = m.score(&[5.0]).unwrap();
    assert!(s > 0.05 && s < 1.5, "score {s}");
    // A value never seen and far away scores much higher.
    assert!(m.score(&[100.0]).unwrap() > 2.0 * s);
}

#[test]
fn score_is_zero_until_ready_and_does_not_change_state() {
    let mut m = RcfModel::new(small(1, 4, 3)).unwrap();
    for i in 0..10 {
        m.update(&[i as f64]).unwrap();
    }
    // 10 readings with shingle 4 = 7 shingles < output_after 16.
    assert_eq!(m.shingles_seen(), 7);
    assert_eq!(m.score(&[1.0]).unwrap(), 0.0);
    for i in 0..40 {
        m.update(&[(i % 3) as f64]).unwrap();
    }
    let before = m.clone();
    let a = m.score(&[7.0]).unwrap();
    assert!(a > 0.0);
    let _ = m.attribution(&[7.0]).unwrap();
    assert_eq!(m, before);
}

#[test]
fn same_seed_same_scores_different_seed_different() {
    let run = |seed| {
        let mut m = RcfModel::new(small(2, 1, seed)).unwrap();
        cluster(&mut m, 300, 5);
        (0..20).map(|i| m.score(&[i as f64 * 0.1, 0.5]).unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn attribution_sums_to_score_and_names_the_anomalous_value() {
    let mut m = RcfModel::new(small(2, 1, 4)).unwrap();
    cluster(&mut m, 500, 11);
    let probe = [0.0, 2.5];
    let a = m.attribution(&probe).unwrap();
    let s = m.score(&probe).unwrap();
    assert_eq!(a.len(), 2);
    assert!((a.iter().sum::<f64>() - s).abs() < 1e-9 * s.max(1.0), "{a:?} vs {s}");
    assert!(a[1] > 5.0 * a[0], "{a:?}");
    // With shingling the attribution is summed over shingle positions per input value.
    let mut m = RcfModel::new(small(2, 3, 4)).unwrap();
    cluster(&mut m, 500, 12);
    let a = m.attribution(&[2.5, 0.0]).unwrap();
    let s = m.score(&[2.5, 0.0]).unwrap();
    assert!((a.iter().sum::<f64>() - s).abs() < 1e-9 * s.max(1.0));
    assert!(a[0] > 3.0 * a[1], "{a:?}");
}

#[test]
fn reservoir_respects_sample_size_and_store_counts() {
    let mut c = small(1, 2, 5);
    c.sample_size = 32;
    let mut m = RcfModel::new(c).unwrap();
    for i in 0..2000 {
        m.update(&[((i * 7919) % 1000) as f64]).unwrap();
        assert!(m.max_tree_sample() <= 32);
    }
    assert_eq!(m.max_tree_sample(), 32);
    assert_eq!(m.sampled_refs(), 30 * 32);
    for t in m.trees() {
        assert_eq!(t.total_mass(), 32);
    }
    // Distinct points are shared between trees, not copied per tree.
    assert!(m.stored_points() <= 30 * 32);
}

#[test]
fn time_decay_follows_the_stream() {
    // After a level shift the sample is dominated by new points with decay, not without.
    let level_after = |decay: f64| {
        let mut c = small(1, 1, 6);
        c.time_decay = decay;
        let mut m = RcfModel::new(c).unwrap();
        for i in 0..3000 {
            m.update(&[if i < 2000 { 0.0 } else { 10.0 } + (i % 7) as f64 * 0.01]).unwrap();
        }
        m.score(&[0.0]).unwrap()
    };
    // The old level looks anomalous only once the forest has forgotten it.
    assert!(level_after(0.01) > 1.5 * level_after(0.0));
}

#[test]
fn bad_input_is_a_typed_error_and_leaves_the_model_unchanged() {
    let mut m = RcfModel::new(small(2, 2, 7)).unwrap();
    cluster(&mut m, 50, 1);
    let before = m.clone();
    assert_eq!(m.update(&[1.0]), Err(RcfError::WrongLength { expected: 2, got: 1 }));
    assert!(matches!(m.score_then_update(&[1.0, f64::NAN]), Err(RcfError::NotFinite { index: 1, .. })));
    assert!(matches!(m.score(&[f64::INFINITY, 0.0]), Err(RcfError::NotFinite { index: 0, .. })));
    assert!(m.attribution(&[0.0, 0.0, 0.0]).is_err());
    assert_eq!(m, before);
    let mut c = small(2, 2, 7);
    c.num_trees = 0;
    assert!(matches!(RcfModel::new(c), Err(RcfError::InvalidParam { name: "num_trees", .. })));
}

#[test]
fn streaming_output_flags_a_spike() {
    let mut c = small(1, 4, 8);
    c.threshold.warmup = 50;
    let mut m = RcfModel::new(c).unwrap();
    let mut rng = Rng::seed_from_u64(2);
    let mut flagged = vec![];
    for i in 0..1500 {
        let x = (i as f64 * 0.2).sin() + 0.05 * rng.next_normal() + if i == 1200 { 6.0 } else { 0.0 };
        let o = m.score_then_update(&[x]).unwrap();
        assert!((0.0..=1.0).contains(&o.grade));
        if o.is_anomaly {
            flagged.push(i);
        }
    }
    assert!(flagged.contains(&1200), "flagged {flagged:?}");
    assert!(flagged.len() < 15, "too many flags {flagged:?}");
}
