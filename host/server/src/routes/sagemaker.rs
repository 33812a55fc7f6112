//! SageMaker runtime compatibility: `POST /endpoints/{name}/invocations` (InvokeEndpoint),
//! `POST /endpoints/{name}/invocations-response-stream` (InvokeEndpointWithResponseStream) and
//! `POST /invocations` (with `X-Amzn-SageMaker-Target-Model`, or the one model served: what a
//! SageMaker container answers), in the body formats of the built-in algorithms each family
//! stands in for:
//!
//! | family | request | default response |
//! |---|---|---|
//! | gbt (XGBoost) | `text/csv` rows, JSON `{"instances":[...]}`, JSON Lines | same type as the request: CSV as the XGBoost container answers it (every row's value on one comma-joined line; `Accept: text/csv;lines=true` or `SAGEMAKER_BATCH=true` for one line per row); JSON `{"predictions":[{"score":p}]}` |
//! | rcf (Random Cut Forest) | JSON `{"instances":[{"features":[...]}]}` (or `{"data":{"features":{"values":[...]}}}` rows), `text/csv`, JSON Lines | `{"scores":[{"score":s}]}` |
//! | forecast (DeepAR) | JSON `{"instances":[{"start","target"}],"configuration":{...}}`, JSON Lines of instances | `{"predictions":[{"mean","quantiles","samples"}]}` |
//!
//! `Accept` picks another response type (`text/csv`, `application/json`, `application/jsonlines`;
//! `X-Amzn-SageMaker-Accept` on the response-stream route). As SageMaker does: an unknown endpoint
//! is 400 `ValidationError`; `X-Amzn-SageMaker-Custom-Attributes` is echoed;
//! `X-Amzn-SageMaker-Inference-Id` and `X-Amzn-SageMaker-Target-Variant` are accepted (checked
//! against the API's limits; the variant named is the one reported as invoked). The custom
//! attribute `scorekit-row-base=N` numbers the request's rows from N + 1 (what a scorekit
//! remote scorer sends for the second and later requests of a batch). SigV4 `Authorization`
//! headers are accepted and not verified: the server is meant to sit on loopback or behind a
//! gateway that authenticates.
//!
//! The response stream is AWS event-stream framing (`application/vnd.amazon.eventstream`):
//! `PayloadPart` events whose bytes, joined, are exactly the InvokeEndpoint answer (one part per
//! 1,000 rows or per forecast series); a failure before the first part is an ordinary error
//! response, a failure after it a `ModelStreamError` event whose message starts with the host
//! layer's error code.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scorekit_host::formats::{csv, deepar, json, rows as rowsfmt, write_records};
use scorekit_host::{Family, InputPolicy, Rows, names};

use super::{App, Handled, read_body};
use crate::error::ApiError;
use crate::formats::media::{self, Media};
use crate::formats::rows_for_model;
use crate::metrics::Endpoint;
use crate::registry::Entry;

const TARGET_MODEL: &str = "x-amzn-sagemaker-target-model";
const CUSTOM_ATTRIBUTES: &str = "x-amzn-sagemaker-custom-attributes";
const INFERENCE_ID: &str = "x-amzn-sagemaker-inference-id";
const TARGET_VARIANT: &str = "x-amzn-sagemaker-target-variant";
const STREAM_ACCEPT: &str = "x-amzn-sagemaker-accept";
/// Rows scored per part of a response stream.
const STREAM_CHUNK_ROWS: usize = 1000;

/// `TargetModel` values name a model artifact (`churn.tar.gz`, `churn.wasm`): the alias is the
/// file name without its extension.
fn target_model(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(TARGET_MODEL)?.to_str().ok()?.trim();
    let v = v.rsplit('/').next().unwrap_or(v);
    let v = v.strip_suffix(".tar.gz").or_else(|| v.strip_suffix(".wasm")).unwrap_or(v);
    (!v.is_empty()).then(|| v.to_string())
}

