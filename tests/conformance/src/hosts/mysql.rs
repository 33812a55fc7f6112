//! MySQL/MariaDB with the scorekit plugin, through the `mariadb` (or `mysql`) client: joins the
//! suite when `SCOREKIT_CONFORMANCE_MYSQL` holds the client command line to a server with the
//! plugin installed and `SCOREKIT_CONFORMANCE_MYSQL_MODELS` names the plugin's model directory
//! (`sql-plugins/mysql/tests/e2e.sh` sets both while its server runs).
//!
//! The fixture modules are copied into the model directory as versions of `conformance_<name>`
//! (the anomaly ones as versions 1, 2, 3 of `conformance_anomaly`), each alias a symlink that a
//! stream case re-points per step (a deploy), and every module's identity is checked against the
//! one the suite compiled. Rows go to SQL the way a user sends them: a temporary table of JSON
//! rows scored in one statement with `scorekit_score_json` / `scorekit_explain_json` (so rows are
//! numbered over the statement), stream steps as `scorekit_anomaly_json` over a step's readings
//! (RCF readings scored without learning: one step of a new stream with `learn` false),
//! forecasts as `scorekit_forecast` with a JSON history, timestamps and configuration. Policies
//! are the functions' options. Errors are told apart by the server error number, the plugin's
//! one mapping of error kinds (`sql-plugins/mysql/src/error.rs`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use scorekit_host::names;
use serde_json::Value as Json;

use super::{Host, harness_error, quantile_column};
use crate::case::{Case, Op};
use crate::fixtures::Fixtures;
use crate::outcome::{ErrorOutcome, Outcome, Table, notice_kind};

/// Fixture → (model name, version) in the model directory.
const MODULES: [(&str, &str, u32); 5] = [
    ("churn", "conformance_churn", 1),
    ("forecast", "conformance_forecast", 1),
    ("anomaly", "conformance_anomaly", 1),
    ("anomaly_rebuilt", "conformance_anomaly", 2),
    ("anomaly_retrained", "conformance_anomaly", 3),
];

/// The MySQL host.
pub struct MysqlHost {
    client: Vec<String>,
    models: PathBuf,
    loaded: bool,
    next_key: usize,
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn name_of(fixture: &str) -> &'static str {
    MODULES.iter().find(|m| m.0 == fixture).map_or("conformance_unknown", |m| m.1)
}

fn version_of(fixture: &str) -> u32 {
    MODULES.iter().find(|m| m.0 == fixture).map_or(0, |m| m.2)
}

/// A JSON value as an SQL string literal.
fn literal(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "''"))
}

/// The host layer's kind of a plugin error, by error number (the table of the plugin's
/// `src/error.rs`).
fn kind_of_errno(errno: &str) -> &'static str {
    match errno {
        "1210" => "client",
        "1105" => "model",
        "1226" => "limit",
        "1317" => "interrupted",
        "1041" => "unavailable",
        _ => "other",
    }
}

/// The outcome of a failed statement: `ERROR 1210 (HY000) at line 3: scorekit: …`.
fn error(stderr: &str) -> Outcome {
    let line = stderr.lines().find(|l| l.starts_with("ERROR ")).unwrap_or(stderr.trim());
    let errno = line.trim_start_matches("ERROR ").split(' ').next().unwrap_or("");
    let message = line.split_once(": ").map_or(line, |(_, m)| m).to_string();
    Outcome::Error(ErrorOutcome {
        kind: kind_of_errno(errno).to_string(),
        code: None,
        message: format!("{message} (error {errno})"),
    })
}

impl MysqlHost {
    /// The host, if `SCOREKIT_CONFORMANCE_MYSQL` and `SCOREKIT_CONFORMANCE_MYSQL_MODELS` are set.
    pub fn from_env() -> Option<Self> {
        let cmd = std::env::var("SCOREKIT_CONFORMANCE_MYSQL").ok()?;
        let models = std::env::var_os("SCOREKIT_CONFORMANCE_MYSQL_MODELS")?;
        Some(MysqlHost {
            client: cmd.split_whitespace().map(String::from).collect(),
            models: PathBuf::from(models),
            loaded: false,
            next_key: 0,
        })
    }

