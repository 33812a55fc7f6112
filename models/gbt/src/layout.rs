//! The scoring layout: the ensemble re-laid out once, on first use, for branch-free evaluation.
//! Native builds only (feature `layout`): the Wasm guest leaves it out (a module's trees are
//! Wasm code; a `--no-tree-code` module walks the nodes), 36 KB less guest code.
//!
//! Derived from the stored nodes (nothing here is serialised), so any model file gets it:
//! * **Rows are binned once.** A numeric feature's value becomes the number of the ensemble's
//!   distinct thresholds on that feature that are below it, so `x <= threshold` becomes an
//!   integer compare, exactly (no rounding: only `<` on the stored `f64`s). A categorical value
//!   becomes its level. A missing value becomes [`MISSING`]; each feature gets a second column
//!   holding `bin + 1` (wrapping), where a missing value reads 0, so a split that sends missing
//!   values left just reads the second column: every split is "`column <= t` goes left".
//!   Categorical splits whose left levels are not a prefix or suffix of the levels get a column
//!   of their own (0 = left, 1 = right), computed with the reference rule per row.
//! * **Trees are complete.** Tree `t` of depth `d` is a block of `2^(d+1)` words: split slots
//!   `1 .. 2^d` (children of slot `i` at `2i`, `2i + 1`), leaf values (`f64` bits) at
//!   `2^d .. 2^(d+1)`. Leaves above depth `d` are padded with always-left splits. A row takes
//!   exactly `d` steps, `i = 2i + (column > t)`: no data-dependent branch, and independent rows
//!   and trees overlap in the CPU.
//!
//! The margin is still `base + tree 0 + tree 1 + …` in order, and every comparison is the
//! reference one, so scores are bit-identical to the reference walk ([`GbtModel::leaf_index`]).
//! A model with a tree deeper than [`MAX_LAYOUT_DEPTH`] keeps the reference walk.

use alloc::vec;
use alloc::vec::Vec;

use crate::model::{GbtModel, Node};
use crate::score::level_of;

/// Deepest tree laid out completely (a block is `2^(d+1)` words: 16 KiB at depth 10).
pub(crate) const MAX_LAYOUT_DEPTH: usize = 10;

/// Bin of a missing value (also a category that is not a level of its feature).
pub(crate) const MISSING: u32 = u32::MAX;

/// A split slot that always goes left (`column 0 <= u32::MAX`): pads leaves above full depth.
const ALWAYS_LEFT: u64 = u32::MAX as u64;

/// A numeric feature's bins: `thresholds[start .. start + len]`, sorted, padded with `+inf` to
/// a power of two `len` that exceeds the number of distinct thresholds (so the search never
/// counts padding).
#[derive(Clone, Copy, Debug, PartialEq)]
struct NumericBins {
    feature: u32,
    start: u32,
    len: u32,
}

/// A categorical feature's bins (its level, or [`MISSING`]) and its derived columns
/// `first_column .. first_column + n_derived`, copied per row from row `min(bin, levels)` of
/// the table at `derived[table ..]` (`levels + 1` rows of `n_derived` values, 0 = left).
#[derive(Clone, Copy, Debug, PartialEq)]
struct CategoricalBins {
    feature: u32,
    levels: u32,
    first_column: u32,
    n_derived: u32,
    table: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Tree {
    /// First word of the tree's block.
    offset: u32,
    depth: u32,
}

/// A model's [`Layout`], built the first time something scores with it, so that loading a
/// model that only explains (TreeSHAP walks the nodes) does not pay for it (when the guest still
/// carried the layout, building it was the larger part of a module's first call). `Sync` (a
/// native model is shared by threads); two threads racing to build it build equal layouts and
/// keep one.
#[derive(Default)]
pub(crate) struct LazyLayout(once_cell::race::OnceBox<Option<Layout>>);

impl LazyLayout {
    /// The layout of `m` (the model this belongs to), `None` when a tree is too deep for one.
    pub(crate) fn get(&self, m: &GbtModel) -> Option<&Layout> {
        self.0.get_or_init(|| alloc::boxed::Box::new(Layout::build(m))).as_ref()
    }
}

/// A clone starts unbuilt: the layout follows from the cloned nodes, built again on first use.
impl Clone for LazyLayout {
    fn clone(&self) -> Self {
        LazyLayout::default()
    }
}

impl core::fmt::Debug for LazyLayout {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.0.get().is_some() { "LazyLayout(built)" } else { "LazyLayout(unbuilt)" })
    }
}

