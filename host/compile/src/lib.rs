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

use scorekit_abi::{Description, payload};
use scorekit_artifact::{Artifact, Family};

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

/// Compiles `artifact` into a module with the embedded guest of its family.
///
/// # Errors
/// As [`compile_with_guest`].
pub fn compile(artifact: &Artifact) -> Result<Vec<u8>, CompileError> {
    compile_with_guest(guest_wasm(artifact.schema.family), artifact)
}

/// Compiles `artifact` into a module with the given guest build.
///
/// # Errors
/// [`CompileError::Guest`] if `guest` is not a scorekit guest, [`CompileError::TooLarge`] if the
/// model does not fit in 4 GiB.
pub fn compile_with_guest(guest: &[u8], artifact: &Artifact) -> Result<Vec<u8>, CompileError> {
    let json = serde_json::to_vec(&description(artifact)).map_err(|e| CompileError::Encode(e.to_string()))?;
    let payload =
        payload::encode(&json, &artifact.to_bytes()).map_err(|e| CompileError::Encode(e.to_string()))?;
    inject::inject(guest, &payload, &json)
}
