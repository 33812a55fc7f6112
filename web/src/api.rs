//! What JavaScript calls (`web/js/scorekit.js` wraps it): a [`Model`] per loaded module, and a
//! [`Streams`] book per state store.

use std::sync::Arc;

use js_sys::{Array, Float64Array, Object, Reflect, Uint8Array, WebAssembly};
use scorekit_host::formats::{deepar, json as jsonfmt};
use scorekit_host::streams::{BookConfig, MemoryStore, StateStore, StepOp, StreamBook};
use scorekit_host::{
    AbsentInputs, Code, Gaps, History, HostError, HostResult, InputPolicy, NullInputs, Scorer, SharedScorer,
    names,
};
use serde_json::{Value as Json, json};
use wasm_bindgen::prelude::*;

use crate::engine::WebScorer;
use crate::error::to_js;
use crate::js::{batches, history_values, to_json};
use crate::store::WebStorage;

type JsResult<T> = Result<T, JsValue>;

fn set(o: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(o, &JsValue::from_str(key), &value.into());
}

fn strings<S: AsRef<str>>(items: &[S]) -> Array {
    items.iter().map(|s| JsValue::from_str(s.as_ref())).collect()
}

/// The options object as JSON (`{}` when absent). Options hold counts (`horizon: 24`), so a
/// whole number is an integer here, as it would be in a JSON body.
fn options(v: &JsValue) -> serde_json::Map<String, Json> {
    fn integral(j: Json) -> Json {
        match j {
            Json::Number(n) => match n.as_f64() {
                Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Json::Number((x as i64).into()),
                _ => Json::Number(n),
            },
            Json::Array(a) => Json::Array(a.into_iter().map(integral).collect()),
            Json::Object(o) => {
                // Inserted one by one: collecting would link a sort (the keys are in order).
                let mut out = serde_json::Map::new();
                for (k, v) in o {
                    out.insert(k, integral(v));
                }
                Json::Object(out)
            }
            other => other,
        }
    }
    match integral(to_json(v, 0)) {
        Json::Object(o) => o,
        _ => serde_json::Map::new(),
    }
}

fn word<T>(
    o: &serde_json::Map<String, Json>,
    key: &str,
    parse: fn(&str) -> Result<T, String>,
    default: T,
) -> HostResult<T> {
    match o.get(key) {
        None | Some(Json::Null) => Ok(default),
        Some(Json::String(s)) => parse(s).map_err(HostError::bad_input),
        Some(other) => Err(HostError::bad_input(format!("option '{key}' must be a string, got {other}"))),
    }
}

/// A loaded model module.
#[wasm_bindgen]
pub struct Model {
    scorer: SharedScorer,
    description_json: String,
    alias: String,
    policy: InputPolicy,
    gaps: Gaps,
}

#[wasm_bindgen]
impl Model {
    /// Checks and loads `module`, compiled by the browser from `bytes`. Options: `name` (the
    /// alias streams are kept under; default the schema's name), `nulls` (`missing`|`error`),
    /// `absent` (`error`|`missing`), `gaps` (`fill`|`refuse`).
    #[wasm_bindgen(constructor)]
    pub fn new(module: WebAssembly::Module, bytes: &[u8], opts: &JsValue) -> JsResult<Model> {
        let o = options(opts);
        let load = || -> HostResult<Model> {
            let policy = InputPolicy {
                nulls: word(&o, "nulls", NullInputs::parse, NullInputs::default())?,
                absent: word(&o, "absent", AbsentInputs::parse, AbsentInputs::default())?,
            };
            let gaps = word(&o, "gaps", Gaps::parse, Gaps::default())?;
            // `SharedScorer` is the host layer's `Arc<dyn Scorer>`; the page has one thread.
            let web = WebScorer::new(module, bytes)?;
            let description_json = web.description_json().to_string();
            #[allow(clippy::arc_with_non_send_sync)]
            let scorer: SharedScorer = Arc::new(web);
            let alias = match o.get("name").and_then(Json::as_str) {
                Some(n) => n.to_string(),
                None => scorer.info().schema().name.clone(),
            };
            Ok(Model { scorer, description_json, alias, policy, gaps })
        };
        load().map_err(to_js)
    }