/// The ensemble laid out for branch-free scoring (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Layout {
    /// Columns per binned row: two per feature, then the derived columns.
    width: usize,
    numeric: Vec<NumericBins>,
    categorical: Vec<CategoricalBins>,
    thresholds: Vec<f64>,
    derived: Vec<u32>,
    trees: Vec<Tree>,
    words: Vec<u64>,
}

/// Rows scored together: one tree's block stays in L1 while they pass through it.
pub(crate) const BLOCK_ROWS: usize = 32;

/// Binned-row scratch on the stack: enough for [`BLOCK_ROWS`] rows of up to 128 columns, or
/// one row of up to 256.
const STACK_BINS: usize = 4096;
const SMALL_BINS: usize = 256;

/// How a categorical split reads the binned row.
enum CatSplit {
    /// Levels `0 ..= k` go left (`swapped`: go right).
    Prefix { k: u32, swapped: bool },
    /// Needs a derived column: the feature and which levels (then the missing bin) go right.
    Derived { feature: u32, right: Vec<bool> },
}

impl Layout {
    /// Lays out `m`, or `None` when a tree is too deep for a complete layout.
    pub(crate) fn build(m: &GbtModel) -> Option<Layout> {
        let nf = m.n_features;
        let mut depths = Vec::with_capacity(m.n_trees());
        for t in 0..m.n_trees() {
            let d = tree_depth(m, m.tree_range(t).0);
            if d > MAX_LAYOUT_DEPTH {
                return None;
            }
            depths.push(d);
        }
        let mut layout = Layout {
            width: 0,
            numeric: Vec::new(),
            categorical: Vec::new(),
            thresholds: Vec::new(),
            derived: Vec::new(),
            trees: Vec::new(),
            words: Vec::new(),
        };
        // Distinct numeric thresholds per feature; the distinct derived splits per feature.
        let mut thresholds: Vec<Vec<f64>> = vec![Vec::new(); nf];
        let mut derived: Vec<Vec<Vec<bool>>> = vec![Vec::new(); nf];
        for n in m.nodes.iter().filter(|n| !n.is_leaf()) {
            if !n.categorical {
                thresholds[n.feature as usize].push(n.value);
            } else if let CatSplit::Derived { feature, right } = cat_split(m, n)
                && !derived[feature as usize].contains(&right)
            {
                derived[feature as usize].push(right);
            }
        }
        let mut column = 2 * nf as u32;
        for (f, (mut ts, splits)) in thresholds.into_iter().zip(derived.iter()).enumerate() {
            let levels = m.cat_levels[f];
            if levels == 0 {
                ts.sort_by(f64::total_cmp);
                ts.dedup_by(|a, b| a == b);
                let len = (ts.len() + 1).next_power_of_two();
                let start = layout.thresholds.len();
                layout.thresholds.extend_from_slice(&ts);
                layout.thresholds.resize(start + len, f64::INFINITY);
                layout.numeric.push(NumericBins { feature: f as u32, start: start as u32, len: len as u32 });
                continue;
            }
            let table = layout.derived.len() as u32;
            for bin in 0..=levels as usize {
                layout.derived.extend(splits.iter().map(|right| u32::from(right[bin])));
            }
            let n_derived = splits.len() as u32;
            layout.categorical.push(CategoricalBins {
                feature: f as u32,
                levels,
                first_column: column,
                n_derived,
                table,
            });
            column += n_derived;
        }
        layout.width = column as usize;
        for (t, &depth) in depths.iter().enumerate() {
            let offset = layout.words.len();
            layout.words.resize(offset + (2 << depth), ALWAYS_LEFT);
            let root = m.tree_range(t).0;
            Fill { m, layout: &mut layout, derived: &derived, offset, depth }.place(root, 1, 0);
            layout.trees.push(Tree { offset: offset as u32, depth: depth as u32 });
        }
        Some(layout)
    }

