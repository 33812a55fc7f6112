//! UDF arguments → the host layer's [`Value`]s. This is the plugin's only conversion: what a value
//! *becomes* for a model (NULL, numbers as categories, text as numbers) is decided by
//! `scorekit_host::BatchBuilder`, the same rules as every other host.
//!
//! | MySQL passes | `Value` |
//! |---|---|
//! | NULL (any type) | `Null` |
//! | `INT_RESULT` (integer types) | `Int` |
//! | `REAL_RESULT` (`DOUBLE`, `FLOAT`) | `Float` |
//! | `STRING_RESULT` (`VARCHAR`, `TEXT`, temporal types as text, JSON) | `Text` (must be UTF-8) |
//! | `DECIMAL_RESULT` (`DECIMAL`, numeric literals with a point) | `Text` of its digits |
//!
//! Arguments are numbered from 1 in messages, as SQL writes them.

use scorekit_host::{HostError, HostResult, Value};
use udf::prelude::*;

/// The value of one argument.
///
/// # Errors
/// [`scorekit_host::Code::BadInput`] for text that is not UTF-8, naming argument `number`.
pub fn value<'a>(v: &SqlResult<'a>, number: usize) -> HostResult<Value<'a>> {
    Ok(match *v {
        SqlResult::String(None) | SqlResult::Real(None) | SqlResult::Int(None) | SqlResult::Decimal(None) => {
            Value::Null
        }
        SqlResult::Int(Some(i)) => Value::Int(i),
        SqlResult::Real(Some(x)) => Value::Float(x),
        SqlResult::Decimal(Some(d)) => Value::Text(d),
        SqlResult::String(Some(b)) => Value::Text(std::str::from_utf8(b).map_err(|_| {
            HostError::bad_input(format!(
                "argument {number}: the text is not UTF-8 (convert it: CONVERT(x USING utf8mb4))"
            ))
        })?),
        _ => {
            return Err(HostError::bad_input(format!(
                "argument {number}: a value of a type the plugin does not read"
            )))
        }
    })
}

/// The values of arguments `from..` (inputs), numbered in messages as SQL writes them.
///
/// # Errors
/// As [`value`].
pub fn values<'a>(args: &'a ArgList<'a, Process>, from: usize) -> HostResult<Vec<Value<'a>>> {
    (from..args.len())
        .map(|i| value(&args.get(i).map(|a| a.value()).unwrap_or(SqlResult::Int(None)), i + 1))
        .collect()
}

/// The text of argument `i` (0-based) at row time; `what` names it in messages.
///
/// # Errors
/// [`scorekit_host::Code::BadInput`] when it is NULL or not text.
pub fn text<'a>(args: &'a ArgList<'a, Process>, i: usize, what: &str) -> HostResult<&'a str> {
    let v = args.get(i).map(|a| a.value()).unwrap_or(SqlResult::String(None));
    match value(&v, i + 1)? {
        Value::Text(t) => Ok(t),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
            Err(HostError::bad_input(format!("argument {} ({what}) must be text", i + 1)))
        }
        Value::Null => Err(HostError::bad_input(format!("argument {} ({what}) is NULL", i + 1))),
    }
}

/// What a function's argument must be at `_init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// A constant string (a model reference, a JSON configuration).
    ConstText,
    /// A constant number.
    ConstNumber,
    /// A string (any expression).
    Text,
    /// A string or an integer (a stream key).
    Key,
    /// Anything the host layer reads (a model input).
    Any,
}

/// Checks argument `i` (0-based) at `_init` against `want`; `what` names it.
///
/// # Errors
/// [`scorekit_host::Code::BadInput`] naming the argument.
pub fn check(args: &ArgList<'_, Init>, i: usize, what: &str, want: Want) -> HostResult<()> {
    let Some(a) = args.get(i) else {
        return Err(HostError::bad_input(format!("argument {} ({what}) is missing", i + 1)));
    };
    let v = a.value();
    let ok = match want {
        Want::ConstText => v.is_string() && a.is_const(),
        Want::ConstNumber => (v.is_int() || v.is_real() || v.is_decimal()) && a.is_const(),
        Want::Text => v.is_string(),
        Want::Key => v.is_string() || v.is_int(),
        Want::Any => true,
    };
    if ok {
        return Ok(());
    }
    let need = match want {
        Want::ConstText => "a constant string (its value must be known before the first row)",
        Want::ConstNumber => "a constant number",
        Want::Text => "a string",
        Want::Key => "a string or an integer",
        Want::Any => "a value",
    };
    Err(HostError::bad_input(format!(
        "argument {} ({what}) must be {need}, got {}",
        i + 1,
        describe(&v, a.is_const())
    )))
}

fn describe(v: &SqlResult<'_>, constant: bool) -> String {
    let kind = match v {
        SqlResult::String(_) => "a string",
        SqlResult::Real(_) => "a real number",
        SqlResult::Int(_) => "an integer",
        SqlResult::Decimal(_) => "a decimal",
        _ => "a value",
    };
    if constant {
        format!("the constant {kind}")
    } else {
        format!("{kind} expression")
    }
}

/// The constant text of argument `i` at `_init`.
///
/// # Errors
/// [`scorekit_host::Code::BadInput`] naming the argument (not UTF-8).
pub fn const_text(args: &ArgList<'_, Init>, i: usize, what: &str) -> HostResult<String> {
    check(args, i, what, Want::ConstText)?;
    match args.get(i).map(|a| a.value()) {
        Some(SqlResult::String(Some(b))) => std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| HostError::bad_input(format!("argument {} ({what}) is not UTF-8 text", i + 1))),
        _ => Err(HostError::bad_input(format!("argument {} ({what}) must be a constant string", i + 1))),
    }
}

/// The constant number of argument `i` at `_init`.
///
/// # Errors
/// [`scorekit_host::Code::BadInput`] naming the argument.
pub fn const_number(args: &ArgList<'_, Init>, i: usize, what: &str) -> HostResult<f64> {
    check(args, i, what, Want::ConstNumber)?;
    let bad = || HostError::bad_input(format!("argument {} ({what}) must be a constant number", i + 1));
    match args.get(i).map(|a| a.value()) {
        Some(SqlResult::Int(Some(n))) => Ok(n as f64),
        Some(SqlResult::Real(Some(x))) => Ok(x),
        Some(SqlResult::Decimal(Some(d))) => d.trim().parse::<f64>().map_err(|_| bad()),
        _ => Err(bad()),
    }
}
