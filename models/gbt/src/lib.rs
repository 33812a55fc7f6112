//! Gradient-boosted trees (stub; replaced by the real crate).
#![no_std]
extern crate alloc;
use serde::{Deserialize, Serialize};
/// A trained ensemble.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GbtModel {
    /// placeholder
    pub base_score: f64,
}
