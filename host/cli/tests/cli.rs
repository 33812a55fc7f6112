//! End-to-end tests of the `host` binary: train → artifact → score, and the errors a user sees
//! for bad input (exit status 1, one message naming file, row and column).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn host() -> Command {
    Command::new(env!("CARGO_BIN_EXE_host"))
}

fn demo(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo").join(file)
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("host runs");
    assert!(
        out.status.success(),
        "host failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// Runs `cmd`, which must fail with `needle` in its message; returns the exit status code.
fn fails_with(cmd: &mut Command, needle: &str) -> i32 {
    let out = cmd.output().expect("host runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    assert!(code > 0, "expected a failure exit status, got {code}, stderr: {stderr}");
    assert!(stderr.contains(needle), "stderr {stderr:?} lacks {needle:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    code
}

/// Bad data is told apart from other failures by the exit status (65, the host layer's client
/// kind); an unreadable file is 1.
const BAD_INPUT_EXIT: i32 = 65;

/// First `n` lines (header + n-1 rows) of a demo file, written to `dir/name`.
fn head(dir: &Path, file: &str, name: &str, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(demo(file)).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text.lines().take(n).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    path
}

fn train_churn(dir: &Path) -> PathBuf {
    run(host()
        .args([
            "train",
            "gbt",
            "--quiet",
            "--target",
            "churn",
            "--test-from-row",
            "3334",
            "--n-estimators",
            "60",
            "--name",
            "churn",
            "--data",
        ])
        .arg(demo("churn.csv"))
        .arg("--out")
        .arg(dir));
    dir.join("churn.model.json")
}

fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    (header, rows)
}

#[test]
fn gbt_trains_reports_and_scores_csv_and_jsonl_alike() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_churn(dir.path());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("churn.report.json")).unwrap())
            .unwrap();
    let auc =
        report["metrics"].as_array().unwrap().iter().find(|m| m[0] == "auc").unwrap()[1].as_f64().unwrap();
    assert!(auc > 0.88, "held-out AUC {auc}");
    let html = std::fs::read_to_string(dir.path().join("churn.report.html")).unwrap();
    for chart in ["ROC curve", "Precision–recall curve", "Calibration", "Learning curve"] {
        assert!(html.contains(chart), "the report lacks the {chart} chart");
    }
    let html = std::fs::read_to_string(dir.path().join("churn.report.html")).unwrap();
    assert!(html.contains("ROC curve") && html.contains("Feature importance") && html.contains("<svg"));

    let input = head(dir.path(), "churn.csv", "rows.csv", 51);
    let out = run(host().arg("score").arg(&model).arg("--input").arg(&input));
    let (header, rows) = parse_csv(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(header, vec!["probability"]);
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|r| (0.0..=1.0).contains(&r[0])));
    assert!(rows.iter().any(|r| r[0] > 0.5) && rows.iter().any(|r| r[0] < 0.5));

    // The same rows as JSON Lines, numbers typed, score identically.
    let text = std::fs::read_to_string(&input).unwrap();
    let mut lines = text.lines();
    let cols: Vec<&str> = lines.next().unwrap().split(',').collect();
    let jsonl: String = lines
        .map(|l| {
            let obj: serde_json::Map<String, serde_json::Value> = cols
                .iter()
                .zip(l.split(','))
                .map(|(c, v)| {
                    let value = v.parse::<f64>().map(serde_json::Value::from).unwrap_or_else(|_| v.into());
                    (c.to_string(), value)
                })
                .collect();
            serde_json::Value::Object(obj).to_string() + "\n"
        })
        .collect();
    let jsonl_path = dir.path().join("rows.jsonl");
    std::fs::write(&jsonl_path, jsonl).unwrap();
    let out2 = run(host().arg("score").arg(&model).arg("--input").arg(&jsonl_path));
    assert_eq!(parse_csv(&String::from_utf8(out2.stdout).unwrap()).1, rows);

    // Explanations: contributions + bias sum to the margin of the probability.
    let out3 = run(host().arg("score").arg(&model).arg("--input").arg(&input).arg("--explain"));
    let (header, rows) = parse_csv(&String::from_utf8(out3.stdout).unwrap());
    assert_eq!(header.len(), 1 + 19 + 1);
    assert_eq!(header[1], "contribution_state");
    for r in rows {
        let margin: f64 = r[1..].iter().sum();
        let p = 1.0 / (1.0 + (-margin).exp());
        assert!((p - r[0]).abs() < 1e-9, "{p} vs {}", r[0]);
    }
}

