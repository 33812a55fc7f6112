//! Per-backend call statistics behind the `scorekit.stats` view. Counters live in the session
//! (no shared memory, so the extension needs no `shared_preload_libraries`); the view shows the
//! current session's calls.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use pgrx::prelude::*;

#[derive(Default, Clone)]
struct Counters {
    sha256: String,
    calls: i64,
    rows: i64,
    errors: i64,
    nanos: u128,
}

thread_local! {
    static STATS: RefCell<BTreeMap<String, Counters>> = const { RefCell::new(BTreeMap::new()) };
}

/// Records one module call.
pub fn record(model: &str, sha256: &str, rows: usize, took: Duration, failed: bool) {
    STATS.with(|s| {
        let mut s = s.borrow_mut();
        let c = s.entry(model.to_string()).or_default();
        if c.sha256 != sha256 {
            c.sha256 = sha256.to_string();
        }
        c.calls += 1;
        c.rows += rows as i64;
        c.errors += i64::from(failed);
        c.nanos += took.as_nanos();
    });
}

/// This session's counters per model: calls into the module, rows scored, failed calls, and
/// time spent inside module calls.
#[pg_extern(volatile, parallel_restricted)]
fn session_stats() -> TableIterator<
    'static,
    (
        name!(model, String),
        name!(sha256, String),
        name!(calls, i64),
        name!(rows, i64),
        name!(errors, i64),
        name!(total_ms, f64),
    ),
> {
    let rows: Vec<_> = STATS.with(|s| {
        s.borrow()
            .iter()
            .map(|(m, c)| (m.clone(), c.sha256.clone(), c.calls, c.rows, c.errors, c.nanos as f64 / 1e6))
            .collect()
    });
    TableIterator::new(rows)
}

/// Clears this session's counters.
#[pg_extern(volatile)]
fn reset_stats() {
    STATS.with(|s| s.borrow_mut().clear());
}
