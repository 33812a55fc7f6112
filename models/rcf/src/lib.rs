//! Random cut forest (RCF) for streaming anomaly detection, compatible in behaviour with
//! Amazon SageMaker's built-in RCF and AWS's open-source `random-cut-forest-by-aws`:
//! shingling, time-decayed reservoir sampling per tree, random cuts proportional to bounding-box
//! sides, the AWS anomaly score (≈ 1 typical, larger = more anomalous), per-value attribution
//! and a streaming threshold that turns scores into an anomaly grade.
//!
//! The main design choice: **the model is the stream's state**. [`RcfModel`] holds the forest
//! (trees in flat arrays over one shared, reference-counted point store), the sampler
//! priorities, the random generator, the shingle buffer and the threshold statistics, and it
//! serialises to a compact form (bounding boxes, parents and masses are rebuilt and validated on
//! load). So a stream can be checkpointed in a SQL row or shipped inside a Wasm module and
//! continued with bit-identical scores. Scoring is `no_std` and uses only
//! [`scorekit_core::math`], so native and Wasm results agree to the bit.
//!
//! ```
//! use scorekit_rcf::{RcfConfig, RcfModel};
//! let mut cfg = RcfConfig::new(1);
//! cfg.num_trees = 20;
//! let mut m = RcfModel::new(cfg).unwrap();
//! for i in 0..500 {
//!     m.score_then_update(&[(i as f64 * 0.3).sin()]).unwrap();
//! }
//! let typical = m.score(&[(500.0f64 * 0.3).sin()]).unwrap();
//! let spike = m.score(&[25.0]).unwrap();
//! assert!(spike > 2.0 * typical);
//! ```
#![no_std]
#![deny(missing_docs)]
// Boxes, points and cuts are parallel flat arrays indexed in lockstep; index loops read best.
#![allow(clippy::needless_range_loop)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod compact;
mod error;
mod model;
mod params;
mod sampler;
mod score;
mod store;
mod threshold;
#[cfg(feature = "train")]
pub mod train;
mod tree;

pub use error::RcfError;
pub use model::RcfModel;
pub use params::{MAX_SHINGLED_DIMENSIONS, RcfConfig, ThresholdConfig};
pub use threshold::{RcfOutput, StreamingThreshold};

#[cfg(feature = "train")]
pub use train::train;

#[cfg(test)]
mod tests;
