//! [`Scorer`] over a remote SageMaker endpoint (feature `remote`), through the official AWS SDK
//! for Rust (`aws-sdk-sagemakerruntime`, SigV4 signing, the standard credential chain).
//!
//! Rows are written in the format of the built-in algorithm the family stands in for, and the
//! answer is read back with the same host-layer formats the server writes it with:
//!
//! | family | request (`content_type`) | answer (`accept`) |
//! |---|---|---|
//! | gbt (XGBoost) | `text/csv`, rows as Aurora MySQL sends them (default), or RCF-style JSON / JSON Lines | `text/csv`: the XGBoost container's one comma-joined line, or one value per line (default); JSON, JSON Lines |
//! | rcf (Random Cut Forest) | `application/json` `{"instances":[{"features":[…]}]}` (default), `text/csv`, JSON Lines | `application/json` `{"scores":[{"score":…}]}` (default), CSV, JSON Lines |
//! | forecast (DeepAR) | `application/json` DeepAR request | DeepAR `{"predictions":[…]}` |
//!
//! A batch is sent in requests of at most `max_rows_per_request` rows (Aurora's default, 10,000)
//! and `max_request_bytes` (SageMaker's 6 MiB payload limit), one after the other; every row
//! gets a value or the whole call fails with an error naming the request and its rows. Rows keep
//! their numbers: a request that does not start at row 1 carries the custom attribute
//! `scorekit-row-base=N`, which `host serve` honours (other endpoints ignore it).
//!
//! What a SageMaker endpoint cannot do, and so this scorer refuses with
//! [`Code::Unsupported`]: explanations (InvokeEndpoint has no explanation output for these
//! algorithms) and RCF streams (a SageMaker Random Cut Forest endpoint scores against its
//! trained forest and never learns; scoring without learning is [`Scorer::score`]).
//!
//! Failures map to the host layer's codes in one place ([`errors`]); retries, timeouts and the
//! circuit breaker are per endpoint ([`endpoint`]). Calls run on one process-wide runtime and the
//! caller waits with its interrupt check ([`runtime`]), so a query cancel stops a call.

pub mod breaker;
pub mod endpoint;
pub mod errors;
pub mod runtime;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use scorekit_abi::{Description, ForecastOutput, ForecastQuery, Rows};
use scorekit_core::{Family, Schema};

pub use breaker::{BreakerConfig, BreakerState};
pub use endpoint::{Endpoint, SharedEndpoint};
pub use errors::Outcome;
pub use runtime::Interrupt;

use crate::error::{Code, HostError, HostResult};
use crate::formats::{self, rows::for_each_row};
use crate::history::History;
use crate::names;
use crate::scorer::{ModelInfo, Scorer, Stat, StatKind, StreamScorer};

/// SageMaker's limit on one invocation: no timeout may be longer.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// A body format on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireFormat {
    /// `text/csv`.
    Csv,
    /// `application/json`.
    Json,
    /// `application/jsonlines`.
    JsonLines,
}

impl WireFormat {
    /// Parses a MIME type (parameters ignored).
    pub fn parse(s: &str) -> Option<Self> {
        match s.split(';').next().unwrap_or("").trim().to_ascii_lowercase().as_str() {
            "text/csv" => Some(WireFormat::Csv),
            "application/json" => Some(WireFormat::Json),
            "application/jsonlines" | "application/x-jsonlines" | "application/jsonl" => {
                Some(WireFormat::JsonLines)
            }
            _ => None,
        }
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            WireFormat::Csv => "text/csv",
            WireFormat::Json => "application/json",
            WireFormat::JsonLines => "application/jsonlines",
        }
    }
}

