//! The instance's state: buffers, the lazily decoded artifact, and the payload location.

use alloc::vec::Vec;
use core::cell::UnsafeCell;

use scorekit_abi::CallSlot;
use scorekit_artifact::Artifact;
use scorekit_core::Encoder;

/// The last response: either numbers (returned in place, `f64` is little-endian in Wasm) or
/// bytes (JSON, state, error messages).
pub enum Output {
    Values(Vec<f64>),
    Bytes(Vec<u8>),
}

pub struct State {
    /// `u64` words so the buffer is 8-byte aligned for hosts that write `f64` arrays.
    input: Vec<u64>,
    pub out: Output,
    /// The last request's encoded rows, kept for the next one's (its capacity, not its values).
    pub rows: Vec<f64>,
    pub artifact: Option<Artifact>,
    /// The artifact's level index, built with it (once per instance, not per request).
    pub encoder: Option<Encoder>,
    /// The buffers' places for the host (`scorekit_call_slot`): inside the static state, so its
    /// address is fixed; rewritten after every input and call.
    pub slot: CallSlot,
}

struct Global(UnsafeCell<State>);

// SAFETY: a Wasm instance runs one thread and the exports do not re-enter each other.
unsafe impl Sync for Global {}

static STATE: Global = Global(UnsafeCell::new(State {
    input: Vec::new(),
    out: Output::Bytes(Vec::new()),
    rows: Vec::new(),
    artifact: None,
    encoder: None,
    slot: CallSlot { input_ptr: 0, input_capacity: 0, output_ptr: 0, output_len: 0 },
}));

/// The instance state.
pub fn get() -> &'static mut State {
    // SAFETY: single-threaded, and every export takes this reference once and drops it on return.
    unsafe { &mut *STATE.0.get() }
}

/// The payload bytes patched in by `host compile`, or `None` in the bare guest.
pub fn payload() -> Option<&'static [u8]> {
    // SAFETY: the static is 16 bytes; the volatile read keeps the optimiser from folding the
    // placeholder zeros that the compiler patches after linking.
    let loc: [u8; 16] = unsafe { core::ptr::read_volatile(&raw const crate::LOCATION) };
    let ptr = u32::from_le_bytes([loc[8], loc[9], loc[10], loc[11]]) as usize;
    let len = u32::from_le_bytes([loc[12], loc[13], loc[14], loc[15]]) as usize;
    if len == 0 {
        return None;
    }
    // SAFETY: the compiler placed `len` bytes at `ptr` in an active data segment inside the
    // initial memory, and nothing in the guest writes there.
    Some(unsafe { core::slice::from_raw_parts(ptr as *const u8, len) })
}

impl State {
    pub fn input(&mut self, len: i32) -> i32 {
        let Ok(len) = usize::try_from(len) else { return 0 };
        let words = len.div_ceil(8).max(1);
        if self.input.len() < words {
            if self.input.try_reserve(words - self.input.len()).is_err() {
                return 0;
            }
            self.input.resize(words, 0);
        }
        let ptr = self.input.as_mut_ptr() as i32;
        self.slot.input_ptr = ptr as u32;
        self.slot.input_capacity = (self.input.len() * 8) as u32;
        ptr
    }

    /// Records the last response's place in the slot (after every call).
    pub fn publish_output(&mut self) {
        let (ptr, len) = self.output();
        self.slot.output_ptr = ptr as u32;
        self.slot.output_len = len as u32;
    }

    /// The first `len` input bytes, if the buffer is that long.
    pub fn input_bytes(&self, len: i32) -> Option<&'static [u8]> {
        let len = usize::try_from(len).ok()?;
        if len > self.input.len() * 8 {
            return None;
        }
        // SAFETY: within the buffer; the buffer is not touched until the next `scorekit_input`,
        // which cannot happen during this call. 'static stands for "this call".
        Some(unsafe { core::slice::from_raw_parts(self.input.as_ptr() as *const u8, len) })
    }

    pub fn output(&self) -> (i32, i32) {
        match &self.out {
            Output::Values(v) => (v.as_ptr() as i32, (v.len() * 8) as i32),
            Output::Bytes(b) => (b.as_ptr() as i32, b.len() as i32),
        }
    }

    /// Reuses the values buffer of the previous response when there is one.
    pub fn take_values(&mut self) -> Vec<f64> {
        match core::mem::replace(&mut self.out, Output::Bytes(Vec::new())) {
            Output::Values(mut v) => {
                v.clear();
                v
            }
            Output::Bytes(_) => Vec::new(),
        }
    }

    pub fn take_bytes(&mut self) -> Vec<u8> {
        match core::mem::replace(&mut self.out, Output::Bytes(Vec::new())) {
            Output::Bytes(mut b) => {
                b.clear();
                b
            }
            Output::Values(_) => Vec::new(),
        }
    }
}
