//! A GBT model's trees as WebAssembly code: what `host compile` puts in the guest's tree-code
//! slot (`scorekit_abi::payload::TREE_CODE_MAGIC`).
//!
//! Each tree becomes nested `if`/`else` blocks over the row's values, kept in locals: a numeric
//! split is one `f64` compare against its threshold as an immediate, a categorical split one
//! test of a bit mask, a leaf an `f32.const` widened to `f64` (an `f64.const` for a leaf that
//! is not exactly an `f32`, as in models of earlier trainers). The subtrees of height at most [`SELECT_HEIGHT`]
//! (the last levels) are computed without branches instead: every test of the subtree, and
//! `select`s over the leaves' bits (integer selects, which engines turn into conditional moves):
//! a mispredicted branch costs more than the few compares it skips (churn, 119 trees of depth
//! 6, batch of 5,000 rows: 1.34 µs/row with branches everywhere, ~0.7 µs with the last four
//! levels as selects; docs/eval-wasm.md). The rules are the reference walk's
//! (`GbtModel::leaf_index`): `x <= threshold` goes left, a missing value (NaN) takes the split's
//! default direction; a categorical value goes by its level's bit when it is an integer level
//! of the feature (`0 <= x < levels`) and takes the default direction otherwise (a fraction, a
//! negative number, a level past the count). Each row's margin is the base score plus the trees'
//! leaves added one by one in tree order, the reference sum, so scores are bit-identical to the
//! native path.
//!
//! Consecutive trees are grouped into functions of about [`CHUNK_NODES`] nodes (so no function
//! grows without bound and the engine compiles them in parallel); each loops over all rows and
//! adds its trees to the margins the previous one left in `out`. The entry function (the
//! placeholder's body) calls them in order, or is the only one when the model fits in one.
//!
//! Per row a function loads the values its trees test once: a numeric feature into an `f64`
//! local; a categorical feature of at most 63 levels into a one-hot `i64` (bit `level`, or bit
//! 63 for a value that is not a level), so a split is `onehot & mask` with the mask's bit 63
//! the default direction; a categorical feature of more levels into an `i32` level (the level
//! count for a value that is not one), tested against a bit set (one bit per level, then the
//! default) placed in memory next to the payload ([`TreeCode::tables`]).

use std::collections::BTreeMap;

use scorekit_gbt::{GbtModel, SplitTest, TreeNode};
use wasm_encoder::{BlockType, Function, InstructionSink, MemArg, ValType};

/// About how many nodes one generated function holds (a tree is never split).
pub(crate) const CHUNK_NODES: usize = 2048;

/// Generated functions larger than this are not emitted (the model keeps the guest's own
/// scorer): below the Wasm engines' limit on one function (wasmparser: 7,654,321 bytes).
const MAX_FUNCTION_BYTES: usize = 4 << 20;

/// Nor more code than this in all (about a million nodes): it bounds the module's growth and the
/// engine's compile time (Cranelift: ~4 µs a node, churn's 7,300 nodes cost 30 ms).
const MAX_CODE_BYTES: usize = 16 << 20;

/// Categorical features of more levels than this are tested against a bit set in memory.
const MASK_LEVELS: u32 = 63;

/// The code for one model.
pub(crate) struct TreeCode {
    /// The entry function's body, type `(rows: i32, n_rows: i32, out: i32) -> i32`.
    pub entry: Function,
    /// Further functions of the same type the entry calls, to be appended to the module at the
    /// function indices given to [`generate`].
    pub chunks: Vec<Function>,
    /// Bit sets of the splits on features of more than 63 levels (`u64` LE words), to be placed
    /// at the address given to [`generate`].
    pub tables: Vec<u8>,
}

