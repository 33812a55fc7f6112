//! The stream book over real (native) RCF scorers: persistence across book instances, the
//! redeploy policy, eviction under a live-stream bound, shared stores, bad batches.

use std::sync::Arc;

use scorekit_artifact::{Artifact, Model};
use scorekit_host::native::NativeScorer;
use scorekit_host::streams::{
    BookConfig, FileStore, MemoryStore, Persist, Redeploy, StateStore, StepOp, StreamBook,
};
use scorekit_host::{Code, Family, Field, Rows, Schema, SharedScorer};

fn series(n: usize, phase: f64) -> Vec<f64> {
    (0..n).map(|i| ((i as f64) * 0.3 + phase).sin() * 10.0 + 50.0).collect()
}

fn rcf(seed: u64, provenance: &str) -> SharedScorer {
    let config = scorekit_rcf::RcfConfig {
        dimensions: 1,
        shingle_size: 4,
        num_trees: 20,
        sample_size: 32,
        seed,
        ..Default::default()
    };
    let model = scorekit_rcf::train(&series(300, 0.0), config, |_, _| {}).unwrap();
    let schema = Schema {
        name: "anomaly".into(),
        family: Family::Rcf,
        inputs: vec![Field::numeric("value")],
        target: None,
        positive_label: None,
        outputs: vec!["score".into()],
    };
    let mut a = Artifact::new(schema, Model::Rcf(model));
    a.provenance.push(("build".into(), provenance.into()));
    Arc::new(NativeScorer::new(a))
}

fn rows(xs: &[f64]) -> Rows {
    Rows::dense(1, xs).unwrap()
}

fn scores(book: &StreamBook, s: &SharedScorer, key: &str, xs: &[f64]) -> (Vec<f64>, u64, Option<String>) {
    let out = book.step(s, "anomaly", key, &rows(xs), StepOp::Learn).unwrap();
    (out.steps.iter().map(|r| r.score).collect(), out.readings, out.notice)
}

#[test]
fn a_saved_stream_continues_exactly_in_a_new_book() {
    let dir = tempfile::tempdir().unwrap();
    let m = rcf(1, "a");
    let xs = series(120, 1.0);
    let straight = StreamBook::new(Arc::new(MemoryStore::new()), BookConfig::default());
    let (_, _, _) = scores(&straight, &m, "k", &xs[..60]);
    let (want, _, _) = scores(&straight, &m, "k", &xs[60..]);

    let first = StreamBook::new(Arc::new(FileStore::new(dir.path())), BookConfig::default());
    scores(&first, &m, "k", &xs[..60]);
    assert_eq!(first.flush(), (1, 0));
    drop(first);
    let second = StreamBook::new(Arc::new(FileStore::new(dir.path())), BookConfig::default());
    let (got, readings, notice) = scores(&second, &m, "k", &xs[60..]);
    assert_eq!(got, want, "the restored stream diverged from the uninterrupted one");
    assert_eq!((readings, notice), (120, None));
}

#[test]
fn redeploy_carries_the_same_trained_model_over_and_restarts_a_retrained_one() {
    let store = Arc::new(MemoryStore::new());
    let book = StreamBook::new(store.clone(), BookConfig::default());
    let (v1, v1_rebuilt, retrained) = (rcf(1, "a"), rcf(1, "b"), rcf(2, "a"));
    assert_ne!(v1.info().sha256, v1_rebuilt.info().sha256);
    assert_eq!(v1.info().description.model_sha256, v1_rebuilt.info().description.model_sha256);
    let xs = series(100, 2.0);
    scores(&book, &v1, "k", &xs[..50]);
    let (_, readings, notice) = scores(&book, &v1_rebuilt, "k", &xs[50..60]);
    assert_eq!(readings, 60);
    assert!(notice.unwrap().contains("carried over"));

    let (_, readings, notice) = scores(&book, &retrained, "k", &xs[60..70]);
    assert_eq!(readings, 10, "a retrained model restarts the stream");
    let notice = notice.unwrap();
    assert!(
        notice.contains("restarted from the new model") && notice.contains("(60 readings) is kept"),
        "{notice}"
    );
    assert_eq!(store.archived().len(), 1);
    assert_eq!(store.archived()[0].3.meta.readings, 60);

    // The restart policy never carries over; carry-over always tries.
    let always = StreamBook::new(
        Arc::new(MemoryStore::new()),
        BookConfig { redeploy: Redeploy::Restart, ..BookConfig::default() },
    );
    scores(&always, &v1, "k", &xs[..5]);
    assert_eq!(scores(&always, &v1_rebuilt, "k", &xs[5..6]).1, 1);
    let carry = StreamBook::new(
        Arc::new(MemoryStore::new()),
        BookConfig { redeploy: Redeploy::CarryOver, ..BookConfig::default() },
    );
    scores(&carry, &v1, "k", &xs[..5]);
    assert_eq!(scores(&carry, &retrained, "k", &xs[5..6]).1, 6);
}

