//! One random cut tree in flat arrays. Internal nodes and leaves live in separate slot arrays;
//! a node reference is a `u32` whose top bit marks a leaf. Only the structure (cuts, children,
//! leaf points and multiplicities) is serialised: parents, masses and bounding boxes are derived
//! data, rebuilt by [`Tree::rebuild`] after loading, which both halves the state and validates it.

use alloc::vec;
use alloc::vec::Vec;
use scorekit_core::rng::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::store::PointStore;

/// "No node".
pub(crate) const NONE: u32 = u32::MAX;
/// Top bit of a reference: the rest is a leaf slot.
pub(crate) const LEAF: u32 = 1 << 31;

#[inline]
pub(crate) fn is_leaf(r: u32) -> bool {
    r & LEAF != 0 && r != NONE
}

/// A random cut tree over points of the shared [`PointStore`].
///
/// Serialised as its structure only (see the module docs). Postcard (artifact format 4, still
/// read for stream states saved then; a model now writes the compact form of `compact.rs`)
/// writes child references as `0` (none), `2j + 1` (leaf `j`) or `2i + 2` (node `i`), so that
/// a reference to a leaf is a small number instead of five bytes for the leaf bit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tree {
    pub(crate) root: u32,
    pub(crate) cut_dim: Vec<u32>,
    pub(crate) cut_value: Vec<f64>,
    pub(crate) left: Vec<u32>,
    pub(crate) right: Vec<u32>,
    free_nodes: Vec<u32>,
    pub(crate) leaf_point: Vec<u32>,
    pub(crate) leaf_mass: Vec<u32>,
    free_leaves: Vec<u32>,
    // Derived data, rebuilt on load.
    parent: Vec<u32>,
    leaf_parent: Vec<u32>,
    mass: Vec<u32>,
    /// `node × dim` lower corners of the bounding boxes of internal nodes.
    box_min: Vec<f64>,
    box_max: Vec<f64>,
    /// Sum of the box's side lengths, the normaliser of cut probabilities.
    range_sum: Vec<f64>,
}

/// The serialised structure of a [`Tree`]; `R` is how a child reference is written.
#[derive(Serialize, Deserialize)]
struct Structure<R> {
    root: R,
    cut_dim: Vec<u32>,
    cut_value: Vec<f64>,
    left: Vec<R>,
    right: Vec<R>,
    free_nodes: Vec<u32>,
    leaf_point: Vec<u32>,
    leaf_mass: Vec<u32>,
    free_leaves: Vec<u32>,
}

/// A child reference in the postcard form (see [`Tree`]).
fn pack(r: u32) -> u64 {
    match r {
        NONE => 0,
        r if is_leaf(r) => 2 * u64::from(r & !LEAF) + 1,
        r => 2 * u64::from(r) + 2,
    }
}

fn unpack(p: u64) -> Result<u32, &'static str> {
    const OUT: &str = "tree reference out of range";
    if p == 0 {
        return Ok(NONE);
    }
    let i = u32::try_from((p - 1) / 2).map_err(|_| OUT)?;
    match p % 2 {
        1 if i < LEAF - 1 => Ok(i | LEAF),
        0 if i < LEAF => Ok(i),
        _ => Err(OUT),
    }
}

impl Tree {
    fn structure<R>(&self, write: impl Fn(u32) -> R) -> Structure<R> {
        Structure {
            root: write(self.root),
            cut_dim: self.cut_dim.clone(),
            cut_value: self.cut_value.clone(),
            left: self.left.iter().map(|&r| write(r)).collect(),
            right: self.right.iter().map(|&r| write(r)).collect(),
            free_nodes: self.free_nodes.clone(),
            leaf_point: self.leaf_point.clone(),
            leaf_mass: self.leaf_mass.clone(),
            free_leaves: self.free_leaves.clone(),
        }
    }

