//! The two serialised forms: random models (categorical splits, missing-value directions,
//! deep and single-leaf trees) survive postcard's compact form and JSON exactly; JSON files
//! written before the feature importance was stored (per-node `gain`) still load; damaged
//! compact models are refused with a message, not misread.

#[path = "common/random.rs"]
mod random;

use proptest::prelude::*;
use random::random_model;
use scorekit_gbt::GbtModel;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn both_forms_hold_exactly_the_model(seed in any::<u64>(), n_features in 1usize..6, n_trees in 1usize..8, max_depth in 0usize..12) {
        let (m, _, _) = random_model(seed, n_features, n_trees, max_depth);
        let bin: GbtModel = postcard::from_bytes(&postcard::to_allocvec(&m).unwrap()).unwrap();
        let json: GbtModel = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        prop_assert_eq!(&bin, &m);
        prop_assert_eq!(&json, &m);
        prop_assert_eq!(postcard::to_allocvec(&bin).unwrap(), postcard::to_allocvec(&m).unwrap());
    }
}

#[test]
fn json_with_per_node_gain_loads_with_the_importance_it_implies() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/churn_small.gain-form.model.json"
    ))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v.get("gain").is_some() && v.get("importance").is_none(), "the golden file is in the older form");
    let m: GbtModel = serde_json::from_str(&text).unwrap();
    // Importance recomputed independently: each feature's share of the split gain.
    let mut expected = vec![0.0; m.n_features()];
    for (node, gain) in v["nodes"].as_array().unwrap().iter().zip(v["gain"].as_array().unwrap()) {
        if node["left"].as_u64().unwrap() != 0 {
            expected[node["feature"].as_u64().unwrap() as usize] += gain.as_f64().unwrap();
        }
    }
    let total: f64 = expected.iter().sum();
    let got = m.feature_importance();
    for (g, e) in got.iter().zip(&expected) {
        assert!((g - e / total).abs() < 1e-15, "{got:?}");
    }
    // Written back, the file carries the importance and no per-node gain.
    let back: serde_json::Value = serde_json::to_value(&m).unwrap();
    assert!(back.get("gain").is_none() && back["importance"].as_array().unwrap().len() == m.n_features());
    assert_eq!(serde_json::from_value::<GbtModel>(back).unwrap(), m);
}

/// The compact form's layout, to write damaged models with.
mod mirror {
    use serde::Serialize;

    #[derive(Serialize)]
    pub struct Compact {
        pub n_features: u32,
        pub objective: u32,
        pub base_score: f64,
        pub cat_levels: Vec<u32>,
        pub importance: Vec<f64>,
        pub thresholds: Vec<f64>,
        pub tree_sizes: Vec<u32>,
        pub nodes: Vec<Node>,
        pub cat_bits: Vec<u32>,
    }

    #[derive(Serialize)]
    pub enum Node {
        Leaf {
            value: f64,
            cover: u32,
        },
        Numeric {
            split: u32,
            to_left: u32,
            threshold: u32,
            cover: u32,
        },
        #[allow(dead_code)]
        Categorical {
            split: u32,
            to_left: u32,
            cat_start: u32,
            cat_len: u32,
            cover: u32,
        },
        NumericSummed {
            split: u32,
            to_left: u32,
            threshold: u32,
        },
        #[allow(dead_code)]
        CategoricalSummed {
            split: u32,
            to_left: u32,
            cat_start: u32,
            cat_len: u32,
        },
        LeafF32 {
            value: f32,
            cover: u32,
        },
    }
}

fn decode(c: &mirror::Compact) -> Result<GbtModel, String> {
    postcard::from_bytes(&postcard::to_allocvec(c).unwrap()).map_err(|e| e.to_string())
}

