//! The one mapping of the browser host's failures: a [`HostError`] becomes a JavaScript `Error`
//! named `ScorekitError` with the host layer's `code` (`bad_input`, …) and `kind` (`client`, …).

use scorekit_host::HostError;
use wasm_bindgen::JsValue;

/// The JavaScript error for `e`.
pub fn to_js(e: HostError) -> JsValue {
    let err = js_sys::Error::new(&e.message);
    err.set_name("ScorekitError");
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code.as_str().into());
    let _ = js_sys::Reflect::set(&err, &"kind".into(), &e.kind().as_str().into());
    err.into()
}
