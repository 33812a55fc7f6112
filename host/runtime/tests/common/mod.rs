//! Helpers shared by the integration tests: hand-written modules in WAT.
#![allow(dead_code, missing_docs)]

use std::time::Duration;

use scorekit_runtime::{Runtime, RuntimeConfig};

/// A valid description JSON for a one-input GBT-shaped model.
pub fn description(abi: i32) -> String {
    format!(
        r#"{{"abi":{abi},"family":"gbt","format":1,"schema":{{"name":"t","family":"gbt","inputs":[{{"name":"x","kind":"numeric"}}],"target":null,"positive_label":null,"outputs":["y"]}},"metrics":[],"provenance":[],"artifact_sha256":"00"}}"#
    )
}

fn leb(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Appends a custom section to a module.
pub fn with_custom(mut wasm: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    leb(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    wasm.push(0);
    leb(body.len(), &mut wasm);
    wasm.extend_from_slice(&body);
    wasm
}

/// A WAT module with the scorekit description section.
pub fn module(wat: &str) -> Vec<u8> {
    with_custom(wat::parse_str(wat).expect("test WAT"), "scorekit.schema", description(1).as_bytes())
}

/// The standard exports around a custom `scorekit_call` body (`$op`, `$len` params) and extra
/// module fields.
pub fn abi_module(call_body: &str, extra: &str) -> Vec<u8> {
    module(&format!(
        r#"(module
  (memory (export "memory") 1)
  (global $outlen (mut i32) (i32.const 0))
  (global $poisoned (mut i32) (i32.const 0))
  (data (i32.const 50000) "dense rows only")
  (func (export "scorekit_abi_version") (result i32) i32.const 1)
  (func (export "scorekit_input") (param i32) (result i32) i32.const 1024)
  (func (export "scorekit_output_ptr") (result i32) i32.const 40000)
  (func (export "scorekit_output_len") (result i32) global.get $outlen)
  (func (export "scorekit_call") (param $op i32) (param $len i32) (result i32)
    {call_body})
  {extra}
)"#
    ))
}

/// A well-behaved module: op 2 doubles each value of a dense one-column request; op 4 sets a
/// "poisoned" flag then traps; op 6 returns the flag. Tagged requests get BAD_INPUT.
pub fn good_module() -> Vec<u8> {
    abi_module(
        r#"(local $i i32) (local $n i32)
    (if (i32.eq (local.get $op) (i32.const 4))
      (then (global.set $poisoned (i32.const 1)) unreachable))
    (if (i32.eq (local.get $op) (i32.const 6))
      (then (f64.store (i32.const 40000) (f64.convert_i32_s (global.get $poisoned)))
            (global.set $outlen (i32.const 8)) (return (i32.const 0))))
    (if (i32.ne (i32.load8_u (i32.const 1024)) (i32.const 1))
      (then (memory.copy (i32.const 40000) (i32.const 50000) (i32.const 15))
            (global.set $outlen (i32.const 15)) (return (i32.const 1))))
    (local.set $n (i32.load (i32.const 1028)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (f64.store (i32.add (i32.const 40000) (i32.shl (local.get $i) (i32.const 3)))
        (f64.mul (f64.const 2) (f64.load (i32.add (i32.const 1040) (i32.shl (local.get $i) (i32.const 3))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (global.set $outlen (i32.shl (local.get $n) (i32.const 3)))
    i32.const 0"#,
        "",
    )
}

/// A runtime with tight limits so hostile tests finish fast.
pub fn tight_runtime() -> Runtime {
    Runtime::new(RuntimeConfig {
        deadline: Duration::from_millis(200),
        memory_limit_bytes: 16 << 20,
        max_idle_instances: 1,
        ..RuntimeConfig::default()
    })
    .unwrap()
}