/// Resolves an endpoint name; an unknown one is SageMaker's 400 `ValidationError`.
fn resolve(app: &App, name: &str) -> Result<Arc<Entry>, ApiError> {
    app.registry.resolve(name).map_err(|mut e| {
        if e.status == StatusCode::NOT_FOUND {
            e.status = StatusCode::BAD_REQUEST;
            e.message = format!("Endpoint {name} not found: {}", e.message);
        }
        e
    })
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

/// What a request says besides its body.
#[derive(Debug)]
struct Meta {
    /// Echoed.
    custom_attributes: Option<HeaderValue>,
    /// Reported as invoked.
    variant: HeaderValue,
    /// Rows are numbered from `row_base + 1`.
    row_base: usize,
    /// One CSV line per row instead of XGBoost's one comma-joined line.
    csv_lines: bool,
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, ApiError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_request(format!("the {name} header is not visible ASCII text")))
        })
        .transpose()
}

/// Reads and checks the SageMaker request headers (limits as the InvokeEndpoint API states them).
fn meta(headers: &HeaderMap, accept: &HeaderName, csv_lines_default: bool) -> Result<Meta, ApiError> {
    let attrs = header_text(headers, CUSTOM_ATTRIBUTES)?;
    if let Some(a) = attrs
        && a.len() > 1024
    {
        return Err(ApiError::bad_request(format!(
            "CustomAttributes is {} characters; at most 1024 are accepted",
            a.len()
        )));
    }
    let mut row_base = 0;
    for part in attrs.unwrap_or("").split([';', ',']) {
        if let Some(v) = part.trim().strip_prefix("scorekit-row-base=") {
            row_base = v.trim().parse::<u32>().map_err(|_| {
                ApiError::bad_request(format!("custom attribute scorekit-row-base={v} is not a row count"))
            })? as usize;
        }
    }
    if let Some(id) = header_text(headers, INFERENCE_ID)?
        && (id.is_empty() || id.len() > 64 || id.starts_with(char::is_whitespace))
    {
        return Err(ApiError::bad_request(
            "InferenceId must be 1-64 printable characters, not starting with a space",
        ));
    }
    let variant = match header_text(headers, TARGET_VARIANT)? {
        None => HeaderValue::from_static("AllTraffic"),
        Some(v) => {
            let ok = !v.is_empty()
                && v.len() <= 63
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !v.starts_with('-');
            if !ok {
                return Err(ApiError::bad_request(format!(
                    "TargetVariant '{v}' must be 1-63 letters, digits and hyphens, starting with a letter or digit"
                )));
            }
            HeaderValue::from_str(v)
                .map_err(|_| ApiError::bad_request("TargetVariant is not a valid header value"))?
        }
    };
    let csv_lines = csv_lines_default
        || headers.get_all(accept).iter().filter_map(|v| v.to_str().ok()).any(|v| {
            v.split(',').any(|t| {
                let mut bits = t.split(';');
                bits.next().is_some_and(|e| e.trim().eq_ignore_ascii_case("text/csv"))
                    && bits.any(|p| p.trim().eq_ignore_ascii_case("lines=true"))
            })
        });
    Ok(Meta { custom_attributes: headers.get(CUSTOM_ATTRIBUTES).cloned(), variant, row_base, csv_lines })
}

/// Writes a score answer piece by piece, so that the pieces joined are the whole answer.
struct ScoreWriter {
    out: Media,
    list: &'static str,
    keys: Vec<String>,
    width: usize,
    joined: bool,
    first: bool,
}

impl ScoreWriter {
    fn new(family: Family, schema: &scorekit_host::Schema, out: Media, meta: &Meta) -> Self {
        let width = names::score_outputs(schema).len();
        ScoreWriter {
            out,
            list: if family == Family::Rcf { "scores" } else { "predictions" },
            keys: names::record_keys(schema),
            width,
            // The XGBoost container answers every row of a CSV request on one comma-joined line.
            joined: out == Media::Csv && csv::answer_is_joined(family, width) && !meta.csv_lines,
            first: true,
        }
    }

    fn piece(&mut self, values: &[f64]) -> String {
        let keys: Vec<&str> = self.keys.iter().map(String::as_str).collect();
        let first = std::mem::replace(&mut self.first, false);
        match self.out {
            Media::Csv if self.joined => {
                let text = csv::write_joined(values);
                if first { text } else { format!(",{text}") }
            }
            Media::Csv => csv::write_lines(values, self.width),
            Media::Json => {
                let whole = write_records(values, &keys, Some(self.list));
                // `{"list":[` … `]}`: the items only, so pieces join into one document.
                let items = &whole[self.list.len() + 5..whole.len() - 2];
                if first { format!("{{\"{}\":[{items}", self.list) } else { format!(",{items}") }
            }
            Media::JsonLines => write_records(values, &keys, None),
        }
    }