#[test]
fn bad_scoring_input_names_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_churn(dir.path());
    let header = std::fs::read_to_string(demo("churn.csv")).unwrap().lines().next().unwrap().to_string();
    let row = "KS,128,area_code_415,no,yes,25,265.1,110,45.07,197.4,99,16.78,244.7,91,11.01,10.0,3,2.7,1,no";
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let score = |p: &Path| {
        let mut c = host();
        c.arg("score").arg(&model).arg("--input").arg(p);
        c
    };
    let missing = write(
        "missing.csv",
        &format!("{}\n{}\n", header.replacen("state,", "", 1), row.replacen("KS,", "", 1)),
    );
    assert_eq!(
        fails_with(&mut score(&missing), "missing.csv: no column 'state' (model 'churn' reads: state,"),
        BAD_INPUT_EXIT
    );
    let not_number = write("nan.csv", &format!("{header}\n{row}\n{}\n", row.replacen("128", "abc", 1)));
    fails_with(
        &mut score(&not_number),
        "nan.csv: row 2, column 'account_length': expected a number, got 'abc'",
    );
    let unseen = write("unseen.csv", &format!("{header}\n{}\n", row.replacen("KS", "ZZ", 1)));
    assert_eq!(
        fails_with(&mut score(&unseen), "row 1, column 'state': unknown category 'ZZ'"),
        BAD_INPUT_EXIT
    );
    let ragged = write("ragged.csv", &format!("{header}\n{row}\nKS,1\n"));
    fails_with(&mut score(&ragged), "row 2 has 2 fields but the header has 20");
    let empty = write("empty.csv", "");
    fails_with(&mut score(&empty), "empty");
    assert_eq!(
        fails_with(
            host().arg("score").arg(dir.path().join("nope.model.json")).arg("--input").arg(&empty),
            "cannot read"
        ),
        1
    );
    let not_model = write("bad.model.json", "{\"format\": 99}");
    fails_with(
        host().arg("score").arg(&not_model).arg("--input").arg(&unseen),
        "artifact format 99 is not supported",
    );
}

#[test]
fn bad_training_input_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fails_with(
        host()
            .args(["train", "gbt", "--quiet", "--target", "nope", "--data"])
            .arg(demo("churn.csv"))
            .arg("--out")
            .arg(&out),
        "no column named 'nope'",
    );
    fails_with(
        host()
            .args(["train", "gbt", "--quiet", "--target", "churn", "--test-from-row", "1", "--data"])
            .arg(demo("churn.csv"))
            .arg("--out")
            .arg(&out),
        "test_from_row: 1 must be between 2 and the number of data rows (5000)",
    );
    let constant = dir.path().join("constant.csv");
    std::fs::write(&constant, "y\n".to_string() + &"5\n".repeat(600)).unwrap();
    fails_with(
        host()
            .args(["train", "forecast", "--quiet", "--horizon", "24", "--data"])
            .arg(&constant)
            .arg("--out")
            .arg(&out),
        "constant",
    );
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "y\n1\n2\n3\n").unwrap();
    fails_with(
        host().args(["train", "forecast", "--quiet", "--data"]).arg(&short).arg("--out").arg(&out),
        "too few",
    );
}

