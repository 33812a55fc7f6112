//! The hosts the suite runs. Each turns a case into its own calls (Rust calls, a command line,
//! HTTP requests, SQL) and its answer back into an [`Outcome`] in the suite's canonical form,
//! checking its own naming conventions on the way (e.g. the CLI's `contribution_<term>` columns).

pub mod cli;
mod native;
mod postgres;
mod server;

pub use cli::CliHost;
pub use native::NativeHost;
pub use postgres::PostgresHost;
pub use server::ServerHost;

use crate::case::Case;
use crate::fixtures::Fixtures;
use crate::outcome::{ErrorOutcome, Outcome};

/// A host under test.
pub trait Host {
    /// Its name, as used in a case's `skip` map (`native`, `cli`, `server`, `postgres`).
    fn name(&self) -> &'static str;
    /// Runs `case` and answers in canonical form.
    fn run(&mut self, case: &Case, fx: &Fixtures) -> Outcome;
}

/// The host layer's kind of an error code (`bad_input` → `client`, …), for hosts that report
/// codes (the server's error bodies).
pub fn kind_of_code(code: &str) -> &'static str {
    match code {
        "bad_input" | "null_input" | "unsupported_operation" | "unknown_model" | "unknown_stream" => "client",
        "invalid_module" | "module_failed" | "stream_lost" => "model",
        "deadline_exceeded" | "memory_limit" | "too_large" | "payload_too_large" => "limit",
        "interrupted" => "interrupted",
        _ => "unavailable",
    }
}

/// A failure of the host harness itself (it could not run the case): never agrees with a golden.
pub fn harness_error(message: impl Into<String>) -> Outcome {
    Outcome::Error(ErrorOutcome { kind: "harness".into(), code: None, message: message.into() })
}

/// Quantile column name, as every host writes it (`q0.1`).
pub fn quantile_column(q: f64) -> String {
    format!("q{q}")
}
