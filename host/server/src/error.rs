//! One error type for every handler, rendered once at the boundary.
//!
//! The body is `{"error": {"code": ..., "message": ...}, "message": ...}`; the `x-amzn-ErrorType` header carries
//! the SageMaker error name so that boto3 raises the exception class callers already catch
//! (`ValidationError`, `ModelError`, `ServiceUnavailable`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::backend::CallError;

/// An error answered to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Short machine-readable code, e.g. `unknown_model`.
    pub code: &'static str,
    /// Human-readable message naming the problem.
    pub message: String,
    /// Seconds after which a retry may succeed (503 from load shedding).
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None }
    }

    /// 400 with code `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 naming the unknown model.
    pub fn unknown_model(name: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "unknown_model", format!("unknown model '{name}'"))
    }

    /// 415 naming the content type and what is accepted.
    pub fn unsupported_media(got: &str, accepted: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("content type '{got}' is not accepted here; send one of: {accepted}"),
        )
    }

    /// 406 naming the Accept header and what can be produced.
    pub fn not_acceptable(got: &str, offered: &str) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!("cannot answer in '{got}'; this endpoint produces: {offered}"),
        )
    }

    /// The SageMaker error name for this status.
    fn amzn_type(&self) -> &'static str {
        match self.status.as_u16() {
            404 => "ValidationError",
            400..=499 => "ValidationError",
            503 => "ServiceUnavailable",
            _ => "ModelError",
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status.as_u16(), self.code, self.message)
    }
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        let (status, code) = match &e {
            CallError::BadInput(_) => (StatusCode::BAD_REQUEST, "bad_input"),
            CallError::Unsupported(_) => (StatusCode::BAD_REQUEST, "unsupported_operation"),
            CallError::Deadline(_) => (StatusCode::GATEWAY_TIMEOUT, "deadline_exceeded"),
            CallError::Failed(_) => (StatusCode::INTERNAL_SERVER_ERROR, "module_failed"),
            CallError::InvalidModule(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_module"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The top-level "message" is where botocore reads the text of a rest-json error.
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message }, "message": self.message });
        let mut resp = (self.status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert("x-amzn-errortype", HeaderValue::from_static(self.amzn_type()));
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        // Handlers read the code back to label the error in metrics.
        resp.extensions_mut().insert(ErrorCode(self.code));
        resp
    }
}

/// The error code of a failed response, for metrics and logs.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
