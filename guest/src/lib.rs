//! The guest half of a scorekit model module: the code inside every `.wasm` that `host compile`
//! produces. It implements ABI v1 (`docs/abi.md`, crate `scorekit-abi`) on top of the one
//! dispatch layer `scorekit_artifact::ops`, which the native CLI calls too, so a module scores
//! exactly like the native path.
//!
//! Design: the module is built once, with no model in it; `host compile` appends the model
//! payload as a data segment and patches [`LOCATION`] with its address. The guest decodes the
//! artifact lazily on the first call that needs it and keeps it (and, for RCF, the stream state)
//! for the life of the instance. Wasm instances are single-threaded, so the instance state is a
//! plain global behind an `UnsafeCell`.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;

mod call;
mod state;
#[cfg(feature = "gbt")]
mod trees;

use core::panic::PanicInfo;

#[global_allocator]
static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    // No imports means nowhere to report to: trap, and let the host discard the instance.
    core::arch::wasm32::unreachable()
}

/// Where the compiler put the model payload: magic, then `u32` address and `u32` length,
/// patched in place by `host compile` (see `scorekit_abi::payload`).
#[used]
static LOCATION: [u8; 16] = {
    let m = scorekit_abi::payload::LOCATION_MAGIC;
    [m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], 0, 0, 0, 0, 0, 0, 0, 0]
};

/// `() -> i32`: the ABI version.
#[unsafe(no_mangle)]
pub extern "C" fn scorekit_abi_version() -> i32 {
    scorekit_abi::ABI_VERSION
}

/// `(len) -> ptr`: the input buffer, at least `len` bytes, 8-byte aligned; 0 if it cannot grow.
#[unsafe(no_mangle)]
pub extern "C" fn scorekit_input(len: i32) -> i32 {
    state::get().input(len)
}

/// `(op, len) -> status`: runs `op` on the first `len` bytes of the input buffer.
#[unsafe(no_mangle)]
pub extern "C" fn scorekit_call(op: i32, len: i32) -> i32 {
    call::call(state::get(), op, len)
}

/// `() -> ptr` of the last response.
#[unsafe(no_mangle)]
pub extern "C" fn scorekit_output_ptr() -> i32 {
    state::get().output().0
}

/// `() -> len` of the last response.
#[unsafe(no_mangle)]
pub extern "C" fn scorekit_output_len() -> i32 {
    state::get().output().1
}

/// `() -> ptr` of the call slot (ABI minor 2, `scorekit_abi::CallSlot`): the input buffer's and
/// the last response's places, kept current, so that a host enters the module once per call.
#[unsafe(no_mangle)]
pub extern "C" fn scorekit_call_slot() -> i32 {
    (&raw const state::get().slot) as i32
}
