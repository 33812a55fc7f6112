//! A named evaluation figure recorded with a trained model.

use alloc::string::String;
use serde::{Deserialize, Serialize};

/// A named figure, e.g. `("auc", 0.93)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Metric name.
    pub name: String,
    /// Its value.
    pub value: f64,
}
