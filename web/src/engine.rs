//! [`Scorer`] and [`StreamScorer`] over the browser's own WebAssembly engine (`js_sys::WebAssembly`):
//! the browser's counterpart of `scorekit_host::local` (wasmtime). The ABI call (docs/abi.md):
//! `scorekit_input(len)` gives the input buffer, the request is copied into `memory`,
//! `scorekit_call(op, len)` runs it, and the answer is copied out of `memory` — whose
//! `ArrayBuffer` is looked up again after every call, because a guest that grows its memory
//! detaches the old one.
//!
//! What the browser cannot do that wasmtime does: stop a running call (no deadline: a call runs to
//! its end on the page's thread) or cap memory while a call grows it. What it does instead: an
//! instance that trapped is dropped (the next call gets a fresh one), and an instance left holding
//! more than [`KEEP_BYTES`] after a call is not kept for the next one.

use std::cell::RefCell;

use js_sys::{Function, Object, Reflect, Uint8Array, WebAssembly};
use scorekit_abi::values::{RcfStep, decode_f64s, decode_rcf_steps};
use scorekit_abi::{Description, ForecastOutput, ForecastQuery, Rows, exports, op, status};
use scorekit_host::{Code, History, HostError, HostResult, ModelInfo, Scorer, StreamScorer};
use wasm_bindgen::{JsCast, JsValue};

use crate::answers::{check_count, check_forecast, in_batch, request_bytes};
use crate::module_check::{check_payload, sha256_hex};

/// An idle instance holding more linear memory than this after a call (one huge batch) is
/// dropped rather than kept (the runtime's rule: a quarter of its default 256 MiB cap).
pub const KEEP_BYTES: f64 = (64 << 20) as f64;

fn invalid(message: impl Into<String>) -> HostError {
    HostError::new(Code::InvalidModule, format!("invalid model module: {}", message.into()))
}

/// A JavaScript exception thrown by a call into the module: a trap (`WebAssembly.RuntimeError`),
/// or the engine refusing to grow memory.
fn trapped(e: JsValue) -> HostError {
    let message =
        e.dyn_ref::<js_sys::Error>().map_or_else(|| format!("{e:?}"), |err| String::from(err.message()));
    HostError::new(Code::ModuleFailed, format!("model module trapped: {message}"))
}

/// One instance: its memory and the ABI's functions.
struct Instance {
    memory: WebAssembly::Memory,
    input: Function,
    call: Function,
    out_ptr: Function,
    out_len: Function,
}

fn export(exports: &Object, name: &str) -> HostResult<JsValue> {
    Reflect::get(exports, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined())
        .ok_or_else(|| invalid(format!("missing export '{name}'")))
}

fn function(exports: &Object, name: &str) -> HostResult<Function> {
    export(exports, name)?
        .dyn_into::<Function>()
        .map_err(|_| invalid(format!("export '{name}' is not a function")))
}

fn as_i32(v: JsValue) -> i32 {
    v.as_f64().map_or(0, |x| x as i32)
}

impl Instance {
    fn new(module: &WebAssembly::Module) -> HostResult<Instance> {
        let instance = WebAssembly::Instance::new(module, &Object::new()).map_err(trapped)?;
        let exports = instance.exports();
        let memory = export(&exports, exports::MEMORY)?
            .dyn_into::<WebAssembly::Memory>()
            .map_err(|_| invalid("export 'memory' is not a memory"))?;
        let version = function(&exports, exports::ABI_VERSION)?;
        let inst = Instance {
            memory,
            input: function(&exports, exports::INPUT)?,
            call: function(&exports, exports::CALL)?,
            out_ptr: function(&exports, exports::OUTPUT_PTR)?,
            out_len: function(&exports, exports::OUTPUT_LEN)?,
        };
        let found = as_i32(version.call0(&JsValue::UNDEFINED).map_err(trapped)?);
        if found != scorekit_abi::ABI_VERSION {
            return Err(HostError::new(
                Code::InvalidModule,
                format!(
                    "model module uses ABI version {found}, this runtime speaks version {}",
                    scorekit_abi::ABI_VERSION
                ),
            ));
        }
        Ok(inst)
    }

    fn memory_bytes(&self) -> f64 {
        self.memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
    }

