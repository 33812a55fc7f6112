//! The HTTP surface: routing, shared request plumbing (body limit, backpressure, blocking work,
//! metrics), and one module per API family.

mod admin;
mod native;
mod ops;
mod sagemaker;

pub use ops::OPENAPI as OPENAPI_DOC;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tokio::sync::Semaphore;

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::metrics::{Endpoint, Metrics};
use crate::registry::{Entry, Registry};
use scorekit_host::streams::StreamBook;

/// Everything a handler needs.
pub struct AppState {
    /// Served models.
    pub registry: Arc<Registry>,
    /// RCF streams.
    pub streams: Arc<StreamBook>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Settings.
    pub config: ServerConfig,
    /// Scoring slots (backpressure).
    pub slots: Arc<Semaphore>,
    /// Open connections.
    pub connections: Arc<crate::conn::Connections>,
}

/// Shared state handle.
pub type App = Arc<AppState>;

/// Every route and the method it answers, as documented in `docs/openapi.yaml` (a test checks
/// the two agree).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/ping"),
    ("post", "/invocations"),
    ("post", "/endpoints/{name}/invocations"),
    ("get", "/v1/models"),
    ("get", "/v1/models/{name}"),
    ("post", "/v1/models/{name}"),
    ("get", "/v1/models/{name}/streams"),
    ("post", "/v1/models/{name}/streams/{key}"),
    ("get", "/v1/models/{name}/streams/{key}"),
    ("delete", "/v1/models/{name}/streams/{key}"),
    ("put", "/admin/models/{name}"),
    ("delete", "/admin/models/{name}"),
    ("get", "/metrics"),
    ("get", "/openapi.yaml"),
];

/// The router.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/invocations", post(sagemaker::root_invocations))
        .route("/endpoints/{name}/invocations", post(sagemaker::endpoint_invocations))
        .route("/v1/models/{name}", post(native::action).get(native::model))
        .route(
            "/v1/models/{name}/streams/{key}",
            post(native::stream_step).get(native::stream_get).delete(native::stream_delete),
        )
        .route("/ping", get(ops::ping))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.yaml", get(ops::openapi))
        .route("/v1/models", get(native::models))
        .route("/v1/models/{name}/streams", get(native::streams))
        .route("/admin/models/{name}", put(admin::put).delete(admin::delete))
        .fallback(ops::not_found)
        // Bodies are read by `read_body`, which names the limit in its 413.
        .layer(DefaultBodyLimit::disable())
        .with_state(app)
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body exceeds the limit of {limit} bytes (--max-body-bytes)"),
    )
}

/// Reads the whole body, refusing more than `limit` bytes with a 413 that names the limit (before
/// buffering anything when `Content-Length` says so, and as soon as the limit is passed
/// otherwise), and a body that does not arrive within `timeout` with a 408.
///
/// # Errors
/// 413 over the limit; 408 too slow; 400 if the body cannot be read.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    if let Some(len) = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && len > limit as u64
    {
        return Err(too_large(limit));
    }
    let limited = http_body_util::Limited::new(body, limit);
    match tokio::time::timeout(timeout, http_body_util::BodyExt::collect(limited)).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!("the request body did not arrive within {} ms (--body-timeout-ms)", timeout.as_millis()),
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Ok(Err(e)) => Err(ApiError::bad_request(format!("cannot read the request body: {e}"))),
    }
}

/// Reads and discards up to `max` bytes of a body that will be refused, so the client gets the
/// refusal instead of a broken pipe — but never more than `max` bytes or `timeout`: a refused
/// upload is not buffered.
pub async fn drain_body(body: Body, max: usize, timeout: Duration) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut seen = 0usize;
    let _ = tokio::time::timeout(timeout, async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                seen += data.len();
                if seen > max {
                    break;
                }
            }
        }
    })
    .await;
}

/// What a model handler produced: the response and the rows it answered (for metrics).
pub type Handled = Result<(Response, usize), ApiError>;

/// Calls measured below this average run on the I/O thread: they cost less than the hop to the
/// blocking pool (a one-row churn score takes microseconds, the hop about as much and a context
/// switch more).
const INLINE_NS: u64 = 100_000;

/// Bodies above this size always go to the blocking pool.
const INLINE_BODY_BYTES: usize = 16 << 10;

/// The kinds of call whose cost is measured separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallCost {
    /// Scores (SageMaker invocations, `:score`).
    Score = 0,
    /// Explanations.
    Explain = 1,
}

/// Measured average cost (ns) of a model version's calls, per [`CallCost`]; `u64::MAX` until
/// measured, so a model's first calls always run on the blocking pool.
#[derive(Debug)]
pub struct Costs([AtomicU64; 2]);

impl Default for Costs {
    fn default() -> Self {
        Costs([AtomicU64::new(u64::MAX), AtomicU64::new(u64::MAX)])
    }
}

impl Costs {
    fn cell(&self, kind: CallCost) -> &AtomicU64 {
        &self.0[kind as usize]
    }