#[test]
fn live_streams_are_bounded_and_evicted_ones_come_back_whole() {
    let store = Arc::new(MemoryStore::new());
    let book = StreamBook::new(store.clone(), BookConfig { max_live: 2, ..BookConfig::default() });
    let m = rcf(1, "a");
    let xs = series(40, 0.5);
    let reference = StreamBook::new(Arc::new(MemoryStore::new()), BookConfig::default());
    for key in ["a", "b", "c", "d"] {
        scores(&book, &m, key, &xs[..20]);
        scores(&reference, &m, key, &xs[..20]);
        assert!(book.live() <= 2);
    }
    for key in ["a", "b", "c", "d"] {
        assert_eq!(scores(&book, &m, key, &xs[20..]), scores(&reference, &m, key, &xs[20..]));
    }
    let listed = book.list("anomaly").unwrap();
    assert_eq!(listed.iter().map(|s| s.readings).collect::<Vec<_>>(), [40, 40, 40, 40]);
}

#[test]
fn a_bad_reading_fails_the_batch_without_learning_any_of_it() {
    let book = StreamBook::new(Arc::new(MemoryStore::new()), BookConfig::default());
    let m = rcf(1, "a");
    scores(&book, &m, "k", &[50.0, 51.0]);
    let bad = book.step(&m, "anomaly", "k", &rows(&[52.0, f64::INFINITY, 53.0]), StepOp::Learn).unwrap_err();
    assert_eq!(bad.code, Code::BadInput);
    assert!(bad.message.contains("row 2"), "{}", bad.message);
    assert_eq!(scores(&book, &m, "k", &[52.0]).1, 3, "none of the failed batch was learned");
    assert_eq!(
        book.step(&m, "anomaly", "bad\nkey", &rows(&[1.0]), StepOp::Learn).unwrap_err().code,
        Code::BadInput
    );
}

#[test]
fn a_shared_store_is_the_truth_a_live_stream_is_checked_against() {
    // Two books over one store: PostgreSQL sessions over one table.
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let config = BookConfig { shared_store: true, persist: Persist::EveryStep, ..BookConfig::default() };
    let (one, two) = (StreamBook::new(store.clone(), config), StreamBook::new(store.clone(), config));
    let m = rcf(1, "a");
    let xs = series(30, 0.1);
    scores(&one, &m, "k", &xs[..10]);
    scores(&two, &m, "k", &xs[10..20]);
    let (got, readings, _) = scores(&one, &m, "k", &xs[20..]);
    let reference = StreamBook::new(Arc::new(MemoryStore::new()), BookConfig::default());
    scores(&reference, &m, "k", &xs[..20]);
    assert_eq!((got, readings), (scores(&reference, &m, "k", &xs[20..]).0, 30));
}