#[test]
fn damaged_compact_models_are_refused() {
    use mirror::{Compact, Node};
    let good = || Compact {
        n_features: 1,
        objective: 0,
        base_score: 0.5,
        cat_levels: vec![0],
        importance: vec![1.0],
        thresholds: vec![2.5],
        tree_sizes: vec![3],
        nodes: vec![
            Node::Numeric { split: 0, to_left: 1, threshold: 0, cover: 10 },
            Node::Leaf { value: -1.0, cover: 4 },
            Node::Leaf { value: 1.0, cover: 6 },
        ],
        cat_bits: vec![],
    };
    let m = decode(&good()).unwrap();
    assert_eq!((m.predict_raw(&[1.0]), m.predict_raw(&[3.0]), m.predict_raw(&[2.5])), (-0.5, 1.5, -0.5));
    let mut c = good();
    c.nodes[0] = Node::Numeric { split: 0, to_left: 1, threshold: 7, cover: 10 };
    assert!(decode(&c).is_err(), "threshold outside the table");
    let mut c = good();
    c.tree_sizes = vec![2];
    assert!(decode(&c).is_err(), "tree sizes that do not cover the nodes");
    let mut c = good();
    c.nodes[0] = Node::Numeric { split: 0, to_left: 2, threshold: 0, cover: 10 };
    assert!(decode(&c).is_err(), "a child outside its tree");
    let mut c = good();
    c.nodes[1] = Node::Leaf { value: -1.0, cover: 0 };
    assert!(decode(&c).is_err(), "a node no training row reached");
    let mut c = good();
    c.importance = vec![f64::NAN];
    assert!(decode(&c).is_err(), "non-finite importance");
    // A leaf stored as an f32 reads as the same model; a non-finite one is refused.
    let mut c = good();
    c.nodes[1] = Node::LeafF32 { value: -1.0, cover: 4 };
    assert_eq!(decode(&c).unwrap(), m);
    for bad in [f32::NAN, f32::INFINITY] {
        let mut c = good();
        c.nodes[2] = Node::LeafF32 { value: bad, cover: 6 };
        assert!(decode(&c).is_err(), "a non-finite f32 leaf");
    }

    // A split written without its cover takes its children's sum, 4 + 6.
    let mut c = good();
    c.nodes[0] = Node::NumericSummed { split: 0, to_left: 1, threshold: 0 };
    assert_eq!(decode(&c).unwrap(), m);
    let mut c = good();
    c.nodes = vec![
        Node::NumericSummed { split: 0, to_left: 1, threshold: 0 },
        Node::Leaf { value: -1.0, cover: u32::MAX },
        Node::Leaf { value: 1.0, cover: 6 },
    ];
    assert!(decode(&c).is_err(), "a summed cover past 2^32");
    let mut c = good();
    c.nodes[0] = Node::NumericSummed { split: 0, to_left: 2, threshold: 0 };
    assert!(decode(&c).is_err(), "a summed split whose children are outside the tree");
    let mut c = good();
    c.tree_sizes = vec![1, 2];
    c.nodes = vec![
        Node::Leaf { value: 0.0, cover: 3 },
        Node::NumericSummed { split: 0, to_left: 0, threshold: 0 },
        Node::Leaf { value: 1.0, cover: 6 },
    ];
    assert!(decode(&c).is_err(), "a summed split that is its own child");
}

/// A trained model's splits are written without their covers, and read back the same: the same
/// model with one more row on every split (no longer its children's sum) costs a byte or more
/// per split more.
#[test]
fn trained_covers_are_not_repeated() {
    let (m, _, _) = random_model(3, 4, 6, 6);
    let bytes = postcard::to_allocvec(&m).unwrap();
    assert_eq!(postcard::from_bytes::<GbtModel>(&bytes).unwrap(), m);
    let mut v = serde_json::to_value(&m).unwrap();
    let splits: Vec<usize> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, n)| n["left"] != 0)
        .map(|(i, _)| i)
        .collect();
    assert!(splits.len() > 10, "{} splits", splits.len());
    for &i in &splits {
        v["cover"][i] = (v["cover"][i].as_f64().unwrap() + 1.0).into();
    }
    let unsummed: GbtModel = serde_json::from_value(v).unwrap();
    let more = postcard::to_allocvec(&unsummed).unwrap();
    assert_eq!(postcard::from_bytes::<GbtModel>(&more).unwrap(), unsummed);
    assert!(more.len() >= bytes.len() + splits.len(), "{} vs {} bytes", more.len(), bytes.len());
}
