//! `scorekit-server`: serves every model module in a directory over HTTP — a drop-in for
//! SageMaker runtime endpoints (CSV for XGBoost-style classifiers, Random Cut Forest JSON, DeepAR
//! JSON, JSON Lines), a native JSON API, RCF streams whose state is kept in the server and
//! persisted to disk, an OpenAPI description, Prometheus metrics, and hot model swap.
//!
//! Main design choices:
//! * **No model logic here, no rules of its own.** Every score, explanation, forecast and stream
//!   step is a call on a `scorekit_host::Scorer`; bodies become rows, answers get their names,
//!   rows their numbers and streams their state through the shared host layer (`scorekit-host`),
//!   exactly as in every other host. The server only speaks HTTP.
//! * **Lock-free reads, atomic swaps.** The served set is an `ArcSwap` snapshot; a request holds
//!   the version it resolved until it ends, so replacing a file or calling the admin API never
//!   fails a request in flight ([`registry`]).
//! * **Bounded under abuse.** Every resource a client can make the server hold is capped
//!   ([`conn`]: connections, header/idle and write timeouts; [`routes`]: body size and time,
//!   scoring slots taken only once a body is in, model work on the blocking pool so the I/O
//!   threads stay free — except calls measured to be cheap on small bodies, and those measured
//!   under a millisecond only while another I/O thread stays free; streams: live count and
//!   bytes, see `scorekit_host::streams`).
//!   Overload is answered 503 + `Retry-After` after a time-bounded wait, never an unbounded queue.
#![deny(missing_docs)]

pub mod config;
pub mod conn;
pub mod error;
pub mod formats;
pub mod metrics;
pub mod registry;
pub mod routes;
pub mod state;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use config::ServerConfig;
pub use routes::{AppState, ROUTES, router};
use scorekit_host::ModuleLoader;
use scorekit_host::streams::{
    BookConfig, FileStore, MemoryStore, Persist, Quotas, StateStore, StreamBook, Wal,
};

/// The OpenAPI description served at `/openapi.yaml` (the checked-in `docs/openapi.yaml`).
pub const OPENAPI_YAML: &str = routes::OPENAPI_DOC;

/// Sets up structured logs on stderr: JSON lines (`json`) or human-readable text, at `level`
/// (`error`, `warn`, `info`, `debug`, `trace`). Calling it twice is harmless.
pub fn init_logging(json: bool, level: &str) {
    let level: tracing::Level = level.parse().unwrap_or(tracing::Level::INFO);
    let builder =
        tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).with_target(false);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// Builds the shared state: registry (first scan of the models directory), streams, metrics.
///
/// # Errors
/// An unreadable models directory.
pub fn build_state(config: ServerConfig, loader: Arc<dyn ModuleLoader>) -> anyhow::Result<Arc<AppState>> {
    let metrics = Arc::new(metrics::Metrics::default());
    if let Some(dir) = &config.models_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the models directory {}", dir.display()))?;
    }
    let backends = config.backends.as_ref().map(|b| b.0.clone());
    let registry = Arc::new(registry::Registry::with_backends(
        config.models_dir.clone(),
        loader,
        backends,
        metrics.clone(),
    ));
    let report = registry.scan_all();
    for (alias, err) in &report.failed {
        tracing::warn!(model = %alias, error = %err, "model not served");
    }
    registry.serve_remote_only();
    let store: Arc<dyn StateStore> = match &config.state_dir {
        Some(dir) => Arc::new(FileStore::new(dir)),
        None => Arc::new(MemoryStore::new()),
    };
    let persist = if config.persist_interval.is_zero() { Persist::EveryStep } else { Persist::Deferred };
    let book_config = BookConfig {
        max_live: config.max_live_streams,
        max_live_bytes: config.max_live_stream_bytes,
        quotas: Quotas {
            max_streams: config.max_streams,
            max_streams_per_prefix: config.max_streams_per_prefix,
        },
        persist,
        redeploy: config.redeploy,
        shared_store: false,
    };
    let mut book = StreamBook::new(Arc::new(state::CountedStore::new(store, metrics.clone())), book_config);
    let mut logged = Vec::new();
    if let (Some(dir), true) = (&config.state_dir, config.stream_log) {
        let (wal, records) = Wal::open(dir.join(".wal")).map_err(anyhow::Error::new)?;
        book = book.with_wal(Arc::new(wal));
        logged = records;
    }
    let streams = Arc::new(book);
    if !logged.is_empty() {
        let n = logged.len();
        let report = streams.recover(logged, |alias| registry.resolve(alias).ok().map(|e| e.scorer.clone()));
        tracing::info!(
            records = n,
            streams = report.streams,
            replayed = report.steps,
            "stream log recovered"
        );
        for (model, key, why) in &report.failed {
            tracing::error!(model, stream = key, error = %why, "stream log not recovered; its records are kept");
        }
    }
    let slots = Arc::new(Semaphore::new(config.max_concurrency.max(1)));
    let connections = Arc::new(conn::Connections::default());
    // The runtime's I/O threads (none known outside a runtime: then no call shares one).
    let io_threads = tokio::runtime::Handle::try_current().map_or(1, |h| h.metrics().num_workers());
    let inline = routes::Inline::new(io_threads);
    Ok(Arc::new(AppState { registry, streams, metrics, config, slots, connections, inline }))
}

