//! Anomaly streams: the host layer's one [`StreamBook`] for the whole server, over its
//! [`FileStore`] (`state_dir/streams/MODEL/KEY.state`) with its write-ahead log
//! (`state_dir/wal`). Every step is logged and synced before its answer returns, so neither a
//! restart nor a crash (`kill -9`) loses an acknowledged reading; on the first stream call after
//! a start, the book replays the log into the saved states ([`StreamBook::recover`]). Changed
//! states are saved every `flush_seconds` by a thread of the plugin, which also bounds the log.
//!
//! One server at a time: the directory is locked (`flock` on `state_dir/lock`), so a second
//! server pointed at it gets a clear error instead of two writers of one log.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use scorekit_host::streams::{FileStore, StreamBook, Wal};
use scorekit_host::{Code, HostError, HostResult};

use crate::plugin::Plugin;
use crate::server;

/// The open stream book and the lock that makes it this server's.
pub struct Streams {
    /// The book.
    pub book: Arc<StreamBook>,
    _lock: File,
}

fn storage(what: impl std::fmt::Display, e: impl std::fmt::Display) -> HostError {
    HostError::new(Code::Storage, format!("{what}: {e}"))
}

impl Streams {
    /// Opens the book under the configured `state_dir`, recovers the streams the log holds, and
    /// starts the flush thread.
    ///
    /// # Errors
    /// [`Code::Unavailable`] without a `state_dir` or when another process holds it;
    /// [`Code::Storage`] when it cannot be read or written.
    pub fn open(plugin: &Plugin) -> HostResult<Streams> {
        let Some(dir) = plugin.settings.config.state_dir.clone() else {
            return Err(HostError::new(
                Code::Unavailable,
                format!(
                    "anomaly streams need a 'state_dir' in {} (where stream states and their log are kept)",
                    plugin.settings.path.display()
                ),
            ));
        };
        std::fs::create_dir_all(&dir).map_err(|e| storage(format!("creating {}", dir.display()), e))?;
        let lock_path = dir.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| storage(format!("opening {}", lock_path.display()), e))?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(HostError::new(
                Code::Unavailable,
                format!("the stream state directory {} is in use by another process", dir.display()),
            ));
        }
        let (wal, records) = Wal::open(dir.join("wal"))?;
        let store = Arc::new(FileStore::new(dir.join("streams")));
        let book = Arc::new(StreamBook::new(store, plugin.settings.book).with_wal(Arc::new(wal)));
        if !records.is_empty() {
            let steps = records.len();
            let report =
                book.recover(records, |name| plugin.models.resolve(name).ok().map(|l| l.scorer.clone()));
            server::log(&format!(
                "stream log of {}: {steps} logged steps, {} streams recovered ({} steps replayed){}",
                dir.display(),
                report.streams,
                report.steps,
                if report.failed.is_empty() {
                    String::new()
                } else {
                    let f: Vec<String> =
                        report.failed.iter().map(|(m, k, why)| format!("{m}/{k}: {why}")).collect();
                    format!("; not recovered now (kept in the log): {}", f.join("; "))
                }
            ));
        }
        let flusher = Arc::downgrade(&book);
        let every = Duration::from_secs(plugin.settings.config.flush_seconds.max(1));
        std::thread::Builder::new()
            .name("scorekit-flush".into())
            .stack_size(crate::stack::STACK_BYTES)
            .spawn(move || {
                while let Some(book) = flusher.upgrade() {
                    drop(book);
                    std::thread::sleep(every);
                    let Some(book) = flusher.upgrade() else { break };
                    let (_, failed) = book.flush();
                    if failed > 0 {
                        server::log(&format!(
                            "{failed} stream states could not be saved (they stay in the log)"
                        ));
                    }
                }
            })
            .map_err(|e| {
                HostError::new(Code::Unavailable, format!("starting the stream flush thread: {e}"))
            })?;
        Ok(Streams { book, _lock: lock })
    }
}
