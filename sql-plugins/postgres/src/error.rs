//! The one place where runtime errors become PostgreSQL `ERROR`s, each with a SQLSTATE that
//! tells the client whose fault it is (bad data vs a broken module vs a limit).

use pgrx::prelude::*;
use scorekit_runtime::RuntimeError;

/// Raises `e` as an `ERROR` naming the model. A call stopped while a query cancel (Ctrl-C,
/// `statement_timeout`) is pending raises the cancel instead, so clients see the usual message.
pub fn raise(model: &str, e: RuntimeError) -> ! {
    pgrx::check_for_interrupts!();
    use PgSqlErrorCode::*;
    let code = match &e {
        RuntimeError::BadInput(_) | RuntimeError::Request(_) => ERRCODE_INVALID_PARAMETER_VALUE,
        RuntimeError::Unsupported(_) => ERRCODE_FEATURE_NOT_SUPPORTED,
        RuntimeError::DeadlineExceeded { .. } | RuntimeError::Interrupted => ERRCODE_QUERY_CANCELED,
        RuntimeError::MemoryLimit { .. } => ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        RuntimeError::Trap(_) | RuntimeError::Guest(_) | RuntimeError::StreamLost => {
            ERRCODE_EXTERNAL_ROUTINE_EXCEPTION
        }
        RuntimeError::InvalidModule(_)
        | RuntimeError::Imports(_)
        | RuntimeError::AbiMismatch { .. }
        | RuntimeError::HashMismatch { .. } => ERRCODE_INVALID_BINARY_REPRESENTATION,
        RuntimeError::Io { .. } => ERRCODE_IO_ERROR,
        _ => ERRCODE_INTERNAL_ERROR,
    };
    let hint = match &e {
        RuntimeError::DeadlineExceeded { .. } => {
            Some("Raise scorekit.deadline_ms if the model needs longer.")
        }
        RuntimeError::MemoryLimit { .. } => Some("A superuser can raise scorekit.memory_limit_mb."),
        _ => None,
    };
    report(code, format!("scorekit: model '{model}': {e}"), None, hint)
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

/// Raises an `ERROR` for a caller mistake found before any module call (SQLSTATE 22023).
pub fn user_error(msg: impl Into<String>) -> ! {
    let msg = msg.into();
    let msg = if msg.starts_with("scorekit") { msg } else { format!("scorekit: {msg}") };
    report(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, msg, None, None)
}
