//! What the plugin takes from the server process it is loaded into. Everything is found by name
//! at run time (`dlsym`), so the library links against no server library and loads into MariaDB
//! 10.x and MySQL 8 alike; what a server lacks is simply not used (and the docs say what follows).
//!
//! * `my_message(errno, text, flags)`: the one way a function fails its *statement* from a row
//!   call — the UDF ABI's own `*error = 1` only turns the row (and every later one) into NULL. Both
//!   servers export it; MariaDB also takes `ME_WARNING` for a warning (stream notices).
//! * `thd_kill_level(_current_thd())` (MariaDB) / `thd_killed(NULL)` (MySQL 8): whether the
//!   current connection's statement was killed (`KILL QUERY`, `max_statement_time`), asked once
//!   per runtime tick while a module call runs ([`killed`]), only on threads that entered
//!   through a UDF callback. (MariaDB 10.11's `thd_kill_level` dereferences its argument at once:
//!   a NULL there crashed the server.)
//! * `server_version`: to tell MariaDB from MySQL.
//!
//! The library also pins itself in memory ([`pin_library`]): the runtime starts threads (the
//! deadline ticker, the stream flusher) that run its code, so a `DROP FUNCTION` of the last
//! function must never unmap it.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr, CString};
use std::path::PathBuf;
use std::sync::OnceLock;

type MyMessage = unsafe extern "C" fn(c_uint, *const c_char, c_ulong);
type KillCheck = unsafe extern "C" fn(*const c_void) -> c_int;
type CurrentThd = unsafe extern "C" fn() -> *const c_void;
type KilledErrno = unsafe extern "C" fn(*const c_void) -> c_int;
type MyError = unsafe extern "C" fn(c_uint, c_ulong, ...);

/// MariaDB's `ME_WARNING` flag of `my_message` (include/my_sys.h).
const ME_WARNING: c_ulong = 2048;

struct Symbols {
    my_message: Option<MyMessage>,
    kill_check: Option<KillCheck>,
    /// MariaDB's `_current_thd()`: its `thd_kill_level` does not accept NULL (10.11 reads
    /// `thd->killed` at once: measured, a NULL crashed the server), so the plugin passes the THD.
    /// Without it (MySQL 8), `thd_killed(NULL)` reads `current_thd` itself.
    current_thd: Option<CurrentThd>,
    /// MariaDB's `int THD::killed_errno()` (exported, mangled) and `my_error`: the error of the
    /// kill (1317 for `KILL QUERY`, 1969 for `max_statement_time`) with the server's own text.
    killed_errno: Option<KilledErrno>,
    my_error: Option<MyError>,
    mariadb: bool,
}

fn lookup(name: &str) -> *mut c_void {
    let Ok(c) = CString::new(name) else { return std::ptr::null_mut() };
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the loaded objects'
    // symbol tables.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) }
}

fn symbols() -> &'static Symbols {
    static SYMBOLS: OnceLock<Symbols> = OnceLock::new();
    SYMBOLS.get_or_init(|| {
        let my_message = lookup("my_message");
        let version = lookup("server_version");
        let mariadb = !version.is_null()
            // SAFETY: `server_version` is the server's NUL-terminated `char[]`.
            && unsafe { CStr::from_ptr(version.cast::<c_char>()) }.to_string_lossy().contains("MariaDB");
        // MariaDB: thd_kill_level(THD) with the THD from _current_thd(); MySQL: thd_killed(NULL).
        let (kill, current_thd) = if mariadb {
            let current = lookup("_current_thd");
            (if current.is_null() { current } else { lookup("thd_kill_level") }, current)
        } else {
            (lookup("thd_killed"), std::ptr::null_mut())
        };
        Symbols {
            // SAFETY: both servers declare `void my_message(uint, const char *, myf)`; `myf` is
            // `unsigned long` (MariaDB) or `int` (MySQL 8), passed in the same register.
            my_message: (!my_message.is_null())
                .then(|| unsafe { std::mem::transmute::<*mut c_void, MyMessage>(my_message) }),
            // SAFETY: `int thd_killed(const THD *)` / `enum thd_kill_levels thd_kill_level(const
            // THD *)`: one pointer in, an int-sized value out.
            kill_check: (!kill.is_null())
                .then(|| unsafe { std::mem::transmute::<*mut c_void, KillCheck>(kill) }),
            // SAFETY: `THD *_current_thd(void)` (MariaDB, sql/sql_class.h): no arguments, the
            // calling thread's THD (NULL outside a connection).
            current_thd: (!current_thd.is_null())
                .then(|| unsafe { std::mem::transmute::<*mut c_void, CurrentThd>(current_thd) }),
            // SAFETY: a non-virtual member function `int THD::killed_errno()`: on x86-64 and
            // AArch64 `this` is passed as the first argument, like a C function of one pointer.
            killed_errno: mariadb
                .then(|| lookup("_ZN3THD12killed_errnoEv"))
                .filter(|p| !p.is_null())
                .map(|p| unsafe { std::mem::transmute::<*mut c_void, KilledErrno>(p) }),
            // SAFETY: `void my_error(uint nr, myf MyFlags, ...)` (mysys).
            my_error: Some(lookup("my_error"))
                .filter(|p| !p.is_null())
                .map(|p| unsafe { std::mem::transmute::<*mut c_void, MyError>(p) }),
            mariadb,
        }
    })
}

