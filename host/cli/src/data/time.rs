//! Timestamps as the data sets write them, to Unix seconds: the host layer's one parser
//! (`scorekit_host::time`), with anyhow errors for the CLI.

use anyhow::Result;

/// Parses a timestamp (see `scorekit_host::time` for the accepted forms).
///
/// # Errors
/// Text that is not a timestamp, naming it.
pub fn parse_unix_seconds(text: &str) -> Result<i64> {
    scorekit_host::parse_timestamp(text).map_err(anyhow::Error::msg)
}
