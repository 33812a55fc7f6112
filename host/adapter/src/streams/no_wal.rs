//! The write-ahead log's stand-in when the `wal` feature is off (the browser host has no files):
//! a [`Wal`] cannot be made, so [`crate::streams::StreamBook::with_wal`] cannot be called and
//! every logging branch of the book is dead code the compiler drops.

use super::WalRecord;
use crate::error::HostResult;

/// No write-ahead log (feature `wal` off): this type has no values.
#[derive(Debug)]
pub enum Wal {}

impl Wal {
    pub(crate) fn append(&self, _: &WalRecord, _: u64) -> HostResult<u64> {
        match *self {}
    }

    pub(crate) fn sync(&self, _: u64) -> HostResult<()> {
        match *self {}
    }

    pub(crate) fn checkpointed(&self, _: &str, _: &str, _: u64) {
        match *self {}
    }

    pub(crate) fn retire_recovered(&self) {
        match *self {}
    }
}
