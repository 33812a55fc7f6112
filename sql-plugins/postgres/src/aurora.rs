//! The Aurora PostgreSQL drop-in: `aws_sagemaker.invoke_endpoint(endpoint_name, max_rows_per_batch,
//! VARIADIC model_input "any") RETURNS varchar`, so SQL wrappers written for Aurora machine
//! learning (`CREATE FUNCTION classify_event(...) AS $$ SELECT aws_sagemaker.invoke_endpoint(
//! 'endpoint', NULL, arg1, arg2)::INT $$`) run unchanged once the extension is installed.
//!
//! The endpoint name resolves through the policy file to a model (`Policies::model_for_endpoint`:
//! a model of that name, or the model whose `endpoint` it is), and that model's policy decides
//! who answers: its local module, the remote endpoint, or one then the other. The inputs are one
//! row in the model's input order (or one array holding them, Aurora's other form), read by the
//! host layer's rules like every other call. The answer is what Aurora returns: the body the
//! endpoint answers a one-row `text/csv` request (`Accept: text/csv`) with, as text, unparsed
//! (`Scorer::csv_answer`). A remote endpoint's body comes back byte for byte, whatever it holds
//! (the wrapper's cast, e.g. `::float8`, judges it); a local model answers the body `host serve`
//! writes for the same request (shortest round-trip numbers: one value, or a row's values
//! comma-separated with a line break).
//!
//! Called row by row, one call is one row and one request. In a plan's target list the calls are
//! batched instead ([`crate::batch`]): blocks of at most `max_rows_per_batch` rows (and
//! `scorekit.batch_size`), each answered by `Scorer::csv_answers`, which gives every row its part
//! of the batch's answer. A `NULL` or positive `max_rows_per_batch` is accepted; anything else is
//! refused.

use pgrx::pg_sys;
use pgrx::prelude::*;
use scorekit_host::Value;

use crate::cells::Datum;
use crate::engine;
use crate::error::{OrRaise, user_error};
use crate::policy;
use crate::score::{builder, give_back, variadic_datums};

unsafe fn invoke_endpoint_impl(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: arguments 0 and 1 are declared varchar and int in the SQL signature; the datums
    // live for the call.
    let (endpoint, max_rows) = unsafe {
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 0) {
            user_error("aws_sagemaker.invoke_endpoint: endpoint_name is NULL");
        }
        let endpoint = pgrx::fcinfo::pg_getarg::<&str>(fcinfo, 0).unwrap_or_default();
        let max_rows = if pgrx::fcinfo::pg_arg_is_null(fcinfo, 1) {
            None
        } else {
            pgrx::fcinfo::pg_getarg::<i32>(fcinfo, 1)
        };
        (endpoint, max_rows)
    };
    if let Some(m) = max_rows
        && m < 1
    {
        user_error(format!(
            "aws_sagemaker.invoke_endpoint: max_rows_per_batch must be NULL or at least 1, got {m}"
        ));
    }
    let model = policy::model_for_endpoint(endpoint);
    let loaded = engine::resolve(&model);
    // SAFETY: forwarded from PostgreSQL (a V1 call with VARIADIC "any" from argument 2).
    let datums: Vec<Datum<'_>> = unsafe { variadic_datums(fcinfo, 2, true) };
    let values: Vec<Value<'_>> = datums.iter().map(Datum::value).collect();
    let mut b = builder(loaded.scorer.info());
    b.push_positional(&values).or_raise(&model);
    let rows = b.finish();
    let text = loaded.call(&model, 1, |s| s.csv_answer(&rows));
    give_back(rows);
    text.as_str().into_datum().unwrap_or_else(|| user_error("cannot return the answer"))
}

/// V1 info record of `scorekit_invoke_endpoint`.
#[unsafe(no_mangle)]
#[doc(hidden)]
pub extern "C" fn pg_finfo_scorekit_invoke_endpoint() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// C entry point of `aws_sagemaker.invoke_endpoint`.
///
/// # Safety
/// Called by PostgreSQL through the V1 calling convention only.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn scorekit_invoke_endpoint(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: forwarded from PostgreSQL.
    unsafe { invoke_endpoint_impl(fcinfo) }
}

extension_sql!(
    r#"
CREATE SCHEMA aws_sagemaker;
COMMENT ON SCHEMA aws_sagemaker IS 'Aurora PostgreSQL machine learning drop-in (scorekit): invoke_endpoint answered by a local model or a remote endpoint per scorekit.policy_file.';
GRANT USAGE ON SCHEMA aws_sagemaker TO PUBLIC;
CREATE FUNCTION aws_sagemaker.invoke_endpoint(endpoint_name varchar, max_rows_per_batch int, VARIADIC model_input "any") RETURNS varchar
    LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'scorekit_invoke_endpoint';
COMMENT ON FUNCTION aws_sagemaker.invoke_endpoint(varchar, int, "any") IS
    'Aurora ML drop-in: the answer for one row (inputs in the model''s order, or one array of them) of the model the endpoint name stands for, as text; local or remote per scorekit.policy_file.';
"#,
    name = "aws_sagemaker",
    requires = ["bootstrap"]
);
