//! The native JSON API under `/v1`: model listing with schemas, `name:score`, `name:explain`,
//! `name:forecast`, and RCF streams.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use scorekit_host::formats::{deepar, json as jsonfmt};
use scorekit_host::streams::StepOp;
use scorekit_host::{Family, names};
use serde_json::{Value as Json, json};

use super::{App, Handled, read_body};
use crate::error::ApiError;
use crate::formats::media::{self, Media};
use crate::formats::{rows_for_model, rows_from_body};
use crate::metrics::Endpoint;
use crate::registry::Entry;

/// The JSON description of one model version.
pub fn describe(e: &Entry) -> Json {
    let info = e.scorer.info();
    let name = &e.alias;
    let ops: &[&str] = match info.family() {
        Family::Gbt => &["score", "explain"],
        Family::Rcf => &["score", "explain", "streams"],
        Family::Forecast => &["forecast"],
    };
    json!({
        "name": name,
        "sha256": info.sha256,
        "family": info.family().as_str(),
        "size_bytes": info.size,
        "loaded_at_unix": e.loaded_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        "schema": info.schema(),
        "metrics": info.description.metrics,
        "max_horizon": info.max_horizon(),
        "operations": ops,
        "endpoints": {
            "sagemaker": format!("/endpoints/{name}/invocations"),
            "pinned": format!("/endpoints/sha256:{}/invocations", info.sha256),
        },
    })
}

/// `GET /v1/models`.
pub async fn models(State(app): State<App>) -> Response {
    let list: Vec<Json> = app.registry.list().iter().map(|e| describe(e)).collect();
    axum::Json(json!({ "models": list })).into_response()
}

/// `GET /v1/models/{name}`.
pub async fn model(State(app): State<App>, Path(name): Path<String>) -> Response {
    match app.registry.resolve(&name) {
        Ok(e) => axum::Json(describe(&e)).into_response(),
        Err(e) => app.unrouted(e),
    }
}

/// `name:action` → (name, action). The name may itself hold a colon (`sha256:…:score`).
fn split_action(spec: &str) -> Option<(&str, &str)> {
    let i = spec.rfind(':')?;
    let (name, action) = (&spec[..i], &spec[i + 1..]);
    matches!(action, "score" | "explain" | "forecast").then_some((name, action))
}

/// `POST /v1/models/{name}:score|:explain|:forecast`.
pub async fn action(
    State(app): State<App>,
    Path(spec): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let Some((name, action)) = split_action(&spec) else {
        return app.unrouted(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_action",
            format!("POST /v1/models/{spec}: use /v1/models/NAME:score, NAME:explain or NAME:forecast"),
        ));
    };
    let entry = match app.registry.resolve(name) {
        Ok(e) => e,
        Err(e) => return app.unrouted(e),
    };
    let endpoint = match action {
        "score" => Endpoint::Score,
        "explain" => Endpoint::Explain,
        _ => Endpoint::Forecast,
    };
    let result = match read_body(&headers, body, app.config.max_body_bytes, app.config.body_timeout).await {
        Ok(bytes) => {
            let e = entry.clone();
            let (policy, gaps) = (app.config.input_policy, app.config.forecast_gaps);
            let cost = match endpoint {
                Endpoint::Score => Some((&entry, super::CallCost::Score, bytes.len())),
                Endpoint::Explain => Some((&entry, super::CallCost::Explain, bytes.len())),
                _ => None,
            };
            app.run_model(cost, move || match endpoint {
                Endpoint::Forecast => forecast(&e, &headers, &bytes, gaps),
                _ => score_or_explain(&e, &headers, &bytes, endpoint == Endpoint::Explain, policy),
            })
            .await
        }
        Err(e) => Err(e),
    };
    app.finish(&entry, endpoint, started, result)
}

fn score_or_explain(
    entry: &Arc<Entry>,
    headers: &HeaderMap,
    body: &Bytes,
    explain: bool,
    policy: scorekit_host::InputPolicy,
) -> Handled {
    let info = entry.scorer.info();
    let ct = media::content_type(headers, &[Media::Json, Media::Csv, Media::JsonLines], Media::Json)?;
    let rows = rows_for_model(ct, body, info, policy, 0)?;
    let doc = if explain {
        let values = entry.scorer.explain(&rows)?;
        let features = names::explanation_terms(info.schema());
        let rows_out: Vec<&[f64]> = values.chunks(features.len()).collect();
        json!({ "model": entry.alias, "sha256": info.sha256, "features": features, "contributions": rows_out })
    } else {
        let values = entry.scorer.score(&rows)?;
        let outputs = names::score_outputs(info.schema());
        let rows_out: Vec<&[f64]> = values.chunks(outputs.len()).collect();
        json!({ "model": entry.alias, "sha256": info.sha256, "outputs": outputs, "scores": rows_out })
    };
    Ok((axum::Json(doc).into_response(), rows.n_rows()))
}

