//! Settings (`SET scorekit.…`). Limits are read on every call, so a `SET` takes effect on the next
//! call of the session; a change rebuilds the session's engine (see [`crate::engine`]).
//!
//! The policies are the host layer's, with its defaults (the same in every host): each enum here
//! only spells the host layer's words for PostgreSQL's `SET` and maps to the host layer's type;
//! a `#[pg_test]` checks that every word means what the host layer's own parser says.

use std::ffi::CString;

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting, PostgresGucEnum};
use scorekit_host::streams::Redeploy;
use scorekit_host::{AbsentInputs, Gaps, InputPolicy, NullInputs};

/// `scorekit.null_inputs`: what a NULL model input becomes ([`NullInputs`]).
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum NullInputsGuc {
    /// A missing value (the host layer's default).
    #[name = c"missing"]
    Missing,
    /// An `ERROR` naming the row and the input.
    #[name = c"error"]
    Error,
}

/// `scorekit.absent_inputs`: what an input with no key/column becomes ([`AbsentInputs`]).
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum AbsentInputsGuc {
    /// An `ERROR` naming the input (the default: a misspelt column would score as missing).
    #[name = c"error"]
    Error,
    /// A NULL input (then `scorekit.null_inputs` applies).
    #[name = c"missing"]
    Missing,
}

/// `scorekit.on_redeploy`: what a stream's state does when its model changes ([`Redeploy`]).
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum RedeployGuc {
    /// Carried over for the same trained model; otherwise restart and archive (the default).
    #[name = c"same-model"]
    SameModel,
    /// Always carried over when the new model can take it.
    #[name = c"carry-over"]
    CarryOver,
    /// Always restart, archiving the old state.
    #[name = c"restart"]
    Restart,
}

/// `scorekit.forecast_gaps`: what a gap in a timestamped forecast history becomes ([`Gaps`]).
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum GapsGuc {
    /// Missing steps are inserted as missing values (the default).
    #[name = c"fill"]
    Fill,
    /// The history is refused, naming the gap.
    #[name = c"refuse"]
    Refuse,
}

/// `scorekit.deadline_ms`: longest one call into a module may run.
pub static DEADLINE_MS: GucSetting<i32> = GucSetting::<i32>::new(1000);
/// `scorekit.memory_limit_mb`: largest linear memory of one module instance.
pub static MEMORY_LIMIT_MB: GucSetting<i32> = GucSetting::<i32>::new(256);
/// `scorekit.batch_size`: rows per module call on the batch paths.
pub static BATCH_SIZE: GucSetting<i32> = GucSetting::<i32>::new(1024);
/// `scorekit.batch_calls`: whether plans batch scalar calls (`crate::batch`).
pub static BATCH_CALLS: GucSetting<bool> = GucSetting::<bool>::new(true);
/// `scorekit.null_inputs`.
pub static NULL_INPUTS: GucSetting<NullInputsGuc> = GucSetting::<NullInputsGuc>::new(NullInputsGuc::Missing);
/// `scorekit.absent_inputs`.
pub static ABSENT_INPUTS: GucSetting<AbsentInputsGuc> =
    GucSetting::<AbsentInputsGuc>::new(AbsentInputsGuc::Error);
/// `scorekit.on_redeploy`.
pub static ON_REDEPLOY: GucSetting<RedeployGuc> = GucSetting::<RedeployGuc>::new(RedeployGuc::SameModel);
/// `scorekit.forecast_gaps`.
pub static FORECAST_GAPS: GucSetting<GapsGuc> = GucSetting::<GapsGuc>::new(GapsGuc::Fill);
/// `scorekit.max_live_streams`: RCF streams a backend keeps in memory (each is a module instance).
pub static MAX_LIVE_STREAMS: GucSetting<i32> = GucSetting::<i32>::new(32);
/// `scorekit.max_loaded_modules`: modules a backend keeps loaded (code mapped, one idle instance).
pub static MAX_LOADED_MODULES: GucSetting<i32> = GucSetting::<i32>::new(16);
/// `scorekit.cache_dir`: compiled-code cache; empty disables it; relative paths are under PGDATA.
pub static CACHE_DIR: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"scorekit_cache"));