/// How to reach and call one endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointConfig {
    /// The SageMaker endpoint name.
    pub endpoint_name: String,
    /// AWS region (None: the standard chain — `AWS_REGION`, the profile's region).
    pub region: Option<String>,
    /// Endpoint URL instead of the region's (a VPC endpoint, a test server).
    pub endpoint_url: Option<String>,
    /// Profile of the shared config and credentials files (None: `AWS_PROFILE` or `default`).
    pub profile: Option<String>,
    /// Request body format (None: the family's default).
    pub content_type: Option<WireFormat>,
    /// Answer format asked for (None: the family's default).
    pub accept: Option<WireFormat>,
    /// Longest wait for one attempt's answer (at most [`MAX_TIMEOUT`]).
    pub timeout: Duration,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Further attempts after a throttled or 5xx answer.
    pub retries: u32,
    /// Backoff before the first retry is uniform in [0, `backoff`); it doubles per retry.
    pub backoff: Duration,
    /// Cap of the backoff.
    pub max_backoff: Duration,
    /// Circuit breaker.
    pub breaker: BreakerConfig,
    /// Rows per request at most.
    pub max_rows_per_request: usize,
    /// Request body bytes at most (SageMaker: 6 MiB).
    pub max_request_bytes: usize,
    /// Call InvokeEndpointWithResponseStream instead of InvokeEndpoint.
    pub response_stream: bool,
    /// `CustomAttributes` sent with every request.
    pub custom_attributes: Option<String>,
    /// `TargetVariant`.
    pub target_variant: Option<String>,
    /// `TargetModel` (multi-model endpoints).
    pub target_model: Option<String>,
}

impl EndpointConfig {
    /// Defaults for endpoint `name`: 3 s timeout, 2 retries from 50 ms backoff (capped at 1 s),
    /// a breaker opening after 5 unavailable calls for 30 s, 10,000 rows and 6 MiB per request.
    pub fn new(name: impl Into<String>) -> Self {
        EndpointConfig {
            endpoint_name: name.into(),
            region: None,
            endpoint_url: None,
            profile: None,
            content_type: None,
            accept: None,
            timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(1),
            retries: 2,
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            breaker: BreakerConfig::default(),
            max_rows_per_request: 10_000,
            max_request_bytes: 6 << 20,
            response_stream: false,
            custom_attributes: None,
            target_variant: None,
            target_model: None,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// A message naming the setting and its bounds.
    pub fn check(&self) -> Result<(), String> {
        if self.endpoint_name.is_empty() || self.endpoint_name.len() > 63 {
            return Err(format!("endpoint name '{}' must be 1-63 characters", self.endpoint_name));
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(format!(
                "timeout_ms {} must be between 1 and {} (SageMaker's limit)",
                self.timeout.as_millis(),
                MAX_TIMEOUT.as_millis()
            ));
        }
        if self.connect_timeout.is_zero() || self.connect_timeout > MAX_TIMEOUT {
            return Err("connect_timeout_ms must be between 1 and 60000".into());
        }
        if self.retries > 10 {
            return Err(format!("retries {} is more than 10", self.retries));
        }
        if self.max_rows_per_request == 0 {
            return Err("max_rows_per_request must be at least 1".into());
        }
        if self.max_request_bytes < 1024 || self.max_request_bytes > 6 << 20 {
            return Err(format!(
                "max_request_bytes {} must be between 1024 and {} (SageMaker's payload limit)",
                self.max_request_bytes,
                6 << 20
            ));
        }
        Ok(())
    }

    /// The request and answer formats for a model of `family`.
    ///
    /// # Errors
    /// A format the family cannot be sent or read in.
    pub fn wire(&self, family: Family) -> Result<(WireFormat, WireFormat), String> {
        let (ct, accept) = match family {
            Family::Gbt => {
                (self.content_type.unwrap_or(WireFormat::Csv), self.accept.unwrap_or(WireFormat::Csv))
            }
            Family::Rcf => {
                (self.content_type.unwrap_or(WireFormat::Json), self.accept.unwrap_or(WireFormat::Json))
            }
            Family::Forecast => {
                let ct = self.content_type.unwrap_or(WireFormat::Json);
                let accept = self.accept.unwrap_or(WireFormat::Json);
                if ct != WireFormat::Json || accept == WireFormat::Csv {
                    return Err(format!(
                        "a forecaster's endpoint takes DeepAR JSON (content_type application/json) and answers JSON or JSON Lines, not {} / {}",
                        ct.mime(),
                        accept.mime()
                    ));
                }
                (ct, accept)
            }
        };
        Ok((ct, accept))
    }
}

/// One request of a batch.
struct Chunk {
    body: Vec<u8>,
    /// Index of its first row in the batch.
    first: usize,
    rows: usize,
}

/// Splits `rows` into request bodies of at most `max_rows` rows and `max_bytes` bytes.
fn encode_chunks(
    rows: &Rows,
    schema: &Schema,
    format: WireFormat,
    max_rows: usize,
    max_bytes: usize,
) -> HostResult<Vec<Chunk>> {
    let (open, sep, close): (&[u8], &[u8], &[u8]) = match format {
        WireFormat::Csv => (b"", b"", b""),
        WireFormat::Json => (b"{\"instances\":[", b",", b"]}"),
        WireFormat::JsonLines => (b"", b"", b""),
    };
    let mut chunks = Vec::new();
    let mut cur = Chunk { body: open.to_vec(), first: 0, rows: 0 };
    let mut row = Vec::new();
    let row_base = rows.row_base();
    for_each_row(rows, schema, |i, values| {
        row.clear();
        match format {
            WireFormat::Csv => formats::csv::write_row(&mut row, values)?,
            WireFormat::Json => formats::json::write_features_row(&mut row, values),
            WireFormat::JsonLines => {
                formats::json::write_features_row(&mut row, values);
                row.push(b'\n');
            }
        }
        if open.len() + row.len() + close.len() > max_bytes {
            return Err(HostError::new(
                Code::TooLarge,
                format!(
                    "row {} alone is {} bytes, more than a request may hold ({max_bytes})",
                    row_base + i + 1,
                    row.len()
                ),
            ));
        }
        let extra = if cur.rows > 0 { sep.len() } else { 0 };
        if cur.rows == max_rows || cur.body.len() + extra + row.len() + close.len() > max_bytes {
            cur.body.extend_from_slice(close);
            let next = Chunk { body: open.to_vec(), first: i, rows: 0 };
            chunks.push(std::mem::replace(&mut cur, next));
        }
        if cur.rows > 0 {
            cur.body.extend_from_slice(sep);
        }
        cur.body.extend_from_slice(&row);
        cur.rows += 1;
        Ok(())
    })?;
    if cur.rows > 0 {
        cur.body.extend_from_slice(close);
        chunks.push(cur);
    }
    Ok(chunks)
}

/// Reads an answer of `n_rows` rows in `format`.
fn decode_scores(body: &[u8], format: WireFormat, schema: &Schema, n_rows: usize) -> HostResult<Vec<f64>> {
    let keys = names::record_keys(schema);
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    match format {
        WireFormat::Csv => formats::csv::parse_numbers(body, n_rows, keys.len()),
        WireFormat::Json => formats::parse_records(body, false, &keys, n_rows),
        WireFormat::JsonLines => formats::parse_records(body, true, &keys, n_rows),
    }
}

struct Inner {
    info: ModelInfo,
    endpoint: SharedEndpoint,
    content_type: WireFormat,
    accept: WireFormat,
}

/// A model served by a remote SageMaker endpoint, as a [`Scorer`]. Cheap to clone.
#[derive(Clone)]
pub struct RemoteScorer {
    inner: Arc<Inner>,
    interrupt: Option<Interrupt>,
}

impl std::fmt::Debug for RemoteScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteScorer")
            .field("endpoint", &self.inner.endpoint.config().endpoint_name)
            .finish_non_exhaustive()
    }
}