fn forecast(entry: &Entry, headers: &HeaderMap, body: &Bytes, default_gaps: scorekit_host::Gaps) -> Handled {
    let family = entry.scorer.info().family();
    if family != Family::Forecast {
        return Err(ApiError::bad_request(format!(
            "model '{}' is a {} model: forecast needs a forecast model",
            entry.alias,
            family.as_str()
        )));
    }
    media::content_type(headers, &[Media::Json], Media::Json)?;
    let doc = jsonfmt::parse(body)?;
    let Json::Object(o) = &doc else { return Err(ApiError::bad_request("the body must be a JSON object")) };
    // Same vocabulary as DeepAR, flattened: history/target, start, horizon, quantiles, samples.
    let target = o.get("history").or_else(|| o.get("target")).ok_or_else(|| {
        ApiError::bad_request("the body needs 'history': an array of numbers, oldest first")
    })?;
    let mut inst_obj = serde_json::Map::new();
    inst_obj.insert("target".into(), target.clone());
    if let Some(s) = o.get("start") {
        inst_obj.insert("start".into(), s.clone());
    }
    let inst = deepar::instance(&Json::Object(inst_obj), "request")?;
    let mut conf = serde_json::Map::new();
    if let Some(q) = o.get("quantiles") {
        conf.insert("quantiles".into(), q.clone());
    }
    let samples = o.get("num_samples").cloned().unwrap_or(json!(0));
    conf.insert("num_samples".into(), samples.clone());
    let mut types = vec![json!("mean"), json!("quantiles")];
    if samples.as_u64().unwrap_or(0) > 0 {
        types.push(json!("samples"));
    }
    conf.insert("output_types".into(), Json::Array(types));
    if let Some(h) = o.get("horizon") {
        conf.insert("prediction_length".into(), h.clone());
    }
    if let Some(s) = o.get("seed") {
        conf.insert("seed".into(), s.clone());
    }
    let c = deepar::configuration(Some(&Json::Object(conf)))?;
    // With timestamps, the history's spacing is checked (and gaps filled or refused) by the host
    // layer's one rule, exactly as `host score --timestamp-column` and SQL do.
    let (history, filled) = match o.get("timestamps") {
        Some(ts) => {
            let ts = jsonfmt::timestamps(ts, "timestamps")?;
            let gaps = match o.get("gaps") {
                None => default_gaps,
                Some(Json::String(g)) => scorekit_host::Gaps::parse(g).map_err(ApiError::bad_request)?,
                Some(other) => {
                    return Err(ApiError::bad_request(format!(
                        "'gaps' must be \"fill\" or \"refuse\", got {other}"
                    )));
                }
            };
            let h = scorekit_host::History::timed(
                &ts,
                &inst.target,
                entry.scorer.info().description.period_seconds,
                gaps,
            )?;
            let filled = h.filled;
            (h, filled)
        }
        None => (inst.history()?, 0),
    };
    let f = entry.scorer.forecast(&history, &c.query())?;
    let quantiles: serde_json::Map<String, Json> =
        c.levels.iter().zip(&f.quantiles).map(|((k, _), (_, v))| (k.clone(), json!(v))).collect();
    let doc = json!({
        "model": entry.alias,
        "sha256": entry.sha256(),
        "horizon": f.mean.len(),
        "mean": f.mean,
        "quantiles": quantiles,
        "samples": f.samples,
        "filled_steps": filled,
    });
    Ok((axum::Json(doc).into_response(), 1))
}

/// `GET /v1/models/{name}/streams`.
pub async fn streams(State(app): State<App>, Path(name): Path<String>) -> Response {
    match app.registry.resolve(&name) {
        Ok(e) => match app.streams.list(&e.alias) {
            Ok(list) => axum::Json(json!({ "model": e.alias, "streams": list })).into_response(),
            Err(err) => app.unrouted(err.into()),
        },
        Err(e) => app.unrouted(e),
    }
}

