//! Shared point store: each shingled point is stored once for the whole forest with a reference
//! count (one per sampler slot holding it), so 100 trees of 256 points cost far less than
//! 25 600 copies and the serialised state stays small.

use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// Flat storage of points of a fixed dimension, addressed by slot index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PointStore {
    /// `slot × dim` values, row-major. Freed slots hold zeros.
    values: Vec<f64>,
    /// References per slot; 0 = free.
    refs: Vec<u32>,
    /// Free slots, reused last-in first-out.
    free: Vec<u32>,
}

impl PointStore {
    pub(crate) fn new() -> Self {
        PointStore { values: Vec::new(), refs: Vec::new(), free: Vec::new() }
    }

    /// The point in `slot`.
    #[inline]
    pub(crate) fn get(&self, slot: u32, dim: usize) -> &[f64] {
        let s = slot as usize * dim;
        &self.values[s..s + dim]
    }

    /// Stores `point` with zero references; the caller adds them.
    pub(crate) fn add(&mut self, point: &[f64]) -> u32 {
        let dim = point.len();
        if let Some(slot) = self.free.pop() {
            let s = slot as usize * dim;
            self.values[s..s + dim].copy_from_slice(point);
            slot
        } else {
            self.values.extend_from_slice(point);
            self.refs.push(0);
            (self.refs.len() - 1) as u32
        }
    }

    pub(crate) fn inc(&mut self, slot: u32) {
        self.refs[slot as usize] += 1;
    }

    /// Drops one reference; frees the slot at zero.
    pub(crate) fn dec(&mut self, slot: u32, dim: usize) {
        let r = &mut self.refs[slot as usize];
        *r -= 1;
        if *r == 0 {
            self.release(slot, dim);
        }
    }

    /// Frees a slot that ended up with no reference (a new point no tree accepted).
    pub(crate) fn release_if_unused(&mut self, slot: u32, dim: usize) {
        if self.refs[slot as usize] == 0 {
            self.release(slot, dim);
        }
    }

    fn release(&mut self, slot: u32, dim: usize) {
        let s = slot as usize * dim;
        // Zeroed so that the serialised state does not depend on stale data.
        self.values[s..s + dim].fill(0.0);
        self.free.push(slot);
    }

    /// Number of live points.
    pub(crate) fn live(&self) -> usize {
        self.refs.len() - self.free.len()
    }

    pub(crate) fn slots(&self) -> usize {
        self.refs.len()
    }

    #[cfg(test)]
    pub(crate) fn refs(&self, slot: u32) -> u32 {
        self.refs[slot as usize]
    }

    /// Structural check of a deserialised store; `counted[slot]` are references found in samplers.
    pub(crate) fn check(&self, dim: usize, counted: &[u32]) -> Result<(), &'static str> {
        if self.values.len() != self.refs.len() * dim {
            return Err("point store size does not match its reference counts");
        }
        if self.values.iter().any(|v| !v.is_finite()) {
            return Err("point store holds a non-finite value");
        }
        if counted != self.refs.as_slice() {
            return Err("point reference counts do not match the samplers");
        }
        let mut seen = alloc::vec![false; self.refs.len()];
        for &f in &self.free {
            let f = f as usize;
            if f >= self.refs.len() || self.refs[f] != 0 || seen[f] {
                return Err("bad free list in point store");
            }
            seen[f] = true;
        }
        if self.refs.iter().filter(|&&r| r == 0).count() != self.free.len() {
            return Err("point store leaks unreferenced slots");
        }
        Ok(())
    }
}
