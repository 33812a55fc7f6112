//! The boosting loop (native only): validation, hold-out split, binning, one tree per round on
//! the current gradients, early stopping on the validation loss.

mod binning;
mod data;
mod grow;
mod objective;
mod split;
mod table;

use std::vec;
use std::vec::Vec;

use scorekit_core::rng::Rng;

pub use data::{FeatureType, MAX_LEVELS, TrainData};
pub use split::{Holdout, guess_positive, split_rows};
pub use table::{Problem, ProblemSpec, encode_table};

use crate::error::GbtError;
use crate::model::{GbtModel, Node, Objective};
use crate::params::GbtParams;
use binning::Binned;
use grow::Grower;

/// The outcome of [`train`].
#[derive(Clone, Debug)]
pub struct Trained {
    /// The ensemble, cut to its best round when early stopping was on.
    pub model: GbtModel,
    /// Number of trees kept (the round with the lowest validation loss, or all of them).
    pub best_iteration: usize,
    /// Validation loss after each round (log-loss or MSE); empty without a validation set.
    pub valid_loss: Vec<f64>,
}

/// Row indices for training and for validation. With no explicit validation set and early
/// stopping on, a seeded `validation_fraction` of rows is held out (stratified for binary).
fn holdout(data: &TrainData, params: &GbtParams, rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
    let n = data.n_rows();
    if params.early_stopping_rounds.is_none() || params.validation_fraction == 0.0 {
        return ((0..n).collect(), Vec::new());
    }
    let strata: Vec<Vec<usize>> = match params.objective {
        Objective::Binary => {
            let (pos, neg) = (0..n).partition(|&i| data.target[i] == 1.0);
            vec![pos, neg]
        }
        Objective::Regression => vec![(0..n).collect()],
    };
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for mut s in strata {
        shuffle(&mut s, rng);
        let k = (s.len() as f64 * params.validation_fraction).round() as usize;
        // Keep at least one training row per stratum.
        let k = k.min(s.len().saturating_sub(1));
        valid.extend_from_slice(&s[..k]);
        train.extend_from_slice(&s[k..]);
    }
    train.sort_unstable();
    valid.sort_unstable();
    (train, valid)
}

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

/// Adds tree `tree`'s output for binned rows to `margin`.
fn add_tree(tree: &grow::GrownTree, binned: &Binned, bins: &[u16], margin: &mut [f64]) {
    let nf = binned.n_features;
    for (row, m) in bins.chunks_exact(nf).zip(margin.iter_mut()) {
        let mut i = 0;
        loop {
            let n = &tree.nodes[i];
            if n.is_leaf() {
                *m += n.value;
                break;
            }
            let f = n.feature as usize;
            let v = row[f];
            let left = if v as usize == binned.binners[f].n_value_bins() {
                n.default_left
            } else if n.categorical {
                let bits = &tree.bits[i];
                let w = v as usize / 32;
                w < bits.len() && bits[w] >> (v % 32) & 1 == 1
            } else {
                // Bin `b` holds values <= uppers[b], so comparing the bin's upper bound is exact.
                let binning::Binner::Numeric { uppers } = &binned.binners[f] else { unreachable!() };
                uppers[v as usize] <= n.value
            };
            i = n.left as usize + usize::from(!left);
        }
    }
}