    fn end(&self) -> &'static str {
        if self.out == Media::Json { "]}" } else { "" }
    }
}

/// A parsed request, ready to run.
enum Plan {
    Scores { rows: Rows, writer: ScoreWriter },
    Forecasts { instances: Vec<deepar::Instance>, config: deepar::Configuration, out: Media },
}

impl Plan {
    fn count(&self) -> usize {
        match self {
            Plan::Scores { rows, .. } => rows.n_rows(),
            Plan::Forecasts { instances, .. } => instances.len(),
        }
    }

    fn media(&self) -> Media {
        match self {
            Plan::Scores { writer, .. } => writer.out,
            Plan::Forecasts { out, .. } => *out,
        }
    }

    /// Runs the plan, handing each piece of the answer to `emit` (`false`: stop, the client is
    /// gone), `chunk_rows` rows at a time. Returns the closing text.
    fn run(
        self,
        entry: &Entry,
        chunk_rows: usize,
        mut emit: impl FnMut(String) -> bool,
    ) -> Result<&'static str, ApiError> {
        match self {
            Plan::Scores { rows, mut writer } => {
                let parts =
                    if rows.n_rows() > chunk_rows { rowsfmt::split(&rows, chunk_rows)? } else { vec![rows] };
                for part in parts {
                    let values = entry.scorer.score(&part)?;
                    if !emit(writer.piece(&values)) {
                        break;
                    }
                }
                Ok(writer.end())
            }
            Plan::Forecasts { instances, config, out } => {
                let many = instances.len() > 1;
                for (i, inst) in instances.iter().enumerate() {
                    let f = entry.scorer.forecast(&inst.history()?, &config.query()).map_err(|mut e| {
                        if many {
                            e.message = format!("instance {}: {}", i + 1, e.message);
                        }
                        ApiError::from(e)
                    })?;
                    let mut text = String::new();
                    if out == Media::Json {
                        text.push_str(if i == 0 { "{\"predictions\":[" } else { "," });
                    }
                    deepar::write_prediction(&mut text, &config, &f);
                    if out == Media::JsonLines {
                        text.push('\n');
                    }
                    if !emit(text) {
                        break;
                    }
                }
                Ok(if out == Media::Json { "]}" } else { "" })
            }
        }
    }
}

/// Parses a request into a plan: content type, answer type, rows or series.
fn plan(
    entry: &Entry,
    headers: &HeaderMap,
    body: &[u8],
    policy: InputPolicy,
    meta: &Meta,
) -> Result<Plan, ApiError> {
    let info = entry.scorer.info();
    match info.family() {
        Family::Forecast => {
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
            Ok(Plan::Forecasts { instances, config, out })
        }
        family => {
            let all = [Media::Csv, Media::Json, Media::JsonLines];
            let default_in = if family == Family::Rcf { Media::Json } else { Media::Csv };
            let ct = media::content_type(headers, &all, default_in)?;
            let default_out = if family == Family::Rcf { Media::Json } else { ct };
            let out = media::accept(headers, &all, default_out)?;
            let rows = rows_for_model(ct, body, info, policy, meta.row_base)?;
            Ok(Plan::Scores { rows, writer: ScoreWriter::new(family, info.schema(), out, meta) })
        }
    }
}

async fn invoke(app: App, name: String, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let entry = match resolve(&app, &name) {
        Ok(e) => e,
        Err(e) => return app.unrouted(e),
    };
    let meta = match meta(&headers, &header::ACCEPT, app.config.csv_lines) {
        Ok(m) => m,
        Err(e) => return app.finish(&entry, Endpoint::Invocations, started, Err(e)),
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
            app.run_model(cost, move || handle(&e, &headers, &bytes, policy, meta)).await
        }
        Err(e) => Err(e),
    };
    app.finish(&entry, Endpoint::Invocations, started, result)
}

fn handle(entry: &Arc<Entry>, headers: &HeaderMap, body: &Bytes, policy: InputPolicy, meta: Meta) -> Handled {
    let plan = plan(entry, headers, body, policy, &meta)?;
    let (count, out) = (plan.count(), plan.media());
    let mut text = String::new();
    let end = plan.run(entry, usize::MAX, |piece| {
        text.push_str(&piece);
        true
    })?;
    text.push_str(end);
    Ok((respond(out, text, &meta), count))
}

