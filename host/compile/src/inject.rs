//! Placing a payload inside the prebuilt guest.
//!
//! The module's sections are copied as they are, except: the memory's minimum grows to hold the
//! payload past the guest's own initial memory, the payload becomes one more active data segment
//! there, the guest's location static is patched with the payload's address and length, the
//! guest's custom sections (names, producers) are dropped, and the `scorekit.schema` section is
//! appended. See `docs/abi.md`.

use scorekit_abi::payload::LOCATION_MAGIC;
use wasm_encoder::{ConstExpr, CustomSection, DataSection, MemorySection, MemoryType, RawSection};
use wasmparser::{DataKind, Operator, Parser, Payload};

use crate::CompileError;

const PAGE: u64 = 65536;

fn bad(msg: impl std::fmt::Display) -> CompileError {
    CompileError::Guest(msg.to_string())
}

/// Injects `payload` and the description `json` into `guest`.
pub(crate) fn inject(guest: &[u8], payload: &[u8], json: &[u8]) -> Result<Vec<u8>, CompileError> {
    // First pass: where the payload goes (just past the guest's initial memory).
    let mut initial_pages = None;
    for p in Parser::new(0).parse_all(guest) {
        if let Payload::MemorySection(r) = p.map_err(bad)? {
            let mems: Vec<_> = r.into_iter().collect::<Result<_, _>>().map_err(bad)?;
            if mems.len() != 1 || mems[0].memory64 {
                return Err(bad("expected exactly one 32-bit memory"));
            }
            initial_pages = Some(mems[0]);
        }
    }
    let mem = initial_pages.ok_or_else(|| bad("no memory section"))?;
    let addr = mem.initial * PAGE;
    let end = addr + payload.len() as u64;
    if end > u32::MAX as u64 {
        return Err(CompileError::TooLarge { bytes: payload.len() });
    }
    let new_pages = end.div_ceil(PAGE);
    if mem.maximum.is_some_and(|m| m < new_pages) {
        return Err(bad("memory maximum too small for the model"));
    }

    let mut module = wasm_encoder::Module::new();
    let mut patched = 0;
    for p in Parser::new(0).parse_all(guest) {
        let p = p.map_err(bad)?;
        match &p {
            Payload::Version { .. } | Payload::End(_) | Payload::CustomSection(_) => continue,
            Payload::MemorySection(_) => {
                let mut s = MemorySection::new();
                s.memory(MemoryType {
                    minimum: new_pages,
                    maximum: mem.maximum,
                    memory64: false,
                    shared: mem.shared,
                    page_size_log2: mem.page_size_log2,
                });
                module.section(&s);
            }
            Payload::DataCountSection { count, .. } => {
                module.section(&wasm_encoder::DataCountSection { count: count + 1 });
            }
            Payload::DataSection(r) => {
                let mut s = DataSection::new();
                for d in r.clone() {
                    let d = d.map_err(bad)?;
                    let mut data = d.data.to_vec();
                    let hits = find_all(&data, &LOCATION_MAGIC);
                    for at in &hits {
                        let slot = at + 8;
                        if slot + 8 > data.len() {
                            return Err(bad("location static cut by a segment boundary"));
                        }
                        data[slot..slot + 4].copy_from_slice(&(addr as u32).to_le_bytes());
                        data[slot + 4..slot + 8].copy_from_slice(&(payload.len() as u32).to_le_bytes());
                    }
                    patched += hits.len();
                    match d.kind {
                        DataKind::Passive => {
                            s.passive(data);
                        }
                        DataKind::Active { memory_index, offset_expr } => {
                            let mut ops = offset_expr.get_operators_reader();
                            let offset = match ops.read().map_err(bad)? {
                                Operator::I32Const { value } => value,
                                _ => return Err(bad("data segment offset is not an i32.const")),
                            };
                            s.active(memory_index, &ConstExpr::i32_const(offset), data);
                        }
                    }
                }
                s.active(0, &ConstExpr::i32_const(addr as u32 as i32), payload.iter().copied());
                module.section(&s);
            }
            other => {
                if let Some((id, range)) = other.as_section() {
                    module.section(&RawSection { id, data: &guest[range] });
                }
            }
        }
    }
    if patched != 1 {
        return Err(bad(format!("expected one location static, found {patched}")));
    }
    module.section(&CustomSection { name: scorekit_abi::SCHEMA_SECTION.into(), data: json.into() });
    Ok(module.finish())
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect()
}
