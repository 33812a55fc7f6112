//! The real guest: compile output properties, every export, and bit-for-bit parity with the
//! native path (`scorekit_artifact::ops`) for each family. Scoring-heavy: run with `--release`.

mod models;

use std::sync::{Arc, OnceLock};

use scorekit_abi::{ForecastQuery, op};
use scorekit_artifact::Artifact;
use scorekit_compile::{
    CompileOptions, GUEST_FORECAST, GUEST_GBT, GUEST_RCF, compile, compile_with, compile_with_guest,
    description,
};
use scorekit_core::Cell;
use scorekit_runtime::{Rows, Runtime, RuntimeConfig, RuntimeError, ScoringModule};
use wasmparser::{Parser, Payload};

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| Runtime::new(RuntimeConfig::default()).unwrap())
}

struct Churn {
    artifact: Artifact,
    cells: Vec<Vec<String>>,
    wasm: Vec<u8>,
    module: Arc<ScoringModule>,
}

fn churn() -> &'static Churn {
    static C: OnceLock<Churn> = OnceLock::new();
    C.get_or_init(|| {
        let (artifact, cells) = models::churn();
        let wasm = compile(&artifact).unwrap();
        let module = runtime().load(&wasm, None).unwrap();
        Churn { artifact, cells, wasm, module }
    })
}

fn cell_rows(cells: &[Vec<String>]) -> Vec<Vec<Cell<'_>>> {
    cells.iter().map(|r| r.iter().map(|s| Cell::Text(s.as_str())).collect()).collect()
}

#[test]
fn compiled_module_imports_nothing_and_describes_itself() {
    let c = churn();
    let mut customs = Vec::new();
    for p in Parser::new(0).parse_all(&c.wasm) {
        match p.unwrap() {
            Payload::ImportSection(r) => assert_eq!(r.count(), 0, "the module imports something"),
            Payload::CustomSection(s) => customs.push((s.name().to_string(), s.data().to_vec())),
            _ => {}
        }
    }
    wasmparser::Validator::new().validate_all(&c.wasm).unwrap();
    assert_eq!(
        customs.len(),
        1,
        "only the scorekit.schema section: {:?}",
        customs.iter().map(|c| &c.0).collect::<Vec<_>>()
    );
    assert_eq!(customs[0].0, "scorekit.schema");
    let d: scorekit_runtime::Description = serde_json::from_slice(&customs[0].1).unwrap();
    assert_eq!(d, description(&c.artifact));
    assert_eq!(d.schema, c.artifact.schema);
    assert_eq!(d.metrics[0].name, "auc");
    // Op SCHEMA returns the same bytes as the section.
    assert_eq!(c.module.schema_json().unwrap(), customs[0].1);
    let info = c.module.info();
    assert_eq!(info.size, c.wasm.len());
    assert_eq!(info.description.abi, 1);
    eprintln!("churn module: {} bytes (guest {} bytes)", c.wasm.len(), GUEST_GBT.len());
}

#[test]
fn compile_is_byte_identical_for_the_same_artifact() {
    let c = churn();
    let again = compile(&c.artifact).unwrap();
    assert_eq!(again, c.wasm);
    let reloaded = Artifact::from_json(&c.artifact.to_json()).unwrap();
    assert_eq!(compile(&reloaded).unwrap(), c.wasm, "JSON round trip changes the module");
    let mut other = c.artifact.clone();
    other.metrics[0].value = 0.91;
    assert_ne!(compile(&other).unwrap(), c.wasm);
}

/// One flipped bit anywhere in the model inside a module is refused at load (the payload no
/// longer matches the `artifact_sha256` the description records), instead of scoring silently
/// differently; so is a description edited after compiling.
#[test]
fn a_corrupt_model_payload_is_refused_at_load() {
    let c = churn();
    let magic = scorekit_abi::payload::PAYLOAD_MAGIC;
    let at = c.wasm.windows(8).position(|w| w == magic).expect("payload in the module");
    let mut flipped = c.wasm.clone();
    let i = at + flipped.len().min(at + 150_000).saturating_sub(at) / 2;
    flipped[i] ^= 0x10;
    let e = runtime().load(&flipped, None).unwrap_err();
    assert!(e.to_string().contains("does not match its recorded SHA-256"), "{e}");
    assert!(scorekit_runtime::inspect(&flipped).is_err());
    // The original still loads.
    runtime().load(&c.wasm, None).unwrap();
}