    /// What the page reads once per model (one call, not a getter each):
    /// `{name, sha256, size, descriptionJson, outputs, terms}` — the alias streams are kept
    /// under; the SHA-256 of the module file (the model version's identity) and its size in
    /// bytes; the module's description (schema, family, forecaster facts) as JSON text, as the
    /// module carries it; the names of the values a score returns per row and of the terms an
    /// explanation returns per row.
    pub fn info(&self) -> JsValue {
        let info = self.scorer.info();
        let o = Object::new();
        set(&o, "name", self.alias.as_str());
        set(&o, "sha256", info.sha256.as_str());
        set(&o, "size", info.size as f64);
        set(&o, "descriptionJson", self.description_json.as_str());
        set(&o, "outputs", strings(&names::score_outputs(info.schema())));
        set(&o, "terms", strings(&names::explanation_terms(info.schema())));
        o.into()
    }

    /// Scores rows (an array of arrays or objects, CSV text, or a JSON-shaped document): the
    /// values, `outputNames().length` per row, row-major.
    pub fn score(&self, rows: &JsValue) -> JsResult<Float64Array> {
        self.each_batch(rows, |s, r| s.score(r))
    }

    /// Explains rows: `explanationTerms().length` values per row.
    pub fn explain(&self, rows: &JsValue) -> JsResult<Float64Array> {
        self.each_batch(rows, |s, r| s.explain(r))
    }

    fn each_batch(
        &self,
        rows: &JsValue,
        call: impl Fn(&dyn Scorer, &scorekit_host::Rows) -> HostResult<Vec<f64>>,
    ) -> JsResult<Float64Array> {
        let run = || -> HostResult<Vec<f64>> {
            let mut out = Vec::new();
            for batch in batches(self.scorer.info().schema(), self.policy, rows)? {
                out.extend(call(&*self.scorer, &batch)?);
            }
            Ok(out)
        };
        run().map(|v| Float64Array::from(&v[..])).map_err(to_js)
    }

    /// Forecasts from `history`. Options: `horizon`, `quantiles` (levels, default deciles),
    /// `start` (timestamp of the first value) or `timestamps` (one per value: spacing checked and
    /// gaps filled or refused by the host layer's rule), `gaps`, `samples`, `seed`. Answers
    /// `{horizon, mean, levels, quantiles: {level: values}, samples, filled}`.
    pub fn forecast(&self, history: &JsValue, opts: &JsValue) -> JsResult<JsValue> {
        self.forecast_inner(history, opts).map_err(to_js)
    }

    fn forecast_inner(&self, history: &JsValue, opts: &JsValue) -> HostResult<JsValue> {
        let o = options(opts);
        let values = history_values(history)?;
        // The options are the server's forecast body (DeepAR's vocabulary, flattened): read by the
        // same host-layer code.
        let mut conf = serde_json::Map::new();
        if let Some(q) = o.get("quantiles") {
            conf.insert("quantiles".into(), q.clone());
        }
        let samples = o.get("samples").cloned().unwrap_or(json!(0));
        let mut types = vec![json!("mean"), json!("quantiles")];
        if samples.as_u64().unwrap_or(0) > 0 {
            types.push(json!("samples"));
        }
        conf.insert("num_samples".into(), samples);
        conf.insert("output_types".into(), Json::Array(types));
        for (from, to) in [("horizon", "prediction_length"), ("seed", "seed")] {
            if let Some(v) = o.get(from).filter(|v| !v.is_null()) {
                conf.insert(to.into(), v.clone());
            }
        }
        let c = deepar::configuration(Some(&Json::Object(conf)))?;
        let history = match o.get("timestamps").filter(|v| !v.is_null()) {
            Some(ts) => {
                let ts = jsonfmt::timestamps(ts, "timestamps")?;
                let gaps = word(&o, "gaps", Gaps::parse, self.gaps)?;
                History::timed(&ts, &values, self.scorer.info().description.period_seconds, gaps)?
            }
            None => {
                let mut inst = serde_json::Map::new();
                inst.insert("target".into(), json!([]));
                if let Some(s) = o.get("start") {
                    inst.insert("start".into(), s.clone());
                }
                let start = deepar::instance(&Json::Object(inst), "options")?.start;
                History::untimed(values, start)?
            }
        };
        let f = self.scorer.forecast(&history, &c.query())?;
        let out = Object::new();
        set(&out, "horizon", f.mean.len() as u32);
        set(&out, "mean", Float64Array::from(&f.mean[..]));
        let quantiles = Object::new();
        for ((key, _), (_, v)) in c.levels.iter().zip(&f.quantiles) {
            set(&quantiles, key, Float64Array::from(&v[..]));
        }
        let levels: Vec<&str> = c.levels.iter().map(|(k, _)| k.as_str()).collect();
        set(&out, "levels", strings(&levels));
        set(&out, "quantiles", quantiles);
        let paths: Array = f.samples.iter().map(|s| JsValue::from(Float64Array::from(&s[..]))).collect();
        set(&out, "samples", paths);
        set(&out, "filled", history.filled as u32);
        set(&out, "start", history.start.map_or(JsValue::NULL, |s| JsValue::from_f64(s as f64)));
        Ok(out.into())
    }
}

