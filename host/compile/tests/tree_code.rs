//! A GBT model's trees compiled to Wasm code (`host compile`) against the reference tree walk
//! (`GbtModel::predict_raw_reference`), bit for bit, on random models and rows: numeric splits
//! with ties, missing values sent either way, categorical features of up to 70 levels (bit sets
//! shorter than the levels, prefix, suffix and scattered level sets, features past 63 levels
//! tested through bit sets in memory), trees of uneven depth, models large enough to span
//! several generated functions; rows with NaN, infinities, -0.0, values equal to thresholds, and
//! categories that are fractions, negative, huge or past the levels.
//!
//! Two paths: the whole module through the real runtime (`scorekit-runtime`, dense rows: what
//! a host can send, so categories are levels or missing), and the generated functions alone
//! (`tree_code_module`, run by wasmtime) on every value, also those no host can send.
//! Scoring-heavy: run with `--release`.

#[path = "../../../models/gbt/tests/common/random.rs"]
mod random;

use std::sync::OnceLock;

use proptest::prelude::*;
use random::{random_model, random_value};
use scorekit_artifact::{Artifact, Model};
use scorekit_core::rng::Rng;
use scorekit_core::{Family, Field, Schema};
use scorekit_gbt::GbtModel;
use scorekit_runtime::{Rows, Runtime, RuntimeConfig};
use wasmparser::{Parser, Payload};

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| Runtime::new(RuntimeConfig::default()).unwrap())
}

fn artifact(model: GbtModel, levels: &[u32]) -> Artifact {
    let inputs = levels
        .iter()
        .enumerate()
        .map(|(f, &n)| match n {
            0 => Field::numeric(format!("x{f}")),
            n => Field::categorical(format!("c{f}"), (0..n).map(|l| format!("level{l}")).collect()),
        })
        .collect();
    let schema = Schema {
        name: "random".into(),
        family: Family::Gbt,
        inputs,
        target: Some("y".into()),
        positive_label: None,
        outputs: vec!["prediction".into()],
    };
    Artifact::new(schema, Model::Gbt(model))
}

/// The bytes of a module's code section.
fn code_section(wasm: &[u8]) -> &[u8] {
    for p in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionStart { range, .. } = p.unwrap() {
            return &wasm[range];
        }
    }
    panic!("no code section")
}

/// Random rows for `levels` (`n_rows` × features, row-major); `host_values`: only what a host
/// can send in dense rows (categories are levels or missing, numbers finite or missing).
fn rows(rng: &mut Rng, levels: &[u32], pool: &[f64], n_rows: usize, host_values: bool) -> Vec<f64> {
    let mut out = Vec::with_capacity(n_rows * levels.len());
    for _ in 0..n_rows * levels.len() {
        let n = levels[out.len() % levels.len()];
        let mut v = random_value(rng, n, pool);
        let sendable = match n {
            0 => !v.is_infinite(),
            n => v.is_nan() || (v >= 0.0 && v < f64::from(n) && v.fract() == 0.0),
        };
        if host_values && !sendable {
            v = match (rng.below(2), n) {
                (0, _) => f64::NAN,
                (_, 0) => pool[rng.below(pool.len() as u64) as usize],
                (_, n) => rng.below(u64::from(n)) as f64,
            };
        }
        out.push(v);
    }
    out
}

/// The whole module through the runtime: every score equals the reference walk's, bit for bit.
fn check_module(seed: u64, n_features: usize, n_trees: usize, max_depth: usize) -> Result<(), TestCaseError> {
    let (model, levels, pool) = random_model(seed, n_features, n_trees, max_depth);
    let a = artifact(model.clone(), &levels);
    let wasm = scorekit_compile::compile(&a).unwrap();
    prop_assert_ne!(
        code_section(&wasm),
        code_section(scorekit_compile::GUEST_GBT),
        "no tree code in the module"
    );
    let module = runtime().load(&wasm, None).unwrap();
    let mut rng = Rng::seed_from_u64(seed ^ 0x7ee5);
    for n_rows in [1, 1 + rng.below(70) as usize] {
        let x = rows(&mut rng, &levels, &pool, n_rows, true);
        let scores = module.score(&Rows::dense(n_features, &x).unwrap()).unwrap();
        prop_assert_eq!(scores.len(), n_rows);
        let mut native = Vec::new();
        a.score(&x, &mut native).unwrap();
        for ((row, s), n) in x.chunks_exact(n_features).zip(&scores).zip(&native) {
            let reference = model.link(model.predict_raw_reference(row));
            prop_assert_eq!(s.to_bits(), reference.to_bits(), "row {:?}", row);
            prop_assert_eq!(n.to_bits(), reference.to_bits(), "native, row {:?}", row);
        }
    }
    Ok(())
}

