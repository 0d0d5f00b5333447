//! Video in the registry: reference frame hashes indexed in the segment
//! index, a cropped, mirrored or letterboxed excerpt identified with its
//! offset, sound and picture fused, and the video index rebuilt after a
//! reopen.

use avreg_fingerprint::audio::AudioFingerprint;
use avreg_fingerprint::video::synth::Scenes;
use avreg_fingerprint::video::{Role, VideoConfig, VideoFingerprint, VideoFingerprinter};
use avreg_fingerprint::ContentHash;
use avreg_registry::{Medium, NewRecording, Registry};

use crate::common::{excerpt, fingerprint, open};

/// Fingerprints `len_ms` of scene `seed` from `start_ms`, each frame passed
/// through `edit`, at 10 frames per second.
fn video(
    seed: u64,
    start_ms: u64,
    len_ms: u64,
    role: Role,
    edit: impl Fn(avreg_fingerprint::video::synth::Plane) -> avreg_fingerprint::video::synth::Plane,
) -> VideoFingerprint {
    let scenes = Scenes::new(seed);
    let mut fp = VideoFingerprinter::new(VideoConfig::default(), role);
    let mut t = 0;
    while t < len_ms {
        if fp.wants(t) {
            let plane = edit(scenes.render(start_ms + t, 160, 90));
            fp.push(&plane.frame(), t);
        } else {
            fp.skip(t);
        }
        t += 100;
    }
    fp.finish()
}

fn register_video(
    reg: &Registry,
    seed: u64,
    audio: Option<AudioFingerprint>,
) -> avreg_registry::Recording {
    let v = video(seed, 0, 30_000, Role::Reference, |p| p);
    reg.register(NewRecording {
        title: format!("video {seed}"),
        content: avreg_registry::Content::Computed(ContentHash::of(&seed.to_be_bytes())),
        fingerprint: audio.unwrap_or_else(|| AudioFingerprint::from_parts(v.duration_ms, vec![])),
        source_name: None,
        video: Some(v),
        media: Vec::new(),
    })
    .expect("register")
    .recording()
    .clone()
}

#[test]
fn edited_excerpts_are_found_at_their_offset() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    let ids: Vec<_> = (1..=3)
        .map(|seed| register_video(&reg, seed, None).id)
        .collect();
    let edits: Vec<(&str, Box<dyn Fn(_) -> _>)> = vec![
        ("as is", Box::new(|p| p)),
        (
            "mirrored",
            Box::new(|p: avreg_fingerprint::video::synth::Plane| p.mirror()),
        ),
        (
            "letterboxed",
            Box::new(|p: avreg_fingerprint::video::synth::Plane| p.boxed(160, 120)),
        ),
        (
            "cropped 10%",
            Box::new(|p: avreg_fingerprint::video::synth::Plane| p.crop(8, 4, 144, 81)),
        ),
        (
            "brighter",
            Box::new(|p: avreg_fingerprint::video::synth::Plane| p.brightness(1.2)),
        ),
    ];
    for (name, edit) in edits {
        let q = video(2, 12_000, 6_000, Role::Query, edit);
        let m = reg.lookup_video(&q).expect("lookup");
        assert_eq!(m.first().map(|m| m.recording.id), Some(ids[1]), "{name}");
        let best = &m[0];
        assert_eq!(best.medium, Medium::Video);
        let offset = best.ref_start_ms as i64 - best.query_start_ms as i64;
        assert!((offset - 12_000).abs() <= 500, "{name}: offset {offset}");
        assert_eq!(
            best.video.map(|v| v.mirrored),
            Some(name == "mirrored"),
            "{name}"
        );
    }
    // Unrelated video is not matched.
    let other = video(99, 0, 6_000, Role::Query, |p| p);
    assert!(reg.lookup_video(&other).expect("lookup").is_empty());
    reg.verify().expect("verify");
}

#[test]
fn sound_and_picture_fuse_and_the_video_index_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let id = {
        let reg = open(dir.path());
        register_video(&reg, 1, None);
        let r = register_video(&reg, 7, Some(fingerprint(7, 30_000)));
        assert!(r.video.is_some());
        r.id
    };
    let reg = open(dir.path());
    reg.verify().expect("verify after reopen");
    assert_eq!(reg.stats().expect("stats").video_recordings, 2);
    let audio = excerpt(&fingerprint(7, 30_000), 10_000, 8_000);
    let picture = video(7, 10_000, 8_000, Role::Query, |p| p);
    let m = reg
        .lookup_media(Some(&audio), Some(&picture))
        .expect("lookup");
    assert_eq!(m[0].recording.id, id);
    assert_eq!(m[0].medium, Medium::Both, "{:?}", m[0]);
    let audio_only = reg.lookup_media(Some(&audio), None).expect("lookup");
    assert!(
        m[0].score > audio_only[0].score,
        "fused evidence scores higher"
    );
    // A video-only recording cannot be registered without frames.
    let empty = reg.register(NewRecording {
        title: "empty".into(),
        content: avreg_registry::Content::Computed(ContentHash::of(b"empty")),
        fingerprint: AudioFingerprint::from_parts(1_000, vec![]),
        source_name: None,
        video: Some(VideoFingerprint {
            version: avreg_fingerprint::video::ALGORITHM_VERSION,
            duration_ms: 1_000,
            frames: vec![],
        }),
        media: Vec::new(),
    });
    assert!(empty.is_err());
}

#[test]
fn registered_video_stays_within_its_memory_budget_and_is_still_found() {
    // A budget of about two videos' frame hashes: the others are read from
    // the store when a lookup needs them.
    let frame = std::mem::size_of::<avreg_fingerprint::video::FrameHash>() as u64;
    let one = video(1, 0, 30_000, Role::Reference, |p| p).frames.len() as u64;
    let dir = tempfile::tempdir().expect("temp dir");
    let options = avreg_registry::RegistryOptions {
        video_cache_bytes: 2 * one * frame + frame,
        ..Default::default()
    };
    let budget = (2 * one + 1) as usize;
    let ids: Vec<_> = {
        let reg = Registry::open(dir.path(), options.clone()).expect("open");
        let ids = (1..=6)
            .map(|seed| register_video(&reg, seed, None).id)
            .collect();
        assert!(reg.resident_video_frames() <= budget);
        ids
    };
    let reg = Registry::open(dir.path(), options).expect("reopen");
    assert!(reg.resident_video_frames() <= budget, "after a reopen too");
    for (seed, id) in (1..=6).zip(&ids) {
        let q = video(seed, 9_000, 6_000, Role::Query, |p| p);
        let m = reg.lookup_video(&q).expect("lookup");
        assert_eq!(m.first().map(|m| m.recording.id), Some(*id), "video {seed}");
        assert!(reg.resident_video_frames() <= budget);
    }
    reg.verify().expect("verify");
}