#[test]
fn rcf_streams_and_forecaster_forecasts() {
    let dir = tempfile::tempdir().unwrap();
    let data = head(dir.path(), "machine_temperature.csv", "temps.csv", 3001);
    run(host()
        .args([
            "train",
            "rcf",
            "--quiet",
            "--trees",
            "30",
            "--sample-size",
            "128",
            "--value-columns",
            "value",
            "--timestamp-column",
            "timestamp",
            "--name",
            "temps",
            "--data",
        ])
        .arg(&data)
        .arg("--out")
        .arg(dir.path()));
    let tail = dir.path().join("tail.csv");
    let text = std::fs::read_to_string(demo("machine_temperature.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&tail, format!("{}\n{}\n", lines[0], lines[3001..3101].join("\n"))).unwrap();
    let model = dir.path().join("temps.model.json");
    let (header, rows) = parse_csv(
        &String::from_utf8(run(host().arg("score").arg(&model).arg("--input").arg(&tail)).stdout).unwrap(),
    );
    assert_eq!(header, vec!["score", "grade", "is_anomaly", "threshold"]);
    assert_eq!(rows.len(), 100);
    assert!(rows.iter().all(|r| r[0] > 0.0 && r[0].is_finite()));
    let (_, frozen) = parse_csv(
        &String::from_utf8(
            run(host().arg("score").arg(&model).arg("--input").arg(&tail).arg("--no-update")).stdout,
        )
        .unwrap(),
    );
    assert_eq!(frozen.len(), 100);
    // The first reading sees the same forest either way.
    assert_eq!(frozen[0][0], rows[0][0]);

    let series = head(dir.path(), "electricity_hourly.csv", "elec.csv", 24 * 60 + 1);
    run(host()
        .args([
            "train",
            "forecast",
            "--quiet",
            "--value-column",
            "demand_mw",
            "--timestamp-column",
            "timestamp",
            "--name",
            "elec",
            "--data",
        ])
        .arg(&series)
        .arg("--out")
        .arg(dir.path()));
    let history = head(dir.path(), "electricity_hourly.csv", "history.csv", 24 * 20 + 1);
    let out = run(host()
        .arg("score")
        .arg(dir.path().join("elec.model.json"))
        .arg("--input")
        .arg(&history)
        .args(["--timestamp-column", "timestamp", "--horizon", "24", "--quantiles", "0.1,0.5,0.9"]));
    let (header, rows) = parse_csv(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(header, vec!["step", "mean", "q0.1", "q0.5", "q0.9"]);
    assert_eq!(rows.len(), 24);
    assert!(rows.iter().all(|r| r[2] <= r[3] && r[3] <= r[4]));
    let short = head(dir.path(), "electricity_hourly.csv", "short.csv", 10);
    fails_with(
        host().arg("score").arg(dir.path().join("elec.model.json")).arg("--input").arg(&short),
        "history",
    );
}

#[test]
fn compiled_module_scores_exactly_like_the_artifact_and_inspects() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_churn(dir.path());
    let wasm = dir.path().join("churn.wasm");
    run(host().arg("compile").arg(&model).arg("-o").arg(&wasm));
    let again = dir.path().join("again.wasm");
    run(host().arg("compile").arg(&model).arg("-o").arg(&again));
    assert_eq!(
        std::fs::read(&wasm).unwrap(),
        std::fs::read(&again).unwrap(),
        "compile must be deterministic"
    );

    let info = String::from_utf8(run(host().arg("inspect").arg(&wasm).arg("--json")).stdout).unwrap();
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert!(info.to_string().contains("\"gbt\""), "{info}");
    assert!(info.to_string().contains("churn"), "{info}");

    let input = head(dir.path(), "churn.csv", "rows.csv", 301);
    let native = run(host().arg("score").arg(&model).arg("--input").arg(&input).arg("--explain")).stdout;
    let module = run(host().arg("score").arg(&wasm).arg("--input").arg(&input).arg("--explain")).stdout;
    assert_eq!(String::from_utf8(native).unwrap(), String::from_utf8(module).unwrap());

    // The same bad cell gets the same message from the module as from the native path.
    let header = std::fs::read_to_string(&input).unwrap().lines().next().unwrap().to_string();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, format!("{header}\nZZ,128,area_code_415,no,yes,25,265.1,110,45.07,197.4,99,16.78,244.7,91,11.01,10.0,3,2.7,1,no\n")).unwrap();
    fails_with(
        host().arg("score").arg(&wasm).arg("--input").arg(&bad),
        "row 1, column 'state': unknown category 'ZZ'",
    );
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"\0asm\x01\0\0\0garbage").unwrap();
    // An invalid module is the model's failure, not the input's: exit status 70.
    assert_eq!(fails_with(host().arg("score").arg(&garbage).arg("--input").arg(&input), "garbage.wasm"), 70);
}

#[test]
fn explaining_thousands_of_rows_with_the_defaults_fits_the_deadline() {
    // 4,000 TreeSHAP rows of this 60-tree model take about 2.5 s in the module: as one default
    // chunk of 4,096 rows they exceeded the 1 s per-call deadline; explanations are now chunked
    // finer, so the defaults work on a file of any length.
    let dir = tempfile::tempdir().unwrap();
    let model = train_churn(dir.path());
    let wasm = dir.path().join("churn.wasm");
    run(host().arg("compile").arg(&model).arg("-o").arg(&wasm));
    let input = head(dir.path(), "churn.csv", "rows.csv", 4001);
    let native = run(host().arg("score").arg(&model).arg("--input").arg(&input).arg("--explain")).stdout;
    let module = run(host().arg("score").arg(&wasm).arg("--input").arg(&input).arg("--explain")).stdout;
    let text = String::from_utf8(module).unwrap();
    assert_eq!(text.lines().count(), 4001, "a header and 4,000 rows");
    assert_eq!(String::from_utf8(native).unwrap(), text);
}

