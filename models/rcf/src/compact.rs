//! The compact binary form of the forest's state (artifact format 5): one bit stream that holds
//! the point store, the trees and the samplers, inside the postcard encoding of [`RcfModel`]
//! (modules, stream checkpoints). The JSON form is untouched.
//!
//! Lossless: every weight, cut and coordinate comes back with the same bits. What is *not* kept
//! is the in-memory numbering, which nothing in scoring or updating depends on (slots, nodes and
//! leaves are only identities, compared for equality; free lists only decide which number a new
//! point or node gets). Decoding numbers everything canonically: point slots in the order the
//! stream is rebuilt, nodes and leaves in pre-order, no free slots; a sampler's heap becomes its
//! weights sorted descending (a valid max-heap). The one place where a heap's layout could matter
//! is a tie between equal weights (which entry sits at the root and is evicted first), so a
//! sampler holding two equal weights keeps its layout exactly.
//!
//! The encoding depends only on that semantic content, never on the numbers, so it is canonical:
//! two models that behave alike encode alike, and `decode ∘ encode` is the identity on it.
//!
//! Layout (all integers little-endian bit fields; `γ` = Elias gamma of n+1; `rice` = a Rice
//! code whose parameter leads the sequence):
//! 1. points: shingled points are windows of consecutive readings, so they are rebuilt as chains
//!    (each point followed by one that starts with its last readings, shifted by one reading or,
//!    where the stream between them was not sampled, a few) written as readings: per chain its
//!    length, each link's shift, then the readings as indices into the table of distinct values
//!    (decimals as sorted gap-coded integers at a common exponent, the rest as sorted gap-coded
//!    bit patterns), index deltas per value position rice-coded;
//! 2. trees: leaf count, the pre-order shape (1 bit a node), cut dimensions, each leaf's point;
//! 3. samplers: weights sorted descending, the first raw and the gaps rice-coded, and for each
//!    the leaf it belongs to (leaf multiplicities are these counts);
//! 4. cut values: a cut lies between the largest value of its left subtree and the smallest of
//!    its right one along its dimension, both known from the points by then; it is written as
//!    its position among the f64s in that interval, in truncated binary of that count.

use alloc::vec;
use alloc::vec::Vec;

use alloc::string::ToString;
use scorekit_core::decimal::Decimal;

use crate::sampler::Sampler;
use crate::store::PointStore;
use crate::tree::{LEAF, NONE, Tree, is_leaf};

/// Why a compact state could not be decoded.
pub(crate) type Error = &'static str;
const TRUNCATED: Error = "compact forest state is truncated";
const RANGE: Error = "compact forest state holds an out-of-range value";

/// Order-preserving map of f64 bits to integers: `a < b` (as bit patterns ordered by value, with
/// -0.0 below 0.0) iff `key(a) < key(b)`. A bijection, so every bit pattern comes back.
#[inline]
fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | 1 << 63 }
}

#[inline]
fn unkey(k: u64) -> f64 {
    if k >> 63 == 1 { f64::from_bits(k & !(1 << 63)) } else { f64::from_bits(!k) }
}

/// Bits needed to write any value in `0..=max`.
#[inline]
fn width(max: u64) -> u32 {
    64 - max.leading_zeros()
}

/// Rice quotients at or past this are written raw (64 bits) after this many ones.
const ESCAPE: u64 = 32;

