//! Property tests: serialisation round-trips and score invariants on random data and inputs.
#![cfg(feature = "train")]

use proptest::prelude::*;
use scorekit_gbt::{FeatureType, GbtModel, GbtParams, Objective, TrainData, train};

const TYPES: [FeatureType; 3] =
    [FeatureType::Numeric, FeatureType::Categorical { n_levels: 5 }, FeatureType::Numeric];

/// A value for feature `f`: sometimes missing, categorical ones in range.
fn cell(f: usize) -> BoxedStrategy<f64> {
    let present = if f == 1 { (0u8..5).prop_map(f64::from).boxed() } else { (-50.0..50.0f64).boxed() };
    prop_oneof![4 => present, 1 => Just(f64::NAN)].boxed()
}

fn dataset() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, u64)> {
    (8usize..40).prop_flat_map(|n| {
        (
            proptest::collection::vec((cell(0), cell(1), cell(2)), n)
                .prop_map(|rows| rows.into_iter().flat_map(|(a, b, c)| [a, b, c]).collect()),
            proptest::collection::vec(prop_oneof![Just(0.0), Just(1.0)], n),
            any::<u64>(),
        )
    })
}

/// Any f64 a raw Wasm caller might pass, including garbage categories.
fn raw_input() -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(
        prop_oneof![
            any::<f64>(),
            -10.0..10.0f64,
            Just(f64::NAN),
            Just(f64::INFINITY),
            (0u8..8).prop_map(f64::from)
        ],
        3,
    )
}

fn fit(x: &[f64], y: &[f64], seed: u64, objective: Objective) -> GbtModel {
    let data = TrainData { features: x, n_features: 3, types: &TYPES, target: y };
    let p = GbtParams {
        objective,
        n_estimators: 6,
        learning_rate: 0.5,
        min_samples_leaf: 1,
        min_child_weight: 0.0,
        min_data_per_category: 1,
        early_stopping_rounds: None,
        seed,
        ..GbtParams::default()
    };
    train(&data, None, &p, &mut |_, _| {}).unwrap().model
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn roundtrips_score_identically_and_probabilities_are_bounded(
        (x, y, seed) in dataset(),
        inputs in proptest::collection::vec(raw_input(), 10),
        regression in any::<bool>(),
    ) {
        let objective = if regression { Objective::Regression } else { Objective::Binary };
        let m = fit(&x, &y, seed, objective);
        let bin: GbtModel = postcard::from_bytes(&postcard::to_allocvec(&m).unwrap()).unwrap();
        let json: GbtModel = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        prop_assert_eq!(&bin, &m);
        prop_assert_eq!(&json, &m);
        let mut phi = [0.0; 4];
        for row in inputs.iter().map(Vec::as_slice).chain(x.chunks_exact(3)) {
            let p = m.predict(row);
            prop_assert_eq!(p.to_bits(), bin.predict(row).to_bits());
            prop_assert_eq!(p.to_bits(), json.predict(row).to_bits());
            prop_assert!(p.is_finite());
            if !regression {
                prop_assert!((0.0..=1.0).contains(&p));
            }
            m.contributions(row, &mut phi).unwrap();
            prop_assert!((phi.iter().sum::<f64>() - m.predict_raw(row)).abs() < 1e-9);
        }
        // Regression never predicts outside the targets' hull by more than shrinkage allows.
        if regression {
            for row in x.chunks_exact(3) {
                let p = m.predict(row);
                prop_assert!((-0.5..=1.5).contains(&p), "{}", p);
            }
        }
        let imp = m.feature_importance();
        let s: f64 = imp.iter().sum();
        prop_assert!(imp.iter().all(|&v| v >= 0.0) && (s == 0.0 || (s - 1.0).abs() < 1e-12));
    }
}
