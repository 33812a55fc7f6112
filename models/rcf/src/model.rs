//! [`RcfModel`]: the forest together with everything a stream needs to continue (sampler
//! priorities, the generator, the shingle buffer, the threshold statistics). Serialising it and
//! loading it back continues the stream exactly as if it had never stopped.

use alloc::vec;
use alloc::vec::Vec;
use scorekit_core::rng::Rng;
use serde::de::{self, SeqAccess, Visitor};
use serde::ser::{self, SerializeTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::compact;

use crate::error::RcfError;
use crate::params::RcfConfig;
use crate::sampler::{self, Admission, Sampler};
use crate::score::{forest_score_sum, tree_attribution};
use crate::store::PointStore;
use crate::threshold::{RcfOutput, StreamingThreshold};
use crate::tree::{Tree, View};

/// Shingled points up to this size are assembled on the stack instead of the heap.
const STACK_POINT: usize = 64;

/// A random cut forest with its streaming state. See the crate documentation.
///
/// Serialised as its fields in JSON, and in postcard (modules, stream checkpoints) as the
/// compact form of `compact.rs` (artifact format 5), which keeps every bit but numbers points,
/// nodes and leaves canonically. Postcard of format 4 (the fields, with the older compact point
/// store) still loads, so stream states saved before stay readable.
///
/// Equality is semantic: two models are equal when they have the same configuration, stream
/// position, generator, threshold and forest, bit for bit, whatever numbering their points,
/// nodes and leaves have in memory (a decoded model numbers them afresh, and nothing a model
/// computes depends on the numbers). It compares the canonical compact encodings.
#[derive(Clone, Debug)]
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

impl PartialEq for RcfModel {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.readings == other.readings
            && self.shingle == other.shingle
            && self.rng == other.rng
            && self.threshold == other.threshold
            && self.compact().ok() == other.compact().ok()
            && self.compact().is_ok()
    }
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

/// The JSON form written (the fields as they are, as [`ModelState`] reads them).
#[derive(Serialize)]
struct ModelStateRef<'a> {
    config: &'a RcfConfig,
    readings: u64,
    shingle: &'a [f64],
    store: &'a PointStore,
    trees: &'a [Tree],
    samplers: &'a [Sampler],
    rng: &'a Rng,
    threshold: &'a StreamingThreshold,
}

/// Leads the postcard of format 5. Format 4 starts with `config.dimensions`, never 0, so the
/// first varint tells the two apart.
const COMPACT_TAG: u64 = 0;

