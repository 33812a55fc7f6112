//! The remote scorer and the policy scorer against a SageMaker-compatible stand-in on loopback
//! (`support::Fake`): wire formats both ways, SigV4 signatures re-verified with the same secret,
//! batching and row numbers, retries on throttling and 5xx only, no retries of model errors,
//! timeouts or validation errors, malformed answers and dropped connections, the circuit
//! breaker opening and recovering, fallback exactly per policy, shadow agreement.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use scorekit_host::policy::{Policy, PolicyCounters, PolicyScorer, ShadowSettings};
use scorekit_host::remote::runtime::runtime;
use scorekit_host::remote::{BreakerConfig, BreakerState, Endpoint, EndpointConfig, Outcome, RemoteScorer};
use scorekit_host::{
    BatchBuilder, Code, ForecastQuery, History, HostError, HostResult, InputPolicy, ModelInfo, Rows, Scorer,
    SharedScorer, StreamScorer, Value,
};
use support::{Act, Fake, SECRET_KEY, env_credentials, fixture, verify_sigv4};

const REGION: &str = "us-east-1";

fn endpoint(fake: &Fake, name: &str, tune: impl FnOnce(&mut EndpointConfig)) -> Arc<Endpoint> {
    env_credentials();
    let mut c = EndpointConfig::new(name);
    c.region = Some(REGION.into());
    c.endpoint_url = Some(fake.url());
    c.backoff = Duration::from_millis(5);
    c.max_backoff = Duration::from_millis(20);
    tune(&mut c);
    c.check().unwrap();
    Arc::new(
        scorekit_host::remote::runtime::wait(async move { Ok(Endpoint::connect(c).await) }, None).unwrap(),
    )
}

fn remote(
    fake: &Fake,
    name: &str,
    model: &SharedScorer,
    tune: impl FnOnce(&mut EndpointConfig),
) -> RemoteScorer {
    RemoteScorer::new(endpoint(fake, name, tune), model.info().description.clone()).unwrap()
}

/// Churn rows from the fixture's schema: a few real-looking customers, one per state given.
fn churn_rows(model: &SharedScorer, states: &[&str], row_base: usize) -> Rows {
    let schema = model.info().schema();
    let mut b = BatchBuilder::new(schema, InputPolicy::default()).with_row_base(row_base).unwrap();
    for (i, st) in states.iter().enumerate() {
        let mut v = vec![
            Value::Text(st),
            Value::Int(100 + i as i64),
            Value::Text("415"),
            Value::Text("no"),
            Value::Text(if i % 2 == 0 { "yes" } else { "no" }),
            Value::Int(25),
            Value::Float(265.1 - i as f64 * 7.5),
            Value::Int(110),
            Value::Float(45.07),
            Value::Float(197.4),
            Value::Int(99),
            Value::Float(16.78),
            Value::Float(244.7),
            Value::Int(91),
            Value::Null,
            Value::Float(10.0),
            Value::Int(3),
            Value::Float(2.7),
            Value::Int(i as i64 % 5),
        ];
        v.truncate(schema.inputs.len());
        b.push_positional(&v).unwrap();
    }
    b.finish()
}

const STATES: [&str; 7] = ["KS", "OH", "NJ", "OH", "AL", "MA", "MO"];

#[test]
fn requests_are_sigv4_signed_for_sagemaker_and_answers_equal_the_local_model() {
    let churn = fixture("churn");
    let fake = Fake::start(&[("churn-prod", churn.clone())]);
    let r = remote(&fake, "churn-prod", &churn, |_| {});
    let rows = churn_rows(&churn, &STATES, 0);
    assert_eq!(r.score(&rows).unwrap(), churn.score(&rows).unwrap(), "bit for bit");
    let got = fake.received();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/endpoints/churn-prod/invocations"));
    assert_eq!(req.header("content-type"), Some("text/csv"));
    assert_eq!(req.header("accept"), Some("text/csv"));
    // Rows as Aurora MySQL sends them: no header, schema order, NULL as an empty field.
    let body = String::from_utf8(req.body.clone()).unwrap();
    assert_eq!(body.lines().count(), 7);
    assert!(
        body.starts_with("KS,100,415,no,yes,25,265.1,110,45.07,197.4,99,16.78,244.7,91,,10,3,2.7,0\n"),
        "{body}"
    );
    assert_eq!(verify_sigv4(req, SECRET_KEY, REGION), support::ACCESS_KEY);
    assert!(req.header("custom-attributes").is_none());
    assert_eq!(r.info().sha256, "remote:churn-prod");
}

