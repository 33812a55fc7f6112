//! [`RcfModel`]: the forest together with everything a stream needs to continue (sampler
//! priorities, the generator, the shingle buffer, the threshold statistics). Serialising it and
//! loading it back continues the stream exactly as if it had never stopped.

use alloc::vec;
use alloc::vec::Vec;
use scorekit_core::rng::Rng;
use serde::{Deserialize, Serialize};

use crate::error::RcfError;
use crate::params::RcfConfig;
use crate::sampler::{self, Admission, Sampler};
use crate::score::{tree_attribution, tree_score};
use crate::store::PointStore;
use crate::threshold::{RcfOutput, StreamingThreshold};
use crate::tree::{Tree, View};

/// Shingled points up to this size are assembled on the stack instead of the heap.
const STACK_POINT: usize = 64;

/// A random cut forest with its streaming state. See the crate documentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ModelState")]
pub struct RcfModel {
    config: RcfConfig,
    /// Readings received so far.
    readings: u64,
    /// The last `shingle_size` readings, oldest first (only the newest `readings` are real).
    shingle: Vec<f64>,
    store: PointStore,
    trees: Vec<Tree>,
    samplers: Vec<Sampler>,
    rng: Rng,
    threshold: StreamingThreshold,
}

/// The serialised form; identical fields, validated and completed by `TryFrom`.
#[derive(Deserialize)]
struct ModelState {
    config: RcfConfig,
    readings: u64,
    shingle: Vec<f64>,
    store: PointStore,
    trees: Vec<Tree>,
    samplers: Vec<Sampler>,
    rng: Rng,
    threshold: StreamingThreshold,
}

impl TryFrom<ModelState> for RcfModel {
    type Error = RcfError;

    fn try_from(s: ModelState) -> Result<Self, RcfError> {
        let corrupt = |m: &str| RcfError::Corrupt(m.into());
        s.config.validate()?;
        let dim = s.config.point_dimensions();
        if s.shingle.len() != dim || s.shingle.iter().any(|v| !v.is_finite()) {
            return Err(corrupt("shingle buffer does not match the configuration"));
        }
        if s.trees.len() != s.config.num_trees || s.samplers.len() != s.config.num_trees {
            return Err(corrupt("number of trees does not match the configuration"));
        }
        let mut counted = vec![0u32; s.store.slots()];
        for smp in &s.samplers {
            smp.check(s.config.sample_size, s.store.slots()).map_err(corrupt)?;
            for &p in smp.points() {
                counted[p as usize] += 1;
            }
        }
        s.store.check(dim, &counted).map_err(corrupt)?;
        s.threshold.check(&s.config.threshold).map_err(corrupt)?;
        let mut trees = s.trees;
        for (t, smp) in trees.iter_mut().zip(&s.samplers) {
            t.rebuild(&s.store, dim).map_err(corrupt)?;
            if t.total_mass() as usize != smp.len() {
                return Err(corrupt("tree size does not match its sampler"));
            }
        }
        Ok(RcfModel {
            config: s.config,
            readings: s.readings,
            shingle: s.shingle,
            store: s.store,
            trees,
            samplers: s.samplers,
            rng: s.rng,
            threshold: s.threshold,
        })
    }
}

