//! DeepAR's inference format, so SageMaker forecasting clients work unchanged:
//! `{"instances":[{"start":"2009-11-01 00:00:00","target":[4.0,"NaN",...]}],
//!   "configuration":{"num_samples":50,"output_types":["mean","quantiles","samples"],
//!   "quantiles":["0.1","0.5","0.9"]}}` →
//! `{"predictions":[{"mean":[...],"quantiles":{"0.1":[...]},"samples":[[...]]}]}`.
//!
//! Extensions (ignored by DeepAR clients that do not send them): `configuration.prediction_length`
//! (default: the model's horizon) and `configuration.seed` (default 0; same seed, same samples).
//! `cat` and `dynamic_feat` are refused: the scorekit forecaster reads only the target.

use scorekit_abi::{ForecastOutput, ForecastQuery};
use serde_json::Value as Json;

use super::csv::fmt_f64;
use crate::error::{HostError, HostResult};
use crate::history::History;
use crate::time::parse_timestamp;

/// Quantile levels when the request names none (DeepAR's default: deciles).
pub const DEFAULT_QUANTILES: [&str; 9] = ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"];
/// Sample paths when `samples` are asked for without `num_samples`.
pub const DEFAULT_SAMPLES: u32 = 100;

/// One series to forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// History, oldest first; NaN marks a missing value.
    pub target: Vec<f64>,
    /// Unix seconds of `target[0]`.
    pub start: Option<i64>,
}

/// What to return for every instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Configuration {
    /// Sample paths drawn (0 unless samples are wanted).
    pub num_samples: u32,
    /// Return the mean.
    pub mean: bool,
    /// Return the quantiles.
    pub quantiles: bool,
    /// Return the sample paths.
    pub samples: bool,
    /// Levels as the client wrote them (the response keys) and their values.
    pub levels: Vec<(String, f64)>,
    /// Steps ahead; `None` = the model's horizon.
    pub prediction_length: Option<u32>,
    /// Seed of the sample paths.
    pub seed: u64,
}

impl Default for Configuration {
    fn default() -> Self {
        Configuration {
            num_samples: 0,
            mean: true,
            quantiles: true,
            samples: false,
            levels: DEFAULT_QUANTILES.iter().map(|q| (q.to_string(), q.parse().unwrap_or(0.5))).collect(),
            prediction_length: None,
            seed: 0,
        }
    }
}

fn bad(m: impl Into<String>) -> HostError {
    HostError::bad_input(m)
}

/// Reads one instance; `what` names it in errors.
///
/// # Errors
/// [`crate::Code::BadInput`] naming the instance and the field.
pub fn instance(v: &Json, what: &str) -> HostResult<Instance> {
    let Json::Object(o) = v else { return Err(bad(format!("{what}: an instance must be an object"))) };
    for unsupported in ["cat", "dynamic_feat"] {
        if o.contains_key(unsupported) {
            return Err(bad(format!(
                "{what}: '{unsupported}' is not supported: scorekit forecasters read only 'start' and 'target'"
            )));
        }
    }
    let Some(Json::Array(t)) = o.get("target") else {
        return Err(bad(format!("{what}: 'target' must be an array of numbers")));
    };
    let target = super::json::history_values(t).map_err(|e| e.context(format!("{what}: target")))?;
    let start = match o.get("start") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(parse_timestamp(s).map_err(|e| bad(format!("{what}: 'start': {e}")))?),
        Some(Json::Number(n)) => n.as_i64(),
        Some(other) => return Err(bad(format!("{what}: 'start' must be a timestamp string, got {other}"))),
    };
    Ok(Instance { target, start })
}

