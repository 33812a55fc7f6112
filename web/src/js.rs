//! JavaScript values into the host layer's values and rows.
//!
//! A JS primitive is a [`Value`]: string → text, boolean → boolean, number → float, `null` and
//! `undefined` → null (a bigint is an integer). Rows go through the host layer's
//! [`BatchBuilder`]: an array by position, a plain object by name (a key whose value is
//! `undefined` is a null; a key the object does not have is absent). Everything else — a value
//! that is not a primitive, the SageMaker shapes `{features: […]}`, an object naming no input, a
//! document `{instances: […]}` — goes through the host layer's JSON reader
//! (`scorekit_host::formats::json`) as the JSON it stands for, so its shapes and its messages are
//! the ones every other host has. A string is CSV text (`scorekit_host::formats::csv`).

use js_sys::{Array, Float64Array, Object, Reflect, Uint8Array};
use scorekit_host::formats::{csv, json as jsonfmt};
use scorekit_host::{BatchBuilder, HostResult, InputPolicy, Rows, Schema, Value};
use serde_json::Value as Json;
use wasm_bindgen::{JsCast, JsValue};

/// Rows per call into the module: bounds the memory one call makes the guest hold; rows are
/// numbered over the whole input all the same (each chunk carries its row base).
pub const CHUNK_ROWS: usize = 4096;

/// A JS primitive, owned (JS strings are copied into Rust once).
enum Owned {
    Null,
    Bool(bool),
    Float(f64),
    Text(String),
}

impl Owned {
    fn value(&self) -> Value<'_> {
        match self {
            Owned::Null => Value::Null,
            Owned::Bool(b) => Value::Bool(*b),
            Owned::Float(x) => Value::Float(*x),
            Owned::Text(t) => Value::Text(t),
        }
    }
}

/// The value of a primitive; `None` for anything else (arrays, objects, functions, symbols,
/// bigints), which the JSON path judges.
fn primitive(v: &JsValue) -> Option<Owned> {
    if let Some(x) = v.as_f64() {
        Some(Owned::Float(x))
    } else if let Some(s) = v.as_string() {
        Some(Owned::Text(s))
    } else if let Some(b) = v.as_bool() {
        Some(Owned::Bool(b))
    } else if v.is_null() || v.is_undefined() {
        Some(Owned::Null)
    } else {
        None
    }
}

/// Nesting kept when a value is read as JSON: deeper values only need their kind (for the
/// message that refuses them); the deepest row shape, `{data: {features: {values: [v]}}}`,
/// has its values at depth 5.
const MAX_DEPTH: usize = 6;

/// The JSON a JS value stands for (what `JSON.stringify` would send to a server, except that an
/// infinite number stays one — as the text `inf`, which every host refuses with the same words —
/// rather than becoming `null`, and a bigint is an integer).
pub fn to_json(v: &JsValue, depth: usize) -> Json {
    if let Some(x) = v.as_f64() {
        return match serde_json::Number::from_f64(x) {
            Some(n) => Json::Number(n),
            None if x.is_nan() => Json::Null,
            None => Json::String(if x > 0.0 { "inf".into() } else { "-inf".into() }),
        };
    }
    if let Some(s) = v.as_string() {
        return Json::String(s);
    }
    if let Some(b) = v.as_bool() {
        return Json::Bool(b);
    }
    if v.is_null() || v.is_undefined() {
        return Json::Null;
    }
    if v.is_bigint() {
        let text = js_sys::BigInt::from(v.clone()).to_string(10).map(String::from).unwrap_or_default();
        return text.parse::<i64>().map_or(Json::String(text), |i| Json::Number(i.into()));
    }
    if let Some(a) = v.dyn_ref::<Float64Array>() {
        return Json::Array(if depth > MAX_DEPTH {
            vec![]
        } else {
            a.to_vec().into_iter().map(|x| to_json(&x.into(), depth + 1)).collect()
        });
    }
    if Array::is_array(v) {
        let a: &Array = v.unchecked_ref();
        return Json::Array(if depth > MAX_DEPTH {
            vec![]
        } else {
            a.iter().map(|x| to_json(&x, depth + 1)).collect()
        });
    }
    let mut map = serde_json::Map::new();
    if depth <= MAX_DEPTH
        && let Some(o) = v.dyn_ref::<Object>()
    {
        for entry in Object::entries(o).iter() {
            let pair: Array = entry.unchecked_into();
            if let Some(k) = pair.get(0).as_string() {
                map.insert(k, to_json(&pair.get(1), depth + 1));
            }
        }
    }
    Json::Object(map)
}