impl RcfModel {
    /// An empty forest.
    ///
    /// # Errors
    /// [`RcfError::InvalidParam`] if the configuration is invalid.
    pub fn new(config: RcfConfig) -> Result<Self, RcfError> {
        config.validate()?;
        let n = config.num_trees;
        Ok(RcfModel {
            shingle: vec![0.0; config.point_dimensions()],
            readings: 0,
            store: PointStore::new(),
            trees: (0..n).map(|_| Tree::new()).collect(),
            samplers: (0..n).map(|_| Sampler::new()).collect(),
            rng: Rng::seed_from_u64(config.seed),
            threshold: StreamingThreshold::new(&config.threshold),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RcfConfig {
        &self.config
    }

    /// Values per reading.
    pub fn dimensions(&self) -> usize {
        self.config.dimensions
    }

    /// Readings received by [`RcfModel::update`] / [`RcfModel::score_then_update`].
    pub fn points_seen(&self) -> u64 {
        self.readings
    }

    /// Shingled points the forest has been offered (readings once the shingle is full).
    pub fn shingles_seen(&self) -> u64 {
        (self.readings + 1).saturating_sub(self.config.shingle_size as u64)
    }

    /// Distinct points currently held by the forest (the size of the shared point store).
    pub fn stored_points(&self) -> usize {
        self.store.live()
    }

    /// Largest number of points held by any one tree (≤ `sample_size`).
    pub fn max_tree_sample(&self) -> usize {
        self.samplers.iter().map(Sampler::len).max().unwrap_or(0)
    }

    /// Whether [`RcfModel::score`] returns real scores yet.
    pub fn is_ready(&self) -> bool {
        self.shingles_seen() >= (self.config.output_after.max(1)) as u64
    }

    /// Checks that `reading` can be learned (right length, finite), without learning it: hosts
    /// check a whole batch first so that a bad reading leaves the state untouched.
    ///
    /// # Errors
    /// [`RcfError::WrongLength`], [`RcfError::NotFinite`].
    pub fn check_reading(&self, reading: &[f64]) -> Result<(), RcfError> {
        self.check(reading)
    }

    fn check(&self, reading: &[f64]) -> Result<(), RcfError> {
        if reading.len() != self.config.dimensions {
            return Err(RcfError::WrongLength { expected: self.config.dimensions, got: reading.len() });
        }
        if let Some((index, &value)) = reading.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(RcfError::NotFinite { index, value });
        }
        Ok(())
    }

    /// Writes the shingle that `reading` would complete into `out`.
    fn shingled(&self, reading: &[f64], out: &mut [f64]) {
        let k = self.config.dimensions;
        let n = self.shingle.len();
        out[..n - k].copy_from_slice(&self.shingle[k..]);
        out[n - k..].copy_from_slice(reading);
    }

    fn with_point<R>(&self, reading: &[f64], f: impl FnOnce(&[f64]) -> R) -> R {
        let dim = self.config.point_dimensions();
        if dim <= STACK_POINT {
            let mut buf = [0.0; STACK_POINT];
            self.shingled(reading, &mut buf[..dim]);
            f(&buf[..dim])
        } else {
            let mut buf = vec![0.0; dim];
            self.shingled(reading, &mut buf);
            f(&buf)
        }
    }

    fn view<'a>(&'a self, tree: &'a Tree) -> View<'a> {
        View { tree, store: &self.store, dim: self.config.point_dimensions() }
    }

    /// Anomaly score of the shingle formed by the buffered readings and `reading`, without
    /// changing the model: ≈ 1 for typical points, larger for anomalies, 0 until the forest is
    /// ready ([`RcfModel::is_ready`]).
    ///
    /// # Errors
    /// [`RcfError::WrongLength`], [`RcfError::NotFinite`].
    pub fn score(&self, reading: &[f64]) -> Result<f64, RcfError> {
        self.check(reading)?;
        Ok(self.score_unchecked(reading))
    }

    /// Scores consecutive readings (row-major, [`RcfModel::dimensions`] values each) as a
    /// stream would see them — each shingled after the buffered readings and the ones before it
    /// in `readings` — without learning from them or changing the model. This is the batch
    /// inference of a static forest (SageMaker RCF's `score` on a trained model).
    ///
    /// # Errors
    /// [`RcfError::WrongLength`] when `readings` is not a whole number of readings or `out` has
    /// the wrong length, [`RcfError::NotFinite`] for the first bad value.
    pub fn score_sequence(&self, readings: &[f64], out: &mut [f64]) -> Result<(), RcfError> {
        let k = self.config.dimensions;
        if !readings.len().is_multiple_of(k) || readings.len() / k != out.len() {
            return Err(RcfError::WrongLength { expected: k * out.len(), got: readings.len() });
        }
        for reading in readings.chunks_exact(k) {
            self.check(reading)?;
        }
        let mut window = self.shingle.clone();
        let n = window.len();
        for (reading, slot) in readings.chunks_exact(k).zip(out.iter_mut()) {
            window.copy_within(k.., 0);
            window[n - k..].copy_from_slice(reading);
            *slot = if self.is_ready() {
                self.trees.iter().map(|t| tree_score(&self.view(t), &window)).sum::<f64>()
                    / self.trees.len() as f64
            } else {
                0.0
            };
        }
        Ok(())
    }

    fn score_unchecked(&self, reading: &[f64]) -> f64 {
        if !self.is_ready() {
            return 0.0;
        }
        self.with_point(reading, |p| {
            let mut sum = 0.0;
            for t in &self.trees {
                sum += tree_score(&self.view(t), p);
            }
            sum / self.trees.len() as f64
        })
    }

    /// Per-value attribution of [`RcfModel::score`]: entry `k` is the part of the score due to
    /// value `k` of the readings, summed over the shingle positions; the entries sum to the score.
    ///
    /// # Errors
    /// [`RcfError::WrongLength`], [`RcfError::NotFinite`].
    pub fn attribution(&self, reading: &[f64]) -> Result<Vec<f64>, RcfError> {
        self.check(reading)?;
        let k = self.config.dimensions;
        let mut per_input = vec![0.0; k];
        if !self.is_ready() {
            return Ok(per_input);
        }
        let dim = self.config.point_dimensions();
        let mut point = vec![0.0; dim];
        self.shingled(reading, &mut point);
        let mut scratch = vec![0.0; dim];
        let mut acc = vec![0.0; dim];
        let w = 1.0 / self.trees.len() as f64;
        for t in &self.trees {
            tree_attribution(&self.view(t), &point, w, &mut scratch, &mut acc);
        }
        for (i, a) in acc.iter().enumerate() {
            per_input[i % k] += a;
        }
        Ok(per_input)
    }

    /// Feeds one reading into the shingle and, once the shingle is full, offers the shingled
    /// point to every tree's sampler.
    ///
    /// # Errors
    /// [`RcfError::WrongLength`], [`RcfError::NotFinite`]; the model is unchanged then.
    pub fn update(&mut self, reading: &[f64]) -> Result<(), RcfError> {
        self.check(reading)?;
        self.update_unchecked(reading);
        Ok(())
    }

    fn update_unchecked(&mut self, reading: &[f64]) {
        let k = self.config.dimensions;
        let n = self.shingle.len();
        self.shingle.copy_within(k.., 0);
        self.shingle[n - k..].copy_from_slice(reading);
        self.readings += 1;
        if self.readings < self.config.shingle_size as u64 {
            return;
        }
        let seq = self.shingles_seen() - 1;
        let dim = n;
        let cap = self.config.sample_size;
        let decay = self.config.time_decay;
        let mut new_slot: Option<u32> = None;
        for (tree, smp) in self.trees.iter_mut().zip(self.samplers.iter_mut()) {
            let w = sampler::weight(seq, decay, self.rng.next_f64());
            match smp.admit(w, cap) {
                Admission::No => continue,
                Admission::Yes => {}
                Admission::Evict(old) => {
                    let removed = tree.delete(&self.store, old, dim);
                    debug_assert!(removed, "sampler and tree disagree");
                    self.store.dec(old, dim);
                }
            }
            let slot = *new_slot.get_or_insert_with(|| self.store.add(&self.shingle));
            let used = tree.insert(&self.store, slot, dim, &mut self.rng);
            self.store.inc(used);
            smp.push(w, used);
        }
        if let Some(s) = new_slot {
            self.store.release_if_unused(s, dim);
        }
    }

    /// The streaming path: scores `reading`, grades it against the streaming threshold, then
    /// learns from it.
    ///
    /// # Errors
    /// [`RcfError::WrongLength`], [`RcfError::NotFinite`]; the model is unchanged then.
    pub fn score_then_update(&mut self, reading: &[f64]) -> Result<RcfOutput, RcfError> {
        self.check(reading)?;
        let score = self.score_unchecked(reading);
        let out = if self.is_ready() {
            self.threshold.process(&self.config.threshold, score)
        } else {
            RcfOutput { score, grade: 0.0, is_anomaly: false, threshold: 0.0, zscore: 0.0 }
        };
        self.update_unchecked(reading);
        Ok(out)
    }

    /// Total references held by samplers (for invariants in tests).
    #[cfg(test)]
    pub(crate) fn sampled_refs(&self) -> usize {
        (0..self.store.slots() as u32).map(|s| self.store.refs(s) as usize).sum()
    }

    #[cfg(test)]
    pub(crate) fn trees(&self) -> &[Tree] {
        &self.trees
    }
}

impl core::fmt::Display for RcfModel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let c = &self.config;
        write!(
            f,
            "random cut forest: {} trees × {} points, {} values × shingle {}, {} readings seen",
            c.num_trees, c.sample_size, c.dimensions, c.shingle_size, self.readings
        )
    }
}