impl RemoteScorer {
    /// A scorer for the model `description` describes, served by `endpoint`. Its identity is
    /// `remote:` + the endpoint name.
    ///
    /// # Errors
    /// [`Code::BadInput`] when the endpoint's formats do not suit the model's family.
    pub fn new(endpoint: SharedEndpoint, description: Description) -> HostResult<Self> {
        let (content_type, accept) =
            endpoint.config().wire(description.family).map_err(HostError::bad_input)?;
        let info = ModelInfo::new(format!("remote:{}", endpoint.config().endpoint_name), 0, description);
        Ok(RemoteScorer { inner: Arc::new(Inner { info, endpoint, content_type, accept }), interrupt: None })
    }

    /// The same scorer, stopping its waits when `interrupt` says so (a query cancel).
    #[must_use]
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = Some(interrupt);
        self
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &SharedEndpoint {
        &self.inner.endpoint
    }

    /// Scores `rows` remotely; the future owns everything it needs (for background calls).
    pub fn score_owned(&self, rows: Rows) -> impl Future<Output = HostResult<Vec<f64>>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            let schema = inner.info.schema();
            let c = inner.endpoint.config();
            let chunks = encode_chunks(
                &rows,
                schema,
                inner.content_type,
                c.max_rows_per_request,
                c.max_request_bytes,
            )?;
            let mut out = Vec::with_capacity(rows.n_rows() * names::score_outputs(schema).len());
            let n = chunks.len();
            for (k, chunk) in chunks.into_iter().enumerate() {
                let row_base = rows.row_base() + chunk.first;
                let context = |e: HostError| {
                    if n > 1 {
                        let (a, b) = (row_base + 1, row_base + chunk.rows);
                        e.context(format!("request {} of {n} (rows {a}-{b})", k + 1))
                    } else {
                        e
                    }
                };
                let req = endpoint::Request {
                    body: chunk.body,
                    content_type: inner.content_type.mime(),
                    accept: inner.accept.mime(),
                    custom_attributes: custom_attributes(c.custom_attributes.as_deref(), row_base),
                };
                let answer = inner.endpoint.invoke(&req).await.map_err(context)?;
                let format =
                    answer.content_type.as_deref().and_then(WireFormat::parse).unwrap_or(inner.accept);
                let values = decode_scores(&answer.body, format, schema, chunk.rows)
                    .map_err(|e| malformed(&c.endpoint_name, e))
                    .map_err(context)?;
                out.extend(values);
            }
            Ok(out)
        }
    }

    /// Sends `rows` as `text/csv` asking for `text/csv` (Aurora PostgreSQL's request, whatever
    /// the configured formats) and gives back the answer's body unparsed. Rows beyond one
    /// request's bounds go in further requests; their bodies are joined by line breaks.
    pub fn csv_answer_owned(&self, rows: Rows) -> impl Future<Output = HostResult<String>> + Send + 'static {
        let bodies = self.csv_bodies_owned(rows);
        async move {
            let mut out = String::new();
            for (text, _) in bodies.await? {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&text);
            }
            Ok(out)
        }
    }

    /// As [`RemoteScorer::csv_answer_owned`], each row's answer apart: every request's body split
    /// into its rows' answers ([`formats::csv::split_answer`]).
    pub fn csv_answers_owned(
        &self,
        rows: Rows,
    ) -> impl Future<Output = HostResult<Vec<String>>> + Send + 'static {
        let bodies = self.csv_bodies_owned(rows);
        let inner = self.inner.clone();
        async move {
            let width = crate::names::score_outputs(inner.info.schema()).len();
            let endpoint = inner.endpoint.config().endpoint_name.clone();
            let mut out = Vec::new();
            for (text, n_rows) in bodies.await? {
                out.extend(
                    formats::csv::split_answer(&text, n_rows, width).map_err(|e| malformed(&endpoint, e))?,
                );
            }
            Ok(out)
        }
    }

    /// The `text/csv` bodies the endpoint answers `rows` with, one per request, with the number
    /// of rows each request held.
    fn csv_bodies_owned(
        &self,
        rows: Rows,
    ) -> impl Future<Output = HostResult<Vec<(String, usize)>>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            let c = inner.endpoint.config();
            let chunks = encode_chunks(
                &rows,
                inner.info.schema(),
                WireFormat::Csv,
                c.max_rows_per_request,
                c.max_request_bytes,
            )?;
            let mut out = Vec::with_capacity(chunks.len());
            for chunk in chunks {
                let n_rows = chunk.rows;
                let req = endpoint::Request {
                    body: chunk.body,
                    content_type: WireFormat::Csv.mime(),
                    accept: WireFormat::Csv.mime(),
                    custom_attributes: custom_attributes(
                        c.custom_attributes.as_deref(),
                        rows.row_base() + chunk.first,
                    ),
                };
                let answer = inner.endpoint.invoke(&req).await?;
                let text = String::from_utf8(answer.body).map_err(|_| {
                    malformed(
                        &c.endpoint_name,
                        HostError::new(Code::ModuleFailed, "the answer is not UTF-8 text"),
                    )
                })?;
                out.push((text, n_rows));
            }
            Ok(out)
        }
    }

    /// Forecasts remotely; the future owns everything it needs.
    pub fn forecast_owned(
        &self,
        history: History,
        query: ForecastQuery,
    ) -> impl Future<Output = HostResult<ForecastOutput>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            let c = inner.endpoint.config();
            let body = formats::deepar::write_request(&history, &query).into_bytes();
            if body.len() > c.max_request_bytes {
                return Err(HostError::new(
                    Code::TooLarge,
                    format!(
                        "the forecast request is {} bytes, more than a request may hold ({})",
                        body.len(),
                        c.max_request_bytes
                    ),
                ));
            }
            let req = endpoint::Request {
                body,
                content_type: inner.content_type.mime(),
                accept: inner.accept.mime(),
                custom_attributes: c.custom_attributes.clone(),
            };
            let answer = inner.endpoint.invoke(&req).await?;
            let lines = answer.content_type.as_deref().and_then(WireFormat::parse).unwrap_or(inner.accept)
                == WireFormat::JsonLines;
            let mut predictions = formats::deepar::parse_predictions(&answer.body, lines, &query)
                .map_err(|e| malformed(&c.endpoint_name, e))?;
            if predictions.len() != 1 {
                return Err(malformed(
                    &c.endpoint_name,
                    HostError::new(
                        Code::ModuleFailed,
                        format!("{} predictions for one series", predictions.len()),
                    ),
                ));
            }
            Ok(predictions.remove(0))
        }
    }

    fn unsupported(&self, what: &str) -> HostError {
        HostError::new(
            Code::Unsupported,
            format!(
                "model '{}' is served by the remote endpoint '{}', which cannot {what}; it needs the local module",
                self.inner.info.schema().name,
                self.inner.endpoint.config().endpoint_name
            ),
        )
    }
}

