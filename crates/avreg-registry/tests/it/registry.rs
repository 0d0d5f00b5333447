//! Registration, deduplication, lookup, reopening and concurrency.

use std::sync::Arc;

use avreg_fingerprint::audio::{AudioFingerprint, Peak};
use avreg_fingerprint::ContentHash;
use avreg_registry::{Error, NewRecording, RecordingId, Registration, Registry, RegistryOptions};

use crate::common::{excerpt, fingerprint, new_recording, open, small_options};

#[test]
fn registered_recordings_are_found_with_their_offset() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    let mut ids = Vec::new();
    for seed in 0..6 {
        let r = reg
            .register(new_recording(seed, 120_000))
            .expect("register");
        assert!(r.is_new());
        ids.push(r.recording().id);
    }
    let query = excerpt(&fingerprint(3, 120_000), 60_000, 10_000);
    let matches = reg.lookup(&query).expect("lookup");
    assert_eq!(matches.len(), 1, "{matches:?}");
    let m = &matches[0];
    assert_eq!(m.recording.id, ids[3]);
    assert_eq!(m.recording.title, "recording 3");
    assert!(m.score > 0.8, "score {}", m.score);
    assert!(
        m.ref_start_ms.abs_diff(60_000 + m.query_start_ms) <= 32,
        "{m:?}"
    );
    assert!(
        m.query_duration_ms > 8_000 && m.query_duration_ms <= 10_016,
        "{m:?}"
    );
    assert!((m.speed - 1.0).abs() < 1e-6);
}

#[test]
fn unregistered_audio_matches_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    for seed in 0..6 {
        reg.register(new_recording(seed, 120_000))
            .expect("register");
    }
    let query = excerpt(&fingerprint(99, 120_000), 30_000, 10_000);
    assert_eq!(reg.lookup(&query).expect("lookup"), vec![]);
}

#[test]
fn the_same_bytes_twice_give_the_existing_recording() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    let first = reg.register(new_recording(1, 30_000)).expect("register");
    let Registration::Registered(first) = first else {
        panic!("first registration must be new")
    };
    // Same bytes, another title and fingerprint: still the same recording.
    let again = NewRecording {
        title: "another title".into(),
        fingerprint: fingerprint(2, 30_000),
        ..new_recording(1, 30_000)
    };
    assert_eq!(
        reg.register(again).expect("register"),
        Registration::Existing(first.clone())
    );
    assert_eq!(reg.recordings().expect("list").len(), 1);
    assert_eq!(
        reg.by_content_hash(&first.content_hash, avreg_registry::LOCAL_ACTOR)
            .expect("by hash"),
        Some(first.clone())
    );
    // Another registrant's same bytes are its own recording.
    let theirs = reg
        .register_for("key:x", "organisation:x", new_recording(1, 30_000))
        .expect("register");
    assert!(theirs.is_new());
    // A claimed hash deduplicates nothing and is shown unverified.
    let claimed = NewRecording {
        content: avreg_registry::Content::Claimed(Some(first.content_hash)),
        ..new_recording(3, 30_000)
    };
    let Registration::Registered(c) = reg.register(claimed.clone()).expect("register") else {
        panic!("a claim must not deduplicate")
    };
    assert!(!c.content_hash_verified && first.content_hash_verified);
    // The same fingerprint sent again is the same registration.
    assert_eq!(
        reg.register(claimed).expect("register"),
        Registration::Existing(c)
    );
    assert_eq!(reg.recording(first.id).expect("by id"), Some(first));
    assert_eq!(
        reg.by_content_hash(&ContentHash::of(b"other"), avreg_registry::LOCAL_ACTOR)
            .expect("by hash"),
        None
    );
    assert_eq!(reg.recording(RecordingId::new()).expect("by id"), None);
    let stats = reg.stats().expect("stats");
    assert_eq!((stats.recordings, stats.audio_ms), (3, 90_000));
    reg.verify().expect("consistent");
}

