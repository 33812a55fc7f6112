//! Save → load → continue must be indistinguishable from never saving, through both encodings.

use proptest::prelude::*;
use scorekit_rcf::{RcfConfig, RcfModel};

fn config(seed: u64, shingle: usize, decay: f64) -> RcfConfig {
    let mut c = RcfConfig::new(2);
    c.shingle_size = shingle;
    c.num_trees = 8;
    c.sample_size = 24;
    c.output_after = 4;
    c.time_decay = decay;
    c.seed = seed;
    c.threshold.warmup = 5;
    c.threshold.short_window = 3;
    c.threshold.suppress_after_flag = 2;
    c
}

fn readings() -> impl Strategy<Value = Vec<[f64; 2]>> {
    // Few distinct values so that duplicate points (leaf multiplicities) occur too.
    prop::collection::vec(
        prop_oneof![
            (-3i32..3, -3i32..3).prop_map(|(a, b)| [a as f64, b as f64 * 0.5]),
            (-1e3f64..1e3, -1e3f64..1e3).prop_map(|(a, b)| [a, b]),
        ],
        0..160,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn save_load_continue_is_identical(
        seed in any::<u64>(),
        shingle in 1usize..4,
        decay in prop_oneof![Just(0.0), 0.0f64..0.2],
        before in readings(),
        after in readings(),
    ) {
        let mut live = RcfModel::new(config(seed, shingle, decay)).unwrap();
        for r in &before {
            live.score_then_update(r).unwrap();
        }
        let json = serde_json::to_string(&live).unwrap();
        let bin = postcard::to_allocvec(&live).unwrap();
        let mut from_json: RcfModel = serde_json::from_str(&json).unwrap();
        let mut from_bin: RcfModel = postcard::from_bytes(&bin).unwrap();
        prop_assert_eq!(&from_json, &live);
        prop_assert_eq!(&from_bin, &live);
        for r in &after {
            let a = live.score_then_update(r).unwrap();
            let b = from_json.score_then_update(r).unwrap();
            let c = from_bin.score_then_update(r).unwrap();
            prop_assert_eq!(a, b);
            prop_assert_eq!(a, c);
            let probe = [r[1], r[0]];
            prop_assert_eq!(live.attribution(&probe).unwrap(), from_bin.attribution(&probe).unwrap());
        }
        prop_assert_eq!(&from_bin, &live);
    }

    #[test]
    fn scores_are_finite_non_negative_and_attribution_sums(
        seed in any::<u64>(),
        data in readings(),
        probe in (-5e3f64..5e3, -5e3f64..5e3),
    ) {
        let mut m = RcfModel::new(config(seed, 2, 0.01)).unwrap();
        for r in &data {
            let o = m.score_then_update(r).unwrap();
            prop_assert!(o.score.is_finite() && o.score >= 0.0);
            prop_assert!((0.0..=1.0).contains(&o.grade));
        }
        let p = [probe.0, probe.1];
        let s = m.score(&p).unwrap();
        let a = m.attribution(&p).unwrap();
        prop_assert!(s.is_finite() && s >= 0.0);
        prop_assert!((a.iter().sum::<f64>() - s).abs() <= 1e-9 * s.max(1.0));
    }
}

#[test]
fn corrupt_state_is_rejected_not_panicking() {
    let mut m = RcfModel::new(config(1, 2, 0.01)).unwrap();
    for i in 0..100 {
        m.update(&[(i % 9) as f64, (i % 4) as f64]).unwrap();
    }
    let json = serde_json::to_string(&m).unwrap();
    // Point a tree's child at a node that does not exist.
    let bad = json.replacen("\"left\":[", "\"left\":[4000000,", 1);
    assert!(serde_json::from_str::<RcfModel>(&bad).is_err());
    let bad = json.replacen("\"num_trees\":8", "\"num_trees\":9", 1);
    let err = serde_json::from_str::<RcfModel>(&bad).unwrap_err().to_string();
    assert!(err.contains("number of trees"), "{err}");
    // Truncated binary.
    let bin = postcard::to_allocvec(&m).unwrap();
    assert!(postcard::from_bytes::<RcfModel>(&bin[..bin.len() / 2]).is_err());
}
