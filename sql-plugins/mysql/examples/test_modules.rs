//! Writes the broken and hostile modules the end-to-end test installs next to the real ones:
//! `cargo run --release -p scorekit-mysql --example test_modules -- DIR`.
//!
//! Each speaks the scorekit ABI with one numeric input `x` (so `scorekit_score('spin', 1)` reaches
//! the call) and misbehaves when called: `spin` loops for ever, `hog` grows its memory past any
//! cap, `deep` recurses without end (more native stack than a MariaDB thread has), `trap` hits
//! `unreachable`; `imports` imports a host function and `abi2` claims ABI version 2 (both are
//! refused at load).

use std::path::PathBuf;

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

fn with_description(mut wasm: Vec<u8>, name: &str) -> Vec<u8> {
    let description = format!(
        r#"{{"abi":1,"family":"gbt","format":1,"schema":{{"name":"{name}","family":"gbt","inputs":[{{"name":"x","kind":"numeric"}}],"target":null,"positive_label":null,"outputs":["y"]}},"metrics":[],"provenance":[],"artifact_sha256":"00"}}"#
    );
    let section = b"scorekit.schema";
    let mut body = Vec::new();
    leb(section.len(), &mut body);
    body.extend_from_slice(section);
    body.extend_from_slice(description.as_bytes());
    wasm.push(0);
    leb(body.len(), &mut wasm);
    wasm.extend_from_slice(&body);
    wasm
}

/// A module whose `scorekit_call` runs `body`, with `extra` module fields and ABI version `abi`.
fn module(name: &str, body: &str, extra: &str, abi: i32) -> Vec<u8> {
    let wat = format!(
        r#"(module
  {extra}
  (memory (export "memory") 1)
  (func (export "scorekit_abi_version") (result i32) i32.const {abi})
  (func (export "scorekit_input") (param i32) (result i32) i32.const 1024)
  (func (export "scorekit_output_ptr") (result i32) i32.const 0)
  (func (export "scorekit_output_len") (result i32) i32.const 8)
  (func $deep (param i64) (result i64) (i64.add (call $deep (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
  (func (export "scorekit_call") (param i32 i32) (result i32) {body}))"#
    );
    with_description(wat::parse_str(&wat).expect("test module WAT"), name)
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: test_modules DIR"));
    std::fs::create_dir_all(&dir).expect("creating the directory");
    let modules = [
        ("spin", module("spin", "(loop $l (br $l)) i32.const 0", "", 1)),
        (
            "hog",
            module("hog", "(block $b (loop $l (br_if $b (i32.eq (memory.grow (i32.const 16)) (i32.const -1))) (br $l))) unreachable", "", 1),
        ),
        ("deep", module("deep", "(drop (call $deep (i64.const 0))) i32.const 0", "", 1)),
        ("trap", module("trap", "unreachable", "", 1)),
        ("imports", module("imports", "(call $host) i32.const 0", r#"(import "env" "host" (func $host))"#, 1)),
        ("abi2", module("abi2", "i32.const 0", "", 2)),
    ];
    for (name, wasm) in modules {
        let path = dir.join(format!("{name}.wasm"));
        std::fs::write(&path, wasm).expect("writing a module");
        println!("{}", path.display());
    }
}