/// The input names as JS keys, looked up on every object row.
struct Keys {
    keys: Vec<JsValue>,
}

fn has(o: &JsValue, key: &JsValue) -> bool {
    Reflect::has(o, key).unwrap_or(false)
}

/// Appends one JS row: the fast path for plain arrays and objects of primitives, the JSON path
/// for everything else.
fn push_row(
    b: &mut BatchBuilder<'_>,
    row: &JsValue,
    keys: &Keys,
    scratch: &mut Vec<Option<Owned>>,
) -> HostResult<()> {
    scratch.clear();
    if Array::is_array(row) {
        let a: &Array = row.unchecked_ref();
        for v in a.iter() {
            match primitive(&v) {
                Some(o) => scratch.push(Some(o)),
                None => return jsonfmt::push_row(b, &to_json(row, 1)),
            }
        }
        let values: Vec<Value<'_>> = scratch.iter().flatten().map(Owned::value).collect();
        return b.push_positional(&values);
    }
    let plain = row.is_object()
        && !Array::is_array(row)
        && !row.is_function()
        && !has(row, &"features".into())
        && !has(row, &"data".into());
    if !plain {
        return jsonfmt::push_row(b, &to_json(row, 1));
    }
    for key in &keys.keys {
        let v = Reflect::get(row, key).unwrap_or(JsValue::UNDEFINED);
        if v.is_undefined() {
            scratch.push(has(row, key).then_some(Owned::Null));
            continue;
        }
        match primitive(&v) {
            Some(o) => scratch.push(Some(o)),
            None => return jsonfmt::push_row(b, &to_json(row, 1)),
        }
    }
    if !keys.keys.is_empty() && scratch.iter().all(Option::is_none) {
        // Names none of the inputs: the JSON reader says so in its words.
        return jsonfmt::push_row(b, &to_json(row, 1));
    }
    let schema = b.schema();
    let cells: &[Option<Owned>] = scratch;
    b.push_named(|name| {
        let i = schema.inputs.iter().position(|f| f.name == name)?;
        cells[i].as_ref().map(Owned::value)
    })
}

/// The batches to score for a JS input: an array of rows (arrays or objects) in chunks of
/// [`CHUNK_ROWS`]; CSV text (a string or bytes; a header is recognised as the server does); or
/// any other document (one row, `{instances: […]}`, `{rows: […]}`) read as JSON.
///
/// Sent as tagged cells, which the module encodes, not built for the model (`BatchBuilder::for_model`,
/// what the other hosts do): encoding them here would link the level matching and the number
/// parser into the glue, 20 KB more against the page's byte budget (docs/web.md), for speed a
/// form does not need.
///
/// # Errors
/// [`scorekit_host::Code::BadInput`] naming the row (from 1 over the whole input) and column.
pub fn batches(schema: &Schema, policy: InputPolicy, input: &JsValue) -> HostResult<Vec<Rows>> {
    let csv_bytes = match input.as_string() {
        Some(text) => Some(text.into_bytes()),
        None => input.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec),
    };
    if let Some(bytes) = csv_bytes {
        let mut b = BatchBuilder::new(schema, policy);
        csv::push_body(&mut b, &bytes, csv::Header::Auto)?;
        return Ok(vec![b.finish()]);
    }
    if Array::is_array(input) {
        let list: &Array = input.unchecked_ref();
        let n = list.length() as usize;
        if n > 0 && list.get(0).is_object() {
            let keys = Keys { keys: schema.inputs.iter().map(|f| JsValue::from_str(&f.name)).collect() };
            let mut scratch = Vec::with_capacity(schema.inputs.len());
            let mut out = Vec::with_capacity(n.div_ceil(CHUNK_ROWS));
            for start in (0..n).step_by(CHUNK_ROWS) {
                let mut b = BatchBuilder::new(schema, policy).with_row_base(start)?;
                for i in start..(start + CHUNK_ROWS).min(n) {
                    push_row(&mut b, &list.get(i as u32), &keys, &mut scratch)?;
                }
                out.push(b.finish());
            }
            return Ok(out);
        }
    }
    let mut b = BatchBuilder::new(schema, policy);
    jsonfmt::push_document(&mut b, &to_json(input, 0), true)?;
    Ok(vec![b.finish()])
}