/// Trains an ensemble on `data`. `valid`, when given, drives early stopping instead of a
/// hold-out. `progress(done, total)` is called after every round; with
/// [`GbtParams::refit`] it then counts again, up to the chosen number of rounds, for the refit.
///
/// # Errors
/// [`GbtError::InvalidParam`] for bad parameters, [`GbtError::InvalidData`],
/// [`GbtError::InvalidFeature`] or [`GbtError::InvalidTarget`] for bad data.
pub fn train(
    data: &TrainData,
    valid: Option<&TrainData>,
    params: &GbtParams,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Trained, GbtError> {
    params.validate()?;
    data.validate(params.objective)?;
    if let Some(v) = valid {
        v.validate(params.objective)?;
        if v.n_features != data.n_features || v.types != data.types {
            return Err(GbtError::InvalidData(
                "validation set has other features than the training set".into(),
            ));
        }
    }
    let nf = data.n_features;
    let mut rng = Rng::seed_from_u64(params.seed);
    let (train_rows, held_rows) = if valid.is_some() {
        ((0..data.n_rows()).collect(), Vec::new())
    } else {
        holdout(data, params, &mut rng)
    };
    let binned = Binned::fit(data, &train_rows, params.max_bins);
    let (valid_data, valid_rows) = match valid {
        Some(v) => (v, (0..v.n_rows()).collect::<Vec<_>>()),
        None => (data, held_rows),
    };
    let valid_bins = binned.bin_rows(valid_data, &valid_rows);
    let y: Vec<f64> = train_rows.iter().map(|&r| data.target[r]).collect();
    let vy: Vec<f64> = valid_rows.iter().map(|&r| valid_data.target[r]).collect();

    let objective = params.objective;
    let base = objective::base_score(objective, &y);
    let mut margin = vec![base; y.len()];
    let mut vmargin = vec![base; vy.len()];
    let (mut grad, mut hess) = (vec![0.0; y.len()], vec![0.0; y.len()]);

    let mut nodes: Vec<Node> = Vec::new();
    let (mut cover, mut gain, mut cat_bits, mut tree_starts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut valid_loss = Vec::new();
    let (mut best_loss, mut best_iter) = (f64::INFINITY, 0);
    let mut features: Vec<usize> = (0..nf).collect();
    let n_active = ((params.colsample * nf as f64).round() as usize).clamp(1, nf);

    for round in 0..params.n_estimators {
        objective::gradients(objective, &margin, &y, &mut grad, &mut hess);
        let mut rows: Vec<u32> = if params.subsample < 1.0 {
            (0..y.len() as u32).filter(|_| rng.next_f64() < params.subsample).collect()
        } else {
            (0..y.len() as u32).collect()
        };
        if rows.is_empty() {
            rows = (0..y.len() as u32).collect();
        }
        // Partial Fisher-Yates: the first `n_active` entries are a uniform sample.
        for i in 0..n_active {
            let j = i + rng.below((nf - i) as u64) as usize;
            features.swap(i, j);
        }
        let mut active = features[..n_active].to_vec();
        active.sort_unstable();
        let grower = Grower { binned: &binned, params, grad: &grad, hess: &hess, active: &active };
        let tree = grower.grow(rows);
        add_tree(&tree, &binned, &binned.bins, &mut margin);
        add_tree(&tree, &binned, &valid_bins, &mut vmargin);

        let offset = nodes.len() as u32;
        tree_starts.push(offset);
        for (mut n, bits) in tree.nodes.into_iter().zip(tree.bits) {
            if !n.is_leaf() {
                n.left += offset;
            }
            if n.categorical {
                n.cat_start = cat_bits.len() as u32;
                n.cat_len = bits.len() as u32;
                cat_bits.extend_from_slice(&bits);
            }
            nodes.push(n);
        }
        cover.extend_from_slice(&tree.cover);
        gain.extend_from_slice(&tree.gain);
        progress(round + 1, params.n_estimators);

        if !vy.is_empty() {
            let l = objective::loss(objective, &vmargin, &vy);
            valid_loss.push(l);
            if l < best_loss {
                (best_loss, best_iter) = (l, round + 1);
            }
            if params.early_stopping_rounds.is_some_and(|k| round + 1 - best_iter >= k) {
                break;
            }
        }
    }
    let cat_levels = data
        .types
        .iter()
        .map(|t| match t {
            FeatureType::Numeric => 0,
            FeatureType::Categorical { n_levels } => *n_levels as u32,
        })
        .collect();
    let mut model =
        GbtModel::from_parts(nf, objective, base, cat_levels, tree_starts, nodes, cover, gain, cat_bits)?;
    if params.early_stopping_rounds.is_none() || vy.is_empty() {
        let best_iteration = model.n_trees();
        return Ok(Trained { model, best_iteration, valid_loss });
    }
    if valid.is_none() && params.refit {
        let all = GbtParams { n_estimators: best_iter, early_stopping_rounds: None, ..params.clone() };
        let refit = train(data, None, &all, progress)?;
        return Ok(Trained { model: refit.model, best_iteration: best_iter, valid_loss });
    }
    model.truncate(best_iter);
    Ok(Trained { model, best_iteration: best_iter, valid_loss })
}
