//! `host serve` over HTTP, on the compiled modules: the native JSON API (`/v1/models/…`) for
//! scores, explanations, forecasts and streams, the admin API to redeploy a stream's model. One
//! server per input policy (the policy is a server setting). Every answer must carry the module
//! identity the suite compiled.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::{Value as Json, json};

use super::{Host, harness_error, kind_of_code, quantile_column};
use crate::case::{Case, Op, Policy};
use crate::fixtures::Fixtures;
use crate::outcome::{ErrorOutcome, Outcome, Table, notice_kind};

const TOKEN: &str = "conformance";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server host.
pub struct ServerHost {
    bin: PathBuf,
    servers: BTreeMap<(Option<String>, Option<String>), Server>,
    agent: ureq::Agent,
    next_key: usize,
}

impl ServerHost {
    /// The server host, running `bin serve`.
    pub fn new(bin: PathBuf) -> Self {
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
        ServerHost { bin, servers: BTreeMap::new(), agent, next_key: 0 }
    }

    fn server(&mut self, policy: &Policy, fx: &Fixtures) -> Result<String, String> {
        let key = (policy.nulls.clone(), policy.absent.clone());
        if let Some(s) = self.servers.get(&key) {
            return Ok(s.base.clone());
        }
        let dir = fx.scratch().join(format!("server-{}", self.servers.len()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        for m in ["churn", "anomaly", "forecast"] {
            std::fs::copy(fx.module_path(m), dir.join(format!("{m}.wasm"))).map_err(|e| e.to_string())?;
        }
        let mut cmd = Command::new(&self.bin);
        cmd.arg("serve").arg("--models").arg(&dir);
        cmd.args([
            "--no-demo",
            "--no-state",
            "--port",
            "0",
            "--reload-ms",
            "0",
            "--admin-token",
            TOKEN,
            "--log-level",
            "warn",
        ]);
        if let Some(n) = &policy.nulls {
            cmd.args(["--null-inputs", n]);
        }
        if let Some(a) = &policy.absent {
            cmd.args(["--absent-inputs", a]);
        }
        let mut child =
            cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map_err(|e| e.to_string())?;
        let base = line
            .strip_prefix("listening on ")
            .and_then(|l| l.split_whitespace().next())
            .ok_or_else(|| format!("unexpected first line from host serve: {line:?}"))?
            .to_string();
        self.servers.insert(key, Server { child, base: base.clone() });
        Ok(base)
    }

    fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Json, Option<String>), String> {
        let resp = self
            .agent
            .post(url)
            .header("content-type", content_type)
            .send(&body[..])
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let sha =
            resp.headers().get("x-scorekit-model-sha256").and_then(|v| v.to_str().ok()).map(String::from);
        let text = resp.into_body().read_to_string().map_err(|e| e.to_string())?;
        let doc = serde_json::from_str(&text).unwrap_or(Json::String(text));
        Ok((status, doc, sha))
    }

    fn deploy(&self, base: &str, fx: &Fixtures, alias: &str, module: &str) -> Result<(), String> {
        let bytes = std::fs::read(fx.module_path(module)).map_err(|e| e.to_string())?;
        let resp = self
            .agent
            .put(&format!("{base}/admin/models/{alias}"))
            .header("authorization", &format!("Bearer {TOKEN}"))
            .send(&bytes[..])
            .map_err(|e| e.to_string())?;
        match resp.status().as_u16() {
            200 | 201 => Ok(()),
            s => Err(format!("deploying {module} as {alias}: HTTP {s}")),
        }
    }

    fn answer(&mut self, case: &Case, fx: &Fixtures) -> Result<Outcome, String> {
        let base = self.server(&case.policy, fx)?;
        let model = &case.model;
        let (ct, body) = match &case.csv {
            Some(text) => ("text/csv", text.clone().into_bytes()),
            None => ("application/json", json!({ "instances": case.input_rows() }).to_string().into_bytes()),
        };
        let check_sha = |sha: Option<&str>, module: &str| -> Result<(), String> {
            match sha {
                Some(s) if s == fx.module_sha256(module) => Ok(()),
                other => Err(format!(
                    "answered by module {other:?}, the suite compiled {}",
                    fx.module_sha256(module)
                )),
            }
        };
        match case.op {
            Op::Score | Op::Explain => {
                let action = if case.op == Op::Score { "score" } else { "explain" };
                let (status, doc, sha) =
                    self.post(&format!("{base}/v1/models/{model}:{action}"), ct, body)?;
                if status != 200 {
                    return Ok(error(status, &doc));
                }
                check_sha(sha.as_deref(), model)?;
                let (cols_key, rows_key) =
                    if case.op == Op::Score { ("outputs", "scores") } else { ("features", "contributions") };
                Ok(Outcome::Values(Table {
                    columns: strings(&doc[cols_key]),
                    rows: matrix(&doc[rows_key])?,
                    ..Table::default()
                }))
            }
            Op::ScoreOnly | Op::Stream | Op::StreamExplain => {
                self.next_key += 1;
                let key = format!("{}-{}", case.id, self.next_key);
                let steps: Vec<(String, Vec<Json>)> = if case.steps.is_empty() {
                    vec![(model.clone(), case.input_rows())]
                } else {
                    case.steps.iter().map(|s| (s.module.clone(), s.rows.clone())).collect()
                };
                let query = match case.op {
                    Op::ScoreOnly => "?learn=false",
                    Op::StreamExplain => "?explain=true",
                    _ => "",
                };
                let mut t = Table::default();
                let mut served = String::new();
                for (module, rows) in steps {
                    if served != module {
                        self.deploy(&base, fx, model, &module)?;
                        served = module.clone();
                    }
                    let body = json!({ "rows": rows }).to_string().into_bytes();
                    let (status, doc, sha) = self.post(
                        &format!("{base}/v1/models/{model}/streams/{key}{query}"),
                        "application/json",
                        body,
                    )?;
                    if status != 200 {
                        self.deploy(&base, fx, model, model)?;
                        return Ok(error(status, &doc));
                    }
                    check_sha(sha.as_deref(), &module)?;
                    check_sha(doc["sha256"].as_str(), &module)?;
                    let results = doc["results"].as_array().ok_or("no 'results'")?;
                    for r in results {
                        let mut row = vec![r["score"].as_f64().ok_or("score")?];
                        if case.op != Op::ScoreOnly {
                            row.push(r["grade"].as_f64().ok_or("grade")?);
                            row.push(if r["is_anomaly"].as_bool().ok_or("is_anomaly")? { 1.0 } else { 0.0 });
                            row.push(r["threshold"].as_f64().ok_or("threshold")?);
                        }
                        if case.op == Op::StreamExplain {
                            for v in r["contributions"].as_array().ok_or("contributions")? {
                                row.push(v.as_f64().ok_or("contribution")?);
                            }
                        }
                        t.rows.push(row);
                    }
                    if case.op != Op::ScoreOnly {
                        t.readings = doc["readings"].as_u64();
                        t.notices.push(notice_kind(doc["notice"].as_str()));
                    }
                    if case.op == Op::StreamExplain {
                        t.columns =
                            scorekit_host::names::STREAM_OUTPUTS.iter().map(|s| s.to_string()).collect();
                        t.columns.extend(strings(&doc["features"]));
                    }
                }
                if served != *model {
                    self.deploy(&base, fx, model, model)?;
                }
                if case.op == Op::ScoreOnly {
                    t.columns = vec!["score".into()];
                } else if case.op == Op::Stream {
                    t.columns = scorekit_host::names::STREAM_OUTPUTS.iter().map(|s| s.to_string()).collect();
                }
                Ok(Outcome::Values(t))
            }
            Op::Forecast => {
                let f = case.forecast.as_ref().ok_or("forecast case without 'forecast'")?;
                let mut req = json!({ "history": f.values, "quantiles": f.quantiles });
                if let Some(ts) = &f.timestamps {
                    req["timestamps"] = json!(ts);
                }
                if let Some(h) = f.horizon {
                    req["horizon"] = json!(h);
                }
                if let Some(g) = &f.gaps {
                    req["gaps"] = json!(g);
                }
                let (status, doc, sha) = self.post(
                    &format!("{base}/v1/models/{model}:forecast"),
                    "application/json",
                    req.to_string().into_bytes(),
                )?;
                if status != 200 {
                    return Ok(error(status, &doc));
                }
                check_sha(sha.as_deref(), model)?;
                let mean: Vec<f64> = doc["mean"]
                    .as_array()
                    .ok_or("mean")?
                    .iter()
                    .map(|v| v.as_f64().unwrap_or(f64::NAN))
                    .collect();
                let mut columns = vec!["step".to_string(), "mean".to_string()];
                let mut qs = Vec::new();
                for q in &f.quantiles {
                    columns.push(quantile_column(*q));
                    let key = serde_json::Number::from_f64(*q).map(|n| n.to_string()).unwrap_or_default();
                    let v: Vec<f64> = doc["quantiles"][&key]
                        .as_array()
                        .ok_or_else(|| format!("quantile {key}"))?
                        .iter()
                        .map(|v| v.as_f64().unwrap_or(f64::NAN))
                        .collect();
                    qs.push(v);
                }
                let rows = (0..mean.len())
                    .map(|i| {
                        let mut r = vec![(i + 1) as f64, mean[i]];
                        r.extend(qs.iter().map(|v| v[i]));
                        r
                    })
                    .collect();
                Ok(Outcome::Values(Table { columns, rows, ..Table::default() }))
            }
        }
    }
}

fn error(status: u16, doc: &Json) -> Outcome {
    let code = doc["error"]["code"].as_str().unwrap_or("").to_string();
    let message = doc["error"]["message"].as_str().map_or_else(|| doc.to_string(), String::from);
    let kind = if code.is_empty() { format!("http {status}") } else { kind_of_code(&code).to_string() };
    Outcome::Error(ErrorOutcome { kind, code: Some(code), message })
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap_or("").to_string()).collect()).unwrap_or_default()
}

fn matrix(v: &Json) -> Result<Vec<Vec<f64>>, String> {
    v.as_array()
        .ok_or("not an array")?
        .iter()
        .map(|r| {
            r.as_array()
                .ok_or("not a row")
                .map(|r| r.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        })
        .collect::<Result<_, _>>()
        .map_err(String::from)
}

impl Host for ServerHost {
    fn name(&self) -> &'static str {
        "server"
    }

    fn run(&mut self, case: &Case, fx: &Fixtures) -> Outcome {
        self.answer(case, fx).unwrap_or_else(harness_error)
    }
}
