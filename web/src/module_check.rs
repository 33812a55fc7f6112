//! What the browser checks about a module before it scores with it, beyond what the browser's own
//! `WebAssembly` API checks (valid Wasm, no imports, exports, ABI version): the integrity check of
//! every host (`scorekit_abi::payload::verify`: the model payload is the artifact the
//! description names, the description section is the one compiled with it), so a module with a
//! flipped bit in its model is refused here too instead of scoring differently.
//!
//! The runtime finds the payload segment with `wasmparser`, far too big to ship to a page; a
//! module's top-level sections and its data segments are simple enough to walk by hand (below).

use scorekit_abi::Description;
use scorekit_abi::payload::{self, PAYLOAD_MAGIC};
pub use scorekit_host::sha256_hex;

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// An unsigned LEB128 of at most 32 bits.
    fn leb_u32(&mut self) -> Option<u32> {
        let mut result: u64 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            result |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return u32::try_from(result).ok();
            }
        }
        None
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    /// Skips a constant expression (an active segment's offset) up to its `end`.
    fn skip_const_expr(&mut self) -> Option<()> {
        loop {
            match self.byte()? {
                0x0b => return Some(()),
                // i32.const / i64.const: a signed LEB128 immediate.
                0x41 | 0x42 => while self.byte()? & 0x80 != 0 {},
                // global.get: an index.
                0x23 => {
                    self.leb_u32()?;
                }
                _ => return None,
            }
        }
    }
}

/// The data segment that starts with the payload magic, if the module has one.
///
/// # Errors
/// A message when the module's sections cannot be walked (truncated, malformed).
pub fn find_payload(module: &[u8]) -> Result<Option<&[u8]>, String> {
    let bad = || "malformed module: its sections cannot be read".to_string();
    let mut c = Cursor { bytes: module, pos: 8 };
    if module.len() < 8 || &module[..4] != b"\0asm" {
        return Err("not a WebAssembly module (bad magic number)".into());
    }
    while c.pos < module.len() {
        let id = c.byte().ok_or_else(bad)?;
        let size = c.leb_u32().ok_or_else(bad)? as usize;
        let body = c.take(size).ok_or_else(bad)?;
        if id != 11 {
            continue;
        }
        let mut d = Cursor { bytes: body, pos: 0 };
        let count = d.leb_u32().ok_or_else(bad)?;
        for _ in 0..count {
            match d.leb_u32().ok_or_else(bad)? {
                0 => d.skip_const_expr().ok_or_else(bad)?,
                1 => {}
                2 => {
                    d.leb_u32().ok_or_else(bad)?;
                    d.skip_const_expr().ok_or_else(bad)?;
                }
                _ => return Err(bad()),
            }
            let n = d.leb_u32().ok_or_else(bad)? as usize;
            let data = d.take(n).ok_or_else(bad)?;
            if data.starts_with(&PAYLOAD_MAGIC) {
                return Ok(Some(data));
            }
        }
    }
    Ok(None)
}

/// The load-time integrity check of every host (`scorekit_abi::payload::verify`) on the payload
/// segment [`find_payload`] finds.
///
/// # Errors
/// A message naming the mismatch, or why the module's sections cannot be read.
pub fn check_payload(d: &Description, section_json: &[u8], module: &[u8]) -> Result<(), String> {
    payload::verify(d, section_json, find_payload(module)?, sha256_hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with a type-free body: magic, a custom section, then a data section with an
    /// active segment (offset `i32.const 1024`) and a passive one holding `payload`.
    fn module_with(payload: &[u8]) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        let custom = b"\x04name\x01\x02";
        m.push(0);
        m.push(custom.len() as u8);
        m.extend_from_slice(custom);
        let mut data = vec![2u8];
        data.extend_from_slice(&[0, 0x41, 0x80, 0x08, 0x0b, 3, b'a', b'b', b'c']);
        data.push(1);
        let mut n = payload.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                data.push(b);
                break;
            }
            data.push(b | 0x80);
        }
        data.extend_from_slice(payload);
        m.push(11);
        let mut n = data.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                m.push(b);
                break;
            }
            m.push(b | 0x80);
        }
        m.extend_from_slice(&data);
        m
    }

    fn description(artifact_sha256: String) -> Description {
        serde_json::from_str(&format!(
            r#"{{"abi":1,"family":"gbt","format":2,"schema":{{"name":"t","family":"gbt","inputs":[],"target":null,"positive_label":null,"outputs":["y"]}},"metrics":[],"provenance":[],"artifact_sha256":"{artifact_sha256}"}}"#
        ))
        .unwrap()
    }

    #[test]
    fn finds_the_payload_segment_and_checks_it() {
        let artifact = vec![7u8; 300];
        let p = payload::encode(b"{\"d\":1}", &artifact).unwrap();
        let m = module_with(&p);
        assert_eq!(find_payload(&m).unwrap(), Some(&p[..]));
        let d = description(sha256_hex(&artifact));
        check_payload(&d, b"{\"d\":1}", &m).unwrap();
        let e = check_payload(&d, b"{\"d\":2}", &m).unwrap_err();
        assert!(e.contains("description section differs"), "{e}");
        let mut flipped = m.clone();
        let at = flipped.len() - 10;
        flipped[at] ^= 1;
        let e = check_payload(&d, b"{\"d\":1}", &flipped).unwrap_err();
        assert!(e.contains("does not match its recorded SHA-256"), "{e}");
    }

    #[test]
    fn refuses_garbage_and_a_missing_payload() {
        assert!(find_payload(b"not wasm at all").is_err());
        let m = module_with(b"other data");
        assert_eq!(find_payload(&m).unwrap(), None);
        let e = check_payload(&description("ab".repeat(32)), b"", &m).unwrap_err();
        assert!(e.contains("holds no model payload"), "{e}");
        // A description without an artifact hash (hand-made modules) is not checked.
        check_payload(&description(String::new()), b"", &m).unwrap();
        let truncated = &module_with(b"SKPAYLD1xxxx")[..20];
        assert!(find_payload(truncated).is_err());
    }
}
