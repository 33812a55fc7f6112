//! PostgreSQL with the scorekit extension, through `psql`: joins the suite when
//! `SCOREKIT_CONFORMANCE_PSQL` holds the psql command line to a database with the extension
//! installed (`sql-plugins/postgres/tests/e2e.sh` sets it while its server runs).
//!
//! The fixture modules are loaded as bytes (`scorekit.load_model`; the anomaly versions as
//! versions of one model, deployed per stream step) and every answer is checked against the
//! module the suite compiled (the deployed alias, the stream's stored module). Rows go to SQL the
//! way a user sends them: `score_rows` over the case's rows as jsonb, `explain` per row,
//! `anomaly_update` per reading, `forecast` with `float8[]` values and `timestamptz[]`
//! timestamps. Policies are the extension's settings (`SET scorekit.null_inputs`, …). Errors are
//! told apart by SQLSTATE, the extension's one mapping of error kinds (`src/error.rs`).

use std::io::Write;
use std::process::{Command, Stdio};

use scorekit_host::names;
use serde_json::Value as Json;

use super::{Host, harness_error, quantile_column};
use crate::case::{Case, Op};
use crate::fixtures::Fixtures;
use crate::outcome::{ErrorOutcome, Outcome, Table, notice_kind};

/// The fixture modules, in the order they are loaded (the anomaly ones as versions 1, 2, 3 of
/// model `anomaly`).
const MODULES: [(&str, &str); 5] = [
    ("churn", "churn"),
    ("forecast", "forecast"),
    ("anomaly", "anomaly"),
    ("anomaly", "anomaly_rebuilt"),
    ("anomaly", "anomaly_retrained"),
];

/// The PostgreSQL host.
pub struct PostgresHost {
    psql: Vec<String>,
    loaded: bool,
    next_key: usize,
}

