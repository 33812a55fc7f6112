//! One scoring pass, for instruction counts under `valgrind --tool=callgrind` (repeatable on a
//! noisy machine, unlike wall time):
//! `score_once <model.json> <rows.csv> native|wasm|wasm1 [passes]` (or `module <out.wasm>`). `native` scores every row of
//! the CSV (header, the model's input columns by name, other columns ignored) in one batch with
//! the artifact's own code; `wasm` compiles the model and scores the batch in one module call;
//! `wasm1` makes one call per row (`GUEST=<guest.wasm>`: compile with that guest; `TREE_CODE=off`:
//! without the GBT trees as code). Prints the number of rows, a checksum of the scores and the fastest pass per row.
use scorekit_artifact::Artifact;
use scorekit_core::Cell;
use scorekit_runtime::{Rows, Runtime, RuntimeConfig};

/// The module: with the guest `GUEST` names (default: the embedded one), and without tree code
/// when `TREE_CODE=off`.
fn compile(artifact: &Artifact) -> Vec<u8> {
    let guest = match std::env::var("GUEST") {
        Ok(g) => std::fs::read(g).unwrap(),
        Err(_) => scorekit_compile::guest_wasm(artifact.schema.family).to_vec(),
    };
    let options = scorekit_compile::CompileOptions::default()
        .tree_code(std::env::var("TREE_CODE").as_deref() != Ok("off"));
    scorekit_compile::compile_with(&guest, artifact, options).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, csv_path, mode] = &args[..3] else {
        panic!("usage: score_once <model.json> <rows.csv> native|wasm|wasm1 [passes]")
    };
    let passes: usize = args.get(3).filter(|_| mode != "module").map_or(1, |p| p.parse().unwrap());
    let artifact = Artifact::from_json(&std::fs::read_to_string(model).unwrap()).unwrap();
    let mut r = csv::Reader::from_path(csv_path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let cols: Vec<usize> = artifact
        .schema
        .inputs
        .iter()
        .map(|f| header.iter().position(|h| *h == f.name).unwrap_or_else(|| panic!("no column {}", f.name)))
        .collect();
    let records: Vec<Vec<String>> =
        r.records().map(|rec| rec.unwrap().iter().map(String::from).collect()).collect();
    let cells: Vec<Cell<'_>> =
        records.iter().flat_map(|rec| cols.iter().map(|&c| Cell::Text(&rec[c]))).collect();
    let mut encoded = Vec::new();
    artifact.encode(&cells, 1, &mut encoded).unwrap();
    let n = artifact.arity();
    let mut out = Vec::new();
    let mut sum = 0.0;
    let mut best = std::time::Duration::MAX;
    let mut timed = |f: &mut dyn FnMut()| {
        let t = std::time::Instant::now();
        f();
        best = best.min(t.elapsed());
    };
    match mode.as_str() {
        "native" => {
            for _ in 0..passes {
                timed(&mut || {
                    out.clear();
                    artifact.score(&encoded, &mut out).unwrap();
                });
                sum += out.iter().sum::<f64>();
            }
        }
        "wasm" | "wasm1" => {
            let wasm = compile(&artifact);
            // Under valgrind a batch of 5,000 rows takes longer than the default 1 s deadline.
            let config =
                RuntimeConfig { deadline: std::time::Duration::from_secs(600), ..RuntimeConfig::default() };
            let rt = Runtime::new(config).unwrap();
            let module = rt.load(&wasm, None).unwrap();
            let dense = Rows::dense(n, &encoded).unwrap();
            let mut one = Rows::default();
            for _ in 0..passes {
                if mode == "wasm" {
                    timed(&mut || module.score_into(&dense, &mut out).unwrap());
                    sum += out.iter().sum::<f64>();
                } else {
                    timed(&mut || {
                        for row in encoded.chunks(n) {
                            one.set_dense(n, row).unwrap();
                            module.score_into(&one, &mut out).unwrap();
                            sum += out[0];
                        }
                    });
                }
            }
        }
        "module" => {
            let path = args.get(3).expect("module <path>: where to write the compiled module");
            let wasm = compile(&artifact);
            std::fs::write(path, wasm).unwrap();
            return;
        }
        other => panic!("mode must be native, wasm, wasm1 or module, not {other}"),
    }
    let rows = encoded.len() / n;
    println!("rows {rows} checksum {sum:.12} best {:.1} ns/row", best.as_secs_f64() * 1e9 / rows as f64);
}
