//! Accepting connections with every resource a client can hold bounded:
//!
//! * **connections**: at most `max_connections` at once. When a new one arrives at the cap, the
//!   connection idle the longest (between requests) is closed to make room — an idle keep-alive
//!   connection is the cheapest thing to give up, and `/ping` keeps working under a flood of
//!   idle sockets; if every connection is busy, the new one is closed at once;
//! * **time**: a request's headers must arrive within `header_timeout` (this also closes an idle
//!   keep-alive connection after that long: hyper arms the timer while it waits for the next
//!   request); a response that the client does not read makes no progress for `io_timeout` →
//!   the connection is closed; bodies have their own deadline (`routes::read_body`).
//!
//! Served with hyper directly (HTTP/1.1), because `axum::serve` sets none of these timers.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time to receive a request's headers (and the longest a connection may sit idle).
    pub header_timeout: Duration,
    /// Longest a write may make no progress.
    pub io_timeout: Duration,
}

/// One open connection, as the accept loop sees it.
struct Tracked {
    in_flight: AtomicUsize,
    /// Asked to close (it no longer counts against the cap).
    closing: std::sync::atomic::AtomicBool,
    /// Milliseconds since the loop started, at the last request start or end.
    last_active_ms: AtomicU64,
    close: Notify,
}

/// The open connections.
#[derive(Default)]
pub struct Connections {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Tracked>>>,
    /// Connections closed to make room for new ones.
    pub evicted: AtomicU64,
    /// Connections refused because every open one was busy.
    pub refused: AtomicU64,
}

impl Connections {
    /// Connections open now.
    pub fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes room for one more connection under `cap`: closes the longest-idle one if needed.
    /// Returns false when every open connection is busy.
    fn make_room(&self, cap: usize) -> bool {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let counted = open.values().filter(|t| !t.closing.load(Ordering::Relaxed)).count();
        if counted < cap {
            return true;
        }
        let victim = open
            .values()
            .filter(|t| !t.closing.load(Ordering::Relaxed) && t.in_flight.load(Ordering::Relaxed) == 0)
            .min_by_key(|t| t.last_active_ms.load(Ordering::Relaxed));
        match victim {
            Some(t) => {
                t.closing.store(true, Ordering::Relaxed);
                t.close.notify_one();
                self.evicted.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}

/// A write that makes no progress for `timeout` fails, so a client that stops reading cannot
/// hold a connection (and its response) forever.
struct TimeoutIo<T> {
    inner: T,
    timeout: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T: AsyncRead + Unpin> AsyncRead for TimeoutIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> TimeoutIo<T> {
    fn watch<R>(&mut self, cx: &mut Context<'_>, r: Poll<std::io::Result<R>>) -> Poll<std::io::Result<R>> {
        match r {
            Poll::Pending => {
                let timeout = self.timeout;
                let sleep = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client read nothing for too long",
                    )));
                }
                Poll::Pending
            }
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimeoutIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting and waits for
/// the open connections to finish their requests (each is asked to close once idle).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    connections: Arc<Connections>,
    shutdown: impl Future<Output = ()>,
) {
    let started = Instant::now();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let (tcp, _) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning; the cap keeps us below it.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if !connections.make_room(limits.max_connections) {
            connections.refused.fetch_add(1, Ordering::Relaxed);
            drop(tcp);
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let id = connections.next_id.fetch_add(1, Ordering::Relaxed);
        let tracked = Arc::new(Tracked {
            in_flight: AtomicUsize::new(0),
            closing: std::sync::atomic::AtomicBool::new(false),
            last_active_ms: AtomicU64::new(started.elapsed().as_millis() as u64),
            close: Notify::new(),
        });
        connections.open.lock().unwrap_or_else(|p| p.into_inner()).insert(id, tracked.clone());
        let (router, conns) = (router.clone(), connections.clone());
        tasks.spawn(async move {
            let t = tracked.clone();
            let service = hyper::service::service_fn(move |req| {
                let (t, router) = (t.clone(), router.clone());
                t.in_flight.fetch_add(1, Ordering::Relaxed);
                async move {
                    let resp = tower::ServiceExt::oneshot(router, req).await;
                    t.in_flight.fetch_sub(1, Ordering::Relaxed);
                    t.last_active_ms.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                    resp
                }
            });
            let io = TokioIo::new(TimeoutIo { inner: tcp, timeout: limits.io_timeout, stalled: None });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
            let conn = builder.serve_connection(io, service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = tracked.close.notified() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            conns.open.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        });
        // Reap finished connection tasks so the set does not grow.
        while tasks.try_join_next().is_some() {}
    }
    // Shutdown: ask every connection to close once its request is answered.
    for t in connections.open.lock().unwrap_or_else(|p| p.into_inner()).values() {
        t.close.notify_one();
    }
    while tasks.join_next().await.is_some() {}
}
