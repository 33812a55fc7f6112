//! `host score` on the compiled modules: the case's rows are written to a file (JSON Lines, or
//! the case's CSV), the command's CSV output is read back. Its columns must follow the host
//! layer's flat naming (`contribution_<term>` after the score columns); errors are told apart by
//! the exit status (the CLI's one mapping of error kinds).

use std::path::PathBuf;
use std::process::Command;

use scorekit_host::names;

use super::{Host, harness_error};
use crate::case::{Case, Op};
use crate::fixtures::Fixtures;
use crate::outcome::{ErrorOutcome, Outcome, Table};

/// The CLI host.
pub struct CliHost {
    bin: PathBuf,
}

/// The `host` binary: `SCOREKIT_HOST_BIN`, else next to this test executable
/// (`target/<profile>/host`).
///
/// # Panics
/// When it cannot be found (build it: `cargo build --release -p host`).
pub fn host_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SCOREKIT_HOST_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target/<profile>");
    let bin = profile_dir.join("host");
    assert!(
        bin.is_file(),
        "{} not found: build it with `cargo build --release -p host` (or set SCOREKIT_HOST_BIN)",
        bin.display()
    );
    bin
}

impl CliHost {
    /// The CLI host, running `bin`.
    pub fn new(bin: PathBuf) -> Self {
        CliHost { bin }
    }
}

fn kind_of_status(code: Option<i32>) -> &'static str {
    match code {
        Some(65) => "client",
        Some(69) => "unavailable",
        Some(70) => "model",
        Some(75) => "limit",
        Some(130) => "interrupted",
        _ => "other",
    }
}

fn parse_csv(text: &str) -> Result<(Vec<String>, Vec<Vec<f64>>), String> {
    let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().map_err(|e| e.to_string())?.iter().map(String::from).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        rows.push(
            rec.iter()
                .map(|v| v.parse::<f64>().map_err(|e| format!("'{v}': {e}")))
                .collect::<Result<_, _>>()?,
        );
    }
    Ok((header, rows))
}

impl Host for CliHost {
    fn name(&self) -> &'static str {
        "cli"
    }

    fn run(&mut self, case: &Case, fx: &Fixtures) -> Outcome {
        let dir = fx.scratch().join(format!("cli-{}", case.id));
        let _ = std::fs::create_dir_all(&dir);
        let mut cmd = Command::new(&self.bin);
        cmd.arg("score").arg(fx.module_path(&case.model));
        let schema = fx.artifact(&case.model).schema.clone();
        let input = match (&case.csv, case.op) {
            (_, Op::Forecast) => {
                let f = case.forecast.as_ref().expect("forecast case");
                let mut text = String::from("demand_mw");
                if f.timestamps.is_some() {
                    text.push_str(",timestamp");
                }
                text.push('\n');
                for (i, v) in f.values.iter().enumerate() {
                    match v {
                        serde_json::Value::Null => {}
                        serde_json::Value::String(s) => text.push_str(s),
                        other => text.push_str(&other.to_string()),
                    }
                    if let Some(ts) = &f.timestamps {
                        text.push(',');
                        match &ts[i] {
                            serde_json::Value::String(s) => text.push_str(s),
                            other => text.push_str(&other.to_string()),
                        }
                    }
                    text.push('\n');
                }
                if f.timestamps.is_some() {
                    cmd.args(["--timestamp-column", "timestamp"]);
                }
                if let Some(h) = f.horizon {
                    cmd.args(["--horizon", &h.to_string()]);
                }
                let qs: Vec<String> = f.quantiles.iter().map(|q| q.to_string()).collect();
                cmd.args(["--quantiles", &qs.join(",")]);
                if let Some(g) = &f.gaps {
                    cmd.args(["--gaps", g]);
                }
                let p = dir.join("history.csv");
                std::fs::write(&p, text).expect("writing the history");
                p
            }
            (Some(text), _) => {
                let p = dir.join("input.csv");
                std::fs::write(&p, text).expect("writing the input");
                p
            }
            (None, _) => {
                let p = dir.join("input.jsonl");
                std::fs::write(&p, case.rows_as_json_lines()).expect("writing the input");
                p
            }
        };
        cmd.arg("--input").arg(&input);
        if let Some(n) = &case.policy.nulls {
            cmd.args(["--null-inputs", n]);
        }
        if let Some(a) = &case.policy.absent {
            cmd.args(["--absent-inputs", a]);
        }
        match case.op {
            Op::Explain | Op::StreamExplain => {
                cmd.arg("--explain");
            }
            Op::ScoreOnly => {
                cmd.arg("--no-update");
            }
            _ => {}
        }
        if !case.steps.is_empty() {
            // Single-step stream cases only (others are skipped with a reason in cases.json).
            let rows: String = case.steps[0].rows.iter().map(|r| format!("{r}\n")).collect();
            std::fs::write(&input, rows).expect("writing the input");
        }
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) => return harness_error(format!("running {}: {e}", self.bin.display())),
        };
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let message = stderr.trim().strip_prefix("error: ").unwrap_or(stderr.trim()).to_string();
            return Outcome::Error(ErrorOutcome {
                kind: kind_of_status(out.status.code()).into(),
                code: None,
                message,
            });
        }
        let (header, rows) = match parse_csv(&String::from_utf8_lossy(&out.stdout)) {
            Ok(x) => x,
            Err(e) => return harness_error(format!("unreadable output: {e}")),
        };
        // The CLI's own naming, checked here, then the canonical table.
        let flat_terms: Vec<String> = names::explanation_columns(&schema);
        let (expected, keep): (Vec<String>, std::ops::Range<usize>) = match case.op {
            Op::Score => (names::score_outputs(&schema), 0..header.len()),
            Op::ScoreOnly => (names::score_outputs(&schema), 0..header.len()),
            Op::Explain => {
                let mut e = names::score_outputs(&schema);
                let n = e.len();
                e.extend(flat_terms.iter().cloned());
                (e, n..header.len())
            }
            Op::Stream => (names::STREAM_OUTPUTS.iter().map(|s| s.to_string()).collect(), 0..header.len()),
            Op::StreamExplain => {
                let mut e: Vec<String> = names::STREAM_OUTPUTS.iter().map(|s| s.to_string()).collect();
                e.extend(flat_terms.iter().cloned());
                (e, 0..header.len())
            }
            Op::Forecast => (header.clone(), 0..header.len()),
        };
        if header != expected {
            return harness_error(format!("columns {header:?}, the host layer names them {expected:?}"));
        }
        let columns = header[keep.clone()]
            .iter()
            .map(|c| c.strip_prefix(names::CONTRIBUTION_PREFIX).unwrap_or(c).to_string())
            .collect();
        let rows = rows.into_iter().map(|r| r[keep.clone()].to_vec()).collect();
        let mut t = Table { columns, rows, ..Table::default() };
        if matches!(case.op, Op::Stream | Op::StreamExplain) {
            t.readings = Some(t.rows.len() as u64);
        }
        Outcome::Values(t)
    }
}
