//! One instantiated module in its own store: the ABI call sequence, limits and error mapping.

use std::time::Duration;

use scorekit_abi::{exports, status};
use wasmtime::{InstancePre, Memory, ResourceLimiter, Store, Trap, TypedFunc};

use crate::RuntimeError;

/// Per-store data: the memory cap and whether it was hit (to tell a limit from other traps).
pub(crate) struct StoreData {
    limit_bytes: usize,
    limit_hit: bool,
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

/// Limits applied to every call of an instance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub deadline: Duration,
    pub tick: Duration,
    pub memory_limit_bytes: usize,
}

impl Limits {
    fn ticks(&self) -> u64 {
        // +1: the current tick may end right after the call starts.
        (self.deadline.as_nanos().div_ceil(self.tick.as_nanos().max(1)) as u64).max(1) + 1
    }
}

pub(crate) struct Instance {
    store: Store<StoreData>,
    memory: Memory,
    input: TypedFunc<i32, i32>,
    call: TypedFunc<(i32, i32), i32>,
    out_ptr: TypedFunc<(), i32>,
    out_len: TypedFunc<(), i32>,
    version: TypedFunc<(), i32>,
    limits: Limits,
}

impl Instance {
    pub fn new(pre: &InstancePre<StoreData>, limits: Limits) -> Result<Self, RuntimeError> {
        let mut store = Store::new(
            pre.module().engine(),
            StoreData { limit_bytes: limits.memory_limit_bytes, limit_hit: false },
        );
        store.limiter(|d| d as &mut dyn ResourceLimiter);
        store.set_epoch_deadline(limits.ticks());
        store.epoch_deadline_trap();
        let instance = match pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => return Err(map_error(&store, limits, e)),
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
        Ok(Instance {
            input: func(&instance, &mut store, exports::INPUT)?,
            call: func(&instance, &mut store, exports::CALL)?,
            out_ptr: func(&instance, &mut store, exports::OUTPUT_PTR)?,
            out_len: func(&instance, &mut store, exports::OUTPUT_LEN)?,
            version: func(&instance, &mut store, exports::ABI_VERSION)?,
            memory,
            store,
            limits,
        })
    }

    fn arm(&mut self) {
        self.store.set_epoch_deadline(self.limits.ticks());
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
        let ptr = self.input.call(&mut self.store, len).map_err(|e| self.map(e))?;
        if ptr == 0 && len > 0 {
            return Err(RuntimeError::MemoryLimit { limit_bytes: self.limits.memory_limit_bytes });
        }
        self.memory
            .write(&mut self.store, ptr as u32 as usize, request)
            .map_err(|_| RuntimeError::Trap("input buffer lies outside the module's memory".into()))?;
        let code = self.call.call(&mut self.store, (op, len)).map_err(|e| self.map(e))?;
        let optr = self.out_ptr.call(&mut self.store, ()).map_err(|e| self.map(e))? as u32 as usize;
        let olen = self.out_len.call(&mut self.store, ()).map_err(|e| self.map(e))? as u32 as usize;
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
        map_error(&self.store, self.limits, e)
    }
}

fn map_error(store: &Store<StoreData>, limits: Limits, e: wasmtime::Error) -> RuntimeError {
    if store.data().limit_hit {
        return RuntimeError::MemoryLimit { limit_bytes: limits.memory_limit_bytes };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => RuntimeError::DeadlineExceeded { deadline: limits.deadline },
        Some(trap) => RuntimeError::Trap(trap.to_string()),
        None => RuntimeError::Trap(format!("{e:#}")),
    }
}
