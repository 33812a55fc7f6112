//! Wasm vs native scoring of the same churn GBDT: batch 1 and 5000, per-call overhead, module
//! size, and cold start (new engine + load + first score) with and without the compile cache.
//! Prints one `key value` line per figure; `run.sh` turns them into the Markdown table.

use std::hint::black_box;
use std::time::{Duration, Instant};

use scorekit_artifact::{Artifact, Model};
use scorekit_core::{Cell, Family, Field, FieldKind, Schema, encode_row};
use scorekit_runtime::{Rows, Runtime, RuntimeConfig};

const CATEGORICAL: [&str; 4] = ["state", "area_code", "international_plan", "voice_mail_plan"];

fn churn() -> (Artifact, Vec<Vec<String>>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/churn/mlc_churn.csv");
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<Vec<String>> =
        r.records().map(|rec| rec.unwrap().iter().map(String::from).collect()).collect();
    let target = header.iter().position(|h| h == "churn").unwrap();
    let inputs: Vec<Field> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != target)
        .map(|(i, h)| {
            if CATEGORICAL.contains(&h.as_str()) {
                let mut levels: Vec<String> = rows.iter().map(|r| r[i].clone()).collect();
                levels.sort();
                levels.dedup();
                Field::categorical(h.clone(), levels)
            } else {
                Field::numeric(h.clone())
            }
        })
        .collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().enumerate().filter(|(i, _)| *i != target).map(|(_, v)| v.clone()).collect())
        .collect();
    let n = inputs.len();
    let mut features = vec![0.0; 3333 * n];
    for (r, out) in cells[..3333].iter().zip(features.chunks_mut(n)) {
        let c: Vec<Cell<'_>> = r.iter().map(|s| Cell::Text(s)).collect();
        encode_row(&inputs, &c, 0, out).unwrap();
    }
    let labels: Vec<f64> = rows[..3333].iter().map(|r| if r[target] == "yes" { 1.0 } else { 0.0 }).collect();
    let types: Vec<_> = inputs
        .iter()
        .map(|f| match &f.kind {
            FieldKind::Numeric => scorekit_gbt::FeatureType::Numeric,
            FieldKind::Categorical { levels } => {
                scorekit_gbt::FeatureType::Categorical { n_levels: levels.len() }
            }
        })
        .collect();
    let data = scorekit_gbt::TrainData { features: &features, n_features: n, types: &types, target: &labels };
    let trained =
        scorekit_gbt::train(&data, None, &scorekit_gbt::GbtParams::default(), &mut |_, _| {}).unwrap();
    let schema = Schema {
        name: "churn".into(),
        family: Family::Gbt,
        inputs,
        target: Some("churn".into()),
        positive_label: Some("yes".into()),
        outputs: vec!["probability".into()],
    };
    (Artifact::new(schema, Model::Gbt(trained.model)), cells)
}

/// Median of `reps` timings of `f`.
fn median(reps: usize, mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[reps / 2]
}