/// A 200 response with `text` as `media`, plus the headers SageMaker clients read.
fn respond(media: Media, text: String, meta: &Meta) -> Response {
    let mut resp = (StatusCode::OK, text).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media.mime()));
    h.insert("x-amzn-invoked-production-variant", meta.variant.clone());
    if let Some(a) = &meta.custom_attributes {
        h.insert(CUSTOM_ATTRIBUTES, a.clone());
    }
    resp
}

/// What the producer of a response stream hands the response.
enum Item {
    /// The plan is made: `rows` rows or series will be answered in `media`.
    Start { rows: usize, media: Media },
    /// One event-stream frame.
    Frame(Bytes),
    /// A failure before the first frame: answered as an ordinary error.
    Fail(ApiError),
}

fn frame(headers: &[(&'static str, &'static str)], payload: Bytes) -> Bytes {
    use aws_smithy_types::event_stream::{Header, HeaderValue as EventValue, Message};
    let headers = headers.iter().map(|(k, v)| Header::new(*k, EventValue::String((*v).into()))).collect();
    let mut buf = Vec::with_capacity(payload.len() + 128);
    // Writing a frame fails only for headers or payloads beyond the format's limits (16 MiB).
    if aws_smithy_eventstream::frame::write_message_to(&Message::new_from_parts(headers, payload), &mut buf)
        .is_err()
    {
        buf.clear();
    }
    Bytes::from(buf)
}

fn payload_part(text: String) -> Bytes {
    frame(
        &[
            (":message-type", "event"),
            (":event-type", "PayloadPart"),
            (":content-type", "application/octet-stream"),
        ],
        Bytes::from(text),
    )
}

/// A failure after the first part: SageMaker's `ModelStreamError` event. The message starts with
/// the host layer's code (`deadline_exceeded: …`) so a scorekit client can keep it.
fn stream_error(e: &ApiError) -> Bytes {
    let error_code = if e.code == scorekit_host::Code::Deadline.as_str() {
        "ModelInvocationTimeExceeded"
    } else {
        "StreamBroken"
    };
    let body =
        serde_json::json!({ "Message": format!("{}: {}", e.code, e.message), "ErrorCode": error_code });
    frame(
        &[
            (":message-type", "exception"),
            (":exception-type", "ModelStreamError"),
            (":content-type", "application/json"),
        ],
        Bytes::from(body.to_string()),
    )
}

/// The body of a response stream: the frames the producer sends.
struct Frames {
    first: Option<Bytes>,
    rx: tokio::sync::mpsc::Receiver<Item>,
}

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if let Some(b) = self.first.take() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(b))));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Item::Frame(b))) => Poll::Ready(Some(Ok(http_body::Frame::data(b)))),
            Poll::Ready(Some(Item::Fail(e))) => {
                Poll::Ready(Some(Ok(http_body::Frame::data(stream_error(&e)))))
            }
            Poll::Ready(Some(Item::Start { .. })) | Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// `POST /endpoints/{name}/invocations-response-stream` (InvokeEndpointWithResponseStream).
