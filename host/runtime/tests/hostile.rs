//! Hostile and broken modules are refused or stopped with a clear error, and the runtime keeps
//! serving a good module after each one.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use scorekit_runtime::{InterruptCheck, Rows, Runtime, RuntimeConfig, RuntimeError};

fn good_still_scores(rt: &Runtime) {
    let m = rt.load(&good_module(), None).unwrap();
    let rows = Rows::dense(1, &[1.5, -2.0, 4.0]).unwrap();
    assert_eq!(m.score(&rows).unwrap(), vec![3.0, -4.0, 8.0]);
}

fn err_of(rt: &Runtime, wasm: &[u8]) -> RuntimeError {
    let m = match rt.load(wasm, None) {
        Err(e) => return e,
        Ok(m) => m,
    };
    m.score(&Rows::dense(1, &[1.0]).unwrap()).unwrap_err()
}

#[test]
fn good_module_scores_and_reports_bad_input() {
    let rt = tight_runtime();
    good_still_scores(&rt);
    let m = rt.load(&good_module(), None).unwrap();
    let e = m.score(&Rows::from_cells(1, &[[scorekit_core::Cell::Null]]).unwrap()).unwrap_err();
    assert!(matches!(&e, RuntimeError::BadInput(msg) if msg == "dense rows only"), "{e}");
    assert!(e.is_client_error());
    assert_eq!(m.info().description.schema.name, "t");
}

#[test]
fn infinite_loop_is_stopped_by_the_deadline() {
    let rt = tight_runtime();
    let wasm = abi_module("(loop $l (br $l)) i32.const 0", "");
    let m = rt.load(&wasm, None).unwrap();
    let t = Instant::now();
    let e = m.score(&Rows::dense(1, &[1.0]).unwrap()).unwrap_err();
    let took = t.elapsed();
    assert!(matches!(e, RuntimeError::DeadlineExceeded { .. }), "{e}");
    assert!(e.to_string().contains("deadline"), "{e}");
    assert!(took.as_millis() >= 150 && took.as_millis() < 2000, "stopped after {took:?}");
    good_still_scores(&rt);
}

#[test]
fn host_interrupt_stops_a_running_call_long_before_the_deadline() {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let rt = Runtime::new(RuntimeConfig {
        deadline: Duration::from_secs(600),
        interrupt: Some(InterruptCheck::new(move || flag.load(Ordering::Relaxed))),
        ..RuntimeConfig::default()
    })
    .unwrap();
    // Not interrupted: the check is asked and answers false, the call completes.
    good_still_scores(&rt);
    let m = rt.load(&abi_module("(loop $l (br $l)) i32.const 0", ""), None).unwrap();
    let setter = std::thread::spawn({
        let cancel = cancel.clone();
        move || {
            std::thread::sleep(Duration::from_millis(100));
            cancel.store(true, Ordering::Relaxed);
        }
    });
    let t = Instant::now();
    let e = m.score(&Rows::dense(1, &[1.0]).unwrap()).unwrap_err();
    setter.join().unwrap();
    assert!(matches!(e, RuntimeError::Interrupted), "{e}");
    assert!(e.to_string().contains("interrupted"), "{e}");
    // 600 s deadline: only the interrupt can have stopped it.
    assert!(t.elapsed() < Duration::from_secs(60), "stopped after {:?}", t.elapsed());
    // Once the host clears its flag, calls run again.
    cancel.store(false, Ordering::Relaxed);
    good_still_scores(&rt);
}

#[test]
fn infinite_loop_in_start_function_is_stopped_at_load() {
    let rt = tight_runtime();
    let wasm = abi_module("i32.const 0", "(func $spin (loop $l (br $l))) (start $spin)");
    assert!(matches!(err_of(&rt, &wasm), RuntimeError::DeadlineExceeded { .. }));
    good_still_scores(&rt);
}

#[test]
fn unbounded_memory_growth_is_stopped_by_the_cap() {
    let rt = tight_runtime();
    let wasm = abi_module("(loop $l (drop (memory.grow (i32.const 16))) (br $l)) i32.const 0", "");
    let e = err_of(&rt, &wasm);
    assert!(matches!(e, RuntimeError::MemoryLimit { limit_bytes } if limit_bytes == 16 << 20), "{e}");
    good_still_scores(&rt);
}

#[test]
fn huge_initial_memory_is_refused_at_load() {
    let rt = tight_runtime();
    let wasm = module(
        r#"(module (memory (export "memory") 1000)
  (func (export "scorekit_abi_version") (result i32) i32.const 1)
  (func (export "scorekit_input") (param i32) (result i32) i32.const 0)
  (func (export "scorekit_output_ptr") (result i32) i32.const 0)
  (func (export "scorekit_output_len") (result i32) i32.const 0)
  (func (export "scorekit_call") (param i32 i32) (result i32) i32.const 0))"#,
    );
    assert!(matches!(err_of(&rt, &wasm), RuntimeError::MemoryLimit { .. }));
    good_still_scores(&rt);
}

