//! One SageMaker endpoint: the official SDK's client (credentials from the standard provider
//! chain, SigV4 signing), and one invocation with a timeout per attempt, retries with full-jitter
//! exponential backoff on throttling and 5xx only, a circuit breaker, and counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sagemakerruntime::Client;
use aws_sdk_sagemakerruntime::config::SharedHttpClient;
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_sdk_sagemakerruntime::operation::invoke_endpoint_with_response_stream::InvokeEndpointWithResponseStreamError;
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::types::ResponseStream;
use aws_smithy_http_client::tls;
use scorekit_core::rng::Rng;

use super::EndpointConfig;
use super::breaker::Breaker;
use super::errors::{Failure, ModelErrorParts, Outcome, classify, error_chain};
use crate::error::{Code, HostError, HostResult};

/// One request body and its headers.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub accept: &'static str,
    pub custom_attributes: Option<String>,
}

/// An answer body and its content type.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

/// What an endpoint counts.
#[derive(Default, Debug)]
pub struct Counters {
    /// Attempts by outcome ([`Outcome::ALL`] order).
    pub requests: [AtomicU64; Outcome::ALL.len()],
    /// Attempts that were retries.
    pub retries: AtomicU64,
}

impl Counters {
    fn count(&self, outcome: Outcome) {
        let i = Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
        self.requests[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Attempts that ended with `outcome`.
    pub fn requests(&self, outcome: Outcome) -> u64 {
        let i = Outcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
        self.requests[i].load(Ordering::Relaxed)
    }
}

/// One endpoint, shared by every scorer (and every reload of a model) that calls it.
pub struct Endpoint {
    config: EndpointConfig,
    client: Client,
    breaker: Breaker,
    counters: Counters,
    jitter: Mutex<Rng>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("endpoint_name", &self.config.endpoint_name).finish_non_exhaustive()
    }
}

/// The HTTPS client every endpoint shares (one connection pool; rustls with the `ring`
/// provider, which builds without a C toolchain beyond `cc`).
fn http_client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
                .build_https()
        })
        .clone()
}

