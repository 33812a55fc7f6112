//! Placing a payload (and a GBT model's tree code) inside the prebuilt guest.
//!
//! The module's sections are copied as they are, except: the memory's minimum grows to hold the
//! payload past the guest's own initial memory, the payload becomes one more active data segment
//! there, the guest's location static is patched with the payload's address and length, the
//! guest's custom sections (names, producers) are dropped, and the `scorekit.schema` section is
//! appended. For a GBT model whose guest has a tree-code slot, the slot's placeholder function
//! gets the trees as code for its body (`trees.rs`), further functions of the same type are
//! appended when the model needs several, and the bit sets of splits on features of many levels
//! go in one more data segment after the payload. See `docs/abi.md`.

use scorekit_abi::payload::{LOCATION_MAGIC, TREE_CODE_ABSENT, TREE_CODE_MAGIC};
use scorekit_gbt::GbtModel;
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, DataSection, FunctionSection, MemorySection, MemoryType,
    RawSection,
};
use wasmparser::{
    CompositeInnerType, DataKind, ElementItems, ElementKind, FunctionBody, MemoryType as ParsedMemory,
    Operator, Parser, Payload, ValType,
};

use crate::CompileError;
use crate::trees::{self, TreeCode};

const PAGE: u64 = 65536;

fn bad(msg: impl std::fmt::Display) -> CompileError {
    CompileError::Guest(msg.to_string())
}

/// What the first pass learns about the guest.
struct Guest<'a> {
    memory: ParsedMemory,
    /// Type index of each defined function (the guest imports nothing).
    function_types: Vec<u32>,
    /// The placeholder of the tree-code slot: its function index, if the guest has a slot.
    placeholder: Option<u32>,
    bodies: Vec<FunctionBody<'a>>,
}

