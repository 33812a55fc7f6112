//! `scorekit-runtime`: compile trained models into self-contained `.wasm` modules and run those
//! modules safely inside any host process — the `host` CLI, the HTTP server, PostgreSQL and
//! MySQL backends.
//!
//! * [`compile`] turns an [`Artifact`](scorekit_artifact::Artifact) into one module by injecting
//!   it into the guest embedded at build time (no toolchain needed at compile time; same artifact
//!   → same bytes).
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
pub mod compile;
mod config;
mod error;
mod inspect;
mod instance;
mod module;
mod rows;
mod runtime;
mod stream;

pub use config::{InterruptCheck, RuntimeConfig};
pub use error::RuntimeError;
pub use inspect::{Description, ModuleInfo, inspect, sha256_hex};
pub use module::ScoringModule;
pub use rows::Rows;
pub use runtime::Runtime;
pub use scorekit_abi::values::RcfStep;
pub use scorekit_abi::{ForecastOutput, ForecastQuery};
pub use stream::Stream;