    /// Columns per binned row.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Bins row `x` into `out` (`width()` columns). A short row's absent features are missing.
    pub(crate) fn bin_row(&self, x: &[f64], out: &mut [u32]) {
        fn put(out: &mut [u32], f: u32, b: u32) {
            out[2 * f as usize] = b;
            out[2 * f as usize + 1] = b.wrapping_add(1);
        }
        for nb in &self.numeric {
            let b = match x.get(nb.feature as usize) {
                Some(&v) if !v.is_nan() => {
                    count_below(&self.thresholds[nb.start as usize..][..nb.len as usize], v)
                }
                _ => MISSING,
            };
            put(out, nb.feature, b);
        }
        for cb in &self.categorical {
            let b = x.get(cb.feature as usize).and_then(|&v| level_of(v, cb.levels)).unwrap_or(MISSING);
            put(out, cb.feature, b);
            let n = cb.n_derived as usize;
            if n > 0 {
                let row = (cb.table as usize) + b.min(cb.levels) as usize * n;
                out[cb.first_column as usize..][..n].copy_from_slice(&self.derived[row..][..n]);
            }
        }
    }

    /// Adds every tree's output to the margins of binned `rows` (`width()` columns each), tree by
    /// tree in order.
    pub(crate) fn accumulate(&self, rows: &[u32], margins: &mut [f64]) {
        for tree in &self.trees {
            let block = &self.words[tree.offset as usize..][..2 << tree.depth];
            // One loop per depth, so that the descent is unrolled.
            macro_rules! run {
                ($($d:literal)*) => {
                    match tree.depth {
                        $($d => self.run_tree::<$d>(block, rows, margins),)*
                        _ => unreachable!("trees are at most MAX_LAYOUT_DEPTH deep"),
                    }
                };
            }
            run!(0 1 2 3 4 5 6 7 8 9 10);
        }
    }

    #[inline(never)]
    fn run_tree<const D: usize>(&self, block: &[u64], rows: &[u32], margins: &mut [f64]) {
        debug_assert_eq!(block.len(), 2 << D);
        let w = self.width;
        // Four rows side by side: four independent chains of loads for the CPU to overlap.
        let mut quads = margins.chunks_exact_mut(4);
        let mut row_quads = rows.chunks_exact(4 * w);
        for (m, r) in (&mut quads).zip(&mut row_quads) {
            let (r0, r1, r2, r3) = (&r[..w], &r[w..2 * w], &r[2 * w..3 * w], &r[3 * w..]);
            let mut i = [1usize; 4];
            for _ in 0..D {
                i[0] = step(block, r0, i[0]);
                i[1] = step(block, r1, i[1]);
                i[2] = step(block, r2, i[2]);
                i[3] = step(block, r3, i[3]);
            }
            for (m, i) in m.iter_mut().zip(i) {
                *m += leaf(block, i);
            }
        }
        for (m, row) in quads.into_remainder().iter_mut().zip(row_quads.remainder().chunks_exact(w)) {
            *m += descend(block, row, D);
        }
    }

    /// The margin of one binned row: trees in order. Runs of consecutive trees of one depth
    /// (every tree, for most models) are descended four at a time, so that one row still has
    /// four independent chains of loads; the leaves are added in tree order, so the sum is the
    /// reference one.
    #[inline(never)]
    pub(crate) fn margin_one(&self, base: f64, row: &[u32]) -> f64 {
        debug_assert_eq!(row.len(), self.width);
        let mut margin = base;
        let mut rest = &self.trees[..];
        while let Some(first) = rest.first() {
            let run = rest.iter().take_while(|t| t.depth == first.depth).count();
            let (trees, next) = rest.split_at(run);
            macro_rules! run {
                ($($d:literal)*) => {
                    match first.depth {
                        $($d => margin = self.run_one::<$d>(trees, row, margin),)*
                        _ => unreachable!("trees are at most MAX_LAYOUT_DEPTH deep"),
                    }
                };
            }
            run!(0 1 2 3 4 5 6 7 8 9 10);
            rest = next;
        }
        margin
    }

    /// Adds the leaves of `trees` (all of depth `D`) for one binned `row` to `margin`, in order.
    #[inline(never)]
    fn run_one<const D: usize>(&self, trees: &[Tree], row: &[u32], mut margin: f64) -> f64 {
        let block = |t: &Tree| &self.words[t.offset as usize..][..2 << D];
        let mut quads = trees.chunks_exact(4);
        for q in &mut quads {
            let leaves = descend4::<D>([block(&q[0]), block(&q[1]), block(&q[2]), block(&q[3])], [row; 4]);
            for l in leaves {
                margin += l;
            }
        }
        for t in quads.remainder() {
            margin += descend(block(t), row, D);
        }
        margin
    }