/// What one psql run printed.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl PostgresHost {
    /// The host, if `SCOREKIT_CONFORMANCE_PSQL` is set.
    pub fn from_env() -> Option<Self> {
        let cmd = std::env::var("SCOREKIT_CONFORMANCE_PSQL").ok()?;
        Some(PostgresHost {
            psql: cmd.split_whitespace().map(String::from).collect(),
            loaded: false,
            next_key: 0,
        })
    }

    /// Runs `sql` in a new session (UTC, so a timestamp without a zone is UTC as in the host
    /// layer's parser).
    fn exec(&self, sql: &str) -> Result<Run, String> {
        let (cmd, args) = self.psql.split_first().ok_or("SCOREKIT_CONFORMANCE_PSQL is empty")?;
        let mut child = Command::new(cmd)
            .args(args)
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{cmd}: {e}"))?;
        let script = format!("SET TimeZone = 'UTC';\n{sql}\n");
        child.stdin.take().ok_or("no stdin")?.write_all(script.as_bytes()).map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        Ok(Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        })
    }

    /// Runs `sql`; its output, or the harness error.
    fn query(&self, sql: &str) -> Result<String, String> {
        let r = self.exec(sql)?;
        if r.ok { Ok(r.stdout) } else { Err(format!("{sql}: {}", r.stderr.trim())) }
    }

    /// Loads the fixture modules once, checking the identity the extension reports.
    fn load(&mut self, fx: &Fixtures) -> Result<(), String> {
        if self.loaded {
            return Ok(());
        }
        self.query("CREATE EXTENSION IF NOT EXISTS scorekit")?;
        for (i, (name, fixture)) in MODULES.iter().enumerate() {
            let bytes = std::fs::read(fx.module_path(fixture)).map_err(|e| e.to_string())?;
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let deploy = i < 3;
            let sha = self.query(&format!(
                "SELECT sha256 FROM scorekit.load_model('{name}', '\\x{hex}'::bytea, deploy => {deploy})"
            ))?;
            if sha != fx.module_sha256(fixture) {
                return Err(format!(
                    "{fixture}: the extension reports {sha}, the suite compiled {}",
                    fx.module_sha256(fixture)
                ));
            }
        }
        self.loaded = true;
        Ok(())
    }

    /// Points `model` at the module of `fixture`.
    fn deploy(&self, fx: &Fixtures, model: &str, fixture: &str) -> Result<(), String> {
        self.query(&format!("SELECT scorekit.deploy('{model}', 'sha256:{}')", fx.module_sha256(fixture)))
            .map(|_| ())
    }

    /// Checks that `model` is served by the module of `fixture`.
    fn check_deployed(&self, fx: &Fixtures, model: &str, fixture: &str) -> Result<(), String> {
        let sha = self.query(&format!("SELECT sha256 FROM scorekit.aliases WHERE name = '{model}'"))?;
        if sha == fx.module_sha256(fixture) {
            Ok(())
        } else {
            Err(format!("'{model}' is served by {sha}, the suite compiled {}", fx.module_sha256(fixture)))
        }
    }

    fn answer(&mut self, case: &Case, fx: &Fixtures) -> Result<Outcome, String> {
        self.load(fx)?;
        let model = case.model.as_str();
        self.check_deployed(fx, model, model)?;
        let mut settings = String::new();
        if let Some(n) = &case.policy.nulls {
            settings.push_str(&format!("SET scorekit.null_inputs = '{n}';\n"));
        }
        if let Some(a) = &case.policy.absent {
            settings.push_str(&format!("SET scorekit.absent_inputs = '{a}';\n"));
        }
        let schema = &fx.artifact(model).schema;
        match case.op {
            Op::Score | Op::ScoreOnly => {
                let outputs = if case.op == Op::Score {
                    names::score_outputs(schema)
                } else {
                    vec!["score".to_string()]
                };
                if outputs.len() != 1 {
                    return Err("score_rows answers the first output of each row only".into());
                }
                let rows = Json::Array(case.input_rows());
                let r = self.exec(&format!(
                    "{settings}SELECT array_to_json(scorekit.score_rows('{model}', {}))",
                    jsonb(&rows)
                ))?;
                if !r.ok {
                    return Ok(error(&r.stderr));
                }
                let values: Vec<f64> =
                    serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {}", r.stdout))?;
                Ok(Outcome::Values(Table {
                    columns: outputs,
                    rows: values.into_iter().map(|v| vec![v]).collect(),
                    ..Table::default()
                }))
            }
            Op::Explain => {
                // One row per call: `scorekit.explain` explains one row.
                let mut t = Table { columns: names::explanation_terms(schema), ..Table::default() };
                for row in case.input_rows() {
                    let r = self.exec(&format!(
                        "{settings}SELECT json_agg(json_build_array(feature, contribution)) FROM scorekit.explain('{model}', {})",
                        jsonb(&row)
                    ))?;
                    if !r.ok {
                        return Ok(error(&r.stderr));
                    }
                    let pairs: Vec<(String, f64)> =
                        serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {}", r.stdout))?;
                    let (terms, values): (Vec<String>, Vec<f64>) = pairs.into_iter().unzip();
                    if terms != t.columns {
                        return Ok(Outcome::Values(Table { columns: terms, ..Table::default() }));
                    }
                    t.rows.push(values);
                }
                Ok(Outcome::Values(t))
            }
            Op::Stream => self.stream(case, fx, &settings),
            Op::StreamExplain => Err("no SQL function explains a stream step (see the case's skip)".into()),
            Op::Forecast => self.forecast(case, model),
        }
    }

    fn stream(&mut self, case: &Case, fx: &Fixtures, settings: &str) -> Result<Outcome, String> {
        let model = case.model.as_str();
        self.next_key += 1;
        let key = format!("{}-{}", case.id, self.next_key);
        let steps: Vec<(String, Vec<Json>)> = if case.steps.is_empty() {
            vec![(model.to_string(), case.input_rows())]
        } else {
            case.steps.iter().map(|s| (s.module.clone(), s.rows.clone())).collect()
        };
        let mut t = Table {
            columns: names::STREAM_OUTPUTS.iter().map(|s| s.to_string()).collect(),
            ..Table::default()
        };
        let mut served = model.to_string();
        let mut result = Ok(());
        'steps: for (module, rows) in steps {
            if served != module {
                self.deploy(fx, model, &module)?;
                served = module.clone();
            }
            let mut notice = None;
            for row in rows {
                let value = match &row {
                    Json::Object(o) => o.get(&fx.artifact(model).schema.inputs[0].name).cloned(),
                    Json::Array(a) if a.len() == 1 => a.first().cloned(),
                    _ => None,
                };
                let Some(Json::Number(v)) = value else {
                    result = Err(format!("anomaly_update takes one float8 reading, not {row}"));
                    break 'steps;
                };
                let r = self.exec(&format!(
                    "{settings}SELECT json_build_array(score, grade, is_anomaly::int, threshold) FROM scorekit.anomaly_update('{model}', '{key}', {v})"
                ))?;
                if !r.ok {
                    if served != model {
                        self.deploy(fx, model, model)?;
                    }
                    return Ok(error(&r.stderr));
                }
                if notice.is_none() {
                    notice = r.stderr.lines().find(|l| l.starts_with("NOTICE:")).map(String::from);
                }
                t.rows.push(serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {}", r.stdout))?);
            }
            let stored = self.query(&format!(
                "SELECT sha256 FROM scorekit.stream_state WHERE model = '{model}' AND stream_key = '{key}'"
            ))?;
            if stored != fx.module_sha256(&module) {
                result = Err(format!(
                    "stream state of module {stored}, the step ran on {}",
                    fx.module_sha256(&module)
                ));
                break;
            }
            t.notices.push(notice_kind(notice.as_deref()));
        }
        if served != model {
            self.deploy(fx, model, model)?;
        }
        result?;
        let readings = self.query(&format!(
            "SELECT readings FROM scorekit.stream_state WHERE model = '{model}' AND stream_key = '{key}'"
        ))?;
        t.readings = Some(readings.parse().map_err(|e| format!("readings {readings:?}: {e}"))?);
        Ok(Outcome::Values(t))
    }

    fn forecast(&mut self, case: &Case, model: &str) -> Result<Outcome, String> {
        let f = case.forecast.as_ref().ok_or("forecast case without 'forecast'")?;
        let values: Vec<String> = f
            .values
            .iter()
            .map(|v| match v {
                Json::Null => Ok("NULL".to_string()),
                Json::Number(n) => Ok(n.to_string()),
                other => Err(format!("a float8[] history holds numbers and NULL, not {other}")),
            })
            .collect::<Result<_, _>>()?;
        let history = format!("ARRAY[{}]::float8[]", values.join(","));
        let quantiles = format!(
            "ARRAY[{}]::float8[]",
            f.quantiles.iter().map(|q| format!("{q:?}")).collect::<Vec<_>>().join(",")
        );
        let horizon = f.horizon.unwrap_or(0);
        let call = match &f.timestamps {
            Some(ts) => {
                let ts: Vec<String> = ts
                    .iter()
                    .map(|t| match t {
                        Json::Null => Ok("NULL".to_string()),
                        Json::Number(n) => Ok(format!("to_timestamp({n})")),
                        Json::String(s) => Ok(format!("'{}'::timestamptz", s.replace('\'', "''"))),
                        other => Err(format!("a timestamptz[] holds timestamps, not {other}")),
                    })
                    .collect::<Result<_, _>>()?;
                format!(
                    "scorekit.forecast('{model}', {history}, ARRAY[{}]::timestamptz[], {horizon}, {quantiles})",
                    ts.join(",")
                )
            }
            None => format!("scorekit.forecast('{model}', {history}, {horizon}, {quantiles})"),
        };
        let gaps =
            f.gaps.as_ref().map_or(String::new(), |g| format!("SET scorekit.forecast_gaps = '{g}';\n"));
        let r = self.exec(&format!(
            "{gaps}SELECT json_agg(jsonb_build_array(step, mean) || to_jsonb(q) ORDER BY step) FROM {call}"
        ))?;
        if !r.ok {
            return Ok(error(&r.stderr));
        }
        let rows: Vec<Vec<f64>> =
            serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {}", r.stdout))?;
        let mut columns = vec!["step".to_string(), "mean".to_string()];
        columns.extend(f.quantiles.iter().map(|q| quantile_column(*q)));
        Ok(Outcome::Values(Table { columns, rows, ..Table::default() }))
    }
}

