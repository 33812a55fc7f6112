//! Puts the Wasm guests (`guest/`, one per model family: a module carries only its family's code)
//! in `OUT_DIR` for `include_bytes!`, so `host compile` needs no toolchain later.
//!
//! Where the guests come from (`SCOREKIT_GUEST`):
//! * `prebuilt`: the committed `guest/prebuilt/scorekit_guest_<family>.wasm` (what a fresh clone
//!   without the wasm32 target uses);
//! * `source`: built from `guest/` for `wasm32-unknown-unknown`, `--features <family>`, then
//!   optimised by `wasm-opt` (fails clearly without the target or `wasm-opt`);
//! * unset: `source` when the wasm32 target and binaryen's `wasm-opt` are installed, else
//!   `prebuilt` (with a warning when only `wasm-opt` is missing: edits to the guest's sources
//!   would not reach the embedded guests).
//!
//! A source build is cargo's build of the guest, then binaryen's `wasm-opt -O3` without its
//! inlining pass (the npm package `binaryen`, pinned by `web/package-lock.json`:
//! `web/node_modules/.bin/wasm-opt`, or `SCOREKIT_WASM_OPT`), which takes 11–13 % off every guest
//! and keeps its scoring speed (docs/eval-wasm.md). It is reproducible (built through one fixed
//! path, paths remapped, one pinned optimiser), so it equals
//! the committed files unless the guest's sources changed; then a warning says to run
//! `scripts/build-guest.sh`, which refreshes the committed files (and `--check` fails the test
//! script when one is stale).

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

/// The model families, each with its own guest build (`guest/` features of the same names).
const FAMILIES: [&str; 3] = ["gbt", "rcf", "forecast"];

fn main() {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..").canonicalize().expect("repository root");
    let prebuilt = |family: &str| root.join(format!("guest/prebuilt/scorekit_guest_{family}.wasm"));
    let dest = |family: &str| out_dir.join(format!("scorekit_guest_{family}.wasm"));
    println!("cargo:rerun-if-env-changed=SCOREKIT_GUEST");
    for family in FAMILIES {
        println!("cargo:rerun-if-changed={}", prebuilt(family).display());
    }

    println!("cargo:rerun-if-env-changed=SCOREKIT_WASM_OPT");
    println!("cargo:rerun-if-changed={}", root.join("web/package-lock.json").display());

    let mode = std::env::var("SCOREKIT_GUEST").unwrap_or_default();
    let from_source = match mode.as_str() {
        "prebuilt" => false,
        "source" => {
            if let Err(e) = wasm_opt(&root) {
                panic!("SCOREKIT_GUEST=source: {e}");
            }
            true
        }
        "" => {
            target_installed()
                && wasm_opt(&root)
                    .inspect_err(|e| {
                        // Edits to guest/ or models/ would not reach the embedded guests.
                        println!("cargo:warning=embedding the committed guests (guest/prebuilt/): {e}");
                    })
                    .is_ok()
        }
        other => panic!("SCOREKIT_GUEST must be 'prebuilt' or 'source', not '{other}'"),
    };
    if !from_source {
        for family in FAMILIES {
            let bytes = std::fs::read(prebuilt(family)).unwrap_or_else(|e| {
                panic!("reading the committed guest {}: {e} (or install the wasm32 target and set SCOREKIT_GUEST=source)", prebuilt(family).display())
            });
            write_if_changed(&dest(family), &bytes);
        }
        return;
    }

    for p in ["guest/src", "guest/Cargo.toml", "guest/Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    for krate in ["core", "gbt", "rcf", "forecast", "artifact", "abi"] {
        println!("cargo:rerun-if-changed={}", root.join("models").join(krate).join("src").display());
        println!("cargo:rerun-if-changed={}", root.join("models").join(krate).join("Cargo.toml").display());
    }
    let mut built_paths = String::new();
    for family in FAMILIES {
        let built = build_guest(&root, &out_dir, family);
        let bytes = std::fs::read(&built).unwrap_or_else(|e| panic!("reading {}: {e}", built.display()));
        if std::fs::read(prebuilt(family)).ok().as_deref() != Some(&bytes[..]) {
            println!(
                "cargo:warning=guest/prebuilt/scorekit_guest_{family}.wasm differs from a fresh build of guest/: run scripts/build-guest.sh and commit it"
            );
        }
        built_paths.push_str(&format!("{family} {}\n", built.display()));
        write_if_changed(&dest(family), &bytes);
    }
    // Where scripts/build-guest.sh finds the fresh builds.
    let _ = std::fs::write(out_dir.join("guest-paths.txt"), built_paths);
}

/// Whether the wasm32 standard library is installed for the compiler cargo uses.
fn target_installed() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc).args(["--print", "target-libdir", "--target", TARGET]).output();
    match out {
        Ok(o) if o.status.success() => {
            let dir = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
        }
        _ => false,
    }
}