/// The margins of `model` as code. The chunk functions (when more than one) must get the
/// function indices `first_chunk ..`, the tables the address `tables_at` (8-byte aligned).
/// `None` when a tree's function would be too large for Wasm engines, or the whole code larger
/// than [`MAX_CODE_BYTES`].
pub(crate) fn generate(model: &GbtModel, first_chunk: u32, tables_at: u32) -> Option<TreeCode> {
    let groups = chunks(model);
    let mut tables = Vec::new();
    let mut bodies = Vec::with_capacity(groups.len());
    let mut total = 0;
    for (k, trees) in groups.iter().enumerate() {
        let f = Chunk { model, tables_at, tables: &mut tables }.function(trees.clone(), k == 0);
        total += f.byte_len();
        if f.byte_len() > MAX_FUNCTION_BYTES || total > MAX_CODE_BYTES {
            return None;
        }
        bodies.push(f);
    }
    if bodies.len() == 1 {
        let entry = bodies.pop().expect("one body");
        return Some(TreeCode { entry, chunks: Vec::new(), tables });
    }
    let mut entry = Function::new([]);
    let mut sink = entry.instructions();
    for k in 0..bodies.len() as u32 {
        sink.local_get(0).local_get(1).local_get(2).call(first_chunk + k).drop();
    }
    sink.i32_const(0).end();
    Some(TreeCode { entry, chunks: bodies, tables })
}

/// Consecutive trees in groups of about [`CHUNK_NODES`] nodes (at least one group).
fn chunks(model: &GbtModel) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let (mut start, mut nodes) = (0, 0);
    for t in 0..model.n_trees() {
        let n = count_nodes(model, model.tree_root(t));
        if nodes > 0 && nodes + n > CHUNK_NODES {
            groups.push(start..t);
            (start, nodes) = (t, 0);
        }
        nodes += n;
    }
    groups.push(start..model.n_trees());
    groups
}

fn count_nodes(model: &GbtModel, i: usize) -> usize {
    match model.node(i) {
        TreeNode::Leaf { .. } => 1,
        TreeNode::Split { left, right, .. } => 1 + count_nodes(model, left) + count_nodes(model, right),
    }
}

/// How a function reads one feature of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Read {
    /// The value as `f64`.
    Value,
    /// A categorical feature of at most [`MASK_LEVELS`] levels as a one-hot `i64`.
    OneHot,
    /// A categorical feature of more levels as an `i32` level (the level count when not a level).
    Level,
}

/// The parameters of every generated function.
const ROWS: u32 = 0;
const N_ROWS: u32 = 1;
const OUT: u32 = 2;

struct Chunk<'a> {
    model: &'a GbtModel,
    tables_at: u32,
    tables: &'a mut Vec<u8>,
}

