//! Scoring and explaining from SQL: by argument list (what generated typed functions call), by
//! jsonb object or table row, by encoded `float8[]`, and the batch paths that send many rows per
//! module call (`score_rows`, `score_query`).

use std::cell::RefCell;

use pgrx::prelude::*;
use pgrx::{JsonB, pg_sys};
use scorekit_core::{Cell, FieldKind};
use scorekit_runtime::Rows;

use crate::cells::{self, Value};
use crate::engine::{self, Loaded};
use crate::error::user_error;
use crate::guc;

thread_local! {
    // Reused per call: the row path must not allocate a wire buffer per row.
    static ROWS: RefCell<Rows> = RefCell::new(Rows::default());
    static OUT: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Scores one row of cells; returns the first output (GBT: probability; RCF: score).
pub fn score_one(loaded: &Loaded, cells: &[Cell<'_>]) -> f64 {
    cells::check_arity(&loaded.name, loaded.schema(), cells.len());
    ROWS.with(|r| {
        let mut rows = r.borrow_mut();
        rows.set_cells(cells.len(), &[cells]).unwrap_or_else(|e| crate::error::raise(&loaded.name, e));
        OUT.with(|o| {
            let mut out = o.borrow_mut();
            out.clear();
            loaded.call(1, |m| m.score_into(&rows, &mut out));
            out.first().copied().unwrap_or(f64::NAN)
        })
    })
}

/// Scores many rows (each `arity` cells) in chunks of `scorekit.batch_size`; one output per row.
pub fn score_many(loaded: &Loaded, rows_cells: &[Vec<Cell<'_>>]) -> Vec<f64> {
    let n_out = loaded.schema().outputs.len().max(1);
    let mut scores = Vec::with_capacity(rows_cells.len());
    let chunk = guc::BATCH_SIZE.get().max(1) as usize;
    let mut out = Vec::new();
    for part in rows_cells.chunks(chunk) {
        pgrx::check_for_interrupts!();
        let rows = Rows::from_cells(loaded.schema().arity(), part)
            .unwrap_or_else(|e| crate::error::raise(&loaded.name, e));
        out.clear();
        loaded.call(part.len(), |m| m.score_into(&rows, &mut out));
        scores.extend(out.chunks(n_out).map(|r| r[0]));
    }
    scores
}

fn model_arg<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a str {
    // SAFETY: argument 0 is declared `text` in the SQL signature; the datum lives for the call.
    unsafe {
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 0) {
            user_error("the model argument is NULL");
        }
        pgrx::fcinfo::pg_getarg::<&str>(fcinfo, 0).unwrap_or_default()
    }
}

/// `scorekit.score_args(model text, VARIADIC "any")` / `score_args_pinned`: the entry point of
/// generated typed functions. Arguments after the model are the model's inputs in schema order,
/// of any type: text-like values are categories (or numbers as text), numbers are numbers, NULL
/// is what `scorekit.null_inputs` says, other types are passed as their text form.
unsafe fn score_args_impl(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let model = model_arg(fcinfo);
    let loaded = engine::resolve(model);
    // SAFETY: fcinfo is the live call info of this V1 function.
    let nargs = unsafe { (*fcinfo).nargs } as usize;
    let mut values = Vec::with_capacity(nargs.saturating_sub(1));
    for i in 1..nargs {
        // SAFETY: i < nargs; the type comes from the call expression, so the datum matches it.
        unsafe {
            if pgrx::fcinfo::pg_arg_is_null(fcinfo, i) {
                values.push(cells::null_input(model, loaded.schema(), 1, i - 1));
                continue;
            }
            let typoid = pg_sys::get_fn_expr_argtype((*fcinfo).flinfo, i as i32);
            if typoid == pg_sys::InvalidOid {
                user_error("cannot determine the argument types of this call");
            }
            let datum = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, i);
            values.push(cells::from_datum(datum, typoid));
        }
    }
    let cells: Vec<Cell<'_>> = values.iter().map(Value::cell).collect();
    let score = score_one(&loaded, &cells);
    score.into_datum().unwrap_or_else(|| user_error("cannot return the score"))
}

/// V1 info record of `scorekit_score_args`.
#[unsafe(no_mangle)]
#[doc(hidden)]
pub extern "C" fn pg_finfo_scorekit_score_args() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// C entry point of `scorekit.score_args` and `scorekit.score_args_pinned`.
///
/// # Safety
/// Called by PostgreSQL through the V1 calling convention only.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn scorekit_score_args(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: forwarded from PostgreSQL.
    unsafe { score_args_impl(fcinfo) }
}

