//! The compact postcard form of the state (artifact format 5): lossless, canonical, and a
//! decoded model continues a stream exactly as the original; format-4 states still load.

use scorekit_rcf::{RcfConfig, RcfModel};

fn config(dimensions: usize, shingle: usize, trees: usize, sample: usize, seed: u64) -> RcfConfig {
    let mut c = RcfConfig::new(dimensions);
    c.shingle_size = shingle;
    c.num_trees = trees;
    c.sample_size = sample;
    c.output_after = 8;
    c.seed = seed;
    c
}

/// A reading stream with repeats, sign changes of zero, subnormals and huge values, so that the
/// store holds duplicate points and the cuts sit next to awkward bit patterns.
fn reading(i: usize, k: usize) -> Vec<f64> {
    (0..k)
        .map(|j| match (i * 7 + j * 3) % 23 {
            0 => -0.0,
            1 => 0.0,
            2 => f64::from_bits(1 + (i % 5) as u64),
            3 => -f64::from_bits(3),
            4 => 1e300,
            5..=9 => 2.5,
            _ => ((i as f64) * 0.31 + j as f64).sin() * 4.0 + if i % 97 == 5 { 30.0 } else { 0.0 },
        })
        .collect()
}

fn round_trip(m: &RcfModel) -> (Vec<u8>, RcfModel) {
    let bytes = postcard::to_allocvec(m).unwrap();
    let back: RcfModel = postcard::from_bytes(&bytes).unwrap();
    (bytes, back)
}

#[test]
fn decoded_model_continues_the_stream_bit_for_bit() {
    for (k, shingle, seed) in [(1, 4, 1), (1, 1, 2), (2, 3, 3), (3, 1, 4)] {
        let mut a = RcfModel::new(config(k, shingle, 7, 24, seed)).unwrap();
        for i in 0..150 {
            a.score_then_update(&reading(i, k)).unwrap();
        }
        let (bytes, mut b) = round_trip(&a);
        assert_eq!(a, b);
        // Canonical: encoding the decoded model gives the same bytes.
        assert_eq!(postcard::to_allocvec(&b).unwrap(), bytes);
        // 1500 more steps: every tree evicts many times over.
        for i in 150..1650 {
            let r = reading(i, k);
            assert_eq!(a.score(&r).unwrap().to_bits(), b.score(&r).unwrap().to_bits());
            let (x, y) = (a.score_then_update(&r).unwrap(), b.score_then_update(&r).unwrap());
            assert_eq!(
                (x.score.to_bits(), x.grade.to_bits(), x.threshold.to_bits(), x.is_anomaly),
                (y.score.to_bits(), y.grade.to_bits(), y.threshold.to_bits(), y.is_anomaly),
                "k {k} shingle {shingle} step {i}"
            );
            let at: Vec<u64> = a.attribution(&r).unwrap().iter().map(|v| v.to_bits()).collect();
            let bt: Vec<u64> = b.attribution(&r).unwrap().iter().map(|v| v.to_bits()).collect();
            assert_eq!(at, bt);
            if i % 25 == 0 {
                // The same forest whatever the history of its numbering (equality compares the
                // canonical encodings), and round trips in the middle of the stream too.
                assert_eq!(a, b, "k {k} shingle {shingle} step {i}");
                if i % 250 == 0 {
                    b = round_trip(&b).1;
                }
            }
        }
        assert_eq!(a, b);
        assert_eq!(a.stored_points(), b.stored_points());
    }
}

#[test]
fn equality_sees_every_change() {
    let mut a = RcfModel::new(config(1, 4, 5, 16, 9)).unwrap();
    for i in 0..100 {
        a.update(&reading(i, 1)).unwrap();
    }
    let mut b = a.clone();
    assert_eq!(a, b);
    b.update(&[1.0]).unwrap();
    assert_ne!(a, b);
}

#[test]
fn format_4_stream_state_still_loads_and_continues() {
    // Written by the format-4 code (commit ef76e55): a 6 × 32 forest, shingle 4, after 300
    // readings, and the scores of the 200 readings that followed.
    let bytes = include_bytes!("data/v4_state.postcard");
    let scores: Vec<u64> = serde_json::from_str(include_str!("data/v4_state.scores.json")).unwrap();
    let mut m: RcfModel = postcard::from_bytes(bytes).unwrap();
    assert_eq!(m.points_seen(), 300);
    let r = |i: usize| ((i as f64) * 0.37).sin() * 10.0 + if i % 50 == 7 { 9.0 } else { 0.0 };
    // And through a format-5 round trip in the middle.
    for (n, i) in (300..500).enumerate() {
        if n == 100 {
            m = round_trip(&m).1;
        }
        assert_eq!(m.score_then_update(&[r(i)]).unwrap().score.to_bits(), scores[n], "reading {i}");
    }
}

#[test]
fn corrupt_compact_state_is_an_error_not_a_panic() {
    let mut m = RcfModel::new(config(2, 2, 4, 16, 5)).unwrap();
    for i in 0..120 {
        m.update(&reading(i, 2)).unwrap();
    }
    let bytes = postcard::to_allocvec(&m).unwrap();
    for cut in 0..bytes.len() {
        assert!(postcard::from_bytes::<RcfModel>(&bytes[..cut]).is_err(), "truncated at {cut}");
    }
    // Every single-byte change either fails cleanly or gives a valid model.
    for at in 0..bytes.len() {
        for flip in [0x01u8, 0x10, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[at] ^= flip;
            if let Ok(x) = postcard::from_bytes::<RcfModel>(&b) {
                x.score(&[0.0, 1.0]).unwrap();
            }
        }
    }
}

/// Sizes of the demo-sized forest (100 trees × 256, shingle 8) for the record.
#[test]
fn compact_form_is_much_smaller_than_format_4() {
    let mut m = RcfModel::new(config(1, 8, 100, 256, 42)).unwrap();
    for i in 0..6000 {
        let v = ((i as f64) * 0.05).sin() * 20.0 + 80.0 + ((i * 7919) % 101) as f64 * 0.01;
        m.update(&[(v * 100.0).round() / 100.0]).unwrap();
    }
    let bytes = postcard::to_allocvec(&m).unwrap();
    let json = serde_json::to_string(&m).unwrap();
    let back: RcfModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
    eprintln!("compact postcard: {} bytes", bytes.len());
    assert!(bytes.len() < 500_000, "{}", bytes.len());
}

#[test]
fn empty_and_barely_started_models_round_trip() {
    for n in [0, 1, 3, 4, 9] {
        let mut m = RcfModel::new(config(2, 4, 3, 8, 1)).unwrap();
        for i in 0..n {
            m.update(&reading(i, 2)).unwrap();
        }
        let (bytes, back) = round_trip(&m);
        assert_eq!(back, m, "{n} readings");
        assert_eq!(postcard::to_allocvec(&back).unwrap(), bytes);
    }
}
