//! `scorekit-compile`: turns a trained [`Artifact`] into one self-contained model module by
//! injecting it into a prebuilt guest (`guest/`). No toolchain is involved at compile time, and
//! the output depends only on the guest and the artifact, so the same artifact always gives the
//! same bytes (the module's SHA-256 is the model's identity).
//!
//! Main design choice: compiling is separate from running. Hosts that only run modules
//! (`scorekit-runtime`, the server, the SQL plugins, the browser) never link this crate, the model
//! crates or a guest. There is one guest per model family (a module carries only its family's
//! code), embedded at build time from `guest/prebuilt/` (committed, so a fresh clone builds
//! without the wasm32 target) or, when the wasm32 target is installed, built from source;
//! `scripts/build-guest.sh --check` (run by the test script) fails if a committed guest is not
//! what the sources build.
#![deny(missing_docs)]

mod inject;
mod trees;

use scorekit_abi::{Description, payload};
use scorekit_artifact::{Artifact, Family, GbtModel, Model};

/// The GBT guest (no model in it) embedded in this build.
pub static GUEST_GBT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/scorekit_guest_gbt.wasm"));
/// The RCF guest.
pub static GUEST_RCF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/scorekit_guest_rcf.wasm"));
/// The forecaster guest.
pub static GUEST_FORECAST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/scorekit_guest_forecast.wasm"));

/// The guest that modules of `family` are built from: each carries only its family's code.
pub fn guest_wasm(family: Family) -> &'static [u8] {
    match family {
        Family::Gbt => GUEST_GBT,
        Family::Rcf => GUEST_RCF,
        Family::Forecast => GUEST_FORECAST,
    }
}

/// Why an artifact could not be compiled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// The guest is not a scorekit guest (no single memory, no unique location static, …).
    #[error("guest module: {0}")]
    Guest(String),
    /// The model does not fit in a 32-bit module.
    #[error("model too large for a 32-bit module ({bytes} bytes of payload)")]
    TooLarge {
        /// Payload size.
        bytes: usize,
    },
    /// The description or payload could not be encoded.
    #[error("encoding the module description: {0}")]
    Encode(String),
}

/// The description written to the module's custom section (and returned by op SCHEMA): every
/// fact a host needs before calling the module.
pub fn description(artifact: &Artifact) -> Description {
    artifact.description()
}

/// How to compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompileOptions {
    /// GBT models: emit the trees as WebAssembly code (`host compile`'s default), which scores
    /// several times faster than the guest's own scorer walking the model's data, for a larger
    /// module (churn, 119 trees: +88 KB). Off: the guest's own scorer, the smaller module.
    /// Scores are the same bit for bit either way. Other families ignore it.
    pub tree_code: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions { tree_code: true }
    }
}

impl CompileOptions {
    /// The options with [`CompileOptions::tree_code`] set to `on`.
    pub fn tree_code(self, on: bool) -> Self {
        CompileOptions { tree_code: on }
    }
}

/// Compiles `artifact` into a module with the embedded guest of its family and the default
/// options.
///
/// # Errors
/// As [`compile_with_guest`].
pub fn compile(artifact: &Artifact) -> Result<Vec<u8>, CompileError> {
    compile_with(guest_wasm(artifact.schema.family), artifact, CompileOptions::default())
}

/// Compiles `artifact` into a module with the given guest build and the default options.
///
/// # Errors
/// As [`compile_with`].
pub fn compile_with_guest(guest: &[u8], artifact: &Artifact) -> Result<Vec<u8>, CompileError> {
    compile_with(guest, artifact, CompileOptions::default())
}

/// Compiles `artifact` into a module with the given guest build and options. The output depends
/// only on the three: the same inputs give the same bytes.
///
/// # Errors
/// [`CompileError::Guest`] if `guest` is not a scorekit guest, [`CompileError::TooLarge`] if the
/// model does not fit in 4 GiB.
pub fn compile_with(
    guest: &[u8],
    artifact: &Artifact,
    options: CompileOptions,
) -> Result<Vec<u8>, CompileError> {
    let mut description = description(artifact);
    if !inject::exports_function(guest, scorekit_abi::exports::CALL_SLOT)? {
        // A guest built before ABI minor 2: its modules say what it can do.
        description.abi_minor = description.abi_minor.min(1);
    }
    let json = serde_json::to_vec(&description).map_err(|e| CompileError::Encode(e.to_string()))?;
    let payload =
        payload::encode(&json, &artifact.to_bytes()).map_err(|e| CompileError::Encode(e.to_string()))?;
    let gbt = match &artifact.model {
        Model::Gbt(m) if options.tree_code => Some(m),
        _ => None,
    };
    inject::inject(guest, &payload, &json, gbt)
}

/// A module holding only `model`'s trees as the code `compile` puts in a GBT module, for tests
/// and inspection: it exports `memory`, the function `margins(rows: i32, n_rows: i32, out: i32)
/// -> i32` (writes each row's margin, the base score plus every tree's leaf in tree order, and
/// returns 0) and the global `free` (the first memory address it does not use; the memory can
/// grow). `None` when the model's code would be too large for Wasm engines (then `compile`
/// leaves the guest's own scorer in charge).
pub fn tree_code_module(model: &GbtModel) -> Option<Vec<u8>> {
    trees::standalone(model)
}
