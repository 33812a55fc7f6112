//! Module calls (and module compiles) run on a stack of their own, kept per server thread.
//!
//! Why: wasmtime lets a module use up to 512 KiB of native stack before it stops it with a trap,
//! and Cranelift compiling a module needs more still; MariaDB gives a connection thread 292 KiB
//! (`thread_stack`) and the UDF callback runs deep inside it. Measured: a module that recurses
//! without end, called on the server's own stack, ran off the thread's stack and crashed the
//! server. On a stack of [`STACK_BYTES`] the module's own limit trips first and the statement
//! fails with a trap. Threads are long-lived (one per connection, or a pool), so each maps its
//! stack once (reserved, not committed: untouched pages cost nothing) and frees it at exit.
//!
//! The server is never called while on this stack (its own stack-depth checks measure from the
//! thread's stack): callers compute here and report afterwards.

use std::cell::{Cell, RefCell};

/// Size of a call stack: the module's 512 KiB limit, Cranelift, the runtime and the host layer
/// with ample room. Address space only until touched.
pub const STACK_BYTES: usize = 8 << 20;

struct Stack {
    /// Start of the mapping (the guard page).
    map: *mut libc::c_void,
    /// Mapping length, guard page included.
    len: usize,
    page: usize,
}

impl Stack {
    fn map() -> Option<Stack> {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok().filter(|p| *p > 0)?;
        let len = STACK_BYTES + page;
        // SAFETY: an anonymous private mapping; the lowest page becomes a guard page so an
        // overflow faults instead of writing into a neighbour.
        unsafe {
            let map = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            );
            if map == libc::MAP_FAILED {
                return None;
            }
            if libc::mprotect(map, page, libc::PROT_NONE) != 0 {
                libc::munmap(map, len);
                return None;
            }
            Some(Stack { map, len, page })
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `Stack::map`, no longer in use (the thread is exiting).
        unsafe {
            libc::munmap(self.map, self.len);
        }
    }
}

thread_local! {
    static STACK: RefCell<Option<Stack>> = const { RefCell::new(None) };
    static ON_STACK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` on this thread's call stack (mapped on first use). A panic inside `f` comes back as
/// `Err` with its message. When no stack can be mapped, `f` runs where it is.
pub fn run<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    let guarded = move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string())
        })
    };
    if ON_STACK.with(Cell::get) {
        return guarded();
    }
    let base = STACK.with(|s| {
        let mut s = s.borrow_mut();
        if s.is_none() {
            *s = Stack::map();
        }
        // SAFETY: the usable part starts one page into the mapping.
        s.as_ref().map(|st| (unsafe { st.map.cast::<u8>().add(st.page) }, STACK_BYTES))
    });
    let Some((base, size)) = base else { return guarded() };
    ON_STACK.with(|c| c.set(true));
    // SAFETY: `base` is page-aligned and `size` a multiple of the page size, inside a mapping this
    // thread owns and nothing else uses while `ON_STACK` is set; `guarded` never unwinds.
    let out = unsafe { psm::on_stack(base, size, guarded) };
    ON_STACK.with(|c| c.set(false));
    out
}

/// The usable range of this thread's call stack, if mapped (for tests).
#[cfg(test)]
fn mapped_range() -> Option<std::ops::Range<usize>> {
    STACK.with(|s| {
        s.borrow().as_ref().map(|st| {
            let base = st.map as usize + st.page;
            base..base + STACK_BYTES
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_its_own_stack_and_survives_a_panic() {
        let outer = psm::stack_pointer() as usize;
        let inner = run(|| psm::stack_pointer() as usize).unwrap();
        let range = mapped_range().expect("a call stack is mapped");
        assert!(
            range.contains(&inner) && !range.contains(&outer),
            "not switched: {outer:x} / {inner:x} vs {range:x?}"
        );
        // Deep recursion that would not fit in MariaDB's 292 KiB thread stack fits here.
        fn depth(n: usize) -> usize {
            let pad = std::hint::black_box([0u8; 1024]);
            if n == 0 {
                pad[0] as usize
            } else {
                depth(n - 1) + 1
            }
        }
        assert_eq!(run(|| depth(2000)).unwrap(), 2000);
        let e = run(|| -> usize { panic!("boom") }).unwrap_err();
        assert_eq!(e, "boom");
        // The stack is reused (and nested calls stay where they are).
        assert_eq!(run(|| run(|| 7).unwrap()).unwrap(), 7);
    }
}