/// Whether the server is MariaDB (else MySQL or unknown).
pub fn is_mariadb() -> bool {
    symbols().mariadb
}

/// Whether statements can be failed from a row call (the server exports `my_message`).
pub fn can_raise() -> bool {
    symbols().my_message.is_some()
}

/// Whether `KILL QUERY` can reach a running module call.
pub fn can_check_kill() -> bool {
    symbols().kill_check.is_some()
}

thread_local! {
    /// Set on threads that entered through a UDF callback: only they have a `current_thd` to
    /// ask about kills (the runtime also calls modules on the plugin's own flush thread).
    static SERVER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as a server thread (every UDF callback calls this first).
pub fn enter() {
    SERVER_THREAD.with(|c| c.set(true));
}

/// Whether the statement running on this thread was killed. The runtime's `InterruptCheck`.
pub fn killed() -> bool {
    if !SERVER_THREAD.with(Cell::get) {
        return false;
    }
    let s = symbols();
    let Some(check) = s.kill_check else { return false };
    let thd = match s.current_thd {
        // SAFETY: `_current_thd` only reads the calling thread's thread-local THD pointer.
        Some(current) => match unsafe { current() } {
            t if t.is_null() => return false,
            t => t,
        },
        None => std::ptr::null(),
    };
    // SAFETY: called on a server thread inside a statement with that thread's THD (or NULL for
    // MySQL's `thd_killed`, which then reads `current_thd`); the function reads the connection's
    // kill state (MariaDB also answers pending APC requests, as at any of its own kill checks).
    unsafe { check(thd) != 0 }
}

/// Fails the current statement with `errno` and `text`. Returns false when the server has no
/// `my_message` (the caller then only makes the row NULL and logs the message).
pub fn raise_error(errno: u32, text: &str) -> bool {
    send(errno, text, 0)
}

/// Fails the current statement with the server's error for its kill: MariaDB's own (the number
/// and text of `KILL QUERY` or `max_statement_time`), else 1317 `ER_QUERY_INTERRUPTED`.
pub fn raise_kill() {
    let s = symbols();
    if let (Some(current), Some(errno_of), Some(my_error)) = (s.current_thd, s.killed_errno, s.my_error) {
        // SAFETY: on the server thread of the statement (its own stack): `_current_thd` reads the
        // thread's THD; `killed_errno` reads its kill state; `my_error` formats the server's
        // message for that number (kill messages take no arguments) into the diagnostics area.
        unsafe {
            let thd = current();
            if !thd.is_null() {
                let errno = errno_of(thd);
                if errno > 0 {
                    my_error(errno as c_uint, 0);
                    return;
                }
            }
        }
    }
    raise_error(crate::error::ER_QUERY_INTERRUPTED, "Query execution was interrupted");
}

/// Adds a warning to the current statement (MariaDB; MySQL's `my_message` has no warning flag,
/// so there the text only goes to the error log). Returns whether it was sent.
pub fn warn(errno: u32, text: &str) -> bool {
    if !is_mariadb() {
        return false;
    }
    send(errno, text, ME_WARNING)
}

fn send(errno: u32, text: &str, flags: c_ulong) -> bool {
    let Some(f) = symbols().my_message else { return false };
    // Interior NULs cannot be sent; they never occur in the host layer's messages.
    let c = CString::new(text.replace('\0', " ")).unwrap_or_default();
    // SAFETY: `my_message` copies the text into the statement's diagnostics area; called on the
    // server thread that runs the statement (the thread's own stack, never the call stack of
    // `crate::stack`).
    unsafe { f(errno, c.as_ptr(), flags) };
    true
}

/// Writes a line to the server's error log (the server sends a plugin's stderr there).
pub fn log(text: &str) {
    eprintln!("[scorekit] {text}");
}

/// The path of this library, and makes it impossible to unload (`RTLD_NODELETE`): threads the
/// plugin started keep running its code after the last `DROP FUNCTION`. Returns None when the
/// path cannot be found (a test binary, not a loaded library).
pub fn pin_library() -> Option<PathBuf> {
    static PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
    PATH.get_or_init(|| {
        // SAFETY: dladdr fills `info` for an address inside a loaded object; the file name it
        // returns stays valid while the object is loaded (for ever, after the dlopen below).
        unsafe {
            let mut info: libc::Dl_info = std::mem::zeroed();
            if libc::dladdr(pin_library as *const c_void, &mut info) == 0 || info.dli_fname.is_null() {
                return None;
            }
            let name = CStr::from_ptr(info.dli_fname);
            // RTLD_NOLOAD: take one more reference to the loaded object; NODELETE: never unmap it.
            let handle = libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD | libc::RTLD_NODELETE);
            if handle.is_null() {
                log("could not pin the library in memory (dlopen RTLD_NODELETE failed): do not DROP every scorekit function while a statement uses one");
            }
            let path = PathBuf::from(name.to_string_lossy().into_owned());
            path.is_absolute().then_some(path)
        }
    })
    .clone()
}
