//! Per-backend call statistics behind the `scorekit.stats` view. Counters live in the session
//! (no shared memory, so the extension needs no `shared_preload_libraries`); the view shows the
//! current session's calls. `scorekit.remote_stats()` shows the policy file's counters (local and
//! remote calls, fallbacks, breaker, shadow agreement), which the host layer keeps per loaded
//! policy file: in this extension, per session, from the moment the session read the file.

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

/// The policy file's models and what this session counted for each (`scorekit.remote_stats()`
/// reads it as rows).
#[pg_extern(volatile, parallel_restricted)]
fn remote_stats_json() -> pgrx::JsonB {
    pgrx::JsonB(crate::policy::report_json())
}

extension_sql!(
    r#"
CREATE FUNCTION remote_stats() RETURNS TABLE (
    model text, policy text, endpoint text,
    local_calls bigint, local_failures bigint, remote_calls bigint, remote_failures bigint,
    remote_requests bigint, fallbacks bigint, breaker text,
    shadow_calls bigint, shadow_agreed bigint, shadow_disagreed bigint, shadow_rows_disagreed bigint,
    shadow_errors bigint, shadow_skipped bigint)
    LANGUAGE sql VOLATILE PARALLEL RESTRICTED
    AS $$ SELECT * FROM jsonb_to_recordset(@extschema@.remote_stats_json()) AS r(
        model text, policy text, endpoint text,
        local_calls bigint, local_failures bigint, remote_calls bigint, remote_failures bigint,
        remote_requests bigint, fallbacks bigint, breaker text,
        shadow_calls bigint, shadow_agreed bigint, shadow_disagreed bigint, shadow_rows_disagreed bigint,
        shadow_errors bigint, shadow_skipped bigint) $$;
COMMENT ON FUNCTION remote_stats() IS
    'Each model of scorekit.policy_file: policy, endpoint, and what this session counted since it read the file (local/remote calls, fallbacks, breaker state, shadow agreement).';
"#,
    name = "remote_stats",
    requires = [remote_stats_json]
);