/// The compact forest as one postcard byte string.
struct Blob(Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Blob;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("compact forest bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Blob, E> {
                Ok(Blob(v.to_vec()))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// The fields of [`RcfConfig`] after `dimensions`, in order (reading format 4).
#[derive(Deserialize)]
struct ConfigTail {
    shingle_size: usize,
    num_trees: usize,
    sample_size: usize,
    time_decay: f64,
    output_after: usize,
    seed: u64,
    threshold: crate::params::ThresholdConfig,
}

impl Serialize for RcfModel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return ModelStateRef {
                config: &self.config,
                readings: self.readings,
                shingle: &self.shingle,
                store: &self.store,
                trees: &self.trees,
                samplers: &self.samplers,
                rng: &self.rng,
                threshold: &self.threshold,
            }
            .serialize(s);
        }
        let blob = self.compact().map_err(ser::Error::custom)?;
        let mut t = s.serialize_tuple(7)?;
        t.serialize_element(&COMPACT_TAG)?;
        t.serialize_element(&self.config)?;
        t.serialize_element(&self.readings)?;
        t.serialize_element(&self.shingle)?;
        t.serialize_element(&self.rng)?;
        t.serialize_element(&self.threshold)?;
        t.serialize_element(&Blob(blob))?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for RcfModel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            return RcfModel::try_from(ModelState::deserialize(d)?).map_err(de::Error::custom);
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RcfModel;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a random cut forest state")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RcfModel, A::Error> {
                fn next<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(seq: &mut A) -> Result<T, A::Error> {
                    seq.next_element()?
                        .ok_or_else(|| de::Error::custom("random cut forest state is truncated"))
                }
                let tag: u64 = next(&mut seq)?;
                if tag != COMPACT_TAG {
                    // Format 4: the fields, `tag` being `config.dimensions`.
                    let c: ConfigTail = next(&mut seq)?;
                    let config = RcfConfig {
                        dimensions: usize::try_from(tag).map_err(de::Error::custom)?,
                        shingle_size: c.shingle_size,
                        num_trees: c.num_trees,
                        sample_size: c.sample_size,
                        time_decay: c.time_decay,
                        output_after: c.output_after,
                        seed: c.seed,
                        threshold: c.threshold,
                    };
                    let state = ModelState {
                        config,
                        readings: next(&mut seq)?,
                        shingle: next(&mut seq)?,
                        store: next(&mut seq)?,
                        trees: next(&mut seq)?,
                        samplers: next(&mut seq)?,
                        rng: next(&mut seq)?,
                        threshold: next(&mut seq)?,
                    };
                    return RcfModel::try_from(state).map_err(de::Error::custom);
                }
                let config: RcfConfig = next(&mut seq)?;
                let readings = next(&mut seq)?;
                let shingle = next(&mut seq)?;
                let rng = next(&mut seq)?;
                let threshold = next(&mut seq)?;
                let blob: Blob = next(&mut seq)?;
                config.validate().map_err(de::Error::custom)?;
                let forest = compact::decode(&blob.0, compact_shape(&config))
                    .map_err(|e| de::Error::custom(RcfError::Corrupt(e.into())))?;
                let state = ModelState {
                    config,
                    readings,
                    shingle,
                    store: forest.store,
                    trees: forest.trees,
                    samplers: forest.samplers,
                    rng,
                    threshold,
                };
                RcfModel::try_from(state).map_err(de::Error::custom)
            }
        }
        // Format 4 has nine top-level elements, format 5 seven; postcard reads only those asked.
        d.deserialize_tuple(9, V)
    }
}

fn compact_shape(c: &RcfConfig) -> compact::Shape {
    compact::Shape {
        k: c.dimensions,
        shingle: c.shingle_size,
        dim: c.point_dimensions(),
        trees: c.num_trees,
        sample_size: c.sample_size,
    }
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
        // Per slot: the tree's leaf multiplicity minus the sampler's entries; all zero when the
        // sampler holds exactly the tree's points (the compact form writes one through the other).
        let mut balance = vec![0i64; s.store.slots()];
        for (t, smp) in trees.iter_mut().zip(&s.samplers) {
            t.rebuild(&s.store, dim).map_err(corrupt)?;
            if t.total_mass() as usize != smp.len() {
                return Err(corrupt("tree size does not match its sampler"));
            }
            let leaves = t.live_leaves();
            for &(slot, mass) in &leaves {
                if balance[slot as usize] != 0 {
                    return Err(corrupt("two leaves of a tree hold the same point"));
                }
                balance[slot as usize] = i64::from(mass);
            }
            for &p in smp.points() {
                balance[p as usize] -= 1;
            }
            let off = |p: &u32| balance[*p as usize] != 0;
            if leaves.iter().map(|(slot, _)| slot).any(off) || smp.points().iter().any(off) {
                return Err(corrupt("sampler and tree hold different points"));
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

    /// The compact form of the forest (see `compact.rs`).
    fn compact(&self) -> Result<Vec<u8>, &'static str> {
        let forest = compact::ForestRef { store: &self.store, trees: &self.trees, samplers: &self.samplers };
        compact::encode(&forest, compact_shape(&self.config))
    }

    /// The forest's parts, borrowed (tests of the compact form).
    #[cfg(test)]
    pub(crate) fn forest(&self) -> compact::ForestRef<'_> {
        compact::ForestRef { store: &self.store, trees: &self.trees, samplers: &self.samplers }
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
                forest_score_sum(&self.trees, &self.store, n, &window) / self.trees.len() as f64
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
            let dim = self.config.point_dimensions();
            forest_score_sum(&self.trees, &self.store, dim, p) / self.trees.len() as f64
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