/// Runs `cmd` to completion; returns its output and its peak resident memory in bytes.
fn run_measured(cmd: &mut Command) -> (std::process::ExitStatus, u64) {
    let child = cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 reaps exactly this child and fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    std::mem::forget(child);
    use std::os::unix::process::ExitStatusExt;
    (std::process::ExitStatus::from_raw(status), usage.ru_maxrss as u64 * 1024)
}

/// Was: `host score` read the whole file and scored it in one module call under the 1 s
/// deadline: 150k churn rows failed with the module, 200 MB hit the memory cap (3.9 GB RSS
/// natively). Now the input is read and scored in chunks: memory is bounded, the deadline applies
/// per call, and the output equals scoring the rows in pieces.
#[test]
fn a_large_input_is_scored_in_chunks_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_churn(dir.path());
    let wasm = dir.path().join("churn.wasm");
    run(host().arg("compile").arg(&model).arg("-o").arg(&wasm));
    let text = std::fs::read_to_string(demo("churn.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let n = 150_000;
    let mut big = String::with_capacity(n * 80);
    let (mut first, mut second) = (String::from(header), String::from(header));
    big.push_str(header);
    for i in 0..n {
        let r = rows[i % rows.len()];
        big.push('\n');
        big.push_str(r);
        let half = if i < n / 2 { &mut first } else { &mut second };
        half.push('\n');
        half.push_str(r);
    }
    for (name, t) in [("big.csv", &big), ("first.csv", &first), ("second.csv", &second)] {
        std::fs::write(dir.path().join(name), t).unwrap();
    }
    for m in [&wasm, &model] {
        let out = dir.path().join("out.csv");
        let (status, peak) = run_measured(
            host()
                .arg("score")
                .arg(m)
                .arg("--input")
                .arg(dir.path().join("big.csv"))
                .arg("--output")
                .arg(&out),
        );
        assert!(status.success(), "{} failed", m.display());
        assert!(peak < 150 << 20, "{}: peak RSS {} MiB", m.display(), peak >> 20);
        let whole = std::fs::read_to_string(&out).unwrap();
        assert_eq!(whole.lines().count(), n + 1);
        let part = |f: &str| {
            String::from_utf8(run(host().arg("score").arg(m).arg("--input").arg(dir.path().join(f))).stdout)
                .unwrap()
        };
        let (a, b) = (part("first.csv"), part("second.csv"));
        let pieces: Vec<&str> = a.lines().chain(b.lines().skip(1)).collect();
        assert_eq!(
            whole.lines().collect::<Vec<_>>(),
            pieces,
            "{}: the whole file scores like its pieces",
            m.display()
        );
    }
    // A bad row deep in the file is named by its row in the file, not in its chunk.
    let bad = dir.path().join("bad.csv");
    let mut t = big.clone();
    let at = t.len() - rows[(n - 1) % rows.len()].len();
    t.replace_range(at..at + 2, "ZZ");
    std::fs::write(&bad, t).unwrap();
    fails_with(
        host().arg("score").arg(&wasm).arg("--input").arg(&bad),
        &format!("row {n}, column 'state': unknown category 'ZZ'"),
    );
}

#[test]
fn rcf_defaults_skip_a_numeric_timestamp_and_threshold_flags_reach_the_model() {
    let dir = tempfile::tempdir().unwrap();
    // Two readings per row plus a Unix-seconds `timestamp` column that is numeric.
    let mut csv = String::from("timestamp,cpu,mem\n");
    for i in 0..400 {
        let x = (i as f64 * 0.2).sin();
        csv.push_str(&format!("{},{x},{}\n", 1_700_000_000 + 60 * i, 2.0 * x + 1.0));
    }
    let data = dir.path().join("hosts.csv");
    std::fs::write(&data, csv).unwrap();
    run(host()
        .args(["train", "rcf", "--quiet", "--trees", "10", "--sample-size", "64", "--name", "hosts"])
        .args(["--z-factor", "2.5", "--short-window", "1", "--suppress-after-flag", "0", "--warmup", "30"])
        .args(["--hold-z-factor", "1.5"])
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(dir.path()));
    let artifact: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("hosts.model.json")).unwrap()).unwrap();
    let inputs: Vec<&str> = artifact["schema"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, ["cpu", "mem"], "the timestamp column is not a feature");
    let config = &artifact["model"]["rcf"]["config"];
    assert_eq!(config["dimensions"], 2);
    assert_eq!(config["shingle_size"], 1, "multivariate readings are not shingled by default");
    let t = &config["threshold"];
    assert_eq!((t["z_factor"].as_f64(), t["short_window"].as_u64()), (Some(2.5), Some(1)));
    assert_eq!((t["suppress_after_flag"].as_u64(), t["warmup"].as_u64()), (Some(0), Some(30)));
    assert_eq!(t["hold_z_factor"].as_f64(), Some(1.5));
    // Asked for, the timestamp is read like any column.
    run(host()
        .args(["train", "rcf", "--quiet", "--trees", "10", "--sample-size", "64", "--name", "with_ts"])
        .args(["--value-columns", "timestamp,cpu"])
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(dir.path()));
    let artifact: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("with_ts.model.json")).unwrap())
            .unwrap();
    assert_eq!(artifact["schema"]["inputs"][0]["name"], "timestamp");
    fails_with(
        host()
            .args(["train", "rcf", "--quiet", "--value-columns", "nope", "--data"])
            .arg(&data)
            .arg("--out")
            .arg(dir.path()),
        "no column named 'nope' (columns: timestamp, cpu, mem)",
    );
}