#[test]
fn a_trap_is_reported_and_the_instance_is_discarded() {
    let rt = tight_runtime();
    let m = rt.load(&good_module(), None).unwrap();
    let e = m.call_raw(4, &[]).unwrap_err();
    assert!(matches!(e, RuntimeError::Trap(ref msg) if msg.contains("unreachable")), "{e}");
    // The instance that set the flag and trapped is gone: the next call gets a fresh one.
    let flag = m.call_raw(6, &[]).unwrap();
    assert_eq!(flag, 0.0f64.to_le_bytes().to_vec());
    good_still_scores(&rt);
}

#[test]
fn modules_that_import_are_refused() {
    let rt = tight_runtime();
    let wasi = module(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
           (memory (export "memory") 1))"#,
    );
    let e = err_of(&rt, &wasi);
    assert!(matches!(&e, RuntimeError::Imports(s) if s.contains("WASI") && s.contains("fd_write")), "{e}");
    let env = module(r#"(module (import "env" "now" (func (result i64))) (memory (export "memory") 1))"#);
    let e = err_of(&rt, &env);
    assert!(matches!(&e, RuntimeError::Imports(s) if s.contains("env::now")), "{e}");
    assert!(e.to_string().contains("import nothing"));
    let mem = module(r#"(module (import "env" "mem" (memory 1)))"#);
    assert!(matches!(err_of(&rt, &mem), RuntimeError::Imports(_)));
    good_still_scores(&rt);
}

#[test]
fn truncated_and_non_wasm_files_are_refused() {
    let rt = tight_runtime();
    let good = good_module();
    for bad in [&good[..good.len() / 2], &b"hello world"[..], &[][..], &good[..8]] {
        let e = err_of(&rt, bad);
        assert!(matches!(e, RuntimeError::InvalidModule(_)), "{e}");
    }
    let e = err_of(&rt, b"hello world");
    assert!(e.to_string().contains("not a WebAssembly module"), "{e}");
    good_still_scores(&rt);
}

#[test]
fn abi_version_mismatch_is_refused() {
    let rt = tight_runtime();
    // The description says 1 but the code says 2.
    let code = good_module();
    let wat_v2 = wasmprinter_free_replace(&code);
    let e = err_of(&rt, &wat_v2);
    assert!(matches!(e, RuntimeError::AbiMismatch { found: 2, expected: 1 }), "{e}");
    // The description says 2.
    let wasm = with_custom(
        wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap(),
        "scorekit.schema",
        description(2).as_bytes(),
    );
    assert!(matches!(err_of(&rt, &wasm), RuntimeError::AbiMismatch { found: 2, .. }));
    good_still_scores(&rt);
}

/// The good module with `scorekit_abi_version` returning 2.
fn wasmprinter_free_replace(_good: &[u8]) -> Vec<u8> {
    module(
        r#"(module (memory (export "memory") 1)
  (func (export "scorekit_abi_version") (result i32) i32.const 2)
  (func (export "scorekit_input") (param i32) (result i32) i32.const 0)
  (func (export "scorekit_output_ptr") (result i32) i32.const 0)
  (func (export "scorekit_output_len") (result i32) i32.const 0)
  (func (export "scorekit_call") (param i32 i32) (result i32) i32.const 0))"#,
    )
}

#[test]
fn missing_or_mistyped_exports_and_description_are_refused() {
    let rt = tight_runtime();
    let no_call = module(
        r#"(module (memory (export "memory") 1)
  (func (export "scorekit_abi_version") (result i32) i32.const 1)
  (func (export "scorekit_input") (param i32) (result i32) i32.const 0)
  (func (export "scorekit_output_ptr") (result i32) i32.const 0)
  (func (export "scorekit_output_len") (result i32) i32.const 0))"#,
    );
    let e = err_of(&rt, &no_call);
    assert!(e.to_string().contains("missing export 'scorekit_call'"), "{e}");
    let wrong_sig = module(
        r#"(module (memory (export "memory") 1)
  (func (export "scorekit_abi_version") (result i32) i32.const 1)
  (func (export "scorekit_input") (param i32) (result i32) i32.const 0)
  (func (export "scorekit_output_ptr") (result i32) i32.const 0)
  (func (export "scorekit_output_len") (result i32) i32.const 0)
  (func (export "scorekit_call") (param i32) (result i32) i32.const 0))"#,
    );
    let e = err_of(&rt, &wrong_sig);
    assert!(matches!(&e, RuntimeError::InvalidModule(s) if s.contains("scorekit_call")), "{e}");
    let no_memory = module(r#"(module (func (export "scorekit_abi_version") (result i32) i32.const 1))"#);
    assert!(err_of(&rt, &no_memory).to_string().contains("memory"));
    let no_description = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    assert!(err_of(&rt, &no_description).to_string().contains("scorekit.schema"));
    let bad_json = with_custom(no_description.clone(), "scorekit.schema", b"{not json");
    assert!(matches!(err_of(&rt, &bad_json), RuntimeError::InvalidModule(_)));
    good_still_scores(&rt);
}

