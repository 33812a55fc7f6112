//! Golden test: a small model trained on fixed data is stored as JSON; reloading it and scoring
//! fixed probes must give exactly the stored numbers. Re-bless with `SCOREKIT_BLESS=1`.

use scorekit_rcf::{RcfConfig, RcfModel};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Golden {
    model: RcfModel,
    probes: Vec<[f64; 1]>,
    scores: Vec<f64>,
}

fn build() -> Golden {
    let mut c = RcfConfig::new(1);
    c.shingle_size = 4;
    c.num_trees = 5;
    c.sample_size = 16;
    c.output_after = 8;
    c.seed = 2024;
    let mut model = RcfModel::new(c).unwrap();
    for i in 0..60 {
        model.score_then_update(&[((i * 37) % 11) as f64 * 0.5]).unwrap();
    }
    let probes: Vec<[f64; 1]> = vec![[0.0], [2.5], [40.0], [-3.0]];
    let scores = probes.iter().map(|p| model.score(p).unwrap()).collect();
    Golden { model, probes, scores }
}

#[test]
fn golden_model_scores_are_stable() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/rcf_small.json");
    if std::env::var("SCOREKIT_BLESS").is_ok() {
        std::fs::write(&path, serde_json::to_string_pretty(&build()).unwrap()).unwrap();
    }
    let text = std::fs::read_to_string(&path).expect("golden file; bless with SCOREKIT_BLESS=1");
    let golden: Golden = serde_json::from_str(&text).unwrap();
    for (p, s) in golden.probes.iter().zip(&golden.scores) {
        assert_eq!(golden.model.score(p).unwrap(), *s, "probe {p:?}");
    }
    // The current code, trained afresh, reproduces the stored model and numbers.
    let fresh = build();
    assert_eq!(fresh.model, golden.model);
    assert_eq!(fresh.scores, golden.scores);
    assert!(golden.scores[2] > golden.scores[1], "the far probe is the most anomalous");
}
