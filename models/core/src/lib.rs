//! The vocabulary every scorekit model shares: the input/output [`Schema`], how a row of loosely
//! typed cells becomes a feature vector ([`encode`]), the [`InputError`]s that name the offending
//! row and column, the one math implementation ([`math`]) and a seedable PRNG ([`rng`]).
//!
//! It is `no_std` + `alloc` so that exactly this code runs natively and inside the Wasm guest:
//! parity between hosts is by construction, not by testing alone.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod decimal;
pub mod encode;
pub mod error;
pub mod math;
pub mod metric;
pub mod rng;
pub mod schema;
pub mod table;

pub use encode::{Cell, Encoder, LevelIndex, encode_row};
pub use error::InputError;
pub use metric::Metric;
pub use schema::{Family, Field, FieldKind, Schema, level_index};
pub use table::{TableView, looks_like_time};