#[test]
fn concurrent_registrations_of_the_same_bytes_give_one_recording() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = Arc::new(open(dir.path()));
    let outcomes: Vec<Registration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let reg = Arc::clone(&reg);
                s.spawn(move || reg.register(new_recording(7, 20_000)).expect("register"))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(outcomes.iter().filter(|o| o.is_new()).count(), 1);
    let id = outcomes[0].recording().id;
    assert!(outcomes.iter().all(|o| o.recording().id == id));
    assert_eq!(reg.stats().expect("stats").recordings, 1);
    reg.verify().expect("consistent");
}

#[test]
fn silent_empty_and_untitled_recordings_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    let silent = NewRecording {
        fingerprint: AudioFingerprint::from_parts(10_000, vec![]),
        ..new_recording(1, 10_000)
    };
    assert!(matches!(
        reg.register(silent),
        Err(Error::SilentFingerprint)
    ));
    // Query-level peaks only: nothing a reference would index.
    let quiet = NewRecording {
        fingerprint: AudioFingerprint::from_parts(
            10_000,
            vec![Peak {
                time_ms: 5,
                freq: 800,
                level: 1,
            }],
        ),
        ..new_recording(1, 10_000)
    };
    assert!(matches!(reg.register(quiet), Err(Error::SilentFingerprint)));
    let lone_peak = NewRecording {
        fingerprint: AudioFingerprint::from_parts(
            10_000,
            vec![Peak {
                time_ms: 5,
                freq: 800,
                level: 2,
            }],
        ),
        ..new_recording(1, 10_000)
    };
    assert!(matches!(
        reg.register(lone_peak),
        Err(Error::EmptyFingerprint)
    ));
    let untitled = NewRecording {
        title: "  ".into(),
        ..new_recording(1, 10_000)
    };
    assert!(matches!(reg.register(untitled), Err(Error::EmptyTitle)));
    assert_eq!(reg.stats().expect("stats").recordings, 0);
}

#[test]
fn reopening_keeps_records_and_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (before, stats) = {
        let reg = open(dir.path());
        for seed in 0..10 {
            reg.register(new_recording(seed, 60_000)).expect("register");
            if seed == 4 {
                reg.flush().expect("flush");
            }
        }
        // Seeds 5..10 stay partly in the unflushed buffer.
        (reg.recordings().expect("list"), reg.stats().expect("stats"))
    };
    assert!(stats.segments >= 1, "{stats:?}");
    let reg = open(dir.path());
    assert_eq!(reg.recordings().expect("list"), before);
    let after = reg.stats().expect("stats");
    assert_eq!(
        (after.recordings, after.audio_ms, after.postings),
        (stats.recordings, stats.audio_ms, stats.postings)
    );
    for seed in [0, 4, 5, 9] {
        let query = excerpt(&fingerprint(seed, 60_000), 20_000, 8_000);
        let m = reg.lookup(&query).expect("lookup");
        assert_eq!(
            m.first().map(|m| m.recording.id),
            Some(before[seed as usize].id)
        );
    }
    reg.verify().expect("consistent");
}

/// The index is derived data: segments written by an older format version
/// are dropped on open and their documents re-indexed from the store.
#[test]
fn segments_in_an_older_format_are_rebuilt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = {
        let reg = open(dir.path());
        for seed in 0..3 {
            reg.register(new_recording(seed, 60_000)).expect("register");
        }
        reg.flush().expect("flush");
        reg.recordings().expect("list")
    };
    let mut patched = 0;
    for entry in std::fs::read_dir(dir.path().join("index")).expect("index dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "avseg") {
            let mut bytes = std::fs::read(&path).expect("read");
            bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
            std::fs::write(&path, bytes).expect("write");
            patched += 1;
        }
    }
    assert!(patched >= 1);
    let reg = open(dir.path());
    reg.verify().expect("consistent after the rebuild");
    for seed in 0..3 {
        let query = excerpt(&fingerprint(seed, 60_000), 20_000, 8_000);
        let m = reg.lookup(&query).expect("lookup");
        assert_eq!(
            m.first().map(|m| m.recording.id),
            Some(before[seed as usize].id)
        );
    }
}

