//! Time-decayed reservoir sampling, as AWS's `CompactSampler`: every arriving point draws the
//! weight `-λ·t + ln(-ln u)` and each tree keeps the `sample_size` smallest weights in a max-heap.
//! With λ = 0 this is a uniform reservoir; with λ > 0 recent points are favoured so the forest
//! follows a drifting stream.

use alloc::vec::Vec;
use scorekit_core::math;
use serde::{Deserialize, Serialize};

/// Max-heap of (weight, point slot), at most `capacity` entries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sampler {
    pub(crate) weights: Vec<f64>,
    pub(crate) points: Vec<u32>,
}

/// What a sampler decided for a new point.
pub(crate) enum Admission {
    /// Rejected.
    No,
    /// Accepted into free space.
    Yes,
    /// Accepted, evicting this slot (already removed from the heap).
    Evict(u32),
}

/// The random weight of the point arriving at `seq`.
#[inline]
pub(crate) fn weight(seq: u64, decay: f64, u: f64) -> f64 {
    // u ∈ [0, 1): guard u = 0 so that ln(-ln u) stays finite.
    let u = if u > 0.0 { u } else { f64::MIN_POSITIVE };
    -(seq as f64) * decay + math::ln(-math::ln(u))
}

impl Sampler {
    pub(crate) fn new() -> Self {
        Sampler { weights: Vec::new(), points: Vec::new() }
    }

    pub(crate) fn len(&self) -> usize {
        self.points.len()
    }

    pub(crate) fn points(&self) -> &[u32] {
        &self.points
    }

    /// Decides on a point of weight `w`; on eviction the evicted slot is returned and its heap
    /// entry removed, and the caller must then call [`Sampler::push`].
    pub(crate) fn admit(&mut self, w: f64, capacity: usize) -> Admission {
        if self.points.len() < capacity {
            return Admission::Yes;
        }
        if w >= self.weights[0] {
            return Admission::No;
        }
        let evicted = self.points[0];
        let last = self.points.len() - 1;
        self.weights.swap(0, last);
        self.points.swap(0, last);
        self.weights.pop();
        self.points.pop();
        self.sift_down(0);
        Admission::Evict(evicted)
    }

    pub(crate) fn push(&mut self, w: f64, slot: u32) {
        self.weights.push(w);
        self.points.push(slot);
        let mut i = self.points.len() - 1;
        while i > 0 {
            let p = (i - 1) / 2;
            if self.weights[p] >= self.weights[i] {
                break;
            }
            self.weights.swap(p, i);
            self.points.swap(p, i);
            i = p;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.points.len();
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < n && self.weights[l] > self.weights[m] {
                m = l;
            }
            if r < n && self.weights[r] > self.weights[m] {
                m = r;
            }
            if m == i {
                return;
            }
            self.weights.swap(m, i);
            self.points.swap(m, i);
            i = m;
        }
    }

    /// Structural check of a deserialised sampler.
    pub(crate) fn check(&self, capacity: usize, slots: usize) -> Result<(), &'static str> {
        if self.weights.len() != self.points.len() || self.points.len() > capacity {
            return Err("sampler larger than sample_size");
        }
        if self.weights.iter().any(|w| !w.is_finite()) {
            return Err("sampler holds a non-finite weight");
        }
        if self.points.iter().any(|&p| p as usize >= slots) {
            return Err("sampler refers to a missing point");
        }
        for i in 1..self.weights.len() {
            if self.weights[(i - 1) / 2] < self.weights[i] {
                return Err("sampler heap order violated");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_smallest_weights() {
        let mut s = Sampler::new();
        for (i, w) in [5.0, 1.0, 4.0, 2.0, 3.0].into_iter().enumerate() {
            match s.admit(w, 3) {
                Admission::No => {}
                Admission::Yes | Admission::Evict(_) => s.push(w, i as u32),
            }
        }
        let mut kept: Vec<u32> = s.points().to_vec();
        kept.sort();
        // weights 1, 2, 3 are points 1, 3, 4.
        assert_eq!(kept, [1, 3, 4]);
        assert!(s.check(3, 5).is_ok());
    }

    #[test]
    fn newer_points_weigh_less() {
        assert!(weight(1000, 0.01, 0.5) < weight(0, 0.01, 0.5));
        assert!(weight(0, 0.0, 0.0).is_finite());
    }
}
