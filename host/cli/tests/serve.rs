//! End-to-end tests of `host serve`: the real binary on a loopback port, driven over HTTP.
//!
//! One fixture runs `host serve` with no arguments in an empty directory (the fresh-clone path:
//! it trains and compiles the demo models); every other test copies those modules into its own
//! directory and starts its own server on a free port (`--port 0`, the address is read from
//! stdout).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

#[test]
fn no_arguments_serves_the_demo_models() {
    for m in ["churn", "anomaly", "forecast"] {
        assert!(demo_dir().join(format!("{m}.wasm")).is_file(), "{m}.wasm missing");
    }
}

#[test]
fn sagemaker_csv_matches_host_score_and_honours_accept() {
    let (server, dir) = start_on_copy("csv", &[]);
    let rows = churn_rows(20);
    let body = rows.join("\n") + "\n";
    let url = server.url("/endpoints/churn/invocations");
    let r = post(&url, "text/csv", body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type.starts_with("text/csv"));
    // The XGBoost container's shape: every row's probability on one comma-joined line.
    assert_eq!(r.body.lines().count(), 1, "{}", r.body);
    let served = csv_values(&r.body);
    assert_eq!(served.len(), 20);
    assert!(served.iter().all(|p| (0.0..=1.0).contains(p)));

    // Parity with the native CLI on the same rows (bit for bit, through the printed decimals).
    let header = std::fs::read_to_string(demo_dir().join(".demo/data/churn.csv")).unwrap();
    let header = header.lines().next().unwrap().rsplit_once(',').unwrap().0.to_string();
    let input = dir.join("rows.csv");
    std::fs::write(&input, format!("{header}\n{body}")).unwrap();
    let out = host()
        .args(["score"])
        .arg(demo_dir().join(".demo/churn.model.json"))
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let native: Vec<f64> =
        String::from_utf8(out.stdout).unwrap().lines().skip(1).map(|l| l.parse().unwrap()).collect();
    assert_eq!(served, native);

    // Accept: JSON (XGBoost's {"predictions":[{"score":…}]}) and JSON Lines, same numbers.
    let r = send(
        "POST",
        &url,
        &[("content-type", "text/csv"), ("accept", "application/json")],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 200);
    let preds: Vec<f64> =
        r.json()["predictions"].as_array().unwrap().iter().map(|p| p["score"].as_f64().unwrap()).collect();
    assert_eq!(preds, served);
    let r = send(
        "POST",
        &url,
        &[("content-type", "text/csv"), ("accept", "application/jsonlines")],
        Some(body.as_bytes()),
    );
    assert!(r.content_type.starts_with("application/jsonlines"));
    let lines: Vec<f64> = r
        .body
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["score"].as_f64().unwrap())
        .collect();
    assert_eq!(lines, served);

    // A CSV export with a header (and its label column) is matched by name.
    let with_header = std::fs::read_to_string(demo_dir().join(".demo/data/churn.csv")).unwrap();
    let first3: String = with_header.lines().take(4).collect::<Vec<_>>().join("\n");
    let r = post(&url, "text/csv", first3.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(csv_values(&r.body), served[..3]);

    // POST /invocations with the target-model header, SigV4-signed as boto3 does.
    let r = send(
        "POST",
        &server.url("/invocations"),
        &[
            ("content-type", "text/csv"),
            ("x-amzn-sagemaker-target-model", "churn.tar.gz"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abcd",
            ),
            ("x-amz-date", "20260101T000000Z"),
        ],
        Some(rows[0].as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.trim().parse::<f64>().unwrap(), served[0]);
    // Without the header and with three models, /invocations says which header is missing.
    let r = post(&server.url("/invocations"), "text/csv", rows[0].as_bytes());
    assert_eq!(r.status, 400);
    assert!(r.error_message().contains("X-Amzn-SageMaker-Target-Model"), "{}", r.body);

    // The version is addressable by hash (full and prefix), with the same answer.
    let sha = r_sha(&server, "churn");
    for name in [format!("sha256:{sha}"), format!("sha256:{}", &sha[..10])] {
        let r = post(&server.url(&format!("/endpoints/{name}/invocations")), "text/csv", body.as_bytes());
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.sha, sha);
        assert_eq!(csv_values(&r.body), served);
    }
    server.stop();
}