/// Builds the guest of `family` and returns where its copy is (`<target>/families/<family>.wasm`:
/// the three builds share one target directory, so cargo's own output is overwritten by the next).
fn build_guest(root: &Path, out_dir: &Path, family: &str) -> PathBuf {
    // Share one guest build between profiles: put it in the outer target dir. OUT_DIR is
    // `<target>/<profile>/build/<package>-<hash>/out`; cargo's CACHEDIR.TAG marks `<target>` only
    // when cargo created that directory itself (not when another tool made it first), so the
    // layout decides and the tag is a fallback. OUT_DIR itself is the last resort.
    let by_layout = out_dir
        .ancestors()
        .nth(4)
        .filter(|_| out_dir.ancestors().nth(2).and_then(Path::file_name) == Some("build".as_ref()));
    let target_dir = by_layout
        .or_else(|| out_dir.ancestors().find(|p| p.join("CACHEDIR.TAG").exists()))
        .map_or_else(|| out_dir.join("guest-target"), |t| t.join("guest"));
    // Held until cargo is done: no other checkout re-points the stable root meanwhile.
    let (_lock, root) = stable_root(root);
    let root = root.as_path();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--locked",
        "--target",
        TARGET,
        "--no-default-features",
        "--features",
        family,
    ])
    .arg("--manifest-path")
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
    // Reproducible bytes wherever the clone and the cargo home are: panic locations embed paths.
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let mut flags = vec![format!("--remap-path-prefix={}=/scorekit", root.display())];
    if let Some(h) = cargo_home {
        flags.push(format!("--remap-path-prefix={}=/cargo", h.display()));
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"));
    let output = cmd.output().unwrap_or_else(|e| panic!("running cargo for the guest: {e}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        panic!(
            "building the Wasm guest (guest/) failed (SCOREKIT_GUEST=prebuilt uses the committed one; \
             scripts/build-guest.sh refreshes guest/Cargo.lock after a dependency change):\n{stderr}"
        );
    }
    let families = target_dir.join("families");
    std::fs::create_dir_all(&families).unwrap_or_else(|e| panic!("creating {}: {e}", families.display()));
    let copy = families.join(format!("{family}.wasm"));
    let wasm_opt = wasm_opt(root).unwrap_or_else(|e| panic!("{e}"));
    let output = Command::new(&wasm_opt)
        .args(WASM_OPT_PASSES)
        .args(WASM_FEATURES)
        .arg(target_dir.join(TARGET).join("release/scorekit_guest.wasm"))
        .arg("-o")
        .arg(&copy)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", wasm_opt.display()));
    if !output.status.success() {
        panic!("wasm-opt failed on the {family} guest:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    copy
}

/// The binaryen release whose `wasm-opt` the committed guests were optimised with
/// (`web/package-lock.json` pins the npm package `binaryen` to it).
const WASM_OPT_VERSION: &str = "wasm-opt version 132";

/// `-O3` without binaryen's inlining: with it the GBT guest came out 2 KB smaller but scored 7 %
/// slower (callgrind: 27,925 against 26,067 instructions per row in a batch); without it,
/// 26,167 and 32,469 one row per call (32,549 unoptimised), 11 % fewer bytes (docs/eval-wasm.md).
const WASM_OPT_PASSES: [&str; 2] = ["-O3", "--skip-pass=inlining-optimizing"];

/// The Wasm features the guest is compiled with (Rust's wasm32 defaults), which `wasm-opt` must
/// accept; it adds none.
const WASM_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// binaryen's `wasm-opt` of [`WASM_OPT_VERSION`]: `SCOREKIT_WASM_OPT`, else the npm package in
/// `web/node_modules` (`scripts/build-guest.sh` installs it).
fn wasm_opt(root: &Path) -> Result<PathBuf, String> {
    let path = std::env::var_os("SCOREKIT_WASM_OPT")
        .map_or_else(|| root.join("web/node_modules/.bin/wasm-opt"), PathBuf::from);
    let out = Command::new(&path).arg("--version").output().map_err(|e| {
        format!(
            "no wasm-opt at {} ({e}): scripts/build-guest.sh installs it (npm ci in web/)",
            path.display()
        )
    })?;
    let version = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !version.trim().starts_with(WASM_OPT_VERSION) {
        return Err(format!(
            "{} says '{}', not '{WASM_OPT_VERSION}' (the committed guests were optimised with it)",
            path.display(),
            version.trim()
        ));
    }
    Ok(path)
}

/// Where the guest is built from: [`STABLE_ROOT`], a link to this checkout, with a lock held.
///
/// Cargo identifies a path dependency outside the guest's workspace (`../models/*`) by its
/// absolute path, and that identity feeds the symbol hashes that decide the code's layout: built
/// from each checkout's own path, the same sources gave different bytes in different clones
/// (checked: /tmp/a and /tmp/b differed, 35 kB of 191 kB). Through one fixed path every clone
/// builds the same bytes. Where the link cannot be made (no /tmp, another user's link), the
/// checkout's own path is used and the build says it may differ from the committed guest.
fn stable_root(root: &Path) -> (Option<std::fs::File>, PathBuf) {
    match link_stable_root(root) {
        Ok(lock) => (Some(lock), PathBuf::from(STABLE_ROOT)),
        Err(e) => {
            println!(
                "cargo:warning=building the guest from {} ({STABLE_ROOT}: {e}): its bytes may differ from the committed guest",
                root.display()
            );
            (None, root.to_path_buf())
        }
    }
}

/// A fixed path (see [`stable_root`]); a file next to it is the lock.
const STABLE_ROOT: &str = "/tmp/scorekit-guest-root";

#[cfg(unix)]
fn link_stable_root(root: &Path) -> std::io::Result<std::fs::File> {
    let lock = std::fs::File::create(format!("{STABLE_ROOT}.lock"))?;
    lock.lock()?;
    if std::fs::read_link(STABLE_ROOT).ok().as_deref() != Some(root) {
        // Made under a temporary name and renamed over the old link: the switch is atomic.
        let tmp = format!("{STABLE_ROOT}.{}", std::process::id());
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(root, &tmp)?;
        std::fs::rename(&tmp, STABLE_ROOT)?;
    }
    Ok(lock)
}

#[cfg(not(unix))]
fn link_stable_root(_root: &Path) -> std::io::Result<std::fs::File> {
    Err(std::io::Error::other("symbolic links are made on Unix only"))
}

fn write_if_changed(to: &Path, bytes: &[u8]) {
    if std::fs::read(to).ok().as_deref() != Some(bytes) {
        std::fs::write(to, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", to.display()));
    }
}
