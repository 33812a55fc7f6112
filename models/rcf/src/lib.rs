//! Random cut forest (stub; replaced by the real crate).
#![no_std]
extern crate alloc;
use serde::{Deserialize, Serialize};
/// A trained forest with its streaming state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RcfModel {
    /// placeholder
    pub trees: u32,
}
