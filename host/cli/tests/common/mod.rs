//! Helpers shared by the end-to-end tests of `host serve`: the real binary on a loopback port.
#![allow(dead_code, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn host() -> Command {
    Command::new(env!("CARGO_BIN_EXE_host"))
}

pub fn tmp(name: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-tests", env!("CARGO_CRATE_NAME"))).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running server, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(cwd: &Path, args: &[&str]) -> Server {
        Self::start_limited(cwd, args, None)
    }

    /// Starts the server with at most `nofile` open file descriptors (like `ulimit -n`).
    pub fn start_limited(cwd: &Path, args: &[&str], nofile: Option<u64>) -> Server {
        let mut cmd = host();
        if let Some(n) = nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit { rlim_cur: n, rlim_max: n };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd
            .arg("serve")
            .args(["--port", "0", "--log-level", "warn"])
            .args(args)
            .current_dir(cwd)
            .env("SCOREKIT_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-tests-cache"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("host serve starts");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).expect("reads the listening line");
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in out.lines() {});
        Server { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM and wait: graceful shutdown must succeed (exit 0).
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "host serve exited with {status} after SIGTERM");
                break;
            }
            assert!(Instant::now() < deadline, "host serve did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::mem::forget(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// Status, selected headers and body of one request.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub sha: String,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn error_message(&self) -> String {
        self.json()["error"]["message"].as_str().unwrap_or_default().to_string()
    }
}

pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Reply {
    let a = agent();
    let resp = match (method, body) {
        ("GET", _) => {
            let mut r = a.get(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        ("DELETE", _) => {
            let mut r = a.delete(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        (m, b) => {
            let mut r = if m == "PUT" { a.put(url) } else { a.post(url) };
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(b.unwrap_or_default())
        }
    };
    let mut resp = resp.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let h = |n: &str| resp.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (content_type, sha, retry_after) = (
        h("content-type").unwrap_or_default(),
        h("x-scorekit-model-sha256").unwrap_or_default(),
        h("retry-after"),
    );
    let body = resp.body_mut().with_config().limit(64 << 20).read_to_string().unwrap();
    Reply { status: resp.status().as_u16(), content_type, sha, retry_after, body }
}

pub fn post(url: &str, content_type: &str, body: &[u8]) -> Reply {
    send("POST", url, &[("content-type", content_type)], Some(body))
}

/// The directory where `host serve` (no arguments) trained and compiled the demo models.
pub fn demo_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = tmp("fresh-clone");
        let server = Server::start(&root, &[]);
        let r = send("GET", &server.url("/v1/models"), &[], None);
        assert_eq!(r.status, 200);
        let names: Vec<String> = r.json()["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["anomaly", "churn", "forecast"]);
        assert_eq!(send("GET", &server.url("/ping"), &[], None).status, 200);
        server.stop();
        root.join("scorekit-models")
    })
}

/// A models directory holding copies of the demo modules.
pub fn models_copy(name: &str) -> PathBuf {
    let dir = tmp(name);
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    for m in ["churn", "anomaly", "forecast"] {
        std::fs::copy(demo_dir().join(format!("{m}.wasm")), models.join(format!("{m}.wasm"))).unwrap();
    }
    dir
}

pub fn start_on_copy(name: &str, extra: &[&str]) -> (Server, PathBuf) {
    let dir = models_copy(name);
    let models = dir.join("models");
    let mut args = vec!["--models", models.to_str().unwrap()];
    args.extend_from_slice(extra);
    (Server::start(&dir, &args), dir)
}

pub fn churn_rows(n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(demo_dir().join(".demo/data/churn.csv")).unwrap();
    // Drop the label column (the last one): SageMaker CSV carries features only.
    text.lines().skip(1).take(n).map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect()
}

pub fn temperatures(n: usize) -> Vec<f64> {
    let text = std::fs::read_to_string(demo_dir().join(".demo/data/machine_temperature.csv")).unwrap();
    text.lines().skip(1).take(n).map(|l| l.rsplit_once(',').unwrap().1.parse().unwrap()).collect()
}
