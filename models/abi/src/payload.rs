//! How `host compile` places the model inside the prebuilt guest: the parts of the layout both
//! the compiler and the guest must agree on.
//!
//! The guest has a 16-byte static, [`LOCATION_MAGIC`] followed by two zero `u32`s. The compiler
//! appends the payload as a new active data segment past the guest's initial memory (the guest's
//! allocator only ever uses pages it grows itself, so nothing overwrites it), grows the initial
//! memory to cover it, and patches the two `u32`s with the payload's address and length. The guest
//! reads them with a volatile load, so the optimiser cannot fold the placeholder zeros.
//!
//! Payload: [`PAYLOAD_MAGIC`], `u32` LE length of the schema JSON, the schema JSON (what op
//! SCHEMA returns), then `Artifact::to_bytes()`.

use alloc::vec::Vec;

use crate::error::WireError;
use crate::values::{Reader, put_u32, to_u32};

/// First 8 bytes of the guest's location static; unique in the guest's data.
pub const LOCATION_MAGIC: [u8; 8] = *b"SKLOC\x01\xA5\x5A";

/// First 8 bytes of a GBT guest's tree-code slot: the magic, then the `u32` function-table index
/// of the function the guest calls for a batch's margins, `(rows: i32, n_rows: i32, out: i32) ->
/// i32`. In the guest that function is a placeholder returning [`TREE_CODE_ABSENT`]; `host
/// compile` replaces its body with the model's trees as code, which writes one margin per row
/// (base score plus each tree's leaf, in tree order) and returns 0. The guest calls through the
/// slot with a volatile load, so the optimiser cannot assume the placeholder's body.
pub const TREE_CODE_MAGIC: [u8; 8] = *b"SKTREE\x01\xA5";

/// What the placeholder tree-code function returns: no code was compiled in, the guest scores
/// with the model's own code. (Distinctive, so that no other function of the guest has the
/// placeholder's body.)
pub const TREE_CODE_ABSENT: i32 = 0x5354_5245;

/// First 8 bytes of the payload.
pub const PAYLOAD_MAGIC: [u8; 8] = *b"SKPAYLD1";

/// Builds the payload.
///
/// # Errors
/// [`WireError::TooLarge`] for a schema JSON over 4 GiB.
pub fn encode(schema_json: &[u8], artifact: &[u8]) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(12 + schema_json.len() + artifact.len());
    out.extend_from_slice(&PAYLOAD_MAGIC);
    put_u32(&mut out, to_u32(schema_json.len(), "schema JSON length")?);
    out.extend_from_slice(schema_json);
    out.extend_from_slice(artifact);
    Ok(out)
}

/// Splits a payload into (schema JSON, artifact bytes).
///
/// # Errors
/// [`WireError`] if the magic or the lengths are wrong.
pub fn decode(bytes: &[u8]) -> Result<(&[u8], &[u8]), WireError> {
    let mut r = Reader::new(bytes, "model payload");
    if r.take(8)? != PAYLOAD_MAGIC {
        return Err(WireError::Invalid("model payload has a bad magic"));
    }
    let n = r.u32()? as usize;
    let json = r.take(n)?;
    Ok((json, &bytes[r.position()..]))
}

/// The load-time integrity check of every host (the wasmtime runtime, the browser): a module
/// whose description names its artifact (`artifact_sha256`, 64 hex digits — every compiled
/// module) must carry that very artifact in `payload` (the data segment starting with
/// [`PAYLOAD_MAGIC`], found by the host's own Wasm reader), and the description section
/// (`section_json`) must be the one compiled with it: a flipped bit in the model, or a
/// description edited after compiling, is refused at load instead of scoring silently
/// differently. `sha256_hex` is the host's SHA-256 (lowercase hex).
///
/// # Errors
/// A message naming the mismatch.
pub fn verify(
    d: &crate::Description,
    section_json: &[u8],
    payload: Option<&[u8]>,
    sha256_hex: impl Fn(&[u8]) -> alloc::string::String,
) -> Result<(), alloc::string::String> {
    use alloc::format;
    let names_artifact =
        d.artifact_sha256.len() == 64 && d.artifact_sha256.bytes().all(|b| b.is_ascii_hexdigit());
    if !names_artifact {
        return Ok(());
    }
    let payload = payload.ok_or_else(|| {
        alloc::string::String::from("the description names an artifact but the module holds no model payload")
    })?;
    let (json, artifact) = decode(payload).map_err(|e| format!("model payload: {e}"))?;
    let actual = sha256_hex(artifact);
    if !actual.eq_ignore_ascii_case(&d.artifact_sha256) {
        return Err(format!(
            "the model payload does not match its recorded SHA-256 (recorded {}, found {actual}): the module is corrupt",
            d.artifact_sha256
        ));
    }
    if json != section_json {
        return Err(
            "the module's description section differs from the description compiled with its model".into()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip_and_bad_magic() {
        let p = encode(b"{}", b"SKMODEL\0rest").unwrap();
        assert_eq!(decode(&p).unwrap(), (&b"{}"[..], &b"SKMODEL\0rest"[..]));
        assert!(decode(&p[..10]).is_err());
        assert!(decode(b"XXXXXXXX\0\0\0\0").is_err());
        let mut short = p.clone();
        short.truncate(13);
        assert!(decode(&short).is_err());
    }
}
