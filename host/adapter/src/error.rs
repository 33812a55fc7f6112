//! The one error vocabulary of every host. Each failure has a [`Code`] (what happened) and a
//! [`Kind`] (whose fault it is and what a caller can do about it); each host turns the kind into
//! its own status — HTTP code, SQLSTATE, exit code — in exactly one place (see the table in
//! `docs/host-layer.md`).

/// Whose fault a failure is, and what the caller can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// The caller's input or request is wrong: fix it and retry (HTTP 4xx, SQLSTATE class 22/42).
    Client,
    /// The model failed: it trapped, reported an internal error, answered malformed data, or the
    /// module itself is invalid. Retrying the same input fails the same way.
    Model,
    /// A limit stopped the call: its deadline, the memory cap, a size or count bound.
    Limit,
    /// The host asked the running call to stop (a query cancel, a shutdown).
    Interrupted,
    /// Nothing can answer now: no such model is loaded, a remote endpoint is down, every slot is
    /// taken. A later retry may succeed.
    Unavailable,
}

impl Kind {
    /// Lowercase name, for logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Model => "model",
            Kind::Limit => "limit",
            Kind::Interrupted => "interrupted",
            Kind::Unavailable => "unavailable",
        }
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// A value or row cannot be scored (names row and column), or a request is malformed.
    BadInput,
    /// A NULL (or empty) input where the host's policy refuses them.
    NullInput,
    /// The model family does not support the operation.
    Unsupported,
    /// No model by that name.
    UnknownModel,
    /// No stream by that key.
    UnknownStream,
    /// The bytes are not a loadable scorekit module (not Wasm, imports, ABI, hash pin).
    InvalidModule,
    /// The module trapped, reported an internal error or answered malformed data.
    ModuleFailed,
    /// An RCF stream lost its state after a failed call and had none saved.
    StreamLost,
    /// The call ran past its deadline.
    Deadline,
    /// The module exceeded its memory cap.
    MemoryLimit,
    /// A request, history or batch exceeds a size bound.
    TooLarge,
    /// The host interrupted the call.
    Interrupted,
    /// Nothing can answer now.
    Unavailable,
    /// Saving or reading state failed (disk, table).
    Storage,
    /// A quota (streams per model or per key prefix) is used up.
    QuotaExceeded,
}

impl Code {
    /// The kind of failure.
    pub fn kind(self) -> Kind {
        match self {
            Code::BadInput
            | Code::NullInput
            | Code::Unsupported
            | Code::UnknownModel
            | Code::UnknownStream => Kind::Client,
            Code::InvalidModule | Code::ModuleFailed | Code::StreamLost => Kind::Model,
            Code::Deadline | Code::MemoryLimit | Code::TooLarge | Code::QuotaExceeded => Kind::Limit,
            Code::Interrupted => Kind::Interrupted,
            Code::Unavailable | Code::Storage => Kind::Unavailable,
        }
    }

    /// Short machine-readable name (`bad_input`, `deadline_exceeded`, …), the same in every
    /// host's error bodies and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadInput => "bad_input",
            Code::NullInput => "null_input",
            Code::Unsupported => "unsupported_operation",
            Code::UnknownModel => "unknown_model",
            Code::UnknownStream => "unknown_stream",
            Code::InvalidModule => "invalid_module",
            Code::ModuleFailed => "module_failed",
            Code::StreamLost => "stream_lost",
            Code::Deadline => "deadline_exceeded",
            Code::MemoryLimit => "memory_limit",
            Code::TooLarge => "too_large",
            Code::Interrupted => "interrupted",
            Code::Unavailable => "unavailable",
            Code::Storage => "storage_failed",
            Code::QuotaExceeded => "quota_exceeded",
        }
    }
}

impl Code {
    /// Every code.
    pub const ALL: [Code; 15] = [
        Code::BadInput,
        Code::NullInput,
        Code::Unsupported,
        Code::UnknownModel,
        Code::UnknownStream,
        Code::InvalidModule,
        Code::ModuleFailed,
        Code::StreamLost,
        Code::Deadline,
        Code::MemoryLimit,
        Code::TooLarge,
        Code::Interrupted,
        Code::Unavailable,
        Code::Storage,
        Code::QuotaExceeded,
    ];

    /// The code named `name` ([`Code::as_str`]), e.g. read back from another scorekit host's
    /// error body.
    pub fn parse(name: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// A failure anywhere below a host's boundary: a code and a message naming the problem (row and
/// column where there is one, rows counted from 1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HostError {
    /// What happened.
    pub code: Code,
    /// Human-readable, naming the problem.
    pub message: String,
}

impl HostError {
    /// An error with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        HostError { code, message: message.into() }
    }

    /// A [`Code::BadInput`] error.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Code::BadInput, message)
    }

    /// Whose fault it is.
    pub fn kind(&self) -> Kind {
        self.code.kind()
    }

    /// The same error with `context` in front of the message (`context: message`).
    #[must_use]
    pub fn context(mut self, context: impl core::fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

/// Result of host-layer operations.
pub type HostResult<T> = Result<T, HostError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_kind_and_a_distinct_name() {
        // Exhaustive: a new code does not compile here until it has a place, and the places
        // must be exactly 0..ALL.len() in ALL's order, so ALL cannot miss a code.
        let place = |c: Code| match c {
            Code::BadInput => 0,
            Code::NullInput => 1,
            Code::Unsupported => 2,
            Code::UnknownModel => 3,
            Code::UnknownStream => 4,
            Code::InvalidModule => 5,
            Code::ModuleFailed => 6,
            Code::StreamLost => 7,
            Code::Deadline => 8,
            Code::MemoryLimit => 9,
            Code::TooLarge => 10,
            Code::Interrupted => 11,
            Code::Unavailable => 12,
            Code::Storage => 13,
            Code::QuotaExceeded => 14,
        };
        assert_eq!(Code::ALL.map(place), core::array::from_fn(|i| i));
        for c in Code::ALL {
            assert_eq!(Code::parse(c.as_str()), Some(c));
        }
        assert_eq!(Code::parse("nope"), None);
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
        assert_eq!(Code::Deadline.kind(), Kind::Limit);
        assert_eq!(Code::InvalidModule.kind(), Kind::Model);
        assert_eq!(HostError::bad_input("x").context("row 2").message, "row 2: x");
    }
}
