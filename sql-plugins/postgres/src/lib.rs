//! `scorekit` PostgreSQL extension: trained scorekit models (self-contained `.wasm` modules) as
//! SQL functions, run in-process through the shared host layer (`scorekit-host`, whose local
//! scorer runs modules in wasmtime without signal handlers, with a per-call deadline and memory
//! cap).
//!
//! Main design choice: an adapter, nothing more. Modules are stored in tables and addressed by
//! alias, version or SHA-256; this crate reads SQL datums as host values ([`cells`]), hands them
//! to the host layer's rules (`BatchBuilder`, JSON rows, histories), calls a `Scorer`, keeps RCF
//! streams in the host layer's `StreamBook` over a table ([`streams`]), and turns a `HostError`
//! into an `ERROR` in one place ([`error::raise`]). Typed functions such as Aurora ML's
//! `will_churn(...)` are generated as SQL wrappers around one variadic C entry point, so
//! PostgreSQL can inline them and the per-row cost is one module call.
#![deny(missing_docs)]

use pgrx::prelude::*;

mod anomaly;
mod aurora;
mod batch;
mod cells;
mod codegen;
mod engine;
mod error;
mod forecast;
mod guc;
mod policy;
mod score;
mod stats;
mod store;
mod streams;

::pgrx::pg_module_magic!(name, version);

/// Library initialisation (once per backend): settings, the alias-cache invalidation hook and
/// the planner hook that batches scalar calls.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    guc::register();
    store::register_invalidation();
    batch::register();
}

extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);

extension_sql_file!("../sql/finish.sql", name = "finish", finalize);

/// The extension's version.
#[pg_extern(immutable, parallel_safe)]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Modules loaded in this session's cache (compiled and instantiated).
#[pg_extern(volatile, parallel_restricted)]
fn session_modules() -> i64 {
    engine::loaded_count() as i64
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    include!("tests.rs");
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    /// One-off setup of the test cluster.
    pub fn setup(_options: Vec<&str>) {}

    /// postgresql.conf lines for the test cluster.
    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