#[test]
fn a_batch_goes_in_requests_of_max_rows_and_keeps_its_row_numbers() {
    let churn = fixture("churn");
    let fake = Fake::start(&[("churn", churn.clone())]);
    let r = remote(&fake, "churn", &churn, |c| c.max_rows_per_request = 3);
    let rows = churn_rows(&churn, &STATES, 0);
    assert_eq!(r.score(&rows).unwrap(), churn.score(&rows).unwrap());
    let got = fake.received();
    let counts: Vec<usize> = got.iter().map(|q| String::from_utf8_lossy(&q.body).lines().count()).collect();
    assert_eq!(counts, [3, 3, 1]);
    let bases: Vec<Option<&str>> =
        got.iter().map(|q| q.header("x-amzn-sagemaker-custom-attributes")).collect();
    assert_eq!(bases, [None, Some("scorekit-row-base=3"), Some("scorekit-row-base=6")]);
    // A bad value in row 5 (the second request) is named as row 5, in that request.
    fake.clear();
    let mut bad = STATES;
    bad[4] = "ZZ";
    let e = r.score(&churn_rows(&churn, &bad, 0)).unwrap_err();
    assert_eq!(e.code, Code::BadInput);
    assert!(e.message.contains("row 5, column 'state': unknown category 'ZZ'"), "{}", e.message);
    assert!(e.message.starts_with("request 2 of 3 (rows 4-6): endpoint 'churn'"), "{}", e.message);
    assert_eq!(fake.received().len(), 2, "the third request is not sent after the second failed");
    // A batch that continues a file keeps its numbers (the CLI's chunks, SQL batches).
    fake.clear();
    let e = r.score(&churn_rows(&churn, &bad[..5], 4096)).unwrap_err();
    assert!(e.message.contains("row 4101, column 'state'"), "{}", e.message);
    // And a byte bound splits too.
    let fake2 = Fake::start(&[("churn", churn.clone())]);
    let r2 = remote(&fake2, "churn", &churn, |c| c.max_request_bytes = 1024);
    let many: Vec<&str> = STATES.iter().cycle().take(40).copied().collect();
    let rows = churn_rows(&churn, &many, 0);
    assert_eq!(r2.score(&rows).unwrap(), churn.score(&rows).unwrap());
    assert!(fake2.received().iter().all(|q| q.body.len() <= 1024));
    assert!(fake2.received().len() >= 3);
}

