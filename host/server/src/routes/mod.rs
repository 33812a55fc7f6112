//! The HTTP surface: routing, shared request plumbing (body limit, backpressure, blocking work,
//! metrics), and one module per API family.

mod admin;
mod native;
mod ops;
mod sagemaker;
mod web;

pub use ops::OPENAPI as OPENAPI_DOC;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    /// I/O threads running model calls now (bounded below the runtime's thread count).
    pub inline: Inline,
}

/// Shared state handle.
pub type App = Arc<AppState>;

/// Every route and the method it answers, as documented in `docs/openapi.yaml` (a test checks
/// the two agree).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/ping"),
    ("post", "/invocations"),
    ("post", "/endpoints/{name}/invocations"),
    ("post", "/endpoints/{name}/invocations-response-stream"),
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
    ("get", "/"),
    ("get", "/web/{file}"),
    ("get", "/web/demo/{file}"),
    ("get", "/v1/models/{name}/module"),
];

/// The router.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/invocations", post(sagemaker::root_invocations))
        .route("/endpoints/{name}/invocations", post(sagemaker::endpoint_invocations))
        .route("/endpoints/{name}/invocations-response-stream", post(sagemaker::endpoint_stream))
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
        .route("/", get(web::index))
        .route("/web/{file}", get(web::file))
        .route("/web/demo/{file}", get(web::demo_file))
        .route("/v1/models/{name}/module", get(web::module))
        .fallback(ops::not_found)
        // Bodies are read by `read_body`, which names the limit in its 413.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::map_response(stamp_request_id))
        .with_state(app)
}

/// Every response carries `x-amzn-RequestId`, as SageMaker's do (clients log it).
async fn stamp_request_id(mut resp: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

/// A fresh request id in UUID form: SHA-256 of a per-process seed and a counter (unique,
/// unpredictable enough for an id, no dependency on a random source).
pub fn request_id() -> String {
    use sha2::Digest;
    use std::sync::OnceLock;
    static SEED: OnceLock<[u8; 16]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = SEED.get_or_init(|| {
        let t =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let mut s = [0u8; 16];
        s.copy_from_slice(&sha2::Sha256::digest(format!("{t}:{}", std::process::id()))[..16]);
        s
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = sha2::Sha256::new();
    h.update(seed);
    h.update(n.to_le_bytes());
    let d = h.finalize();
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
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
    use http_body_util::BodyExt;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(len) = declared
        && len > limit as u64
    {
        // A body a little over the limit is read and discarded, so the client (still sending)
        // reads the 413 instead of a reset connection; a much larger one is not waited for.
        if len <= (limit + OVER_LIMIT_DRAIN_BYTES) as u64 {
            drain_body(body, OVER_LIMIT_DRAIN_BYTES + limit, timeout).await;
        }
        return Err(too_large(limit));
    }
    let read = async {
        let mut body = body;
        let mut buf = Vec::with_capacity(declared.map_or(0, |n| n as usize));
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
            let Some(data) = frame.data_ref() else { continue };
            if buf.len() + data.len() > limit {
                drain_body(body, OVER_LIMIT_DRAIN_BYTES, timeout).await;
                return Err(too_large(limit));
            }
            buf.extend_from_slice(data);
        }
        Ok(Bytes::from(buf))
    };
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!("the request body did not arrive within {} ms (--body-timeout-ms)", timeout.as_millis()),
        )),
        Ok(result) => result,
    }
}

/// How much of a body past the limit is read (and discarded) before the 413.
const OVER_LIMIT_DRAIN_BYTES: usize = 2 << 20;

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

/// Calls measured below this average (a batch of 100 churn rows takes ~150 µs) also run on the
/// I/O thread, but only while another I/O thread is left free ([`Inline`]): the hop to the pool
/// and back (two thread wake-ups, two sleeps) was ~10 % of a batch request's CPU, and one
/// busy I/O thread delays nobody while another one serves `/ping` and the other connections.
const INLINE_SHARED_NS: u64 = 1_000_000;

/// Bodies above this size always go to the blocking pool (a body this size bounds the rows, so
/// the work, of a call on an I/O thread).
const INLINE_BODY_BYTES: usize = 16 << 10;

/// The kinds of call whose cost is measured separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallCost {
    /// Scores (SageMaker invocations, `:score`).
    Score = 0,
    /// Explanations.
    Explain = 1,
}

