//! Scoring and explaining from SQL: by argument list (what generated typed functions call), by
//! jsonb (one row, or many with `score_rows`) or table row, by already-encoded `float8[]`, and by
//! query (`score_query`). Every row goes through the host layer's `BatchBuilder` (the one set of
//! rules for NULL, absent and extra keys, booleans, numbers as categories); the batch paths send
//! `scorekit.batch_size` rows per module call and number every row as part of the whole input.

use std::collections::HashMap;

use pgrx::prelude::*;
use pgrx::{JsonB, pg_sys};
use scorekit_host::formats::{json, rows as rowsfmt};
use scorekit_host::{BatchBuilder, FieldKind, HostError, ModelInfo, Rows, Schema, Value, names};

use crate::cells::{self, Datum};
use crate::engine::{self, Loaded};
use crate::error::{OrRaise, raise, user_error};
use crate::guc;

thread_local! {
    /// The row path's request buffer, reused from call to call (a backend runs one at a time).
    static SPARE: std::cell::RefCell<Option<Rows>> = const { std::cell::RefCell::new(None) };
}

/// A builder for rows of the model `info` describes (sent dense: see `BatchBuilder::for_model`)
/// under the session's input policy, writing into the session's
/// spare request buffer when it has one (see [`give_back`]).
pub(crate) fn builder(info: &ModelInfo) -> BatchBuilder<'_> {
    match SPARE.with(|s| s.borrow_mut().take()) {
        Some(rows) => BatchBuilder::reusing_for_model(info, guc::input_policy(), rows),
        None => BatchBuilder::for_model(info, guc::input_policy()),
    }
}

/// Keeps a finished request's buffer for the next row.
pub(crate) fn give_back(rows: Rows) {
    SPARE.with(|s| *s.borrow_mut() = Some(rows));
}

/// Scores a batch in one call; the first output of each row (GBT: probability; RCF: score).
pub(crate) fn first_outputs(loaded: &Loaded, model: &str, rows: &Rows) -> Vec<f64> {
    let out = loaded.call(model, rows.n_rows(), |s| s.score(rows));
    out.chunks(loaded.outputs_per_row).map(|r| r[0]).collect()
}

/// Scores one row (the row path: one module call per SQL call).
fn score_one(loaded: &Loaded, model: &str, rows: &Rows) -> f64 {
    let out = loaded.call(model, 1, |s| s.score(rows));
    out.first().copied().unwrap_or(f64::NAN)
}

/// Scores `rows` in module calls of at most `scorekit.batch_size` rows, each chunk numbered from
/// its place in the whole (so a model error names the row of the input, not of the chunk) and in
/// the batch's own layout (the host layer's one split: a dense batch stays dense).
fn score_in_chunks(loaded: &Loaded, model: &str, rows: &Rows) -> Vec<f64> {
    let size = guc::BATCH_SIZE.get().max(1) as usize;
    if rows.n_rows() <= size {
        return first_outputs(loaded, model, rows);
    }
    let mut scores = Vec::with_capacity(rows.n_rows());
    for chunk in rowsfmt::split(rows, size).or_raise(model) {
        pgrx::check_for_interrupts!();
        scores.extend(first_outputs(loaded, model, &chunk));
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

/// The arguments of a `VARIADIC "any"` call from argument `first` on, as host values (see
/// [`datums_of`]).
///
/// # Safety
/// `fcinfo` must be the live call info of a V1 function with a `VARIADIC "any"` parameter.
pub(crate) unsafe fn variadic_datums<'a>(
    fcinfo: pg_sys::FunctionCallInfo,
    first: usize,
    expand_array: bool,
) -> Vec<Datum<'a>> {
    // SAFETY: fcinfo is the live call info of this V1 function.
    let nargs = unsafe { (*fcinfo).nargs } as usize;
    let mut args = Vec::with_capacity(nargs.saturating_sub(first));
    for i in first..nargs {
        // SAFETY: i < nargs; the type comes from the call expression, so the datum matches it.
        unsafe {
            let typoid = pg_sys::get_fn_expr_argtype((*fcinfo).flinfo, i as i32);
            if typoid == pg_sys::InvalidOid {
                user_error("cannot determine the argument types of this call");
            }
            let datum = (!pgrx::fcinfo::pg_arg_is_null(fcinfo, i))
                .then(|| pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, i));
            args.push((datum, typoid));
        }
    }
    // SAFETY: each datum is the call's argument of that type, alive for the call.
    unsafe { datums_of(&args, expand_array) }
}

