//! What a module's first call spends decoding its model, natively: `decode_artifact
//! <NAME.model.json> [N=200]` decodes the artifact's postcard form (the bytes `host compile` puts
//! in a module) N times, with the level index the guest builds beside it, and prints the
//! milliseconds per decode. Under `valgrind --tool=callgrind` (with a small N) it gives a
//! repeatable instruction count per decode, and callgrind_annotate says where they go.
use std::hint::black_box;
use std::time::Instant;

use scorekit_artifact::Artifact;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: decode_artifact <NAME.model.json> [N]");
    let n: usize = args.next().map_or(200, |s| s.parse().expect("N: a number of decodes"));
    let text = std::fs::read_to_string(&path).expect("the model artifact");
    let bytes = Artifact::from_json(&text).expect("a valid artifact").to_bytes();
    let t = Instant::now();
    for _ in 0..n {
        let a = Artifact::from_bytes(black_box(&bytes)).expect("its own postcard form decodes");
        black_box((a.encoder(), a));
    }
    let per = t.elapsed().as_secs_f64() * 1e3 / n.max(1) as f64;
    println!("{} bytes of postcard, {per:.3} ms per decode ({n} decodes)", bytes.len());
}