/// Reads the optional `configuration` object.
///
/// # Errors
/// [`crate::Code::BadInput`] naming the field.
pub fn configuration(v: Option<&Json>) -> HostResult<Configuration> {
    let mut c = Configuration::default();
    let Some(v) = v else { return Ok(c) };
    let Json::Object(o) = v else { return Err(bad("'configuration' must be an object")) };
    if let Some(types) = o.get("output_types") {
        let Json::Array(types) = types else {
            return Err(bad("'configuration.output_types' must be an array"));
        };
        c.mean = false;
        c.quantiles = false;
        for t in types {
            match t.as_str() {
                Some("mean") => c.mean = true,
                Some("quantiles") => c.quantiles = true,
                Some("samples") => c.samples = true,
                _ => {
                    return Err(bad(format!(
                        "'configuration.output_types': unknown type {t} (valid: \"mean\", \"quantiles\", \"samples\")"
                    )));
                }
            }
        }
    }
    if let Some(q) = o.get("quantiles") {
        let Json::Array(q) = q else { return Err(bad("'configuration.quantiles' must be an array")) };
        c.levels.clear();
        for x in q {
            let (text, val) = match x {
                Json::String(s) => (s.clone(), s.trim().parse::<f64>().ok()),
                Json::Number(n) => (n.to_string(), n.as_f64()),
                _ => (x.to_string(), None),
            };
            match val {
                Some(v) if v > 0.0 && v < 1.0 => c.levels.push((text, v)),
                _ => return Err(bad(format!("'configuration.quantiles': {x} is not a level in (0, 1)"))),
            }
        }
    }
    if let Some(n) = o.get("num_samples") {
        c.num_samples = n.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
            bad(format!("'configuration.num_samples' must be a non-negative integer, got {n}"))
        })?;
    } else if c.samples {
        c.num_samples = DEFAULT_SAMPLES;
    }
    if !c.samples {
        // Our quantiles are calibrated, not sampled: paths are drawn only when asked for.
        c.num_samples = 0;
    }
    if let Some(p) = o.get("prediction_length") {
        c.prediction_length =
            Some(p.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|&n| n > 0).ok_or_else(|| {
                bad(format!("'configuration.prediction_length' must be a positive integer, got {p}"))
            })?);
    }
    if let Some(s) = o.get("seed") {
        c.seed = s
            .as_u64()
            .ok_or_else(|| bad(format!("'configuration.seed' must be a non-negative integer, got {s}")))?;
    }
    Ok(c)
}

/// A request: instances and configuration.
///
/// # Errors
/// [`crate::Code::BadInput`] naming the problem.
pub fn request(doc: &Json) -> HostResult<(Vec<Instance>, Configuration)> {
    let Json::Object(o) = doc else { return Err(bad("the JSON body must be an object with 'instances'")) };
    let Some(Json::Array(list)) = o.get("instances") else {
        return Err(bad("the JSON body needs an 'instances' array of {\"start\", \"target\"} objects"));
    };
    if list.is_empty() {
        return Err(bad("'instances' is empty"));
    }
    let instances = list
        .iter()
        .enumerate()
        .map(|(i, v)| instance(v, &format!("instance {}", i + 1)))
        .collect::<Result<_, _>>()?;
    Ok((instances, configuration(o.get("configuration"))?))
}

impl Configuration {
    /// The forecast query for this configuration (`horizon` 0 = the model's own).
    pub fn query(&self) -> ForecastQuery {
        ForecastQuery {
            horizon: self.prediction_length.unwrap_or(0),
            quantiles: if self.quantiles { self.levels.iter().map(|l| l.1).collect() } else { Vec::new() },
            num_samples: self.num_samples,
            seed: self.seed,
            start: None,
        }
    }
}

impl Instance {
    /// The instance as a history (DeepAR gives a start and regular steps: no gaps to check).
    ///
    /// # Errors
    /// [`crate::Code::TooLarge`] for an over-long target.
    pub fn history(&self) -> HostResult<History> {
        History::untimed(self.target.clone(), self.start)
    }
}

fn array(out: &mut String, xs: &[f64]) {
    out.push('[');
    for (i, &x) in xs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        fmt_f64(out, x, "null");
    }
    out.push(']');
}

/// Writes one prediction object.
pub fn write_prediction(out: &mut String, c: &Configuration, f: &ForecastOutput) {
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
    };
    out.push('{');
    if c.mean {
        sep(out);
        out.push_str("\"mean\":");
        array(out, &f.mean);
    }
    if c.quantiles {
        sep(out);
        out.push_str("\"quantiles\":{");
        for (i, ((key, _), (_, vals))) in c.levels.iter().zip(&f.quantiles).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(key).unwrap_or_default());
            out.push(':');
            array(out, vals);
        }
        out.push('}');
    }
    if c.samples {
        sep(out);
        out.push_str("\"samples\":[");
        for (i, s) in f.samples.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            array(out, s);
        }
        out.push(']');
    }
    out.push('}');
}