#[test]
fn throttling_and_5xx_are_retried_with_backoff_and_nothing_else_is() {
    let churn = fixture("churn");
    let fake = Fake::start(&[("churn", churn.clone())]);
    let r = remote(&fake, "churn", &churn, |c| c.retries = 2);
    let rows = churn_rows(&churn, &STATES[..2], 0);
    let want = churn.score(&rows).unwrap();
    fake.script([Act::throttle(), Act::internal()]);
    assert_eq!(r.score(&rows).unwrap(), want);
    assert_eq!(fake.received().len(), 3);
    let c = r.endpoint().counters();
    assert_eq!(
        (c.requests(Outcome::Throttled), c.requests(Outcome::ServerError), c.requests(Outcome::Ok)),
        (1, 1, 1)
    );
    assert_eq!(c.retries.load(Ordering::Relaxed), 2);
    // Throttled on every attempt: a clear 'unavailable' after 3 attempts.
    fake.clear();
    fake.script([Act::throttle(), Act::throttle(), Act::throttle()]);
    let e = r.score(&rows).unwrap_err();
    assert_eq!(e.code, Code::Unavailable);
    assert!(
        e.message.contains("ThrottlingException") && e.message.contains("after 3 attempts"),
        "{}",
        e.message
    );
    assert_eq!(fake.received().len(), 3);
    // Never retried: a model error, a validation error, a timeout, a dropped connection.
    for (act, code, needle) in [
        (Act::model_error(), Code::ModuleFailed, "boom: the model crashed"),
        (
            Act::Fail(400, "ValidationError", r#"{"message":"Bad request body"}"#.into()),
            Code::BadInput,
            "Bad request body",
        ),
        (Act::Late(Duration::from_millis(1500)), Code::Deadline, "no answer within 400 ms"),
        (Act::Drop, Code::Unavailable, "cannot reach it"),
    ] {
        let fake = Fake::start(&[("churn", churn.clone())]);
        let r = remote(&fake, "churn", &churn, |c| {
            c.retries = 3;
            c.timeout = Duration::from_millis(400);
        });
        fake.script([act.clone()]);
        let e = r.score(&rows).unwrap_err();
        assert_eq!(e.code, code, "{act:?}: {}", e.message);
        assert!(e.message.contains(needle), "{act:?}: {}", e.message);
        assert_eq!(fake.received().len(), 1, "{act:?} was retried");
    }
}

#[test]
fn malformed_answers_are_clear_errors_never_short_results() {
    let churn = fixture("churn");
    let fake = Fake::start(&[("churn", churn.clone())]);
    let r = remote(&fake, "churn", &churn, |c| c.retries = 0);
    let rows = churn_rows(&churn, &STATES[..3], 0);
    fake.script([Act::Garbage]);
    let e = r.score(&rows).unwrap_err();
    assert_eq!(e.code, Code::ModuleFailed);
    assert!(
        e.message.contains("answered malformed data") && e.message.contains("not a number"),
        "{}",
        e.message
    );
    fake.script([Act::Short]);
    let e = r.score(&rows).unwrap_err();
    assert!(e.message.contains("2 values for 3 rows"), "{}", e.message);
    // An endpoint that does not exist: SageMaker's ValidationError, named.
    let r = remote(&fake, "nope", &churn, |_| {});
    let e = r.score(&rows).unwrap_err();
    assert_eq!(e.code, Code::BadInput);
    assert!(e.message.contains("Endpoint nope of account 000000000000 not found"), "{}", e.message);
}

#[test]
fn the_breaker_opens_after_failures_in_a_row_fails_fast_and_recovers() {
    let churn = fixture("churn");
    let fake = Fake::start(&[("churn", churn.clone())]);
    let r = remote(&fake, "churn", &churn, |c| {
        c.retries = 0;
        c.breaker = BreakerConfig { failures: 2, open_for: Duration::from_millis(300) };
    });
    let rows = churn_rows(&churn, &STATES[..1], 0);
    fake.script([Act::unavailable(), Act::unavailable()]);
    assert!(r.score(&rows).is_err());
    assert_eq!(r.endpoint().breaker().state(), BreakerState::Closed);
    assert!(r.score(&rows).is_err());
    assert_eq!(r.endpoint().breaker().state(), BreakerState::Open);
    // Open: no request is sent, the error says why and when.
    let started = Instant::now();
    let e = r.score(&rows).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(e.code, Code::Unavailable);
    assert!(e.message.contains("circuit breaker is open"), "{}", e.message);
    assert_eq!(fake.received().len(), 2);
    let stats = r.stats();
    let stat = |name: &str, label: Option<&str>| {
        stats
            .iter()
            .find(|s| s.name == name && label.is_none_or(|l| s.labels.iter().any(|(_, v)| v == l)))
            .unwrap_or_else(|| panic!("no {name}"))
            .value
    };
    assert_eq!(stat("remote_breaker_state", None), 2.0);
    assert_eq!(stat("remote_breaker_opened_total", None), 1.0);
    assert_eq!(stat("remote_requests_total", Some("breaker_open")), 1.0);
    // After open_for, one probe goes through; the endpoint answers: closed again.
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(r.score(&rows).unwrap(), churn.score(&rows).unwrap());
    assert_eq!(r.endpoint().breaker().state(), BreakerState::Closed);
    // Model and validation errors say nothing about the endpoint's health.
    fake.script([Act::model_error(), Act::model_error(), Act::model_error()]);
    for _ in 0..3 {
        assert_eq!(r.score(&rows).unwrap_err().code, Code::ModuleFailed);
    }
    assert_eq!(r.endpoint().breaker().state(), BreakerState::Closed);
}

#[test]
fn rcf_json_and_deepar_json_round_trip_bit_for_bit() {
    let anomaly = fixture("anomaly");
    let forecast = fixture("forecast");
    let fake = Fake::start(&[("anomaly", anomaly.clone()), ("forecast", forecast.clone())]);
    let ra = remote(&fake, "anomaly", &anomaly, |_| {});
    let schema = anomaly.info().schema();
    let mut b = BatchBuilder::new(schema, InputPolicy::default());
    for x in [70.0, 71.5, 140.0, f64::NAN] {
        b.push_positional(&vec![Value::Float(x); schema.inputs.len()]).unwrap();
    }
    let rows = b.finish();
    // A NaN reading is refused by the endpoint as the local model refuses it, same kind, same
    // words, the endpoint named.
    let local = anomaly.score(&rows).unwrap_err();
    let got = ra.score(&rows).unwrap_err();
    assert_eq!(got.code, local.code);
    assert_eq!(got.message, format!("endpoint 'anomaly': {}", local.message));
    let finite = {
        let mut b = BatchBuilder::new(schema, InputPolicy::default());
        for x in [70.0, 71.5, 140.0] {
            b.push_positional(&vec![Value::Float(x); schema.inputs.len()]).unwrap();
        }
        b.finish()
    };
    assert_eq!(ra.score(&finite).unwrap(), anomaly.score(&finite).unwrap(), "bit for bit");
    let req = &fake.received()[0];
    assert_eq!(req.header("content-type"), Some("application/json"));
    let doc: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(doc["instances"][0]["features"][0], 70.0);
    assert!(doc["instances"][3]["features"][0].is_null());

    let rf = remote(&fake, "forecast", &forecast, |_| {});
    let info = forecast.info().description.clone();
    let n = info.min_history.unwrap_or(48).max(24 * 14) as usize;
    let values: Vec<f64> =
        (0..n).map(|i| 100.0 + 20.0 * ((i % 24) as f64 / 24.0 * std::f64::consts::TAU).sin()).collect();
    let h = History::untimed(values, Some(1_400_000_400)).unwrap();
    let q =
        ForecastQuery { horizon: 0, quantiles: vec![0.1, 0.5, 0.9], num_samples: 0, seed: 0, start: None };
    assert_eq!(rf.forecast(&h, &q).unwrap(), forecast.forecast(&h, &q).unwrap());
    let q = ForecastQuery { horizon: 3, quantiles: vec![0.25], num_samples: 4, seed: 7, start: None };
    assert_eq!(rf.forecast(&h, &q).unwrap(), forecast.forecast(&h, &q).unwrap());
    // What an endpoint cannot do is refused, naming it.
    let e = ra.explain(&rows).unwrap_err();
    assert_eq!(e.code, Code::Unsupported);
    assert!(e.message.contains("explain"), "{}", e.message);
    assert!(ra.open_stream().is_err());
}

#[test]
fn an_interrupt_stops_a_waiting_call() {
    let churn = fixture("churn");
    let fake = Fake::start(&[("churn", churn.clone())]);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let r = remote(&fake, "churn", &churn, |c| c.timeout = Duration::from_secs(30))
        .with_interrupt(Arc::new(move || flag.load(Ordering::Relaxed)));
    fake.script([Act::Late(Duration::from_secs(5))]);
    let setter = stop.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        setter.store(true, Ordering::Relaxed);
    });
    let started = Instant::now();
    let e = r.score(&churn_rows(&churn, &STATES[..1], 0)).unwrap_err();
    assert_eq!(e.code, Code::Interrupted);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

