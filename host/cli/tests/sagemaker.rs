//! `host serve` speaks SageMaker exactly (it is the test remote, and clients depend on it), and
//! models can be answered by a remote endpoint — here another `host serve` — under the same
//! calls, per the policy file: `remote`, `local-then-remote`, `shadow`, through `host serve` and
//! `host score`, and through the remote scorer (the official AWS SDK) in this process.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use scorekit_host::remote::{Endpoint, EndpointConfig, RemoteScorer};
use scorekit_host::{BatchBuilder, Code, InputPolicy, Scorer, Value};
use serde_json::{Value as Json, json};

/// Credentials for the SDK calls this process makes (the standard chain's environment link),
/// set once before any test reads or passes on the environment.
fn setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: every test calls this first; `Once` holds the others until it is done, so no
    // thread reads the environment meanwhile.
    ONCE.call_once(|| unsafe {
        for (k, v) in AWS_ENV {
            std::env::set_var(k, v);
        }
    });
}

fn inspect_json(module: &Path) -> String {
    let out = host().arg("inspect").arg(module).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The environment a front server needs to sign its calls to the remote (dummy credentials
/// through the standard chain), and never to look for instance metadata.
const AWS_ENV: [(&str, &str); 4] = [
    ("AWS_ACCESS_KEY_ID", "AKIDFRONT"),
    ("AWS_SECRET_ACCESS_KEY", "front-secret"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_REGION", "us-east-1"),
];

fn start_with_env(cwd: &Path, args: &[&str]) -> Server {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut cmd = host();
    cmd.arg("serve").args(["--port", "0", "--log-level", "warn"]).args(args).current_dir(cwd);
    for (k, v) in AWS_ENV {
        cmd.env(k, v);
    }
    let mut child = cmd
        .env("SCOREKIT_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-tests-cache"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    std::thread::spawn(move || for _ in out.lines() {});
    Server { child, base }
}

#[test]
fn sagemaker_routes_answer_as_sagemaker_does() {
    setup();
    let dir = models_copy("exact");
    std::fs::write(dir.join("models/trap.wasm"), abi_module("unreachable", 8)).unwrap();
    std::fs::write(dir.join("models/spin.wasm"), abi_module("(loop $l (br $l)) i32.const 0", 0)).unwrap();
    let models = dir.join("models");
    let server = Server::start(
        &dir,
        &["--models", models.to_str().unwrap(), "--deadline-ms", "200", "--max-body-bytes", "20000"],
    );
    let url = server.url("/endpoints/churn/invocations");
    let rows = churn_rows(5);
    let body = rows.join("\n") + "\n";

    // The XGBoost container answers every row on one comma-joined line; lines through Accept.
    let joined = post(&url, "text/csv", body.as_bytes());
    assert_eq!(joined.status, 200, "{}", joined.body);
    assert!(!joined.body.contains('\n') && joined.body.matches(',').count() == 4, "{:?}", joined.body);
    let lines = send(
        "POST",
        &url,
        &[("content-type", "text/csv"), ("accept", "text/csv;lines=true")],
        Some(body.as_bytes()),
    );
    assert_eq!(lines.body.lines().count(), 5);
    assert_eq!(csv_values(&joined.body), csv_values(&lines.body));

    // x-amzn-RequestId on every response, each its own.
    let mut ids = Vec::new();
    for r in [
        &joined,
        &lines,
        &send("GET", &server.url("/ping"), &[], None),
        &send("GET", &server.url("/metrics"), &[], None),
        &send("GET", &server.url("/nowhere"), &[], None),
        &post(&server.url("/endpoints/nope/invocations"), "text/csv", b"1"),
    ] {
        let id = r
            .header("x-amzn-requestid")
            .unwrap_or_else(|| panic!("no request id: {:?}", r.headers))
            .to_string();
        assert_eq!(id.len(), 36, "{id}");
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);

    // Custom attributes echoed, the target variant reported, an inference id accepted.
    let r = send(
        "POST",
        &url,
        &[
            ("content-type", "text/csv"),
            ("x-amzn-sagemaker-custom-attributes", "trace=abc-123"),
            ("x-amzn-sagemaker-target-variant", "blue-1"),
            ("x-amzn-sagemaker-inference-id", "req 42"),
        ],
        Some(rows[0].as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-amzn-sagemaker-custom-attributes"), Some("trace=abc-123"));
    assert_eq!(r.header("x-amzn-invoked-production-variant"), Some("blue-1"));
    let r = send(
        "POST",
        &url,
        &[("content-type", "text/csv"), ("x-amzn-sagemaker-target-variant", "no_underscores")],
        Some(rows[0].as_bytes()),
    );
    assert_eq!((r.status, r.header("x-amzn-errortype")), (400, Some("ValidationError")));

    // An unknown endpoint is SageMaker's 400 ValidationError; the native API keeps 404.
    let r = post(&server.url("/endpoints/nope/invocations"), "text/csv", rows[0].as_bytes());
    assert_eq!((r.status, r.header("x-amzn-errortype")), (400, Some("ValidationError")), "{}", r.body);
    assert!(r.error_message().contains("unknown model 'nope'"), "{}", r.body);
    assert_eq!(r.json()["Message"], r.json()["message"]);
    assert_eq!(send("GET", &server.url("/v1/models/nope"), &[], None).status, 404);

    // RCF rows in the nested {"data":{"features":{"values":…}}} form answer as {"features":…}.
    let t = temperatures(6);
    let flat = json!({"instances": t.iter().map(|x| json!({"features": [x]})).collect::<Vec<_>>()});
    let nested = json!({"instances": t.iter().map(|x| json!({"data": {"features": {"values": [x]}}})).collect::<Vec<_>>()});
    let a =
        post(&server.url("/endpoints/anomaly/invocations"), "application/json", flat.to_string().as_bytes());
    let b = post(
        &server.url("/endpoints/anomaly/invocations"),
        "application/json",
        nested.to_string().as_bytes(),
    );
    assert_eq!((a.status, b.status), (200, 200), "{}", b.body);
    assert_eq!(a.body, b.body);
    assert_eq!(a.json()["scores"].as_array().unwrap().len(), 6);

    // CSV is parsed as CSV: a quoted field may hold a comma or a line break (one row, not two).
    let quoted = format!("\"K\nS\",{}", rows[0].split_once(',').unwrap().1);
    let r = post(&url, "text/csv", quoted.as_bytes());
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.error_message().starts_with("row 1, column 'state': unknown category 'K\nS'"), "{}", r.body);
    let r = post(&url, "text/csv", format!("{quoted}\n{}", rows[1]).as_bytes());
    assert!(r.error_message().starts_with("row 1,"), "{}", r.body);
    let r = post(
        &url,
        "text/csv",
        format!("{}\n\"K,S\",{}", rows[1], rows[0].split_once(',').unwrap().1).as_bytes(),
    );
    assert!(r.error_message().starts_with("row 2, column 'state': unknown category 'K,S'"), "{}", r.body);

    // Too large: 413 with its own code (the limit error is matched by type, not by text).
    let r = post(&url, "text/csv", vec![b'1'; 30_000].as_slice());
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (413, Some("payload_too_large")));
    let r = send(
        "POST",
        &url,
        &[("content-type", "text/csv"), ("transfer-encoding", "chunked")],
        Some(vec![b'2'; 30_000].as_slice()),
    );
    assert_eq!(r.status, 413, "{}", r.body);

    // A failed model is SageMaker's ModelError: 424, with the original status and message.
    let r = post(&server.url("/endpoints/trap/invocations"), "text/csv", b"1\n");
    assert_eq!((r.status, r.header("x-amzn-errortype")), (424, Some("ModelError")), "{}", r.body);
    let doc = r.json();
    assert_eq!(doc["OriginalStatusCode"], 500);
    assert!(doc["OriginalMessage"].as_str().unwrap().contains("trap"), "{doc}");
    assert_eq!(doc["Message"], doc["OriginalMessage"]);
    let r = post(&server.url("/endpoints/spin/invocations"), "text/csv", b"1\n");
    assert_eq!((r.status, r.json()["OriginalStatusCode"].as_u64()), (424, Some(504)), "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "deadline_exceeded");
    server.stop();
}

#[test]
fn ping_is_unhealthy_without_a_model_and_container_mode_serves_one_model_on_all_interfaces() {
    setup();
    let empty = tmp("empty");
    let server = Server::start(&empty, &["--models", empty.join("m").to_str().unwrap(), "--no-demo"]);
    let r = send("GET", &server.url("/ping"), &[], None);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.error_message().contains("no model is loaded"));
    server.stop();

    // A SageMaker container: one model in /opt/ml/model (here --models), 0.0.0.0, /invocations.
    let dir = tmp("container");
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::copy(demo_dir().join("churn.wasm"), model.join("model.wasm")).unwrap();
    let server = Server::start(&dir, &["--container", "--models", model.to_str().unwrap()]);
    assert!(server.base.starts_with("http://0.0.0.0:"), "{}", server.base);
    let port = server.base.rsplit(':').next().unwrap();
    let local = format!("http://127.0.0.1:{port}");
    assert_eq!(send("GET", &format!("{local}/ping"), &[], None).status, 200);
    let rows = churn_rows(3);
    let r = post(&format!("{local}/invocations"), "text/csv", rows.join("\n").as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(csv_values(&r.body).len(), 3);
    assert!(!dir.join("model/.state").exists(), "a container keeps stream state in memory");
    server.stop();
}

fn remote_scorer(base: &str, endpoint: &str, module: &Path, stream: bool) -> RemoteScorer {
    let mut c = EndpointConfig::new(endpoint);
    c.region = Some("us-east-1".into());
    c.endpoint_url = Some(base.to_string());
    c.response_stream = stream;
    c.timeout = Duration::from_secs(20);
    let e =
        scorekit_host::remote::runtime::wait(async move { Ok(Endpoint::connect(c).await) }, None).unwrap();
    let bytes = std::fs::read(module).unwrap();
    let description = scorekit_runtime::inspect(&bytes).unwrap().description;
    RemoteScorer::new(std::sync::Arc::new(e), description).unwrap()
}

#[test]
fn the_response_stream_route_speaks_aws_event_streams_to_the_sdk() {
    setup();
    let (server, _dir) = start_on_copy("stream", &[]);
    let churn = remote_scorer(&server.base, "churn", &demo_dir().join("churn.wasm"), true);
    let plain = remote_scorer(&server.base, "churn", &demo_dir().join("churn.wasm"), false);
    let schema = churn.info().schema().clone();
    let text: Vec<String> = churn_rows(500);
    let mut b = BatchBuilder::new(&schema, InputPolicy::default());
    for i in 0..2500 {
        let row = &text[i % text.len()];
        let values: Vec<Value<'_>> = row.split(',').map(Value::Text).collect();
        b.push_positional(&values).unwrap();
    }
    let rows = b.finish();
    let streamed = churn.score(&rows).unwrap();
    assert_eq!(streamed.len(), 2500);
    assert_eq!(streamed, plain.score(&rows).unwrap(), "three parts joined are the one answer");
    // A failure after the first part arrives as a ModelStreamError event, code kept.
    let mut b = BatchBuilder::new(&schema, InputPolicy::default());
    for i in 0..2500 {
        let row = if i == 2199 { text[0].replacen("KS", "ZZ", 1) } else { text[i % text.len()].clone() };
        let values: Vec<String> = row.split(',').map(str::to_string).collect();
        let values: Vec<Value<'_>> = values.iter().map(|s| Value::Text(s)).collect();
        b.push_positional(&values).unwrap();
    }
    let e = churn.score(&b.finish()).unwrap_err();
    assert_eq!(e.code, Code::BadInput, "{}", e.message);
    assert!(
        e.message.contains("response stream ended with ModelStreamError") && e.message.contains("row 2200"),
        "{}",
        e.message
    );
    // Forecasts stream one part per series.
    let forecast = remote_scorer(&server.base, "forecast", &demo_dir().join("forecast.wasm"), true);
    let plain_f = remote_scorer(&server.base, "forecast", &demo_dir().join("forecast.wasm"), false);
    let series = std::fs::read_to_string(demo_dir().join(".demo/data/electricity_hourly.csv")).unwrap();
    let vals: Vec<f64> =
        series.lines().skip(1).map(|l| l.split_once(',').unwrap().1.parse().unwrap()).collect();
    let start = series.lines().nth(1).unwrap().split_once(',').unwrap().0.to_string();
    let start = scorekit_host::parse_timestamp(&start).unwrap();
    let h = scorekit_host::History::untimed(vals[..24 * 21].to_vec(), Some(start)).unwrap();
    let q = scorekit_host::ForecastQuery {
        horizon: 0,
        quantiles: vec![0.1, 0.9],
        num_samples: 0,
        seed: 0,
        start: None,
    };
    assert_eq!(forecast.forecast(&h, &q).unwrap(), plain_f.forecast(&h, &q).unwrap());
    // The raw route: event-stream framing, the payload's type in its own header.
    let r = send(
        "POST",
        &server.url("/endpoints/churn/invocations-response-stream"),
        &[("content-type", "text/csv"), ("x-amzn-sagemaker-accept", "application/json")],
        Some(text[..3].join("\n").as_bytes()),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/vnd.amazon.eventstream");
    assert_eq!(r.header("x-amzn-sagemaker-content-type"), Some("application/json"));
    assert!(
        r.body.contains(":event-type")
            && r.body.contains("PayloadPart")
            && r.body.contains("{\"predictions\":[")
    );
    let r = post(&server.url("/endpoints/nope/invocations-response-stream"), "text/csv", b"1");
    assert_eq!((r.status, r.header("x-amzn-errortype")), (400, Some("ValidationError")));
    server.stop();
}

#[test]
fn a_policy_file_serves_models_through_a_remote_host_serve() {
    setup();
    let (remote, _rdir) = start_on_copy("policy-remote", &[]);
    let dir = tmp("policy-front");
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::copy(demo_dir().join("anomaly.wasm"), models.join("anomaly.wasm")).unwrap();
    std::fs::write(dir.join("churn.json"), inspect_json(&demo_dir().join("churn.wasm"))).unwrap();
    std::fs::copy(demo_dir().join("forecast.wasm"), dir.join("forecast-description.wasm")).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[defaults]\nendpoint_url = \"{}\"\ntimeout_ms = 10000\n\n[models.churn]\npolicy = \"remote\"\ndescription = \"churn.json\"\n\n[models.forecast]\npolicy = \"remote\"\ndescription = \"forecast-description.wasm\"\nresponse_stream = true\n",
            remote.base
        ),
    )
    .unwrap();
    let front = start_with_env(
        &dir,
        &["--models", models.to_str().unwrap(), "--no-demo", "--policy-file", policy.to_str().unwrap()],
    );
    let listed: Vec<(String, String)> = send("GET", &front.url("/v1/models"), &[], None).json()["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap().to_string(), m["sha256"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(listed.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(), ["anomaly", "churn", "forecast"]);
    assert_eq!(listed[1].1, "remote:churn");
    // A remote-only model has no module file to hand to the browser: a 404 that says why, while a
    // local one is sent.
    let m = send("GET", &front.url("/v1/models/churn/module"), &[], None);
    assert_eq!(m.status, 404, "{}", m.body);
    assert_eq!(m.json()["error"]["code"], "no_module_file", "{}", m.body);
    assert!(m.body.contains("remote endpoint"), "{}", m.body);
    assert_eq!(send("GET", &front.url("/v1/models/anomaly/module"), &[], None).status, 200);

    // The same calls, answered remotely, equal the remote's own answers.
    let rows = churn_rows(40).join("\n");
    let here = post(&front.url("/endpoints/churn/invocations"), "text/csv", rows.as_bytes());
    let there = post(&remote.url("/endpoints/churn/invocations"), "text/csv", rows.as_bytes());
    assert_eq!(here.status, 200, "{}", here.body);
    assert_eq!(here.body, there.body);
    let native = post(&front.url("/v1/models/churn:score"), "text/csv", rows.as_bytes());
    assert_eq!(native.status, 200, "{}", native.body);
    let scores: Vec<f64> =
        native.json()["scores"].as_array().unwrap().iter().map(|s| s[0].as_f64().unwrap()).collect();
    assert_eq!(scores, csv_values(&there.body));
    let e = post(&front.url("/v1/models/churn:explain"), "text/csv", rows.as_bytes());
    assert_eq!(
        (e.status, e.json()["error"]["code"].as_str()),
        (400, Some("unsupported_operation")),
        "{}",
        e.body
    );
    let text = std::fs::read_to_string(demo_dir().join(".demo/data/electricity_hourly.csv")).unwrap();
    let hist: Vec<(String, f64)> = text
        .lines()
        .skip(1)
        .take(24 * 21)
        .map(|l| l.split_once(',').unwrap())
        .map(|(a, b)| (a.replace('T', " ").replace('Z', ""), b.parse().unwrap()))
        .collect();
    let req = json!({"instances": [{"start": hist[0].0, "target": hist.iter().map(|h| h.1).collect::<Vec<_>>()}], "configuration": {"quantiles": ["0.1", "0.9"]}});
    let here =
        post(&front.url("/endpoints/forecast/invocations"), "application/json", req.to_string().as_bytes());
    let there =
        post(&remote.url("/endpoints/forecast/invocations"), "application/json", req.to_string().as_bytes());
    assert_eq!(here.status, 200, "{}", here.body);
    assert_eq!(here.json(), there.json());
    // A local model stays local.
    let a = json!({"instances": [{"features": [71.0]}]}).to_string();
    assert_eq!(
        post(&front.url("/endpoints/anomaly/invocations"), "application/json", a.as_bytes()).status,
        200
    );

    let m = send("GET", &front.url("/metrics"), &[], None).body;
    for line in [
        "scorekit_policy_remote_calls_total{model=\"churn\"} 2\n",
        "scorekit_remote_requests_total{model=\"churn\",outcome=\"ok\"} 2\n",
        "scorekit_remote_requests_total{model=\"forecast\",outcome=\"ok\"} 1\n",
        "scorekit_remote_breaker_state{model=\"churn\"} 0\n",
        "# TYPE scorekit_remote_breaker_state gauge\n",
    ] {
        assert!(m.contains(line), "{line:?} not in\n{m}");
    }
    assert!(!m.contains("scorekit_policy_remote_calls_total{model=\"anomaly\"}"), "{m}");

    // `host score` reads the same file: churn has no local file, its endpoint answers.
    let input = dir.join("rows.csv");
    let header = std::fs::read_to_string(demo_dir().join(".demo/data/churn.csv")).unwrap();
    let header = header.lines().next().unwrap().rsplit_once(',').unwrap().0.to_string();
    std::fs::write(&input, format!("{header}\n{rows}\n")).unwrap();
    let mut cmd = host();
    cmd.arg("score").arg(dir.join("churn")).arg("--input").arg(&input).arg("--policy-file").arg(&policy);
    for (k, v) in AWS_ENV {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let local =
        host().arg("score").arg(demo_dir().join("churn.wasm")).arg("--input").arg(&input).output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), String::from_utf8(local.stdout).unwrap());
    // A remote failure is a clean error with the exit status of its kind.
    let down = dir.join("down.toml");
    std::fs::write(&down, "[models.churn]\npolicy = \"remote\"\ndescription = \"churn.json\"\nendpoint_url = \"http://127.0.0.1:9\"\nretries = 0\n").unwrap();
    let mut cmd = host();
    cmd.arg("score").arg(dir.join("churn")).arg("--input").arg(&input).arg("--policy-file").arg(&down);
    for (k, v) in AWS_ENV {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(69), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("endpoint 'churn': cannot reach it"));
    front.stop();
    remote.stop();
}

#[test]
fn local_then_remote_and_shadow_through_host_serve() {
    setup();
    let (remote, _rdir) = start_on_copy("fallback-remote", &["--max-body-bytes", "50000000"]);
    let dir = tmp("fallback-front");
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::copy(demo_dir().join("churn.wasm"), models.join("churn.wasm")).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[models.churn]\npolicy = \"local-then-remote\"\nendpoint_url = \"{}\"\ntimeout_ms = 20000\n",
            remote.base
        ),
    )
    .unwrap();
    // A 5 ms local deadline: a 30,000-row batch always misses it, one row never does.
    let front = start_with_env(
        &dir,
        &[
            "--models",
            models.to_str().unwrap(),
            "--no-demo",
            "--policy-file",
            policy.to_str().unwrap(),
            "--deadline-ms",
            "5",
            "--max-body-bytes",
            "50000000",
        ],
    );
    let rows = churn_rows(3000);
    let one = post(&front.url("/endpoints/churn/invocations"), "text/csv", rows[0].as_bytes());
    assert_eq!(one.status, 200);
    let mut big = String::new();
    for _ in 0..10 {
        big.push_str(&rows.join("\n"));
        big.push('\n');
    }
    let started = Instant::now();
    let here = post(&front.url("/endpoints/churn/invocations"), "text/csv", big.as_bytes());
    assert_eq!(here.status, 200, "{}", &here.body[..here.body.len().min(300)]);
    let there = post(&remote.url("/endpoints/churn/invocations"), "text/csv", big.as_bytes());
    assert_eq!(here.body, there.body, "the endpoint answered the batch the local module could not");
    assert!(started.elapsed() < Duration::from_secs(20));
    let m = send("GET", &front.url("/metrics"), &[], None).body;
    assert!(m.contains("scorekit_policy_fallbacks_total{model=\"churn\",reason=\"deadline\"} 1\n"), "{m}");
    assert!(m.contains("scorekit_policy_fallbacks_total{model=\"churn\",reason=\"failed\"} 0\n"), "{m}");
    assert!(m.contains("scorekit_policy_local_calls_total{model=\"churn\"} 2\n"), "{m}");
    assert!(
        m.contains("scorekit_remote_requests_total{model=\"churn\",outcome=\"ok\"} 3\n"),
        "30,000 rows in 3 requests: {m}"
    );
    // A bad input is the caller's: never sent to the endpoint.
    let bad = post(
        &front.url("/endpoints/churn/invocations"),
        "text/csv",
        rows[0].replacen("KS", "ZZ", 1).as_bytes(),
    );
    assert_eq!(bad.status, 400);
    let m2 = send("GET", &front.url("/metrics"), &[], None).body;
    assert!(m2.contains("scorekit_remote_requests_total{model=\"churn\",outcome=\"ok\"} 3\n"), "{m2}");
    front.stop();

    // Shadow: answers are the local module's; the endpoint is compared in the background.
    std::fs::write(
        &policy,
        format!(
            "[models.churn]\npolicy = \"shadow\"\nendpoint_url = \"{}\"\nshadow_tolerance = 0.0\n",
            remote.base
        ),
    )
    .unwrap();
    let front = start_with_env(
        &dir,
        &["--models", models.to_str().unwrap(), "--no-demo", "--policy-file", policy.to_str().unwrap()],
    );
    let body = rows[..50].join("\n");
    for _ in 0..3 {
        let r = post(&front.url("/endpoints/churn/invocations"), "text/csv", body.as_bytes());
        assert_eq!(r.status, 200);
        assert_ne!(r.sha, "remote:churn", "the local module answers");
    }
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let m = send("GET", &front.url("/metrics"), &[], None).body;
        if m.contains("scorekit_policy_shadow_agreed_total{model=\"churn\"} 3\n") {
            assert!(m.contains("scorekit_policy_shadow_disagreed_total{model=\"churn\"} 0\n"), "{m}");
            assert!(m.contains("scorekit_policy_remote_calls_total{model=\"churn\"} 0\n"), "{m}");
            break;
        }
        assert!(Instant::now() < until, "shadow calls did not finish: {m}");
        std::thread::sleep(Duration::from_millis(50));
    }
    front.stop();
    remote.stop();
}

#[test]
fn a_policy_file_with_a_mistake_is_refused_naming_it() {
    setup();
    let dir = tmp("bad-policy");
    let policy = dir.join("p.toml");
    std::fs::write(&policy, "[models.churn]\npolicy = \"remote\"\ntimeout_ms = 61000\n").unwrap();
    let out = host()
        .arg("serve")
        .arg("--models")
        .arg(&dir)
        .arg("--no-demo")
        .arg("--policy-file")
        .arg(&policy)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[models.churn]: timeout_ms 61000 must be between 1 and 60000"), "{err}");
    let _: Json = json!(null);
}

/// boto3 with its default retries (and the Rust SDK through the remote scorer) against a
/// trapping module: one `ModelError` 424 with the original status and message, never retried;
/// an unknown endpoint is the `ValidationError` class; custom attributes come back.
#[test]
fn boto3_and_the_rust_sdk_see_sagemaker_errors_and_never_retry_a_model_error() {
    setup();
    let dir = models_copy("boto3");
    std::fs::write(dir.join("models/trap.wasm"), abi_module("unreachable", 8)).unwrap();
    let models = dir.join("models");
    let server = Server::start(&dir, &["--models", models.to_str().unwrap()]);
    let script = r#"
import json, sys, boto3
c = boto3.client("sagemaker-runtime", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="AKIDBOTO", aws_secret_access_key="boto-secret")
out = {}
try:
    c.invoke_endpoint(EndpointName="trap", ContentType="text/csv", Body=b"1\n")
    out["trap"] = "answered"
except c.exceptions.ModelError as e:
    r = e.response
    out["trap"] = {"code": r["Error"]["Code"], "status": r["ResponseMetadata"]["HTTPStatusCode"],
                   "retries": r["ResponseMetadata"]["RetryAttempts"],
                   "original_status": r.get("OriginalStatusCode"), "original_message": r.get("OriginalMessage"),
                   "request_id": r["ResponseMetadata"]["RequestId"]}
try:
    c.invoke_endpoint(EndpointName="nope", ContentType="text/csv", Body=b"1\n")
    out["nope"] = "answered"
except c.exceptions.ValidationError as e:
    out["nope"] = {"status": e.response["ResponseMetadata"]["HTTPStatusCode"], "message": e.response["Error"]["Message"]}
r = c.invoke_endpoint(EndpointName="churn", ContentType="text/csv", Body=sys.argv[2].encode(),
                      CustomAttributes="trace=boto", TargetVariant="AllTraffic", InferenceId="id-1")
out["churn"] = {"body": r["Body"].read().decode(), "attributes": r.get("CustomAttributes"),
                "variant": r.get("InvokedProductionVariant"), "type": r["ContentType"]}
print(json.dumps(out))
"#;
    let rows = churn_rows(3).join("\n");
    let out = std::process::Command::new("python3")
        .args(["-c", script, &server.base, &rows])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("python3 with boto3 (scripts/test-all.sh installs python3-boto3)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Json = serde_json::from_slice(&out.stdout).unwrap();
    let trap = &doc["trap"];
    assert_eq!((trap["code"].as_str(), trap["status"].as_u64()), (Some("ModelError"), Some(424)), "{doc}");
    assert_eq!(trap["retries"], 0, "{doc}");
    assert_eq!(trap["original_status"], 500, "{doc}");
    assert!(trap["original_message"].as_str().unwrap().contains("trap"), "{doc}");
    assert_eq!(trap["request_id"].as_str().unwrap().len(), 36, "{doc}");
    assert_eq!(doc["nope"]["status"], 400, "{doc}");
    assert!(doc["nope"]["message"].as_str().unwrap().contains("unknown model 'nope'"), "{doc}");
    let churn = &doc["churn"];
    assert_eq!(churn["attributes"], "trace=boto", "{doc}");
    assert_eq!((churn["variant"].as_str(), churn["type"].as_str()), (Some("AllTraffic"), Some("text/csv")));
    assert_eq!(csv_values(churn["body"].as_str().unwrap()).len(), 3);

    // The Rust SDK (the remote scorer): the module's failure arrives as the host layer's code.
    let trap = remote_scorer(&server.base, "trap", &dir.join("models/trap.wasm"), false);
    let mut b = BatchBuilder::new(trap.info().schema(), InputPolicy::default());
    b.push_positional(&[Value::Float(1.0)]).unwrap();
    let e = trap.score(&b.finish()).unwrap_err();
    assert_eq!(e.code, Code::ModuleFailed, "{}", e.message);
    assert!(e.message.starts_with("endpoint 'trap': ") && e.message.contains("trap"), "{}", e.message);

    // Exactly two requests reached the trapping module: boto3's one and the SDK's one.
    let m = send("GET", &server.url("/metrics"), &[], None).body;
    assert!(
        m.contains("scorekit_requests_total{model=\"trap\",endpoint=\"invocations\",status=\"4xx\"} 2\n"),
        "{m}"
    );
    server.stop();
}