/// The stream book of one store: `localStorage`, `sessionStorage` or `memory`.
#[wasm_bindgen]
pub struct Streams {
    book: StreamBook,
}

#[wasm_bindgen]
impl Streams {
    /// A book over `storage` (`localStorage`, `sessionStorage`, or `memory`: lost with the page).
    #[wasm_bindgen(constructor)]
    pub fn new(storage: &str) -> JsResult<Streams> {
        let store: Arc<dyn StateStore> = match storage {
            "memory" => Arc::new(MemoryStore::new()),
            other => Arc::new(WebStorage::new(other).map_err(to_js)?),
        };
        // Saved by `flush` (the ES module flushes after a quiet second and when the page hides).
        let config = BookConfig { max_live: 64, max_live_bytes: 512 << 20, ..BookConfig::default() };
        Ok(Streams { book: StreamBook::new(store, config) })
    }

    /// One step of stream `key` of `model`: `op` is `learn` (score each reading, then learn it),
    /// `score` (score only) or `explain` (explain each reading against the state before it, then
    /// learn it). Answers `{columns, values (row-major), readings, sha256, notice, durable}`.
    pub fn step(&self, model: &Model, key: &str, rows: &JsValue, op: &str) -> JsResult<JsValue> {
        self.step_inner(model, key, rows, op).map_err(to_js)
    }

    fn step_inner(&self, model: &Model, key: &str, rows: &JsValue, op: &str) -> HostResult<JsValue> {
        let op = match op {
            "learn" => StepOp::Learn,
            "score" => StepOp::ScoreOnly,
            "explain" => StepOp::LearnExplained,
            other => {
                return Err(HostError::bad_input(format!(
                    "stream operation '{other}' is not one of: learn, score, explain"
                )));
            }
        };
        let schema = model.scorer.info().schema();
        let mut columns: Vec<String> = match op {
            StepOp::ScoreOnly => vec!["score".into()],
            _ => names::STREAM_OUTPUTS.iter().map(|s| s.to_string()).collect(),
        };
        let terms = names::explanation_terms(schema);
        if op == StepOp::LearnExplained {
            columns.extend(terms.iter().cloned());
        }
        let (mut values, mut notice, mut last) = (Vec::new(), None, None);
        for batch in batches(schema, model.policy, rows)? {
            let out = self.book.step(&model.scorer, &model.alias, key, &batch, op)?;
            if op == StepOp::ScoreOnly {
                values.extend_from_slice(&out.scores);
            }
            for (i, s) in out.steps.iter().enumerate() {
                values.extend_from_slice(&[
                    s.score,
                    s.grade,
                    if s.is_anomaly { 1.0 } else { 0.0 },
                    s.threshold,
                ]);
                if op == StepOp::LearnExplained {
                    values.extend_from_slice(&out.explanations[i * terms.len()..(i + 1) * terms.len()]);
                }
            }
            notice = notice.or(out.notice.clone());
            last = Some(out);
        }
        let last = last.ok_or_else(|| HostError::bad_input("the request holds no rows"))?;
        let o = Object::new();
        set(&o, "columns", strings(&columns));
        set(&o, "values", Float64Array::from(&values[..]));
        set(&o, "readings", last.readings as f64);
        set(&o, "sha256", last.module_sha256.as_str());
        set(&o, "notice", notice.map_or(JsValue::NULL, |n| JsValue::from_str(&n)));
        set(&o, "durable", last.durable);
        Ok(o.into())
    }

    /// Saves every changed stream to the store: `[saved, failed]`.
    pub fn flush(&self) -> Array {
        let (ok, failed) = self.book.flush();
        [ok as u32, failed as u32].iter().map(|&n| JsValue::from(n)).collect()
    }

    /// The streams of model `name`, live and saved: `[{stream, readings, sha256, loaded}]`.
    pub fn list(&self, name: &str) -> JsResult<Array> {
        let list = self.book.list(name).map_err(to_js)?;
        Ok(list
            .into_iter()
            .map(|s| {
                let o = Object::new();
                set(&o, "stream", s.stream.as_str());
                set(&o, "readings", s.readings as f64);
                set(&o, "sha256", s.sha256.as_str());
                set(&o, "loaded", s.loaded);
                JsValue::from(o)
            })
            .collect())
    }

