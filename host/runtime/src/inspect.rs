//! Reading a module without running it: its SHA-256 identity, its description (custom section
//! `scorekit.schema`) and the structural checks every load performs (valid Wasm, imports
//! nothing).

use scorekit_abi::Description;
use scorekit_core::Schema;
use sha2::{Digest, Sha256};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

use crate::RuntimeError;

/// What a host needs to know about a module before scoring with it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleInfo {
    /// SHA-256 of the module file: the model's identity.
    pub sha256: [u8; 32],
    /// Size of the module file in bytes.
    pub size: usize,
    /// The module's description.
    pub description: Description,
}

impl ModuleInfo {
    /// The SHA-256 in lowercase hex.
    pub fn sha256_hex(&self) -> String {
        sha256_hex(&self.sha256)
    }

    /// The model's schema.
    pub fn schema(&self) -> &Schema {
        &self.description.schema
    }
}

/// Lowercase hex of a digest.
pub fn sha256_hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Validates `bytes` as a scorekit module and reads its description, without compiling or
/// instantiating it.
///
/// # Errors
/// [`RuntimeError::InvalidModule`] (not Wasm, truncated, invalid, no or bad description),
/// [`RuntimeError::Imports`] (it imports anything), [`RuntimeError::AbiMismatch`] (description
/// names another ABI).
pub fn inspect(bytes: &[u8]) -> Result<ModuleInfo, RuntimeError> {
    check_magic(bytes)?;
    let mut validator = Validator::new_with_features(WasmFeatures::default());
    validator.validate_all(bytes).map_err(|e| RuntimeError::InvalidModule(e.to_string()))?;
    describe(bytes, sha256(bytes))
}

fn check_magic(bytes: &[u8]) -> Result<(), RuntimeError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(RuntimeError::InvalidModule("not a WebAssembly module (bad magic number)".into()));
    }
    Ok(())
}

/// [`inspect`] without validating the code: for a load, where compiling validates (and a disk
/// cache hit means these very bytes, by SHA-256, were validated and compiled before). Saves
/// a couple of milliseconds of a cold start.
pub(crate) fn describe(bytes: &[u8], sha256: [u8; 32]) -> Result<ModuleInfo, RuntimeError> {
    check_magic(bytes)?;
    let mut description = None;
    let mut section_json: &[u8] = &[];
    let mut model_payload: Option<&[u8]> = None;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| RuntimeError::InvalidModule(e.to_string()))? {
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data.map_err(|e| RuntimeError::InvalidModule(e.to_string()))?;
                    if data.data.starts_with(&scorekit_abi::payload::PAYLOAD_MAGIC) {
                        model_payload = Some(data.data);
                    }
                }
            }
            Payload::ImportSection(reader) => {
                if let Some(import) = reader.into_imports().next() {
                    let import = import.map_err(|e| RuntimeError::InvalidModule(e.to_string()))?;
                    let what = if import.module.starts_with("wasi") { "WASI function" } else { "host item" };
                    return Err(RuntimeError::Imports(format!(
                        "{what} '{}::{}'",
                        import.module, import.name
                    )));
                }
            }
            Payload::CustomSection(c) if c.name() == scorekit_abi::SCHEMA_SECTION => {
                section_json = c.data();
                let d: Description = serde_json::from_slice(c.data()).map_err(|e| {
                    RuntimeError::InvalidModule(format!("bad {} section: {e}", scorekit_abi::SCHEMA_SECTION))
                })?;
                description = Some(d);
            }
            _ => {}
        }
    }
    let description = description.ok_or_else(|| {
        RuntimeError::InvalidModule(format!(
            "no '{}' custom section: not a scorekit model module",
            scorekit_abi::SCHEMA_SECTION
        ))
    })?;
    if description.abi != scorekit_abi::ABI_VERSION {
        return Err(RuntimeError::AbiMismatch {
            found: description.abi,
            expected: scorekit_abi::ABI_VERSION,
        });
    }
    check_payload(&description, section_json, model_payload)?;
    Ok(ModuleInfo { sha256, size: bytes.len(), description })
}

/// A module whose description names its artifact (`artifact_sha256`, 64 hex digits — every
/// compiled module) must carry that very artifact, and the description the guest answers with
/// must be the one the custom section shows: a flipped bit in the model, or a description edited
/// after compiling, is refused at load instead of scoring silently differently.
fn check_payload(d: &Description, section_json: &[u8], payload: Option<&[u8]>) -> Result<(), RuntimeError> {
    let names_artifact =
        d.artifact_sha256.len() == 64 && d.artifact_sha256.bytes().all(|b| b.is_ascii_hexdigit());
    if !names_artifact {
        return Ok(());
    }
    let payload = payload.ok_or_else(|| {
        RuntimeError::InvalidModule(
            "the description names an artifact but the module holds no model payload".into(),
        )
    })?;
    let (json, artifact) = scorekit_abi::payload::decode(payload)
        .map_err(|e| RuntimeError::InvalidModule(format!("model payload: {e}")))?;
    let actual = sha256_hex(&sha256(artifact));
    if !actual.eq_ignore_ascii_case(&d.artifact_sha256) {
        return Err(RuntimeError::InvalidModule(format!(
            "the model payload does not match its recorded SHA-256 (recorded {}, found {actual}): the module is corrupt",
            d.artifact_sha256
        )));
    }
    if json != section_json {
        return Err(RuntimeError::InvalidModule(
            "the module's description section differs from the description compiled with its model".into(),
        ));
    }
    Ok(())
}
