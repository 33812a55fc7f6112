//! Gradient-boosted decision trees for tabular data (e.g. customer churn): a histogram trainer
//! (feature `train`, native only) and a `no_std` scorer with exact TreeSHAP explanations.
//!
//! Main design choice: the trained ensemble is a handful of flat arrays ([`GbtModel`]) that the
//! scorer walks without allocating and with no float function outside `scorekit_core::math`, so
//! the same bytes give bit-identical scores natively and inside the Wasm guest. Categorical
//! features are split natively (a level bitset per split, LightGBM-style level ordering) and
//! every split learns where missing values go, so no one-hot encoding or imputation is needed.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod error;
mod explain;
#[cfg(feature = "layout")]
mod layout;
mod model;
mod repr;
mod score;
mod tree_view;

#[cfg(feature = "train")]
pub mod metrics;
#[cfg(feature = "train")]
mod params;
#[cfg(feature = "train")]
mod train;

pub use error::GbtError;
pub use model::{GbtModel, MAX_DEPTH, Objective};
#[cfg(feature = "train")]
pub use params::GbtParams;
#[cfg(feature = "train")]
pub use train::{
    FeatureType, Holdout, MAX_LEVELS, Problem, ProblemSpec, TrainData, Trained, encode_table, guess_positive,
    split_rows, train,
};
pub use tree_view::{SplitTest, TreeNode};