/// Writes a DeepAR request for one series: what a SageMaker DeepAR endpoint reads —
/// `{"instances":[{"start","target"}],"configuration":{"output_types","quantiles",…}}`, the
/// inverse of [`request`]. A missing value is `"NaN"`; `start` is written as
/// `YYYY-MM-DD HH:MM:SS` (UTC); quantile levels as their shortest decimal text, which the answer
/// uses as keys. `num_samples` and `seed` are written only when samples are asked for, and the
/// scorekit extension `prediction_length` only for a horizon other than the model's (0).
pub fn write_request(history: &History, query: &ForecastQuery) -> String {
    let mut out = String::with_capacity(history.values.len() * 12 + 200);
    out.push_str("{\"instances\":[{");
    if let Some(start) = history.start {
        let text = crate::time::format_utc(start).unwrap_or_else(|| start.to_string());
        out.push_str("\"start\":");
        out.push_str(&serde_json::to_string(&text).unwrap_or_default());
        out.push(',');
    }
    out.push_str("\"target\":[");
    for (i, &v) in history.values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        fmt_f64(&mut out, v, "\"NaN\"");
    }
    out.push_str("]}],\"configuration\":{\"output_types\":[\"mean\"");
    if !query.quantiles.is_empty() {
        out.push_str(",\"quantiles\"");
    }
    if query.num_samples > 0 {
        out.push_str(",\"samples\"");
    }
    out.push(']');
    if !query.quantiles.is_empty() {
        out.push_str(",\"quantiles\":[");
        for (i, q) in query.quantiles.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            fmt_f64(&mut out, *q, "");
            out.push('"');
        }
        out.push(']');
    }
    if query.num_samples > 0 {
        out.push_str(&format!(",\"num_samples\":{}", query.num_samples));
        if query.seed != 0 {
            out.push_str(&format!(",\"seed\":{}", query.seed));
        }
    }
    if query.horizon > 0 {
        out.push_str(&format!(",\"prediction_length\":{}", query.horizon));
    }
    out.push_str("}}");
    out
}

