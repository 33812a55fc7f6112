//! The one mapping of a remote endpoint's failures to the host layer's codes, and what each
//! means for retries and the circuit breaker:
//!
//! | the endpoint answered / the call ended | code (kind) | retried | breaker |
//! |---|---|---|---|
//! | `ThrottlingException`, HTTP 429, `ModelNotReadyException` | `unavailable` | yes | failure |
//! | 5xx: `ServiceUnavailable`, `InternalFailure`, `InternalDependencyException`, any 500–599 | `unavailable` | yes | failure |
//! | `ModelError` (424: the model behind the endpoint failed) | `module_failed` (model) | no | neutral |
//! | `ValidationError` and other 4xx | `bad_input` (client); 413 `too_large` (limit); 401/403 `unavailable` (credentials) | no | neutral |
//! | no answer within the timeout | `deadline_exceeded` (limit) | no | failure |
//! | no connection, a reset, a broken response | `unavailable` | no | failure |
//! | a 200 whose body is not the answer the format promises | `module_failed` (model) | no | failure |
//!
//! A scorekit server (`host serve`) as the endpoint puts the host layer's own code in its error
//! body (`{"error":{"code":…}}`); that code is kept, so a remote answers with exactly the error
//! a local module would have given. A timeout is a limit, as a local module's deadline is: the
//! server answers it 424 `ModelError`, as SageMaker does when a container does not answer in
//! time.

use aws_sdk_sagemakerruntime::config::http::HttpResponse;
use aws_sdk_sagemakerruntime::error::{ProvideErrorMetadata, SdkError};

use crate::error::{Code, HostError};

/// How one attempt ended, for the `remote_requests_total{outcome}` counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Answered.
    Ok,
    /// Throttled (429, `ThrottlingException`, model not ready).
    Throttled,
    /// A 5xx.
    ServerError,
    /// A 4xx other than throttling (validation, credentials, too large).
    ClientError,
    /// `ModelError`: the model behind the endpoint failed.
    ModelError,
    /// No answer within the timeout.
    Timeout,
    /// No connection, a reset, a response that broke off.
    Connection,
    /// A response that is not what the protocol or the format promises.
    Malformed,
    /// Refused by the open circuit breaker (no request sent).
    BreakerOpen,
}

impl Outcome {
    /// Every outcome, in the order metrics list them.
    pub const ALL: [Outcome; 9] = [
        Outcome::Ok,
        Outcome::Throttled,
        Outcome::ServerError,
        Outcome::ClientError,
        Outcome::ModelError,
        Outcome::Timeout,
        Outcome::Connection,
        Outcome::Malformed,
        Outcome::BreakerOpen,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Throttled => "throttled",
            Outcome::ServerError => "server_error",
            Outcome::ClientError => "client_error",
            Outcome::ModelError => "model_error",
            Outcome::Timeout => "timeout",
            Outcome::Connection => "connection",
            Outcome::Malformed => "malformed",
            Outcome::BreakerOpen => "breaker_open",
        }
    }

    /// Whether another attempt may succeed (throttling and 5xx only).
    pub fn retryable(self) -> bool {
        matches!(self, Outcome::Throttled | Outcome::ServerError)
    }

    /// Whether it says the endpoint is unavailable (counts toward opening the breaker).
    pub fn unavailable(self) -> bool {
        matches!(
            self,
            Outcome::Throttled
                | Outcome::ServerError
                | Outcome::Timeout
                | Outcome::Connection
                | Outcome::Malformed
        )
    }
}

/// A failed attempt: what the caller sees, and how it ended.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The error, as every host reports it.
    pub error: HostError,
    /// How the attempt ended.
    pub outcome: Outcome,
}

impl Failure {
    /// A failure of `outcome` with `code` and `message`.
    pub fn new(outcome: Outcome, code: Code, message: impl Into<String>) -> Self {
        Failure { error: HostError::new(code, message), outcome }
    }
}

/// The host layer's code and message in a scorekit server's error body, if it is one.
fn scorekit_error(body: &[u8]) -> Option<(Code, String)> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = Code::parse(doc.get("error")?.get("code")?.as_str()?)?;
    let message = doc["error"]["message"].as_str().unwrap_or_default().to_string();
    Some((code, message))
}

/// What a ModelError carries: the status and message the model's container answered.
pub struct ModelErrorParts<'a> {
    /// `OriginalStatusCode`.
    pub status: Option<i32>,
    /// `OriginalMessage`.
    pub message: Option<&'a str>,
}

/// Maps a failed SDK call against `endpoint`. `model_error` picks the ModelError fields out of
/// the operation's error type (None: not a ModelError).
pub fn classify<E>(
    endpoint: &str,
    e: &SdkError<E, HttpResponse>,
    model_error: impl Fn(&E) -> Option<ModelErrorParts<'_>>,
) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let at = |m: &str| format!("endpoint '{endpoint}': {m}");
    match e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let body = se.raw().body().bytes().unwrap_or_default();
            let err = se.err();
            let type_name = err.code().unwrap_or("");
            let message = err.message().unwrap_or("").to_string();
            let outcome = if type_name == "ThrottlingException"
                || type_name == "ModelNotReadyException"
                || status == 429
            {
                Outcome::Throttled
            } else if let Some(m) = model_error(err) {
                let ours = scorekit_error(body);
                let (code, text) = match ours {
                    Some((code, text)) => (code, text),
                    None => (
                        Code::ModuleFailed,
                        format!(
                            "the model failed (it answered {}): {}",
                            m.status.map_or_else(|| "an error".to_string(), |s| format!("HTTP {s}")),
                            m.message.unwrap_or(&message)
                        ),
                    ),
                };
                return Failure::new(Outcome::ModelError, code, at(&text));
            } else if (500..600).contains(&status) {
                Outcome::ServerError
            } else {
                Outcome::ClientError
            };
            if let Some((code, text)) = scorekit_error(body) {
                return Failure::new(outcome, code, at(&text));
            }
            let named = if type_name.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("{type_name} (HTTP {status})")
            };
            let code = match (outcome, status) {
                (Outcome::ClientError, 413) => Code::TooLarge,
                (Outcome::ClientError, 401 | 403) => Code::Unavailable,
                (Outcome::ClientError, _) => Code::BadInput,
                _ => Code::Unavailable,
            };
            let text = if message.is_empty() { named } else { format!("{named}: {message}") };
            Failure::new(outcome, code, at(&text))
        }
        SdkError::TimeoutError(_) => Failure::new(Outcome::Timeout, Code::Deadline, at("no answer in time")),
        SdkError::DispatchFailure(d) => {
            let what = if d.is_timeout() { "cannot connect in time" } else { "cannot reach it" };
            let detail = d.as_connector_error().map(|c| error_chain(c)).unwrap_or_default();
            Failure::new(Outcome::Connection, Code::Unavailable, at(&format!("{what}: {detail}")))
        }
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            Failure::new(
                Outcome::Malformed,
                Code::Unavailable,
                at(&format!("the response (HTTP {status}) cannot be read: {}", error_chain(e))),
            )
        }
        SdkError::ConstructionFailure(_) => Failure::new(
            Outcome::ClientError,
            Code::BadInput,
            at(&format!("the request cannot be built: {}", error_chain(e))),
        ),
        _ => Failure::new(Outcome::Connection, Code::Unavailable, at(&error_chain(e))),
    }
}

/// An error and its sources, joined (SDK errors put the useful part in a source).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}