/// A row's inputs (datum or NULL, and type) as host values: the one reading of scalar-call
/// inputs, shared by the row path and the batched path (`crate::batch`). With `expand_array`, a
/// lone array argument stands for its elements (Aurora's `invoke_endpoint(name, n, ARRAY[...])`
/// form).
///
/// # Safety
/// Each datum must be a valid datum of its type that outlives the returned values.
pub(crate) unsafe fn datums_of<'a>(
    args: &[(Option<pg_sys::Datum>, pg_sys::Oid)],
    expand_array: bool,
) -> Vec<Datum<'a>> {
    if expand_array && let [(Some(raw), typoid)] = args {
        // SAFETY: as below; an array datum is read with its element type's length and alignment.
        unsafe {
            let elem = pg_sys::get_element_type(*typoid);
            if elem != pg_sys::InvalidOid {
                let arr = pg_sys::pg_detoast_datum(raw.cast_mut_ptr()).cast::<pg_sys::ArrayType>();
                let (mut len, mut byval, mut align) = (0i16, false, 0 as std::ffi::c_char);
                pg_sys::get_typlenbyvalalign(elem, &mut len, &mut byval, &mut align);
                let mut elems: *mut pg_sys::Datum = std::ptr::null_mut();
                let mut nulls: *mut bool = std::ptr::null_mut();
                let mut n: i32 = 0;
                pg_sys::deconstruct_array(
                    arr,
                    elem,
                    len.into(),
                    byval,
                    align,
                    &mut elems,
                    &mut nulls,
                    &mut n,
                );
                return (0..n as usize)
                    .map(|i| {
                        let d = (!*nulls.add(i)).then(|| *elems.add(i));
                        cells::from_datum(d, elem)
                    })
                    .collect();
            }
        }
    }
    // SAFETY: as the caller guarantees.
    args.iter().map(|&(d, typoid)| unsafe { cells::from_datum(d, typoid) }).collect()
}

