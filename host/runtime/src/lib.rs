//! `scorekit-runtime`: run scorekit model modules (`.wasm`) safely inside any host process — the
//! `host` CLI, the HTTP server, the PostgreSQL extension. It depends on the module ABI only: no
//! model crate, no guest, no wasm32 build step (compiling artifacts into modules is
//! `scorekit-compile`'s job).
//!
//! * [`inspect`] reads a module's description without instantiating it.
//! * [`Runtime`] loads modules ([`ScoringModule`]) and calls them through ABI v1
//!   (`docs/abi.md`): batch scoring, explanations, forecasts, and RCF [`Stream`]s.
//!
//! Main design choice: the engine is configured for embedding in a database server process —
//! no signal handlers (explicit bounds checks instead), a per-call deadline through epoch
//! interruption driven by one ticker thread per [`Runtime`] (each tick also asks the host's
//! [`InterruptCheck`], so a database's query cancel stops a call), a per-instance memory cap, an
//! on-disk cache of compiled code so a new process's first call is fast, and a pool of
//! pre-instantiated instances per module; an instance that traps is dropped, never reused.
#![deny(missing_docs)]

mod cache;
mod config;
mod error;
mod inspect;
mod instance;
mod module;
mod runtime;
mod stream;

pub use config::{InterruptCheck, RuntimeConfig};
pub use error::RuntimeError;
pub use inspect::{ModuleInfo, inspect, sha256_hex};
pub use module::ScoringModule;
pub use runtime::Runtime;
pub use scorekit_abi::Description;
pub use scorekit_abi::Rows;
pub use scorekit_abi::values::RcfStep;
pub use scorekit_abi::{ForecastOutput, ForecastQuery};
pub use stream::Stream;