/// A local scorer that fails with a chosen code (or answers like the fixture).
struct Flaky {
    inner: SharedScorer,
    fail: std::sync::Mutex<Option<Code>>,
}

impl Scorer for Flaky {
    fn info(&self) -> &ModelInfo {
        self.inner.info()
    }
    fn score(&self, rows: &Rows) -> HostResult<Vec<f64>> {
        match *self.fail.lock().unwrap() {
            Some(code) => Err(HostError::new(code, format!("local {}", code.as_str()))),
            None => self.inner.score(rows),
        }
    }
    fn explain(&self, rows: &Rows) -> HostResult<Vec<f64>> {
        self.inner.explain(rows)
    }
    fn forecast(&self, h: &History, q: &ForecastQuery) -> HostResult<scorekit_host::ForecastOutput> {
        self.inner.forecast(h, q)
    }
    fn open_stream(&self) -> HostResult<Box<dyn StreamScorer>> {
        self.inner.open_stream()
    }
}

#[test]
fn local_then_remote_falls_back_exactly_per_policy() {
    let churn = fixture("churn");
    let fake = Fake::start(&[("churn", churn.clone())]);
    let local = Arc::new(Flaky { inner: churn.clone(), fail: std::sync::Mutex::new(None) });
    let counters = Arc::new(PolicyCounters::default());
    let p = PolicyScorer::new(
        Policy::LocalThenRemote,
        Some(local.clone() as SharedScorer),
        Some(remote(&fake, "churn", &churn, |c| c.retries = 0)),
        counters.clone(),
        ShadowSettings::new(1e-9, 4),
    )
    .unwrap();
    let rows = churn_rows(&churn, &STATES, 0);
    let want = churn.score(&rows).unwrap();
    assert_eq!(p.score(&rows).unwrap(), want);
    assert_eq!((fake.received().len(), counters.fallbacks()), (0, 0), "a healthy local module answers alone");
    for (code, falls_back) in [
        (Code::ModuleFailed, true),
        (Code::Deadline, true),
        (Code::MemoryLimit, true),
        (Code::Unavailable, true),
        (Code::BadInput, false),
        (Code::NullInput, false),
        (Code::Interrupted, false),
        (Code::TooLarge, false),
    ] {
        fake.clear();
        *local.fail.lock().unwrap() = Some(code);
        let before = counters.fallbacks();
        let r = p.score(&rows);
        if falls_back {
            assert_eq!(r.unwrap(), want, "{code:?}");
            assert_eq!(fake.received().len(), 1, "{code:?}");
            assert_eq!(counters.fallbacks(), before + 1);
        } else {
            assert_eq!(r.unwrap_err().code, code);
            assert_eq!(fake.received().len(), 0, "{code:?} must not go remote");
            assert_eq!(counters.fallbacks(), before);
        }
    }
    // Both fail: the error says what each answered.
    *local.fail.lock().unwrap() = Some(Code::ModuleFailed);
    fake.script([Act::unavailable()]);
    let e = p.score(&rows).unwrap_err();
    assert_eq!(e.code, Code::Unavailable);
    assert!(
        e.message.contains("ServiceUnavailable")
            && e.message.contains("after the local module failed: local module_failed"),
        "{}",
        e.message
    );
    // No local module at all: the endpoint answers (reason 'missing').
    let missing = PolicyScorer::new(
        Policy::LocalThenRemote,
        None,
        Some(remote(&fake, "churn", &churn, |_| {})),
        counters.clone(),
        ShadowSettings::new(1e-9, 4),
    )
    .unwrap();
    assert_eq!(missing.score(&rows).unwrap(), want);
    let fallbacks: Vec<(String, f64)> = missing
        .stats()
        .into_iter()
        .filter(|s| s.name == "policy_fallbacks_total")
        .map(|s| (s.labels[0].1.clone(), s.value))
        .collect();
    assert_eq!(
        fallbacks,
        [("missing".into(), 1.0), ("failed".into(), 4.0), ("deadline".into(), 1.0)],
        "failed: module_failed, memory_limit, unavailable and the double failure"
    );
    // Explanations never go remote: they are the local module's or refused.
    assert!(missing.explain(&rows).unwrap_err().message.contains("cannot explain"));
    // Remote policy: only the endpoint.
    fake.clear();
    let remote_only = PolicyScorer::new(
        Policy::Remote,
        Some(churn.clone()),
        Some(remote(&fake, "churn", &churn, |_| {})),
        Arc::new(PolicyCounters::default()),
        ShadowSettings::new(1e-9, 4),
    )
    .unwrap();
    assert_eq!(remote_only.score(&rows).unwrap(), want);
    assert_eq!(fake.received().len(), 1);
    assert_eq!(remote_only.info().sha256, "remote:churn");
}