    fn from_structure<R: Copy>(
        s: Structure<R>,
        read: impl Fn(R) -> Result<u32, &'static str>,
    ) -> Result<Self, &'static str> {
        let refs = |v: Vec<R>| v.into_iter().map(&read).collect::<Result<Vec<u32>, _>>();
        let mut t = Tree::new();
        t.root = read(s.root)?;
        t.cut_dim = s.cut_dim;
        t.cut_value = s.cut_value;
        t.left = refs(s.left)?;
        t.right = refs(s.right)?;
        t.free_nodes = s.free_nodes;
        t.leaf_point = s.leaf_point;
        t.leaf_mass = s.leaf_mass;
        t.free_leaves = s.free_leaves;
        Ok(t)
    }
}

impl Serialize for Tree {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            self.structure(|r| r).serialize(s)
        } else {
            self.structure(pack).serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let tree = if d.is_human_readable() {
            Tree::from_structure(Structure::<u32>::deserialize(d)?, Ok)
        } else {
            Tree::from_structure(Structure::<u64>::deserialize(d)?, unpack)
        };
        tree.map_err(serde::de::Error::custom)
    }
}

/// A child's extent for [`Tree::recompute_box`], located once rather than per dimension.
#[derive(Clone, Copy)]
enum Extent<'s> {
    Point(&'s [f64]),
    Box(usize),
}

/// The part of a tree the scoring visitors need, borrowed.
pub(crate) struct View<'a> {
    pub(crate) tree: &'a Tree,
    pub(crate) store: &'a PointStore,
    pub(crate) dim: usize,
}

