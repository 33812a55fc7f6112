//! `scorekit-host`: the one layer between a model and every host that serves it — the `host`
//! CLI, the HTTP server, the PostgreSQL extension, and the hosts that come next (MySQL, the
//! browser, a remote SageMaker endpoint). A host is an adapter over this crate: it reads its own
//! values, hands them to the rules here, calls a [`Scorer`], and maps a [`HostError`]'s
//! [`Kind`] to its own status in one place. No host converts values, names outputs, numbers
//! rows, parses timestamps, keeps RCF streams or maps errors on its own.
//!
//! * [`Scorer`] / [`StreamScorer`]: the call surface of a model, whatever runs it —
//!   [`local::LocalScorer`] (wasmtime, feature `wasmtime`), [`native::NativeScorer`] (a trained
//!   artifact, feature `native`), the browser's WebAssembly, a remote endpoint.
//! * [`cells`]: one conversion of host values (JSON, text fields, SQL-like values) into model
//!   cells, with one null/absent-input policy and one rule for booleans and numbers-as-categories.
//! * [`names`]: one naming of outputs and explanation terms; rows are numbered from 1 everywhere.
//! * [`error`]: one error vocabulary ([`Code`], [`Kind`]).
//! * [`streams`]: one RCF stream book over a pluggable [`streams::StateStore`].
//! * [`time`], [`history`]: one timestamp parser, one rule for gaps in a forecast history.
//! * [`formats`]: rows in JSON and CSV, DeepAR requests and responses.
//!
//! Main design choice: the crate compiles for `wasm32-unknown-unknown` without wasmtime (the
//! browser host links it), so the rules live in exactly one place for every host; scorers are
//! trait objects so that a policy (fallback, shadow) can be a scorer composed of two.
#![deny(missing_docs)]

pub mod cells;
pub mod error;
pub mod file_stamp;
pub mod formats;
pub mod history;
#[cfg(feature = "wasmtime")]
pub mod local;
pub mod names;
#[cfg(feature = "native")]
pub mod native;
#[cfg(feature = "remote")]
pub mod policy;
#[cfg(feature = "remote")]
pub mod remote;
pub mod scorer;
pub mod streams;
pub mod time;

pub use cells::{AbsentInputs, BatchBuilder, InputPolicy, NullInputs, Value};
pub use error::{Code, HostError, HostResult, Kind};
pub use file_stamp::FileStamp;
pub use history::{Gaps, History, history_values};
pub use scorekit_abi::values::RcfStep;
pub use scorekit_abi::{Description, ForecastOutput, ForecastQuery, Rows};
pub use scorekit_core::{Family, Field, FieldKind, Schema};
pub use scorer::{
    Backends, MaybeSend, MaybeSendSync, ModelInfo, ModuleLoader, Scorer, SharedScorer, Stat, StatKind,
    StreamScorer, digest_hex, parse_sha256_hex, sha256_hex,
};
pub use time::parse_timestamp;
