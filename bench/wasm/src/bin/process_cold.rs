//! A new process's first model call, step by step (what a new PostgreSQL backend pays):
//! `process_cold <module.wasm> <cache dir>`; prints milliseconds per step. Run it several times:
//! the first run fills the compile cache.
use std::time::Instant;

use scorekit_runtime::{Rows, Runtime, RuntimeConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let (module, cache) = (args.next().expect("module path"), args.next().expect("cache dir"));
    let t = Instant::now();
    let bytes = std::fs::read(&module).unwrap();
    let read = t.elapsed();
    let t = Instant::now();
    let runtime = Runtime::new(RuntimeConfig::default().with_cache_dir(cache)).unwrap();
    let engine = t.elapsed();
    let t = Instant::now();
    let m = runtime.load(&bytes, None).unwrap();
    let load = t.elapsed();
    let n = m.info().schema().inputs.len();
    let t = Instant::now();
    let r = m.score(&Rows::dense(n, &vec![0.0; n]).unwrap());
    let first = t.elapsed();
    let t = Instant::now();
    let _ = m.score(&Rows::dense(n, &vec![0.0; n]).unwrap());
    let second = t.elapsed();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!(
        "read {:.2} engine {:.2} load {:.2} first_call {:.2} second_call {:.3} (ok: {})",
        ms(read),
        ms(engine),
        ms(load),
        ms(first),
        ms(second),
        r.is_ok()
    );
}
