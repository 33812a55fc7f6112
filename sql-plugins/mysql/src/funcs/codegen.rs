//! `scorekit_function_sql(function, model [, options])` → STRING: the SQL that creates a typed
//! stored function scoring `model`, generated from its schema — e.g. Aurora ML's
//! `will_churn(state varchar(2048), acc_length bigint(20), …) RETURNS varchar(2048)`. A loadable
//! function cannot run SQL itself, so `install.sh` pipes the text back into the client:
//! `mariadb -N -r -e "SELECT scorekit_function_sql(…)" | mariadb`.
//!
//! `options` (constant JSON object):
//! * `output`: `probability` (default: `RETURNS double`, `scorekit_score`) or `label`
//!   (`scorekit_label` with `threshold`, default 0.5: `True.` / `False.`);
//! * `returns`: the SQL return type (default `double` / `varchar(16)`);
//! * `arguments`: the signature, in call order: `{"name": parameter, "input": model input
//!   (default: name), "type": SQL type (default double for numeric inputs, varchar(255) for
//!   categorical), "format": "area_code_{}" (the value's text put in place of `{}`), "ignore":
//!   true (accepted, not used: e.g. a phone number)}`; default: one parameter per input;
//! * `labels`: with `label`, the two texts returned above / at or below the threshold (default
//!   `["True.", "False."]`, what `scorekit_label` returns);
//! * `strict`: true returns NULL when any argument is NULL (PostgreSQL's `STRICT`; otherwise a
//!   NULL is a missing value under the configured policy);
//! * `pin`: call the module deployed now by its hash (`model@sha256:…`): the function is
//!   `DETERMINISTIC` and never changes; otherwise it follows the alias (`NOT DETERMINISTIC`).
//!
//! The options are those of PostgreSQL's `scorekit.create_function`, with MySQL's types.
//!
//! The answer drops and creates the function (`DROP FUNCTION IF EXISTS`, then `CREATE
//! FUNCTION`: MySQL 8 has no `CREATE OR REPLACE FUNCTION`). Identifiers are quoted, types are
//! checked against a list of SQL type words, literals escaped: no option can inject SQL.

use scorekit_host::{FieldKind, HostError, Schema};
use serde_json::Value as Json;
use udf::prelude::*;

use super::explain::MAX_JSON;
use super::{bind, check_count, init_done, options, Bound};
use crate::args;

fn ident(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ok {
        Ok(format!("`{s}`"))
    } else {
        Err(format!(
            "'{}' is not an SQL name: use letters, digits, '_' and '$', starting with a letter or '_'",
            s.escape_debug()
        ))
    }
}

/// A string literal, escaped for both quote doubling and backslash escapes.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

const TYPE_WORDS: [&str; 23] = [
    "tinyint",
    "smallint",
    "mediumint",
    "int",
    "integer",
    "bigint",
    "float",
    "double",
    "real",
    "decimal",
    "numeric",
    "char",
    "varchar",
    "text",
    "tinytext",
    "mediumtext",
    "longtext",
    "date",
    "datetime",
    "timestamp",
    "time",
    "bool",
    "boolean",
];

/// A SQL type from the list of type words, with an optional length or precision and `unsigned`.
fn sql_type(t: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "'{}' is not a supported SQL type (e.g. bigint(20), double, varchar(2048), decimal(10,2))",
            t.escape_debug()
        )
    };
    let t = t.trim().to_ascii_lowercase();
    let (t, unsigned) = match t.strip_suffix(" unsigned") {
        Some(base) => (base.trim_end().to_string(), true),
        None => (t, false),
    };
    let (word, size) = match t.split_once('(') {
        Some((w, rest)) => (w.trim(), Some(rest.strip_suffix(')').ok_or_else(bad)?)),
        None => (t.as_str(), None),
    };
    if !TYPE_WORDS.contains(&word) {
        return Err(bad());
    }
    let mut out = word.to_string();
    if let Some(size) = size {
        let parts: Vec<&str> = size.split(',').map(str::trim).collect();
        if parts.is_empty()
            || parts.len() > 2
            || parts.iter().any(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        out.push_str(&format!("({})", parts.join(",")));
    }
    if unsigned {
        out.push_str(" unsigned");
    }
    Ok(out)
}

struct Param {
    name: String,
    sql_type: String,
    input: Option<usize>,
    format: Option<(String, String)>,
}

