//! Settings (`SET scorekit.…`). Limits are read on every call, so a `SET` takes effect on the next
//! call of the session; a change rebuilds the session's engine (see [`crate::engine`]).

use std::ffi::CString;

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting, PostgresGucEnum};

/// What a NULL model input becomes (`scorekit.null_inputs`).
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum NullInputs {
    /// An `ERROR` naming the input: a NULL that slipped through a join is a bug, not data.
    #[name = c"error"]
    Error,
    /// A missing value, as an empty CSV field is for `host score`: GBT models route it the
    /// way they learned in training.
    #[name = c"missing"]
    Missing,
}

/// `scorekit.deadline_ms`: longest one call into a module may run.
pub static DEADLINE_MS: GucSetting<i32> = GucSetting::<i32>::new(1000);
/// `scorekit.memory_limit_mb`: largest linear memory of one module instance.
pub static MEMORY_LIMIT_MB: GucSetting<i32> = GucSetting::<i32>::new(256);
/// `scorekit.batch_size`: rows per module call on the batch paths.
pub static BATCH_SIZE: GucSetting<i32> = GucSetting::<i32>::new(1024);
/// `scorekit.null_inputs`: whether a NULL input is an error or a missing value.
pub static NULL_INPUTS: GucSetting<NullInputs> = GucSetting::<NullInputs>::new(NullInputs::Error);
/// `scorekit.cache_dir`: compiled-code cache; empty disables it; relative paths are under PGDATA.
pub static CACHE_DIR: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"scorekit_cache"));

/// Registers the settings; called once per backend from `_PG_init`.
pub fn register() {
    GucRegistry::define_int_guc(
        c"scorekit.deadline_ms",
        c"Longest time one scorekit model call may run, in milliseconds.",
        c"A call that runs longer is stopped and raises an ERROR; query cancel is noticed at the latest then.",
        &DEADLINE_MS,
        1,
        600_000,
        GucContext::Userset,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"scorekit.memory_limit_mb",
        c"Largest linear memory of one scorekit model instance, in MiB.",
        c"A module that grows past it is stopped and raises an ERROR.",
        &MEMORY_LIMIT_MB,
        1,
        4096,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"scorekit.batch_size",
        c"Rows per module call on the batch paths (score_query, score_rows).",
        c"",
        &BATCH_SIZE,
        1,
        1_000_000,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"scorekit.null_inputs",
        c"What a NULL model input is: an ERROR naming it ('error'), or a missing value ('missing').",
        c"GBT models learn where missing values go; set 'missing' when NULL means 'not known'.",
        &NULL_INPUTS,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"scorekit.cache_dir",
        c"Directory of the on-disk cache of compiled model code (relative to the data directory).",
        c"Empty disables the cache. Only the server's OS user must be able to write it: its code is executed.",
        &CACHE_DIR,
        GucContext::Sighup,
        GucFlags::default(),
    );
}