/// The request's `CustomAttributes`: the configured ones, and the row base for rows not
/// numbered from 1.
fn custom_attributes(configured: Option<&str>, row_base: usize) -> Option<String> {
    let ours = (row_base > 0).then(|| format!("scorekit-row-base={row_base}"));
    match (configured, ours) {
        (Some(c), Some(o)) => Some(format!("{c}; {o}")),
        (Some(c), None) => Some(c.to_string()),
        (None, o) => o,
    }
}

fn malformed(endpoint: &str, e: HostError) -> HostError {
    HostError::new(e.code, format!("endpoint '{endpoint}' answered malformed data: {}", e.message))
}

impl Scorer for RemoteScorer {
    fn info(&self) -> &ModelInfo {
        &self.inner.info
    }

    fn score(&self, rows: &Rows) -> HostResult<Vec<f64>> {
        runtime::wait(self.score_owned(rows.clone()), self.interrupt.as_ref())
    }

    fn csv_answer(&self, rows: &Rows) -> HostResult<String> {
        runtime::wait(self.csv_answer_owned(rows.clone()), self.interrupt.as_ref())
    }

    fn csv_answers(&self, rows: &Rows) -> HostResult<Vec<String>> {
        runtime::wait(self.csv_answers_owned(rows.clone()), self.interrupt.as_ref())
    }

