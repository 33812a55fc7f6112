//! SageMaker runtime compatibility: `POST /endpoints/{name}/invocations` and
//! `POST /invocations` (with `X-Amzn-SageMaker-Target-Model`), in the body formats of the
//! built-in algorithms each family stands in for:
//!
//! | family | request | default response |
//! |---|---|---|
//! | gbt (XGBoost) | `text/csv` rows, JSON `{"instances":[...]}`, JSON Lines | same type as the request: CSV one value per line; JSON `{"predictions":[{"score":p}]}` |
//! | rcf (Random Cut Forest) | JSON `{"instances":[{"features":[...]}]}`, `text/csv`, JSON Lines | `{"scores":[{"score":s}]}` |
//! | forecast (DeepAR) | JSON `{"instances":[{"start","target"}],"configuration":{...}}`, JSON Lines of instances | `{"predictions":[{"mean","quantiles","samples"}]}` |
//!
//! `Accept` picks another response type (`text/csv`, `application/json`, `application/jsonlines`).
//! SigV4 `Authorization` headers are accepted and not verified: the server is meant to sit on
//! loopback or behind a gateway that authenticates.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use scorekit_host::formats::{csv, deepar, json, write_records};
use scorekit_host::{Family, names};

use super::{App, Handled, read_body};
use crate::error::ApiError;
use crate::formats::media::{self, Media};
use crate::formats::rows_from_body;
use crate::metrics::Endpoint;
use crate::registry::Entry;

const TARGET_MODEL: &str = "x-amzn-sagemaker-target-model";

/// `TargetModel` values name a model artifact (`churn.tar.gz`, `churn.wasm`): the alias is the
/// file name without its extension.
fn target_model(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(TARGET_MODEL)?.to_str().ok()?.trim();
    let v = v.rsplit('/').next().unwrap_or(v);
    let v = v.strip_suffix(".tar.gz").or_else(|| v.strip_suffix(".wasm")).unwrap_or(v);
    (!v.is_empty()).then(|| v.to_string())
}

/// `POST /endpoints/{name}/invocations`.
pub async fn endpoint_invocations(
    State(app): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let name = target_model(&headers).unwrap_or(name);
    invoke(app, name, headers, body).await
}

/// `POST /invocations`: the model comes from `X-Amzn-SageMaker-Target-Model`, or is the only
/// one served.
pub async fn root_invocations(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let name = match target_model(&headers) {
        Some(n) => n,
        None => {
            let models = app.registry.list();
            if models.len() == 1 {
                models[0].alias.clone()
            } else {
                let names: Vec<&str> = models.iter().map(|m| m.alias.as_str()).collect();
                return app.unrouted(ApiError::bad_request(format!(
                    "POST /invocations needs the X-Amzn-SageMaker-Target-Model header: {} models are served ({})",
                    names.len(),
                    names.join(", ")
                )));
            }
        }
    };
    invoke(app, name, headers, body).await
}

async fn invoke(app: App, name: String, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let entry = match app.registry.resolve(&name) {
        Ok(e) => e,
        Err(e) => return app.unrouted(e),
    };
    let result = match read_body(&headers, body, app.config.max_body_bytes, app.config.body_timeout).await {
        Ok(bytes) => {
            let e = entry.clone();
            let policy = app.config.input_policy;
            // Forecasts are never cheap enough to run on the I/O thread; scores may be.
            let cost = (e.scorer.info().family() != Family::Forecast).then_some((
                &entry,
                super::CallCost::Score,
                bytes.len(),
            ));
            app.run_model(cost, move || handle(&e, &headers, &bytes, policy)).await
        }
        Err(e) => Err(e),
    };
    app.finish(&entry, Endpoint::Invocations, started, result)
}

fn handle(
    entry: &Arc<Entry>,
    headers: &HeaderMap,
    body: &Bytes,
    policy: scorekit_host::InputPolicy,
) -> Handled {
    let info = entry.scorer.info();
    match info.family() {
        Family::Forecast => forecast(entry, headers, body),
        family => {
            let default_in = if family == Family::Rcf { Media::Json } else { Media::Csv };
            let ct = media::content_type(headers, &[Media::Csv, Media::Json, Media::JsonLines], default_in)?;
            let default_out = if family == Family::Rcf { Media::Json } else { ct };
            let out = media::accept(headers, &[Media::Csv, Media::Json, Media::JsonLines], default_out)?;
            let rows = rows_from_body(ct, body, info.schema(), policy)?;
            let values = entry.scorer.score(&rows)?;
            let outputs = names::score_outputs(info.schema());
            let width = outputs.len();
            // SageMaker's built-in algorithms answer one value per row under the key `score`.
            let keys: Vec<&str> =
                if width == 1 { vec!["score"] } else { outputs.iter().map(String::as_str).collect() };
            let text = match out {
                Media::Csv => csv::write_lines(&values, width),
                Media::Json => {
                    let list = if family == Family::Rcf { "scores" } else { "predictions" };
                    write_records(&values, &keys, Some(list))
                }
                Media::JsonLines => write_records(&values, &keys, None),
            };
            Ok((respond(out, text), rows.n_rows()))
        }
    }
}

fn forecast(entry: &Entry, headers: &HeaderMap, body: &Bytes) -> Handled {
    let ct = media::content_type(headers, &[Media::Json, Media::JsonLines], Media::Json)?;
    let out = media::accept(headers, &[Media::Json, Media::JsonLines], Media::Json)?;
    let (instances, config) = match ct {
        Media::JsonLines => {
            let mut v = Vec::new();
            for (line, doc) in json::lines(body)? {
                v.push(deepar::instance(&doc, &format!("line {line}"))?);
            }
            (v, deepar::Configuration::default())
        }
        _ => deepar::request(&json::parse(body)?)?,
    };
    let mut text = String::new();
    if out == Media::Json {
        text.push_str("{\"predictions\":[");
    }
    for (i, inst) in instances.iter().enumerate() {
        let f = native_forecast(entry, inst, &config).map_err(|mut e| {
            if instances.len() > 1 {
                e.message = format!("instance {}: {}", i + 1, e.message);
            }
            e
        })?;
        if out == Media::Json && i > 0 {
            text.push(',');
        }
        deepar::write_prediction(&mut text, &config, &f);
        if out == Media::JsonLines {
            text.push('\n');
        }
    }
    if out == Media::Json {
        text.push_str("]}");
    }
    Ok((respond(out, text), instances.len()))
}

/// Runs one DeepAR instance through the model.
///
/// # Errors
/// The model's errors, as HTTP.
pub fn native_forecast(
    entry: &Entry,
    inst: &deepar::Instance,
    c: &deepar::Configuration,
) -> Result<scorekit_host::ForecastOutput, ApiError> {
    Ok(entry.scorer.forecast(&inst.history()?, &c.query())?)
}

/// A 200 response with `text` as `media`, plus the header SageMaker clients read.
pub fn respond(media: Media, text: String) -> Response {
    let mut resp = (axum::http::StatusCode::OK, text).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media.mime()));
    h.insert("x-amzn-invoked-production-variant", HeaderValue::from_static("AllTraffic"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_model_header_names() {
        let mut h = HeaderMap::new();
        assert_eq!(target_model(&h), None);
        h.insert(TARGET_MODEL, HeaderValue::from_static("models/churn.tar.gz"));
        assert_eq!(target_model(&h).as_deref(), Some("churn"));
        h.insert(TARGET_MODEL, HeaderValue::from_static("anomaly.wasm"));
        assert_eq!(target_model(&h).as_deref(), Some("anomaly"));
    }
}
