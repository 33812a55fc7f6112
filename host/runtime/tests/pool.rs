//! Concurrency, instance reuse and the on-disk compile cache.

mod common;

use std::sync::Arc;

use common::*;
use scorekit_runtime::{Rows, Runtime, RuntimeConfig, ScoringModule, Stream};
use sha2::Digest;

#[test]
fn public_types_are_send_and_sync() {
    fn both<T: Send + Sync>() {}
    fn send<T: Send>() {}
    both::<Runtime>();
    both::<ScoringModule>();
    both::<Arc<ScoringModule>>();
    send::<Stream>();
    both::<scorekit_runtime::RuntimeError>();
}

#[test]
fn concurrent_callers_get_their_own_answers() {
    let rt = Runtime::new(RuntimeConfig { max_idle_instances: 3, ..RuntimeConfig::default() }).unwrap();
    let m = rt.load(&good_module(), None).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let x = (t * 1000 + i) as f64;
                    let rows = Rows::dense(1, &[x, x + 0.5]).unwrap();
                    assert_eq!(m.score(&rows).unwrap(), vec![2.0 * x, 2.0 * x + 1.0]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn compile_cache_is_written_reused_and_survives_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RuntimeConfig::default().with_cache_dir(dir.path());
    let wasm = good_module();
    let rt = Runtime::new(cfg.clone()).unwrap();
    assert!(!rt.is_cached(&wasm));
    rt.load(&wasm, None).unwrap();
    assert!(rt.is_cached(&wasm));
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1, "one entry, no temp files left: {entries:?}");
    let entry = entries[0].clone();
    let sha = scorekit_runtime::inspect(&wasm).unwrap().sha256_hex();
    assert!(entry.file_name().unwrap().to_str().unwrap().starts_with(&sha));
    let written = std::fs::read(&entry).unwrap();
    let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&entry).unwrap());

    // A new runtime (think: a new process) finds it and scores.
    {
        let rt2 = Runtime::new(cfg.clone()).unwrap();
        assert!(rt2.is_cached(&wasm));
        let m = rt2.load(&wasm, None).unwrap();
        assert_eq!(m.score(&Rows::dense(1, &[2.0]).unwrap()).unwrap(), vec![4.0]);
        assert_eq!(std::fs::read(&entry).unwrap(), written, "a good entry is not rewritten");
        // Not even with equal bytes: the load used the entry (the very file), it did not
        // compile and replace it.
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&entry).unwrap().ino(), inode, "the entry was replaced");
    }

    // A corrupt entry is ignored, the module recompiled, and the entry repaired. (Damaged in
    // place only now that no live module maps it: a loaded module runs from the mapped file.)
    let mut bad = written.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&entry, &bad).unwrap();
    let m = Runtime::new(cfg.clone()).unwrap().load(&wasm, None).unwrap();
    assert_eq!(m.score(&Rows::dense(1, &[3.0]).unwrap()).unwrap(), vec![6.0]);
    assert_eq!(std::fs::read(&entry).unwrap(), written);
    std::fs::write(&entry, b"short").unwrap();
    assert!(Runtime::new(cfg.clone()).unwrap().load(&wasm, None).is_ok());
    assert_eq!(std::fs::read(&entry).unwrap(), written);

    // Entries of the earlier layouts are not misread as code: refused, recompiled and
    // rewritten in the current layout (code, description, then a footer). First the code's
    // SHA-256, then the code; then a 16-byte header (tag, length, CRC-32) before the code; then
    // the code and that footer after it, without a description.
    let footer = &written[written.len() - 20..];
    let code_len = u32::from_le_bytes(footer[8..12].try_into().unwrap()) as usize;
    let code = &written[..code_len];
    let mut sha_first: Vec<u8> = sha2::Sha256::digest(code).to_vec();
    sha_first.extend_from_slice(code);
    let mut v3_footer = b"skcwasm3".to_vec();
    v3_footer.extend_from_slice(&(code.len() as u32).to_le_bytes());
    v3_footer.extend_from_slice(&crc32fast::hash(code).to_le_bytes());
    let mut header_first = b"skcwasm2".to_vec();
    header_first.extend_from_slice(&v3_footer[8..]);
    header_first.extend_from_slice(code);
    let mut footer_only = code.to_vec();
    footer_only.extend_from_slice(&v3_footer);
    for (k, old) in [sha_first, header_first, footer_only].iter().enumerate() {
        // Replaced by a rename, as the runtime itself does: a live module maps the old file.
        let tmp = dir.path().join(".old");
        std::fs::write(&tmp, old).unwrap();
        std::fs::rename(&tmp, &entry).unwrap();
        let m = Runtime::new(cfg.clone()).unwrap().load(&wasm, None).unwrap();
        let x = 5.0 + k as f64;
        assert_eq!(m.score(&Rows::dense(1, &[x]).unwrap()).unwrap(), vec![2.0 * x]);
        assert_eq!(std::fs::read(&entry).unwrap(), written, "old layout {k} rewritten");
    }

    // The footer's length must match: an entry with a byte appended is refused too.
    let mut long = written.clone();
    long.push(0);
    std::fs::write(&entry, &long).unwrap();
    assert!(Runtime::new(cfg).unwrap().load(&wasm, None).is_ok());
    assert_eq!(std::fs::read(&entry).unwrap(), written);
}

#[test]
fn a_cached_module_loads_by_its_hash_alone() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RuntimeConfig::default().with_cache_dir(dir.path());
    let wasm = good_module();
    let info = scorekit_runtime::inspect(&wasm).unwrap();
    let sha = info.sha256;
    // No cache directory, or no entry yet: nothing.
    assert!(Runtime::new(RuntimeConfig::default()).unwrap().load_cached(&sha).is_none());
    assert!(Runtime::new(cfg.clone()).unwrap().load_cached(&sha).is_none());
    Runtime::new(cfg.clone()).unwrap().load(&wasm, Some(sha)).unwrap();

    // A new runtime (a new process) loads it from its entry: the same description and size as
    // a load of the bytes, and it scores.
    let m = Runtime::new(cfg.clone()).unwrap().load_cached(&sha).expect("loaded from the entry");
    assert_eq!(m.info(), &info);
    assert_eq!(m.score(&Rows::dense(1, &[2.0]).unwrap()).unwrap(), vec![4.0]);
    // Another hash has no entry.
    let mut other = sha;
    other[0] ^= 1;
    assert!(Runtime::new(cfg.clone()).unwrap().load_cached(&other).is_none());

    // A damaged entry (code or description), or one of the previous layout: nothing; a load of
    // the bytes repairs it.
    let entry = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
    let written = std::fs::read(&entry).unwrap();
    for at in [written.len() / 2, written.len() - 30] {
        let mut bad = written.clone();
        bad[at] ^= 0xff;
        std::fs::write(&entry, &bad).unwrap();
        assert!(Runtime::new(cfg.clone()).unwrap().load_cached(&sha).is_none(), "byte {at} damaged");
    }
    Runtime::new(cfg.clone()).unwrap().load(&wasm, Some(sha)).unwrap();
    assert_eq!(std::fs::read(&entry).unwrap(), written);
    assert!(Runtime::new(cfg).unwrap().load_cached(&sha).is_some());
}