    fn explain(&self, _rows: &Rows) -> HostResult<Vec<f64>> {
        Err(self.unsupported("explain (SageMaker's InvokeEndpoint has no explanation output)"))
    }

    fn forecast(&self, history: &History, query: &ForecastQuery) -> HostResult<ForecastOutput> {
        runtime::wait(self.forecast_owned(history.clone(), query.clone()), self.interrupt.as_ref())
    }

    fn open_stream(&self) -> HostResult<Box<dyn StreamScorer>> {
        Err(self.unsupported("keep a stream (a SageMaker Random Cut Forest endpoint never learns)"))
    }

    fn waits_on_network(&self) -> bool {
        true
    }

    fn stats(&self) -> Vec<Stat> {
        endpoint_stats(&self.inner.endpoint)
    }
}

/// What an endpoint reports: requests by outcome, retries, the breaker's state and openings.
pub fn endpoint_stats(e: &Endpoint) -> Vec<Stat> {
    let mut out: Vec<Stat> = Outcome::ALL
        .iter()
        .map(|o| Stat {
            name: "remote_requests_total",
            help: "Requests sent to the remote endpoint, by how they ended.",
            kind: StatKind::Counter,
            labels: vec![("outcome", o.as_str().to_string())],
            value: e.counters().requests(*o) as f64,
        })
        .collect();
    out.push(Stat {
        name: "remote_retries_total",
        help: "Requests that were retries after a throttled or 5xx answer.",
        kind: StatKind::Counter,
        labels: vec![],
        value: e.counters().retries.load(std::sync::atomic::Ordering::Relaxed) as f64,
    });
    out.push(Stat {
        name: "remote_breaker_state",
        help: "Circuit breaker of the remote endpoint: 0 closed, 1 half-open, 2 open.",
        kind: StatKind::Gauge,
        labels: vec![],
        value: e.breaker().state() as u8 as f64,
    });
    out.push(Stat {
        name: "remote_breaker_opened_total",
        help: "Times the remote endpoint's circuit breaker opened.",
        kind: StatKind::Counter,
        labels: vec![],
        value: e.breaker().times_opened() as f64,
    });
    out
}
