//! The GBT tree code slot: the function `host compile` fills with the model's trees as Wasm code.
//!
//! The guest holds a placeholder that answers "no code" ([`TREE_CODE_ABSENT`]); the compiler
//! finds it through [`TREE_CODE`] (magic, then the function's table index), replaces its body
//! with generated code that writes each row's margin, and leaves everything else as it was.
//! The guest calls it through a volatile load of the slot, so the optimiser knows nothing of the
//! body it will have (see `scorekit_abi::payload::TREE_CODE_MAGIC`).

use scorekit_abi::payload::{TREE_CODE_ABSENT, TREE_CODE_MAGIC};

/// `(rows, n_rows, out) -> status`: margins of `n_rows` encoded rows into `out`; 0 when done.
type TreeCode = extern "C" fn(*const f64, usize, *mut f64) -> i32;

#[repr(C)]
struct Slot {
    magic: [u8; 8],
    code: TreeCode,
}

#[used]
static TREE_CODE: Slot = Slot { magic: TREE_CODE_MAGIC, code: placeholder };

/// The body `host compile` replaces (it checks that it is exactly this).
#[inline(never)]
extern "C" fn placeholder(_rows: *const f64, _n_rows: usize, _out: *mut f64) -> i32 {
    TREE_CODE_ABSENT
}

/// Margins of row-major encoded `rows` into `out` (one per row) by the compiled tree code:
/// `false` when the module has none (the caller scores with the model's own code).
pub fn margins(rows: &[f64], out: &mut [f64]) -> bool {
    // SAFETY: the slot is a valid static; the volatile read keeps the optimiser from using the
    // placeholder it was linked with.
    let code = unsafe { core::ptr::read_volatile(&raw const TREE_CODE.code) };
    // The generated code reads `out.len()` rows of the model's width from `rows` (the caller,
    // `GbtModel::predict_batch_with`, checked the shape) and writes `out`; Wasm bounds-checks it.
    code(rows.as_ptr(), out.len(), out.as_mut_ptr()) == 0
}