pub async fn endpoint_stream(
    State(app): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let name = target_model(&headers).unwrap_or(name);
    let entry = match resolve(&app, &name) {
        Ok(e) => e,
        Err(e) => return app.unrouted(e),
    };
    let done = |r: Handled| app.finish(&entry, Endpoint::InvocationsStream, started, r);
    // The answer type is asked for with X-Amzn-SageMaker-Accept on this route.
    let mut headers = headers;
    match headers.get(STREAM_ACCEPT).cloned() {
        Some(a) => headers.insert(header::ACCEPT, a),
        None => headers.remove(header::ACCEPT),
    };
    let meta = match meta(&headers, &header::ACCEPT, app.config.csv_lines) {
        Ok(m) => m,
        Err(e) => return done(Err(e)),
    };
    let bytes = match read_body(&headers, body, app.config.max_body_bytes, app.config.body_timeout).await {
        Ok(b) => b,
        Err(e) => return done(Err(e)),
    };
    let permit = match app.scoring_slot().await {
        Ok(p) => p,
        Err(e) => return done(Err(e)),
    };
    // A few frames of buffer: a slow reader slows the scoring down, never piles answers up.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Item>(4);
    let (e, policy, variant, attrs) =
        (entry.clone(), app.config.input_policy, meta.variant.clone(), meta.custom_attributes.clone());
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let plan = match plan(&e, &headers, &bytes, policy, &meta) {
            Ok(p) => p,
            Err(err) => {
                let _ = tx.blocking_send(Item::Fail(err));
                return;
            }
        };
        if tx.blocking_send(Item::Start { rows: plan.count(), media: plan.media() }).is_err() {
            return;
        }
        let mut sent = false;
        let result = plan.run(&e, STREAM_CHUNK_ROWS, |piece| {
            sent = true;
            tx.blocking_send(Item::Frame(payload_part(piece))).is_ok()
        });
        let _ = match result {
            Ok("") => Ok(()),
            Ok(end) => tx.blocking_send(Item::Frame(payload_part(end.to_string()))),
            Err(err) if sent => tx.blocking_send(Item::Frame(stream_error(&err))),
            Err(err) => tx.blocking_send(Item::Fail(err)),
        };
    });
    let (rows, media) = match rx.recv().await {
        Some(Item::Start { rows, media }) => (rows, media),
        Some(Item::Fail(err)) => return done(Err(err)),
        _ => {
            return done(Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the scoring task ended",
            )));
        }
    };
    let first = match rx.recv().await {
        Some(Item::Frame(f)) => f,
        Some(Item::Fail(err)) => return done(Err(err)),
        _ => {
            return done(Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the scoring task ended",
            )));
        }
    };
    let mut resp = Response::new(Body::new(Frames { first: Some(first), rx }));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.amazon.eventstream"));
    h.insert("x-amzn-sagemaker-content-type", HeaderValue::from_static(media.mime()));
    h.insert("x-amzn-invoked-production-variant", variant);
    if let Some(a) = attrs {
        h.insert(CUSTOM_ATTRIBUTES, a);
    }
    done(Ok((resp, rows)))
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

    #[test]
    fn request_headers_are_read_and_checked() {
        let mut h = HeaderMap::new();
        h.insert(CUSTOM_ATTRIBUTES, HeaderValue::from_static("trace=1; scorekit-row-base=4096"));
        h.insert(TARGET_VARIANT, HeaderValue::from_static("variant-2"));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json, text/csv;lines=true"));
        let m = meta(&h, &header::ACCEPT, false).unwrap();
        assert_eq!((m.row_base, m.csv_lines, m.variant.to_str().unwrap()), (4096, true, "variant-2"));
        h.insert(TARGET_VARIANT, HeaderValue::from_static("-bad"));
        assert!(meta(&h, &header::ACCEPT, false).unwrap_err().message.contains("TargetVariant"));
        h.remove(TARGET_VARIANT);
        h.insert(INFERENCE_ID, HeaderValue::from_str(&"x".repeat(65)).unwrap());
        assert!(meta(&h, &header::ACCEPT, false).unwrap_err().message.contains("InferenceId"));
        h.remove(INFERENCE_ID);
        h.insert(CUSTOM_ATTRIBUTES, HeaderValue::from_static("scorekit-row-base=many"));
        assert!(meta(&h, &header::ACCEPT, false).is_err());
    }

    #[test]
    fn score_pieces_join_into_the_whole_answer() {
        let schema = scorekit_host::Schema {
            name: "m".into(),
            family: Family::Gbt,
            inputs: vec![],
            target: None,
            positive_label: None,
            outputs: vec!["probability".into()],
        };
        let m = Meta {
            custom_attributes: None,
            variant: HeaderValue::from_static("AllTraffic"),
            row_base: 0,
            csv_lines: false,
        };
        for (out, whole) in [
            (Media::Csv, "0.5,0.25,1".to_string()),
            (Media::Json, r#"{"predictions":[{"score":0.5},{"score":0.25},{"score":1}]}"#.to_string()),
            (Media::JsonLines, "{\"score\":0.5}\n{\"score\":0.25}\n{\"score\":1}\n".to_string()),
        ] {
            let mut w = ScoreWriter::new(Family::Gbt, &schema, out, &m);
            let mut text = w.piece(&[0.5, 0.25]);
            text.push_str(&w.piece(&[1.0]));
            text.push_str(w.end());
            assert_eq!(text, whole);
        }
        let lines = Meta { csv_lines: true, ..m };
        let mut w = ScoreWriter::new(Family::Gbt, &schema, Media::Csv, &lines);
        assert_eq!(w.piece(&[0.5, 0.25]), "0.5\n0.25\n");
    }
}