#[test]
fn output_outside_memory_is_a_trap_not_a_crash() {
    let rt = tight_runtime();
    let wasm = module(
        r#"(module (memory (export "memory") 1)
  (func (export "scorekit_abi_version") (result i32) i32.const 1)
  (func (export "scorekit_input") (param i32) (result i32) i32.const 16)
  (func (export "scorekit_output_ptr") (result i32) i32.const 65530)
  (func (export "scorekit_output_len") (result i32) i32.const 4096)
  (func (export "scorekit_call") (param i32 i32) (result i32) i32.const 0))"#,
    );
    let e = err_of(&rt, &wasm);
    assert!(matches!(&e, RuntimeError::Trap(s) if s.contains("outside")), "{e}");
    let wasm = module(
        r#"(module (memory (export "memory") 1)
  (func (export "scorekit_abi_version") (result i32) i32.const 1)
  (func (export "scorekit_input") (param i32) (result i32) i32.const 65535)
  (func (export "scorekit_output_ptr") (result i32) i32.const 0)
  (func (export "scorekit_output_len") (result i32) i32.const 0)
  (func (export "scorekit_call") (param i32 i32) (result i32) i32.const 9))"#,
    );
    let e = err_of(&rt, &wasm);
    assert!(matches!(&e, RuntimeError::Trap(s) if s.contains("input buffer")), "{e}");
    good_still_scores(&rt);
}

#[test]
fn pinned_hash_is_enforced() {
    let rt = tight_runtime();
    let good = good_module();
    let info = scorekit_runtime::inspect(&good).unwrap();
    assert!(rt.load(&good, Some(info.sha256)).is_ok());
    let mut other = info.sha256;
    other[0] ^= 1;
    let e = rt.load(&good, Some(other)).unwrap_err();
    assert!(matches!(&e, RuntimeError::HashMismatch { actual, .. } if *actual == info.sha256_hex()), "{e}");
}

/// A module that answers more (or fewer) values than rows were asked for is refused: its scores
/// would be misaligned with the rows they belong to.
#[test]
fn an_answer_of_the_wrong_size_is_refused() {
    let rt = tight_runtime();
    // Always answers 3 values, whatever the batch.
    let wasm = abi_module("(global.set $outlen (i32.const 24)) i32.const 0", "");
    let m = rt.load(&wasm, None).unwrap();
    let e = m.score(&Rows::dense(1, &[1.0]).unwrap()).unwrap_err();
    assert!(
        matches!(&e, RuntimeError::BadOutput(msg) if msg.contains("returned 3 values for 1 rows, expected 1")),
        "{e}"
    );
    assert!(!e.is_client_error());
    assert_eq!(m.score(&Rows::dense(1, &[1.0, 2.0, 3.0]).unwrap()).unwrap().len(), 3);
    good_still_scores(&rt);
}

/// The instances of one runtime share a memory budget: calls that would together pass it fail
/// with a retryable error, and memory given back (an instance dropped) is usable again.
#[test]
fn instances_together_stay_within_the_process_memory_budget() {
    let rt = Runtime::new(RuntimeConfig {
        memory_limit_bytes: 48 << 20,
        memory_budget_bytes: 64 << 20,
        max_idle_instances: 0,
        ..RuntimeConfig::default()
    })
    .unwrap();
    // Grows its memory to 40 MiB on op 2 and keeps it (a stream keeps its instance).
    let wasm = abi_module(
        "(if (i32.lt_u (memory.size) (i32.const 640)) (then (drop (memory.grow (i32.sub (i32.const 640) (memory.size)))))) (global.set $outlen (i32.const 8)) i32.const 0",
        "",
    );
    let m = rt.load(&wasm, None).unwrap();
    let one = Rows::dense(1, &[1.0]).unwrap();
    let mut first = m.stream().unwrap();
    first.score(&one).unwrap();
    assert!(rt.memory_in_use() >= 40 << 20);
    let mut second = m.stream().unwrap();
    let e = second.score(&one).unwrap_err();
    assert!(matches!(e, RuntimeError::MemoryBudget { budget_bytes } if budget_bytes == 64 << 20), "{e}");
    drop(first);
    drop(second);
    assert!(rt.memory_in_use() < 40 << 20, "memory given back: {}", rt.memory_in_use());
    let mut third = m.stream().unwrap();
    third.score(&one).unwrap();
}