#[test]
fn bare_guest_and_foreign_guests_are_refused() {
    // A guest without a model has no description.
    for guest in [GUEST_GBT, GUEST_RCF, GUEST_FORECAST] {
        assert!(matches!(runtime().load(guest, None), Err(RuntimeError::InvalidModule(_))));
    }
    // A module that is not a scorekit guest cannot be compiled into.
    let not_guest = wat::parse_str(r#"(module (memory 1) (data (i32.const 0) "x"))"#).unwrap();
    let e = compile_with_guest(&not_guest, &churn().artifact).unwrap_err();
    assert!(e.to_string().contains("location static"), "{e}");
}

#[test]
fn each_family_gets_its_own_guest_and_other_guests_refuse_its_model() {
    let c = churn();
    // The module is the GBT guest, the artifact and the trees as code (`tree_code_module`
    // holds that code alone), nothing of another family's.
    let scorekit_artifact::Model::Gbt(model) = &c.artifact.model else { panic!("a GBT model") };
    let tree_code = scorekit_compile::tree_code_module(model).expect("tree code").len();
    assert!(c.wasm.len() < GUEST_GBT.len() + c.artifact.to_bytes().len() + tree_code + 16 * 1024);
    let without = compile_with(GUEST_GBT, &c.artifact, CompileOptions::default().tree_code(false)).unwrap();
    assert!(without.len() < GUEST_GBT.len() + c.artifact.to_bytes().len() + 16 * 1024);
    // A guest built for another family holds no GBT code: the model inside is refused clearly
    // on the first call, never misread.
    let foreign = compile_with_guest(GUEST_RCF, &c.artifact).unwrap();
    let module = runtime().load(&foreign, None).unwrap();
    let one = Rows::dense(c.artifact.arity(), &vec![0.0; c.artifact.arity()]).unwrap();
    match module.score(&one) {
        Err(RuntimeError::Guest(m)) => {
            assert!(m.contains("holds a gbt model, but this build does not contain the gbt family"), "{m}")
        }
        other => panic!("expected the guest to refuse the model, got {other:?}"),
    }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "scoring-heavy: run with --release")]