/// `scorekit.score_args(model text, VARIADIC "any")` / `score_args_pinned`: the entry point of
/// generated typed functions. Arguments after the model are the model's inputs in schema order,
/// of any type (see [`crate::cells`]); the host layer's rules make them a row.
unsafe fn score_args_impl(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let model = model_arg(fcinfo);
    let loaded = engine::resolve(model);
    // SAFETY: forwarded from the caller.
    let datums = unsafe { variadic_datums(fcinfo, 1, false) };
    let values: Vec<Value<'_>> = datums.iter().map(Datum::value).collect();
    let mut b = builder(loaded.scorer.info());
    b.push_positional(&values).or_raise(model);
    let rows = b.finish();
    let score = score_one(&loaded, model, &rows);
    give_back(rows);
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

/// The row of a jsonb argument that must hold exactly one (any shape the host layer reads: an
/// object keyed by input name, an array in input order, `{"features": [...]}`).
fn one_json_row(model: &str, loaded: &Loaded, features: &JsonB) -> Rows {
    let mut b = builder(loaded.scorer.info());
    json::push_document(&mut b, &features.0, true).or_raise(model);
    if b.len() != 1 {
        raise(
            model,
            HostError::bad_input(format!(
                "expected one row, got {} (scorekit.score_rows scores many)",
                b.len()
            )),
        );
    }
    b.finish()
}

/// Scores one row given as jsonb: an object keyed by input name (extra keys are ignored; an
/// absent input is what `scorekit.absent_inputs` says), or an array in input order.
#[pg_extern(name = "score", stable, parallel_safe)]
fn score_jsonb(model: &str, features: JsonB) -> f64 {
    let loaded = engine::resolve(model);
    let rows = one_json_row(model, &loaded, &features);
    score_one(&loaded, model, &rows)
}

/// Scores one row of already-encoded features, the ABI's dense layout: categorical inputs as
/// level index, NaN or NULL for missing (refused under `scorekit.null_inputs = 'error'`, as
/// everywhere). No value conversion applies: the numbers go to the model as they are.
#[pg_extern(name = "score", stable, parallel_safe)]
fn score_dense(model: &str, features: Vec<Option<f64>>) -> f64 {
    let loaded = engine::resolve(model);
    let values: Vec<f64> = features.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    let policy = guc::input_policy();
    if policy.nulls == scorekit_host::NullInputs::Error
        && values.len() == loaded.schema().inputs.len()
        && values.iter().any(|v| v.is_nan())
    {
        // The host layer refuses the null, in its words (the same as for every other path).
        let row: Vec<Value<'_>> = values.iter().map(|&x| Value::Float(x)).collect();
        BatchBuilder::new(loaded.schema(), policy).push_positional(&row).or_raise(model);
    }
    let rows = Rows::dense(values.len().max(1), &values)
        .map_err(|e| HostError::bad_input(format!("features: {e}")))
        .or_raise(model);
    score_one(&loaded, model, &rows)
}

/// Scores every row of a jsonb document — an array of objects (`jsonb_agg(t)`) or of arrays,
/// `{"instances": [...]}`, or one row — in module calls of `scorekit.batch_size` rows; returns
/// one score per row, in order.
#[pg_extern(stable, parallel_safe)]
fn score_rows(model: &str, rows: JsonB) -> Vec<f64> {
    let loaded = engine::resolve(model);
    if rows.0.as_array().is_some_and(Vec::is_empty) {
        return Vec::new();
    }
    let mut b = builder(loaded.scorer.info());
    json::push_document(&mut b, &rows.0, true).or_raise(model);
    score_in_chunks(&loaded, model, &b.finish())
}

/// Where each model input (and the key) is in a query's result.
struct Columns {
    /// Per schema input: its column ordinal and type, or `None` when the query has no such column.
    inputs: Vec<Option<(usize, pg_sys::Oid)>>,
    /// Schema input names → position.
    by_name: HashMap<String, usize>,
    key: Option<(usize, pg_sys::Oid)>,
}

impl Columns {
    fn of(table: &pgrx::spi::SpiTupleTable<'_>, schema: &Schema, key_column: Option<&str>) -> Columns {
        let n = table.columns().unwrap_or_else(|e| user_error(format!("score_query: {e}")));
        let mut found: HashMap<String, (usize, pg_sys::Oid)> = HashMap::new();
        let mut names = Vec::with_capacity(n);
        for ord in 1..=n {
            let name = table.column_name(ord).unwrap_or_else(|e| user_error(format!("score_query: {e}")));
            let oid = table.column_type_oid(ord).map_or(pg_sys::InvalidOid, |o| o.value());
            names.push(name.clone());
            // The first column of a name wins, as in SQL.
            found.entry(name).or_insert((ord, oid));
        }
        let key = key_column.map(|k| {
            *found.get(k).unwrap_or_else(|| {
                user_error(format!(
                    "score_query: key_column '{k}' is not a column of the query (columns: {})",
                    names.join(", ")
                ))
            })
        });
        Columns {
            inputs: schema.inputs.iter().map(|f| found.get(&f.name).copied()).collect(),
            by_name: schema.inputs.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect(),
            key,
        }
    }
}

/// Runs `query`, matches its columns to the model's inputs by name (other columns are ignored;
/// an input with no column is what `scorekit.absent_inputs` says), and scores its rows in module
/// calls of `scorekit.batch_size` rows (the batch path for scoring a whole table).
/// `key_column` (any type, returned as text) identifies each row; without it the key is the
/// row's position (from 1) in the query's output, the number every message uses.
#[pg_extern(stable, parallel_restricted)]
fn score_query(
    model: &str,
    query: &str,
    key_column: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(key, String), name!(score, f64))> {
    let loaded = engine::resolve(model);
    let info = loaded.scorer.info().clone();
    let schema = info.schema();
    let sql = format!("SELECT * FROM ({query}) AS q");
    let chunk = guc::BATCH_SIZE.get().max(1) as i64;
    let mut result: Vec<(String, f64)> = Vec::new();
    let mut columns: Option<Columns> = None;
    Spi::connect(|client| {
        let mut cursor = client
            .try_open_cursor(sql.as_str(), &[])
            .unwrap_or_else(|e| user_error(format!("score_query: {e}")));
        loop {
            let mut table = cursor.fetch(chunk).unwrap_or_else(|e| user_error(format!("score_query: {e}")));
            if table.is_empty() {
                break;
            }
            let cols = columns.get_or_insert_with(|| Columns::of(&table, schema, key_column));
            let base = result.len();
            let mut b = builder(&info).with_row_base(base).or_raise(model);
            let mut keys = Vec::with_capacity(table.len());
            while table.next().is_some() {
                let get = |ord: usize| {
                    table
                        .get_datum_by_ordinal(ord)
                        .unwrap_or_else(|e| user_error(format!("score_query: {e}")))
                };
                // SAFETY: each datum is read with the type of its column, from the current row
                // of the tuple table, which lives until the next fetch.
                let row: Vec<Option<Datum<'_>>> = cols
                    .inputs
                    .iter()
                    .map(|c| c.map(|(ord, oid)| unsafe { cells::from_datum(get(ord), oid) }))
                    .collect();
                keys.push(cols.key.and_then(|(ord, oid)| {
                    // SAFETY: as above.
                    get(ord).map(|d| unsafe { cells::text(d, oid) })
                }));
                b.push_named(|name| {
                    let i = *cols.by_name.get(name)?;
                    row[i].as_ref().map(Datum::value)
                })
                .or_raise(model);
            }
            let scores = score_in_chunks(&loaded, model, &b.finish());
            for (i, (k, s)) in keys.into_iter().zip(scores).enumerate() {
                result.push((k.unwrap_or_else(|| (base + i + 1).to_string()), s));
            }
        }
    });
    TableIterator::new(result)
}

/// Per-input contributions for one row given as jsonb, named by the host layer's explanation
/// terms: GBT TreeSHAP values in margin (log-odds) units, one per input, then `bias` (their sum
/// is the margin); RCF per-dimension attribution, then `total` (the score they sum to).
#[pg_extern(name = "explain", stable, parallel_safe)]
fn explain_jsonb(
    model: &str,
    features: JsonB,
) -> TableIterator<'static, (name!(feature, String), name!(contribution, f64))> {
    let loaded = engine::resolve(model);
    let rows = one_json_row(model, &loaded, &features);
    let out = loaded.call(model, 1, |s| s.explain(&rows));
    let terms = names::explanation_terms(loaded.schema());
    TableIterator::new(terms.into_iter().zip(out).collect::<Vec<_>>())
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
