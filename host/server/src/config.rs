//! Server settings. Every field has a CLI flag in `host serve` (see `docs/server.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use scorekit_host::streams::Redeploy;
use scorekit_host::{Gaps, InputPolicy};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free port; the actual address is printed).
    pub bind: SocketAddr,
    /// Directory of `*.wasm` modules, watched for changes (None: admin-installed models only).
    pub models_dir: Option<PathBuf>,
    /// Directory where RCF stream states are persisted (None: streams live in memory only).
    pub state_dir: Option<PathBuf>,
    /// Bearer token guarding `/admin/*` (None: the admin API answers 403).
    pub admin_token: Option<String>,
    /// Largest scoring request body (default 6 MiB, SageMaker's limit).
    pub max_body_bytes: usize,
    /// Largest module upload on the admin API.
    pub max_module_bytes: usize,
    /// Scoring requests running at once; more wait up to `queue_timeout`, then get 503.
    pub max_concurrency: usize,
    /// How long a request waits for a free slot before 503 + Retry-After.
    pub queue_timeout: Duration,
    /// How often the models directory is checked for changes (zero: never).
    pub reload_interval: Duration,
    /// How often changed stream states are written to disk (zero: after every request).
    pub persist_interval: Duration,
    /// Streams kept live in memory at once (least recently used ones are saved and evicted).
    pub max_live_streams: usize,
    /// Memory the live streams may hold together, in bytes (then the least recently used are
    /// saved and evicted).
    pub max_live_stream_bytes: usize,
    /// Streams one model may have in all, live and saved (0: no bound).
    pub max_streams: usize,
    /// Streams one model may have per key prefix (the part of the key before the first `/` or
    /// `:`; 0: no bound), so one caller cannot fill `max_streams`.
    pub max_streams_per_prefix: usize,
    /// Log every stream step before acknowledging it (needs `state_dir`): no acknowledged reading
    /// is lost whatever kills the process.
    pub stream_log: bool,
    /// Connections open at once (keep it below the process's file-descriptor limit).
    pub max_connections: usize,
    /// Time to receive a request's headers; also how long a connection may sit idle.
    pub header_timeout: Duration,
    /// Time to receive a request's body.
    pub body_timeout: Duration,
    /// Longest a response write may make no progress (a client that stops reading).
    pub io_timeout: Duration,
    /// How long graceful shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// What null and absent inputs become (the host layer's policy; same default everywhere).
    pub input_policy: InputPolicy,
    /// What happens to a stream's state when its model is replaced.
    pub redeploy: Redeploy,
    /// What a gap in a timestamped forecast history becomes (a request may override it).
    pub forecast_gaps: Gaps,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            models_dir: None,
            state_dir: None,
            admin_token: None,
            max_body_bytes: 6 << 20,
            max_module_bytes: 256 << 20,
            max_concurrency: 256,
            queue_timeout: Duration::from_millis(100),
            reload_interval: Duration::from_secs(1),
            persist_interval: Duration::from_secs(5),
            max_live_streams: 1000,
            max_live_stream_bytes: 512 << 20,
            max_streams: 10_000,
            max_streams_per_prefix: 1000,
            stream_log: true,
            max_connections: 1000,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            io_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            input_policy: InputPolicy::default(),
            redeploy: Redeploy::default(),
            forecast_gaps: Gaps::default(),
        }
    }
}