fn gbt_scores_are_bit_identical_to_native() {
    let c = churn();
    let rows = cell_rows(&c.cells);
    let flat: Vec<Cell<'_>> = rows.iter().flatten().copied().collect();
    let mut encoded = Vec::new();
    c.artifact.encode(&flat, 0, &mut encoded).unwrap();
    let mut native = Vec::new();
    c.artifact.score(&encoded, &mut native).unwrap();
    assert_eq!(native.len(), 5000);
    let n = c.artifact.arity();
    let tagged = c.module.score(&Rows::from_cells(n, &rows).unwrap()).unwrap();
    assert_eq!(bits(&tagged), bits(&native));
    let dense = c.module.score(&Rows::dense(n, &encoded).unwrap()).unwrap();
    assert_eq!(bits(&dense), bits(&native));
    // Batch 1 too.
    for r in 0..20 {
        let one = c.module.score(&Rows::from_cells(n, &rows[r..r + 1]).unwrap()).unwrap();
        assert_eq!(one[0].to_bits(), native[r].to_bits());
    }
    assert!(native.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
#[cfg_attr(debug_assertions, ignore = "scoring-heavy: run with --release")]
fn gbt_explanations_are_bit_identical_to_native() {
    let c = churn();
    let rows = cell_rows(&c.cells[..300]);
    let flat: Vec<Cell<'_>> = rows.iter().flatten().copied().collect();
    let mut encoded = Vec::new();
    c.artifact.encode(&flat, 0, &mut encoded).unwrap();
    let mut native = Vec::new();
    c.artifact.explain(&encoded, &mut native).unwrap();
    let wasm = c.module.explain(&Rows::from_cells(c.artifact.arity(), &rows).unwrap()).unwrap();
    assert_eq!(wasm.len(), 300 * (c.artifact.arity() + 1));
    assert_eq!(bits(&wasm), bits(&native));
}

#[test]
fn bad_input_messages_match_the_native_path() {
    let c = churn();
    let n = c.artifact.arity();
    let mut row: Vec<String> = c.cells[0].clone();
    row[0] = "ZZ".into();
    let cells = vec![
        c.cells[1].iter().map(|s| Cell::Text(s)).collect::<Vec<_>>(),
        row.iter().map(|s| Cell::Text(s)).collect(),
    ];
    let flat: Vec<Cell<'_>> = cells.iter().flatten().copied().collect();
    let native = c.artifact.encode(&flat, 1, &mut Vec::new()).unwrap_err().to_string();
    let e = c.module.score(&Rows::from_cells(n, &cells).unwrap()).unwrap_err();
    assert!(matches!(&e, RuntimeError::BadInput(m) if *m == native), "{e} vs {native}");
    assert!(native.contains("row 2") && native.contains("'state'") && native.contains("ZZ"));
    // Wrong width, a bad dense level index, an unsupported op, garbage bytes.
    let e = c.module.score(&Rows::dense(3, &[1.0, 2.0, 3.0]).unwrap()).unwrap_err();
    assert!(e.to_string().contains(&format!("expected {n} values per row")), "{e}");
    let mut dense = vec![0.0; n];
    dense[0] = 999.0;
    let e = c.module.score(&Rows::dense(n, &dense).unwrap()).unwrap_err();
    assert!(e.to_string().contains("row 1, column 'state'"), "{e}");
    let e = c.module.forecast(
        &[1.0; 10],
        &ForecastQuery { horizon: 1, quantiles: vec![], num_samples: 0, seed: 0, start: None },
    );
    assert!(matches!(e, Err(RuntimeError::Unsupported(ref m)) if m.contains("gbt")), "{e:?}");
    let e = c.module.call_raw(op::SCORE, b"garbage").unwrap_err();
    assert!(matches!(&e, RuntimeError::BadInput(m) if m.contains("malformed request")), "{e}");
    let e = c.module.call_raw(77, b"").unwrap_err();
    assert!(matches!(e, RuntimeError::Unsupported(_)));
    // The module still scores after all of that.
    let ok = c.module.score(&Rows::from_cells(n, &cell_rows(&c.cells[..2])).unwrap()).unwrap();
    assert_eq!(ok.len(), 2);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "scoring-heavy: run with --release")]
fn rcf_stream_is_bit_identical_to_native_and_state_round_trips() {
    let artifact = models::anomaly();
    let values = models::machine_temperature();
    let wasm = compile(&artifact).unwrap();
    let module = runtime().load(&wasm, None).unwrap();
    let next = &values[2000..2600];

    // Stateless scoring.
    let mut native = Vec::new();
    artifact.score(&next[..50], &mut native).unwrap();
    assert_eq!(bits(&module.score(&Rows::dense(1, &next[..50]).unwrap()).unwrap()), bits(&native));

    // Streaming, then export, import into a fresh stream, continue.
    let mut nat = artifact.clone();
    let mut expect = Vec::new();
    nat.score_update(&next[..400], 1, &mut expect).unwrap();
    let mut s = module.stream().unwrap();
    let got = s.score_then_update(&Rows::dense(1, &next[..400]).unwrap()).unwrap();
    let got_flat: Vec<f64> = got
        .iter()
        .flat_map(|g| [g.score, g.grade, if g.is_anomaly { 1.0 } else { 0.0 }, g.threshold])
        .collect();
    assert_eq!(bits(&got_flat), bits(&expect));
    assert!(got.iter().any(|g| g.score > 0.0));
    let state = s.export_state().unwrap();
    assert_eq!(state, nat.export_state().unwrap(), "wasm and native state bytes differ");
    let mut s2 = module.stream().unwrap();
    s2.import_state(&state).unwrap();
    let mut expect2 = Vec::new();
    nat.score_update(&next[400..], 1, &mut expect2).unwrap();
    let got2 = s2.score_then_update(&Rows::dense(1, &next[400..]).unwrap()).unwrap();
    assert_eq!(
        got2.iter().map(|g| g.score.to_bits()).collect::<Vec<_>>(),
        expect2.chunks(4).map(|c| c[0].to_bits()).collect::<Vec<_>>()
    );
    // Update-only and score-only ops; reset returns to the compiled-in state.
    s2.update(&Rows::dense(1, &next[..10]).unwrap()).unwrap();
    let sc = s2.score(&Rows::dense(1, &next[..3]).unwrap()).unwrap();
    assert_eq!(sc.len(), 3);
    s2.reset().unwrap();
    let mut fresh = module.stream().unwrap();
    assert_eq!(s2.export_state().unwrap(), fresh.export_state().unwrap());
    // Bad input leaves the stream usable; corrupt state is refused and the old state kept.
    assert!(matches!(s2.update(&Rows::dense(1, &[f64::INFINITY]).unwrap()), Err(RuntimeError::BadInput(_))));
    assert!(matches!(s2.import_state(b"not a state"), Err(RuntimeError::BadInput(_))));
    assert_eq!(s2.export_state().unwrap(), fresh.export_state().unwrap());
    // Explain: attribution per input then the total.
    let ex = module.explain(&Rows::dense(1, &next[..5]).unwrap()).unwrap();
    let mut native_ex = Vec::new();
    artifact.explain(&next[..5], &mut native_ex).unwrap();
    assert_eq!(bits(&ex), bits(&native_ex));
    // A pooled instance refuses state-changing ops.
    assert!(matches!(module.call_raw(op::RCF_UPDATE, &[]), Err(RuntimeError::Unsupported(_))));
}

#[test]
#[cfg_attr(debug_assertions, ignore = "scoring-heavy: run with --release")]
fn forecasts_are_bit_identical_to_native() {
    let artifact = models::forecaster();
    let y = models::electricity();
    let module = runtime().load(&compile(&artifact).unwrap(), None).unwrap();
    let scorekit_artifact::Model::Forecast(native_model) = &artifact.model else { unreachable!() };
    let description = &module.info().description;
    assert_eq!(description.max_horizon, Some(native_model.max_horizon() as u32));
    assert_eq!(description.context_length, Some(native_model.context_length() as u32));
    let q =
        ForecastQuery { horizon: 48, quantiles: vec![0.1, 0.5, 0.9], num_samples: 20, seed: 7, start: None };
    let history = &y[2000..2400];
    let got = module.forecast(history, &q).unwrap();
    let req = scorekit_forecast::ForecastRequest {
        horizon: 48,
        quantiles: q.quantiles.clone(),
        num_samples: 20,
        seed: 7,
        start: None,
    };
    let native = artifact.forecast(history, &req).unwrap();
    assert_eq!(bits(&got.mean), bits(&native.mean));
    assert_eq!(got.quantiles.len(), 3);
    for ((l1, v1), (l2, v2)) in got.quantiles.iter().zip(&native.quantiles) {
        assert_eq!(l1, l2);
        assert_eq!(bits(v1), bits(v2));
    }
    assert_eq!(got.samples.len(), 20);
    for (a, b) in got.samples.iter().zip(&native.samples) {
        assert_eq!(bits(a), bits(b));
    }
    let e = module.forecast(&history[..3], &q).unwrap_err();
    assert!(matches!(e, RuntimeError::BadInput(_)), "{e}");
    let e = module.score(&Rows::dense(1, &[1.0]).unwrap()).unwrap_err();
    assert!(matches!(e, RuntimeError::Unsupported(_)), "{e}");
}

/// `guest` without its `scorekit_call_slot` export: a guest as built before ABI minor 2.
fn without_call_slot(guest: &[u8]) -> Vec<u8> {
    let mut module = wasm_encoder::Module::new();
    for p in Parser::new(0).parse_all(guest) {
        let p = p.unwrap();
        if let Payload::ExportSection(r) = &p {
            let mut exports = wasm_encoder::ExportSection::new();
            for e in r.clone() {
                let e = e.unwrap();
                if e.name != scorekit_abi::exports::CALL_SLOT {
                    let kind = match e.kind {
                        wasmparser::ExternalKind::Func => wasm_encoder::ExportKind::Func,
                        wasmparser::ExternalKind::Memory => wasm_encoder::ExportKind::Memory,
                        wasmparser::ExternalKind::Global => wasm_encoder::ExportKind::Global,
                        wasmparser::ExternalKind::Table => wasm_encoder::ExportKind::Table,
                        other => panic!("unexpected export kind {other:?}"),
                    };
                    exports.export(e.name, kind, e.index);
                }
            }
            module.section(&exports);
        } else if let Some((id, range)) = p.as_section() {
            module.section(&wasm_encoder::RawSection { id, data: &guest[range] });
        }
    }
    module.finish()
}

#[test]
#[cfg_attr(debug_assertions, ignore = "scoring-heavy: run with --release")]
fn modules_with_and_without_the_call_slot_answer_alike() {
    let c = churn();
    assert_eq!(c.module.info().description.abi_minor, scorekit_abi::ABI_MINOR);
    assert!(c.module.info().description.has_call_slot());
    let old_guest = without_call_slot(GUEST_GBT);
    assert!(old_guest.len() < GUEST_GBT.len());
    let old = runtime().load(&compile_with_guest(&old_guest, &c.artifact).unwrap(), None).unwrap();
    assert_eq!(old.info().description.abi_minor, 1, "an older guest's module claims no call slot");
    let n = c.artifact.arity();
    let rows = cell_rows(&c.cells);
    // Small after large (the input buffer fits), large after small (it grows), and errors in
    // between (the response is the message): every answer the same, bit for bit.
    for (k, size) in [5000, 1, 1, 2, 3000, 1, 7, 4999].into_iter().enumerate() {
        let start = (k * 13) % (rows.len() - size + 1);
        let batch = Rows::from_cells(n, &rows[start..start + size]).unwrap();
        assert_eq!(bits(&c.module.score(&batch).unwrap()), bits(&old.score(&batch).unwrap()), "batch {k}");
        let mut bad = c.cells[k].clone();
        bad[0] = "ZZ".into();
        let bad = [bad.iter().map(|s| Cell::Text(s)).collect::<Vec<_>>()];
        let bad = Rows::from_cells(n, &bad).unwrap();
        let (new_e, old_e) = (c.module.score(&bad).unwrap_err(), old.score(&bad).unwrap_err());
        assert!(matches!(&new_e, RuntimeError::BadInput(m) if m.contains("ZZ")), "{new_e}");
        assert_eq!(new_e.to_string(), old_e.to_string());
    }
    let explain = Rows::from_cells(n, &rows[..3]).unwrap();
    assert_eq!(bits(&c.module.explain(&explain).unwrap()), bits(&old.explain(&explain).unwrap()));
}

#[test]
fn a_module_claiming_the_call_slot_without_it_is_refused_at_load() {
    let c = churn();
    let old = compile_with_guest(&without_call_slot(GUEST_GBT), &c.artifact).unwrap();
    // The description (custom section and payload) says minor 2; the guest has no slot.
    let (from, to) = (br#""abi_minor":1"#, br#""abi_minor":2"#);
    let mut lying = old.clone();
    let mut replaced = 0;
    for at in 0..lying.len() - from.len() {
        if &lying[at..at + from.len()] == from {
            lying[at..at + to.len()].copy_from_slice(to);
            replaced += 1;
        }
    }
    assert_eq!(replaced, 2, "the description is in the custom section and in the payload");
    let e = runtime().load(&lying, None).unwrap_err();
    assert!(
        matches!(&e, RuntimeError::InvalidModule(m) if m.contains(scorekit_abi::exports::CALL_SLOT)),
        "{e}"
    );
}
