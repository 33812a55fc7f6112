//! One instantiated module in its own store: the ABI call sequence, limits and error mapping.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scorekit_abi::{CallSlot, exports, status};
use wasmtime::{InstancePre, Memory, ResourceLimiter, Store, Trap, TypedFunc, UpdateDeadline};

use crate::{InterruptCheck, RuntimeError};

/// Per-store data: the memory cap and whether it was hit (to tell a limit from other traps),
/// and the running call's deadline and interrupt state.
pub(crate) struct StoreData {
    limit_bytes: usize,
    limit_hit: bool,
    /// Linear memory this store holds, counted in the runtime's process-wide budget.
    committed: usize,
    budget: Arc<MemoryBudget>,
    budget_hit: bool,
    deadline: Duration,
    call_started: Instant,
    interrupt: Option<InterruptCheck>,
    interrupted: bool,
}

impl StoreData {
    /// Called by wasmtime at every epoch tick while the store runs code: the deadline is checked
    /// against the clock (a late ticker must not stretch it) and the host may interrupt.
    fn on_tick(&mut self) -> UpdateDeadline {
        if self.interrupt.as_ref().is_some_and(InterruptCheck::is_set) {
            self.interrupted = true;
            return UpdateDeadline::Interrupt;
        }
        if self.call_started.elapsed() >= self.deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Continue(1)
        }
    }
}

impl ResourceLimiter for StoreData {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit_bytes {
            self.limit_hit = true;
            // An error (not `Ok(false)`) traps at once: a guest that ignores a failed
            // `memory.grow` must not be left spinning until the deadline.
            return Err(wasmtime::Error::msg("memory limit exceeded"));
        }
        let grow = desired.saturating_sub(self.committed);
        if !self.budget.reserve(grow) {
            self.budget_hit = true;
            return Err(wasmtime::Error::msg("process memory budget exhausted"));
        }
        self.committed += grow;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl Drop for StoreData {
    fn drop(&mut self) {
        self.budget.release(self.committed);
    }
}

/// The memory all instances of one runtime may hold together: what bounds a process where each
/// instance alone is capped (N concurrent calls × the per-instance cap would not be).
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    pub fn new(limit: usize) -> Self {
        MemoryBudget { limit, used: AtomicUsize::new(0) }
    }

    /// Takes `bytes` from the budget if they fit.
    fn reserve(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(bytes).filter(|n| *n <= self.limit)
            })
            .is_ok()
    }

    fn release(&self, bytes: usize) {
        let _ =
            self.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| Some(u.saturating_sub(bytes)));
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// The budget.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// Limits applied to every call of an instance.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub deadline: Duration,
    pub memory_limit_bytes: usize,
    pub interrupt: Option<InterruptCheck>,
    pub budget: Arc<MemoryBudget>,
}

pub(crate) struct Instance {
    store: Store<StoreData>,
    memory: Memory,
    input: TypedFunc<i32, i32>,
    call: TypedFunc<(i32, i32), i32>,
    out_ptr: TypedFunc<(), i32>,
    out_len: TypedFunc<(), i32>,
    version: TypedFunc<(), i32>,
    /// Where a minor-2 module keeps its [`CallSlot`] (checked to lie in its memory): then a
    /// steady call enters the module once (`scorekit_call`) instead of four times.
    slot: Option<usize>,
    limits: Limits,
}

