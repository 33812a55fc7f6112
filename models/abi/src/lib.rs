//! The scorekit model-module ABI, version 1: the one contract between a compiled `.wasm` model and
//! every host that runs it (the `host` CLI, the HTTP server, the SQL plugins, the browser).
//!
//! A module imports nothing and exports `memory` plus five functions, six from ABI minor 2 (see [`exports`]). A host
//! writes a request into the guest-owned input buffer, calls `scorekit_call(op, len)` once per
//! *batch*, and reads the response (or a UTF-8 error message) from the guest-owned output buffer.
//! This crate holds the codes ([`op`], [`status`]) and the byte layouts ([`rows`], [`forecast`],
//! [`values`], [`payload`]) and the module [`Description`] with encoders and decoders for both sides, so the guest and the hosts
//! cannot drift apart. `docs/abi.md` is the prose version for hosts written in other languages.
//!
//! Main design choice: explicit little-endian fixed layouts with 8-byte aligned `f64` arrays
//! instead of a serialisation framework, so JavaScript (`DataView`/`Float64Array`), C and Python
//! `struct` can speak it without a library, and the guest decodes without allocating per row.
//! Decoders never panic on garbage and check sizes before allocating.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod answers;
pub mod description;
pub mod error;
pub mod forecast;
pub mod payload;
pub mod rows;
pub mod values;

pub use description::{ABI_MINOR, Description};
pub use error::WireError;
pub use forecast::{ForecastOutput, ForecastQuery};
pub use rows::{Layout, RowMark, Rows, RowsRequest};

/// The ABI version this crate describes; `scorekit_abi_version()` returns it.
pub const ABI_VERSION: i32 = 1;

/// Name of the custom section holding the module's description (JSON, see `docs/abi.md`).
pub const SCHEMA_SECTION: &str = "scorekit.schema";

/// Names of the module's exports.
pub mod exports {
    /// The module's linear memory.
    pub const MEMORY: &str = "memory";
    /// `() -> i32`: the ABI version.
    pub const ABI_VERSION: &str = "scorekit_abi_version";
    /// `(len: i32) -> i32`: pointer to a guest-owned input buffer of at least `len` bytes.
    pub const INPUT: &str = "scorekit_input";
    /// `(op: i32, len: i32) -> i32`: runs `op` on the first `len` input bytes; returns a status.
    pub const CALL: &str = "scorekit_call";
    /// `() -> i32`: pointer to the response (or error message) of the last call.
    pub const OUTPUT_PTR: &str = "scorekit_output_ptr";
    /// `() -> i32`: length in bytes of the response (or error message) of the last call.
    pub const OUTPUT_LEN: &str = "scorekit_output_len";
    /// Every function export a module must have.
    pub const FUNCTIONS: [&str; 5] = [ABI_VERSION, INPUT, CALL, OUTPUT_PTR, OUTPUT_LEN];
    /// `() -> i32` (ABI minor 2): address of the module's [`crate::CallSlot`], fixed for the
    /// instance's life.
    pub const CALL_SLOT: &str = "scorekit_call_slot";
}

/// What a minor-2 module keeps at the address `scorekit_call_slot()` returns: four little-endian
/// `u32`, current after every `scorekit_input` and `scorekit_call`. With it a host writes a
/// request of at most `input_capacity` bytes at `input_ptr` without calling `scorekit_input`,
/// and reads the response where `output_ptr` and `output_len` say without calling the two
/// output exports: a steady call is one Wasm entry instead of four.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct CallSlot {
    /// The input buffer (0 before the first `scorekit_input`).
    pub input_ptr: u32,
    /// Its size in bytes (0 before the first `scorekit_input`).
    pub input_capacity: u32,
    /// The last call's response (or error message): what `scorekit_output_ptr` returns.
    pub output_ptr: u32,
    /// Its length: what `scorekit_output_len` returns.
    pub output_len: u32,
}

impl CallSlot {
    /// Its size in a module's memory.
    pub const SIZE: usize = 16;

    /// Reads a slot from the [`CallSlot::SIZE`] bytes at its address.
    pub fn read(bytes: &[u8; Self::SIZE]) -> Self {
        let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        CallSlot { input_ptr: word(0), input_capacity: word(4), output_ptr: word(8), output_len: word(12) }
    }
}

/// Operation codes passed to `scorekit_call`.
pub mod op {
    /// → the description JSON, the same bytes as the `scorekit.schema` custom section; the
    /// request is ignored.
    pub const SCHEMA: i32 = 1;
    /// rows → `n_outputs` f64 per row.
    pub const SCORE: i32 = 2;
    /// rows → `n_inputs + 1` f64 per row: per-input contributions, then the bias (GBT, TreeSHAP,
    /// in margin units) or the total score (RCF attribution).
    pub const EXPLAIN: i32 = 3;
    /// forecast request → forecast response.
    pub const FORECAST: i32 = 4;
    /// RCF rows → nothing; the readings are added to the stream state.
    pub const RCF_UPDATE: i32 = 5;
    /// RCF rows → one score per row; the state does not change.
    pub const RCF_SCORE: i32 = 6;
    /// RCF rows → `score, grade, is_anomaly (0/1), threshold` per row, each reading added after
    /// it is scored.
    pub const RCF_SCORE_UPDATE: i32 = 7;
    /// → opaque state bytes of the instance's model (RCF stream state).
    pub const STATE_EXPORT: i32 = 8;
    /// opaque state bytes from [`STATE_EXPORT`] → nothing; replaces the instance's state.
    pub const STATE_IMPORT: i32 = 9;
    /// → nothing; the instance goes back to the state compiled into the module.
    pub const STATE_RESET: i32 = 10;

    /// A short name for messages.
    pub fn name(op: i32) -> &'static str {
        match op {
            SCHEMA => "schema",
            SCORE => "score",
            EXPLAIN => "explain",
            FORECAST => "forecast",
            RCF_UPDATE => "rcf_update",
            RCF_SCORE => "rcf_score",
            RCF_SCORE_UPDATE => "rcf_score_update",
            STATE_EXPORT => "state_export",
            STATE_IMPORT => "state_import",
            STATE_RESET => "state_reset",
            _ => "unknown",
        }
    }
}

/// Status codes returned by `scorekit_call`.
pub mod status {
    /// Success: the output buffer holds the response.
    pub const OK: i32 = 0;
    /// The request is malformed or a value cannot be scored; the output holds a UTF-8 message
    /// naming the row and column where there is one.
    pub const BAD_INPUT: i32 = 1;
    /// This model family does not support the operation (e.g. FORECAST on a GBT model).
    pub const UNSUPPORTED: i32 = 2;
    /// A bug or a corrupt module; the output holds a UTF-8 message.
    pub const INTERNAL: i32 = 3;
}