    /// Whether a call of `kind` with a body of `body_len` bytes may run on the I/O thread.
    fn inline(&self, kind: CallCost, body_len: usize) -> bool {
        body_len <= INLINE_BODY_BYTES && self.cell(kind).load(Ordering::Relaxed) < INLINE_NS
    }

    /// Folds one measured call into the moving average; a call ten times over the inline bound
    /// (really expensive work, not a preempted cheap call) sends the kind to the pool at once.
    fn record(&self, kind: CallCost, elapsed: Duration) {
        let ns = elapsed.as_nanos().min(u64::MAX as u128 - 1) as u64;
        let c = self.cell(kind);
        let old = c.load(Ordering::Relaxed);
        let new = if old == u64::MAX || ns > 10 * INLINE_NS { ns } else { old - old / 8 + ns / 8 };
        c.store(new, Ordering::Relaxed);
    }
}

impl AppState {
    /// Runs model work, once the request's body is in: takes one of `max_concurrency` scoring
    /// slots (waiting at most `queue_timeout`, then 503 + `Retry-After`: the queue is bounded in
    /// time, so under overload latency stays flat and clients back off), then runs `f` on the
    /// blocking pool — so `/ping` and cheap requests stay fast while expensive ones run, and a
    /// client that sends its body slowly holds no slot. The one exception: a call of a kind this
    /// model version has been measured to answer in microseconds (`costs`, small body) runs on
    /// the I/O thread, where it costs less than the hop; one slow call sends that kind back to the
    /// pool. Streams, forecasts and anything unmeasured always go to the pool.
    pub async fn run_model<F>(&self, cost: Option<(&Arc<Entry>, CallCost, usize)>, f: F) -> Handled
    where
        F: FnOnce() -> Handled + Send + 'static,
    {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                match tokio::time::timeout(self.config.queue_timeout, self.slots.clone().acquire_owned())
                    .await
                {
                    Ok(Ok(p)) => p,
                    _ => {
                        self.metrics.shed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let mut e = ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "overloaded",
                            format!(
                                "the server is at its limit of {} concurrent scoring requests; retry shortly",
                                self.config.max_concurrency
                            ),
                        );
                        e.retry_after = Some(1);
                        return Err(e);
                    }
                }
            }
        };
        if let Some((entry, kind, body_len)) = cost
            && entry.costs.inline(kind, body_len)
        {
            let started = Instant::now();
            let r = f();
            drop(permit);
            entry.costs.record(kind, started.elapsed());
            return r;
        }
        let measured = cost.map(|(e, k, _)| (e.clone(), k));
        let r = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let r = f();
            drop(permit);
            if let Some((e, k)) = measured {
                e.costs.record(k, started.elapsed());
            }
            r
        })
        .await;
        match r {
            Ok(r) => r,
            Err(e) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("scoring task failed: {e}"),
            )),
        }
    }

    /// Records a finished model request and logs failures.
    pub fn finish(&self, entry: &Entry, endpoint: Endpoint, started: Instant, result: Handled) -> Response {
        let (mut resp, rows) = match result {
            Ok(r) => r,
            Err(e) => {
                if e.status.is_server_error() {
                    tracing::warn!(model = %entry.alias, status = e.status.as_u16(), error = %e.message, "request failed");
                } else {
                    tracing::debug!(model = %entry.alias, status = e.status.as_u16(), error = %e.message, "request refused");
                }
                (e.into_response(), 0)
            }
        };
        if let Ok(v) = HeaderValue::from_str(entry.sha256()) {
            resp.headers_mut().insert("x-scorekit-model-sha256", v);
        }
        let elapsed: Duration = started.elapsed();
        self.metrics.record(&entry.alias, endpoint, resp.status().as_u16(), rows, elapsed);
        resp
    }

    /// Counts an error answered before a model was resolved.
    pub fn unrouted(&self, e: ApiError) -> Response {
        self.metrics.unrouted_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(status = e.status.as_u16(), error = %e.message, "request refused");
        e.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::{OPENAPI_DOC, ROUTES};

    /// Every route the router serves is documented in docs/openapi.yaml under its path, with its
    /// method, and the document lists no path the router lacks.
    #[test]
    fn openapi_documents_exactly_the_routes() {
        let mut documented: Vec<(String, String)> = Vec::new();
        let mut path: Option<String> = None;
        let mut in_paths = false;
        for line in OPENAPI_DOC.lines() {
            if line == "paths:" {
                in_paths = true;
                continue;
            }
            if in_paths && !line.starts_with(' ') && !line.is_empty() {
                break;
            }
            if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
                path = Some(format!("/{p}"));
            } else if let Some(m) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':'))
                && ["get", "post", "put", "delete"].contains(&m)
            {
                documented.push((m.to_string(), path.clone().expect("method before any path")));
            }
        }
        let mut served: Vec<(String, String)> =
            ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        documented.sort();
        served.sort();
        assert_eq!(documented, served);
    }
}