/// A forecast history's values: an array (numbers; `null`, `NaN` or `"NA"` for missing) or a
/// `Float64Array` (NaN for missing), by the host layer's one rule.
///
/// # Errors
/// [`scorekit_host::Code::BadInput`] naming the row of a value that is not a number.
pub fn history_values(v: &JsValue) -> HostResult<Vec<f64>> {
    if let Some(a) = v.dyn_ref::<Float64Array>() {
        let values: Vec<Value<'_>> = a.to_vec().into_iter().map(Value::Float).collect();
        return scorekit_host::history_values(&values);
    }
    match to_json(v, 0) {
        Json::Array(items) => jsonfmt::history_values(&items),
        other => Err(scorekit_host::HostError::bad_input(format!(
            "the history must be an array of numbers, oldest first, got {}",
            jsonfmt::kind(&other)
        ))),
    }
}

/// Nesting deeper than this in JSON text is refused (serde_json's own recursion limit).
const MAX_JSON_DEPTH: usize = 128;

/// JSON text read by the page's own parser (`JSON.parse`: numbers to the nearest double, as
/// serde_json's `float_roundtrip` reads them), as the host layer's JSON value — so that the glue
/// links no JSON text parser of its own. A whole number within ±2^53 is an integer (as it is
/// when serde_json reads the text), so a count reads as one.
///
/// # Errors
/// `JSON.parse`'s message; a number out of range; nesting deeper than serde_json allows.
pub fn parse_json(text: &[u8]) -> Result<Json, String> {
    let text = std::str::from_utf8(text).map_err(|_| "the JSON text is not UTF-8".to_string())?;
    let v = js_sys::JSON::parse(text).map_err(|e| {
        e.dyn_ref::<js_sys::Error>().map_or_else(|| "malformed JSON".into(), |e| String::from(e.message()))
    })?;
    parsed(&v, 0)
}

fn parsed(v: &JsValue, depth: usize) -> Result<Json, String> {
    if depth > MAX_JSON_DEPTH {
        return Err("the JSON text is nested too deeply".into());
    }
    if let Some(x) = v.as_f64() {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        if x.fract() == 0.0 && x.abs() <= EXACT && !(x == 0.0 && x.is_sign_negative()) {
            return Ok(Json::Number((x as i64).into()));
        }
        return serde_json::Number::from_f64(x).map(Json::Number).ok_or_else(|| "number out of range".into());
    }
    if let Some(s) = v.as_string() {
        return Ok(Json::String(s));
    }
    if let Some(b) = v.as_bool() {
        return Ok(Json::Bool(b));
    }
    if v.is_null() {
        return Ok(Json::Null);
    }
    if Array::is_array(v) {
        let a: &Array = v.unchecked_ref();
        let mut out = Vec::with_capacity(a.length() as usize);
        for x in a.iter() {
            out.push(parsed(&x, depth + 1)?);
        }
        return Ok(Json::Array(out));
    }
    let mut map = serde_json::Map::new();
    for entry in Object::entries(v.unchecked_ref()).iter() {
        let pair: Array = entry.unchecked_into();
        map.insert(pair.get(0).as_string().unwrap_or_default(), parsed(&pair.get(1), depth + 1)?);
    }
    Ok(Json::Object(map))
}
