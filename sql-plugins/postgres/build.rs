//! Keeps pgrx's schema section in the extension library without changing the flags of any other
//! crate. cargo-pgrx would otherwise pass `-C link-arg=-Wl,--no-gc-sections` as RUSTFLAGS for the
//! whole build, which makes every dependency (wasmtime, cranelift) build a second time next to
//! the workspace's build; `test.sh` turns that off with
//! `CARGO_PGRX_DISABLE_GC_SECTIONS_WORKAROUND=1` and this script links the one library that
//! needs it with the same argument.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    if family == "unix" && os != "macos" {
        println!("cargo:rustc-link-arg-cdylib=-Wl,--no-gc-sections");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
