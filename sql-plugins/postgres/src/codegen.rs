//! `scorekit.create_function(...)`: generates a typed SQL function from a model's schema, e.g.
//! Aurora ML's `will_churn(state, acc_length, area_code, phone, ...)`. The generated function is a
//! one-line SQL wrapper around `scorekit.score_args` (or `score_args_pinned`), which PostgreSQL
//! inlines into the calling query.

use pgrx::JsonB;
use pgrx::prelude::*;
use scorekit_host::{FieldKind, Schema};

use crate::engine;
use crate::error::user_error;

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `name` or `schema.name`, each part an SQL identifier; returned quoted.
fn qualified_name(fn_name: &str) -> String {
    let parts: Vec<&str> = fn_name.split('.').collect();
    let ok = !parts.is_empty()
        && parts.len() <= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 63
                && p.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if !ok {
        user_error(format!(
            "function name '{fn_name}' must be name or schema.name of letters, digits and '_'"
        ));
    }
    parts.iter().map(|p| quote_ident(p)).collect::<Vec<_>>().join(".")
}

/// Canonical SQL type name, checked by PostgreSQL itself (no SQL injection through `type`).
fn sql_type(t: &str) -> String {
    match Spi::get_one_with_args::<String>("SELECT format_type($1::regtype, NULL)", &[t.into()]) {
        Ok(Some(s)) => s,
        _ => user_error(format!("unknown SQL type '{t}' in arguments")),
    }
}

struct Param {
    sql_name: String,
    sql_type: String,
    /// Index of the schema input it feeds; `None` for an ignored argument.
    input: Option<usize>,
    /// `(prefix, suffix)` wrapped around the argument's text before it reaches the model.
    format: Option<(String, String)>,
}

fn params_from_schema(schema: &Schema) -> Vec<Param> {
    schema
        .inputs
        .iter()
        .enumerate()
        .map(|(i, f)| Param {
            sql_name: f.name.clone(),
            sql_type: match f.kind {
                FieldKind::Numeric => "double precision".into(),
                FieldKind::Categorical { .. } => "text".into(),
            },
            input: Some(i),
            format: None,
        })
        .collect()
}

fn params_from_json(model: &str, schema: &Schema, args: &serde_json::Value) -> Vec<Param> {
    let Some(list) = args.as_array() else {
        user_error(
            "arguments must be a JSON array of {\"name\", \"input\", \"type\", \"format\", \"ignore\"} objects",
        )
    };
    let mut seen = vec![false; schema.arity()];
    let mut params = Vec::new();
    for (pos, a) in list.iter().enumerate() {
        let get = |k: &str| a.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let Some(name) = get("name") else { user_error(format!("arguments[{pos}] has no \"name\"")) };
        let ignore = a.get("ignore").and_then(|v| v.as_bool()).unwrap_or(false);
        let input = if ignore {
            None
        } else {
            let input_name = get("input").unwrap_or_else(|| name.clone());
            let Some(i) = schema.input_index(&input_name) else {
                let names: Vec<&str> = schema.inputs.iter().map(|f| f.name.as_str()).collect();
                user_error(format!(
                    "arguments[{pos}]: model '{model}' has no input '{input_name}' (inputs: {}); mark extra arguments with \"ignore\": true",
                    names.join(", ")
                ))
            };
            if std::mem::replace(&mut seen[i], true) {
                user_error(format!("arguments[{pos}]: input '{input_name}' is given twice"));
            }
            Some(i)
        };
        let default_type = match input.map(|i| &schema.inputs[i].kind) {
            Some(FieldKind::Numeric) => "double precision",
            _ => "text",
        };
        let sql_type = sql_type(&get("type").unwrap_or_else(|| default_type.to_string()));
        let format = get("format").map(|f| match f.split_once("{}") {
            Some((p, s)) => (p.to_string(), s.to_string()),
            None => {
                user_error(format!("arguments[{pos}]: format '{f}' must contain {{}} where the value goes"))
            }
        });
        params.push(Param { sql_name: name, sql_type, input, format });
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        user_error(format!("arguments: model '{model}' input '{}' has no argument", schema.inputs[i].name));
    }
    params
}

