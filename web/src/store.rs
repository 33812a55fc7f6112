//! Stream states in the page's Web Storage (`localStorage`, or `sessionStorage`): the browser's
//! [`StateStore`] for the host layer's stream book. Each state is one item,
//! `scorekit.stream/<model>/<key>` (both escaped as the file store escapes them), holding the
//! state file's bytes (`scorekit_host::streams::encode_state`, the server's file layout) one byte per UTF-16 code unit. Archived states
//! (a redeploy restarted the stream) go under `scorekit.archive/<model>/<key>/<tag>`.

use js_sys::{Function, Reflect};
use scorekit_host::streams::{
    StateMeta, StateStore, StoredState, StreamSummary, escape_key, sort_by_stream, unescape_key,
};
use scorekit_host::{Code, HostError, HostResult};
use wasm_bindgen::{JsCast, JsValue};

const PREFIX: &str = "scorekit.stream/";
const ARCHIVE: &str = "scorekit.archive/";

/// A Web Storage object (`localStorage`, `sessionStorage`).
pub struct WebStorage {
    storage: JsValue,
    what: String,
}

fn storage_error(what: &str, e: JsValue) -> HostError {
    let message =
        e.dyn_ref::<js_sys::Error>().map_or_else(|| format!("{e:?}"), |e| String::from(e.message()));
    HostError::new(Code::Storage, format!("{what}: {message}"))
}

/// Bytes as a string of code units 0..=255 (what Web Storage holds exactly).
fn to_units(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn from_units(text: &str) -> Option<Vec<u8>> {
    text.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

impl WebStorage {
    /// The page's `localStorage` or `sessionStorage` (`name`).
    ///
    /// # Errors
    /// [`Code::Storage`] when the page has no such storage (an opaque origin, storage disabled).
    pub fn new(name: &str) -> HostResult<WebStorage> {
        let storage =
            Reflect::get(&js_sys::global(), &JsValue::from_str(name)).map_err(|e| storage_error(name, e))?;
        if storage.is_undefined() || storage.is_null() {
            return Err(HostError::new(Code::Storage, format!("this page has no {name}")));
        }
        Ok(WebStorage { storage, what: name.to_string() })
    }

    fn method(&self, name: &str) -> HostResult<Function> {
        Reflect::get(&self.storage, &JsValue::from_str(name))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| HostError::new(Code::Storage, format!("{}.{name} is not a function", self.what)))
    }

    fn get(&self, item: &str) -> HostResult<Option<String>> {
        let v = self
            .method("getItem")?
            .call1(&self.storage, &item.into())
            .map_err(|e| storage_error(&self.what, e))?;
        Ok(v.as_string())
    }

    fn set(&self, item: &str, value: &str) -> HostResult<()> {
        self.method("setItem")?
            .call2(&self.storage, &item.into(), &value.into())
            .map(|_| ())
            .map_err(|e| storage_error(&format!("saving {item} ({} bytes) in {}", value.len(), self.what), e))
    }

    fn remove(&self, item: &str) -> HostResult<()> {
        self.method("removeItem")?
            .call1(&self.storage, &item.into())
            .map(|_| ())
            .map_err(|e| storage_error(&self.what, e))
    }

    fn items(&self) -> HostResult<Vec<String>> {
        let n =
            Reflect::get(&self.storage, &"length".into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u32;
        let key = self.method("key")?;
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            if let Some(k) =
                key.call1(&self.storage, &i.into()).map_err(|e| storage_error(&self.what, e))?.as_string()
            {
                out.push(k);
            }
        }
        Ok(out)
    }

    fn item(model: &str, key: &str) -> String {
        format!("{PREFIX}{}/{}", escape_key(model), escape_key(key))
    }

    fn read(&self, item: &str) -> HostResult<Option<scorekit_host::streams::StateFile>> {
        let Some(text) = self.get(item)? else { return Ok(None) };
        let bytes = from_units(&text).ok_or_else(|| {
            HostError::new(Code::Storage, format!("{} item {item} is not a stream state", self.what))
        })?;
        scorekit_host::streams::decode_state_with(&bytes, crate::js::parse_json)
            .map(Some)
            .map_err(|e| HostError::new(Code::Storage, format!("{} item {item}: {e}", self.what)))
    }

    fn write(&self, item: &str, model: &str, key: &str, state: &StoredState) -> HostResult<()> {
        let now = (js_sys::Date::now() / 1000.0) as u64;
        self.set(item, &to_units(&scorekit_host::streams::encode_state(model, key, state, now)))
    }
}

impl StateStore for WebStorage {
    fn load(&self, model: &str, key: &str) -> HostResult<Option<StoredState>> {
        Ok(self.read(&Self::item(model, key))?.map(|f| f.state))
    }

    fn meta(&self, model: &str, key: &str) -> HostResult<Option<StateMeta>> {
        Ok(self.load(model, key)?.map(|s| s.meta))
    }

    fn save(&self, model: &str, key: &str, state: &StoredState) -> HostResult<()> {
        self.write(&Self::item(model, key), model, key, state)
    }

    fn archive(&self, model: &str, key: &str, state: &StoredState, tag: &str) -> HostResult<String> {
        let item = format!("{ARCHIVE}{}/{}/{}", escape_key(model), escape_key(key), escape_key(tag));
        self.write(&item, model, key, state)?;
        Ok(format!("{} item {item}", self.what))
    }

    fn delete(&self, model: &str, key: &str) -> HostResult<bool> {
        let item = Self::item(model, key);
        let existed = self.get(&item)?.is_some();
        self.remove(&item)?;
        Ok(existed)
    }

    fn list(&self, model: &str) -> HostResult<Vec<StreamSummary>> {
        let prefix = format!("{PREFIX}{}/", escape_key(model));
        let mut out = Vec::new();
        for item in self.items()? {
            let Some(stream) = item.strip_prefix(&prefix).and_then(unescape_key) else { continue };
            if let Some(f) = self.read(&item)? {
                out.push(StreamSummary {
                    stream,
                    readings: f.state.meta.readings,
                    sha256: f.state.meta.module_sha256,
                    loaded: false,
                });
            }
        }
        sort_by_stream(&mut out);
        Ok(out)
    }
}