fn params(schema: &Schema, args: Option<&Json>) -> Result<Vec<Param>, String> {
    let default_type = |kind: &FieldKind| match kind {
        FieldKind::Numeric => "double".to_string(),
        FieldKind::Categorical { .. } => "varchar(255)".to_string(),
    };
    let Some(list) = args else {
        return Ok(schema
            .inputs
            .iter()
            .enumerate()
            .map(|(i, f)| Param {
                name: f.name.clone(),
                sql_type: default_type(&f.kind),
                input: Some(i),
                format: None,
            })
            .collect());
    };
    let Some(list) = list.as_array() else {
        return Err(
            "'arguments' must be an array of {\"name\", \"input\", \"type\", \"format\", \"ignore\"} objects"
                .into(),
        );
    };
    let mut seen = vec![false; schema.inputs.len()];
    let mut out = Vec::new();
    for (pos, a) in list.iter().enumerate() {
        let get = |k: &str| a.get(k).and_then(Json::as_str).map(str::to_string);
        let Some(name) = get("name") else { return Err(format!("arguments[{pos}] has no \"name\"")) };
        ident(&name).map_err(|e| format!("arguments[{pos}]: {e}"))?;
        if let Some(k) = a.as_object().and_then(|o| {
            o.keys().find(|k| !["name", "input", "type", "format", "ignore"].contains(&k.as_str()))
        }) {
            return Err(format!("arguments[{pos}]: unknown key '{k}'"));
        }
        let ignore = a.get("ignore").and_then(Json::as_bool).unwrap_or(false);
        let input = if ignore {
            None
        } else {
            let input_name = get("input").unwrap_or_else(|| name.clone());
            let Some(i) = schema.inputs.iter().position(|f| f.name == input_name) else {
                return Err(format!(
                    "arguments[{pos}]: the model has no input '{input_name}' (inputs: {}); mark extra arguments with \"ignore\": true",
                    scorekit_host::cells::input_names(schema)
                ));
            };
            if std::mem::replace(&mut seen[i], true) {
                return Err(format!("arguments[{pos}]: input '{input_name}' is given twice"));
            }
            Some(i)
        };
        let sql_type = match get("type") {
            Some(t) => sql_type(&t).map_err(|e| format!("arguments[{pos}]: {e}"))?,
            None => {
                input.map_or_else(|| "varchar(255)".to_string(), |i| default_type(&schema.inputs[i].kind))
            }
        };
        let format = match get("format") {
            None => None,
            Some(f) => match f.split_once("{}") {
                Some((p, s)) => Some((p.to_string(), s.to_string())),
                None => {
                    return Err(format!(
                        "arguments[{pos}]: format '{f}' must contain {{}} where the value goes"
                    ))
                }
            },
        };
        out.push(Param { name, sql_type, input, format });
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(format!("arguments: the model's input '{}' has no argument", schema.inputs[i].name));
    }
    Ok(out)
}

