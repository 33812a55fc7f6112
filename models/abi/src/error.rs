//! Errors found while decoding wire bytes. Each names what was being read so that a host author
//! can see which field of their encoder is wrong.

/// Malformed request or response bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than the layout needs.
    #[error("truncated {what}: needs {needed} bytes, got {available}")]
    Truncated {
        /// The part being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// Bytes left over after the layout ended.
    #[error("{extra} unexpected trailing bytes after the {what}")]
    Trailing {
        /// The message that ended.
        what: &'static str,
        /// Number of bytes left over.
        extra: usize,
    },
    /// A layout byte other than 0 (tagged) or 1 (dense).
    #[error("unknown rows layout {0} (expected 0 = tagged cells or 1 = dense f64)")]
    UnknownLayout(u8),
    /// A reserved header field is not zero.
    #[error("reserved field in the {0} header must be zero")]
    Reserved(&'static str),
    /// A cell tag other than 0, 1, 2.
    #[error("row {row}, cell {column}: unknown cell tag {tag} (expected 0 null, 1 number, 2 text)")]
    UnknownTag {
        /// Row number (from 1, plus the request's row base).
        row: usize,
        /// Cell number within the row, from 1.
        column: usize,
        /// The tag byte.
        tag: u8,
    },
    /// A text cell that is not UTF-8.
    #[error("row {row}, cell {column}: text is not valid UTF-8")]
    InvalidUtf8 {
        /// Row number (from 1, plus the request's row base).
        row: usize,
        /// Cell number within the row, from 1.
        column: usize,
    },
    /// Rows of different lengths handed to an encoder.
    #[error("row {row}: expected {expected} values like the first row, got {got}")]
    Ragged {
        /// Row number, from 1.
        row: usize,
        /// Length of the first row.
        expected: usize,
        /// Length of this row.
        got: usize,
    },
    /// A count that does not fit the layout's u32 field.
    #[error("{0} does not fit in a u32")]
    TooLarge(&'static str),
    /// A byte length that is not a whole number of f64 values.
    #[error("{what} length {len} is not a multiple of {unit}")]
    NotMultiple {
        /// The message being read.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The unit it must be a multiple of.
        unit: usize,
    },
    /// A structurally invalid field value.
    #[error("{0}")]
    Invalid(&'static str),
}
