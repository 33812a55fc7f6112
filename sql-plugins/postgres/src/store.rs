//! Models stored in the database (so they are backed up and replicated with the data): loading,
//! deploying and rolling back. Writes need membership in `scorekit_admin` (or superuser); the
//! tables are readable by everyone so that scoring works for any role with EXECUTE.

use std::cell::Cell as StdCell;

use pgrx::pg_sys;
use pgrx::prelude::*;

use scorekit_host::{Code, HostError, ModuleLoader};

use crate::engine::{self, pinned_hash};
use crate::error::{OrRaise, raise, report, user_error};

/// The role whose members may load, deploy and roll back models.
pub const ADMIN_ROLE: &str = "scorekit_admin";

fn require_admin(what: &str) {
    // SAFETY: plain catalog lookups on the current user, in a transaction.
    let ok = unsafe {
        if pg_sys::superuser() {
            true
        } else {
            let role = pg_sys::get_role_oid(c"scorekit_admin".as_ptr(), true);
            role != pg_sys::InvalidOid && pg_sys::has_privs_of_role(pg_sys::GetUserId(), role)
        }
    };
    if !ok {
        report(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("scorekit: {what} requires membership in role {ADMIN_ROLE}"),
            None,
            Some("GRANT scorekit_admin TO <role>;"),
        );
    }
}

fn check_name(name: &str) {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !ok {
        user_error(format!(
            "model name '{name}' must be 1-63 characters of letters, digits, '_', '-' or '.' ('@' and 'sha256:' are reserved for references)"
        ));
    }
}

thread_local! {
    static ALIASES_OID: StdCell<pg_sys::Oid> = const { StdCell::new(pg_sys::InvalidOid) };
}

fn aliases_oid() -> pg_sys::Oid {
    let cached = ALIASES_OID.with(StdCell::get);
    if cached != pg_sys::InvalidOid {
        return cached;
    }
    let oid = Spi::get_one::<pg_sys::Oid>("SELECT 'scorekit.aliases'::regclass::oid")
        .ok()
        .flatten()
        .unwrap_or(pg_sys::InvalidOid);
    ALIASES_OID.with(|c| c.set(oid));
    oid
}

/// Relcache callback: a change to `scorekit.aliases` (or a full reset) clears alias resolutions.
#[pg_guard]
unsafe extern "C-unwind" fn relcache_changed(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    let known = ALIASES_OID.with(StdCell::get);
    if relid == pg_sys::InvalidOid || known == pg_sys::InvalidOid || relid == known {
        engine::invalidate_aliases();
    }
}

/// Registers [`relcache_changed`]; called from `_PG_init`.
pub fn register_invalidation() {
    // SAFETY: registering a callback is allowed at library load; the function lives as long as the
    // library (never unloaded).
    unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(relcache_changed), pg_sys::Datum::from(0)) };
}

/// Queues a relcache invalidation of `scorekit.aliases`: at commit every backend drops its alias
/// resolutions, so the next call sees the new deployment.
#[pg_extern(volatile, parallel_unsafe)]
fn invalidate_alias_cache() {
    let oid = aliases_oid();
    if oid != pg_sys::InvalidOid {
        // SAFETY: a valid relation OID inside a transaction.
        unsafe { pg_sys::CacheInvalidateRelcacheByRelid(oid) };
    }
}

fn store(
    name: &str,
    bytes: &[u8],
    expected_sha256: Option<&str>,
    deploy: bool,
) -> (String, i32, String, bool) {
    require_admin("load_model");
    check_name(name);
    let expected = expected_sha256.map(|h| {
        scorekit_host::parse_sha256_hex(h.trim_start_matches("sha256:"))
            .unwrap_or_else(|| user_error(format!("expected_sha256 '{h}' is not 64 hex digits")))
    });
    // Loading verifies everything: hash pin, valid Wasm, imports nothing, ABI version, exports,
    // description; and it warms the on-disk compile cache for every backend.
    let scorer = engine::loader().load(bytes, expected).or_raise(name);
    let info = scorer.info();
    let sha = info.sha256.clone();
    let schema = serde_json::to_string(info.schema()).unwrap_or_default();
    let metrics = serde_json::to_string(&info.description.metrics).unwrap_or_else(|_| "[]".into());
    let family = info.description.family.as_str();
    let existing = Spi::get_two_with_args::<String, i32>(
        "SELECT name, version FROM scorekit.modules WHERE sha256 = $1",
        &[sha.as_str().into()],
    );
    let version = match existing {
        Ok((Some(n), Some(v))) if n == name => v,
        Ok((Some(n), Some(v))) => user_error(format!(
            "this module (sha256:{sha}) is already loaded as '{n}' version {v}; deploy it under another alias with scorekit.deploy"
        )),
        _ => {
            let v = Spi::get_one_with_args::<i32>(
                "INSERT INTO scorekit.modules (name, version, sha256, family, bytes, schema, metrics)
                 SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5::jsonb, $6::jsonb
                 FROM scorekit.modules WHERE name = $1
                 RETURNING version",
                &[
                    name.into(),
                    sha.as_str().into(),
                    family.into(),
                    bytes.into(),
                    schema.into(),
                    metrics.into(),
                ],
            );
            v.ok().flatten().unwrap_or_else(|| user_error("could not store the module"))
        }
    };
    if deploy {
        set_alias(name, &sha);
    }
    (name.to_string(), version, sha, deploy)
}

