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
    describe_with_section(bytes, sha256).map(|(info, _)| info)
}

/// [`describe`], with the module's schema section as it carries it (what a compile-cache entry
/// keeps, so that a load from the entry reads the description by [`read_description`] too).
pub(crate) fn describe_with_section(
    bytes: &[u8],
    sha256: [u8; 32],
) -> Result<(ModuleInfo, &[u8]), RuntimeError> {
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
                description = Some(parse_description(c.data())?);
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
    check_abi(&description)?;
    check_payload(&description, section_json, model_payload)?;
    Ok((ModuleInfo { sha256, size: bytes.len(), description }, section_json))
}

/// The description in a module's schema section (its JSON), as every load reads it.
pub(crate) fn read_description(section_json: &[u8]) -> Result<Description, RuntimeError> {
    let description = parse_description(section_json)?;
    check_abi(&description)?;
    Ok(description)
}

fn parse_description(section_json: &[u8]) -> Result<Description, RuntimeError> {
    serde_json::from_slice(section_json).map_err(|e| {
        RuntimeError::InvalidModule(format!("bad {} section: {e}", scorekit_abi::SCHEMA_SECTION))
    })
}

fn check_abi(description: &Description) -> Result<(), RuntimeError> {
    if description.abi != scorekit_abi::ABI_VERSION {
        return Err(RuntimeError::AbiMismatch {
            found: description.abi,
            expected: scorekit_abi::ABI_VERSION,
        });
    }
    Ok(())
}

/// The load-time integrity check (`scorekit_abi::payload::verify`, shared with the browser host).
fn check_payload(d: &Description, section_json: &[u8], payload: Option<&[u8]>) -> Result<(), RuntimeError> {
    scorekit_abi::payload::verify(d, section_json, payload, |b| sha256_hex(&sha256(b)))
        .map_err(RuntimeError::InvalidModule)
}