impl Chunk<'_> {
    /// The function adding trees `trees` to every row's margin (`from_base`: the margins start at
    /// the base score; else from what `out` holds).
    fn function(&mut self, trees: std::ops::Range<usize>, from_base: bool) -> Function {
        let m = self.model;
        // The reads the trees need, in feature order, each with its local.
        let mut reads = BTreeMap::new();
        for t in trees.clone() {
            collect_reads(m, m.tree_root(t), &mut reads);
        }
        let mut locals = Vec::new();
        let first_local = 3;
        for (i, ((_, read), slot)) in reads.iter_mut().enumerate() {
            *slot = first_local + i as u32;
            locals.push(match read {
                Read::Value => ValType::F64,
                Read::OneHot => ValType::I64,
                Read::Level => ValType::I32,
            });
        }
        // Scratch for a categorical value and its truncation.
        let x = first_local + locals.len() as u32;
        let level = x + 1;
        locals.extend([ValType::F64, ValType::I32]);

        let mut f = Function::new_with_locals_types(locals);
        let stride = 8 * m.n_features() as i32;
        let levels = m.categorical_levels();
        let mut sink = f.instructions();
        sink.block(BlockType::Empty);
        sink.local_get(N_ROWS).i32_eqz().br_if(0);
        sink.loop_(BlockType::Empty);
        for (&(feature, read), &slot) in &reads {
            sink.local_get(ROWS).f64_load(f64_at(8 * feature as u64));
            if read == Read::Value {
                sink.local_set(slot);
                continue;
            }
            let n_levels = levels[feature];
            sink.local_set(x);
            sink.local_get(x).i32_trunc_sat_f64_u().local_set(level);
            match read {
                Read::OneHot => {
                    sink.i64_const(1).local_get(level).i64_extend_i32_u().i64_shl();
                    sink.i64_const(i64::MIN);
                }
                _ => {
                    sink.local_get(level);
                    sink.i32_const(n_levels as i32);
                }
            }
            // A level: the truncation is exact and below the count (NaN and negatives fail).
            sink.local_get(level).f64_convert_i32_u().local_get(x).f64_eq();
            sink.local_get(level).i32_const(n_levels as i32).i32_lt_u().i32_and();
            sink.select().local_set(slot);
        }
        sink.local_get(OUT);
        if from_base {
            sink.f64_const(m.base_score().into());
        } else {
            sink.local_get(OUT).f64_load(f64_at(0));
        }
        for t in trees {
            self.node(&mut sink, &reads, m.tree_root(t));
            sink.f64_add();
        }
        sink.f64_store(f64_at(0));
        sink.local_get(ROWS).i32_const(stride).i32_add().local_set(ROWS);
        sink.local_get(OUT).i32_const(8).i32_add().local_set(OUT);
        sink.local_get(N_ROWS).i32_const(1).i32_sub().local_tee(N_ROWS).br_if(0);
        sink.end(); // loop
        sink.end(); // block
        sink.i32_const(0).end();
        f
    }

    /// Pushes the leaf value that a row reaches from node `i`: as `if`/`else` blocks, except
    /// that subtrees of height at most [`SELECT_HEIGHT`] are computed without branches.
    fn node(&mut self, sink: &mut InstructionSink<'_>, reads: &Reads, i: usize) {
        if height(self.model, i) <= SELECT_HEIGHT {
            let bits = leaf_bits(self.model, i);
            self.select(sink, reads, i, bits);
            match bits {
                LeafBits::F32 => sink.f32_reinterpret_i32().f64_promote_f32(),
                LeafBits::F64 => sink.f64_reinterpret_i64(),
            };
            return;
        }
        match way(self.model, i) {
            Way::Leaf(value) => match as_f32(value) {
                Some(narrow) => {
                    sink.f32_const(narrow.into()).f64_promote_f32();
                }
                None => {
                    sink.f64_const(value.into());
                }
            },
            Way::Always(child) => self.node(sink, reads, child),
            Way::Test { first, second } => {
                self.test(sink, reads, i);
                sink.if_(BlockType::Result(ValType::F64));
                self.node(sink, reads, first);
                sink.else_();
                self.node(sink, reads, second);
                sink.end();
            }
        }
    }

    /// Pushes the bits of the leaf value a row reaches from node `i` (an `i32` of the `f32` or an
    /// `i64` of the `f64`, as `bits` says), without branches: both children, then the test, then
    /// `select` (integer selects become conditional moves).
    fn select(&mut self, sink: &mut InstructionSink<'_>, reads: &Reads, i: usize, bits: LeafBits) {
        match way(self.model, i) {
            Way::Leaf(value) => match (bits, as_f32(value)) {
                (LeafBits::F32, Some(narrow)) => {
                    sink.i32_const(narrow.to_bits() as i32);
                }
                _ => {
                    sink.i64_const(value.to_bits() as i64);
                }
            },
            Way::Always(child) => self.select(sink, reads, child, bits),
            Way::Test { first, second } => {
                self.select(sink, reads, first, bits);
                self.select(sink, reads, second, bits);
                self.test(sink, reads, i);
                sink.select();
            }
        }
    }

    /// Pushes the test of split `i` (one that [`way`] says can go both ways): an `i32`,
    /// non-zero when the row goes to the `first` child.
    fn test(&mut self, sink: &mut InstructionSink<'_>, reads: &Reads, i: usize) {
        let TreeNode::Split { feature, default_left, test, .. } = self.model.node(i) else {
            unreachable!("a leaf has no test")
        };
        match test {
            SplitTest::AtMost(threshold) => {
                sink.local_get(reads[&(feature, Read::Value)]).f64_const(threshold.into());
                if default_left {
                    // `x > t` is false for NaN: right only for a present value above t.
                    sink.f64_gt();
                } else {
                    // `x <= t` is false for NaN: left only for a present value at most t.
                    sink.f64_le();
                }
            }
            SplitTest::Levels(goes_left) if goes_left.len() as u32 <= MASK_LEVELS => {
                let mask = level_mask(&goes_left, default_left);
                sink.local_get(reads[&(feature, Read::OneHot)]).i64_const(mask as i64).i64_and();
                sink.i64_eqz();
            }
            SplitTest::Levels(goes_left) => {
                // Bit `level` of the split's bit set; bit `levels` is the default direction.
                let at = self.tables_at as u64 + self.tables.len() as u64;
                let bits: Vec<bool> = goes_left.iter().copied().chain([default_left]).collect();
                for word in bits.chunks(64) {
                    let w = word.iter().enumerate().fold(0u64, |w, (b, &on)| w | (u64::from(on) << b));
                    self.tables.extend_from_slice(&w.to_le_bytes());
                }
                let level = reads[&(feature, Read::Level)];
                sink.local_get(level).i32_const(6).i32_shr_u().i32_const(3).i32_shl();
                sink.i64_load(MemArg { offset: at, align: 3, memory_index: 0 });
                sink.local_get(level).i64_extend_i32_u().i64_shr_u().i64_const(1).i64_and();
                sink.i64_eqz();
            }
        }
    }
}