impl Endpoint {
    /// Builds the SDK client: region, profile and credentials through the standard chain
    /// (environment, shared config and credentials files and their profiles, web identity,
    /// container and instance credentials), unless the configuration names a region or profile.
    /// The SDK's own retries are off: this endpoint retries, so that the breaker and the counters
    /// see every attempt.
    pub async fn connect(config: EndpointConfig) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .retry_config(RetryConfig::disabled())
            .timeout_config(TimeoutConfig::builder().connect_timeout(config.connect_timeout).build());
        match &config.region {
            Some(r) => loader = loader.region(aws_config::Region::new(r.clone())),
            None => {
                // The environment, then the profile; never the instance metadata service, which
                // a host not on EC2 would wait for.
                let mut profile = aws_config::profile::ProfileFileRegionProvider::builder();
                if let Some(p) = &config.profile {
                    profile = profile.profile_name(p);
                }
                let chain = aws_config::meta::region::RegionProviderChain::first_try(
                    aws_config::environment::EnvironmentVariableRegionProvider::new(),
                )
                .or_else(profile.build());
                loader = loader.region(chain);
            }
        }
        if let Some(p) = &config.profile {
            loader = loader.profile_name(p);
        }
        let shared = loader.load().await;
        let mut b = aws_sdk_sagemakerruntime::config::Builder::from(&shared);
        if let Some(url) = &config.endpoint_url {
            b = b.endpoint_url(url);
        }
        let client = Client::from_conf(b.build());
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id());
        Endpoint {
            breaker: Breaker::new(config.breaker),
            config,
            client,
            counters: Counters::default(),
            jitter: Mutex::new(Rng::seed_from_u64(seed)),
        }
    }

    /// The settings.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// The breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Full jitter: a uniform wait in [0, min(max, base × 2^retry)).
    fn backoff(&self, retry: u32) -> Duration {
        let cap = self.config.backoff.saturating_mul(1u32 << retry.min(16)).min(self.config.max_backoff);
        let micros = cap.as_micros() as u64;
        if micros == 0 {
            return Duration::ZERO;
        }
        let r = self.jitter.lock().unwrap_or_else(|e| e.into_inner()).below(micros);
        Duration::from_micros(r)
    }

    /// Sends `req`, retrying throttling and 5xx answers; every attempt has the configured
    /// timeout.
    pub(crate) async fn invoke(&self, req: &Request) -> HostResult<Answer> {
        let mut retry = 0;
        loop {
            if let Err(refused) = self.breaker.admit() {
                self.counters.count(Outcome::BreakerOpen);
                return Err(HostError::new(
                    Code::Unavailable,
                    format!(
                        "endpoint '{}': the circuit breaker is open after {} failed calls in a row; the next try goes through in {} ms",
                        self.config.endpoint_name,
                        self.config.breaker.failures,
                        refused.retry_in.as_millis()
                    ),
                ));
            }
            let attempt = tokio::time::timeout(self.config.timeout, self.attempt(req)).await;
            let failure = match attempt {
                Ok(Ok(answer)) => {
                    self.breaker.success();
                    self.counters.count(Outcome::Ok);
                    return Ok(answer);
                }
                Ok(Err(f)) => f,
                Err(_) => Failure::new(
                    Outcome::Timeout,
                    Code::Deadline,
                    format!(
                        "endpoint '{}': no answer within {} ms (the endpoint's timeout_ms)",
                        self.config.endpoint_name,
                        self.config.timeout.as_millis()
                    ),
                ),
            };
            self.counters.count(failure.outcome);
            if failure.outcome.unavailable() {
                self.breaker.failure();
            } else {
                self.breaker.neutral();
            }
            if failure.outcome.retryable() && retry < self.config.retries {
                tokio::time::sleep(self.backoff(retry)).await;
                retry += 1;
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let mut e = failure.error;
            if retry > 0 {
                e.message = format!("{} (after {} attempts)", e.message, retry + 1);
            }
            return Err(e);
        }
    }

    async fn attempt(&self, req: &Request) -> Result<Answer, Failure> {
        let c = &self.config;
        if c.response_stream {
            return self.attempt_stream(req).await;
        }
        let out = self
            .client
            .invoke_endpoint()
            .endpoint_name(&c.endpoint_name)
            .body(Blob::new(req.body.clone()))
            .content_type(req.content_type)
            .accept(req.accept)
            .set_custom_attributes(req.custom_attributes.clone())
            .set_target_variant(c.target_variant.clone())
            .set_target_model(c.target_model.clone())
            .send()
            .await
            .map_err(|e| {
                classify(&c.endpoint_name, &e, |err| match err {
                    InvokeEndpointError::ModelError(m) => Some(ModelErrorParts {
                        status: m.original_status_code(),
                        message: m.original_message(),
                    }),
                    _ => None,
                })
            })?;
        Ok(Answer {
            content_type: out.content_type().map(str::to_string),
            body: out.body.map(Blob::into_inner).unwrap_or_default(),
        })
    }

    /// InvokeEndpointWithResponseStream: the parts are joined into one answer; an error event
    /// after some parts fails the whole call (the caller gets every row or a clear error).
    async fn attempt_stream(&self, req: &Request) -> Result<Answer, Failure> {
        let c = &self.config;
        let mut out = self
            .client
            .invoke_endpoint_with_response_stream()
            .endpoint_name(&c.endpoint_name)
            .body(Blob::new(req.body.clone()))
            .content_type(req.content_type)
            .accept(req.accept)
            .set_custom_attributes(req.custom_attributes.clone())
            .set_target_variant(c.target_variant.clone())
            .send()
            .await
            .map_err(|e| {
                classify(&c.endpoint_name, &e, |err| match err {
                    InvokeEndpointWithResponseStreamError::ModelError(m) => Some(ModelErrorParts {
                        status: m.original_status_code(),
                        message: m.original_message(),
                    }),
                    _ => None,
                })
            })?;
        let mut body = Vec::new();
        loop {
            match out.body.recv().await {
                Ok(Some(ResponseStream::PayloadPart(p))) => {
                    if let Some(b) = p.bytes() {
                        body.extend_from_slice(b.as_ref());
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    use aws_sdk_sagemakerruntime::error::ProvideErrorMetadata;
                    // An error event is the model's (neutral for the breaker); a stream that
                    // cannot be decoded is the endpoint's.
                    use aws_sdk_sagemakerruntime::types::error::ResponseStreamError;
                    let (outcome, code, text) = match e.as_service_error() {
                        Some(se) => {
                            // The SDK keeps the event's type as the variant, not as a code.
                            let event = match se {
                                ResponseStreamError::ModelStreamError(_) => "ModelStreamError",
                                ResponseStreamError::InternalStreamFailure(_) => "InternalStreamFailure",
                                _ => se.code().unwrap_or("an error event"),
                            };
                            (Outcome::ModelError, event.to_string(), se.message().unwrap_or("").to_string())
                        }
                        None => (Outcome::Malformed, "a broken stream".to_string(), error_chain(&e)),
                    };
                    let (host_code, text) =
                        scorekit_stream_error(&text).unwrap_or((Code::ModuleFailed, text));
                    return Err(Failure::new(
                        outcome,
                        host_code,
                        format!(
                            "endpoint '{}': the response stream ended with {code}: {text}",
                            c.endpoint_name
                        ),
                    ));
                }
            }
        }
        Ok(Answer { content_type: out.content_type, body })
    }
}

/// A scorekit server's stream error message is `code: message`: its code is kept.
fn scorekit_stream_error(text: &str) -> Option<(Code, String)> {
    let (code, rest) = text.split_once(": ")?;
    Some((Code::parse(code)?, rest.to_string()))
}

/// Shared handle.
pub type SharedEndpoint = Arc<Endpoint>;