impl<'a> Guest<'a> {
    fn read(guest: &'a [u8]) -> Result<Self, CompileError> {
        let mut memory = None;
        let mut function_types = Vec::new();
        let mut func_types_by_index: Vec<Option<(Vec<ValType>, Vec<ValType>)>> = Vec::new();
        let mut slot_table_index = None;
        let mut table_entries: Vec<(u32, Vec<u32>)> = Vec::new();
        let mut bodies = Vec::new();
        for p in Parser::new(0).parse_all(guest) {
            match p.map_err(bad)? {
                Payload::MemorySection(r) => {
                    let mems: Vec<_> = r.into_iter().collect::<Result<_, _>>().map_err(bad)?;
                    if mems.len() != 1 || mems[0].memory64 {
                        return Err(bad("expected exactly one 32-bit memory"));
                    }
                    memory = Some(mems[0]);
                }
                Payload::TypeSection(r) => {
                    for group in r {
                        for ty in group.map_err(bad)?.types() {
                            func_types_by_index.push(match &ty.composite_type.inner {
                                CompositeInnerType::Func(f) => {
                                    Some((f.params().to_vec(), f.results().to_vec()))
                                }
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(r) if r.count() > 0 => return Err(bad("the guest imports something")),
                Payload::FunctionSection(r) => {
                    function_types = r.into_iter().collect::<Result<_, _>>().map_err(bad)?;
                }
                Payload::ElementSection(r) => {
                    for e in r {
                        let e = e.map_err(bad)?;
                        let (
                            ElementKind::Active { table_index: None | Some(0), offset_expr },
                            ElementItems::Functions(items),
                        ) = (e.kind, e.items)
                        else {
                            continue;
                        };
                        let Ok(Operator::I32Const { value }) = offset_expr.get_operators_reader().read()
                        else {
                            continue;
                        };
                        let items = items.into_iter().collect::<Result<_, _>>().map_err(bad)?;
                        table_entries.push((value as u32, items));
                    }
                }
                Payload::DataSection(r) => {
                    for d in r {
                        let d = d.map_err(bad)?;
                        for at in find_all(d.data, &TREE_CODE_MAGIC) {
                            let slot =
                                d.data.get(at + 8..at + 12).ok_or_else(|| bad("tree-code slot cut short"))?;
                            if slot_table_index
                                .replace(u32::from_le_bytes(slot.try_into().expect("4 bytes")))
                                .is_some()
                            {
                                return Err(bad("more than one tree-code slot"));
                            }
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => bodies.push(body),
                _ => {}
            }
        }
        let memory = memory.ok_or_else(|| bad("no memory section"))?;
        let placeholder = match slot_table_index {
            None => None,
            Some(index) => {
                let function = table_entries
                    .iter()
                    .find_map(|(offset, items)| items.get(index.checked_sub(*offset)? as usize))
                    .copied()
                    .ok_or_else(|| {
                        bad(format!("tree-code slot names table entry {index}, which is not there"))
                    })?;
                let ty =
                    function_types.get(function as usize).and_then(|&t| func_types_by_index.get(t as usize));
                let expected = (vec![ValType::I32; 3], vec![ValType::I32]);
                if ty.and_then(Option::as_ref) != Some(&expected) {
                    return Err(bad("the tree-code placeholder is not (i32, i32, i32) -> i32"));
                }
                let body = bodies
                    .get(function as usize)
                    .ok_or_else(|| bad("no body for the tree-code placeholder"))?;
                if !is_placeholder(body) {
                    return Err(bad("the tree-code slot does not name the placeholder function"));
                }
                Some(function)
            }
        };
        Ok(Guest { memory, function_types, placeholder, bodies })
    }
}

/// Whether `body` is exactly the guest's placeholder: no locals, `i32.const TREE_CODE_ABSENT`.
fn is_placeholder(body: &FunctionBody<'_>) -> bool {
    let no_locals = body.get_locals_reader().is_ok_and(|l| l.get_count() == 0);
    let ops: Result<Vec<_>, _> = body.get_operators_reader().and_then(|r| r.into_iter().collect());
    no_locals && matches!(ops.as_deref(), Ok([Operator::I32Const { value: TREE_CODE_ABSENT }, Operator::End]))
}

/// Injects `payload` and the description `json` into `guest`, with `model`'s trees as code when
/// it is a GBT model and the guest has a tree-code slot.
pub(crate) fn inject(
    guest: &[u8],
    payload: &[u8],
    json: &[u8],
    model: Option<&GbtModel>,
) -> Result<Vec<u8>, CompileError> {
    let info = Guest::read(guest)?;
    let mem = info.memory;
    // The payload goes just past the guest's initial memory, the tree code's tables after it.
    let addr = mem.initial * PAGE;
    let payload_end = addr + payload.len() as u64;
    let tables_at = payload_end.next_multiple_of(8);
    if tables_at > u32::MAX as u64 {
        return Err(CompileError::TooLarge { bytes: payload.len() });
    }
    let first_chunk = info.function_types.len() as u32;
    let code = match (info.placeholder, model) {
        (Some(placeholder), Some(m)) => {
            trees::generate(m, first_chunk, tables_at as u32).map(|c| (placeholder, c))
        }
        _ => None,
    };
    let end = match &code {
        Some((_, c)) if !c.tables.is_empty() => tables_at + c.tables.len() as u64,
        _ => payload_end,
    };
    if end > u32::MAX as u64 {
        return Err(CompileError::TooLarge { bytes: payload.len() });
    }
    let new_pages = end.div_ceil(PAGE);
    if mem.maximum.is_some_and(|m| m < new_pages) {
        return Err(bad("memory maximum too small for the model"));
    }
    let extra_segments = match &code {
        Some((_, c)) if !c.tables.is_empty() => 2,
        _ => 1,
    };

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
            Payload::FunctionSection(_) if code.as_ref().is_some_and(|(_, c)| !c.chunks.is_empty()) => {
                let (placeholder, c) = code.as_ref().expect("tree code");
                let ty = info.function_types[*placeholder as usize];
                let mut s = FunctionSection::new();
                for &t in info.function_types.iter().chain(std::iter::repeat_n(&ty, c.chunks.len())) {
                    s.function(t);
                }
                module.section(&s);
            }
            Payload::CodeSectionStart { .. } if code.is_some() => {
                let (placeholder, c) = code.as_ref().expect("tree code");
                module.section(&code_section(guest, &info.bodies, *placeholder, c));
            }
            Payload::DataCountSection { count, .. } => {
                module.section(&wasm_encoder::DataCountSection { count: count + extra_segments });
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
                if let Some((_, c)) = code.as_ref().filter(|(_, c)| !c.tables.is_empty()) {
                    s.active(0, &ConstExpr::i32_const(tables_at as u32 as i32), c.tables.iter().copied());
                }
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

/// The guest's code with the placeholder's body replaced by the tree code's entry, and the
/// tree code's further functions appended.
fn code_section(guest: &[u8], bodies: &[FunctionBody<'_>], placeholder: u32, code: &TreeCode) -> CodeSection {
    let mut s = CodeSection::new();
    for (i, body) in bodies.iter().enumerate() {
        if i as u32 == placeholder {
            s.function(&code.entry);
        } else {
            s.raw(&guest[body.range()]);
        }
    }
    for f in &code.chunks {
        s.function(f);
    }
    s
}

/// Whether `guest` exports a function named `name` (an older guest lacks the exports of later
/// ABI minor versions, and its modules must not claim them).
pub(crate) fn exports_function(guest: &[u8], name: &str) -> Result<bool, CompileError> {
    for p in Parser::new(0).parse_all(guest) {
        if let Payload::ExportSection(r) = p.map_err(bad)? {
            for e in r {
                let e = e.map_err(bad)?;
                if e.name == name && e.kind == wasmparser::ExternalKind::Func {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect()
}