/// The locals holding a row's values, by feature and how they are read.
type Reads = BTreeMap<(usize, Read), u32>;

/// How a row leaves node `i`, and which child a non-zero [`Chunk::test`] means.
fn way(m: &GbtModel, i: usize) -> Way {
    let (default_left, test, left, right) = match m.node(i) {
        TreeNode::Leaf { value } => return Way::Leaf(value),
        TreeNode::Split { default_left, test, left, right, .. } => (default_left, test, left, right),
    };
    match test {
        // `x > t` (right) when missing values go left, else `x <= t` (left).
        SplitTest::AtMost(_) if default_left => Way::Test { first: right, second: left },
        SplitTest::AtMost(_) => Way::Test { first: left, second: right },
        SplitTest::Levels(goes_left) if goes_left.len() as u32 <= MASK_LEVELS => {
            let mask = level_mask(&goes_left, default_left);
            if mask == 0 {
                Way::Always(right)
            } else if mask == (1 << 63) | ((1 << goes_left.len()) - 1) {
                Way::Always(left)
            } else {
                // `onehot & mask == 0`: right.
                Way::Test { first: right, second: left }
            }
        }
        // The bit is 0: right.
        SplitTest::Levels(_) => Way::Test { first: right, second: left },
    }
}

/// The bits of a split on a feature of at most 63 levels: bit `l` set when level `l` goes left,
/// bit 63 when a value that is not a level does.
fn level_mask(goes_left: &[bool], default_left: bool) -> u64 {
    let mut mask = u64::from(default_left) << 63;
    for (l, _) in goes_left.iter().enumerate().filter(|(_, b)| **b) {
        mask |= 1 << l;
    }
    mask
}

/// How a row leaves a node.
enum Way {
    /// The node is a leaf.
    Leaf(f64),
    /// Every row goes to this child (a categorical split that sends every value one way).
    Always(usize),
    /// [`Chunk::test`] pushes non-zero for `first`, zero for `second`.
    Test { first: usize, second: usize },
}

/// How a branch-free subtree's leaves are pushed: as the bits of an `f32` when every one of them
/// is exactly an `f32` (leaves a trainer of this version grows: `i32.const` takes at most 5 bytes
/// where `i64.const` takes up to 10), else as the bits of the `f64`.
#[derive(Clone, Copy)]
enum LeafBits {
    F32,
    F64,
}