#[test]
fn shadow_answers_locally_at_once_and_counts_agreement() {
    let churn = fixture("churn");
    let fake = Fake::start(&[("churn", churn.clone())]);
    let counters = Arc::new(PolicyCounters::default());
    let p = PolicyScorer::new(
        Policy::Shadow,
        Some(churn.clone()),
        Some(remote(&fake, "churn", &churn, |c| {
            c.retries = 0;
            c.timeout = Duration::from_secs(5);
        })),
        counters.clone(),
        ShadowSettings::new(1e-9, 2),
    )
    .unwrap();
    let rows = churn_rows(&churn, &STATES, 0);
    let want = churn.score(&rows).unwrap();
    let settle = |done: u64| {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let (a, d, e, _) = counters.shadow();
            if a + d + e >= done || Instant::now() > until {
                return (a, d, e);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    assert_eq!(p.score(&rows).unwrap(), want);
    assert_eq!(settle(1), (1, 0, 0));
    fake.script([Act::Skew(1e-3)]);
    assert_eq!(p.score(&rows).unwrap(), want);
    assert_eq!(settle(2), (1, 1, 0));
    let rows_disagreed =
        p.stats().into_iter().find(|s| s.name == "policy_shadow_rows_disagreed_total").unwrap().value;
    assert_eq!(rows_disagreed, 7.0);
    fake.script([Act::internal()]);
    assert_eq!(p.score(&rows).unwrap(), want);
    assert_eq!(settle(3), (1, 1, 1));
    // A slow endpoint never slows the answer; beyond the in-flight bound calls are skipped.
    fake.script([Act::Late(Duration::from_millis(800)), Act::Late(Duration::from_millis(800))]);
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(p.score(&rows).unwrap(), want);
    }
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    assert_eq!(counters.shadow().3, 1, "the third call found both slots busy");
    assert_eq!(settle(5), (3, 1, 1));
    assert_eq!(counters.calls(), (6, 0), "every answer was the local module's");
    let _ = runtime();
}

#[test]
fn csv_answer_is_the_endpoints_body_unparsed_and_the_local_one_is_host_serves() {
    let churn = fixture("churn");
    let fake = Fake::start(&[("churn", churn.clone())]);
    // A JSON-configured endpoint still gets Aurora's request: text/csv both ways.
    let r = remote(&fake, "churn", &churn, |c| {
        c.retries = 0;
        c.content_type = Some(scorekit_host::remote::WireFormat::Json);
    });
    let rows = churn_rows(&churn, &STATES[..1], 0);
    let local = churn.csv_answer(&rows).unwrap();
    assert_eq!(local, scorekit_host::formats::csv::write_joined(&churn.score(&rows).unwrap()));
    assert_eq!(r.csv_answer(&rows).unwrap(), local);
    let got = fake.received();
    assert_eq!(got.last().unwrap().header("content-type"), Some("text/csv"));
    assert_eq!(got.last().unwrap().header("accept"), Some("text/csv"));
    // A body that is no number comes back as it is (the caller's cast judges it); score refuses it.
    fake.script([Act::Garbage, Act::Garbage]);
    assert_eq!(r.csv_answer(&rows).unwrap(), "<html>oops</html>");
    assert!(r.score(&rows).is_err());
    // Through a policy: local-then-remote without a module answers with the endpoint's body.
    let counters = Arc::new(PolicyCounters::default());
    let p = PolicyScorer::new(
        Policy::LocalThenRemote,
        None,
        Some(r),
        counters.clone(),
        ShadowSettings::new(1e-9, 4),
    )
    .unwrap();
    fake.script([Act::Garbage]);
    assert_eq!(p.csv_answer(&rows).unwrap(), "<html>oops</html>");
    assert_eq!((counters.calls(), counters.fallbacks()), ((0, 1), 1));
}