impl Tree {
    pub(crate) fn new() -> Self {
        Tree {
            root: NONE,
            cut_dim: Vec::new(),
            cut_value: Vec::new(),
            left: Vec::new(),
            right: Vec::new(),
            free_nodes: Vec::new(),
            leaf_point: Vec::new(),
            leaf_mass: Vec::new(),
            free_leaves: Vec::new(),
            parent: Vec::new(),
            leaf_parent: Vec::new(),
            mass: Vec::new(),
            box_min: Vec::new(),
            box_max: Vec::new(),
            range_sum: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn root(&self) -> u32 {
        self.root
    }

    /// Points in the tree, counting multiplicities.
    pub(crate) fn total_mass(&self) -> u32 {
        self.mass_of(self.root)
    }

    #[inline]
    pub(crate) fn mass_of(&self, r: u32) -> u32 {
        if r == NONE {
            0
        } else if is_leaf(r) {
            self.leaf_mass[(r & !LEAF) as usize]
        } else {
            self.mass[r as usize]
        }
    }

    #[inline]
    pub(crate) fn parent_of(&self, r: u32) -> u32 {
        if is_leaf(r) { self.leaf_parent[(r & !LEAF) as usize] } else { self.parent[r as usize] }
    }

    #[inline]
    pub(crate) fn leaf_point(&self, r: u32) -> u32 {
        self.leaf_point[(r & !LEAF) as usize]
    }

    /// Child of internal node `n` on the side of `point`.
    #[inline]
    pub(crate) fn child_towards(&self, n: u32, point: &[f64]) -> u32 {
        let n = n as usize;
        if point[self.cut_dim[n] as usize] <= self.cut_value[n] { self.left[n] } else { self.right[n] }
    }

    /// Bounding box of internal node `n`: (min, max, sum of sides).
    #[inline]
    pub(crate) fn bounding_box(&self, n: u32, dim: usize) -> (&[f64], &[f64], f64) {
        let s = n as usize * dim;
        (&self.box_min[s..s + dim], &self.box_max[s..s + dim], self.range_sum[n as usize])
    }

    /// (point slot, multiplicity) of every leaf reachable from the root.
    pub(crate) fn live_leaves(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut stack = Vec::new();
        if self.root != NONE {
            stack.push(self.root);
        }
        while let Some(r) = stack.pop() {
            if is_leaf(r) {
                let j = (r & !LEAF) as usize;
                out.push((self.leaf_point[j], self.leaf_mass[j]));
            } else {
                stack.push(self.right[r as usize]);
                stack.push(self.left[r as usize]);
            }
        }
        out
    }

    /// Number of leaves (distinct points) currently in the tree.
    #[cfg(test)]
    pub(crate) fn leaves(&self) -> usize {
        self.leaf_point.len() - self.free_leaves.len()
    }

    fn alloc_leaf(&mut self, point: u32, parent: u32) -> u32 {
        let j = if let Some(j) = self.free_leaves.pop() {
            self.leaf_point[j as usize] = point;
            self.leaf_mass[j as usize] = 1;
            self.leaf_parent[j as usize] = parent;
            j
        } else {
            self.leaf_point.push(point);
            self.leaf_mass.push(1);
            self.leaf_parent.push(parent);
            (self.leaf_point.len() - 1) as u32
        };
        j | LEAF
    }

    fn alloc_node(&mut self, dim: usize) -> u32 {
        if let Some(n) = self.free_nodes.pop() {
            n
        } else {
            self.cut_dim.push(0);
            self.cut_value.push(0.0);
            self.left.push(NONE);
            self.right.push(NONE);
            self.parent.push(NONE);
            self.mass.push(0);
            self.box_min.resize(self.box_min.len() + dim, 0.0);
            self.box_max.resize(self.box_max.len() + dim, 0.0);
            self.range_sum.push(0.0);
            (self.cut_dim.len() - 1) as u32
        }
    }

    fn free_node(&mut self, n: u32, dim: usize) {
        // Reset so that the serialised state does not depend on stale data.
        let i = n as usize;
        self.cut_dim[i] = 0;
        self.cut_value[i] = 0.0;
        self.left[i] = NONE;
        self.right[i] = NONE;
        self.parent[i] = NONE;
        self.mass[i] = 0;
        self.box_min[i * dim..(i + 1) * dim].fill(0.0);
        self.box_max[i * dim..(i + 1) * dim].fill(0.0);
        self.range_sum[i] = 0.0;
        self.free_nodes.push(n);
    }

    fn free_leaf(&mut self, r: u32) {
        let j = (r & !LEAF) as usize;
        self.leaf_point[j] = 0;
        self.leaf_mass[j] = 0;
        self.leaf_parent[j] = NONE;
        self.free_leaves.push(r & !LEAF);
    }

    fn set_parent(&mut self, r: u32, p: u32) {
        if is_leaf(r) {
            self.leaf_parent[(r & !LEAF) as usize] = p;
        } else {
            self.parent[r as usize] = p;
        }
    }

    /// Puts `new` where `old` hangs (under `parent`, or at the root).
    fn replace_child(&mut self, parent: u32, old: u32, new: u32) {
        if parent == NONE {
            self.root = new;
        } else if self.left[parent as usize] == old {
            self.left[parent as usize] = new;
        } else {
            self.right[parent as usize] = new;
        }
        self.set_parent(new, parent);
    }

    /// Inserts the point stored in `slot`; returns the slot the tree actually references (an
    /// existing slot with identical coordinates, whose leaf multiplicity grows, or `slot`).
    pub(crate) fn insert(&mut self, store: &PointStore, slot: u32, dim: usize, rng: &mut Rng) -> u32 {
        let point = store.get(slot, dim);
        if self.root == NONE {
            self.root = self.alloc_leaf(slot, NONE);
            return slot;
        }
        let mut node = self.root;
        loop {
            if is_leaf(node) {
                let lp = self.leaf_point(node);
                let leaf_values = store.get(lp, dim);
                if leaf_values == point {
                    self.leaf_mass[(node & !LEAF) as usize] += 1;
                    self.add_mass_upwards(self.parent_of(node));
                    return lp;
                }
                let (cut_dim, cut_value) = cut_between_points(leaf_values, point, rng);
                self.split(store, node, point, slot, cut_dim, cut_value, dim);
                return slot;
            }
            let cut = {
                let (bmin, bmax, range) = self.bounding_box(node, dim);
                let mut gap = 0.0;
                for d in 0..dim {
                    gap += gap_of(point[d], bmin[d], bmax[d]);
                }
                if gap > 0.0 {
                    let (cd, cv) = random_cut(bmin, bmax, point, range + gap, rng);
                    let p = point[cd];
                    let separates = (p <= cv && bmin[cd] > cv) || (p > cv && bmax[cd] <= cv);
                    separates.then_some((cd, cv))
                } else {
                    None
                }
            };
            if let Some((cd, cv)) = cut {
                self.split(store, node, point, slot, cd, cv, dim);
                return slot;
            }
            node = self.child_towards(node, point);
        }
    }

    /// Hangs a new internal node (cut `cd`/`cv`) where `sibling` is, with children `sibling` and
    /// a new leaf for `slot`, then grows the masses and boxes above it.
    #[allow(clippy::too_many_arguments)]
    fn split(
        &mut self,
        store: &PointStore,
        sibling: u32,
        point: &[f64],
        slot: u32,
        cd: usize,
        cv: f64,
        dim: usize,
    ) {
        let parent = self.parent_of(sibling);
        let n = self.alloc_node(dim);
        let i = n as usize;
        // The new node's box is the sibling's box grown by the point.
        let mut range = 0.0;
        for d in 0..dim {
            let (lo, hi) = self.child_extent(sibling, d, store, dim);
            let (lo, hi) = (lo.min(point[d]), hi.max(point[d]));
            self.box_min[i * dim + d] = lo;
            self.box_max[i * dim + d] = hi;
            range += hi - lo;
        }
        self.range_sum[i] = range;
        let leaf = self.alloc_leaf(slot, n);
        self.cut_dim[i] = cd as u32;
        self.cut_value[i] = cv;
        if point[cd] <= cv {
            self.left[i] = leaf;
            self.right[i] = sibling;
        } else {
            self.left[i] = sibling;
            self.right[i] = leaf;
        }
        self.mass[i] = self.mass_of(sibling) + 1;
        self.replace_child(parent, sibling, n);
        self.set_parent(sibling, n);
        let mut a = parent;
        let mut growing = true;
        while a != NONE {
            let k = a as usize;
            self.mass[k] += 1;
            // Once a box already holds the point, so do all above it: only masses change there.
            if growing {
                let (bmin, bmax) =
                    (&mut self.box_min[k * dim..(k + 1) * dim], &mut self.box_max[k * dim..(k + 1) * dim]);
                let mut r = 0.0;
                let mut grew = false;
                for d in 0..dim {
                    let lo = bmin[d].min(point[d]);
                    let hi = bmax[d].max(point[d]);
                    grew |= lo.to_bits() != bmin[d].to_bits() || hi.to_bits() != bmax[d].to_bits();
                    bmin[d] = lo;
                    bmax[d] = hi;
                    r += hi - lo;
                }
                self.range_sum[k] = r;
                growing = grew;
            }
            a = self.parent[k];
        }
    }

    fn add_mass_upwards(&mut self, mut a: u32) {
        while a != NONE {
            self.mass[a as usize] += 1;
            a = self.parent[a as usize];
        }
    }

    /// Removes one copy of the point in `slot` (a slot this tree returned from [`Tree::insert`]).
    /// Returns false if the tree does not hold it (a bug upstream; the tree is left unchanged).
    pub(crate) fn delete(&mut self, store: &PointStore, slot: u32, dim: usize) -> bool {
        let point = store.get(slot, dim);
        let mut node = self.root;
        if node == NONE {
            return false;
        }
        while !is_leaf(node) {
            node = self.child_towards(node, point);
        }
        if self.leaf_point(node) != slot {
            return false;
        }
        let j = (node & !LEAF) as usize;
        let parent = self.leaf_parent[j];
        if self.leaf_mass[j] > 1 {
            self.leaf_mass[j] -= 1;
            let mut a = parent;
            while a != NONE {
                self.mass[a as usize] -= 1;
                a = self.parent[a as usize];
            }
            return true;
        }
        self.free_leaf(node);
        if parent == NONE {
            self.root = NONE;
            return true;
        }
        let p = parent as usize;
        let sibling = if self.left[p] == node { self.right[p] } else { self.left[p] };
        let grand = self.parent[p];
        self.replace_child(grand, parent, sibling);
        self.free_node(parent, dim);
        let mut a = grand;
        let mut boxes_changed = true;
        while a != NONE {
            self.mass[a as usize] -= 1;
            // A box is the union of its children's: once one comes out unchanged, every box
            // above it is unchanged too (most deletions leave a point inside its ancestors').
            if boxes_changed {
                boxes_changed = self.recompute_box(a, store, dim);
            }
            a = self.parent[a as usize];
        }
        true
    }

    /// Box of `n` as the union of its children's boxes (exact: min/max of the points below).
    /// Returns whether the box changed.
    fn recompute_box(&mut self, n: u32, store: &PointStore, dim: usize) -> bool {
        let i = n as usize;
        let (l, r) = (self.extent(self.left[i], store, dim), self.extent(self.right[i], store, dim));
        let mut range = 0.0;
        let mut changed = false;
        for d in 0..dim {
            let (lmin, lmax) = self.extent_at(l, d);
            let (rmin, rmax) = self.extent_at(r, d);
            let (lo, hi) = (lmin.min(rmin), lmax.max(rmax));
            let k = i * dim + d;
            changed |= lo.to_bits() != self.box_min[k].to_bits() || hi.to_bits() != self.box_max[k].to_bits();
            self.box_min[k] = lo;
            self.box_max[k] = hi;
            range += hi - lo;
        }
        self.range_sum[i] = range;
        changed
    }

    /// Where child `c`'s extent is: its leaf's point, or its box (an offset into the boxes).
    #[inline]
    fn extent<'s>(&self, c: u32, store: &'s PointStore, dim: usize) -> Extent<'s> {
        if is_leaf(c) {
            Extent::Point(store.get(self.leaf_point(c), dim))
        } else {
            Extent::Box(c as usize * dim)
        }
    }

