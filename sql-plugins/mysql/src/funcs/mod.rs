//! The loadable functions. Each is a struct made by its `_init` (per statement, or per call of a
//! stored function) holding what its rows need — the model, the policy, reusable buffers — and
//! dropped by `_deinit`; the `udf` crate generates the C entry points.
//!
//! Every callback marks its thread as a server thread ([`crate::server::enter`]), does its work
//! on the call stack ([`crate::stack`]) with panics caught, and reports a failure afterwards, on
//! the server's stack: `_init` through its error message, a row through [`crate::error::raise`]
//! (once per statement: later rows are not called).

pub(crate) mod anomaly;
pub(crate) mod codegen;
pub(crate) mod explain;
pub(crate) mod forecast;
pub(crate) mod info;
pub(crate) mod score;

use std::sync::Arc;

use scorekit_host::cells::input_names;
use scorekit_host::formats::json;
use scorekit_host::{BatchBuilder, Code, HostError, HostResult, InputPolicy, Rows, Value};
use serde_json::Value as Json;
use udf::prelude::*;

use crate::args;
use crate::error;
use crate::models::Loaded;
use crate::plugin::{self, Plugin};
use crate::server;
use crate::stack;

/// `decimals` of a REAL result that prints every digit (`NOT_FIXED_DEC` of the UDF ABI): without
/// it the server rounds a score to the most decimals of any argument.
pub const ALL_DECIMALS: u32 = 31;

/// Runs a callback's work: on the call stack, a panic as an error.
pub fn run<T>(f: impl FnOnce() -> HostResult<T>) -> HostResult<T> {
    server::enter();
    match stack::run(f) {
        Ok(r) => r,
        Err(panic) => {
            Err(HostError::new(Code::ModuleFailed, format!("internal error (please report): {panic}")))
        }
    }
}

/// The end of every `_init`: a failure is reported in full with its kind's error number (the
/// server's own `ER_CANT_INITIALIZE_UDF` cuts the ABI's message at 80 characters, and a
/// statement keeps its first error), and returned for the ABI.
pub fn init_done<T>(r: HostResult<T>) -> Result<T, String> {
    r.map_err(|e| {
        let text = error::text("", &e);
        error::raise_init(&e, &text);
        text
    })
}

/// A model bound at `_init`: the reference as written, the model, the input policy.
#[derive(Debug, Clone)]
pub struct Bound {
    /// The reference as the statement wrote it (for messages).
    pub reference: String,
    /// The model.
    pub loaded: Arc<Loaded>,
    /// The input policy.
    pub policy: InputPolicy,
    /// Rows this statement has called the function on so far: the next row's number in
    /// messages is this plus one.
    pub calls: usize,
}

impl Bound {
    /// The row base of the next call (and counts it).
    pub fn next_row(&mut self) -> usize {
        self.calls += 1;
        self.calls - 1
    }

    /// `e` about this model.
    pub fn error(&self, e: HostError) -> HostError {
        e.context(format!("model '{}'", self.reference))
    }
}

/// Resolves the constant model reference at argument `i` (compiling the module on the call stack
/// the first time).
pub fn bind(args: &ArgList<'_, Init>, i: usize) -> HostResult<(Bound, &'static Plugin)> {
    let reference = args::const_text(args, i, "model")?;
    run(|| {
        let p = plugin::get()?;
        let loaded = p.models.resolve(&reference).map_err(|e| e.context(format!("model '{reference}'")))?;
        Ok((Bound { reference: reference.clone(), loaded, policy: p.settings.policy, calls: 0 }, p))
    })
}

/// Checks that arguments `first..` are one per model input.
pub fn check_inputs(b: &Bound, args: &ArgList<'_, Init>, first: usize) -> HostResult<()> {
    let schema = b.loaded.schema();
    let got = args.len().saturating_sub(first);
    if got != schema.inputs.len() {
        return Err(b.error(HostError::bad_input(format!(
            "takes {} inputs from argument {} on ({}), got {got} argument{}",
            schema.inputs.len(),
            first + 1,
            input_names(schema),
            if got == 1 { "" } else { "s" }
        ))));
    }
    Ok(())
}