    /// Runs `op` on `request`; the answer's bytes, or the module's error.
    fn call(&self, op: i32, request: &[u8]) -> HostResult<Vec<u8>> {
        let len = i32::try_from(request.len()).map_err(|_| {
            HostError::new(Code::TooLarge, format!("request of {} bytes is too large", request.len()))
        })?;
        let undefined = JsValue::UNDEFINED;
        let ptr = as_i32(self.input.call1(&undefined, &len.into()).map_err(trapped)?) as u32;
        if ptr == 0 && len > 0 {
            return Err(HostError::new(
                Code::MemoryLimit,
                format!("model module could not allocate an input buffer of {len} bytes"),
            ));
        }
        let memory = Uint8Array::new(&self.memory.buffer());
        let end = ptr.checked_add(len as u32).filter(|e| *e <= memory.length()).ok_or_else(|| {
            HostError::new(
                Code::ModuleFailed,
                "model module trapped: input buffer lies outside the module's memory",
            )
        })?;
        memory.subarray(ptr, end).copy_from(request);
        let code = as_i32(self.call.call2(&undefined, &op.into(), &len.into()).map_err(trapped)?);
        let optr = as_i32(self.out_ptr.call0(&undefined).map_err(trapped)?) as u32;
        let olen = as_i32(self.out_len.call0(&undefined).map_err(trapped)?) as u32;
        // The call may have grown the memory: a fresh view of the current buffer.
        let memory = Uint8Array::new(&self.memory.buffer());
        let oend = optr.checked_add(olen).filter(|e| *e <= memory.length()).ok_or_else(|| {
            HostError::new(
                Code::ModuleFailed,
                "model module trapped: output buffer lies outside the module's memory",
            )
        })?;
        let mut out = vec![0u8; olen as usize];
        memory.subarray(optr, oend).copy_to(&mut out);
        let message = || String::from_utf8_lossy(&out).into_owned();
        match code {
            status::OK => Ok(out),
            status::BAD_INPUT => Err(HostError::new(Code::BadInput, message())),
            status::UNSUPPORTED => Err(HostError::new(Code::Unsupported, message())),
            status::INTERNAL => {
                Err(HostError::new(Code::ModuleFailed, format!("model module internal error: {}", message())))
            }
            other => Err(invalid(format!("unknown status {other} from scorekit_call"))),
        }
    }
}

/// A model module compiled by the browser, as a [`Scorer`].
pub struct WebScorer {
    info: ModelInfo,
    /// The description as the module carries it (its integrity is checked with the payload).
    description_json: String,
    module: WebAssembly::Module,
    idle: RefCell<Option<Instance>>,
}

impl WebScorer {
    /// Checks and loads a module the browser compiled from `bytes` (`WebAssembly.compile`): it
    /// imports nothing, has the ABI's exports and a description whose model payload is intact,
    /// and its first instance speaks ABI version 1.
    ///
    /// # Errors
    /// [`Code::InvalidModule`] naming why, in the runtime's words.
    pub fn new(module: WebAssembly::Module, bytes: &[u8]) -> HostResult<WebScorer> {
        let imports = WebAssembly::Module::imports(&module);
        if imports.length() > 0 {
            let first = imports.get(0);
            let field = |k: &str| {
                Reflect::get(&first, &k.into()).ok().and_then(|v| v.as_string()).unwrap_or_default()
            };
            let (m, n) = (field("module"), field("name"));
            let what = if m.starts_with("wasi") { "WASI function" } else { "host item" };
            return Err(HostError::new(
                Code::InvalidModule,
                format!(
                    "refusing model module: it imports {what} '{m}::{n}' (scorekit modules import nothing)"
                ),
            ));
        }
        let sections = WebAssembly::Module::custom_sections(&module, scorekit_abi::SCHEMA_SECTION);
        let Some(section) = sections.iter().last() else {
            return Err(invalid(format!(
                "no '{}' custom section: not a scorekit model module",
                scorekit_abi::SCHEMA_SECTION
            )));
        };
        let section_json = Uint8Array::new(&section).to_vec();
        let description: Description = crate::js::parse_json(&section_json)
            .and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
            .map_err(|e| invalid(format!("bad {} section: {e}", scorekit_abi::SCHEMA_SECTION)))?;
        if description.abi != scorekit_abi::ABI_VERSION {
            return Err(HostError::new(
                Code::InvalidModule,
                format!(
                    "model module uses ABI version {}, this runtime speaks version {}",
                    description.abi,
                    scorekit_abi::ABI_VERSION
                ),
            ));
        }
        check_payload(&description, &section_json, bytes).map_err(invalid)?;
        let description_json = String::from_utf8(section_json)
            .map_err(|_| invalid(format!("bad {} section: not UTF-8", scorekit_abi::SCHEMA_SECTION)))?;
        let first = Instance::new(&module)?;
        let info = ModelInfo::new(sha256_hex(bytes), bytes.len(), description);
        Ok(WebScorer { info, description_json, module, idle: RefCell::new(Some(first)) })
    }

    /// The module's description as JSON text, exactly as the module carries it (what the
    /// compiler wrote; the payload check covers it): the page reads it without a second
    /// JSON writer in the glue.
    pub fn description_json(&self) -> &str {
        &self.description_json
    }