/// Where a call runs, from its measured cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// On the I/O thread, always (cheaper than the hop).
    Inline,
    /// On the I/O thread if another one stays free ([`Inline::claim`]), else the pool.
    InlineShared,
    /// On the blocking pool.
    Pool,
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

    /// Where a call of `kind` with a body of `body_len` bytes runs.
    fn place(&self, kind: CallCost, body_len: usize) -> Place {
        if body_len > INLINE_BODY_BYTES {
            return Place::Pool;
        }
        match self.cell(kind).load(Ordering::Relaxed) {
            ns if ns < INLINE_NS => Place::Inline,
            ns if ns < INLINE_SHARED_NS => Place::InlineShared,
            _ => Place::Pool,
        }
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

/// How many I/O threads may run a [`Place::InlineShared`] call at once: one fewer than there are,
/// so one always polls the sockets (none on a one-thread runtime).
#[derive(Debug)]
pub struct Inline {
    running: AtomicUsize,
    max: usize,
}

impl Inline {
    /// For a runtime of `io_threads` I/O threads.
    pub fn new(io_threads: usize) -> Self {
        Inline { running: AtomicUsize::new(0), max: io_threads.saturating_sub(1) }
    }

    /// A turn to run on this I/O thread, if another one stays free; held until dropped.
    fn claim(&self) -> Option<InlineTurn<'_>> {
        let before = self.running.fetch_add(1, Ordering::AcqRel);
        let turn = InlineTurn(&self.running);
        (before < self.max).then_some(turn)
    }
}

/// A claimed [`Inline`] turn (released on drop, also when the call panics).
struct InlineTurn<'a>(&'a AtomicUsize);

impl Drop for InlineTurn<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl AppState {
    /// Runs model work, once the request's body is in: takes one of `max_concurrency` scoring
    /// slots (waiting at most `queue_timeout`, then 503 + `Retry-After`: the queue is bounded in
    /// time, so under overload latency stays flat and clients back off), then runs `f` on the
    /// blocking pool — so `/ping` and cheap requests stay fast while expensive ones run, and a
    /// client that sends its body slowly holds no slot. The exceptions, for a kind of call this
    /// model version has been measured to answer quickly (`costs`, small body): one measured in
    /// microseconds runs on the I/O thread, where it costs less than the hop; one measured under
    /// a millisecond (a batch of rows) runs there too while another I/O thread stays free
    /// ([`Inline`]). One slow call sends that kind back to the pool. Streams, forecasts and
    /// anything unmeasured always go to the pool; an inline call holds its slot like any other.
    pub async fn run_model<F>(&self, cost: Option<(&Arc<Entry>, CallCost, usize)>, f: F) -> Handled
    where
        F: FnOnce() -> Handled + Send + 'static,
    {
        let permit = self.scoring_slot().await?;
        // A scorer that may wait on the network (a remote endpoint) never runs on an I/O thread.
        if let Some((entry, kind, body_len)) = cost
            && !entry.scorer.waits_on_network()
        {
            let turn = match entry.costs.place(kind, body_len) {
                Place::Inline => Some(None),
                Place::InlineShared => self.inline.claim().map(Some),
                Place::Pool => None,
            };
            if let Some(_turn) = turn {
                let started = Instant::now();
                let r = f();
                drop(permit);
                entry.costs.record(kind, started.elapsed());
                return r;
            }
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

    /// One of `max_concurrency` scoring slots, waiting at most `queue_timeout`.
    ///
    /// # Errors
    /// 503 + `Retry-After` when none frees up in time.
    pub async fn scoring_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Ok(p);
        }
        match tokio::time::timeout(self.config.queue_timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
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
                Err(e)
            }
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
    use super::{CallCost, Costs, INLINE_BODY_BYTES, Inline, OPENAPI_DOC, Place, ROUTES};
    use std::time::Duration;

    /// Unmeasured calls go to the pool; microsecond calls run inline; sub-millisecond calls
    /// share an I/O thread; slower ones and large bodies go to the pool, and one call ten times
    /// over the inline bound sends its kind to the pool at once.
    #[test]
    fn calls_are_placed_by_their_measured_cost() {
        let c = Costs::default();
        assert_eq!(c.place(CallCost::Score, 10), Place::Pool);
        c.record(CallCost::Score, Duration::from_micros(20));
        assert_eq!(c.place(CallCost::Score, 10), Place::Inline);
        assert_eq!(c.place(CallCost::Score, INLINE_BODY_BYTES + 1), Place::Pool);
        assert_eq!(c.place(CallCost::Explain, 10), Place::Pool);
        c.record(CallCost::Score, Duration::from_millis(2));
        assert_eq!(c.place(CallCost::Score, 10), Place::Pool);
        for _ in 0..64 {
            c.record(CallCost::Score, Duration::from_micros(200));
        }
        assert_eq!(c.place(CallCost::Score, 10), Place::InlineShared);
        assert_eq!(c.place(CallCost::Score, INLINE_BODY_BYTES + 1), Place::Pool);
    }

    /// Shared inline turns leave one I/O thread free, none on a one-thread runtime, and come back
    /// when dropped.
    #[test]
    fn inline_turns_leave_an_io_thread_free() {
        assert!(Inline::new(1).claim().is_none());
        assert!(Inline::new(0).claim().is_none());
        let two = Inline::new(2);
        let a = two.claim();
        assert!(a.is_some());
        assert!(two.claim().is_none());
        drop(a);
        assert!(two.claim().is_some());
        let four = Inline::new(4);
        let turns: Vec<_> = (0..5).map(|_| four.claim()).collect();
        assert_eq!(turns.iter().filter(|t| t.is_some()).count(), 3);
        drop(turns);
        assert_eq!(four.running.load(std::sync::atomic::Ordering::Relaxed), 0);
    }

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