    #[inline]
    fn extent_at(&self, e: Extent<'_>, d: usize) -> (f64, f64) {
        match e {
            Extent::Point(p) => (p[d], p[d]),
            Extent::Box(s) => (self.box_min[s + d], self.box_max[s + d]),
        }
    }

    #[inline]
    fn child_extent(&self, c: u32, d: usize, store: &PointStore, dim: usize) -> (f64, f64) {
        if is_leaf(c) {
            let v = store.get(self.leaf_point(c), dim)[d];
            (v, v)
        } else {
            (self.box_min[c as usize * dim + d], self.box_max[c as usize * dim + d])
        }
    }

    /// Recomputes the derived data (parents, masses, boxes) of a deserialised tree and checks
    /// its structure: every reference in range, every node reached exactly once, cuts that
    /// actually separate the children.
    pub(crate) fn rebuild(&mut self, store: &PointStore, dim: usize) -> Result<(), &'static str> {
        self.derive(store, dim)?;
        for i in 0..self.cut_dim.len() {
            if self.left[i] == NONE {
                continue;
            }
            let (lmax, rmin) = self.cut_bounds(i as u32, store, dim);
            let cv = self.cut_value[i];
            if lmax > cv || rmin <= cv {
                return Err("tree cut does not separate its children");
            }
        }
        Ok(())
    }

    /// Along node `n`'s cut dimension: the largest value of its left subtree and the smallest of
    /// its right one (the cut lies in between). Needs the derived boxes.
    pub(crate) fn cut_bounds(&self, n: u32, store: &PointStore, dim: usize) -> (f64, f64) {
        let i = n as usize;
        let cd = self.cut_dim[i] as usize;
        let (_, lmax) = self.child_extent(self.left[i], cd, store, dim);
        let (rmin, _) = self.child_extent(self.right[i], cd, store, dim);
        (lmax, rmin)
    }

    /// The derived data (parents, masses, boxes) and the structural checks of [`Tree::rebuild`],
    /// without the check of the cuts (the compact form derives the cuts from the boxes).
    pub(crate) fn derive(&mut self, store: &PointStore, dim: usize) -> Result<(), &'static str> {
        let (ni, nl) = (self.cut_dim.len(), self.leaf_point.len());
        if self.cut_value.len() != ni || self.left.len() != ni || self.right.len() != ni {
            return Err("tree node arrays differ in length");
        }
        if self.leaf_mass.len() != nl {
            return Err("tree leaf arrays differ in length");
        }
        if ni >= LEAF as usize || nl >= LEAF as usize {
            return Err("tree too large");
        }
        if self.cut_value.iter().any(|v| !v.is_finite()) {
            return Err("tree holds a non-finite cut");
        }
        self.parent = vec![NONE; ni];
        self.leaf_parent = vec![NONE; nl];
        self.mass = vec![0; ni];
        self.box_min = vec![0.0; ni * dim];
        self.box_max = vec![0.0; ni * dim];
        self.range_sum = vec![0.0; ni];
        let mut seen_node = vec![false; ni];
        let mut seen_leaf = vec![false; nl];
        let mut order = Vec::with_capacity(ni);
        let mut stack = Vec::new();
        if self.root != NONE {
            stack.push(self.root);
        }
        while let Some(r) = stack.pop() {
            if is_leaf(r) {
                let j = (r & !LEAF) as usize;
                if j >= nl || seen_leaf[j] {
                    return Err("tree leaf referenced twice or out of range");
                }
                seen_leaf[j] = true;
                if self.leaf_point[j] as usize >= store.slots() || self.leaf_mass[j] == 0 {
                    return Err("tree leaf refers to a missing point");
                }
                continue;
            }
            let i = r as usize;
            if i >= ni || seen_node[i] {
                return Err("tree node referenced twice or out of range");
            }
            if self.cut_dim[i] as usize >= dim {
                return Err("tree cut dimension out of range");
            }
            seen_node[i] = true;
            order.push(r);
            for c in [self.left[i], self.right[i]] {
                if c == NONE {
                    return Err("tree node lacks a child");
                }
                if is_leaf(c) {
                    if ((c & !LEAF) as usize) < nl {
                        self.leaf_parent[(c & !LEAF) as usize] = r;
                    }
                } else if (c as usize) < ni {
                    self.parent[c as usize] = r;
                }
                stack.push(c);
            }
        }
        let mut free_n = vec![false; ni];
        for &f in &self.free_nodes {
            if f as usize >= ni || seen_node[f as usize] || free_n[f as usize] {
                return Err("bad free list of tree nodes");
            }
            free_n[f as usize] = true;
        }
        let mut free_l = vec![false; nl];
        for &f in &self.free_leaves {
            if f as usize >= nl || seen_leaf[f as usize] || free_l[f as usize] {
                return Err("bad free list of tree leaves");
            }
            free_l[f as usize] = true;
        }
        if order.len() + self.free_nodes.len() != ni
            || seen_leaf.iter().filter(|&&s| s).count() + self.free_leaves.len() != nl
        {
            return Err("tree has unreachable slots");
        }
        for i in 0..ni {
            if !seen_node[i] {
                // Freed nodes keep the neutral values `free_node` writes.
                self.left[i] = NONE;
                self.right[i] = NONE;
            }
        }
        // Children before parents: reverse pre-order.
        for &n in order.iter().rev() {
            let i = n as usize;
            self.mass[i] = self.mass_of(self.left[i]) + self.mass_of(self.right[i]);
            self.recompute_box(n, store, dim);
        }
        Ok(())
    }
}