/// Reads the predictions of a DeepAR answer (`{"predictions":[…]}`, or JSON Lines of
/// predictions with `lines`) for a request written by [`write_request`] with `query`: the
/// inverse of [`write_prediction`]. Quantiles come back in `query`'s order.
///
/// # Errors
/// [`crate::Code::ModuleFailed`] naming what is missing or malformed.
pub fn parse_predictions(body: &[u8], lines: bool, query: &ForecastQuery) -> HostResult<Vec<ForecastOutput>> {
    let bad = |m: String| HostError::new(crate::Code::ModuleFailed, m);
    let items: Vec<Json> = if lines {
        let text = std::str::from_utf8(body).map_err(|_| bad("the JSON Lines answer is not UTF-8".into()))?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|e| bad(format!("a line of the answer is malformed: {e}")))
            })
            .collect::<Result<_, _>>()?
    } else {
        let doc: Json =
            serde_json::from_slice(body).map_err(|e| bad(format!("the JSON answer is malformed: {e}")))?;
        match doc.get("predictions") {
            Some(Json::Array(a)) => a.clone(),
            _ => return Err(bad("the answer has no 'predictions' array".into())),
        }
    };
    let series = |v: Option<&Json>, what: &str| -> HostResult<Vec<f64>> {
        let Some(Json::Array(a)) = v else {
            return Err(bad(format!("the prediction has no '{what}' array")));
        };
        a.iter()
            .map(|x| match x {
                Json::Null => Ok(f64::NAN),
                x => x.as_f64().ok_or_else(|| bad(format!("'{what}' holds {x}, not a number"))),
            })
            .collect()
    };
    items
        .iter()
        .map(|p| {
            let mean = series(p.get("mean"), "mean")?;
            let mut quantiles = Vec::with_capacity(query.quantiles.len());
            for &q in &query.quantiles {
                let mut key = String::new();
                fmt_f64(&mut key, q, "");
                let values =
                    series(p.get("quantiles").and_then(|m| m.get(&key)), &format!("quantiles.{key}"))?;
                quantiles.push((q, values));
            }
            let samples = match p.get("samples") {
                None if query.num_samples == 0 => Vec::new(),
                Some(Json::Array(paths)) => {
                    paths.iter().map(|s| series(Some(s), "samples")).collect::<HostResult<Vec<_>>>()?
                }
                _ => return Err(bad("the prediction has no 'samples' array".into())),
            };
            let steps = mean.len();
            if quantiles.iter().any(|(_, v)| v.len() != steps) || samples.iter().any(|s| s.len() != steps) {
                return Err(bad(format!("the prediction's series are not all {steps} steps long")));
            }
            Ok(ForecastOutput { mean, quantiles, samples })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_request() {
        let doc: Json = serde_json::from_str(
            r#"{"instances":[{"start":"2009-11-01 00:00:00","target":[4.0,10.0,"NaN",100.0]}],
               "configuration":{"num_samples":50,"output_types":["mean","quantiles","samples"],"quantiles":["0.5","0.9"]}}"#,
        )
        .unwrap();
        let (inst, c) = request(&doc).unwrap();
        assert_eq!(inst[0].start, Some(1_257_033_600));
        assert!(inst[0].target[2].is_nan());
        assert_eq!((c.num_samples, c.mean, c.quantiles, c.samples), (50, true, true, true));
        assert_eq!(c.levels, vec![("0.5".to_string(), 0.5), ("0.9".to_string(), 0.9)]);
    }

    #[test]
    fn refusals() {
        let doc: Json = serde_json::from_str(r#"{"instances":[{"target":[1],"cat":[0]}]}"#).unwrap();
        assert!(request(&doc).unwrap_err().message.contains("'cat' is not supported"));
        let c: Json = serde_json::from_str(r#"{"quantiles":["1.5"]}"#).unwrap();
        assert!(configuration(Some(&c)).unwrap_err().message.contains("1.5"));
        let c: Json = serde_json::from_str(r#"{"output_types":["median"]}"#).unwrap();
        assert!(configuration(Some(&c)).is_err());
        let doc: Json = serde_json::from_str(r#"{"instances":[{"target":[1,true]}]}"#).unwrap();
        let e = request(&doc).unwrap_err().message;
        assert!(e.contains("instance 1: target: row 2: a history value must be a number, got true"), "{e}");
    }

    #[test]
    fn a_written_request_reads_back_and_answers_parse() {
        let h = History::untimed(vec![4.0, f64::NAN, 2.5], Some(1_257_033_600)).unwrap();
        let q = ForecastQuery { horizon: 2, quantiles: vec![0.1, 0.9], num_samples: 0, seed: 0, start: None };
        let text = write_request(&h, &q);
        let (inst, c) = request(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(inst[0].start, h.start);
        assert_eq!(inst[0].target[0], 4.0);
        assert!(inst[0].target[1].is_nan());
        assert_eq!(c.query(), ForecastQuery { start: None, ..q.clone() });
        let f = ForecastOutput {
            mean: vec![1.0, 2.0],
            quantiles: vec![(0.1, vec![0.5, 1.5]), (0.9, vec![1.5, 2.5])],
            samples: vec![],
        };
        let mut answer = String::from("{\"predictions\":[");
        write_prediction(&mut answer, &c, &f);
        answer.push_str("]}");
        assert_eq!(parse_predictions(answer.as_bytes(), false, &q).unwrap(), vec![f]);
        let e = parse_predictions(b"{\"predictions\":[{\"mean\":[1]}]}", false, &q).unwrap_err();
        assert!(e.message.contains("quantiles.0.1"), "{}", e.message);
    }

    #[test]
    fn writes_selected_outputs() {
        let f =
            ForecastOutput { mean: vec![1.0, 2.0], quantiles: vec![(0.5, vec![1.0, 2.5])], samples: vec![] };
        let c = Configuration { levels: vec![("0.5".into(), 0.5)], ..Configuration::default() };
        let mut s = String::new();
        write_prediction(&mut s, &c, &f);
        assert_eq!(s, r#"{"mean":[1,2],"quantiles":{"0.5":[1,2.5]}}"#);
    }
}