/// A JSON value as a jsonb literal.
fn jsonb(v: &Json) -> String {
    format!("$scorekit_json${v}$scorekit_json$::jsonb")
}

/// The host layer's kind of an extension error, by SQLSTATE (the table of the extension's
/// `src/error.rs`).
fn kind_of_sqlstate(state: &str) -> &'static str {
    match state {
        "22023" | "22004" | "0A000" | "42704" => "client",
        "22P03" | "38000" => "model",
        "57014" | "54000" => "limit",
        "53000" | "58030" => "unavailable",
        _ => "other",
    }
}

/// The outcome of a failed statement: `ERROR:  <SQLSTATE>: <message>` (verbose psql).
fn error(stderr: &str) -> Outcome {
    let line = stderr.lines().find_map(|l| l.strip_prefix("ERROR:  ")).unwrap_or(stderr.trim());
    let (kind, message) = match line.split_once(": ") {
        Some((state, msg)) if state.len() == 5 => {
            (kind_of_sqlstate(state), format!("{msg} (SQLSTATE {state})"))
        }
        _ => ("other", line.to_string()),
    };
    Outcome::Error(ErrorOutcome { kind: kind.to_string(), code: None, message })
}

impl Host for PostgresHost {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn run(&mut self, case: &Case, fx: &Fixtures) -> Outcome {
        self.answer(case, fx).unwrap_or_else(harness_error)
    }
}
