//! `scorekit-web`: the browser host. A model module (the very `.wasm` file the server and the
//! database run) is compiled by the browser's own engine and called through the ABI
//! ([`engine::WebScorer`], a `scorekit_host::Scorer`); JavaScript values become the host layer's
//! values and rows ([`js`]); answers get the host layer's names; RCF streams live in the host
//! layer's stream book over the page's Web Storage ([`store`]); every failure reaches JavaScript
//! as an `Error` carrying the host layer's `code` and `kind` ([`error`]). The ES module
//! `web/js/scorekit.js` is the API pages use; this crate is what it calls.
//!
//! Main design choice: no rule lives here. Cells, row shapes, CSV, names, row numbers, timestamps,
//! forecast gaps, DeepAR options, stream redeploys, the state-file layout and errors are all
//! `scorekit-host`'s; the answer checks and the payload integrity check are `scorekit-abi`'s,
//! shared with the wasmtime runtime ([`answers`], [`module_check`] apply them). This crate only
//! moves JavaScript values in and out, and walks a module's sections to find its payload
//! (`wasmparser`, which the runtime uses, is too big to ship to a page).
//!
//! The JavaScript-facing parts compile for `wasm32` only; the rest is tested natively.

// The page's allocator (docs/web.md, Bytes): talc instead of the standard library's dlmalloc.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub mod answers;
pub mod module_check;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
pub mod engine;
#[cfg(target_arch = "wasm32")]
mod error;
#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
pub mod store;
