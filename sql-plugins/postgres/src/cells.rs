//! SQL datums → the host layer's [`Value`]s. This is the extension's only conversion: what a
//! value *becomes* for a model (booleans, numbers as categories, NULL, absent keys) is decided by
//! `scorekit_host::BatchBuilder`, the same rules as every other host.
//!
//! | SQL type | `Value` |
//! |---|---|
//! | NULL | `Null` |
//! | `bool` | `Bool` |
//! | `int2`, `int4`, `int8` | `Int` |
//! | `float4`, `float8` | `Float` |
//! | `text`, `varchar`, `bpchar`, `unknown`, `cstring` | `Text` |
//! | `numeric` and any other type | `Text` of its output function (`12.50`, `2014-01-01`, …) |

use pgrx::pg_sys;
use pgrx::prelude::*;
use scorekit_host::Value;

/// A [`Value`] that may own its text (printed by a type's output function).
pub enum Datum<'a> {
    /// A value that borrows at most the datum's own text.
    Plain(Value<'a>),
    /// Text produced for this value.
    Owned(String),
}

impl Datum<'_> {
    /// The host value.
    pub fn value(&self) -> Value<'_> {
        match self {
            Datum::Plain(v) => *v,
            Datum::Owned(s) => Value::Text(s),
        }
    }
}

/// Converts one datum of type `typoid` (`None`: SQL NULL).
///
/// # Safety
/// `datum` must be a valid datum of type `typoid` that outlives the returned value.
pub unsafe fn from_datum<'a>(datum: Option<pg_sys::Datum>, typoid: pg_sys::Oid) -> Datum<'a> {
    use pg_sys::BuiltinOid::*;
    let Some(datum) = datum else { return Datum::Plain(Value::Null) };
    // SAFETY: the caller guarantees the datum's type; each arm reads it as that type.
    unsafe {
        let v = match pg_sys::BuiltinOid::try_from(typoid) {
            Ok(FLOAT8OID) => Value::Float(f64::from_datum(datum, false).unwrap_or(f64::NAN)),
            Ok(FLOAT4OID) => Value::Float(f64::from(f32::from_datum(datum, false).unwrap_or(f32::NAN))),
            Ok(INT2OID) => Value::Int(i64::from(i16::from_datum(datum, false).unwrap_or(0))),
            Ok(INT4OID) => Value::Int(i64::from(i32::from_datum(datum, false).unwrap_or(0))),
            Ok(INT8OID) => Value::Int(i64::from_datum(datum, false).unwrap_or(0)),
            Ok(BOOLOID) => Value::Bool(bool::from_datum(datum, false).unwrap_or(false)),
            Ok(TEXTOID) | Ok(VARCHAROID) | Ok(BPCHAROID) => {
                Value::Text(<&str>::from_datum(datum, false).unwrap_or(""))
            }
            Ok(UNKNOWNOID) | Ok(CSTRINGOID) => {
                let c = std::ffi::CStr::from_ptr(datum.cast_mut_ptr::<std::ffi::c_char>());
                match c.to_str() {
                    Ok(s) => Value::Text(s),
                    Err(_) => return Datum::Owned(c.to_string_lossy().into_owned()),
                }
            }
            _ => return Datum::Owned(output_text(datum, typoid)),
        };
        Datum::Plain(v)
    }
}

/// The text of `datum` by its type's output function.
///
/// # Safety
/// `datum` must be a valid, non-null datum of type `typoid`.
unsafe fn output_text(datum: pg_sys::Datum, typoid: pg_sys::Oid) -> String {
    // SAFETY: the caller guarantees the datum's type; the output function returns a palloc'd
    // NUL-terminated string, freed after copying.
    unsafe {
        let mut out_fn = pg_sys::InvalidOid;
        let mut varlena = false;
        pg_sys::getTypeOutputInfo(typoid, &mut out_fn, &mut varlena);
        let p = pg_sys::OidOutputFunctionCall(out_fn, datum);
        let s = std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
        pg_sys::pfree(p.cast());
        s
    }
}

/// The text of a non-null datum, as `::text` would print it.
///
/// # Safety
/// `datum` must be a valid, non-null datum of type `typoid`.
pub unsafe fn text(datum: pg_sys::Datum, typoid: pg_sys::Oid) -> String {
    // SAFETY: forwarded from the caller.
    match unsafe { from_datum(Some(datum), typoid) } {
        Datum::Owned(s) => s,
        Datum::Plain(Value::Text(s)) => s.to_string(),
        // SAFETY: forwarded from the caller.
        Datum::Plain(_) => unsafe { output_text(datum, typoid) },
    }
}