/// How far `x` lies outside `[lo, hi]` (0 inside). Branch-free, as the scoring walk calls it for
/// every dimension of every box on the way up and which side a reading falls is unpredictable;
/// the same bits as the three-way branch: at most one term is non-zero, and adding +0.0 to it is
/// exact.
#[inline]
pub(crate) fn gap_of(x: f64, lo: f64, hi: f64) -> f64 {
    (lo - x).max(0.0) + (x - hi).max(0.0)
}

/// A cut of the box `[bmin, bmax]` grown by `point`, with dimension chosen proportionally to the
/// side lengths and the value uniform along it; `total` is the grown box's sum of sides (> 0).
fn random_cut(bmin: &[f64], bmax: &[f64], point: &[f64], total: f64, rng: &mut Rng) -> (usize, f64) {
    let mut r = rng.next_f64() * total;
    let mut last = 0;
    for d in 0..point.len() {
        let lo = bmin[d].min(point[d]);
        let hi = bmax[d].max(point[d]);
        let side = hi - lo;
        if side <= 0.0 {
            continue;
        }
        last = d;
        if r < side {
            return (d, clamp_cut(lo + r, lo, hi));
        }
        r -= side;
    }
    // Rounding pushed r past the end: cut the last dimension with extent at its far end.
    let lo = bmin[last].min(point[last]);
    let hi = bmax[last].max(point[last]);
    (last, clamp_cut(hi, lo, hi))
}

