//! The HTTP surface: routing, shared request plumbing (body limit, backpressure, blocking work,
//! metrics), and one module per API family.

mod admin;
mod native;
mod ops;
mod sagemaker;

pub use ops::OPENAPI as OPENAPI_DOC;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
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
    let scoring = Router::new()
        .route("/invocations", post(sagemaker::root_invocations))
        .route("/endpoints/{name}/invocations", post(sagemaker::endpoint_invocations))
        .route("/v1/models/{name}", post(native::action).get(native::model))
        .route(
            "/v1/models/{name}/streams/{key}",
            post(native::stream_step).get(native::stream_get).delete(native::stream_delete),
        )
        .route_layer(middleware::from_fn_with_state(app.clone(), backpressure));
    Router::new()
        .merge(scoring)
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

/// At most `max_concurrency` scoring requests run at once; the next ones wait up to
/// `queue_timeout` for a slot, then get 503 with `Retry-After`: the queue is bounded in time, so
/// under overload latency stays flat and clients back off instead of piling up.
async fn backpressure(State(app): State<App>, req: Request, next: Next) -> Response {
    let permit = match app.slots.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            match tokio::time::timeout(app.config.queue_timeout, app.slots.clone().acquire_owned()).await {
                Ok(Ok(p)) => p,
                _ => {
                    app.metrics.shed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let mut e = ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "overloaded",
                        format!(
                            "the server is at its limit of {} concurrent scoring requests; retry shortly",
                            app.config.max_concurrency
                        ),
                    );
                    e.retry_after = Some(1);
                    return e.into_response();
                }
            }
        }
    };
    let resp = next.run(req).await;
    drop(permit);
    resp
}

/// Reads the whole body, refusing more than `limit` bytes with a 413 that names the limit.
///
/// # Errors
/// 413 over the limit; 400 if the body cannot be read.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body exceeds the limit of {limit} bytes (--max-body-bytes)"),
        )
    };
    if let Some(len) = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && len > limit as u64
    {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // The limit error is http_body_util's LengthLimitError, recognised through the chain.
        let mut cur: Option<&dyn std::error::Error> = Some(&e);
        while let Some(err) = cur {
            if err.to_string().contains("length limit exceeded") {
                return too_large();
            }
            cur = err.source();
        }
        ApiError::bad_request(format!("cannot read the request body: {e}"))
    })
}

/// What a model handler produced: the response and the rows it answered (for metrics).
pub type Handled = Result<(Response, usize), ApiError>;

impl AppState {
    /// Runs model work: inline for small bodies (no thread hop on the hot path), on the blocking
    /// pool for large ones so a big batch never stalls the I/O threads.
    pub async fn run_model<F>(&self, body_len: usize, f: F) -> Handled
    where
        F: FnOnce() -> Handled + Send + 'static,
    {
        if body_len <= self.config.inline_body_bytes {
            return f();
        }
        match tokio::task::spawn_blocking(f).await {
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
