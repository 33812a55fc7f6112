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
    /// Streams kept in memory at once (least recently used ones are saved and evicted).
    pub max_streams: usize,
    /// Bodies up to this size are scored on the I/O thread (fast path); larger ones on the
    /// blocking pool so a big batch never stalls other connections.
    pub inline_body_bytes: usize,
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
            max_streams: 10_000,
            inline_body_bytes: 16 << 10,
            shutdown_grace: Duration::from_secs(10),
            input_policy: InputPolicy::default(),
            redeploy: Redeploy::default(),
            forecast_gaps: Gaps::default(),
        }
    }
}