/// Serves `app` on `listener` until `shutdown` completes, then drains requests in flight (up to
/// `shutdown_grace`) and writes every changed stream state to disk.
///
/// # Errors
/// A failure of the listener.
pub async fn serve(
    app: Arc<AppState>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let reload = app.config.reload_interval;
    if !reload.is_zero() && app.registry.dir().is_some() {
        let registry = app.registry.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(reload);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let r = registry.clone();
                let _ = tokio::task::spawn_blocking(move || r.scan()).await;
            }
        });
    }
    let persist = app.config.persist_interval;
    if !persist.is_zero() {
        let store = app.streams.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(persist);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let s = store.clone();
                let _ = tokio::task::spawn_blocking(move || s.flush()).await;
            }
        });
    }
    let grace = app.config.shutdown_grace;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let signalled = async move {
        shutdown.await;
        let _ = tx.send(());
    };
    let limits = conn::ConnLimits {
        max_connections: app.config.max_connections.max(1),
        header_timeout: app.config.header_timeout,
        io_timeout: app.config.io_timeout,
    };
    let server = conn::serve(listener, router(app.clone()), limits, app.connections.clone(), signalled);
    let mut server = std::pin::pin!(server);
    tokio::select! {
        () = &mut server => {},
        _ = async { let _ = rx.await; tokio::time::sleep(grace).await } => {
            tracing::warn!("requests still running after the shutdown grace period; stopping anyway");
        }
    }
    let store = app.streams.clone();
    let (saved, failed) = tokio::task::spawn_blocking(move || store.flush()).await.unwrap_or((0, 1));
    tracing::info!(saved, failed, "stream states written; server stopped");
    if failed > 0 {
        anyhow::bail!("{failed} stream state(s) could not be written on shutdown");
    }
    Ok(())
}

/// Resolves when the process receives SIGTERM or Ctrl-C. The SIGTERM handler is installed when
/// this is called, not when it is first polled: a supervisor that reads the address and stops the
/// server at once must find the handler in place (else SIGTERM kills the process, state unsaved).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
        tracing::info!("shutdown signal received; draining requests");
    }
}

/// Runs a server to completion on its own multi-threaded Tokio runtime: binds, prints
/// `listening on http://ADDR` on stdout (so scripts using port 0 learn the port), serves until
/// SIGTERM/Ctrl-C.
///
/// # Errors
/// Bind failure, unreadable models directory, or state that could not be saved on shutdown.
pub fn run(config: ServerConfig, loader: Arc<dyn ModuleLoader>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("scorekit-http")
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let bind = config.bind;
        let app = build_state(config, loader)?;
        let listener = TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
        let addr = listener.local_addr()?;
        let names: Vec<String> = app.registry.list().iter().map(|e| e.alias.clone()).collect();
        let shutdown = shutdown_signal();
        tracing::info!(%addr, models = ?names, "serving");
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening on http://{addr} (models: {})", names.join(", "));
            let _ = out.flush();
        }
        serve(app, listener, shutdown).await
    })
}