extension_sql!(
    r#"
CREATE FUNCTION score_args(model text, VARIADIC inputs "any") RETURNS float8
    LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'scorekit_score_args';
COMMENT ON FUNCTION score_args(text, "any") IS
    'Scores one row given as arguments in the model''s input order; model is an alias (STABLE: a deploy may change it).';
CREATE FUNCTION score_args_pinned(model text, VARIADIC inputs "any") RETURNS float8
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'scorekit_score_args';
COMMENT ON FUNCTION score_args_pinned(text, "any") IS
    'As score_args, for a model given as sha256:<hex>: the module is content-addressed, so the result never changes (IMMUTABLE).';
"#,
    name = "score_args",
    requires = ["bootstrap"]
);

/// The values of a jsonb argument that must hold exactly one row (an object).
fn one_json_row<'a>(model: &str, loaded: &Loaded, features: &'a JsonB) -> Vec<Value<'a>> {
    let rows = cells::json_rows(features);
    if rows.len() != 1 {
        user_error(format!("model '{model}': expected one JSON object, got an array of {}", rows.len()));
    }
    cells::from_json_object(model, loaded.schema(), rows[0], 1)
}

fn first_output(model: &str, features: JsonB) -> f64 {
    let loaded = engine::resolve(model);
    let values = one_json_row(model, &loaded, &features);
    let cells: Vec<Cell<'_>> = values.iter().map(Value::cell).collect();
    score_one(&loaded, &cells)
}

/// Scores one row given as a jsonb object keyed by input name (extra keys are ignored).
#[pg_extern(name = "score", stable, parallel_safe)]
fn score_jsonb(model: &str, features: JsonB) -> f64 {
    first_output(model, features)
}

/// Scores one row of already-encoded features (categorical inputs as level index, NaN for
/// missing; NULL as `scorekit.null_inputs` says), the ABI's dense layout.
#[pg_extern(name = "score", stable, parallel_safe)]
fn score_dense(model: &str, features: Vec<Option<f64>>) -> f64 {
    let loaded = engine::resolve(model);
    cells::check_arity(model, loaded.schema(), features.len());
    let values: Vec<f64> = features
        .iter()
        .enumerate()
        .map(|(col, v)| {
            v.unwrap_or_else(|| {
                cells::null_input(model, loaded.schema(), 1, col);
                f64::NAN
            })
        })
        .collect();
    let rows = Rows::dense(values.len(), &values).unwrap_or_else(|e| crate::error::raise(model, e));
    let out = loaded.call(1, |m| m.score(&rows));
    out.first().copied().unwrap_or(f64::NAN)
}

