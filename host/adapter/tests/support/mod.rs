//! A SageMaker-compatible stand-in on loopback that injects faults, for the remote scorer's
//! tests: it answers InvokeEndpoint with the real wire formats (scoring with the fixture models
//! natively, as the server would), or — as scripted per request — throttles with
//! `ThrottlingException` in SageMaker's JSON error shape, fails with a 5xx or a `ModelError`,
//! answers late, answers garbage or the wrong count, or drops the connection without answering.
//! Every request is recorded, so tests can check batching, headers and the SigV4 signature.
#![allow(dead_code, missing_docs)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use scorekit_artifact::Artifact;
use scorekit_host::formats::{csv, deepar, json, write_records};
use scorekit_host::native::NativeScorer;
use scorekit_host::{BatchBuilder, Family, InputPolicy, Scorer, SharedScorer, names};

pub const ACCESS_KEY: &str = "AKIDSCOREKITTEST";
pub const SECRET_KEY: &str = "scorekit-test-secret-key";

/// Sets the credentials every test signs with (the standard chain's first link: the
/// environment), once, before any test reads the environment.
pub fn env_credentials() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: every test calls this first, before any thread of the test reads the
        // environment; `Once` makes the others wait until it is done.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY);
            std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
            std::env::remove_var("AWS_SESSION_TOKEN");
            std::env::remove_var("AWS_PROFILE");
            // Never look for instance credentials: no request may leave loopback.
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        }
    });
}

pub fn fixture(name: &str) -> SharedScorer {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../tests/conformance/models/{name}.model.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Arc::new(NativeScorer::new(Artifact::from_json(&text).expect("fixture artifact")))
}