/// Forecast training data with a `timestamp` column that is not named: 30 days of hours, with
/// `drop` rows taken out 100 rows before the end; `sites` copies of the series (2nd, 3rd… scaled)
/// under a `site` column.
fn hourly_series(dir: &Path, name: &str, drop: usize, sites: usize) -> PathBuf {
    let text = std::fs::read_to_string(demo("electricity_hourly.csv")).unwrap();
    let lines: Vec<&str> = text.lines().skip(1).take(24 * 30).collect();
    let n = lines.len();
    let mut csv = String::from("site,timestamp,demand_mw\n");
    for site in 0..sites {
        for (i, l) in lines.iter().enumerate() {
            if i >= n - 100 && i < n - 100 + drop {
                continue;
            }
            let (ts, v) = l.split_once(',').unwrap();
            let v: f64 = v.parse().unwrap();
            csv.push_str(&format!("s{site},{ts},{}\n", v * (1.0 + site as f64)));
        }
    }
    let path = dir.join(name);
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn forecast_training_finds_the_timestamp_and_refuses_or_fills_gaps_and_trains_globally() {
    let dir = tempfile::tempdir().unwrap();
    let train = |data: &Path, extra: &[&str]| {
        let mut c = host();
        c.args(["train", "forecast", "--quiet", "--horizon", "24", "--test-windows", "2", "--data"])
            .arg(data)
            .arg("--out")
            .arg(dir.path())
            .args(extra);
        c
    };
    let gappy = hourly_series(dir.path(), "gappy.csv", 6, 1);
    // No --timestamp-column and no --value-column: `timestamp` is found, never the value, and
    // the six missing hours are refused with the timestamps around them.
    fails_with(&mut train(&gappy, &["--series-column", "site"]), "6 step(s) of 3600 s missing between");
    fails_with(&mut train(&gappy, &["--series-column", "site"]), "column 'timestamp' read as the timestamp");
    run(&mut train(&gappy, &["--series-column", "site", "--fill-gaps", "--name", "filled"]));
    let artifact: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("filled.model.json")).unwrap())
            .unwrap();
    let model = &artifact["model"]["forecast"];
    assert_eq!(model["period_seconds"], 3600, "the sampling period is recorded");
    assert_eq!(model["calendar"], false, "a found timestamp checks spacing but adds no calendar");
    assert_eq!(model["periods"], serde_json::json!([24, 168]));
    assert_eq!(artifact["schema"]["inputs"][0]["name"], "demand_mw");

    // Global mode: three sites of different levels, one model.
    let sites = hourly_series(dir.path(), "sites.csv", 0, 3);
    run(&mut train(&sites, &["--series-column", "site", "--name", "sites"]));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sites.report.json")).unwrap())
            .unwrap();
    let metric = |k: &str| {
        report["metrics"].as_array().unwrap().iter().find(|m| m[0] == k).unwrap()[1].as_f64().unwrap()
    };
    assert!(metric("mase") < 1.5 && metric("coverage_80") > 0.4, "{report}");
    assert!(report.to_string().contains("3 series"), "{report}");
    // The interval widening the training chose is reported, within its grid (0.8 to 3).
    let widening = report["details"].as_array().unwrap().iter().find(|d| d[0] == "interval widening");
    let factor: f64 =
        widening.and_then(|d| d[1].as_str()?.split(' ').next()?.parse().ok()).expect("a factor");
    assert!((0.8..=3.0).contains(&factor), "{report}");
    // So is the base forecaster the backtest kept (the ridge or a seasonal naive).
    let base = report["details"].as_array().unwrap().iter().find(|d| d[0] == "base forecaster");
    let base = base.and_then(|d| d[1].as_str()).expect("a base forecaster");
    assert!(base.starts_with("ridge, penalty ") || base.starts_with("seasonal naive, period "), "{report}");
}
