//! `PUT`/`DELETE /admin/models/{name}`: install, replace or remove a model without touching the
//! file system by hand. Guarded by a bearer token; disabled (403) when none is configured.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{App, read_body};
use crate::error::ApiError;

/// A refused upload of at most this many bytes (a typical module) is read and discarded before
/// the refusal, never kept.
const REFUSED_DRAIN_BYTES: usize = 2 << 20;

/// Compares without an early exit, so response timing does not reveal a prefix of the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorize(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &app.config.admin_token else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "the admin API is disabled: start the server with --admin-token or SCOREKIT_ADMIN_TOKEN",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(g) if same(g.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the admin API needs 'Authorization: Bearer <admin token>'",
        )),
    }
}

/// `PUT /admin/models/{name}` with the module bytes as the body: 201 (new) or 200 (replaced),
/// with the model's description. The module is verified and loaded before anything changes.
pub async fn put(
    State(app): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(e) = authorize(&app, &headers) {
        // Refused before reading: at most a small upload is drained (so its client sees the
        // 401 rather than a broken pipe); a large one is never buffered, and the connection is
        // closed.
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        let mut resp = e.into_response();
        if declared <= REFUSED_DRAIN_BYTES as u64 {
            super::drain_body(body, REFUSED_DRAIN_BYTES, app.config.body_timeout).await;
        } else {
            resp.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        }
        return resp;
    }
    let bytes = match read_body(&headers, body, app.config.max_module_bytes, app.config.body_timeout).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let registry = app.registry.clone();
    let done = tokio::task::spawn_blocking(move || registry.install(&name, &bytes)).await;
    match done {
        Ok(Ok((entry, existed))) => {
            let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
            (status, axum::Json(super::native::describe(&entry))).into_response()
        }
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()).into_response(),
    }
}

/// `DELETE /admin/models/{name}`: 204; the file is deleted and the alias stops resolving.
/// Requests already holding the model finish normally.
pub async fn delete(State(app): State<App>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&app, &headers) {
        return e.into_response();
    }
    match app.registry.uninstall(&name) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_time_compare() {
        assert!(super::same(b"abc", b"abc"));
        assert!(!super::same(b"abc", b"abd"));
        assert!(!super::same(b"abc", b"ab"));
    }
}