/// Keeps a cut in [lo, hi) so that the point at `hi` always lies strictly to its right.
#[inline]
fn clamp_cut(v: f64, lo: f64, hi: f64) -> f64 {
    if v < hi {
        return v;
    }
    let below = if hi == 0.0 {
        -f64::from_bits(1)
    } else if hi > 0.0 {
        f64::from_bits(hi.to_bits() - 1)
    } else {
        f64::from_bits(hi.to_bits() + 1)
    };
    if below < lo { lo } else { below }
}

/// A random cut separating two distinct points.
fn cut_between_points(a: &[f64], b: &[f64], rng: &mut Rng) -> (usize, f64) {
    let mut total = 0.0;
    for d in 0..a.len() {
        total += (a[d] - b[d]).abs();
    }
    random_cut(a, a, b, total, rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_references_round_trip_and_refuse_out_of_range() {
        for r in [NONE, 0, 1, 300, LEAF - 1, LEAF, LEAF | 7, NONE - 1] {
            assert_eq!(unpack(pack(r)), Ok(r), "reference {r:#x}");
        }
        assert_eq!(pack(LEAF | 3), 7);
        assert_eq!(pack(3), 8);
        for bad in [2 * u64::from(LEAF) + 2, 2 * u64::from(LEAF - 1) + 1, u64::MAX] {
            assert_eq!(unpack(bad), Err("tree reference out of range"), "packed {bad}");
        }
    }

    #[test]
    fn clamp_keeps_cut_below_the_top() {
        for hi in [1.0, -1.0, 0.0, 1e300, -1e-300] {
            let c = clamp_cut(hi, hi - hi.abs() * 0.5 - 1.0, hi);
            assert!(c < hi, "hi={hi} c={c}");
        }
        assert_eq!(clamp_cut(0.5, 0.0, 1.0), 0.5);
    }

    #[test]
    fn insert_delete_keeps_structure_valid() {
        let mut store = PointStore::new();
        let mut tree = Tree::new();
        let mut rng = Rng::seed_from_u64(3);
        let pts: Vec<[f64; 2]> = (0..40).map(|i| [(i % 7) as f64, ((i * 13) % 5) as f64 * 0.5]).collect();
        let mut slots = Vec::new();
        for p in &pts {
            let s = store.add(p);
            let used = tree.insert(&store, s, 2, &mut rng);
            store.inc(used);
            store.release_if_unused(s, 2);
            slots.push(used);
        }
        assert_eq!(tree.total_mass(), 40);
        // 7 × 5 grid has at most 35 distinct points; here (i%7, i*13%5) repeats with period 35.
        assert_eq!(tree.leaves(), 35);
        let mut copy = tree.clone();
        copy.rebuild(&store, 2).unwrap();
        assert_eq!(copy, tree);
        for &s in slots.iter().take(25) {
            assert!(tree.delete(&store, s, 2));
            store.dec(s, 2);
        }
        assert_eq!(tree.total_mass(), 15);
        let mut copy = tree.clone();
        copy.rebuild(&store, 2).unwrap();
        assert_eq!(copy, tree);
    }
}