    /// Forgets stream `key` of model `name` (live and saved). Whether it existed.
    pub fn delete(&self, name: &str, key: &str) -> JsResult<bool> {
        self.book.delete(name, key).map_err(to_js)
    }

    /// Stream `key` of `model` as a state file (the layout of the server's state directory).
    #[wasm_bindgen(js_name = exportState)]
    pub fn export_state(&self, model: &Model, key: &str) -> JsResult<Uint8Array> {
        let run = || -> HostResult<Vec<u8>> {
            let (_, failed) = self.book.flush();
            if failed > 0 {
                return Err(HostError::new(
                    Code::Storage,
                    "the stream's state could not be saved to its store",
                ));
            }
            let saved = self.book.store().load(&model.alias, key)?.ok_or_else(|| {
                HostError::new(Code::UnknownStream, format!("model '{}' has no stream '{key}'", model.alias))
            })?;
            Ok(scorekit_host::streams::encode_state(
                &model.alias,
                key,
                &saved,
                (js_sys::Date::now() / 1000.0) as u64,
            ))
        };
        run().map(|b| Uint8Array::from(&b[..])).map_err(to_js)
    }

    /// Replaces stream `key` of `model` with the state in `file` (from [`Streams::export_state`]
    /// or a server's state directory). The next step restores it; a state of another module
    /// version goes through the host layer's redeploy rule (carried over for the same trained
    /// model, else the stream restarts and the imported state is archived). Answers the file's
    /// `{model, stream, readings, sha256}`.
    #[wasm_bindgen(js_name = importState)]
    pub fn import_state(&self, model: &Model, key: &str, file: &[u8]) -> JsResult<JsValue> {
        let run = || -> HostResult<JsValue> {
            scorekit_host::streams::check_key(key)?;
            let f = scorekit_host::streams::decode_state_with(file, crate::js::parse_json)
                .map_err(|e| HostError::bad_input(format!("the state file: {e}")))?;
            self.book.delete(&model.alias, key)?;
            self.book.store().save(&model.alias, key, &f.state)?;
            let o = Object::new();
            set(&o, "model", f.model.as_str());
            set(&o, "stream", f.stream.as_str());
            set(&o, "readings", f.state.meta.readings as f64);
            set(&o, "sha256", f.state.meta.module_sha256.as_str());
            Ok(o.into())
        };
        run().map_err(to_js)
    }
}

/// Timestamps (text in any form the host layer accepts, or Unix seconds) as Unix seconds.
#[wasm_bindgen(js_name = parseTimestamps)]
pub fn parse_timestamps(values: &JsValue) -> JsResult<Float64Array> {
    jsonfmt::timestamps(&to_json(values, 0), "timestamps")
        .map(|ts| Float64Array::from(&ts.iter().map(|&t| t as f64).collect::<Vec<_>>()[..]))
        .map_err(to_js)
}

/// CSV text as records, read by the host layer's CSV reader (quotes, a byte-order mark, blank
/// lines): `{header: [...], records: [[...]]}` (the first record is the header).
#[wasm_bindgen(js_name = readCsv)]
pub fn read_csv(text: &str) -> JsResult<JsValue> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = scorekit_host::formats::csv::reader(body.as_bytes());
    let mut records = Vec::new();
    for r in rdr.records() {
        let r = r.map_err(|e| to_js(HostError::bad_input(format!("malformed CSV: {e}"))))?;
        if r.len() == 1 && r.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue;
        }
        records.push(r.iter().map(JsValue::from_str).collect::<Array>());
    }
    let o = Object::new();
    let mut it = records.into_iter();
    set(&o, "header", it.next().unwrap_or_default());
    set(&o, "records", it.map(JsValue::from).collect::<Array>());
    Ok(o.into())
}

/// The error for a module that could not be loaded: `what` is `invalid` (the browser's engine
/// refused to compile it: not Wasm, invalid code) or `unavailable` (it could not be fetched).
#[wasm_bindgen(js_name = loadError)]
pub fn load_error(what: &str, message: &str) -> JsValue {
    to_js(match what {
        "invalid" => HostError::new(Code::InvalidModule, format!("invalid model module: {message}")),
        _ => HostError::new(Code::Unavailable, message),
    })
}
