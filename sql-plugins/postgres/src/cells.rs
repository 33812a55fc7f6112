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
    // SAFETY: forwarded from the caller.
    unsafe { Reader::of(typoid).read(datum) }
}

/// How datums of one SQL type are read, chosen once per column (the batch path reads many rows
/// of the same columns; choosing per datum cost a type lookup each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    Float8,
    Float4,
    Int2,
    Int4,
    Int8,
    Bool,
    /// `text`, `varchar`, `bpchar`.
    Text,
    /// `unknown`, `cstring`: a NUL-terminated string.
    CString,
    /// Any other type: the text of its output function.
    Output(pg_sys::Oid),
}

impl Reader {
    /// The reader for datums of type `typoid`.
    pub fn of(typoid: pg_sys::Oid) -> Reader {
        use pg_sys::BuiltinOid::*;
        match pg_sys::BuiltinOid::try_from(typoid) {
            Ok(FLOAT8OID) => Reader::Float8,
            Ok(FLOAT4OID) => Reader::Float4,
            Ok(INT2OID) => Reader::Int2,
            Ok(INT4OID) => Reader::Int4,
            Ok(INT8OID) => Reader::Int8,
            Ok(BOOLOID) => Reader::Bool,
            Ok(TEXTOID) | Ok(VARCHAROID) | Ok(BPCHAROID) => Reader::Text,
            Ok(UNKNOWNOID) | Ok(CSTRINGOID) => Reader::CString,
            _ => Reader::Output(typoid),
        }
    }

    /// Converts one datum (`None`: SQL NULL).
    ///
    /// # Safety
    /// `datum` must be a valid datum of this reader's type that outlives the returned value.
    pub unsafe fn read<'a>(self, datum: Option<pg_sys::Datum>) -> Datum<'a> {
        let Some(datum) = datum else { return Datum::Plain(Value::Null) };
        // SAFETY: the caller guarantees the datum's type; each arm reads it as that type.
        unsafe {
            let v = match self {
                Reader::Float8 => Value::Float(f64::from_datum(datum, false).unwrap_or(f64::NAN)),
                Reader::Float4 => Value::Float(f64::from(f32::from_datum(datum, false).unwrap_or(f32::NAN))),
                Reader::Int2 => Value::Int(i64::from(i16::from_datum(datum, false).unwrap_or(0))),
                Reader::Int4 => Value::Int(i64::from(i32::from_datum(datum, false).unwrap_or(0))),
                Reader::Int8 => Value::Int(i64::from_datum(datum, false).unwrap_or(0)),
                Reader::Bool => Value::Bool(bool::from_datum(datum, false).unwrap_or(false)),
                Reader::Text => Value::Text(<&str>::from_datum(datum, false).unwrap_or("")),
                Reader::CString => {
                    let c = std::ffi::CStr::from_ptr(datum.cast_mut_ptr::<std::ffi::c_char>());
                    match c.to_str() {
                        Ok(s) => Value::Text(s),
                        Err(_) => return Datum::Owned(c.to_string_lossy().into_owned()),
                    }
                }
                Reader::Output(typoid) => return Datum::Owned(output_text(datum, typoid)),
            };
            Datum::Plain(v)
        }
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