impl Instance {
    /// `call_slot`: the module's description says it exports `scorekit_call_slot` (minor 2).
    pub fn new(pre: &InstancePre<StoreData>, limits: Limits, call_slot: bool) -> Result<Self, RuntimeError> {
        let mut store = Store::new(
            pre.module().engine(),
            StoreData {
                limit_bytes: limits.memory_limit_bytes,
                limit_hit: false,
                committed: 0,
                budget: limits.budget.clone(),
                budget_hit: false,
                deadline: limits.deadline,
                call_started: Instant::now(),
                interrupt: limits.interrupt.clone(),
                interrupted: false,
            },
        );
        store.limiter(|d| d as &mut dyn ResourceLimiter);
        // Every tick ends in the callback, so that the host's interrupt check runs while a call
        // (or the start function) runs; the callback also enforces the deadline.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| Ok(ctx.data_mut().on_tick()));
        let instance = match pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => return Err(map_error(&store, &limits, e)),
        };
        let memory = instance
            .get_memory(&mut store, exports::MEMORY)
            .ok_or_else(|| RuntimeError::InvalidModule("missing export 'memory'".into()))?;
        fn func<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
            instance: &wasmtime::Instance,
            store: &mut Store<StoreData>,
            name: &str,
        ) -> Result<TypedFunc<P, R>, RuntimeError> {
            instance
                .get_typed_func::<P, R>(&mut *store, name)
                .map_err(|e| RuntimeError::InvalidModule(format!("export '{name}': {e}")))
        }
        let slot_at: Option<TypedFunc<(), i32>> =
            if call_slot { Some(func(&instance, &mut store, exports::CALL_SLOT)?) } else { None };
        let mut inst = Instance {
            input: func(&instance, &mut store, exports::INPUT)?,
            call: func(&instance, &mut store, exports::CALL)?,
            out_ptr: func(&instance, &mut store, exports::OUTPUT_PTR)?,
            out_len: func(&instance, &mut store, exports::OUTPUT_LEN)?,
            version: func(&instance, &mut store, exports::ABI_VERSION)?,
            slot: None,
            memory,
            store,
            limits,
        };
        if let Some(slot_at) = slot_at {
            inst.arm();
            let at = slot_at.call(&mut inst.store, ()).map_err(|e| inst.map(e))? as u32 as usize;
            if !at.is_multiple_of(4) || at.saturating_add(CallSlot::SIZE) > inst.memory.data_size(&inst.store)
            {
                return Err(RuntimeError::InvalidModule(format!(
                    "'{}' returned {at}, not an aligned place inside the module's memory",
                    exports::CALL_SLOT
                )));
            }
            inst.slot = Some(at);
        }
        Ok(inst)
    }

    /// The module's call slot now, when it has one.
    fn read_slot(&self) -> Option<CallSlot> {
        let at = self.slot?;
        let bytes = self.memory.data(&self.store).get(at..at + CallSlot::SIZE)?;
        Some(CallSlot::read(bytes.try_into().ok()?))
    }

    fn arm(&mut self) {
        let data = self.store.data_mut();
        data.call_started = Instant::now();
        data.interrupted = false;
        self.store.set_epoch_deadline(1);
    }

    pub fn abi_version(&mut self) -> Result<i32, RuntimeError> {
        self.arm();
        let r = self.version.call(&mut self.store, ());
        r.map_err(|e| self.map(e))
    }

    /// Bytes of linear memory in use (instances that grew large are not pooled).
    pub fn memory_size(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    /// Runs `op` on `request` and hands the response bytes to `decode` (no copy).
    pub fn call<T>(
        &mut self,
        op: i32,
        request: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, RuntimeError>,
    ) -> Result<T, RuntimeError> {
        let len = i32::try_from(request.len()).map_err(|_| {
            RuntimeError::BadInput(format!("request of {} bytes is too large", request.len()))
        })?;
        self.arm();
        // The input buffer the slot names when the request fits in it; else the module grows it.
        let ptr = match self.read_slot() {
            Some(s) if s.input_ptr != 0 && request.len() <= s.input_capacity as usize => s.input_ptr as i32,
            _ => self.input.call(&mut self.store, len).map_err(|e| self.map(e))?,
        };
        if ptr == 0 && len > 0 {
            return Err(RuntimeError::MemoryLimit { limit_bytes: self.limits.memory_limit_bytes });
        }
        self.memory
            .write(&mut self.store, ptr as u32 as usize, request)
            .map_err(|_| RuntimeError::Trap("input buffer lies outside the module's memory".into()))?;
        let code = self.call.call(&mut self.store, (op, len)).map_err(|e| self.map(e))?;
        let (optr, olen) = match self.read_slot() {
            Some(s) => (s.output_ptr as usize, s.output_len as usize),
            None => (
                self.out_ptr.call(&mut self.store, ()).map_err(|e| self.map(e))? as u32 as usize,
                self.out_len.call(&mut self.store, ()).map_err(|e| self.map(e))? as u32 as usize,
            ),
        };
        let bytes = self
            .memory
            .data(&self.store)
            .get(optr..optr.saturating_add(olen))
            .ok_or_else(|| RuntimeError::Trap("output buffer lies outside the module's memory".into()))?;
        let message = || String::from_utf8_lossy(bytes).into_owned();
        match code {
            status::OK => decode(bytes),
            status::BAD_INPUT => Err(RuntimeError::BadInput(message())),
            status::UNSUPPORTED => Err(RuntimeError::Unsupported(message())),
            status::INTERNAL => Err(RuntimeError::Guest(message())),
            other => Err(RuntimeError::InvalidModule(format!("unknown status {other} from scorekit_call"))),
        }
    }

    fn map(&self, e: wasmtime::Error) -> RuntimeError {
        map_error(&self.store, &self.limits, e)
    }
}

fn map_error(store: &Store<StoreData>, limits: &Limits, e: wasmtime::Error) -> RuntimeError {
    if store.data().limit_hit {
        return RuntimeError::MemoryLimit { limit_bytes: limits.memory_limit_bytes };
    }
    if store.data().budget_hit {
        return RuntimeError::MemoryBudget { budget_bytes: limits.budget.limit() };
    }
    if store.data().interrupted {
        return RuntimeError::Interrupted;
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => RuntimeError::DeadlineExceeded { deadline: limits.deadline },
        Some(trap) => RuntimeError::Trap(trap.to_string()),
        None => RuntimeError::Trap(format!("{e:#}")),
    }
}
