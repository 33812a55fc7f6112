//! One error type for every handler, rendered once at the boundary, and the one place where the
//! host layer's error kinds become HTTP statuses:
//!
//! | kind (`scorekit_host::Kind`) | status |
//! |---|---|
//! | client: bad input, null input, unsupported operation | 400 |
//! | client: unknown model or stream | 404 |
//! | model: invalid module (an upload) | 422 |
//! | model: the module failed (trap, internal error, malformed answer, lost stream) | 424 `ModelError` |
//! | limit: deadline, memory cap | 424 `ModelError` (SageMaker's status for a failed model; SDKs do not retry it) |
//! | limit: too large | 413 |
//! | limit: quota exceeded (streams per model or key prefix) | 429 |
//! | interrupted, unavailable | 503 with `Retry-After` |
//!
//! The body is `{"error": {"code": ..., "message": ...}, "message": ...}`; the `x-amzn-ErrorType` header carries
//! the SageMaker error name so that boto3 raises the exception class callers already catch
//! (`ValidationError`, `ModelError`, `ServiceUnavailable`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use scorekit_host::{Code, HostError, Kind};

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
            424 => "ModelError",
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

impl From<HostError> for ApiError {
    fn from(e: HostError) -> Self {
        let status = match (e.kind(), e.code) {
            (_, Code::UnknownModel | Code::UnknownStream) => StatusCode::NOT_FOUND,
            (_, Code::InvalidModule) => StatusCode::UNPROCESSABLE_ENTITY,
            (_, Code::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            (_, Code::QuotaExceeded) => StatusCode::TOO_MANY_REQUESTS,
            (_, Code::Storage) => StatusCode::INTERNAL_SERVER_ERROR,
            (Kind::Client, _) => StatusCode::BAD_REQUEST,
            (Kind::Model | Kind::Limit, _) => StatusCode::FAILED_DEPENDENCY,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        let mut out = ApiError::new(status, e.code.as_str(), e.message);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            out.retry_after = Some(1);
        }
        out
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