/// Checks the number of arguments of a function with a fixed form.
pub fn check_count(
    args: &ArgList<'_, Init>,
    form: &str,
    counts: std::ops::RangeInclusive<usize>,
) -> HostResult<()> {
    if counts.contains(&args.len()) {
        return Ok(());
    }
    let takes = if counts.start() == counts.end() {
        format!("{}", counts.start())
    } else {
        format!("{} to {}", counts.start(), counts.end())
    };
    Err(HostError::bad_input(format!("{form} takes {takes} arguments, got {}", args.len())))
}

/// One row from positional input arguments `first..`, numbered `row_base + 1` in messages.
pub fn positional_row(
    b: &Bound,
    args: &ArgList<'_, Process>,
    first: usize,
    row_base: usize,
) -> HostResult<Rows> {
    let values: Vec<Value<'_>> = args::values(args, first)?;
    let mut builder = BatchBuilder::for_model(b.loaded.scorer.info(), b.policy).with_row_base(row_base)?;
    builder.push_positional(&values)?;
    Ok(builder.finish())
}

/// The rows of a JSON document (one row or many, any shape the host layer reads), numbered from
/// `row_base + 1` in messages.
pub fn json_rows(b: &Bound, doc: &str, row_base: usize) -> HostResult<Rows> {
    let doc = json::parse(doc.as_bytes())?;
    let mut builder = BatchBuilder::for_model(b.loaded.scorer.info(), b.policy).with_row_base(row_base)?;
    json::push_document(&mut builder, &doc, true)?;
    Ok(builder.finish())
}

/// A constant JSON object of options at argument `i` (absent: empty), its keys checked against
/// `known`.
pub fn options(
    args: &ArgList<'_, Init>,
    i: usize,
    known: &[&str],
) -> HostResult<serde_json::Map<String, Json>> {
    if args.len() <= i {
        return Ok(serde_json::Map::new());
    }
    let text = args::const_text(args, i, "options")?;
    let bad = |m: String| HostError::bad_input(format!("argument {} (options): {m}", i + 1));
    let Json::Object(o) =
        serde_json::from_str::<Json>(&text).map_err(|e| bad(format!("malformed JSON: {e}")))?
    else {
        return Err(bad("must be a JSON object".into()));
    };
    if let Some(k) = o.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(bad(format!("unknown option '{k}' (options: {})", known.join(", "))));
    }
    Ok(o)
}

/// The input policy of `options` (`null_inputs`, `absent_inputs`) over `default`.
pub fn policy(o: &serde_json::Map<String, Json>, default: InputPolicy, i: usize) -> HostResult<InputPolicy> {
    let bad = |m: String| HostError::bad_input(format!("argument {} (options): {m}", i + 1));
    let word = |k: &str| -> HostResult<Option<&str>> {
        match o.get(k) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(other) => Err(bad(format!("'{k}' must be a string, got {other}"))),
        }
    };
    let mut p = default;
    if let Some(w) = word("null_inputs")? {
        p.nulls = scorekit_host::NullInputs::parse(w).map_err(bad)?;
    }
    if let Some(w) = word("absent_inputs")? {
        p.absent = scorekit_host::AbsentInputs::parse(w).map_err(bad)?;
    }
    Ok(p)
}

/// Failure state of a statement: the first error is raised, later rows only return NULL.
#[derive(Debug, Default)]
pub struct Failed(Option<String>);

impl Failed {
    /// Raises `e` about `model` (the first time) and gives the NULL-with-error answer.
    pub fn fail(&mut self, model: &str, e: &HostError) -> ProcessError {
        if self.0.is_none() {
            self.0 = Some(error::text(model, e));
            error::raise(model, e);
        }
        ProcessError
    }

    /// The text of the error raised, if any.
    pub fn message(&self) -> Option<&str> {
        self.0.as_deref()
    }
}