fn r_sha(server: &Server, model: &str) -> String {
    send("GET", &server.url(&format!("/v1/models/{model}")), &[], None).json()["sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn rcf_json_and_deepar_json_formats() {
    let (server, _dir) = start_on_copy("rcf-deepar", &[]);
    // RCF: {"instances":[{"features":[…]}]} → {"scores":[{"score":…}]}
    let t = temperatures(30);
    let instances: Vec<Value> = t.iter().map(|x| json!({ "features": [x] })).collect();
    let body = json!({ "instances": instances }).to_string();
    let r = post(&server.url("/endpoints/anomaly/invocations"), "application/json", body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let scores = r.json()["scores"].as_array().unwrap().clone();
    assert_eq!(scores.len(), 30);
    assert!(scores.iter().all(|s| s["score"].as_f64().unwrap() >= 0.0));
    // Same request as CSV, answered as JSON Lines: same scores.
    let csv: String = t.iter().map(|x| format!("{x}\n")).collect();
    let r = send(
        "POST",
        &server.url("/endpoints/anomaly/invocations"),
        &[("content-type", "text/csv"), ("accept", "application/jsonlines")],
        Some(csv.as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let lines: Vec<Value> = r.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 30);
    assert_eq!(lines[7]["score"], scores[7]["score"]);

    // DeepAR: history with a missing value, mean + quantiles + samples.
    let model = send("GET", &server.url("/v1/models/forecast"), &[], None).json();
    let horizon = model["max_horizon"].as_u64().expect("forecaster horizon") as usize;
    let text = std::fs::read_to_string(demo_dir().join(".demo/data/electricity_hourly.csv")).unwrap();
    let series: Vec<(String, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let (ts, v) = l.split_once(',').unwrap();
            (ts.to_string(), v.parse().unwrap())
        })
        .collect();
    let hist = &series[series.len() - 24 * 21..];
    let mut target: Vec<Value> = hist.iter().map(|(_, v)| json!(v)).collect();
    target[100] = json!("NaN");
    let req = json!({
        "instances": [{ "start": hist[0].0.replace('T', " ").replace('Z', ""), "target": target }],
        "configuration": { "num_samples": 5, "output_types": ["mean", "quantiles", "samples"], "quantiles": ["0.1", "0.5", "0.9"] }
    });
    let r =
        post(&server.url("/endpoints/forecast/invocations"), "application/json", req.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let p = &r.json()["predictions"][0];
    let mean = p["mean"].as_array().unwrap();
    assert_eq!(mean.len(), horizon);
    let q = |k: &str| {
        p["quantiles"][k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>()
    };
    let (lo, mid, hi) = (q("0.1"), q("0.5"), q("0.9"));
    assert!(lo.iter().zip(&mid).zip(&hi).all(|((a, b), c)| a <= b && b <= c), "quantiles cross");
    assert_eq!(p["samples"].as_array().unwrap().len(), 5);
    // Same request again: identical (seeded samples).
    let again =
        post(&server.url("/endpoints/forecast/invocations"), "application/json", req.to_string().as_bytes());
    assert_eq!(again.body, r.body);
    // JSON Lines in and out: one prediction per line, default configuration.
    let line =
        json!({ "start": hist[0].0, "target": hist.iter().map(|(_, v)| *v).collect::<Vec<_>>() }).to_string();
    let r = send(
        "POST",
        &server.url("/endpoints/forecast/invocations"),
        &[("content-type", "application/jsonlines"), ("accept", "application/jsonlines")],
        Some(format!("{line}\n{line}\n").as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let preds: Vec<Value> = r.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(preds.len(), 2);
    assert_eq!(preds[0]["quantiles"].as_object().unwrap().len(), 9);
    server.stop();
}

#[test]
fn native_api_lists_scores_explains_forecasts() {
    let (server, _dir) = start_on_copy("native", &[]);
    let models = send("GET", &server.url("/v1/models"), &[], None).json();
    let churn = models["models"].as_array().unwrap().iter().find(|m| m["name"] == "churn").unwrap().clone();
    assert_eq!(churn["family"], "gbt");
    let inputs: Vec<String> = churn["schema"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(inputs[0], "state");

    // Rows as objects keyed by input name (extra keys ignored) and as arrays.
    let header: Vec<String> = std::fs::read_to_string(demo_dir().join(".demo/data/churn.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = churn_rows(3);
    let objects: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut o = serde_json::Map::new();
            for (k, v) in header.iter().zip(r.split(',')) {
                o.insert(k.clone(), v.parse::<f64>().map_or(json!(v), |x| json!(x)));
            }
            o.insert("customer_id".into(), json!("c-1"));
            Value::Object(o)
        })
        .collect();
    let r = post(
        &server.url("/v1/models/churn:score"),
        "application/json",
        json!({ "rows": objects }).to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let scores: Vec<f64> =
        r.json()["scores"].as_array().unwrap().iter().map(|s| s[0].as_f64().unwrap()).collect();
    let csv = post(&server.url("/endpoints/churn/invocations"), "text/csv", rows.join("\n").as_bytes());
    assert_eq!(csv_values(&csv.body), scores);

    // Explanations: contributions + bias = log-odds of the probability.
    let r = post(&server.url("/v1/models/churn:explain"), "text/csv", rows.join("\n").as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = r.json();
    assert_eq!(doc["features"].as_array().unwrap().last().unwrap(), "bias");
    for (row, p) in doc["contributions"].as_array().unwrap().iter().zip(&scores) {
        let margin: f64 = row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum();
        assert!((1.0 / (1.0 + (-margin).exp()) - p).abs() < 1e-9, "{margin} vs {p}");
    }

    // Forecast with the native shape.
    let text = std::fs::read_to_string(demo_dir().join(".demo/data/electricity_hourly.csv")).unwrap();
    let vals: Vec<(String, f64)> = text
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap())
        .map(|(a, b)| (a.to_string(), b.parse().unwrap()))
        .collect();
    let hist = &vals[vals.len() - 24 * 21..];
    let req = json!({ "history": hist.iter().map(|v| v.1).collect::<Vec<_>>(), "start": hist[0].0, "horizon": 6, "quantiles": [0.05, 0.95] });
    let r = post(&server.url("/v1/models/forecast:forecast"), "application/json", req.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = r.json();
    assert_eq!(doc["horizon"], 6);
    assert_eq!(doc["mean"].as_array().unwrap().len(), 6);
    assert_eq!(doc["quantiles"]["0.05"].as_array().unwrap().len(), 6);

    // Served OpenAPI equals the checked-in file.
    let served = send("GET", &server.url("/openapi.yaml"), &[], None).body;
    let checked_in =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.yaml"))
            .unwrap();
    assert_eq!(served, checked_in);

    // Metrics count what happened.
    let m = send("GET", &server.url("/metrics"), &[], None).body;
    assert!(
        m.contains("scorekit_requests_total{model=\"churn\",endpoint=\"score\",status=\"2xx\"} 1\n"),
        "{m}"
    );
    assert!(m.contains("scorekit_rows_scored_total{model=\"churn\"} 9\n"), "{m}");
    assert!(m.contains("scorekit_request_duration_seconds_count{model=\"forecast\"} 1\n"), "{m}");
    assert!(m.contains("scorekit_models 3\n"));
    server.stop();
}

#[test]
fn bad_input_gets_4xx_naming_the_problem() {
    let (server, _dir) = start_on_copy("bad", &["--max-body-bytes", "20000"]);
    let url = server.url("/endpoints/churn/invocations");
    let row = &churn_rows(1)[0];
    let cases: Vec<(Reply, u16, &str)> = vec![
        (
            // SageMaker's answer for an unknown endpoint: 400 ValidationError.
            post(&server.url("/endpoints/nope/invocations"), "text/csv", row.as_bytes()),
            400,
            "unknown model 'nope'",
        ),
        (
            post(&url, "application/x-recordio-protobuf", row.as_bytes()),
            415,
            "application/x-recordio-protobuf",
        ),
        (post(&url, "text/csv", format!("{row}\n{row},7\n").as_bytes()), 400, "row 2: expected 19 values"),
        (post(&url, "text/csv", format!("{row}\n\"KS,1\n").as_bytes()), 400, "row 2"),
        (post(&url, "text/csv", row.replacen("KS", "XX", 1).as_bytes()), 400, "unknown category 'XX'"),
        (post(&url, "text/csv", row.replacen(",128,", ",abc,", 1).as_bytes()), 400, "account_length"),
        (post(&url, "application/json", b"{\"instances\": [\n[1,2"), 400, "line 2"),
        (post(&url, "text/csv", vec![b'1'; 30_000].as_slice()), 413, "limit of 20000 bytes"),
        (
            send(
                "POST",
                &url,
                &[("content-type", "text/csv"), ("accept", "image/png")],
                Some(row.as_bytes()),
            ),
            406,
            "image/png",
        ),
        (
            post(&server.url("/v1/models/churn:forecast"), "application/json", b"{\"history\":[1,2,3]}"),
            400,
            "forecast",
        ),
        (
            post(&server.url("/v1/models/anomaly/streams/s1"), "application/json", b"{\"rows\":[[\"NaN\"]]}"),
            400,
            "row 1",
        ),
        (
            post(&server.url("/v1/models/anomaly/streams/a%0Ab"), "application/json", b"{\"rows\":[[1]]}"),
            400,
            "stream key",
        ),
        (
            post(&server.url("/v1/models/forecast:forecast"), "application/json", b"{\"history\":[1,2,3]}"),
            400,
            "history",
        ),
        (send("GET", &server.url("/nowhere"), &[], None), 404, "/nowhere"),
    ];
    for (r, status, needle) in &cases {
        assert_eq!(r.status, *status, "expected {status} for {needle:?}: {}", r.body);
        assert!(r.error_message().contains(needle), "{:?} lacks {needle:?}", r.error_message());
    }
    // The server is still fine.
    assert_eq!(post(&url, "text/csv", row.as_bytes()).status, 200);
    let m = send("GET", &server.url("/metrics"), &[], None).body;
    assert!(m.contains("scorekit_errors_total{model=\"churn\"} "), "{m}");
    server.stop();
}

/// A batch that runs past the module deadline fails alone with 424; the next request is fine.
#[test]
fn deadline_exceeded_fails_only_that_request() {
    // 50 ms: far beyond one row even on a loaded machine, far below the 120,000-row batch.
    let (server, _dir) = start_on_copy("deadline", &["--deadline-ms", "50", "--max-body-bytes", "50000000"]);
    let rows = churn_rows(3000);
    let mut big = String::new();
    for _ in 0..40 {
        for r in &rows {
            big.push_str(r);
            big.push('\n');
        }
    }
    let r = post(&server.url("/endpoints/churn/invocations"), "text/csv", big.as_bytes());
    // SageMaker answers a failed model with 424 ModelError (which the AWS SDKs do not retry).
    assert_eq!(r.status, 424, "{}", &r.body[..r.body.len().min(300)]);
    assert!(r.error_message().contains("deadline"), "{}", r.body);
    let ok = post(&server.url("/endpoints/churn/invocations"), "text/csv", rows[0].as_bytes());
    assert_eq!(ok.status, 200, "{}", ok.body);
    server.stop();
}

/// Stream state survives a restart: a stream fed 200 readings, restarted half-way, ends exactly
/// where an uninterrupted stream ends.
#[test]
fn stream_state_persists_across_restart() {
    let dir = models_copy("streams");
    let models = dir.join("models");
    let state = dir.join("state");
    let args = ["--models", models.to_str().unwrap(), "--state-dir", state.to_str().unwrap()];
    let t = temperatures(200);
    let feed = |server: &Server, key: &str, xs: &[f64]| -> Vec<Value> {
        let body = json!({ "rows": xs.iter().map(|x| vec![*x]).collect::<Vec<_>>() }).to_string();
        let r = post(
            &server.url(&format!("/v1/models/anomaly/streams/{key}")),
            "application/json",
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["results"].as_array().unwrap().clone()
    };
    let server = Server::start(&dir, &args);
    let straight_a = feed(&server, "straight", &t[..100]);
    let straight_b = feed(&server, "straight", &t[100..]);
    let first = feed(&server, "restarted", &t[..100]);
    assert_eq!(first, straight_a);
    server.stop(); // SIGTERM: states are written
    assert!(state.join("anomaly/restarted.state").is_file());

    let server = Server::start(&dir, &args);
    let listed = send("GET", &server.url("/v1/models/anomaly/streams"), &[], None).json();
    let restarted =
        listed["streams"].as_array().unwrap().iter().find(|s| s["stream"] == "restarted").unwrap().clone();
    assert_eq!(restarted["readings"], 100);
    let second = feed(&server, "restarted", &t[100..]);
    assert_eq!(second, straight_b, "the restored stream diverged from the uninterrupted one");
    assert_eq!(
        send("GET", &server.url("/v1/models/anomaly/streams/restarted"), &[], None).json()["readings"],
        200
    );
    // Score-only does not learn.
    let before =
        send("GET", &server.url("/v1/models/anomaly/streams/restarted"), &[], None).json()["readings"]
            .clone();
    let r = post(&server.url("/v1/models/anomaly/streams/restarted?learn=false"), "text/csv", b"75.0\n");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        send("GET", &server.url("/v1/models/anomaly/streams/restarted"), &[], None).json()["readings"],
        before
    );
    // Delete forgets memory and disk.
    assert_eq!(send("DELETE", &server.url("/v1/models/anomaly/streams/restarted"), &[], None).status, 204);
    assert!(!state.join("anomaly/restarted.state").exists());
    assert_eq!(send("GET", &server.url("/v1/models/anomaly/streams/restarted"), &[], None).status, 404);
    server.stop();
}

/// Replacing the model behind a stream carries the stream's state over to the new version: the
/// stream continues exactly as one that saw no swap, and the response says what happened.
#[test]
fn stream_state_carries_over_a_model_swap() {
    // A generous deadline: this test is about the carried-over state, and 80 readings in one call
    // took over the default 1 s on a loaded 2-core machine.
    let (server, _dir) = start_on_copy("stream-swap", &["--admin-token", "t", "--deadline-ms", "30000"]);
    let t = temperatures(160);
    let feed = |key: &str, xs: &[f64]| -> Value {
        let body = json!({ "rows": xs.iter().map(|x| vec![*x]).collect::<Vec<_>>() }).to_string();
        let r = post(
            &server.url(&format!("/v1/models/anomaly/streams/{key}")),
            "application/json",
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    };
    feed("reference", &t[..80]);
    let reference = feed("reference", &t[80..]);
    feed("moved", &t[..80]);
    let v2 = v2_of("anomaly");
    let r = send("PUT", &server.url("/admin/models/anomaly"), &[("authorization", "Bearer t")], Some(&v2));
    assert_eq!(r.status, 200, "{}", r.body);
    let moved = feed("moved", &t[80..]);
    assert_eq!(moved["results"], reference["results"]);
    assert_eq!(moved["readings"], 160);
    assert_ne!(moved["sha256"], reference["sha256"]);
    assert!(moved["notice"].as_str().unwrap_or_default().contains("carried over"), "{moved}");
    server.stop();
}

/// A second churn version: same model, different provenance, so a different module hash.
fn churn_v2() -> Vec<u8> {
    v2_of("churn")
}

/// Version 2 of a demo model: same weights, one more provenance entry, another module hash.
fn v2_of(model: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(demo_dir().join(format!(".demo/{model}.model.json"))).unwrap();
    let mut artifact = scorekit_artifact::Artifact::from_json(&text).unwrap();
    artifact.provenance.push(("version".into(), "2".into()));
    scorekit_compile::compile(&artifact).unwrap()
}

/// Swaps churn back and forth (file rename and admin PUT) while 4 clients score without pause:
/// every request succeeds and both versions answer.
#[test]
fn hot_swap_under_concurrent_requests_has_zero_failures() {
    let (server, dir) = start_on_copy("swap", &["--reload-ms", "100", "--admin-token", "s3cret"]);
    let models = dir.join("models");
    let v1 = std::fs::read(models.join("churn.wasm")).unwrap();
    let v2 = churn_v2();
    let server = Arc::new(server);
    let stop = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::<String>::new()));
    let total = Arc::new(AtomicUsize::new(0));
    let rows = churn_rows(5).join("\n");
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (server, stop, failures, seen, total, rows) =
                (server.clone(), stop.clone(), failures.clone(), seen.clone(), total.clone(), rows.clone());
            std::thread::spawn(move || {
                let url = server.url("/endpoints/churn/invocations");
                while stop.load(Ordering::Relaxed) == 0 {
                    let r = post(&url, "text/csv", rows.as_bytes());
                    total.fetch_add(1, Ordering::Relaxed);
                    if r.status != 200 || csv_values(&r.body).len() != 5 {
                        failures.lock().unwrap().push(format!("{}: {}", r.status, r.body));
                    }
                    seen.lock().unwrap().insert(r.sha);
                }
            })
        })
        .collect();
    let auth = [("authorization", "Bearer s3cret"), ("content-type", "application/wasm")];
    for i in 0..6 {
        let bytes = if i % 2 == 0 { &v2 } else { &v1 };
        if i % 3 == 2 {
            let r = send("PUT", &server.url("/admin/models/churn"), &auth, Some(bytes));
            assert_eq!(r.status, 200, "{}", r.body);
        } else {
            let tmp = models.join(".churn.wasm.tmp");
            std::fs::write(&tmp, bytes).unwrap();
            std::fs::rename(&tmp, models.join("churn.wasm")).unwrap();
        }
        std::thread::sleep(Duration::from_millis(700));
    }
    stop.store(1, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {:?}",
        failures.len(),
        total.load(Ordering::Relaxed),
        &failures[..failures.len().min(3)]
    );
    assert!(total.load(Ordering::Relaxed) > 100);
    assert_eq!(seen.lock().unwrap().len(), 2, "both versions should have answered");

    // Admin API: auth, add, remove.
    assert_eq!(send("PUT", &server.url("/admin/models/churn2"), &[], Some(&v2)).status, 401);
    let r = send("PUT", &server.url("/admin/models/churn2"), &auth, Some(&v2));
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(models.join("churn2.wasm").is_file());
    let r = send("PUT", &server.url("/admin/models/bad"), &auth, Some(b"not wasm"));
    assert_eq!(r.status, 422, "{}", r.body);
    let r = send("DELETE", &server.url("/admin/models/churn2"), &[("authorization", "Bearer s3cret")], None);
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(!models.join("churn2.wasm").exists());
    // An endpoint no longer served is SageMaker's 400 ValidationError.
    assert_eq!(post(&server.url("/endpoints/churn2/invocations"), "text/csv", rows.as_bytes()).status, 400);
    // Removing the file stops serving the alias.
    std::fs::remove_file(models.join("anomaly.wasm")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while send("GET", &server.url("/v1/models/anomaly"), &[], None).status != 404 {
        assert!(Instant::now() < deadline, "removed model still served");
        std::thread::sleep(Duration::from_millis(50));
    }
    Arc::try_unwrap(server).ok().unwrap().stop();
}

/// Over the concurrency limit, requests are shed with 503 + Retry-After instead of queueing.
/// Bodies stay under the socket buffers, so a 503 sent before the body is read reaches the client.
#[test]
fn overload_is_shed_with_503_and_retry_after() {
    let (server, _dir) = start_on_copy("shed", &["--max-concurrency", "1", "--queue-ms", "0"]);
    let body = Arc::new(churn_rows(700).join("\n"));
    let url = server.url("/endpoints/churn/invocations");
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (body, url) = (body.clone(), url.clone());
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| {
                        let r = post(&url, "text/csv", body.as_bytes());
                        (r.status, r.retry_after)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<(u16, Option<String>)> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert!(results.iter().all(|(s, _)| *s == 200 || *s == 503), "{results:?}");
    assert!(results.iter().any(|(s, _)| *s == 200), "{results:?}");
    assert!(results.iter().any(|(s, ra)| *s == 503 && ra.as_deref() == Some("1")), "{results:?}");
    let m = send("GET", &server.url("/metrics"), &[], None).body;
    assert!(!m.contains("scorekit_shed_total 0\n"), "{m}");
    server.stop();
}