    /// Runs a stateless call on the idle instance (or a new one). After a trap or an internal
    /// error the instance's state is unknown: it is dropped; rejected input leaves it as it was.
    fn with_instance<T>(&self, f: impl FnOnce(&Instance) -> HostResult<T>) -> HostResult<T> {
        let taken = self.idle.borrow_mut().take();
        let inst = match taken {
            Some(i) => i,
            None => Instance::new(&self.module)?,
        };
        let r = f(&inst);
        let keep = match &r {
            Ok(_) => true,
            Err(e) => matches!(e.code, Code::BadInput | Code::Unsupported),
        };
        if keep && inst.memory_bytes() <= KEEP_BYTES {
            *self.idle.borrow_mut() = Some(inst);
        }
        r
    }

    fn values(&self, op: i32, rows: &Rows, per_row: usize) -> HostResult<Vec<f64>> {
        let d = &self.info.description;
        let request = request_bytes(d, rows);
        self.with_instance(|i| {
            let v = decode_f64s(&i.call(op, &request)?).map_err(|e| malformed(&e))?;
            check_count(op, v.len(), rows.n_rows(), per_row)?;
            Ok(v)
        })
        .map_err(|e| in_batch(d, rows, e))
    }
}

fn malformed(e: &scorekit_abi::WireError) -> HostError {
    HostError::new(Code::ModuleFailed, format!("model module gave a malformed answer: {e}"))
}

impl Scorer for WebScorer {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn score(&self, rows: &Rows) -> HostResult<Vec<f64>> {
        self.values(op::SCORE, rows, self.info.schema().outputs.len().max(1))
    }

    fn explain(&self, rows: &Rows) -> HostResult<Vec<f64>> {
        self.values(op::EXPLAIN, rows, self.info.schema().inputs.len() + 1)
    }

    fn forecast(&self, history: &History, query: &ForecastQuery) -> HostResult<ForecastOutput> {
        let query = ForecastQuery { start: history.start, ..query.clone() };
        let request = query.encode(&history.values).map_err(|e| HostError::bad_input(e.to_string()))?;
        self.with_instance(|i| {
            let out = ForecastOutput::decode(&i.call(op::FORECAST, &request)?).map_err(|e| malformed(&e))?;
            check_forecast(&query, &out)?;
            Ok(out)
        })
    }

    fn open_stream(&self) -> HostResult<Box<dyn StreamScorer>> {
        Ok(Box::new(WebStream {
            module: self.module.clone(),
            description: self.info.description.clone(),
            inst: Some(Instance::new(&self.module)?),
        }))
    }
}

/// One RCF stream: an instance of its own, holding the forest between calls.
struct WebStream {
    module: WebAssembly::Module,
    description: Description,
    /// `None` after a failure that may have corrupted the state.
    inst: Option<Instance>,
}

impl WebStream {
    fn call(&mut self, op: i32, request: &[u8]) -> HostResult<Vec<u8>> {
        let inst = self.inst.as_ref().ok_or_else(|| {
            HostError::new(
                Code::StreamLost,
                "stream state was lost after a failed call; reset it or import a saved state",
            )
        })?;
        let r = inst.call(op, request);
        if let Err(e) = &r
            && !matches!(e.code, Code::BadInput | Code::Unsupported)
        {
            self.inst = None;
        }
        r
    }

    fn rows_call(&mut self, op: i32, rows: &Rows) -> HostResult<Vec<u8>> {
        let request = request_bytes(&self.description, rows).into_owned();
        let d = self.description.clone();
        self.call(op, &request).map_err(|e| in_batch(&d, rows, e))
    }
}

impl StreamScorer for WebStream {
    fn score_update(&mut self, rows: &Rows) -> HostResult<Vec<RcfStep>> {
        let steps =
            decode_rcf_steps(&self.rows_call(op::RCF_SCORE_UPDATE, rows)?).map_err(|e| malformed(&e))?;
        check_count(op::RCF_SCORE_UPDATE, steps.len(), rows.n_rows(), 1)?;
        Ok(steps)
    }

    fn score(&mut self, rows: &Rows) -> HostResult<Vec<f64>> {
        let v = decode_f64s(&self.rows_call(op::RCF_SCORE, rows)?).map_err(|e| malformed(&e))?;
        check_count(op::RCF_SCORE, v.len(), rows.n_rows(), 1)?;
        Ok(v)
    }

    fn explain(&mut self, rows: &Rows) -> HostResult<Vec<f64>> {
        let per_row = self.description.schema.inputs.len() + 1;
        let v = decode_f64s(&self.rows_call(op::EXPLAIN, rows)?).map_err(|e| malformed(&e))?;
        check_count(op::EXPLAIN, v.len(), rows.n_rows(), per_row)?;
        Ok(v)
    }

    fn export_state(&mut self) -> HostResult<Vec<u8>> {
        self.call(op::STATE_EXPORT, &[])
    }

    fn footprint(&self) -> usize {
        self.inst.as_ref().map_or(0, |i| i.memory_bytes() as usize)
    }

    fn import_state(&mut self, state: &[u8]) -> HostResult<()> {
        if self.inst.is_none() {
            self.inst = Some(Instance::new(&self.module)?);
        }
        self.call(op::STATE_IMPORT, state).map(|_| ())
    }
}