    /// Runs `sql` (statements separated by `;`) in a new session.
    fn exec(&self, sql: &str) -> Result<Run, String> {
        let (cmd, args) = self.client.split_first().ok_or("SCOREKIT_CONFORMANCE_MYSQL is empty")?;
        let mut child = Command::new(cmd)
            .args(args)
            .args(["-N", "-B", "-r"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{cmd}: {e}"))?;
        // Written from a thread: the client answers while it reads, and a full stdout pipe must
        // not stall a long input.
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let input = sql.as_bytes().to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        // A client that stopped at an error closes its input early: its stderr says why.
        let _ = writer.join();
        Ok(Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).trim_end().to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        })
    }

    fn query(&self, sql: &str) -> Result<String, String> {
        let r = self.exec(sql)?;
        if r.ok { Ok(r.stdout) } else { Err(format!("{sql}: {}", r.stderr.trim())) }
    }

    /// Points the alias of `fixture`'s model at `fixture`'s version (atomically: a new symlink
    /// renamed over the old one).
    fn deploy(&self, fixture: &str) -> Result<(), String> {
        let name = name_of(fixture);
        let tmp = self.models.join(format!(".{name}.wasm.tmp"));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(format!("{name}@{}.wasm", version_of(fixture)), &tmp)
            .map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, self.models.join(format!("{name}.wasm"))).map_err(|e| e.to_string())
    }

    /// Copies the fixture modules in once and checks the identity the plugin reports.
    fn load(&mut self, fx: &Fixtures) -> Result<(), String> {
        if self.loaded {
            return Ok(());
        }
        for (fixture, name, version) in MODULES {
            let dest = self.models.join(format!("{name}@{version}.wasm"));
            std::fs::copy(fx.module_path(fixture), &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
            if version == 1 {
                self.deploy(fixture)?;
            }
            let sha =
                self.query(&format!("SELECT JSON_VALUE(scorekit_schema('{name}@{version}'), '$.sha256')"))?;
            if sha != fx.module_sha256(fixture) {
                return Err(format!(
                    "{fixture}: the plugin reports {sha}, the suite compiled {}",
                    fx.module_sha256(fixture)
                ));
            }
        }
        self.loaded = true;
        Ok(())
    }

    fn options(case: &Case, extra: &[(&str, Json)]) -> String {
        let mut o = serde_json::Map::new();
        if let Some(n) = &case.policy.nulls {
            o.insert("null_inputs".into(), n.clone().into());
        }
        if let Some(a) = &case.policy.absent {
            o.insert("absent_inputs".into(), a.clone().into());
        }
        for (k, v) in extra {
            o.insert((*k).into(), v.clone());
        }
        literal(&Json::Object(o).to_string())
    }

    /// One statement over the case's rows (a temporary table in row order): one answer per row.
    fn per_row(&self, case: &Case, function: &str) -> Result<Result<Vec<String>, Outcome>, String> {
        let rows = case.input_rows();
        if rows.is_empty() {
            return Err("a case without rows".into());
        }
        let values: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| format!("({}, {})", i + 1, literal(&r.to_string())))
            .collect();
        let sql = format!(
            "CREATE DATABASE IF NOT EXISTS scorekit_conformance;\nUSE scorekit_conformance;\nCREATE TEMPORARY TABLE rows_in (n int PRIMARY KEY, r longtext);\nINSERT INTO rows_in VALUES {};\nSELECT {function}('{}', r, {}) FROM rows_in ORDER BY n;\n",
            values.join(","),
            name_of(&case.model),
            Self::options(case, &[])
        );
        let r = self.exec(&sql)?;
        if !r.ok {
            return Ok(Err(error(&r.stderr)));
        }
        let lines: Vec<String> = r.stdout.lines().map(String::from).collect();
        if lines.len() != rows.len() {
            return Err(format!("{} answers for {} rows", lines.len(), rows.len()));
        }
        Ok(Ok(lines))
    }

    fn answer(&mut self, case: &Case, fx: &Fixtures) -> Result<Outcome, String> {
        self.load(fx)?;
        let schema = &fx.artifact(&case.model).schema;
        match case.op {
            Op::ScoreOnly => self.score_only(case),
            Op::Score => {
                let columns = names::score_outputs(schema);
                if columns.len() != 1 {
                    return Err("scorekit_score_json answers a model's first output only".into());
                }
                let lines = match self.per_row(case, "scorekit_score_json")? {
                    Ok(l) => l,
                    Err(e) => return Ok(e),
                };
                let rows = lines
                    .iter()
                    .map(|l| l.trim().parse::<f64>().map(|v| vec![v]).map_err(|e| format!("{l:?}: {e}")))
                    .collect::<Result<_, _>>()?;
                Ok(Outcome::Values(Table { columns, rows, ..Table::default() }))
            }
            Op::Explain => {
                let lines = match self.per_row(case, "scorekit_explain_json")? {
                    Ok(l) => l,
                    Err(e) => return Ok(e),
                };
                let mut t = Table { columns: names::explanation_terms(schema), ..Table::default() };
                for l in lines {
                    let Json::Object(o) =
                        serde_json::from_str::<Json>(&l).map_err(|e| format!("{e}: {l}"))?
                    else {
                        return Err(format!("not a JSON object: {l}"));
                    };
                    // The terms, in the order the text has them (serde_json's map sorts its keys).
                    let mut terms: Vec<(usize, String)> = o
                        .keys()
                        .map(|k| {
                            (l.find(&format!("{}:", Json::from(k.as_str()))).unwrap_or(usize::MAX), k.clone())
                        })
                        .collect();
                    terms.sort();
                    let terms: Vec<String> = terms.into_iter().map(|(_, k)| k).collect();
                    if terms != t.columns {
                        return Ok(Outcome::Values(Table { columns: terms, ..Table::default() }));
                    }
                    t.rows.push(t.columns.iter().map(|k| o[k].as_f64().unwrap_or(f64::NAN)).collect());
                }
                Ok(Outcome::Values(t))
            }
            Op::Stream | Op::StreamExplain => {
                let result = self.stream(case, fx);
                self.deploy(&case.model)?;
                result
            }
            Op::Forecast => self.forecast(case),
        }
    }

    /// RCF readings scored as one batch against the trained state, learning nothing: a step of
    /// a new stream with `learn` false (one row per call would score each reading alone, without
    /// the readings before it in the batch).
    fn score_only(&mut self, case: &Case) -> Result<Outcome, String> {
        self.next_key += 1;
        let key = format!("{}-{}-{}", case.id, std::process::id(), self.next_key);
        let r = self.exec(&format!(
            "SELECT scorekit_anomaly_json('{}', {}, {}, {});",
            name_of(&case.model),
            literal(&key),
            literal(&Json::Array(case.input_rows()).to_string()),
            Self::options(case, &[("learn", false.into())])
        ))?;
        if !r.ok {
            return Ok(error(&r.stderr));
        }
        let doc: Json = serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {}", r.stdout))?;
        if doc["readings"].as_u64() != Some(0) {
            return Err(format!("scoring without learning learned: {}", doc["readings"]));
        }
        let rows = doc["results"]
            .as_array()
            .ok_or("no results")?
            .iter()
            .map(|r| r["score"].as_f64().map(|v| vec![v]).ok_or_else(|| format!("no score in {r}")))
            .collect::<Result<_, _>>()?;
        Ok(Outcome::Values(Table { columns: vec!["score".to_string()], rows, ..Table::default() }))
    }

    fn stream(&mut self, case: &Case, fx: &Fixtures) -> Result<Outcome, String> {
        let schema = &fx.artifact(&case.model).schema;
        let model = name_of(&case.model);
        self.next_key += 1;
        let key = format!("{}-{}-{}", case.id, std::process::id(), self.next_key);
        let steps: Vec<(String, Vec<Json>)> = if case.steps.is_empty() {
            vec![(case.model.clone(), case.input_rows())]
        } else {
            case.steps.iter().map(|s| (s.module.clone(), s.rows.clone())).collect()
        };
        let explain = case.op == Op::StreamExplain;
        let mut t = Table {
            columns: names::STREAM_OUTPUTS.iter().map(|s| s.to_string()).collect(),
            ..Table::default()
        };
        let terms = names::explanation_terms(schema);
        if explain {
            t.columns.extend(terms.iter().cloned());
        }
        let options = Self::options(case, &[("explain", explain.into())]);
        for (module, rows) in steps {
            self.deploy(&module)?;
            let r = self.exec(&format!(
                "SELECT scorekit_anomaly_json('{model}', {}, {}, {options});",
                literal(&key),
                literal(&Json::Array(rows).to_string())
            ))?;
            if !r.ok {
                return Ok(error(&r.stderr));
            }
            let doc: Json = serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {}", r.stdout))?;
            if doc["sha256"].as_str() != Some(fx.module_sha256(&module)) {
                return Err(format!(
                    "the step ran on {}, the suite compiled {}",
                    doc["sha256"],
                    fx.module_sha256(&module)
                ));
            }
            for step in doc["results"].as_array().ok_or("no results")? {
                let mut row: Vec<f64> = names::STREAM_OUTPUTS
                    .iter()
                    .map(|k| match &step[*k] {
                        Json::Bool(b) => f64::from(u8::from(*b)),
                        v => v.as_f64().unwrap_or(f64::NAN),
                    })
                    .collect();
                if explain {
                    let c = &step["contributions"];
                    row.extend(terms.iter().map(|term| c[term].as_f64().unwrap_or(f64::NAN)));
                }
                t.rows.push(row);
            }
            t.readings = doc["readings"].as_u64();
            t.notices.push(notice_kind(doc["notice"].as_str()));
        }
        Ok(Outcome::Values(t))
    }

    fn forecast(&mut self, case: &Case) -> Result<Outcome, String> {
        let f = case.forecast.as_ref().ok_or("forecast case without 'forecast'")?;
        let mut config = serde_json::Map::new();
        config.insert("quantiles".into(), f.quantiles.iter().map(|q| Json::from(*q)).collect());
        if let Some(h) = f.horizon {
            config.insert("prediction_length".into(), h.into());
        }
        if let Some(g) = &f.gaps {
            config.insert("gaps".into(), g.clone().into());
        }
        let timestamps = f
            .timestamps
            .as_ref()
            .map_or("NULL".to_string(), |ts| literal(&Json::Array(ts.clone()).to_string()));
        let r = self.exec(&format!(
            "SELECT scorekit_forecast('{}', {}, {timestamps}, {});",
            name_of(&case.model),
            literal(&Json::Array(f.values.clone()).to_string()),
            literal(&Json::Object(config).to_string())
        ))?;
        if !r.ok {
            return Ok(error(&r.stderr));
        }
        let doc: Json = serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {}", r.stdout))?;
        let mean = doc["mean"].as_array().ok_or("no mean")?;
        let mut columns = vec!["step".to_string(), "mean".to_string()];
        columns.extend(f.quantiles.iter().map(|q| quantile_column(*q)));
        let rows = (0..mean.len())
            .map(|i| {
                let mut row = vec![(i + 1) as f64, mean[i].as_f64().unwrap_or(f64::NAN)];
                row.extend(
                    f.quantiles
                        .iter()
                        .map(|q| doc["quantiles"][q.to_string()][i].as_f64().unwrap_or(f64::NAN)),
                );
                row
            })
            .collect();
        Ok(Outcome::Values(Table { columns, rows, ..Table::default() }))
    }
}

impl Host for MysqlHost {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn run(&mut self, case: &Case, fx: &Fixtures) -> Outcome {
        if case.csv.is_some() {
            return harness_error("a CSV case needs a skip reason for mysql in cases.json");
        }
        self.answer(case, fx).unwrap_or_else(harness_error)
    }
}