fn main() {
    let (artifact, cells) = churn();
    let Model::Gbt(gbt) = &artifact.model else { unreachable!() };
    let n = artifact.arity();
    let flat: Vec<Cell<'_>> = cells.iter().flatten().map(|s| Cell::Text(s)).collect();
    let mut encoded = Vec::new();
    artifact.encode(&flat, 0, &mut encoded).unwrap();
    let n_rows = encoded.len() / n;
    println!("trees {}", gbt.n_trees());
    let params = scorekit_gbt::GbtParams::default();
    println!("max_depth {}", params.max_depth);
    println!("max_leaves {}", params.max_leaves);
    println!("rows {n_rows}");

    let wasm = scorekit_compile::compile(&artifact).unwrap();
    println!("module_bytes {}", wasm.len());
    println!("guest_bytes {}", scorekit_compile::GUEST_GBT.len());
    println!("artifact_bytes {}", artifact.to_bytes().len());
    // The same model without the trees as code (`host compile --no-tree-code`): the guest's own
    // scorer over the model's data.
    let options = scorekit_compile::CompileOptions::default().tree_code(false);
    let wasm_data = scorekit_compile::compile_with(scorekit_compile::GUEST_GBT, &artifact, options).unwrap();
    println!("module_no_tree_code_bytes {}", wasm_data.len());
    let out_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/out");
    std::fs::create_dir_all(out_dir).unwrap();
    std::fs::write(format!("{out_dir}/churn.wasm"), &wasm).unwrap();
    std::fs::write(format!("{out_dir}/churn.model.json"), artifact.to_json()).unwrap();

    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let module = rt.load(&wasm, None).unwrap();
    let module_data = rt.load(&wasm_data, None).unwrap();

    // Batch 5000.
    let mut out = Vec::new();
    let native_5000 = median(21, || {
        out.clear();
        artifact.score(black_box(&encoded), &mut out).unwrap();
    });
    let dense = Rows::dense(n, &encoded).unwrap();
    let wasm_5000 = median(21, || {
        module.score_into(black_box(&dense), &mut out).unwrap();
    });
    let wasm_data_5000 = median(21, || {
        module_data.score_into(black_box(&dense), &mut out).unwrap();
    });
    let cell_rows: Vec<Vec<Cell<'_>>> =
        cells.iter().map(|r| r.iter().map(|s| Cell::Text(s)).collect()).collect();
    let tagged = Rows::from_cells(n, &cell_rows).unwrap();
    let wasm_5000_tagged = median(21, || {
        module.score_into(black_box(&tagged), &mut out).unwrap();
    });
    let mut native_enc = Vec::new();
    let native_5000_tagged = median(21, || {
        native_enc.clear();
        artifact.encode(black_box(&flat), 0, &mut native_enc).unwrap();
        out.clear();
        artifact.score(&native_enc, &mut out).unwrap();
    });
    let per_row = |d: Duration| d.as_secs_f64() * 1e9 / n_rows as f64;
    println!("native_batch5000_ns_per_row {:.1}", per_row(native_5000));
    println!("wasm_batch5000_ns_per_row {:.1}", per_row(wasm_5000));
    println!("wasm_no_tree_code_batch5000_ns_per_row {:.1}", per_row(wasm_data_5000));
    println!("native_batch5000_cells_ns_per_row {:.1}", per_row(native_5000_tagged));
    println!("wasm_batch5000_cells_ns_per_row {:.1}", per_row(wasm_5000_tagged));

    // Batch 1: one call per row, rows encoded per call like a server would.
    let mut rows1 = Rows::default();
    let native_1 = median(5, || {
        for r in encoded.chunks(n) {
            out.clear();
            artifact.score(black_box(r), &mut out).unwrap();
        }
    });
    let wasm_1 = median(5, || {
        for r in encoded.chunks(n) {
            rows1.set_dense(n, r).unwrap();
            module.score_into(black_box(&rows1), &mut out).unwrap();
        }
    });
    let wasm_data_1 = median(5, || {
        for r in encoded.chunks(n) {
            rows1.set_dense(n, r).unwrap();
            module_data.score_into(black_box(&rows1), &mut out).unwrap();
        }
    });
    println!("native_batch1_ns_per_row {:.1}", per_row(native_1));
    println!("wasm_batch1_ns_per_row {:.1}", per_row(wasm_1));
    println!("wasm_no_tree_code_batch1_ns_per_row {:.1}", per_row(wasm_data_1));

    // Per-call overhead: an empty batch.
    let empty = Rows::dense(n, &[]).unwrap();
    let calls = 20_000;
    let overhead = median(5, || {
        for _ in 0..calls {
            module.score_into(black_box(&empty), &mut out).unwrap();
        }
    });
    println!("call_overhead_ns {:.1}", overhead.as_secs_f64() * 1e9 / calls as f64);

    // Cold start: new engine, load (verify, compile or read cache, instantiate), first score.
    let one = Rows::dense(n, &encoded[..n]).unwrap();
    let cold = |cfg: RuntimeConfig, wasm: &[u8]| {
        median(7, || {
            let rt = Runtime::new(cfg.clone()).unwrap();
            let m = rt.load(wasm, None).unwrap();
            black_box(m.score(&one).unwrap());
        })
    };
    let no_cache = cold(RuntimeConfig::default(), &wasm);
    let no_cache_data = cold(RuntimeConfig::default(), &wasm_data);
    let dir = tempfile::tempdir().unwrap();
    let cached_cfg = RuntimeConfig::default().with_cache_dir(dir.path());
    Runtime::new(cached_cfg.clone()).unwrap().load(&wasm, None).unwrap();
    Runtime::new(cached_cfg.clone()).unwrap().load(&wasm_data, None).unwrap();
    let with_cache = cold(cached_cfg.clone(), &wasm);
    let with_cache_data = cold(cached_cfg.clone(), &wasm_data);
    println!("cold_start_no_cache_ms {:.2}", no_cache.as_secs_f64() * 1e3);
    println!("cold_start_no_tree_code_no_cache_ms {:.2}", no_cache_data.as_secs_f64() * 1e3);
    println!("cold_start_cache_ms {:.2}", with_cache.as_secs_f64() * 1e3);
    println!("cold_start_no_tree_code_cache_ms {:.2}", with_cache_data.as_secs_f64() * 1e3);
    // Where a cached cold start goes: engine creation, verification (hash, validation,
    // description), and load (verification + cache read + deserialise + instantiate).
    let engine_only = median(7, || {
        black_box(Runtime::new(cached_cfg.clone()).unwrap());
    });
    let inspect_only = median(7, || {
        black_box(scorekit_runtime::inspect(&wasm).unwrap());
    });
    let rt = Runtime::new(cached_cfg.clone()).unwrap();
    let load_only = median(7, || {
        black_box(rt.load(&wasm, None).unwrap());
    });
    println!("cold_engine_ms {:.2}", engine_only.as_secs_f64() * 1e3);
    println!("cold_inspect_ms {:.2}", inspect_only.as_secs_f64() * 1e3);
    println!("cold_load_cached_ms {:.2}", load_only.as_secs_f64() * 1e3);
    // Parity on the way.
    let mut native = Vec::new();
    artifact.score(&encoded, &mut native).unwrap();
    let w = module.score(&dense).unwrap();
    let w_data = module_data.score(&dense).unwrap();
    let same = native.iter().zip(&w).all(|(a, b)| a.to_bits() == b.to_bits())
        && native.iter().zip(&w_data).all(|(a, b)| a.to_bits() == b.to_bits());
    println!("bit_identical {same}");
}
