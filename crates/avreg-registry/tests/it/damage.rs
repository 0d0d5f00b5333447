//! Damaged files at start. The index is derived data: a segment file that
//! is missing, truncated or corrupt is set aside and its documents are
//! re-indexed from the store, so every recording is still found. The store
//! is the source of truth: damage to it is refused with an error naming
//! the store, never a panic and never an open that silently lost records.

use std::path::{Path, PathBuf};

use avreg_registry::Registry;

use crate::common::{excerpt, fingerprint, new_recording, open};

const N: u64 = 12;

/// A registry of `N` recordings whose index is written as segments.
fn registry_with_segments(dir: &Path) -> Vec<avreg_registry::RecordingId> {
    let reg = open(dir);
    let ids = (0..N)
        .map(|seed| {
            reg.register(new_recording(seed, 60_000))
                .expect("register")
                .recording()
                .id
        })
        .collect();
    reg.flush().expect("flush");
    ids
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir.join("index"))
        .expect("index dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seg-"))
        })
        .collect();
    out.sort();
    out
}

/// Every recording is found by an excerpt, and the registry verifies.
fn all_found(reg: &Registry, ids: &[avreg_registry::RecordingId]) {
    for (seed, id) in (0..N).zip(ids) {
        let q = excerpt(&fingerprint(seed, 60_000), 20_000, 10_000);
        let m = reg.lookup(&q).expect("lookup");
        assert_eq!(
            m.first().map(|m| m.recording.id),
            Some(*id),
            "recording {seed}"
        );
    }
    reg.verify().expect("verify");
}

#[test]
fn damaged_index_segments_are_set_aside_and_rebuilt_from_the_store() {
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 4] = [
        ("deleted", |p| std::fs::remove_file(p).expect("remove")),
        ("truncated", |p| {
            let len = std::fs::metadata(p).expect("meta").len();
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .expect("open");
            f.set_len(len / 2).expect("truncate");
        }),
        ("emptied", |p| std::fs::write(p, b"").expect("write")),
        ("a byte of its tail flipped", |p| {
            let mut b = std::fs::read(p).expect("read");
            let at = b.len() - 30;
            b[at] ^= 0x40;
            std::fs::write(p, b).expect("write");
        }),
    ];
    for (what, damage) in damages {
        let dir = tempfile::tempdir().expect("temp dir");
        let ids = registry_with_segments(dir.path());
        let segs = segments(dir.path());
        assert!(!segs.is_empty(), "the index has segments");
        for s in &segs {
            damage(s);
        }
        let reg = open(dir.path());
        all_found(&reg, &ids);
        drop(reg);
        if what != "deleted" {
            let aside = std::fs::read_dir(dir.path().join("index"))
                .expect("index dir")
                .filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("corrupt-seg-"))
                })
                .count();
            assert_eq!(
                aside,
                segs.len(),
                "{what}: the damaged files are kept aside"
            );
        }
        // And the next start is clean: the rebuilt index is in place.
        all_found(&open(dir.path()), &ids);
    }
}

#[test]
fn a_damaged_store_is_refused_naming_it_and_never_panics() {
    let dir = tempfile::tempdir().expect("temp dir");
    registry_with_segments(dir.path());
    let db = dir.path().join("store").join("db");
    let original = std::fs::read(&db).expect("sled's db file");
    let damages: Vec<(&str, Vec<u8>)> = vec![
        ("emptied", Vec::new()),
        (
            "truncated to 100 bytes",
            original[..100.min(original.len())].to_vec(),
        ),
        ("every byte of its first 4 KiB inverted", {
            let mut b = original.clone();
            for x in b.iter_mut().take(4096) {
                *x = !*x;
            }
            b
        }),
    ];
    for (what, bytes) in damages {
        std::fs::write(&db, &bytes).expect("damage");
        let opened = std::panic::catch_unwind(|| Registry::open(dir.path(), Default::default()));
        let opened = opened.unwrap_or_else(|_| panic!("{what}: opening panicked"));
        match opened {
            Err(e) => {
                let chain = error_chain(&e);
                assert!(
                    chain.contains("store"),
                    "{what}: the error names the store: {chain}"
                );
            }
            Ok(_) => panic!("{what}: a damaged store opened"),
        }
        std::fs::write(&db, &original).expect("restore");
    }
    // Restored, it opens and verifies.
    open(dir.path()).verify().expect("verify after restore");
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
