//! The policy file (`scorekit.policy_file`, superuser-set): which model names a remote SageMaker
//! endpoint answers, alone or with the local module (local, remote, local-then-remote, shadow).
//! The file is the one `host serve` and `host score` read (docs/sagemaker.md); the host layer's
//! `Policies` reads it and composes the scorers, so this module only decides *when* to read it:
//! when the setting changes, or — checked once per statement — when the file's size or
//! modification time changes. A file that cannot be read or is wrong is an `ERROR` naming it on
//! every call until it is fixed: a configured policy is never silently ignored.
//!
//! Remote calls wait on the network inside the backend. They run on the host layer's runtime
//! threads, which are started here with every signal blocked (PostgreSQL's handlers must run on
//! the backend's own thread), and the backend waits for them in 10 ms slices looking at its
//! query-cancel flags ([`crate::engine::cancel_pending`]): `pg_cancel_backend`, Ctrl-C and
//! `statement_timeout` stop the wait, drop the request and end in PostgreSQL's own cancel.
//!
//! Without the `remote` feature a set `scorekit.policy_file` is an `ERROR` at the next call,
//! naming the feature.

use std::cell::RefCell;
use std::path::PathBuf;

use pgrx::pg_sys;
use scorekit_host::{Code, FileStamp, HostError, SharedScorer};

use crate::error::raise;
use crate::guc;

#[cfg(feature = "remote")]
type Policies = std::rc::Rc<scorekit_host::policy::Policies>;
/// Without remote endpoints no policy file can be in force: loading one is always an ERROR.
#[cfg(not(feature = "remote"))]
type Policies = std::convert::Infallible;

/// The file read, as it was when read.
#[derive(Clone, PartialEq)]
struct Stamp {
    path: PathBuf,
    file: FileStamp,
}

#[derive(Default)]
struct State {
    /// Start of the statement the file was last checked in.
    checked_in: Option<pg_sys::TimestampTz>,
    /// The setting's text when last checked.
    setting: Option<String>,
    /// Bumped whenever what is in force changes (the engine then forgets its resolutions).
    generation: u64,
    loaded: Option<(Stamp, Policies)>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn setting() -> Option<String> {
    let s = guc::POLICY_FILE.get()?.to_string_lossy().trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn stamp(path: PathBuf) -> Stamp {
    let file = FileStamp::of(&path).unwrap_or_else(|e| {
        raise(
            "",
            HostError::new(
                Code::BadInput,
                format!("cannot read the policy file {} (scorekit.policy_file): {e}", path.display()),
            ),
        )
    });
    Stamp { path, file }
}

/// Which policies are in force (a number that changes when they do). Reads the setting and looks
/// at the file once per statement; loads it when either changed.
pub fn generation() -> u64 {
    // SAFETY: reads the backend's statement start time, set for every statement.
    let now = unsafe { pg_sys::GetCurrentStatementStartTimestamp() };
    let fresh = STATE.with(|s| {
        let s = s.borrow();
        (s.checked_in == Some(now)).then_some(s.generation)
    });
    if let Some(g) = fresh {
        return g;
    }
    let want = setting();
    let stamp = want.as_deref().map(|p| {
        let p = PathBuf::from(p);
        stamp(if p.is_absolute() { p } else { crate::engine::data_dir().join(p) })
    });
    let unchanged = STATE.with(|s| {
        let s = s.borrow();
        s.setting == want && s.loaded.as_ref().map(|(st, _)| st) == stamp.as_ref()
    });
    let loaded = if unchanged { None } else { Some(stamp.map(load)) };
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if let Some(l) = loaded {
            s.loaded = l;
            s.setting = want;
            s.generation += 1;
        }
        s.checked_in = Some(now);
        s.generation
    })
}

/// Reads the policy file `stamp` names.
#[cfg(feature = "remote")]
fn load(stamp: Stamp) -> (Stamp, Policies) {
    use scorekit_host::remote::runtime::Interrupt;
    with_signals_blocked(|| {
        let _ = scorekit_host::remote::runtime::runtime();
    });
    let interrupt: Interrupt = std::sync::Arc::new(crate::engine::cancel_pending);
    let p = scorekit_host::policy::Policies::load(&stamp.path)
        .unwrap_or_else(|e| raise("", e.context("scorekit.policy_file")))
        .with_interrupt(interrupt);
    (stamp, std::rc::Rc::new(p))
}

/// Refuses the policy file `stamp` names: this build has no remote endpoints.
#[cfg(not(feature = "remote"))]
fn load(stamp: Stamp) -> (Stamp, Policies) {
    raise(
        "",
        HostError::new(
            Code::Unsupported,
            format!(
                "scorekit.policy_file is set ({}), but this build of the extension has no remote endpoints (build it with feature `remote`)",
                stamp.path.display()
            ),
        ),
    )
}

/// Runs `f` (which starts threads) with every signal blocked on this thread, so the threads it
/// starts inherit the blocked mask and PostgreSQL's signal handlers keep running on the
/// backend's thread only.
pub fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: plain libc calls on local sigset_t values; the old mask is restored after `f`
    // (which never unwinds across this frame: it only builds threads, or panics, which pgrx
    // turns into an ERROR after the mask was restored by the guard below).
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
        struct Restore(libc::sigset_t);
        impl Drop for Restore {
            fn drop(&mut self) {
                // SAFETY: restores the mask saved above.
                unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
            }
        }
        let _restore = Restore(old);
        f()
    }
}

/// The scorer that answers for model `name` (an alias, not a pinned reference) given its local
/// module: the policy's composition, the local module unchanged when no policy applies, `None`
/// when nothing serves the name.
pub fn scorer(name: &str, local: Option<SharedScorer>) -> Option<SharedScorer> {
    #[cfg(feature = "remote")]
    {
        use scorekit_host::Backends;
        let policies = STATE.with(|s| s.borrow().loaded.as_ref().map(|(_, p)| p.clone()));
        if let Some(p) = policies {
            return p.scorer(name, local).unwrap_or_else(|e| raise(name, e));
        }
    }
    #[cfg(not(feature = "remote"))]
    let _ = name;
    local
}

/// The model an Aurora-style endpoint name stands for (see `Policies::model_for_endpoint`).
pub fn model_for_endpoint(endpoint: &str) -> String {
    #[cfg(feature = "remote")]
    {
        generation();
        let policies = STATE.with(|s| s.borrow().loaded.as_ref().map(|(_, p)| p.clone()));
        if let Some(p) = policies {
            return p.model_for_endpoint(endpoint).map(str::to_string).unwrap_or_else(|e| raise("", e));
        }
    }
    endpoint.to_string()
}

/// Every model of the policy file in force in this session with what this session counted for
/// it (the host layer's `Policies::report`), as a JSON array; empty when no file is set.
pub fn report_json() -> serde_json::Value {
    generation();
    #[cfg(feature = "remote")]
    {
        let policies = STATE.with(|s| s.borrow().loaded.as_ref().map(|(_, p)| p.clone()));
        if let Some(p) = policies {
            return serde_json::Value::Array(p.report().iter().map(|r| r.json()).collect());
        }
    }
    serde_json::Value::Array(Vec::new())
}