    /// Margins of row-major `rows` (`n_features` values each) into `out`, one per row.
    pub(crate) fn margins(&self, m: &GbtModel, rows: &[f64], out: &mut [f64]) {
        let per_block = BLOCK_ROWS.min(out.len()).max(1);
        self.with_scratch(per_block * self.width, |scratch| {
            let nf = m.n_features;
            for (rows, out) in rows.chunks(per_block * nf).zip(out.chunks_mut(per_block)) {
                for (row, bins) in rows.chunks_exact(nf).zip(scratch.chunks_exact_mut(self.width)) {
                    self.bin_row(row, bins);
                }
                if let [one] = out {
                    *one = self.margin_one(m.base_score, &scratch[..self.width]);
                    continue;
                }
                out.fill(m.base_score);
                self.accumulate(&scratch[..out.len() * self.width], out);
            }
        });
    }

    /// Runs `f` on `len` scratch bins: on the stack when they fit (a small buffer for one row,
    /// so that scoring one row does not clear a large one), else on the heap.
    pub(crate) fn with_scratch<T>(&self, len: usize, f: impl FnOnce(&mut [u32]) -> T) -> T {
        if len <= SMALL_BINS {
            f(&mut [0; SMALL_BINS][..len])
        } else if len <= STACK_BINS {
            f(&mut [0; STACK_BINS][..len])
        } else {
            f(&mut vec![0; len])
        }
    }
}

/// One descent step from split slot `i` of `block` for binned `row`.
#[inline(always)]
fn step(block: &[u64], row: &[u32], i: usize) -> usize {
    // SAFETY: the caller takes at most `depth` steps from slot 1, so `i < 2^depth`, the split
    // slots of a block of `2^(depth+1)` words; every split word's column is below the row width
    // (`Fill::split_word`), and `row` is one binned row.
    let w = unsafe { *block.get_unchecked(i) };
    let bin = unsafe { *row.get_unchecked((w >> 32) as usize) };
    2 * i + usize::from(bin > w as u32)
}

/// The leaf value at slot `i` (`2^depth <= i < 2^(depth+1)` after `depth` steps).
#[inline(always)]
fn leaf(block: &[u64], i: usize) -> f64 {
    // SAFETY: see `step`: after `depth` steps `i` is a leaf slot, inside the block.
    f64::from_bits(unsafe { *block.get_unchecked(i) })
}

/// The leaves that four independent descents of depth `D` reach, descent `k` through
/// `blocks[k]` for binned row `rows[k]`: one row through four trees ([`Layout::run_one`]).
/// ([`Layout::run_tree`], four rows through one block, reads the one block directly.)
#[inline(always)]
fn descend4<const D: usize>(blocks: [&[u64]; 4], rows: [&[u32]; 4]) -> [f64; 4] {
    debug_assert!(blocks.iter().all(|b| b.len() == 2 << D), "a block of depth D");
    let [b0, b1, b2, b3] = blocks;
    let [r0, r1, r2, r3] = rows;
    let mut i = [1usize; 4];
    for _ in 0..D {
        i[0] = step(b0, r0, i[0]);
        i[1] = step(b1, r1, i[1]);
        i[2] = step(b2, r2, i[2]);
        i[3] = step(b3, r3, i[3]);
    }
    [leaf(b0, i[0]), leaf(b1, i[1]), leaf(b2, i[2]), leaf(b3, i[3])]
}

/// The leaf of `block` (of depth `depth`) that binned `row` reaches: the odd rows or trees
/// left over by [`descend4`], one copy for every depth.
#[inline(never)]
fn descend(block: &[u64], row: &[u32], depth: usize) -> f64 {
    debug_assert_eq!(block.len(), 2 << depth);
    let mut i = 1;
    for _ in 0..depth {
        i = step(block, row, i);
    }
    leaf(block, i)
}

