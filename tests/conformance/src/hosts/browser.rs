//! The browser: headless Chromium running the suite's modules with `web/js/scorekit.js` (the
//! browser host, `web/`). On its first case the host writes every case and module to a scratch
//! directory and runs `node web/tests/conformance.mjs` once, which drives one page through all
//! of them and prints the raw answers; each case's outcome is then read from them. Joins the
//! suite when `SCOREKIT_CONFORMANCE_BROWSER=1` (set by `web/test.sh`, which installs Chromium and
//! the node tools). Every answer must come from the module the suite compiled.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value as Json, json};

use super::{Host, harness_error, quantile_column};
use crate::case::{Case, Op, load_cases, suite_dir};
use crate::fixtures::Fixtures;
use crate::outcome::{ErrorOutcome, Outcome, Table, notice_kind};

/// The browser host.
pub struct BrowserHost {
    answers: Option<Result<BTreeMap<String, Json>, String>>,
}

impl BrowserHost {
    /// The host, if `SCOREKIT_CONFORMANCE_BROWSER=1`.
    pub fn from_env() -> Option<Self> {
        (std::env::var("SCOREKIT_CONFORMANCE_BROWSER").ok()? == "1").then_some(BrowserHost { answers: None })
    }

    fn script() -> PathBuf {
        suite_dir().join("../../web/tests/conformance.mjs")
    }

    /// Runs every case in one browser session.
    fn run_all(fx: &Fixtures) -> Result<BTreeMap<String, Json>, String> {
        let cases = load_cases();
        let dir = fx.scratch().join("browser");
        let modules = dir.join("modules");
        std::fs::create_dir_all(&modules).map_err(|e| e.to_string())?;
        for m in ["churn", "anomaly", "anomaly_rebuilt", "anomaly_retrained", "forecast"] {
            std::fs::copy(fx.module_path(m), modules.join(format!("{m}.wasm"))).map_err(|e| e.to_string())?;
        }
        let list: Vec<Json> = cases
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "op": op_name(c.op),
                    "model": c.model,
                    "policy": { "nulls": c.policy.nulls, "absent": c.policy.absent },
                    "rows": c.input_rows(),
                    "csv": c.csv,
                    "steps": c.steps.iter().map(|s| json!({ "module": s.module, "rows": s.rows })).collect::<Vec<_>>(),
                    "forecast": c.forecast.as_ref().map(|f| json!({
                        "values": f.values, "timestamps": f.timestamps, "horizon": f.horizon,
                        "quantiles": f.quantiles, "gaps": f.gaps,
                    })),
                })
            })
            .collect();
        std::fs::write(dir.join("cases.json"), Json::Array(list).to_string()).map_err(|e| e.to_string())?;
        let out = Command::new("node")
            .arg(Self::script())
            .arg(&dir)
            .output()
            .map_err(|e| format!("running node: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed: {}",
                Self::script().display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let answers: Vec<Json> = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("the browser's answers are not JSON: {e}"))?;
        if answers.len() != cases.len() {
            return Err(format!("{} answers for {} cases", answers.len(), cases.len()));
        }
        Ok(cases.into_iter().map(|c| c.id).zip(answers).collect())
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Score => "score",
        Op::Explain => "explain",
        Op::Stream => "stream",
        Op::StreamExplain => "stream_explain",
        Op::ScoreOnly => "score_only",
        Op::Forecast => "forecast",
    }
}

fn numbers(v: &Json) -> Result<Vec<f64>, String> {
    // JSON has no NaN: the page's NaN arrives as null.
    v.as_array().ok_or("not an array")?.iter().map(|x| Ok(x.as_f64().unwrap_or(f64::NAN))).collect()
}

fn matrix(v: &Json) -> Result<Vec<Vec<f64>>, String> {
    v.as_array().ok_or("rows: not an array")?.iter().map(numbers).collect()
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap_or("").to_string()).collect()).unwrap_or_default()
}

fn outcome(case: &Case, fx: &Fixtures, answer: &Json) -> Result<Outcome, String> {
    if let Some(h) = answer.get("harness") {
        return Err(format!("in the page: {h}"));
    }
    if let Some(e) = answer.get("error") {
        return Ok(Outcome::Error(ErrorOutcome {
            kind: e["kind"].as_str().unwrap_or("").into(),
            code: e["code"].as_str().map(String::from),
            message: e["message"].as_str().unwrap_or("").into(),
        }));
    }
    let ok = &answer["ok"];
    let modules: Vec<&str> = if case.steps.is_empty() {
        vec![case.model.as_str()]
    } else {
        case.steps.iter().map(|s| s.module.as_str()).collect()
    };
    for (module, sha) in modules.iter().zip(strings(&answer["sha256"])) {
        if sha != fx.module_sha256(module) {
            return Err(format!("answered by module {sha}, the suite compiled {}", fx.module_sha256(module)));
        }
    }
    match case.op {
        Op::Score | Op::Explain | Op::ScoreOnly => Ok(Outcome::Values(Table {
            columns: strings(&ok["columns"]),
            rows: matrix(&ok["rows"])?,
            ..Table::default()
        })),
        Op::Stream | Op::StreamExplain => {
            let mut t = Table::default();
            for (step, module) in ok["steps"].as_array().ok_or("no steps")?.iter().zip(&modules) {
                if step["sha256"].as_str() != Some(fx.module_sha256(module)) {
                    return Err(format!("the stream step was answered by module {}", step["sha256"]));
                }
                t.columns = strings(&step["columns"]);
                t.rows.extend(matrix(&step["rows"])?);
                t.readings = step["readings"].as_u64();
                t.notices.push(notice_kind(step["notice"].as_str()));
            }
            Ok(Outcome::Values(t))
        }
        Op::Forecast => {
            let f = case.forecast.as_ref().ok_or("forecast case without 'forecast'")?;
            let mean = numbers(&ok["mean"])?;
            let qs = matrix(&ok["quantiles"])?;
            let mut columns = vec!["step".to_string(), "mean".to_string()];
            columns.extend(f.quantiles.iter().map(|q| quantile_column(*q)));
            let rows = (0..mean.len())
                .map(|i| {
                    let mut r = vec![(i + 1) as f64, mean[i]];
                    r.extend(qs.iter().map(|v| v.get(i).copied().unwrap_or(f64::NAN)));
                    r
                })
                .collect();
            Ok(Outcome::Values(Table { columns, rows, ..Table::default() }))
        }
    }
}

impl Host for BrowserHost {
    fn name(&self) -> &'static str {
        "browser"
    }

    fn run(&mut self, case: &Case, fx: &Fixtures) -> Outcome {
        let answers = self.answers.get_or_insert_with(|| Self::run_all(fx));
        match answers {
            Err(e) => harness_error(e.clone()),
            Ok(map) => match map.get(&case.id) {
                Some(a) => outcome(case, fx, a).unwrap_or_else(harness_error),
                None => harness_error(format!("no answer for case {}", case.id)),
            },
        }
    }
}