/// `scorekit.policy_file`: the policy file (remote endpoints per model); empty: every model is
/// local. Relative paths are under PGDATA.
pub static POLICY_FILE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// The input policy now in force.
pub fn input_policy() -> InputPolicy {
    InputPolicy {
        nulls: match NULL_INPUTS.get() {
            NullInputsGuc::Missing => NullInputs::Missing,
            NullInputsGuc::Error => NullInputs::Error,
        },
        absent: match ABSENT_INPUTS.get() {
            AbsentInputsGuc::Error => AbsentInputs::Error,
            AbsentInputsGuc::Missing => AbsentInputs::Missing,
        },
    }
}

/// The redeploy policy now in force.
pub fn redeploy() -> Redeploy {
    match ON_REDEPLOY.get() {
        RedeployGuc::SameModel => Redeploy::SameModelCarriesOver,
        RedeployGuc::CarryOver => Redeploy::CarryOver,
        RedeployGuc::Restart => Redeploy::Restart,
    }
}

/// The forecast gap rule now in force.
pub fn gaps() -> Gaps {
    match FORECAST_GAPS.get() {
        GapsGuc::Fill => Gaps::Fill,
        GapsGuc::Refuse => Gaps::Refuse,
    }
}

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
    GucRegistry::define_bool_guc(
        c"scorekit.batch_calls",
        c"Batch per-row calls of score_args (typed functions such as will_churn) and aws_sagemaker.invoke_endpoint into calls of scorekit.batch_size rows.",
        c"Read when a statement is planned: a plan made while it is on batches.",
        &BATCH_CALLS,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"scorekit.null_inputs",
        c"What a NULL model input is: a missing value ('missing', the default) or an ERROR naming it ('error').",
        c"The same rule and default as every scorekit host. GBT models learned where missing values go.",
        &NULL_INPUTS,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"scorekit.absent_inputs",
        c"What a model input with no key or column is: an ERROR naming it ('error', the default) or a NULL input ('missing').",
        c"Applies to jsonb objects, table rows and score_query columns; extra keys are always ignored.",
        &ABSENT_INPUTS,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"scorekit.on_redeploy",
        c"What an anomaly stream's state does when its model is redeployed: 'same-model' (default), 'carry-over' or 'restart'.",
        c"same-model carries the state over only to a module of the same trained model; otherwise the stream restarts and the old state is archived in scorekit.stream_state_archive.",
        &ON_REDEPLOY,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"scorekit.forecast_gaps",
        c"What a gap in a timestamped forecast history is: filled with missing values ('fill', the default) or refused ('refuse').",
        c"",
        &FORECAST_GAPS,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"scorekit.max_live_streams",
        c"Anomaly streams one backend keeps in memory; the least recently used is dropped beyond it.",
        c"Every stream's state is saved in scorekit.stream_state after each step, so dropping one loses nothing.",
        &MAX_LIVE_STREAMS,
        1,
        10_000,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"scorekit.max_loaded_modules",
        c"Modules one backend keeps loaded; the least recently used is dropped beyond it.",
        c"Each holds its compiled code, an idle instance and, when it came from the compile cache, an open file; a dropped module is loaded again (from the compile cache) when next used. A lowered bound applies at the next module load.",
        &MAX_LOADED_MODULES,
        1,
        10_000,
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
    GucRegistry::define_string_guc(
        c"scorekit.policy_file",
        c"Policy file saying which models a remote SageMaker endpoint answers (relative to the data directory); empty: all local.",
        c"The TOML file host serve reads (docs/sagemaker.md). Re-read when the setting, or the file's size or modification time, changes (checked once per statement). Superuser-set: the file names endpoints and credential profiles.",
        &POLICY_FILE,
        GucContext::Suset,
        GucFlags::default(),
    );
}