/// Creates (or replaces) SQL function `fn_name` scoring `model` with a typed signature from its
/// schema and returns the statement it ran.
///
/// * `output`: `'probability'` returns float8 (the model's first output); `'label'` returns
///   `labels[1]` when it is above `threshold`, else `labels[2]` (Aurora ML style: `'True.'`/`'False.'`).
/// * `arguments`: optional signature, a JSON array in call order of objects
///   `{"name": sql parameter, "input": model input (default name), "type": SQL type (default
///   float8 for numeric inputs, text for categorical), "format": "area_code_{}" (the value's text
///   is put in place of {}), "ignore": true (accepted and not used, e.g. a phone number)}`.
/// * `pin`: pin the module deployed now (by hash): the function is IMMUTABLE and never changes;
///   otherwise it follows the alias (STABLE) and sees deploys.
/// * `strict`: return NULL when any argument is NULL (otherwise NULL is a missing value).
#[allow(clippy::too_many_arguments)]
#[pg_extern(volatile, parallel_unsafe)]
fn create_function(
    fn_name: &str,
    model: &str,
    output: default!(&str, "'probability'"),
    arguments: default!(Option<JsonB>, "NULL"),
    pin: default!(bool, false),
    strict: default!(bool, false),
    threshold: default!(f64, 0.5),
    labels: default!(Vec<String>, "'{True.,False.}'"),
) -> String {
    let target = qualified_name(fn_name);
    let loaded = engine::resolve(model);
    let schema = loaded.schema().clone();
    let params = match &arguments {
        None => params_from_schema(&schema),
        Some(j) => params_from_json(model, &schema, &j.0),
    };
    // Model inputs in schema order, as SQL expressions over the parameters.
    let mut exprs = vec![String::new(); schema.arity()];
    for (pos, p) in params.iter().enumerate() {
        if let Some(i) = p.input {
            let arg = format!("${}", pos + 1);
            exprs[i] = match &p.format {
                None => arg,
                Some((pre, suf)) => {
                    format!("({} || {arg}::text || {})", quote_literal(pre), quote_literal(suf))
                }
            };
        }
    }
    if pin && scorekit_host::parse_sha256_hex(&loaded.sha256).is_none() {
        user_error(format!(
            "model '{model}' is answered by a remote endpoint ({}); pin => true pins a local module",
            loaded.sha256
        ));
    }
    let (callee, model_lit, volatility) = if pin {
        ("scorekit.score_args_pinned", format!("sha256:{}", loaded.sha256), "IMMUTABLE")
    } else {
        ("scorekit.score_args", model.to_string(), "STABLE")
    };
    let call = format!("{callee}({}, {})", quote_literal(&model_lit), exprs.join(", "));
    let (ret, body) = match output {
        "probability" => ("double precision", call),
        "label" => {
            if labels.len() != 2 {
                user_error("labels must be two texts: {when above threshold, otherwise}");
            }
            (
                "text",
                format!(
                    "CASE WHEN {call} > {threshold:?} THEN {} ELSE {} END",
                    quote_literal(&labels[0]),
                    quote_literal(&labels[1])
                ),
            )
        }
        other => user_error(format!("output must be 'probability' or 'label', got '{other}'")),
    };
    let sig: Vec<String> =
        params.iter().map(|p| format!("{} {}", quote_ident(&p.sql_name), p.sql_type)).collect();
    let sql = format!(
        "CREATE OR REPLACE FUNCTION {target}({}) RETURNS {ret} LANGUAGE sql {volatility} PARALLEL SAFE{} AS $scorekit$ SELECT {body} $scorekit$",
        sig.join(", "),
        if strict { " STRICT" } else { "" }
    );
    Spi::run(&sql).unwrap_or_else(|e| user_error(format!("creating {fn_name}: {e}")));
    let comment = format!(
        "COMMENT ON FUNCTION {target}({}) IS {}",
        params.iter().map(|p| p.sql_type.clone()).collect::<Vec<_>>().join(", "),
        quote_literal(&format!(
            "scorekit model {model}{} (generated by scorekit.create_function)",
            if pin { format!(" pinned to sha256:{}", loaded.sha256) } else { String::new() }
        ))
    );
    Spi::run(&comment).unwrap_or_else(|e| user_error(format!("commenting {fn_name}: {e}")));
    sql
}