/// The DDL for `function` over the bound model under `options`.
pub fn function_sql(function: &str, b: &Bound, o: &serde_json::Map<String, Json>) -> Result<String, String> {
    let target = match function.split_once('.') {
        Some((db, f)) => format!("{}.{}", ident(db)?, ident(f)?),
        None => ident(function)?,
    };
    let schema = b.loaded.schema();
    let ps = params(schema, o.get("arguments"))?;
    let mut exprs = vec![String::new(); schema.inputs.len()];
    let mut sig = Vec::new();
    for p in &ps {
        let name = ident(&p.name)?;
        sig.push(format!("{name} {}", p.sql_type));
        if let Some(i) = p.input {
            exprs[i] = match &p.format {
                None => name,
                Some((pre, suf)) => format!("CONCAT({}, {name}, {})", literal(pre), literal(suf)),
            };
        }
    }
    let pin = o.get("pin").and_then(Json::as_bool).unwrap_or(false);
    let model = if pin {
        format!("{}@sha256:{}", b.loaded.name, b.loaded.scorer.info().sha256)
    } else {
        b.reference.clone()
    };
    let output = o.get("output").and_then(Json::as_str).unwrap_or("probability");
    let labels = match o.get("labels") {
        None => None,
        Some(Json::Array(l)) if l.len() == 2 && l.iter().all(Json::is_string) => {
            Some([l[0].as_str().unwrap_or_default(), l[1].as_str().unwrap_or_default()])
        }
        Some(_) => return Err("'labels' must be two texts: [when above threshold, otherwise]".into()),
    };
    if labels.is_some() && output != "label" {
        return Err("'labels' goes with \"output\": \"label\"".into());
    }
    let score = format!("scorekit_score({}, {})", literal(&model), exprs.join(", "));
    let (call, default_returns) = match output {
        "probability" => (score, "double".to_string()),
        "label" => {
            let threshold = o.get("threshold").map_or(Some(0.5), Json::as_f64).filter(|t| t.is_finite());
            let Some(t) = threshold else { return Err("'threshold' must be a number".into()) };
            match labels {
                None => (
                    format!("scorekit_label({}, {t:?}, {})", literal(&model), exprs.join(", ")),
                    "varchar(16)".into(),
                ),
                Some([above, below]) => {
                    let width = above.chars().count().max(below.chars().count()).max(1);
                    (
                        format!("IF({score} > {t:?}, {}, {})", literal(above), literal(below)),
                        format!("varchar({width})"),
                    )
                }
            }
        }
        other => return Err(format!("'output' must be 'probability' or 'label', got '{other}'")),
    };
    let call = match o.get("strict") {
        None | Some(Json::Bool(false)) => call,
        Some(Json::Bool(true)) => {
            let any_null: Vec<String> = ps
                .iter()
                .map(|p| ident(&p.name).map(|n| format!("{n} IS NULL")))
                .collect::<Result<_, _>>()?;
            format!("IF({}, NULL, {call})", any_null.join(" OR "))
        }
        Some(other) => return Err(format!("'strict' must be true or false, got {other}")),
    };
    let returns = match o.get("returns").and_then(Json::as_str) {
        Some(t) => sql_type(t).map_err(|e| format!("'returns': {e}"))?,
        None => default_returns,
    };
    let comment = format!("scorekit model {model} ({output}; generated by scorekit_function_sql)",);
    Ok(format!(
        "DROP FUNCTION IF EXISTS {target};\nCREATE FUNCTION {target}({}) RETURNS {returns} NO SQL {} COMMENT {} RETURN {call};\n",
        sig.join(", "),
        if pin { "DETERMINISTIC" } else { "NOT DETERMINISTIC" },
        literal(&comment),
    ))
}

/// `scorekit_function_sql(function, model [, options])`.
#[derive(Debug)]
pub struct ScorekitFunctionSql {
    out: String,
}

#[register]
impl BasicUdf for ScorekitFunctionSql {
    type Returns<'a> = Option<&'a str>;

    fn init(cfg: &UdfCfg<Init>, args: &ArgList<Init>) -> Result<Self, String> {
        init_done((|| {
            check_count(args, "scorekit_function_sql(function, model [, options])", 2..=3)?;
            let function = args::const_text(args, 0, "function")?;
            let (bound, _) = bind(args, 1)?;
            let o = options(
                args,
                2,
                &["output", "threshold", "labels", "returns", "arguments", "pin", "strict"],
            )?;
            let out =
                function_sql(&function, &bound, &o).map_err(|e| bound.error(HostError::bad_input(e)))?;
            cfg.set_max_len(MAX_JSON);
            Ok(ScorekitFunctionSql { out })
        })())
    }

    fn process<'a>(
        &'a mut self,
        _cfg: &UdfCfg<Process>,
        _args: &ArgList<Process>,
        _error: Option<NonZeroU8>,
    ) -> Result<Self::Returns<'a>, ProcessError> {
        Ok(Some(self.out.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_names_and_literals_are_checked() {
        assert_eq!(sql_type("BIGINT(20)").unwrap(), "bigint(20)");
        assert_eq!(sql_type("decimal(10, 2) unsigned").unwrap(), "decimal(10,2) unsigned");
        assert_eq!(sql_type("varchar(1000)").unwrap(), "varchar(1000)");
        for bad in ["varchar(10); DROP TABLE x", "blob", "int(", "int(a)", "double precision"] {
            assert!(sql_type(bad).is_err(), "{bad}");
        }
        assert_eq!(ident("will_churn").unwrap(), "`will_churn`");
        assert!(ident("x`; DROP").is_err());
        assert_eq!(literal("it's a \\ test"), "'it''s a \\\\ test'");
    }
}