/// How many of the sorted, power-of-two-padded `table` are below `v` (not NaN); branch-free.
#[inline]
fn count_below(table: &[f64], v: f64) -> u32 {
    debug_assert!(table.len().is_power_of_two());
    let mut pos = 0;
    let mut step = table.len() / 2;
    while step > 0 {
        // SAFETY: `pos + step <= table.len() - 1` holds before every step: `pos` is a sum of
        // distinct earlier steps, all halves of `len` larger than `step`.
        let t = unsafe { *table.get_unchecked(pos + step - 1) };
        pos += step * usize::from(t < v);
        step /= 2;
    }
    pos as u32
}

fn tree_depth(m: &GbtModel, i: usize) -> usize {
    let n = &m.nodes[i];
    if n.is_leaf() {
        return 0;
    }
    let l = n.left as usize;
    1 + tree_depth(m, l).max(tree_depth(m, l + 1))
}

/// Whether each level of `n`'s feature goes right (then the missing bin), and how the split
/// reads the binned row.
fn cat_split(m: &GbtModel, n: &Node) -> CatSplit {
    let levels = m.cat_levels[n.feature as usize];
    let left: Vec<bool> = (0..levels).map(|l| m.level_goes_left(n, l)).collect();
    let n_left = left.iter().take_while(|&&b| b).count();
    let n_right = left.iter().take_while(|&&b| !b).count();
    if n_left > 0 && left[n_left..].iter().all(|&b| !b) {
        return CatSplit::Prefix { k: n_left as u32 - 1, swapped: false };
    }
    if n_right > 0 && left[n_right..].iter().all(|&b| b) {
        return CatSplit::Prefix { k: n_right as u32 - 1, swapped: true };
    }
    let right = left.iter().map(|&b| !b).chain([!n.default_left]).collect();
    CatSplit::Derived { feature: n.feature, right }
}

/// Placing one tree into its block.
struct Fill<'a> {
    m: &'a GbtModel,
    layout: &'a mut Layout,
    /// The derived splits per feature, in column order.
    derived: &'a [Vec<Vec<bool>>],
    offset: usize,
    depth: usize,
}

impl Fill<'_> {
    /// Puts the subtree of `node` at `slot` (at `level` below the root).
    fn place(&mut self, node: usize, slot: usize, level: usize) {
        let n = self.m.nodes[node];
        if level == self.depth {
            self.layout.words[self.offset + slot] = n.value.to_bits();
            return;
        }
        if n.is_leaf() {
            // Always left down to the leaf row; the right slots stay unreachable.
            self.layout.words[self.offset + slot] = ALWAYS_LEFT;
            self.place(node, 2 * slot, level + 1);
            return;
        }
        let (word, swapped) = self.split_word(&n);
        self.layout.words[self.offset + slot] = word;
        let (l, r) = (n.left as usize, n.left as usize + 1);
        let (first, second) = if swapped { (r, l) } else { (l, r) };
        self.place(first, 2 * slot, level + 1);
        self.place(second, 2 * slot + 1, level + 1);
    }

    /// The split's word (`column << 32 | t`: the first child when `column <= t`) and whether
    /// the children are swapped (the first child is then the right one).
    fn split_word(&self, n: &Node) -> (u64, bool) {
        let f = n.feature as usize;
        // Column `2f` reads the bin (missing = MAX: never `<= t`), `2f + 1` reads bin + 1
        // (missing = 0: always `<= t`): the one that sends missing values to the first child
        // when `missing_to_first`.
        let word = |missing_to_first: bool, t: u32| {
            let col = (2 * f + usize::from(missing_to_first)) as u64;
            (col << 32) | u64::from(t + u32::from(missing_to_first))
        };
        if !n.categorical {
            let nb = self.layout.numeric.iter().find(|nb| nb.feature as usize == f);
            let nb = nb.expect("every numeric feature has bins");
            let table = &self.layout.thresholds[nb.start as usize..][..nb.len as usize];
            return (word(n.default_left, count_below(table, n.value)), false);
        }
        match cat_split(self.m, n) {
            CatSplit::Prefix { k, swapped } => (word(n.default_left != swapped, k), swapped),
            CatSplit::Derived { feature, right } => {
                let cb = self.layout.categorical.iter().find(|cb| cb.feature == feature);
                let cb = cb.expect("every categorical feature has bins");
                let j = self.derived[feature as usize].iter().position(|r| *r == right);
                let col = u64::from(cb.first_column) + j.expect("derived split collected") as u64;
                // The column holds 0 for left, 1 for right: left when `column <= 0`.
                (col << 32, false)
            }
        }
    }
}