/// `POST /v1/models/{name}/streams/{key}`: score each reading, then learn it (`?learn=false`:
/// score only). Rows in any accepted shape (JSON, CSV, JSON Lines).
pub async fn stream_step(
    State(app): State<App>,
    Path((name, key)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let entry = match app.registry.resolve(&name) {
        Ok(e) => e,
        Err(e) => return app.unrouted(e),
    };
    let flag = |name: &str, default: bool| match q.get(name).map(String::as_str) {
        Some("false" | "0" | "no") => false,
        Some("true" | "1" | "yes") => true,
        _ => default,
    };
    let (learn, explain) = (flag("learn", true), flag("explain", false));
    let result = match read_body(&headers, body, app.config.max_body_bytes, app.config.body_timeout).await {
        Ok(bytes) => {
            let (e, book) = (entry.clone(), app.streams.clone());
            let policy = app.config.input_policy;
            let op = match (learn, explain) {
                (false, _) => StepOp::ScoreOnly,
                (true, false) => StepOp::Learn,
                (true, true) => StepOp::LearnExplained,
            };
            app.run_model(None, move || stream_step_blocking(&e, &book, &key, &headers, &bytes, op, policy))
                .await
        }
        Err(e) => Err(e),
    };
    app.finish(&entry, Endpoint::Stream, started, result)
}

fn stream_step_blocking(
    entry: &Entry,
    book: &scorekit_host::streams::StreamBook,
    key: &str,
    headers: &HeaderMap,
    body: &Bytes,
    op: StepOp,
    policy: scorekit_host::InputPolicy,
) -> Handled {
    let info = entry.scorer.info();
    if info.family() != Family::Rcf {
        return Err(ApiError::bad_request(format!(
            "model '{}' is a {} model: streams need an rcf model",
            entry.alias,
            info.family().as_str()
        )));
    }
    let ct = media::content_type(headers, &[Media::Json, Media::Csv, Media::JsonLines], Media::Json)?;
    let rows = rows_from_body(ct, body, info.schema(), policy)?;
    let step = book.step(&entry.scorer, &entry.alias, key, &rows, op)?;
    let terms = names::explanation_terms(info.schema());
    let results: Vec<Json> = if op == StepOp::ScoreOnly {
        step.scores.iter().map(|s| json!({ "score": s })).collect()
    } else {
        step.steps
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut o = json!({"score": r.score, "grade": r.grade, "is_anomaly": r.is_anomaly, "threshold": r.threshold});
                if op == StepOp::LearnExplained {
                    o["contributions"] = json!(step.explanations[i * terms.len()..(i + 1) * terms.len()]);
                }
                o
            })
            .collect()
    };
    let doc = json!({
        "model": entry.alias,
        "sha256": step.module_sha256,
        "stream": key,
        "readings": step.readings,
        "features": (op == StepOp::LearnExplained).then_some(terms),
        "results": results,
        "durable": step.durable,
        "notice": step.notice,
    });
    Ok((axum::Json(doc).into_response(), rows.n_rows()))
}

/// `GET /v1/models/{name}/streams/{key}`.
pub async fn stream_get(State(app): State<App>, Path((name, key)): Path<(String, String)>) -> Response {
    let entry = match app.registry.resolve(&name) {
        Ok(e) => e,
        Err(e) => return app.unrouted(e),
    };
    let list = match app.streams.list(&entry.alias) {
        Ok(l) => l,
        Err(e) => return app.unrouted(e.into()),
    };
    match list.into_iter().find(|s| s.stream == key) {
        Some(info) => axum::Json(info).into_response(),
        None => app.unrouted(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_stream",
            format!("model '{}' has no stream '{key}'", entry.alias),
        )),
    }
}

/// `DELETE /v1/models/{name}/streams/{key}`: forget the stream and its saved state.
pub async fn stream_delete(State(app): State<App>, Path((name, key)): Path<(String, String)>) -> Response {
    let entry = match app.registry.resolve(&name) {
        Ok(e) => e,
        Err(e) => return app.unrouted(e),
    };
    match app.streams.delete(&entry.alias, &key) {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => app.unrouted(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_stream",
            format!("model '{}' has no stream '{key}'", entry.alias),
        )),
        Err(e) => app.unrouted(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::split_action;

    #[test]
    fn actions_split_at_the_last_colon() {
        assert_eq!(split_action("churn:score"), Some(("churn", "score")));
        assert_eq!(split_action("sha256:abcdef12:explain"), Some(("sha256:abcdef12", "explain")));
        assert_eq!(split_action("churn"), None);
        assert_eq!(split_action("churn:delete"), None);
    }
}
