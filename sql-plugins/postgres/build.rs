//! Keeps pgrx's schema section (`.pgrxsc`) in the extension library without changing the flags
//! of any other crate. cargo-pgrx would otherwise pass `-C link-arg=-Wl,--no-gc-sections` as
//! RUSTFLAGS for the whole build, which makes every dependency (wasmtime, cranelift) build a
//! second time next to the workspace's build; `test.sh` turns that off with
//! `CARGO_PGRX_DISABLE_GC_SECTIONS_WORKAROUND=1`.
//!
//! On x86_64 Linux the linker keeps the section by itself (`#[used]` statics are marked
//! `SHF_GNU_RETAIN`; checked here: the generated SQL is the same statements with and without the
//! flag), so the library is linked with dead code removed: 10 MB less code and a third fewer
//! relocations for every backend that loads it (docs/eval-postgres.md, measured with
//! bench/postgres/first-call.sh: `LOAD 'scorekit'` 1.8–1.9 → 1.45 ms). Where the retention is known to break (cargo-pgrx names non-LTO
//! aarch64 Linux builds) the section is kept with `--no-gc-sections`. If it ever breaks here, it
//! breaks loudly: `cargo pgrx schema` stops with "no embedded pgrx schema section found".

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if family == "unix" && os != "macos" && !(os == "linux" && arch == "x86_64") {
        println!("cargo:rustc-link-arg-cdylib=-Wl,--no-gc-sections");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
