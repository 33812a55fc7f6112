//! The one Tokio runtime every remote call of the process runs on, and the one way a
//! synchronous caller (a [`crate::Scorer`] method on a request thread, a database backend) waits
//! for it: polling a host's interrupt check, so a query cancel or a shutdown stops the wait and
//! the request with it.
//!
//! One runtime for the whole process, never dropped: a scorer may be dropped anywhere (even on
//! another runtime's thread, where dropping a runtime panics), and every endpoint shares its
//! two threads and its connection pool.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::error::{Code, HostError, HostResult};

/// A host's check for "stop now" (a query cancel, a statement timeout, a shutdown).
pub type Interrupt = Arc<dyn Fn() -> bool + Send + Sync>;

/// How often a waiting caller looks at its interrupt check.
const POLL: Duration = Duration::from_millis(10);

/// The process-wide runtime of remote calls (two worker threads).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("scorekit-remote")
            .enable_all()
            .build()
            .expect("the remote-call runtime starts (threads and timers are available)")
    })
}

/// Runs `work` on the remote runtime and waits for it on the calling thread. With `interrupt`,
/// the wait stops as soon as it says so: the work is cancelled (an HTTP request in flight is
/// dropped) and the answer is [`Code::Interrupted`].
///
/// # Errors
/// [`Code::Interrupted`]; whatever `work` returns.
pub fn wait<T, F>(work: F, interrupt: Option<&Interrupt>) -> HostResult<T>
where
    T: Send + 'static,
    F: Future<Output = HostResult<T>> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let task = runtime().spawn(async move {
        let _ = tx.send(work.await);
    });
    loop {
        match rx.recv_timeout(POLL) {
            Ok(r) => return r,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if interrupt.is_some_and(|stop| stop()) {
                    task.abort();
                    return Err(HostError::new(Code::Interrupted, "the remote call was interrupted"));
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(HostError::new(Code::Unavailable, "the remote call was lost (its task ended)"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn waits_for_the_answer_or_stops_on_interrupt() {
        assert_eq!(wait(async { Ok(7) }, None).unwrap(), 7);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let interrupt: Interrupt = Arc::new(move || flag.load(Ordering::Relaxed));
        let setter = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            setter.store(true, Ordering::Relaxed);
        });
        let started = std::time::Instant::now();
        let e = wait(
            async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            },
            Some(&interrupt),
        )
        .unwrap_err();
        assert_eq!(e.code, Code::Interrupted);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