#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, mut v: u64, mut w: u32) {
        while w > 0 {
            let take = w.min(32);
            self.acc |= (v & ((1u64 << take) - 1)) << self.n;
            self.n += take;
            v = v.checked_shr(take).unwrap_or(0);
            w -= take;
            while self.n >= 8 {
                self.bytes.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
    }

    /// `v` in `0..n` (n ≥ 1) in truncated binary: ⌊log₂ n⌋ or one more bit, never wasting
    /// most of a bit as a fixed width would when `n` is not a power of two.
    fn below(&mut self, v: u64, n: u64) {
        let k = 63 - n.leading_zeros();
        let u = ((1u128 << (k + 1)) - u128::from(n)) as u64;
        if v < u {
            self.put(v, k);
        } else {
            let w = u128::from(v) + u128::from(u);
            self.put((w >> 1) as u64, k);
            self.put((w & 1) as u64, 1);
        }
    }

    fn gamma(&mut self, v: u64) {
        let x = v.wrapping_add(1);
        if x == 0 {
            // v = u64::MAX: 64 ones (no real count gets here), then the raw value.
            self.put(u64::MAX, 64);
            self.put(v, 64);
            return;
        }
        let w = width(x);
        self.put((1u64 << (w - 1)) - 1, w - 1);
        self.put(0, 1);
        self.put(x, w - 1);
    }

    fn rice(&mut self, v: u64, k: u32) {
        let q = v >> k;
        if q >= ESCAPE {
            self.put((1u64 << ESCAPE) - 1, ESCAPE as u32);
            self.put(v, 64);
        } else {
            self.put((1u64 << q) - 1, q as u32);
            self.put(0, 1);
            self.put(v, k);
        }
    }

    /// A Rice-coded sequence with the parameter that makes it shortest (the length is known).
    fn rice_seq(&mut self, vs: &[u64]) {
        let cost = |k: u32| -> u64 {
            vs.iter().map(|&v| if v >> k >= ESCAPE { ESCAPE + 64 } else { (v >> k) + 1 + u64::from(k) }).sum()
        };
        let k = (0..64).min_by_key(|&k| cost(k)).unwrap_or(0);
        self.put(u64::from(k), 6);
        for &v in vs {
            self.rice(v, k);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    /// A capacity for `n` items that each take at least one more bit of the input: never more
    /// than the bits left, so a short hostile state cannot make us reserve memory it does not
    /// describe (a count near its cap costs only a few bits).
    fn capacity(&self, n: usize) -> usize {
        n.min((self.bytes.len() * 8).saturating_sub(self.pos))
    }

    fn get(&mut self, w: u32) -> Result<u64, Error> {
        let mut v = 0u64;
        let mut got = 0;
        while got < w {
            let byte = *self.bytes.get(self.pos / 8).ok_or(TRUNCATED)?;
            let off = (self.pos % 8) as u32;
            let take = (8 - off).min(w - got);
            v |= ((u64::from(byte) >> off) & ((1u64 << take) - 1)) << got;
            got += take;
            self.pos += take as usize;
        }
        Ok(v)
    }

    fn ones(&mut self, max: u32) -> Result<u32, Error> {
        let mut q = 0;
        while q < max && self.get(1)? == 1 {
            q += 1;
        }
        Ok(q)
    }

    /// [`Bits::below`]'s value; an error if it is not below `n`.
    fn below(&mut self, n: u64) -> Result<u64, Error> {
        let k = 63 - n.leading_zeros();
        let u = ((1u128 << (k + 1)) - u128::from(n)) as u64;
        let x = self.get(k)?;
        let v =
            if x < u { x } else { ((u128::from(x) << 1 | u128::from(self.get(1)?)) - u128::from(u)) as u64 };
        if v < n { Ok(v) } else { Err(RANGE) }
    }

    fn gamma(&mut self) -> Result<u64, Error> {
        let z = self.ones(64)?;
        if z == 64 {
            return self.get(64);
        }
        Ok(((1u64 << z) | self.get(z)?) - 1)
    }

    fn rice(&mut self, k: u32) -> Result<u64, Error> {
        let q = self.ones(ESCAPE as u32)?;
        if u64::from(q) == ESCAPE {
            return self.get(64);
        }
        Ok((u64::from(q) << k) | self.get(k)?)
    }

    fn rice_k(&mut self) -> Result<u32, Error> {
        Ok(self.get(6)? as u32)
    }

    /// A count that must fit in memory of a sane size: at most `max`.
    fn count(&mut self, max: usize) -> Result<usize, Error> {
        let n = self.gamma()?;
        if n > max as u64 { Err(RANGE) } else { Ok(n as usize) }
    }
}

/// The state the bit stream holds, in the model's own types (numbered canonically on decode).
pub(crate) struct Forest {
    pub(crate) store: PointStore,
    pub(crate) trees: Vec<Tree>,
    pub(crate) samplers: Vec<Sampler>,
}

/// The same, borrowed from a model, to encode.
pub(crate) struct ForestRef<'a> {
    pub(crate) store: &'a PointStore,
    pub(crate) trees: &'a [Tree],
    pub(crate) samplers: &'a [Sampler],
}

/// Shape of the forest, from the configuration.
#[derive(Clone, Copy)]
pub(crate) struct Shape {
    /// Values per reading.
    pub(crate) k: usize,
    /// Readings per point.
    pub(crate) shingle: usize,
    /// Values per point.
    pub(crate) dim: usize,
    pub(crate) trees: usize,
    pub(crate) sample_size: usize,
}

/// A tree in pre-order: its shape bits, internal nodes and leaves as in-memory references.
struct Walk {
    shape: Vec<bool>,
    nodes: Vec<u32>,
    leaves: Vec<u32>,
}

fn walk(t: &Tree) -> Walk {
    let mut w = Walk { shape: Vec::new(), nodes: Vec::new(), leaves: Vec::new() };
    let mut stack = Vec::new();
    if t.root != NONE {
        stack.push(t.root);
    }
    while let Some(r) = stack.pop() {
        if is_leaf(r) {
            w.shape.push(false);
            w.leaves.push(r & !LEAF);
        } else {
            w.shape.push(true);
            w.nodes.push(r);
            stack.push(t.right[r as usize]);
            stack.push(t.left[r as usize]);
        }
    }
    w
}

/// Heapsort of `v` by `cmp`: one small non-generic routine instead of the standard library's
/// sorts, which would each add kilobytes of code to the guest.
fn sort_by(v: &mut [u32], cmp: &dyn Fn(u32, u32) -> core::cmp::Ordering) {
    let n = v.len();
    let sift = |v: &mut [u32], mut i: usize, end: usize| loop {
        let mut m = i;
        for c in [2 * i + 1, 2 * i + 2] {
            if c < end && cmp(v[c], v[m]).is_gt() {
                m = c;
            }
        }
        if m == i {
            return;
        }
        v.swap(i, m);
        i = m;
    };
    for i in (0..n / 2).rev() {
        sift(v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

/// Sorts keys ascending (through [`sort_by`] on their positions).
fn sort_keys(keys: &mut Vec<u64>) {
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    sort_by(&mut order, &|a, b| keys[a as usize].cmp(&keys[b as usize]));
    *keys = order.iter().map(|&i| keys[i as usize]).collect();
}

/// `x` as `m × 10^e` with `m` as small as it goes, read off its shortest decimal form (the digits
/// that read back to the same bits); `None` if `m` does not fit in 64 bits. Sign apart.
fn decimal_parts(x: f64) -> Option<(bool, u64, i32)> {
    let text = Decimal(x).to_string();
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let mut m: u64 = 0;
    let mut e: i32 = 0;
    let mut after_point = false;
    for ch in digits.chars() {
        match ch {
            '.' => after_point = true,
            '0'..='9' => {
                m = m.checked_mul(10)?.checked_add(u64::from(ch as u8 - b'0'))?;
                if after_point {
                    e -= 1;
                }
            }
            _ => return None,
        }
    }
    while m != 0 && m.is_multiple_of(10) {
        m /= 10;
        e += 1;
    }
    Some((neg, m, e))
}

/// The f64 nearest to `±m × 10^e` (core's correctly rounded parser).
fn from_decimal(neg: bool, m: u64, e: i32) -> Option<f64> {
    let x: f64 = alloc::format!("{m}e{e}").parse().ok()?;
    Some(if neg { -x } else { x })
}

/// Writes the distinct values (`keys`, ascending) and returns each one's position in the order
/// they are read back. Readings are usually decimals of a few digits, which take far fewer bits
/// as integers at a common decimal exponent than as f64 bit patterns: the values that are
/// exactly `±M × 10^E` (E the commonest exponent, M in 64 bits) are written so, negatives and
/// positives each as sorted gap-coded `M`s; the others as their bit patterns, gap-coded too.
/// Read back: the others, then the negatives, then the positives.
fn write_table(out: &mut Bits, keys: &[u64]) -> Vec<u32> {
    let parts: Vec<Option<(bool, u64, i32)>> = keys.iter().map(|&k| decimal_parts(unkey(k))).collect();
    let mut exps: Vec<u64> = parts.iter().flatten().map(|p| (i64::from(p.2) + (1 << 20)) as u64).collect();
    sort_keys(&mut exps);
    // (No decimals at all: exponent 0.)
    let (mut best, mut best_run, mut run) = (1u64 << 20, 0usize, 0usize);
    for (i, &x) in exps.iter().enumerate() {
        run = if i > 0 && exps[i - 1] == x { run + 1 } else { 1 };
        if run > best_run {
            (best, best_run) = (x, run);
        }
    }
    let e0 = best as i64 - (1 << 20);
    let e0 = e0 as i32;
    let at_e0 = |p: &Option<(bool, u64, i32)>, k: u64| -> Option<(bool, u64)> {
        let (neg, m, e) = (*p)?;
        let mut big = m;
        for _ in 0..(e - e0).max(0) {
            big = big.checked_mul(10)?;
        }
        if e < e0 || from_decimal(neg, big, e0)?.to_bits() != unkey(k).to_bits() {
            return None;
        }
        Some((neg, big))
    };
    let mut others = Vec::new();
    let (mut neg, mut pos) = (Vec::new(), Vec::new());
    for (i, (p, &k)) in parts.iter().zip(keys).enumerate() {
        match at_e0(p, k) {
            None => others.push((k, i)),
            Some((true, m)) => neg.push((m, i)),
            Some((false, m)) => pos.push((m, i)),
        }
    }
    // Negatives come in descending key order: ascending magnitude is the reverse.
    neg.reverse();
    let zz = i64::from(e0);
    out.gamma(((zz << 1) ^ (zz >> 63)) as u64);
    let mut order = vec![0u32; keys.len()];
    let mut next = 0u32;
    for list in [&others, &neg, &pos] {
        out.gamma(list.len() as u64);
        if let Some(&(first, _)) = list.first() {
            out.put(first, 64);
            let gaps: Vec<u64> = list.windows(2).map(|w| w[1].0 - w[0].0 - 1).collect();
            out.rice_seq(&gaps);
        }
        for &(_, i) in list.iter() {
            order[i] = next;
            next += 1;
        }
    }
    order
}

/// Reads [`write_table`]'s values, in its read-back order (at most `max` of them).
fn read_table(r: &mut Reader<'_>, max: usize) -> Result<Vec<f64>, Error> {
    let z = r.gamma()?;
    let e0 = ((z >> 1) as i64) ^ -((z & 1) as i64);
    let e0 = i32::try_from(e0).ok().filter(|e| e.abs() <= 400).ok_or(RANGE)?;
    let mut table = Vec::new();
    for list in 0..3 {
        let len = r.count(max - table.len())?;
        if len == 0 {
            continue;
        }
        let mut at = r.get(64)?;
        let kk = r.rice_k()?;
        for i in 0..len {
            if i > 0 {
                at = at.checked_add(r.rice(kk)?).and_then(|a| a.checked_add(1)).ok_or(RANGE)?;
            }
            table.push(match list {
                0 => unkey(at),
                _ => from_decimal(list == 1, at, e0).ok_or(RANGE)?,
            });
        }
    }
    Ok(table)
}

/// The interval of keys a cut between `lmax` and `rmin` can have (`lmax ≤ cut < rmin`). A zero
/// bound counts as -0.0 whatever its sign: boxes grown point by point and boxes rebuilt on load
/// may hold zeros of different signs (min/max of ±0), which must not change the encoding.
fn cut_keys(lmax: f64, rmin: f64) -> (u64, u64) {
    let k = |v: f64| if v == 0.0 { key(-0.0) } else { key(v) };
    (k(lmax), k(rmin))
}

/// Encodes the forest (a validated model: each sampler holds exactly its tree's leaves).
pub(crate) fn encode(f: &ForestRef<'_>, shape: Shape) -> Result<Vec<u8>, Error> {
    const INCONSISTENT: Error = "sampler and tree disagree";
    let (k, s, dim) = (shape.k, shape.shingle, shape.dim);
    let walks: Vec<Walk> = f.trees.iter().map(walk).collect();
    // Points in the order of their first appearance (tree by tree, leaves in pre-order).
    let mut canon = vec![NONE; f.store.slots()];
    let mut by_canon: Vec<u32> = Vec::new();
    for (t, w) in f.trees.iter().zip(&walks) {
        for &j in &w.leaves {
            let slot = t.leaf_point[j as usize] as usize;
            if canon[slot] == NONE {
                canon[slot] = by_canon.len() as u32;
                by_canon.push(slot as u32);
            }
        }
    }
    let n = by_canon.len();
    let point = |c: usize| f.store.get(by_canon[c], dim);
    // Chains: a point is followed by the first unplaced point (in the order of their values)
    // that repeats its last readings: shifted by one reading if there is one, else by two, and
    // so on (the stream between them was not sampled). Chains start at points nothing can
    // precede, then (cycles) anywhere. Sorted arrays rather than maps keep the guest small.
    let max_shift = (s - 1).max(1);
    // Comparisons run over bit patterns laid out once: `fw` each point's values as they are,
    // `bw` its readings from the last one back (for matching ends against starts).
    let mut fw: Vec<u64> = Vec::with_capacity(n * dim);
    let mut bw: Vec<u64> = Vec::with_capacity(n * dim);
    for c in 0..n {
        let p = point(c);
        fw.extend(p.iter().map(|v| v.to_bits()));
        for r in (0..s).rev() {
            bw.extend(p[r * k..(r + 1) * k].iter().map(|v| v.to_bits()));
        }
    }
    let fw_of = |c: u32| &fw[c as usize * dim..(c as usize + 1) * dim];
    let bw_of = |c: u32| &bw[c as usize * dim..(c as usize + 1) * dim];
    let mut fwd: Vec<u32> = (0..n as u32).collect();
    sort_by(&mut fwd, &|a, b| fw_of(a).cmp(fw_of(b)).then(a.cmp(&b)));
    let mut bwd: Vec<u32> = (0..n as u32).collect();
    sort_by(&mut bwd, &|a, b| bw_of(a).cmp(bw_of(b)));
    // Positions in `fwd` of the points whose first values are `x`.
    let starting = |x: &[u64]| -> (usize, usize) {
        let head = |c: u32| &fw_of(c)[..x.len()];
        let lo = fwd.partition_point(|&c| head(c) < x);
        let hi = fwd.partition_point(|&c| head(c) <= x);
        (lo, hi)
    };
    // Whether some point ends with the first `l` readings of `c`, for some 1 ≤ l < shingle:
    // the first `l` readings of `q` from its end equal those of `c` from its `l`-th back.
    let has_pred = |c: usize| {
        s == 1
            || (1..s).any(|l| {
                let x = &bw_of(c as u32)[(s - l) * k..];
                let i = bwd.partition_point(|&q| &bw_of(q)[..l * k] < x);
                bwd.get(i).is_some_and(|&q| &bw_of(q)[..l * k] == x)
            })
    };
    // First unplaced position in `fwd` at or after `i` (skip pointers, path-halving).
    let mut skip: Vec<u32> = (0..=n as u32).collect();
    fn first_free(skip: &mut [u32], mut i: usize) -> usize {
        while skip[i] as usize != i {
            let next = skip[i] as usize;
            skip[i] = skip[next];
            i = next;
        }
        i
    }
    let mut at_fwd = vec![0u32; n];
    for (i, &c) in fwd.iter().enumerate() {
        at_fwd[c as usize] = i as u32;
    }
    let mut placed = vec![false; n];
    // (point, shift from the previous point in readings; 0 for a chain's first).
    let mut chains: Vec<Vec<(u32, u32)>> = Vec::new();
    for pass in 0..2 {
        for c in 0..n {
            if placed[c] || (pass == 0 && has_pred(c)) {
                continue;
            }
            let mut chain = Vec::new();
            let (mut cur, mut shift) = (c, 0);
            loop {
                placed[cur] = true;
                let i = at_fwd[cur] as usize;
                skip[i] = i as u32 + 1;
                chain.push((cur as u32, shift as u32));
                let found = (1..=max_shift).find_map(|j| {
                    let (lo, hi) = starting(&fw_of(cur as u32)[j * k..]);
                    let next = first_free(&mut skip, lo);
                    (next < hi).then(|| (fwd[next] as usize, j))
                });
                let Some((next, j)) = found else { break };
                (cur, shift) = (next, j);
            }
            chains.push(chain);
        }
    }
    // Final slot numbers: the order the chains write the points.
    let mut slot_id = vec![NONE; f.store.slots()];
    let mut values: Vec<f64> = Vec::new();
    for (i, &(c, _)) in chains.iter().flatten().enumerate() {
        slot_id[by_canon[c as usize] as usize] = i as u32;
    }
    for chain in &chains {
        values.extend_from_slice(point(chain[0].0 as usize));
        for &(c, j) in &chain[1..] {
            values.extend_from_slice(&point(c as usize)[dim - j as usize * k..]);
        }
    }
    let mut out = Bits::default();
    out.gamma(n as u64);
    out.gamma(chains.len() as u64);
    for chain in &chains {
        out.gamma(chain.len() as u64 - 1);
    }
    let shifts: Vec<u64> =
        chains.iter().flat_map(|c| c[1..].iter().map(|&(_, j)| u64::from(j) - 1)).collect();
    out.rice_seq(&shifts);
    let mut table: Vec<u64> = values.iter().map(|&v| key(v)).collect();
    sort_keys(&mut table);
    table.dedup();
    // Table position of each distinct value (`table` is in key order).
    let pos_of = write_table(&mut out, &table);
    let mut last = vec![0u64; k];
    let deltas: Vec<u64> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let at = u64::from(pos_of[table.binary_search(&key(v)).unwrap_or(0)]);
            let d = at.wrapping_sub(last[i % k]) as i64;
            last[i % k] = at;
            ((d << 1) ^ (d >> 63)) as u64
        })
        .collect();
    out.rice_seq(&deltas);
    // Trees.
    let (wdim, wslot) = (width(dim as u64 - 1), width((n as u64).saturating_sub(1)));
    for (t, w) in f.trees.iter().zip(&walks) {
        out.gamma(w.leaves.len() as u64);
        for &b in &w.shape {
            out.put(u64::from(b), 1);
        }
        for &nd in &w.nodes {
            out.put(u64::from(t.cut_dim[nd as usize]), wdim);
        }
        for &j in &w.leaves {
            out.put(u64::from(slot_id[t.leaf_point[j as usize] as usize]), wslot);
        }
    }
    // Samplers: each entry's leaf (pre-order index), found through its point.
    let mut leaf_of = vec![NONE; f.store.slots()];
    for ((t, w), smp) in f.trees.iter().zip(&walks).zip(f.samplers) {
        for (i, &j) in w.leaves.iter().enumerate() {
            leaf_of[t.leaf_point[j as usize] as usize] = i as u32;
        }
        let mut entries: Vec<(f64, u32)> = Vec::with_capacity(smp.weights.len());
        for (&wt, &p) in smp.weights.iter().zip(&smp.points) {
            let leaf = *leaf_of.get(p as usize).ok_or(INCONSISTENT)?;
            if leaf == NONE {
                return Err(INCONSISTENT);
            }
            entries.push((wt, leaf));
        }
        let mut order: Vec<u32> = (0..entries.len() as u32).collect();
        sort_by(&mut order, &|a, b| {
            let (x, y) = (entries[a as usize], entries[b as usize]);
            key(y.0).cmp(&key(x.0)).then(x.1.cmp(&y.1))
        });
        let sorted: Vec<(f64, u32)> = order.iter().map(|&i| entries[i as usize]).collect();
        let tie = sorted.windows(2).any(|p| p[0].0 == p[1].0);
        out.put(u64::from(tie), 1);
        out.gamma(entries.len() as u64);
        let wleaf = width((w.leaves.len() as u64).saturating_sub(1));
        if tie {
            for &(wt, leaf) in &entries {
                out.put(wt.to_bits(), 64);
                out.put(u64::from(leaf), wleaf);
            }
        } else if let Some(&(first, _)) = sorted.first() {
            out.put(key(first), 64);
            let gaps: Vec<u64> = sorted.windows(2).map(|p| key(p[0].0) - key(p[1].0) - 1).collect();
            out.rice_seq(&gaps);
            for &(_, leaf) in &sorted {
                out.put(u64::from(leaf), wleaf);
            }
        }
        for &j in &w.leaves {
            leaf_of[t.leaf_point[j as usize] as usize] = NONE;
        }
    }
    // Cut values, between their children's extents (the in-memory boxes are exact).
    for (t, w) in f.trees.iter().zip(&walks) {
        for &nd in &w.nodes {
            let (lo, hi) = t.cut_bounds(nd, f.store, dim);
            let (lo, hi) = cut_keys(lo, hi);
            let cv = key(t.cut_value[nd as usize]);
            if cv < lo || cv >= hi {
                return Err("tree cut does not separate its children");
            }
            out.below(cv - lo, hi - lo);
        }
    }
    Ok(out.finish())
}

/// Decodes [`encode`] output into canonically numbered parts (the caller validates the model).
pub(crate) fn decode(bytes: &[u8], shape: Shape) -> Result<Forest, Error> {
    let (k, s, dim) = (shape.k, shape.shingle, shape.dim);
    let mut r = Reader { bytes, pos: 0 };
    // Every point is a leaf of some tree, so there are at most trees × sample_size of them.
    let max_points = shape.trees.saturating_mul(shape.sample_size);
    let n = r.count(max_points)?;
    let n_chains = r.count(n)?;
    let mut chain_len = Vec::with_capacity(r.capacity(n_chains));
    let mut total = 0usize;
    for _ in 0..n_chains {
        let len = r.count(n)? + 1;
        total += len;
        if total > n {
            return Err(RANGE);
        }
        chain_len.push(len);
    }
    if total != n {
        return Err("compact forest state: chains do not hold every point");
    }
    let max_shift = (s - 1).max(1);
    let kk = r.rice_k()?;
    let mut shifts = Vec::with_capacity(r.capacity(n - n_chains));
    let mut n_readings = n_chains * s;
    for _ in 0..n - n_chains {
        let j = r.rice(kk)?.saturating_add(1);
        if j > max_shift as u64 {
            return Err(RANGE);
        }
        n_readings += j as usize;
        shifts.push(j as usize);
    }
    let n_values = n_readings * k;
    let table = read_table(&mut r, n_values)?;
    let kk = r.rice_k()?;
    let mut last = vec![0u64; k];
    let mut values = Vec::with_capacity(r.capacity(n_values));
    for i in 0..n_values {
        let z = r.rice(kk)?;
        let d = ((z >> 1) as i64) ^ -((z & 1) as i64);
        let at = last[i % k].wrapping_add(d as u64);
        last[i % k] = at;
        let v = *table.get(usize::try_from(at).map_err(|_| RANGE)?).ok_or(RANGE)?;
        values.push(v);
    }
    let mut store_values = Vec::with_capacity(n * dim);
    let (mut start, mut shift) = (0, shifts.iter());
    for &len in &chain_len {
        for i in 0..len {
            if i > 0 {
                start += shift.next().copied().unwrap_or(0) * k;
            }
            store_values.extend_from_slice(&values[start..start + dim]);
        }
        start += dim;
    }
    let mut refs = vec![0u32; n];
    // Trees.
    let (wdim, wslot) = (width(dim as u64 - 1), width((n as u64).saturating_sub(1)));
    let mut trees = Vec::with_capacity(shape.trees);
    for _ in 0..shape.trees {
        let leaves = r.count(shape.sample_size)?;
        let mut t = Tree::new();
        if leaves > 0 {
            let mut stack: Vec<u32> = Vec::new();
            let mut placed_root = false;
            while !placed_root || !stack.is_empty() {
                let internal = r.get(1)? == 1;
                let me = if internal {
                    if t.left.len() + 1 >= leaves {
                        return Err("compact forest state: tree shape does not match its leaves");
                    }
                    t.cut_dim.push(0);
                    t.cut_value.push(0.0);
                    t.left.push(NONE);
                    t.right.push(NONE);
                    (t.left.len() - 1) as u32
                } else {
                    t.leaf_point.push(0);
                    t.leaf_mass.push(0);
                    (t.leaf_point.len() - 1) as u32 | LEAF
                };
                if let Some(&p) = stack.last() {
                    if t.left[p as usize] == NONE {
                        t.left[p as usize] = me;
                    } else {
                        t.right[p as usize] = me;
                        stack.pop();
                    }
                } else {
                    t.root = me;
                    placed_root = true;
                }
                if internal {
                    stack.push(me);
                }
            }
            if t.leaf_point.len() != leaves {
                return Err("compact forest state: tree shape does not match its leaves");
            }
            for d in &mut t.cut_dim {
                *d = r.get(wdim)? as u32;
            }
            for p in &mut t.leaf_point {
                let v = r.get(wslot)?;
                if v >= n as u64 {
                    return Err(RANGE);
                }
                *p = v as u32;
            }
        }
        trees.push(t);
    }
    // Samplers; leaf multiplicities and point references follow from them.
    let mut samplers = Vec::with_capacity(shape.trees);
    for t in &mut trees {
        let tie = r.get(1)? == 1;
        let len = r.count(shape.sample_size)?;
        let wleaf = width((t.leaf_point.len() as u64).saturating_sub(1));
        let mut smp = Sampler::new();
        let mut leaf = |r: &mut Reader<'_>, t: &mut Tree| -> Result<u32, Error> {
            let j = r.get(wleaf)? as usize;
            let m = t.leaf_mass.get_mut(j).ok_or(RANGE)?;
            *m += 1;
            let p = t.leaf_point[j];
            refs[p as usize] += 1;
            Ok(p)
        };
        if tie {
            for _ in 0..len {
                let w = f64::from_bits(r.get(64)?);
                let p = leaf(&mut r, t)?;
                smp.weights.push(w);
                smp.points.push(p);
            }
        } else if len > 0 {
            let mut at = r.get(64)?;
            let kk = r.rice_k()?;
            let mut keys = vec![at];
            for _ in 1..len {
                at = at.checked_sub(r.rice(kk)?).and_then(|a| a.checked_sub(1)).ok_or(RANGE)?;
                keys.push(at);
            }
            for kw in keys {
                let p = leaf(&mut r, t)?;
                smp.weights.push(unkey(kw));
                smp.points.push(p);
            }
        }
        samplers.push(smp);
    }
    let store = PointStore::from_parts(store_values, refs);
    // Cut values, once the boxes are known.
    for t in &mut trees {
        if t.leaf_mass.contains(&0) {
            return Err("compact forest state: a tree leaf has no sampler entry");
        }
        t.derive(&store, dim)?;
        for nd in 0..t.cut_dim.len() {
            let (lo, hi) = t.cut_bounds(nd as u32, &store, dim);
            let (lo, hi) = cut_keys(lo, hi);
            if hi <= lo {
                return Err("tree cut does not separate its children");
            }
            let off = r.below(hi - lo)?;
            t.cut_value[nd] = unkey(lo + off);
        }
    }
    if r.pos.div_ceil(8) != bytes.len() {
        return Err("compact forest state has trailing bytes");
    }
    Ok(Forest { store, trees, samplers })
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::{ForestRef, walk};
    use crate::{RcfConfig, RcfModel};

    /// Every bit of a forest, independent of numbering: per tree its cuts (dimension, bits) in
    /// pre-order and its leaves (point bits, multiplicity), and per sampler its (weight bits,
    /// point bits) entries sorted.
    fn content(f: &ForestRef<'_>, dim: usize) -> Vec<Vec<Vec<u64>>> {
        let mut out = Vec::new();
        for (t, smp) in f.trees.iter().zip(f.samplers) {
            let w = walk(t);
            let mut tree = Vec::new();
            for &n in &w.nodes {
                tree.push(alloc::vec![u64::from(t.cut_dim[n as usize]), t.cut_value[n as usize].to_bits()]);
            }
            for &j in &w.leaves {
                let mut leaf: Vec<u64> =
                    f.store.get(t.leaf_point[j as usize], dim).iter().map(|v| v.to_bits()).collect();
                leaf.push(u64::from(t.leaf_mass[j as usize]));
                tree.push(leaf);
            }
            let mut entries: Vec<Vec<u64>> = smp
                .weights
                .iter()
                .zip(&smp.points)
                .map(|(w, &p)| {
                    let mut e = alloc::vec![w.to_bits()];
                    e.extend(f.store.get(p, dim).iter().map(|v| v.to_bits()));
                    e
                })
                .collect();
            entries.sort();
            tree.extend(entries);
            out.push(tree);
        }
        out
    }

    #[test]
    fn round_trip_keeps_every_weight_cut_and_coordinate_bit() {
        let mut c = RcfConfig::new(2);
        c.shingle_size = 3;
        c.num_trees = 6;
        c.sample_size = 20;
        let mut m = RcfModel::new(c).unwrap();
        let awkward = [-0.0, 0.0, f64::from_bits(1), -f64::from_bits(7), 1e300, -1e-310, 2.5, 0.1];
        for i in 0..400usize {
            let a = awkward[i % awkward.len()];
            let b = if i % 3 == 0 { awkward[(i / 3) % awkward.len()] } else { (i as f64 * 0.7).sin() };
            m.update(&[a, b]).unwrap();
        }
        let bytes = postcard::to_allocvec(&m).unwrap();
        let back: RcfModel = postcard::from_bytes(&bytes).unwrap();
        let dim = m.config().point_dimensions();
        let (x, y) = (content(&m.forest(), dim), content(&back.forest(), dim));
        assert_eq!(x, y);
        // The awkward values are really in the stored state.
        let stored: Vec<u64> = x.iter().flatten().flatten().copied().collect();
        for v in [-0.0f64, f64::from_bits(1), -1e-310] {
            assert!(stored.contains(&v.to_bits()), "{v:e} not stored");
        }
        assert_eq!(m.stored_points(), back.stored_points());
    }
}