#[test]
fn lookups_run_while_recordings_are_registered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = Arc::new(open(dir.path()));
    let first = reg.register(new_recording(100, 60_000)).expect("register");
    let query = excerpt(&fingerprint(100, 60_000), 16_000, 8_000);
    std::thread::scope(|s| {
        let writer = {
            let reg = Arc::clone(&reg);
            s.spawn(move || {
                for seed in 0..30 {
                    reg.register(new_recording(seed, 30_000)).expect("register");
                }
            })
        };
        while !writer.is_finished() {
            let m = reg.lookup(&query).expect("lookup");
            assert_eq!(
                m.first().map(|m| m.recording.id),
                Some(first.recording().id)
            );
        }
    });
    assert_eq!(reg.stats().expect("stats").recordings, 31);
    reg.verify().expect("consistent");
}

#[test]
fn recording_ids_are_uuid_v7_in_text_and_json() {
    let id = RecordingId::new();
    assert_eq!(id.as_uuid().get_version_num(), 7);
    let text = id.to_string();
    assert_eq!(text.len(), 36);
    assert_eq!(text.parse::<RecordingId>(), Ok(id));
    assert_eq!(
        serde_json::to_string(&id).expect("json"),
        format!("\"{text}\"")
    );
    assert!("not-a-uuid".parse::<RecordingId>().is_err());
    // Time-ordered: later ids sort after earlier ones.
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert!(RecordingId::new() > id);
}

#[test]
fn default_options_open_and_register() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = Registry::open(dir.path(), RegistryOptions::default()).expect("open");
    reg.register(new_recording(5, 20_000)).expect("register");
    reg.flush().expect("flush");
    let stats = reg.stats().expect("stats");
    assert_eq!(stats.segments, 1);
    assert!(stats.index_bytes > 0 && stats.store_bytes > 0);
    drop(reg);
    let reg = Registry::open(dir.path(), small_options()).expect("reopen");
    assert_eq!(reg.stats().expect("stats").postings, stats.postings);
}

/// sled allows one process (one handle) per store: a second open waits a
/// moment for the lock, then names the problem.
#[test]
fn a_store_in_use_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _first = open(dir.path());
    match Registry::open(dir.path(), RegistryOptions::default()) {
        Err(Error::Locked(path)) => assert!(path.starts_with(dir.path())),
        other => panic!("expected Locked, got {other:?}"),
    }
}

/// Every registration writes one audit event in its transaction; a
/// duplicate writes none; the chain verifies, also against a held head.
#[test]
fn registrations_are_audited_in_a_verifiable_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    let a = reg
        .register_as("performer:ana", new_recording(1, 30_000))
        .expect("register");
    let held = reg
        .verify_audit(None)
        .expect("verifies")
        .expect("one event");
    assert_eq!(held.seq, 0);
    // Deduplication is per registrant: the same registrant's same bytes.
    reg.register_as("performer:ana", new_recording(1, 30_000))
        .expect("duplicate");
    reg.register(new_recording(2, 30_000)).expect("register");
    let log = reg.audit_log(0).expect("log");
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].actor, "performer:ana");
    assert_eq!(log[0].operation, "register_recording");
    assert_eq!(log[0].entity, format!("recording:{}", a.recording().id));
    assert_eq!(log[1].actor, avreg_registry::LOCAL_ACTOR);
    assert_eq!(log[1].prev, log[0].hash);
    assert_eq!(reg.audit_log(1).expect("since 1"), log[1..].to_vec());
    let head = reg.verify_audit(Some(held)).expect("held head fits");
    assert_eq!(head.map(|h| h.seq), Some(1));
    let mut forged = held;
    forged.hash.0[0] ^= 1;
    assert!(matches!(
        reg.verify_audit(Some(forged)),
        Err(Error::AuditChain(_))
    ));
    drop(reg);
    let reg = open(dir.path());
    reg.verify().expect("consistent after reopen");
    assert_eq!(reg.audit_log(0).expect("log"), log);
}

#[cfg(unix)]
#[test]
fn the_data_directory_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;

    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let tmp = tempfile::tempdir().expect("temp dir");
    let fresh = tmp.path().join("fresh");
    drop(open(&fresh));
    assert_eq!(mode(&fresh), 0o700);

    let existing = tmp.path().join("existing");
    std::fs::create_dir(&existing).expect("mkdir");
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    drop(open(&existing));
    assert_eq!(mode(&existing), 0o700);
}
