//! `score_sequence`: batch scoring of a static forest, as a stream would see the readings.

use scorekit_rcf::{RcfConfig, RcfError, RcfModel};

fn trained(shingle: usize) -> RcfModel {
    let mut c = RcfConfig::new(1);
    c.shingle_size = shingle;
    c.num_trees = 20;
    c.sample_size = 64;
    c.output_after = 8;
    let mut m = RcfModel::new(c).unwrap();
    for i in 0..400 {
        m.update(&[(i as f64 * 0.3).sin()]).unwrap();
    }
    m
}

#[test]
fn sequence_scores_match_a_stream_that_does_not_learn() {
    let model = trained(4);
    let readings: Vec<f64> =
        (400..420).map(|i| (i as f64 * 0.3).sin() + if i == 410 { 5.0 } else { 0.0 }).collect();
    let mut out = vec![0.0; readings.len()];
    let before = model.clone();
    model.score_sequence(&readings, &mut out).unwrap();
    assert_eq!(model, before, "scoring must not change the model");
    // The first reading is shingled after the model's own buffer, exactly as `score` does.
    assert_eq!(out[0], model.score(&readings[..1]).unwrap());
    // The spike dominates every shingle that contains it.
    let spike = out[10];
    assert!(out[..10].iter().all(|s| *s < spike), "{out:?}");
}

#[test]
fn with_shingle_one_each_reading_is_scored_alone() {
    let model = trained(1);
    let readings = [0.1, 0.9, -0.4, 3.0];
    let mut out = [0.0; 4];
    model.score_sequence(&readings, &mut out).unwrap();
    for (r, s) in readings.iter().zip(out) {
        assert_eq!(s, model.score(&[*r]).unwrap());
    }
}

#[test]
fn bad_sequences_are_rejected() {
    let model = trained(2);
    let mut out = [0.0; 2];
    assert!(matches!(model.score_sequence(&[1.0], &mut out), Err(RcfError::WrongLength { .. })));
    assert!(matches!(model.score_sequence(&[1.0, f64::NAN], &mut out), Err(RcfError::NotFinite { .. })));
}