/// The generated functions alone, run by wasmtime: every margin equals the reference walk's.
fn check_code(seed: u64, n_features: usize, n_trees: usize, max_depth: usize) -> Result<(), TestCaseError> {
    let (model, levels, pool) = random_model(seed, n_features, n_trees, max_depth);
    let wasm = scorekit_compile::tree_code_module(&model).expect("code for a small model");
    let engine = engine();
    let module = wasmtime::Module::new(engine, &wasm).unwrap();
    let mut store = wasmtime::Store::new(engine, ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let margins = instance.get_typed_func::<(i32, i32, i32), i32>(&mut store, "margins").unwrap();
    let free = instance.get_global(&mut store, "free").unwrap().get(&mut store).unwrap_i32() as usize;
    let mut rng = Rng::seed_from_u64(seed ^ 0xc0de);
    let n_rows = 1 + rng.below(90) as usize;
    let x = rows(&mut rng, &levels, &pool, n_rows, false);
    let out_at = free + 8 * x.len();
    let need = out_at + 8 * n_rows;
    let have = memory.data_size(&store);
    if need > have {
        memory.grow(&mut store, (need - have).div_ceil(65536) as u64).unwrap();
    }
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    memory.write(&mut store, free, &bytes).unwrap();
    let status = margins.call(&mut store, (free as i32, n_rows as i32, out_at as i32)).unwrap();
    prop_assert_eq!(status, 0);
    let mut out = vec![0u8; 8 * n_rows];
    memory.read(&store, out_at, &mut out).unwrap();
    for (row, m) in x.chunks_exact(n_features).zip(out.chunks_exact(8)) {
        let m = f64::from_le_bytes(m.try_into().unwrap());
        prop_assert_eq!(m.to_bits(), model.predict_raw_reference(row).to_bits(), "row {:?}", row);
    }
    Ok(())
}

fn engine() -> &'static wasmtime::Engine {
    static E: OnceLock<wasmtime::Engine> = OnceLock::new();
    E.get_or_init(wasmtime::Engine::default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn tree_code_equals_the_reference_walk(seed in any::<u64>(), n_features in 1usize..8, n_trees in 0usize..12, max_depth in 0usize..9) {
        check_code(seed, n_features, n_trees, max_depth)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn tree_code_over_several_functions_equals_the_reference_walk(seed in any::<u64>(), n_features in 1usize..6) {
        // Deep trees in numbers: more nodes than one generated function holds.
        check_code(seed, n_features, 60, 9)?;
    }

    #[test]
    fn compiled_modules_score_like_the_reference_walk(seed in any::<u64>(), n_features in 1usize..8, n_trees in 0usize..30, max_depth in 0usize..9) {
        check_module(seed, n_features, n_trees, max_depth)?;
    }
}

#[test]
fn a_model_spanning_several_functions_scores_like_the_reference_walk_in_a_module() {
    for seed in 0..4 {
        check_module(seed, 5, 80, 9).unwrap();
    }
}

#[test]
fn modules_without_tree_code_score_the_same() {
    let (model, levels, pool) = random_model(42, 6, 30, 7);
    let a = artifact(model, &levels);
    let with = scorekit_compile::compile(&a).unwrap();
    let options = scorekit_compile::CompileOptions::default().tree_code(false);
    let without = scorekit_compile::compile_with(scorekit_compile::GUEST_GBT, &a, options).unwrap();
    assert_eq!(code_section(&without), code_section(scorekit_compile::GUEST_GBT));
    assert!(without.len() < with.len());
    let x = rows(&mut Rng::seed_from_u64(9), &levels, &pool, 200, true);
    let dense = Rows::dense(levels.len(), &x).unwrap();
    let score = |wasm: &[u8]| runtime().load(wasm, None).unwrap().score(&dense).unwrap();
    let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
    assert_eq!(bits(score(&with)), bits(score(&without)));
}