/// Which [`LeafBits`] the subtree at node `i` can use.
fn leaf_bits(m: &GbtModel, i: usize) -> LeafBits {
    fn all_f32(m: &GbtModel, i: usize) -> bool {
        match m.node(i) {
            TreeNode::Leaf { value } => as_f32(value).is_some(),
            TreeNode::Split { left, right, .. } => all_f32(m, left) && all_f32(m, right),
        }
    }
    if all_f32(m, i) { LeafBits::F32 } else { LeafBits::F64 }
}

/// `v` as an `f32` when that is exactly `v`: `f64.promote_f32` gives `v` back bit for bit.
fn as_f32(v: f64) -> Option<f32> {
    let narrow = v as f32;
    (f64::from(narrow).to_bits() == v.to_bits()).then_some(narrow)
}

/// Subtrees at most this high are computed with selects instead of branches.
const SELECT_HEIGHT: usize = 4;

/// Height of the subtree at node `i` (a leaf: 0).
fn height(m: &GbtModel, i: usize) -> usize {
    match m.node(i) {
        TreeNode::Leaf { .. } => 0,
        TreeNode::Split { left, right, .. } => 1 + height(m, left).max(height(m, right)),
    }
}

/// Records the reads the subtree of node `i` needs.
fn collect_reads(m: &GbtModel, i: usize, reads: &mut Reads) {
    if let TreeNode::Split { feature, test, left, right, .. } = m.node(i) {
        let read = match test {
            SplitTest::AtMost(_) => Read::Value,
            SplitTest::Levels(l) if l.len() as u32 <= MASK_LEVELS => Read::OneHot,
            SplitTest::Levels(_) => Read::Level,
        };
        reads.insert((feature, read), 0);
        collect_reads(m, left, reads);
        collect_reads(m, right, reads);
    }
}

fn f64_at(offset: u64) -> MemArg {
    MemArg { offset, align: 3, memory_index: 0 }
}

/// A module of `model`'s tree code alone: exports `memory` and `margins(rows, n_rows, out) ->
/// i32` (the entry function, which returns 0), and the global `free`, the first address past
/// the bit sets (8-byte aligned; the memory may be grown). `None` as [`generate`].
pub(crate) fn standalone(model: &GbtModel) -> Option<Vec<u8>> {
    use wasm_encoder::{
        ConstExpr, DataSection, ExportKind, ExportSection, FunctionSection, GlobalSection, GlobalType,
        Module, TypeSection,
    };
    let tables_at = 8;
    let code = generate(model, 1, tables_at)?;
    let free = (tables_at as u64 + code.tables.len() as u64).next_multiple_of(8);
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32; 3], [ValType::I32]);
    module.section(&types);
    let mut functions = FunctionSection::new();
    for _ in 0..=code.chunks.len() {
        functions.function(0);
    }
    module.section(&functions);
    let mut memory = wasm_encoder::MemorySection::new();
    let pages = free.div_ceil(65536).max(1);
    memory.memory(wasm_encoder::MemoryType {
        minimum: pages,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memory);
    let mut globals = GlobalSection::new();
    globals.global(
        GlobalType { val_type: ValType::I32, mutable: false, shared: false },
        &ConstExpr::i32_const(free as i32),
    );
    module.section(&globals);
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0).export("margins", ExportKind::Func, 0).export(
        "free",
        ExportKind::Global,
        0,
    );
    module.section(&exports);
    let mut bodies = wasm_encoder::CodeSection::new();
    bodies.function(&code.entry);
    for f in &code.chunks {
        bodies.function(f);
    }
    module.section(&bodies);
    let mut data = DataSection::new();
    data.active(0, &ConstExpr::i32_const(tables_at as i32), code.tables.iter().copied());
    module.section(&data);
    Some(module.finish())
}
