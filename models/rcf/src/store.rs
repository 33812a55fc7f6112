//! Shared point store: each shingled point is stored once for the whole forest with a reference
//! count (one per sampler slot holding it), so 100 trees of 256 points cost far less than
//! 25 600 copies and the serialised state stays small.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Flat storage of points of a fixed dimension, addressed by slot index.
///
/// Two serialised forms: the fields as they are (JSON), and for postcard the values as indices
/// into a table of the distinct values, delta-coded: the form of artifact format 4, which
/// stream states saved then hold and which still loads (a model now writes its forest in the
/// compact form of `compact.rs` instead). Shingled
/// points repeat each reading `shingle_size` times, and consecutive readings are consecutive
/// table entries, so most values cost one byte instead of eight; decoding gives back the same
/// bits.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PointStore {
    /// `slot × dim` values, row-major. Freed slots hold zeros.
    values: Vec<f64>,
    /// References per slot; 0 = free.
    refs: Vec<u32>,
    /// Free slots, reused last-in first-out.
    free: Vec<u32>,
}

/// The JSON form (the fields as they are).
#[derive(Serialize, Deserialize)]
struct Readable {
    values: Vec<f64>,
    refs: Vec<u32>,
    free: Vec<u32>,
}

/// The postcard form: `values[i] = table[index_i]`, `index_i = index_{i-1} + delta_i` (from 0),
/// deltas zigzag-coded so that small steps either way are one byte.
#[derive(Serialize, Deserialize)]
struct Compact {
    table: Vec<f64>,
    deltas: Vec<u32>,
    refs: Vec<u32>,
    free: Vec<u32>,
}

impl Serialize for PointStore {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (refs, free) = (self.refs.clone(), self.free.clone());
        if s.is_human_readable() {
            return Readable { values: self.values.clone(), refs, free }.serialize(s);
        }
        let mut index: BTreeMap<u64, u32> = BTreeMap::new();
        let mut table = Vec::new();
        let mut deltas = Vec::with_capacity(self.values.len());
        let mut previous = 0u32;
        for v in &self.values {
            let i = *index.entry(v.to_bits()).or_insert_with(|| {
                table.push(*v);
                (table.len() - 1) as u32
            });
            let d = i.wrapping_sub(previous) as i32;
            deltas.push(((d << 1) ^ (d >> 31)) as u32);
            previous = i;
        }
        Compact { table, deltas, refs, free }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PointStore {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let r = Readable::deserialize(d)?;
            return Ok(PointStore { values: r.values, refs: r.refs, free: r.free });
        }
        let c = Compact::deserialize(d)?;
        let mut values = Vec::with_capacity(c.deltas.len());
        let mut i = 0u32;
        for z in c.deltas {
            i = i.wrapping_add(((z >> 1) as i32 ^ -((z & 1) as i32)) as u32);
            let v = c
                .table
                .get(i as usize)
                .ok_or_else(|| serde::de::Error::custom("point store value index out of range"))?;
            values.push(*v);
        }
        Ok(PointStore { values, refs: c.refs, free: c.free })
    }
}

impl PointStore {
    pub(crate) fn new() -> Self {
        PointStore { values: Vec::new(), refs: Vec::new(), free: Vec::new() }
    }

    /// A store of `refs.len()` slots, all live (the compact form numbers them densely).
    pub(crate) fn from_parts(values: Vec<f64>, refs: Vec<u32>) -> Self {
        PointStore { values, refs, free: Vec::new() }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_form_keeps_the_bits_and_shares_repeated_values() {
        let mut s = PointStore::new();
        // Shingles of one stream: each reading is in two points; -0.0 and 0.0 stay distinct.
        let readings = [1.5, -0.0, 0.0, 1e-300, f64::MAX, 1.5, 7.25];
        for w in readings.windows(2) {
            s.add(w);
        }
        let bytes = postcard::to_allocvec(&s).unwrap();
        let back: PointStore = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(
            back.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            s.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!((back.refs, back.free), (s.refs, s.free));
        // Six distinct values of eight bytes, twelve one-byte deltas, six one-byte refs, four
        // lengths: not the 96 bytes of the twelve values themselves.
        assert_eq!(bytes.len(), 6 * 8 + 12 + 6 + 4);
    }

    #[test]
    fn compact_form_refuses_an_index_past_the_table() {
        // table [2.0], deltas [0, +1 (zigzag 2)], one slot of two values.
        let c = Compact {
            table: alloc::vec![2.0],
            deltas: alloc::vec![0, 2],
            refs: alloc::vec![0],
            free: alloc::vec![0],
        };
        let bytes = postcard::to_allocvec(&c).unwrap();
        let e = postcard::from_bytes::<PointStore>(&bytes).unwrap_err();
        // (postcard keeps the kind, not the message, of a custom error.)
        assert!(matches!(e, postcard::Error::SerdeDeCustom), "{e}");
    }
}
