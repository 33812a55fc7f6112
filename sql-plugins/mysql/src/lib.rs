//! `scorekit-mysql`: trained scorekit models (self-contained `.wasm` modules) as loadable
//! functions (UDFs) of MariaDB and MySQL 8, run in the server process through the shared host
//! layer (`scorekit-host`: its local scorer runs modules in wasmtime without signal handlers,
//! under a per-call deadline, a memory cap and a process-wide memory budget).
//!
//! Main design choice: an adapter, nothing more. Modules are files in a configured directory
//! ([`models`]); a function's `_init` resolves its constant model argument and checks the
//! arguments against the model's schema, its row callback reads the UDF arguments as host values
//! ([`args`]) and hands them to the host layer's rules (`BatchBuilder`, JSON rows, histories),
//! calls a `Scorer`, keeps RCF streams in the host layer's `StreamBook` over its file store and
//! log ([`streams`]), and turns a `HostError` into the server's error in one place ([`error`]).
//! The `udf` crate generates the C entry points; this crate adds what the ABI leaves to the
//! plugin: failing a statement from a row, `KILL QUERY` during a call ([`server`]), a stack big
//! enough for a module call on a MariaDB thread ([`stack`]).
//!
//! Functions: `scorekit_score`, `scorekit_score_json`, `scorekit_label`, `scorekit_explain`,
//! `scorekit_explain_json`, `scorekit_anomaly`, `scorekit_anomaly_json`, `scorekit_forecast`,
//! `scorekit_models`, `scorekit_schema`, `scorekit_function_sql`, `scorekit_version`,
//! `scorekit_remote_stats` (feature `remote`)
//! (see docs/mysql.md).
#![deny(missing_docs)]
// The `udf` crate's #[register] expands to unsafe calls inside `unsafe extern "C"` functions.
#![allow(unsafe_op_in_unsafe_fn)]

pub mod args;
pub mod config;
pub mod error;
pub mod funcs;
pub mod models;
pub mod plugin;
#[cfg(feature = "remote")]
pub mod policies;
pub mod server;
pub mod stack;
pub mod streams;

#[cfg(test)]
mod tests;