#[test]
fn logged_steps_survive_a_crash_between_saves() {
    use scorekit_host::streams::Wal;
    let dir = tempfile::tempdir().unwrap();
    let (states, log) = (dir.path().join("states"), dir.path().join("wal"));
    let m = rcf(1, "a");
    let xs = series(90, 0.7);
    let reference = StreamBook::new(Arc::new(MemoryStore::new()), BookConfig::default());
    for part in xs.chunks(10) {
        scores(&reference, &m, "k", part);
    }
    let (want, _, _) = scores(&reference, &m, "k", &[55.0, 56.0]);

    {
        let (wal, old) = Wal::open(&log).unwrap();
        assert!(old.is_empty());
        let book =
            StreamBook::new(Arc::new(FileStore::new(&states)), BookConfig::default()).with_wal(Arc::new(wal));
        for (i, part) in xs.chunks(10).enumerate() {
            let out = book.step(&m, "anomaly", "k", &rows(part), StepOp::Learn).unwrap();
            assert!(out.durable);
            if i == 3 {
                // One save in the middle: later steps exist only in the log.
                assert_eq!(book.flush(), (1, 0));
            }
        }
        // The process dies here: no flush, no drop handlers that save.
        std::mem::forget(book);
    }
    let (wal, records) = Wal::open(&log).unwrap();
    assert_eq!(records.len(), 9, "every step is in the log");
    let book =
        StreamBook::new(Arc::new(FileStore::new(&states)), BookConfig::default()).with_wal(Arc::new(wal));
    let report = book.recover(records, |_| Some(m.clone()));
    assert_eq!(
        (report.streams, report.steps, report.failed.len()),
        (1, 5, 0),
        "the 5 steps after the save are replayed"
    );
    let (got, readings, _) = scores(&book, &m, "k", &[55.0, 56.0]);
    assert_eq!((got, readings), (want, 92), "no acknowledged reading was lost");
}

#[test]
fn quotas_and_live_bytes_bound_what_callers_can_make_us_hold() {
    use scorekit_host::streams::Quotas;
    let m = rcf(1, "a");
    let book = StreamBook::new(
        Arc::new(MemoryStore::new()),
        BookConfig {
            quotas: Quotas { max_streams: 6, max_streams_per_prefix: 2 },
            max_live_bytes: 1,
            ..BookConfig::default()
        },
    );
    for key in ["a/1", "a/2", "b/1", "b/2", "c"] {
        scores(&book, &m, key, &[50.0]);
        assert!(book.live() <= 1, "one live stream fits the byte budget at most");
    }
    let e = book.step(&m, "anomaly", "a/3", &rows(&[50.0]), StepOp::Learn).unwrap_err();
    assert_eq!(e.code, Code::QuotaExceeded);
    assert!(e.message.contains("prefix 'a'"), "{}", e.message);
    scores(&book, &m, "d/1", &[50.0]);
    let e = book.step(&m, "anomaly", "e/1", &rows(&[50.0]), StepOp::Learn).unwrap_err();
    assert!(e.message.contains("has 6 streams"), "{}", e.message);
    // Known streams keep working; a deleted one frees its place.
    scores(&book, &m, "a/1", &[51.0]);
    assert!(book.delete("anomaly", "c").unwrap());
    scores(&book, &m, "e/1", &[50.0]);
}

#[test]
fn a_recovery_of_many_streams_stays_within_the_live_bound() {
    use scorekit_host::streams::Wal;
    let dir = tempfile::tempdir().unwrap();
    let (states, log) = (dir.path().join("states"), dir.path().join("wal"));
    let m = rcf(1, "a");
    {
        let (wal, _) = Wal::open(&log).unwrap();
        let book =
            StreamBook::new(Arc::new(FileStore::new(&states)), BookConfig::default()).with_wal(Arc::new(wal));
        for k in 0..12 {
            book.step(&m, "anomaly", &format!("k{k}"), &rows(&[50.0, 51.0]), StepOp::Learn).unwrap();
        }
        std::mem::forget(book);
    }
    let (wal, records) = Wal::open(&log).unwrap();
    let book = StreamBook::new(
        Arc::new(FileStore::new(&states)),
        BookConfig { max_live: 3, ..BookConfig::default() },
    )
    .with_wal(Arc::new(wal));
    let report = book.recover(records, |_| Some(m.clone()));
    assert_eq!((report.streams, report.failed.len()), (12, 0));
    assert!(book.live() <= 3, "{} live after recovery", book.live());
    assert_eq!(book.list("anomaly").unwrap().iter().map(|s| s.readings).sum::<u64>(), 24);
}
