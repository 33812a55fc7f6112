//! Quantile forecaster (stub; replaced by the real crate).
#![no_std]
extern crate alloc;
use serde::{Deserialize, Serialize};
/// A trained forecaster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastModel {
    /// placeholder
    pub horizon: u32,
}