/// Scores every object of a jsonb array in module calls of `scorekit.batch_size` rows; returns
/// one score per object, in order. With `jsonb_agg(t)` this is the aggregate-style batch path.
#[pg_extern(stable, parallel_safe)]
fn score_rows(model: &str, rows: JsonB) -> Vec<f64> {
    let loaded = engine::resolve(model);
    let objs = cells::json_rows(&rows);
    let values: Vec<Vec<Value<'_>>> = objs
        .iter()
        .enumerate()
        .map(|(i, o)| cells::from_json_object(model, loaded.schema(), o, i + 1))
        .collect();
    let cells: Vec<Vec<Cell<'_>>> = values.iter().map(|r| r.iter().map(Value::cell).collect()).collect();
    score_many(&loaded, &cells)
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Runs `query`, matches its columns to the model's inputs by name, and scores its rows in
/// module calls of `scorekit.batch_size` rows (the batch path for scoring a whole table).
/// `key_column` (any type, returned as text) identifies each row; without it the key is the
/// row's position (1-based) in the query's output.
#[pg_extern(stable, parallel_restricted)]
fn score_query(
    model: &str,
    query: &str,
    key_column: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(key, String), name!(score, f64))> {
    let loaded = engine::resolve(model);
    let schema = loaded.schema().clone();
    let mut cols: Vec<String> =
        schema.inputs.iter().map(|f| format!("q.{}::text", quote_ident(&f.name))).collect();
    let key_sql = match key_column {
        Some(k) => format!("q.{}::text", quote_ident(k)),
        None => "NULL::text".to_string(),
    };
    cols.insert(0, key_sql);
    let sql = format!("SELECT {} FROM ({query}) AS q", cols.join(", "));
    let chunk = guc::BATCH_SIZE.get().max(1) as i64;
    let n = schema.arity();
    let mut result = Vec::new();
    Spi::connect(|client| {
        let mut cursor = client
            .try_open_cursor(sql.as_str(), &[])
            .unwrap_or_else(|e| user_error(format!("score_query: {e}")));
        loop {
            let table = cursor.fetch(chunk).unwrap_or_else(|e| user_error(format!("score_query: {e}")));
            if table.is_empty() {
                break;
            }
            let mut keys = Vec::with_capacity(table.len());
            let mut texts: Vec<Vec<Option<String>>> = Vec::with_capacity(table.len());
            for row in table {
                keys.push(row.get::<String>(1).ok().flatten());
                let mut r = Vec::with_capacity(n);
                for i in 0..n {
                    r.push(
                        row.get::<String>(i + 2).unwrap_or_else(|e| user_error(format!("score_query: {e}"))),
                    );
                }
                texts.push(r);
            }
            let base = result.len();
            let cells: Vec<Vec<Cell<'_>>> = texts
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    r.iter()
                        .enumerate()
                        .map(|(col, v)| match v.as_deref() {
                            Some(text) => Cell::Text(text),
                            None => {
                                cells::null_input(model, &schema, base + i + 1, col);
                                Cell::Null
                            }
                        })
                        .collect()
                })
                .collect();
            let scores = score_many(&loaded, &cells);
            for (i, (k, s)) in keys.into_iter().zip(scores).enumerate() {
                result.push((k.unwrap_or_else(|| (base + i + 1).to_string()), s));
            }
        }
    });
    TableIterator::new(result)
}

/// Per-input contributions for one row given as jsonb: GBT TreeSHAP values in margin
/// (log-odds) units plus a `(bias)` row, their sum being the margin; RCF per-dimension
/// attribution plus the `(score)` row.
#[pg_extern(name = "explain", stable, parallel_safe)]
fn explain_jsonb(
    model: &str,
    features: JsonB,
) -> TableIterator<'static, (name!(feature, String), name!(contribution, f64))> {
    let loaded = engine::resolve(model);
    let values = one_json_row(model, &loaded, &features);
    let cells: Vec<Cell<'_>> = values.iter().map(Value::cell).collect();
    let wire = Rows::from_cells(cells.len(), &[cells]).unwrap_or_else(|e| crate::error::raise(model, e));
    let out = loaded.call(1, |m| m.explain(&wire));
    let schema = loaded.schema();
    let last = match schema.family {
        scorekit_core::Family::Gbt => "(bias)",
        _ => "(score)",
    };
    let names = schema.inputs.iter().map(|f| f.name.clone()).chain(std::iter::once(last.to_string()));
    TableIterator::new(names.zip(out).collect::<Vec<_>>())
}

/// The model's inputs as SQL sees them: name, kind, and categorical levels.
#[pg_extern(stable, parallel_safe)]
fn inputs(
    model: &str,
) -> TableIterator<
    'static,
    (name!(position, i32), name!(name, String), name!(kind, String), name!(levels, Option<Vec<String>>)),
> {
    let loaded = engine::resolve(model);
    let rows: Vec<_> = loaded
        .schema()
        .inputs
        .iter()
        .enumerate()
        .map(|(i, f)| match &f.kind {
            FieldKind::Numeric => (i as i32 + 1, f.name.clone(), "numeric".to_string(), None),
            FieldKind::Categorical { levels } => {
                (i as i32 + 1, f.name.clone(), "categorical".to_string(), Some(levels.clone()))
            }
        })
        .collect();
    TableIterator::new(rows)
}

extension_sql!(
    r#"
CREATE FUNCTION score(model text, r anyelement) RETURNS float8
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT @extschema@.score(model, to_jsonb(r)) $$;
COMMENT ON FUNCTION score(text, anyelement) IS
    'Scores a table row or composite value: its fields are matched to the model inputs by name.';
CREATE FUNCTION explain(model text, r anyelement) RETURNS TABLE(feature text, contribution float8)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT * FROM @extschema@.explain(model, to_jsonb(r)) $$;
"#,
    name = "score_record",
    requires = [score_jsonb, explain_jsonb]
);
