//! The one place where the host layer's errors become PostgreSQL `ERROR`s: every failure of a
//! scoring, streaming or loading call is a [`HostError`], and its [`Code`] picks the SQLSTATE and
//! the hint here, nowhere else (the same table is in `docs/postgres.md`):
//!
//! | `Code` (kind) | SQLSTATE | hint |
//! |---|---|---|
//! | `BadInput` (client) | 22023 invalid_parameter_value | |
//! | `NullInput` (client) | 22004 null_value_not_allowed | `SET scorekit.null_inputs = 'missing'` |
//! | `Unsupported` (client) | 0A000 feature_not_supported | |
//! | `UnknownModel`, `UnknownStream` (client) | 42704 undefined_object | where models are listed |
//! | `InvalidModule` (model) | 22P03 invalid_binary_representation | |
//! | `ModuleFailed`, `StreamLost` (model) | 38000 external_routine_exception | |
//! | `Deadline` (limit) | 57014 query_canceled | raise `scorekit.deadline_ms` (a module) or the policy file's `timeout_ms` (an endpoint) |
//! | `MemoryLimit` (limit) | 54000 program_limit_exceeded | raise `scorekit.memory_limit_mb` |
//! | `TooLarge` (limit) | 54000 program_limit_exceeded | |
//! | `Interrupted` (interrupted) | PostgreSQL's own cancel (57014 `canceling statement due to …`) | |
//! | `Unavailable` (unavailable) | 53000 insufficient_resources | |
//! | `Storage` (unavailable) | 58030 io_error | |
//!
//! A call stopped while a query cancel (Ctrl-C, `statement_timeout`, a terminating backend) is
//! pending always ends in that cancel, whatever the error was, so clients see the message they
//! expect. Privilege checks (`scorekit_admin`, superuser) are not host-layer errors: they raise
//! 42501 with [`report`] directly.

use pgrx::prelude::*;
use scorekit_host::{Code, HostError};

/// SQLSTATE and hint of a host-layer error code.
fn sqlstate(code: Code) -> (PgSqlErrorCode, Option<&'static str>) {
    use PgSqlErrorCode::*;
    match code {
        Code::BadInput => (ERRCODE_INVALID_PARAMETER_VALUE, None),
        Code::NullInput => (
            ERRCODE_NULL_VALUE_NOT_ALLOWED,
            Some("SET scorekit.null_inputs = 'missing' to score NULL as a missing value (the default)."),
        ),
        Code::Unsupported => (ERRCODE_FEATURE_NOT_SUPPORTED, None),
        Code::UnknownModel => (
            ERRCODE_UNDEFINED_OBJECT,
            Some(
                "Deployed models are listed in scorekit.models; load one with scorekit.load_model(name, module).",
            ),
        ),
        Code::UnknownStream => (ERRCODE_UNDEFINED_OBJECT, None),
        Code::InvalidModule => (ERRCODE_INVALID_BINARY_REPRESENTATION, None),
        Code::ModuleFailed | Code::StreamLost => (ERRCODE_EXTERNAL_ROUTINE_EXCEPTION, None),
        Code::Deadline => (
            ERRCODE_QUERY_CANCELED,
            Some(
                "Raise scorekit.deadline_ms (a module call) or the policy file's timeout_ms (a remote endpoint) if the model needs longer.",
            ),
        ),
        Code::MemoryLimit => {
            (ERRCODE_PROGRAM_LIMIT_EXCEEDED, Some("A superuser can raise scorekit.memory_limit_mb."))
        }
        Code::TooLarge => (ERRCODE_PROGRAM_LIMIT_EXCEEDED, None),
        Code::Interrupted => (ERRCODE_QUERY_CANCELED, None),
        Code::Storage => (ERRCODE_IO_ERROR, None),
        Code::QuotaExceeded => (ERRCODE_PROGRAM_LIMIT_EXCEEDED, None),
        // `Code` is non-exhaustive: a code added to the host layer is "nothing can answer now"
        // until it gets its own row here.
        _ => (ERRCODE_INSUFFICIENT_RESOURCES, None),
    }
}

/// Raises `e` as an `ERROR` about `model` (or about no model when `model` is empty).
pub fn raise(model: &str, e: HostError) -> ! {
    // A pending cancel wins: a call that stopped because of it (Code::Interrupted) or failed
    // while it was pending reports the cancel.
    pgrx::check_for_interrupts!();
    let (code, hint) = sqlstate(e.code);
    let msg = if model.is_empty() {
        format!("scorekit: {}", e.message)
    } else {
        format!("scorekit: model '{model}': {}", e.message)
    };
    report(code, msg, None, hint)
}

/// Raises a [`Code::BadInput`] error found by the extension itself (an argument SQL passed).
pub fn user_error(msg: impl Into<String>) -> ! {
    raise("", HostError::bad_input(msg))
}

/// Unwraps a host-layer result, raising its error about `model`.
pub trait OrRaise<T> {
    /// The value, or the `ERROR`.
    fn or_raise(self, model: &str) -> T;
}

impl<T> OrRaise<T> for Result<T, HostError> {
    fn or_raise(self, model: &str) -> T {
        self.unwrap_or_else(|e| raise(model, e))
    }
}

/// Raises an `ERROR` with an optional detail and hint.
pub fn report(code: PgSqlErrorCode, msg: String, detail: Option<String>, hint: Option<&str>) -> ! {
    let mut r = pgrx::pg_sys::panic::ErrorReport::new(code, msg, "scorekit");
    if let Some(d) = detail {
        r = r.set_detail(d);
    }
    if let Some(h) = hint {
        r = r.set_hint(h);
    }
    r.report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}
