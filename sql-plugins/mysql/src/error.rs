//! The one place where the host layer's errors become the server's: every failure of a loading,
//! scoring, streaming or forecasting call is a [`HostError`]; its [`Kind`] picks the error
//! number here, nowhere else (the same table is in docs/mysql.md). Numbers are ones MySQL 8 and
//! MariaDB share; the text is always `scorekit: …` with the host layer's message.
//!
//! | kind | error number (SQLSTATE) |
//! |---|---|
//! | client (`bad_input`, `null_input`, `unsupported_operation`, `unknown_model`, `unknown_stream`) | 1210 `ER_WRONG_ARGUMENTS` (HY000) |
//! | model (`invalid_module`, `module_failed`, `stream_lost`) | 1105 `ER_UNKNOWN_ERROR` (HY000) |
//! | limit (`deadline_exceeded`, `memory_limit`, `too_large`, `quota_exceeded`) | 1226 `ER_USER_LIMIT_REACHED` (42000) |
//! | interrupted | the server's own kill error (1317 `ER_QUERY_INTERRUPTED` for `KILL QUERY`, 1969 `ER_STATEMENT_TIMEOUT` for `max_statement_time`) |
//! | unavailable (`unavailable`, `storage_failed`) | 1041 `ER_OUT_OF_RESOURCES` (HY000) |
//!
//! Errors found before the first row (in a function's `_init`: its arguments, an unknown or
//! invalid model) are raised the same way before `_init` returns its failure: the server's own
//! `ER_CANT_INITIALIZE_UDF` (1123, `Can't initialize function …`) would cut the text at 80
//! characters, and a statement keeps its first error (1123 follows as a second condition, in
//! `SHOW WARNINGS`). A row call fails its statement with `my_message`; a statement stopped by
//! `KILL QUERY` or `max_statement_time` ends with the server's kill error.

use scorekit_host::{HostError, Kind};

use crate::server;

/// `ER_WRONG_ARGUMENTS`.
pub const ER_WRONG_ARGUMENTS: u32 = 1210;
/// `ER_UNKNOWN_ERROR`.
pub const ER_UNKNOWN_ERROR: u32 = 1105;
/// `ER_USER_LIMIT_REACHED`.
pub const ER_USER_LIMIT_REACHED: u32 = 1226;
/// `ER_QUERY_INTERRUPTED`.
pub const ER_QUERY_INTERRUPTED: u32 = 1317;
/// `ER_OUT_OF_RESOURCES`.
pub const ER_OUT_OF_RESOURCES: u32 = 1041;
/// `ER_UNKNOWN_ERROR`, for warnings (stream notices).
pub const WARN_NOTICE: u32 = 1105;

/// The server error number of a kind.
pub fn errno(kind: Kind) -> u32 {
    match kind {
        Kind::Client => ER_WRONG_ARGUMENTS,
        Kind::Model => ER_UNKNOWN_ERROR,
        Kind::Limit => ER_USER_LIMIT_REACHED,
        Kind::Interrupted => ER_QUERY_INTERRUPTED,
        // `Kind` is non-exhaustive: a new kind is "nothing can answer now" until it has a row.
        _ => ER_OUT_OF_RESOURCES,
    }
}

/// The text of an error about `model` (empty: about no model).
pub fn text(model: &str, e: &HostError) -> String {
    if model.is_empty() {
        format!("scorekit: {}", e.message)
    } else {
        format!("scorekit: model '{model}': {}", e.message)
    }
}

/// Fails the running statement with `e` (from a row call). A kill fails it with the server's own
/// kill error ([`server::raise_kill`]): the server does not report a kill that a function
/// noticed itself (measured: the row was NULL and the statement succeeded). Without
/// `my_message` the row becomes NULL and the text goes to the log.
pub fn raise(model: &str, e: &HostError) {
    if e.kind() == Kind::Interrupted {
        server::raise_kill();
        return;
    }
    let msg = text(model, e);
    if !server::raise_error(errno(e.kind()), &msg) {
        server::log(&format!("{msg} (this server exports no my_message: the row is NULL)"));
    }
}

/// Reports an `_init` failure in full (`text` is what the ABI message also says, cut short by the
/// server); a kill with the server's kill error.
pub fn raise_init(e: &HostError, text: &str) {
    if e.kind() == Kind::Interrupted {
        server::raise_kill();
    } else {
        server::raise_error(errno(e.kind()), text);
    }
}

/// Shows a notice about a stream as a warning of the statement (MariaDB) and in the error log.
pub fn notice(model: &str, key: &str, notice: &str) {
    let msg = format!("scorekit: model '{model}', stream '{key}': {notice}");
    server::warn(WARN_NOTICE, &msg);
    server::log(&msg);
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorekit_host::Code;

    #[test]
    fn one_number_per_kind() {
        assert_eq!(errno(Code::BadInput.kind()), 1210);
        assert_eq!(errno(Code::UnknownModel.kind()), 1210);
        assert_eq!(errno(Code::ModuleFailed.kind()), 1105);
        assert_eq!(errno(Code::Deadline.kind()), 1226);
        assert_eq!(errno(Code::QuotaExceeded.kind()), 1226);
        assert_eq!(errno(Code::Storage.kind()), 1041);
        let e = HostError::bad_input("row 1, column 'state': unknown category 'XX'");
        assert_eq!(
            text("churn", &e),
            "scorekit: model 'churn': row 1, column 'state': unknown category 'XX'"
        );
        assert_eq!(text("", &e), "scorekit: row 1, column 'state': unknown category 'XX'");
    }
}
