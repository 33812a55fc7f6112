//! Operational endpoints: health, metrics, the OpenAPI description, and the 404 fallback.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::App;
use crate::error::ApiError;

/// The OpenAPI description, the same bytes as `docs/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../../../docs/openapi.yaml");

/// `GET /ping`: 200 while the server runs (SageMaker's health check).
pub async fn ping() -> StatusCode {
    StatusCode::OK
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(app): State<App>) -> Response {
    let in_flight = app.config.max_concurrency.saturating_sub(app.slots.available_permits());
    let gauges = [
        ("scorekit_models", "Models served.", app.registry.len() as f64),
        ("scorekit_streams_loaded", "RCF streams in memory.", app.streams.live() as f64),
        ("scorekit_streams_live_bytes", "Memory the live RCF streams hold.", app.streams.live_bytes() as f64),
        ("scorekit_requests_in_flight", "Scoring requests running now.", in_flight as f64),
        ("scorekit_connections", "Connections open now.", app.connections.len() as f64),
        (
            "scorekit_connections_evicted_total",
            "Idle connections closed to make room at the connection cap.",
            app.connections.evicted.load(std::sync::atomic::Ordering::Relaxed) as f64,
        ),
        (
            "scorekit_connections_refused_total",
            "Connections closed at once because every open one was busy.",
            app.connections.refused.load(std::sync::atomic::Ordering::Relaxed) as f64,
        ),
        (
            "scorekit_max_concurrency",
            "Configured limit of concurrent scoring requests.",
            app.config.max_concurrency as f64,
        ),
    ];
    let mut resp = app.metrics.render(&gauges).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    resp
}

/// `GET /openapi.yaml`.
pub async fn openapi() -> Response {
    let mut resp = OPENAPI.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/yaml"));
    resp
}

/// Anything else: 404 naming the path.
pub async fn not_found(State(app): State<App>, uri: Uri) -> Response {
    app.unrouted(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} (see /openapi.yaml)", uri.path()),
    ))
}
