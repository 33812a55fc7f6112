//! Builds the Wasm guest (`guest/`) for `wasm32-unknown-unknown` and leaves it in `OUT_DIR` for
//! `include_bytes!`, so `host compile` needs no toolchain later. `SCOREKIT_GUEST_WASM=path`
//! uses a prebuilt guest instead (for builds without the wasm32 target).

use std::path::{Path, PathBuf};
use std::process::Command;

const MISSING_TARGET: &str = "the wasm32-unknown-unknown target is not installed; run \
     `rustup target add wasm32-unknown-unknown` (or set SCOREKIT_GUEST_WASM to a prebuilt guest)";

fn main() {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let dest = out_dir.join("scorekit_guest.wasm");
    println!("cargo:rerun-if-env-changed=SCOREKIT_GUEST_WASM");
    if let Some(prebuilt) = std::env::var_os("SCOREKIT_GUEST_WASM") {
        let prebuilt = PathBuf::from(prebuilt);
        println!("cargo:rerun-if-changed={}", prebuilt.display());
        std::fs::copy(&prebuilt, &dest).unwrap_or_else(|e| panic!("copying {}: {e}", prebuilt.display()));
        return;
    }

    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..");
    for p in ["guest/src", "guest/Cargo.toml", "guest/Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    for krate in ["core", "gbt", "rcf", "forecast", "artifact", "abi"] {
        println!("cargo:rerun-if-changed={}", root.join("models").join(krate).join("src").display());
        println!("cargo:rerun-if-changed={}", root.join("models").join(krate).join("Cargo.toml").display());
    }

    // Share one guest build between profiles: put it next to the outer target dir (the nearest
    // ancestor of OUT_DIR holding cargo's CACHEDIR.TAG), falling back to OUT_DIR.
    let target_dir = out_dir
        .ancestors()
        .find(|p| p.join("CACHEDIR.TAG").exists())
        .map_or_else(|| out_dir.join("guest-target"), |t| t.join("guest"));

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--target", "wasm32-unknown-unknown", "--manifest-path"])
        .arg(root.join("guest/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags and wrappers (coverage, clippy, cross targets) must not leak into
    // the guest: it has its own target and profile.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_ENCODED_RUSTFLAGS")
            || key.starts_with("RUSTFLAGS")
            || key.starts_with("CARGO_BUILD_")
            || key.starts_with("CARGO_TARGET_")
            || key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_FEATURE_")
            || key.starts_with("CARGO_CFG_")
            || key.starts_with("CARGO_ENCODED_")
            || key.starts_with("CARGO_LLVM_COV")
            || matches!(
                key.as_ref(),
                "RUSTC_WORKSPACE_WRAPPER"
                    | "RUSTC_WRAPPER"
                    | "CLIPPY_ARGS"
                    | "RUSTDOCFLAGS"
                    | "TARGET"
                    | "HOST"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "OUT_DIR"
            )
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let output = cmd.output().unwrap_or_else(|e| panic!("running cargo for the guest: {e}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("target may not be installed")
            || stderr.contains("can't find crate for `core`")
            || stderr.contains("can't find crate for `std`")
        {
            panic!("{MISSING_TARGET}\n{stderr}");
        }
        panic!("building the Wasm guest (guest/) failed:\n{stderr}");
    }
    let built = target_dir.join("wasm32-unknown-unknown/release/scorekit_guest.wasm");
    copy_if_changed(&built, &dest);
}

fn copy_if_changed(from: &Path, to: &Path) {
    let bytes = std::fs::read(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display()));
    if std::fs::read(to).ok().as_deref() != Some(&bytes[..]) {
        std::fs::write(to, &bytes).unwrap_or_else(|e| panic!("writing {}: {e}", to.display()));
    }
}