fn set_alias(name: &str, sha: &str) {
    Spi::run_with_args(
        "INSERT INTO scorekit.aliases AS a (name, sha256) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET
             history = CASE WHEN a.sha256 = EXCLUDED.sha256 THEN a.history ELSE a.history || a.sha256 END,
             sha256 = EXCLUDED.sha256, deployed_at = now(), deployed_by = current_user",
        &[name.into(), sha.into()],
    )
    .unwrap_or_else(|e| user_error(format!("deploying '{name}': {e}")));
    invalidate_alias_cache();
}

/// Verifies `module` (a `.wasm` built by `host compile`) and stores it as the next version of
/// `name`; by default also deploys it (points the alias `name` at it). Idempotent: loading the
/// same bytes again returns the existing version. `expected_sha256` pins the bytes.
#[pg_extern(volatile, parallel_unsafe)]
fn load_model(
    name: &str,
    module: &[u8],
    expected_sha256: default!(Option<&str>, "NULL"),
    deploy: default!(bool, true),
) -> TableIterator<
    'static,
    (name!(name, String), name!(version, i32), name!(sha256, String), name!(deployed, bool)),
> {
    TableIterator::once(store(name, module, expected_sha256, deploy))
}

/// As `load_model`, reading the module from a file on the database server. Superuser only
/// (it reads any file the server can).
#[pg_extern(volatile, parallel_unsafe)]
fn load_model_file(
    name: &str,
    path: &str,
    expected_sha256: default!(Option<&str>, "NULL"),
    deploy: default!(bool, true),
) -> TableIterator<
    'static,
    (name!(name, String), name!(version, i32), name!(sha256, String), name!(deployed, bool)),
> {
    // SAFETY: catalog lookup on the current user.
    if !unsafe { pg_sys::superuser() } {
        report(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "scorekit: load_model_file requires superuser (use load_model with bytes otherwise)".into(),
            None,
            None,
        );
    }
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| raise("", HostError::new(Code::Storage, format!("reading '{path}': {e}"))));
    TableIterator::once(store(name, &bytes, expected_sha256, deploy))
}

/// Points alias `name` at a loaded module: `version_or_hash` is a version number of `name` or
/// `sha256:<hex>` of any loaded module. Every backend sees the change from its next statement
/// after commit. Returns the deployed hash.
#[pg_extern(volatile, parallel_unsafe)]
fn deploy(name: &str, version_or_hash: &str) -> String {
    require_admin("deploy");
    check_name(name);
    let sha = if let Some(hex) = pinned_hash(version_or_hash) {
        let hex = hex.to_ascii_lowercase();
        let found = Spi::get_one_with_args::<String>(
            "SELECT sha256 FROM scorekit.modules WHERE sha256 = $1",
            &[hex.as_str().into()],
        );
        match found {
            Ok(Some(s)) => s,
            _ => user_error(format!("no loaded module has SHA-256 {hex}")),
        }
    } else {
        let v: i32 = version_or_hash.trim().parse().unwrap_or_else(|_| {
            user_error(format!(
                "version_or_hash '{version_or_hash}' is neither a version number nor sha256:<64 hex>"
            ))
        });
        let found = Spi::get_one_with_args::<String>(
            "SELECT sha256 FROM scorekit.modules WHERE name = $1 AND version = $2",
            &[name.into(), v.into()],
        );
        match found {
            Ok(Some(s)) => s,
            _ => user_error(format!("model '{name}' has no version {v}")),
        }
    };
    set_alias(name, &sha);
    sha
}

/// Points alias `name` back at the module it pointed to before the last deploy. Returns the
/// hash now deployed.
#[pg_extern(volatile, parallel_unsafe)]
fn rollback(name: &str) -> String {
    require_admin("rollback");
    let prev = Spi::get_one_with_args::<String>(
        "UPDATE scorekit.aliases SET sha256 = history[cardinality(history)],
                history = history[1:cardinality(history) - 1], deployed_at = now(), deployed_by = current_user
         WHERE name = $1 AND cardinality(history) > 0
         RETURNING sha256",
        &[name.into()],
    );
    match prev {
        Ok(Some(s)) => {
            invalidate_alias_cache();
            s
        }
        _ => user_error(format!("model '{name}' has no earlier deployment to roll back to")),
    }
}