/// One request as the stand-in received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the stand-in does with one request.
#[derive(Clone, Debug)]
pub enum Act {
    /// Answer correctly.
    Answer,
    /// Answer correctly with every value plus `delta`.
    Skew(f64),
    /// Answer after a delay.
    Late(Duration),
    /// HTTP status, `x-amzn-ErrorType`, JSON body.
    Fail(u16, &'static str, String),
    /// 200 with a body that is no answer.
    Garbage,
    /// 200 with one value too few.
    Short,
    /// Close the connection without answering.
    Drop,
}

impl Act {
    pub fn throttle() -> Act {
        Act::Fail(400, "ThrottlingException", r#"{"message":"Rate exceeded"}"#.into())
    }

    pub fn unavailable() -> Act {
        Act::Fail(503, "ServiceUnavailable", r#"{"message":"Service is unavailable"}"#.into())
    }

    pub fn internal() -> Act {
        Act::Fail(500, "InternalFailure", r#"{"Message":"An internal failure occurred"}"#.into())
    }

    /// SageMaker's ModelError, as the runtime answers it for a container's 500.
    pub fn model_error() -> Act {
        Act::Fail(
            424,
            "ModelError",
            r#"{"ErrorCode":"SERVER_ERROR_FROM_MODEL","LogStreamArn":"arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/Endpoints/x","Message":"Received server error (500) from primary with message \"boom\"","OriginalMessage":"boom: the model crashed","OriginalStatusCode":500}"#.into(),
        )
    }
}

/// The stand-in.
pub struct Fake {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Act>>>,
}

impl Fake {
    /// Serves `models` (endpoint name → the scorer that answers for it).
    pub fn start(models: &[(&str, SharedScorer)]) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let models: Arc<HashMap<String, SharedScorer>> =
            Arc::new(models.iter().map(|(n, s)| (n.to_string(), s.clone())).collect());
        let (r, s) = (received.clone(), script.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (r, s, m) = (r.clone(), s.clone(), models.clone());
                std::thread::spawn(move || serve(conn, &r, &s, &m));
            }
        });
        Fake { addr, received, script }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the next requests get, in order (then [`Act::Answer`]).
    pub fn script(&self, acts: impl IntoIterator<Item = Act>) {
        self.script.lock().unwrap().extend(acts);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.received.lock().unwrap().clear();
        self.script.lock().unwrap().clear();
    }
}

fn read_request(conn: &mut BufReader<TcpStream>) -> Option<Received> {
    let mut line = String::new();
    conn.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        conn.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    conn.read_exact(&mut body).ok()?;
    Some(Received { method, path, headers, body })
}

fn respond(conn: &mut TcpStream, status: u16, error_type: Option<&str>, content_type: &str, body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-amzn-requestid: fake\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(t) = error_type {
        head.push_str(&format!("x-amzn-errortype: {t}\r\n"));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body);
    let _ = conn.flush();
}

fn serve(
    conn: TcpStream,
    received: &Mutex<Vec<Received>>,
    script: &Mutex<VecDeque<Act>>,
    models: &HashMap<String, SharedScorer>,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let Some(req) = read_request(&mut reader) else { return };
    received.lock().unwrap().push(req.clone());
    let act = script.lock().unwrap().pop_front().unwrap_or(Act::Answer);
    let mut conn = conn;
    let endpoint = req.path.strip_prefix("/endpoints/").and_then(|p| p.split('/').next()).unwrap_or("");
    let Some(model) = models.get(endpoint) else {
        let body = format!(r#"{{"message":"Endpoint {endpoint} of account 000000000000 not found."}}"#);
        return respond(&mut conn, 400, Some("ValidationError"), "application/json", body.as_bytes());
    };
    match act {
        Act::Drop => {
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
        Act::Fail(status, t, body) => {
            respond(&mut conn, status, Some(t), "application/json", body.as_bytes())
        }
        Act::Garbage => respond(&mut conn, 200, None, "text/csv", b"<html>oops</html>"),
        Act::Late(d) => {
            std::thread::sleep(d);
            answer(&mut conn, &req, model.as_ref(), 0.0, false);
        }
        Act::Answer => answer(&mut conn, &req, model.as_ref(), 0.0, false),
        Act::Skew(d) => answer(&mut conn, &req, model.as_ref(), d, false),
        Act::Short => answer(&mut conn, &req, model.as_ref(), 0.0, true),
    }
}

/// Answers as SageMaker's built-in algorithm would: XGBoost's one comma-joined CSV line, RCF's
/// `{"scores":[…]}`, DeepAR's predictions; a bad input is a 400 with scorekit's error body (what
/// `host serve` answers), numbered from the `scorekit-row-base` custom attribute.
fn answer(conn: &mut TcpStream, req: &Received, model: &dyn Scorer, delta: f64, short: bool) {
    let info = model.info();
    let fail = |conn: &mut TcpStream, e: scorekit_host::HostError| {
        let body = serde_json::json!({"error": {"code": e.code.as_str(), "message": e.message}, "message": e.message});
        respond(conn, 400, Some("ValidationError"), "application/json", body.to_string().as_bytes());
    };
    let row_base = req
        .header("x-amzn-sagemaker-custom-attributes")
        .and_then(|a| a.split(';').find_map(|p| p.trim().strip_prefix("scorekit-row-base=")?.parse().ok()))
        .unwrap_or(0usize);
    if info.family() == Family::Forecast {
        let doc: serde_json::Value = match serde_json::from_slice(&req.body) {
            Ok(d) => d,
            Err(_) => return respond(conn, 400, Some("ValidationError"), "application/json", b"{}"),
        };
        let (instances, config) = match deepar::request(&doc) {
            Ok(x) => x,
            Err(e) => return fail(conn, e),
        };
        let mut text = String::from("{\"predictions\":[");
        for (i, inst) in instances.iter().enumerate() {
            let mut f = match inst.history().and_then(|h| model.forecast(&h, &config.query())) {
                Ok(f) => f,
                Err(e) => return fail(conn, e),
            };
            f.mean.iter_mut().for_each(|v| *v += delta);
            if i > 0 {
                text.push(',');
            }
            deepar::write_prediction(&mut text, &config, &f);
        }
        text.push_str("]}");
        return respond(conn, 200, None, "application/json", text.as_bytes());
    }
    let mut b = BatchBuilder::new(info.schema(), InputPolicy::default()).with_row_base(row_base).unwrap();
    let ct = req.header("content-type").unwrap_or("text/csv");
    let parsed = if ct.starts_with("text/csv") {
        csv::push_body(&mut b, &req.body, csv::Header::Absent)
    } else {
        json::parse(&req.body).and_then(|d| json::push_document(&mut b, &d, false))
    };
    if let Err(e) = parsed {
        return fail(conn, e);
    }
    let rows = b.finish();
    let mut values = match model.score(&rows) {
        Ok(v) => v,
        Err(e) => return fail(conn, e),
    };
    values.iter_mut().for_each(|v| *v += delta);
    if short {
        values.pop();
    }
    let accept = req.header("accept").unwrap_or("text/csv");
    if accept.starts_with("text/csv") {
        respond(conn, 200, None, "text/csv", csv::write_joined(&values).as_bytes());
    } else {
        let keys = names::record_keys(info.schema());
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let list = if info.family() == Family::Rcf { "scores" } else { "predictions" };
        respond(conn, 200, None, "application/json", write_records(&values, &keys, Some(list)).as_bytes());
    }
}

/// Checks a request's SigV4 signature by signing the same request again with aws-sigv4 and the
/// same secret: the signature must be the one the request carries, for service `sagemaker` in
/// `region`. Returns the access key it was signed with.
pub fn verify_sigv4(req: &Received, secret: &str, region: &str) -> String {
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;

    let auth = req.header("authorization").expect("an Authorization header");
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").unwrap_or_else(|| panic!("not SigV4: {auth}"));
    let field = |name: &str| {
        rest.split(", ")
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {auth}"))
            .to_string()
    };
    let credential = field("Credential");
    let signed_headers = field("SignedHeaders");
    let signature = field("Signature");
    let mut scope = credential.split('/');
    let access_key = scope.next().unwrap().to_string();
    let date = scope.next().unwrap();
    assert_eq!(
        scope.collect::<Vec<_>>(),
        [region, "sagemaker", "aws4_request"],
        "credential scope of {credential}"
    );
    let amz_date = req.header("x-amz-date").expect("x-amz-date");
    assert!(amz_date.starts_with(date), "x-amz-date {amz_date} and scope date {date} differ");
    let time = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .expect("x-amz-date format")
        .and_utc();
    let time = std::time::UNIX_EPOCH + Duration::from_secs(time.timestamp() as u64);
    for must in ["host", "x-amz-date", "content-type"] {
        assert!(signed_headers.split(';').any(|h| h == must), "{must} is not signed: {signed_headers}");
    }
    let headers: Vec<(&str, &str)> = signed_headers
        .split(';')
        .map(|h| (h, req.header(h).unwrap_or_else(|| panic!("signed header {h} was not sent"))))
        .collect();
    let identity = Credentials::new(&access_key, secret, None, None, "verify").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sagemaker")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let uri = format!("http://{}{}", req.header("host").unwrap(), req.path);
    let signable =
        SignableRequest::new(&req.method, uri, headers.into_iter(), SignableBody::Bytes(&req.body)).unwrap();
    let (_, expected) = sign(signable, &params).unwrap().into_parts();
    assert_eq!(signature, expected, "the signature does not verify with the shared secret");
    access_key
}
