//! Format compatibility: a data directory written by store format 1 (sled
//! records, index segments, audit chain, ledger, keys) is committed under
//! `tests/fixtures/store-v1`, and this build must open it, find what it
//! holds and verify its audit chain, as search engines keep reading the
//! index formats of their earlier releases.
//!
//! `AVREG_WRITE_STORE_FIXTURE=1 cargo test -p avreg-registry --test it
//! compat` writes the fixture anew (only when the format changes on
//! purpose: the old fixture then moves to a directory of its own version,
//! and keeps its test).

use std::path::{Path, PathBuf};

use avreg_fingerprint::video::synth::Scenes;
use avreg_fingerprint::video::{Role, VideoConfig, VideoFingerprint, VideoFingerprinter};
use avreg_registry::accounts::{Binding, NewKey, Role as KeyRole};
use avreg_registry::domain::ids::PerformerId;
use avreg_registry::ledger::Change;
use avreg_registry::{Content, NewRecording, Registry};
use serde::{Deserialize, Serialize};

use crate::common::{excerpt, fingerprint, new_recording, small_options};

const SEEDS: [u64; 3] = [101, 102, 103];
const VIDEO_SEED: u64 = 104;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1")
}

/// What the fixture holds, written beside it.
#[derive(Debug, Serialize, Deserialize)]
struct Expected {
    recordings: Vec<(u64, String)>,
    video_recording: String,
    audit_head: (u64, String),
    key_id: String,
    key_secret: String,
}

fn video(seed: u64, start_ms: u64, len_ms: u64, role: Role) -> VideoFingerprint {
    let scenes = Scenes::new(seed);
    let mut fp = VideoFingerprinter::new(VideoConfig::default(), role);
    let mut t = 0;
    while t < len_ms {
        if fp.wants(t) {
            fp.push(&scenes.render(start_ms + t, 160, 90).frame(), t);
        } else {
            fp.skip(t);
        }
        t += 100;
    }
    fp.finish()
}

#[derive(Deserialize)]
struct ChangesDoc {
    changes: Vec<Change>,
}

fn write_fixture(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let reg = Registry::open(dir, small_options()).expect("open");
    let recordings = SEEDS
        .iter()
        .map(|&seed| {
            let r = reg.register(new_recording(seed, 60_000)).expect("register");
            (seed, r.recording().id.to_string())
        })
        .collect();
    let v = video(VIDEO_SEED, 0, 20_000, Role::Reference);
    let video_recording = reg
        .register(NewRecording {
            title: "video".into(),
            content: Content::Computed(avreg_fingerprint::ContentHash::of(b"video")),
            fingerprint: avreg_fingerprint::audio::AudioFingerprint::from_parts(
                v.duration_ms,
                vec![],
            ),
            source_name: None,
            video: Some(v),
            media: Vec::new(),
        })
        .expect("register video")
        .recording()
        .id
        .to_string();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ledger/example.json"),
    )
    .expect("example ledger");
    let doc: ChangesDoc = serde_json::from_str(&text).expect("changes");
    reg.apply("fixture", doc.changes).expect("apply");
    let key = reg
        .create_key(
            "fixture",
            NewKey {
                role: KeyRole::Society,
                bound_to: Binding::None,
                label: "fixture".into(),
            },
        )
        .expect("key");
    let head = reg.verify_audit(None).expect("verify").expect("a head");
    reg.flush().expect("flush");
    drop(reg);
    let expected = Expected {
        recordings,
        video_recording,
        audit_head: (head.seq, head.hash.to_string()),
        key_id: key.record.id.to_string(),
        key_secret: key.secret.expose(),
    };
    std::fs::write(
        dir.join("expected.json"),
        serde_json::to_string_pretty(&expected).expect("json"),
    )
    .expect("write expected");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read fixture") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

#[test]
fn a_store_written_by_format_1_opens_and_holds_what_it_held() {
    if std::env::var_os("AVREG_WRITE_STORE_FIXTURE").is_some() {
        write_fixture(&fixture());
    }
    let expected: Expected = serde_json::from_str(
        &std::fs::read_to_string(fixture().join("expected.json")).expect("expected.json"),
    )
    .expect("expected");
    // sled writes on open: work on a copy.
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixture(), dir.path());
    let reg = Registry::open(dir.path(), small_options()).expect("format 1 opens");
    reg.verify().expect("verifies");
    // The audit chain is the one written: same head, nothing appended.
    let head = reg.verify_audit(None).expect("chain").expect("head");
    assert_eq!((head.seq, head.hash.to_string()), expected.audit_head);
    // Every recording is there and found by an excerpt.
    assert_eq!(reg.recordings().expect("list").len(), SEEDS.len() + 1);
    for (seed, id) in &expected.recordings {
        let q = excerpt(&fingerprint(*seed, 60_000), 20_000, 10_000);
        let m = reg.lookup(&q).expect("lookup");
        assert_eq!(
            m.first().map(|m| m.recording.id.to_string()).as_ref(),
            Some(id)
        );
    }
    let q = video(VIDEO_SEED, 6_000, 6_000, Role::Query);
    let m = reg.lookup_video(&q).expect("video lookup");
    assert_eq!(
        m.first().map(|m| m.recording.id.to_string()),
        Some(expected.video_recording.clone())
    );
    // The ledger and its conflicts, and the key.
    let ada: PerformerId = "0190a000-0000-7000-8000-000000000001".parse().expect("id");
    let view = reg.view();
    assert_eq!(
        view.performer(ada).expect("read").map(|p| p.display_name),
        Some("Ada Lind".to_owned())
    );
    assert!(!view.conflicts(true, None).expect("conflicts").is_empty());
    let key = reg
        .authenticate(&expected.key_secret)
        .expect("authenticate")
        .expect("the fixture's key");
    assert_eq!(key.id.to_string(), expected.key_id);
}
