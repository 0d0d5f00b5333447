//! The CLI end to end: register, look up degraded excerpts, bad input.

use crate::support::{decode_mono, degrade, fixture, s, write_wav, Avreg};

fn recordings(avreg: &Avreg) -> usize {
    let (code, v) = avreg.json(&["list", "--json"]);
    assert_eq!(code, 0);
    v["recordings"].as_array().expect("recordings array").len()
}

#[test]
fn register_then_identify_a_degraded_excerpt() {
    let avreg = Avreg::new();
    let aria = fixture("demo/aria.mp3");
    let (code, v) = avreg.json(&["register", s(&aria), "--title", "Aria", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(v["status"], "registered");
    let id = v["recording"]["id"].as_str().expect("id").to_string();
    assert_eq!(v["recording"]["title"], "Aria");
    let duration = v["recording"]["duration_ms"].as_u64().expect("duration");
    assert!((19_500..=20_500).contains(&duration), "duration {duration}");

    // Another recording, so the lookup has to choose.
    let (code, _) = avreg.json(&[
        "register",
        s(&fixture("demo/ballad.ogg")),
        "--title",
        "Ballad",
        "--json",
    ]);
    assert_eq!(code, 0);

    // 6 s from 7.5 s, sped up 3 %, 9 dB quieter, noise at 10 dB SNR.
    let (pcm, rate) = decode_mono(&aria);
    let clip = avreg.path("clip.wav");
    write_wav(
        &clip,
        rate,
        &degrade(&pcm, rate, 7.5, 6.0, 1.03, -9.0, 10.0),
    );
    let (code, v) = avreg.json(&["lookup", s(&clip), "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["status"], "match");
    let top = &v["matches"][0];
    assert_eq!(top["recording"]["id"], id.as_str());
    assert_eq!(top["exact_content_match"], false);
    let score = top["score"].as_f64().expect("score");
    assert!(score > 0.0 && score <= 1.0);
    let speed = top["speed"].as_f64().expect("speed");
    assert!((speed - 1.03).abs() < 0.01, "speed {speed}");
    // The reference span starts where the clip's matched span maps to.
    let q0 = top["query"]["start_ms"].as_f64().expect("query start");
    let r0 = top["reference"]["start_ms"]
        .as_f64()
        .expect("reference start");
    let expected = 7_500.0 + q0 * speed;
    assert!(
        (r0 - expected).abs() <= 150.0,
        "reference start {r0}, expected {expected}"
    );
    assert!(top["query"]["duration_ms"].as_u64().expect("span") >= 3_000);
}

#[test]
fn the_same_bytes_twice_give_the_existing_recording() {
    let avreg = Avreg::new();
    let f = fixture("demo/ballad.ogg");
    let (_, first) = avreg.json(&["register", s(&f), "--title", "Ballad", "--json"]);
    let (code, second) = avreg.json(&["register", s(&f), "--title", "Another title", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(second["status"], "existing");
    assert_eq!(second["recording"]["id"], first["recording"]["id"]);
    assert_eq!(second["recording"]["title"], "Ballad");
    assert_eq!(recordings(&avreg), 1);
}

#[test]
fn an_unregistered_clip_finds_nothing_with_exit_status_1() {
    let avreg = Avreg::new();
    avreg.json(&[
        "register",
        s(&fixture("demo/aria.mp3")),
        "--title",
        "Aria",
        "--json",
    ]);
    let (pcm, rate) = decode_mono(&fixture("demo/chorale.flac"));
    let clip = avreg.path("other.wav");
    write_wav(&clip, rate, &degrade(&pcm, rate, 4.0, 8.0, 1.0, 0.0, 30.0));
    let (code, v) = avreg.json(&["lookup", s(&clip), "--json"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["status"], "no_match");
    assert_eq!(v["matches"].as_array().map(Vec::len), Some(0));
}

#[test]
fn a_locally_computed_fingerprint_can_be_looked_up() {
    let avreg = Avreg::new();
    let ballad = fixture("demo/ballad.ogg");
    avreg.json(&["register", s(&ballad), "--title", "Ballad", "--json"]);
    let (code, fp) = avreg.json(&["fingerprint", s(&ballad), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(fp["version"], 1);
    assert_eq!(fp["fingerprint"]["algorithm"], "avreg-audio-landmark");
    assert!(
        fp["fingerprint"]["reference_hashes"]
            .as_u64()
            .expect("count")
            > 100
    );
    let json = avreg.path("fp.json");
    std::fs::write(&json, fp.to_string()).expect("write");
    let (code, v) = avreg.json(&["lookup", s(&json), "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["matches"][0]["recording"]["title"], "Ballad");
    // The hash inside a fingerprint JSON is its sender's claim: as over
    // HTTP, it never makes an exact content match, and the query's hash is
    // not reported as the registry's.
    assert_eq!(v["matches"][0]["exact_content_match"], false);
    assert_eq!(v["query"]["content_hash"], "");
}

#[test]
fn import_registers_a_folder_and_reports_bad_files() {
    let avreg = Avreg::new();
    let dir = avreg.path("incoming");
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    for name in ["aria.mp3", "ballad.ogg"] {
        std::fs::copy(fixture("demo").join(name), dir.join(name)).expect("copy");
    }
    std::fs::copy(fixture("demo/chorale.flac"), dir.join("sub/chorale.flac")).expect("copy");
    std::fs::write(dir.join("broken.mp3"), b"this is not audio at all").expect("write");
    std::fs::write(dir.join("notes.txt"), b"ignored: not media").expect("write");
    let (code, v) = avreg.json(&["import", s(&dir), "--json"]);
    assert_eq!(code, 2, "a bad file makes the import exit 2: {v}");
    assert_eq!(v["files"], 4);
    assert_eq!(v["registered"], 3);
    let failed = v["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["file"]
        .as_str()
        .expect("file")
        .ends_with("broken.mp3"));
    assert_eq!(recordings(&avreg), 3);
    // Importing again registers nothing new.
    std::fs::remove_file(dir.join("broken.mp3")).expect("rm");
    let (code, v) = avreg.json(&["import", s(&dir), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        (v["registered"].as_u64(), v["existing"].as_u64()),
        (Some(0), Some(3))
    );
}

/// Bad input: one line naming the file and the reason, exit status 2, and
/// nothing written.
#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let avreg = Avreg::new();
    avreg.json(&[
        "register",
        s(&fixture("demo/aria.mp3")),
        "--title",
        "Aria",
        "--json",
    ]);
    let good = std::fs::read(fixture("demo/ballad.ogg")).expect("read");
    let truncated = avreg.path("truncated.ogg");
    std::fs::write(&truncated, &good[..600]).expect("write");
    let empty = avreg.path("empty.wav");
    std::fs::write(&empty, b"").expect("write");
    let garbage = avreg.path("garbage.mp3");
    std::fs::write(
        &garbage,
        (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .expect("write");
    let silence = avreg.path("silence.wav");
    write_wav(&silence, 16_000, &vec![0.0; 16_000 * 5]);
    let short = avreg.path("short.wav");
    let (pcm, rate) = decode_mono(&fixture("demo/aria.mp3"));
    write_wav(&short, rate, &pcm[..rate as usize]);
    let missing = avreg.path("missing.flac");

    for (file, register) in [
        (&truncated, true),
        (&empty, true),
        (&garbage, true),
        (&silence, true),
        (&missing, true),
        (&silence, false),
        (&short, false),
        (&garbage, false),
    ] {
        let args: Vec<&str> = if register {
            vec!["register", s(file), "--title", "x"]
        } else {
            vec!["lookup", s(file)]
        };
        let out = avreg.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{args:?}: one line, got {stderr}"
        );
        assert!(
            stderr.contains(s(file)),
            "{args:?}: the error names the file: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert_eq!(recordings(&avreg), 1, "nothing half-registered");
    let out = avreg.run(&["register", s(&fixture("demo/ballad.ogg")), "--title", "  "]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(recordings(&avreg), 1);
}

#[test]
fn the_demo_runs() {
    let avreg = Avreg::new();
    let out = avreg.run(&["demo"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("identified"), "{stdout}");
    assert_eq!(recordings(&avreg), 3);
}

#[test]
fn registrations_appear_in_an_audit_log_that_verifies() {
    let avreg = Avreg::new();
    let (code, v) = avreg.json(&["audit", "verify", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["ok"].as_bool(), v["head"].is_null()), (Some(true), true));
    for (name, title) in [("demo/aria.mp3", "Aria"), ("demo/ballad.ogg", "Ballad")] {
        let (code, _) = avreg.json(&["register", s(&fixture(name)), "--title", title, "--json"]);
        assert_eq!(code, 0);
    }
    let (code, log) = avreg.json(&["audit", "log", "--json"]);
    assert_eq!(code, 0);
    let events = log["events"].as_array().expect("events");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["operation"], "register_recording");
    assert_eq!(events[1]["prev"], events[0]["hash"]);
    let (code, v) = avreg.json(&["audit", "verify", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["head"]["seq"], 1);
    assert_eq!(v["head"]["hash"], events[1]["hash"]);
    // An auditor's earlier head still fits; a wrong one is reported.
    let held = format!("0:{}", events[0]["hash"].as_str().expect("hash"));
    let out = avreg.run(&["audit", "verify", "--head", &held]);
    assert_eq!(out.status.code(), Some(0));
    let wrong = format!("0:{}", "0".repeat(64));
    let out = avreg.run(&["audit", "verify", "--head", &wrong]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not verify"), "{err}");
}

#[test]
fn compacting_keeps_every_recording_identifiable() {
    let avreg = Avreg::new();
    let aria = fixture("demo/aria.mp3");
    let (_, a) = avreg.json(&["register", s(&aria), "--title", "Aria", "--json"]);
    let (_, b) = avreg.json(&[
        "register",
        s(&fixture("demo/ballad.ogg")),
        "--title",
        "Ballad",
        "--json",
    ]);
    let (code, v) = avreg.json(&["compact", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["segments_after"], 1, "{v}");
    assert!(v["index_bytes_after"].as_u64().expect("bytes") > 0, "{v}");
    // A lookup in the compacted index, and again after a reopen.
    let (pcm, rate) = decode_mono(&aria);
    let clip = avreg.path("clip.wav");
    write_wav(&clip, rate, &degrade(&pcm, rate, 4.0, 6.0, 1.0, -3.0, 20.0));
    for _ in 0..2 {
        let (code, v) = avreg.json(&["lookup", s(&clip), "--json"]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["matches"][0]["recording"]["id"], a["recording"]["id"]);
    }
    assert_ne!(a["recording"]["id"], b["recording"]["id"]);
    let (code, v) = avreg.json(&["audit", "verify", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(recordings(&avreg), 2);
}

/// A file cut short (its header still declaring the whole length) is
/// refused as a registration, exit 2 naming the file and the damage, and
/// looked up on what decodes, the damage said on stderr.
#[test]
fn a_truncated_file_is_refused_as_a_registration_and_noted_in_a_lookup() {
    let avreg = Avreg::new();
    let (pcm, rate) = decode_mono(&fixture("demo/aria.mp3"));
    let whole = avreg.path("whole.wav");
    write_wav(&whole, rate, &pcm);
    let bytes = std::fs::read(&whole).expect("read");
    let cut = avreg.path("cut.wav");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).expect("write");

    let out = avreg.run(&["register", s(&cut), "--title", "Cut"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(s(&cut)) && stderr.contains("truncated"),
        "{stderr}"
    );
    assert_eq!(recordings(&avreg), 0, "nothing registered");

    let out = avreg.run(&["lookup", s(&cut)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "no match, but looked up: {stderr}"
    );
    assert!(
        stderr.contains("sound track") && stderr.contains("truncated"),
        "{stderr}"
    );
}
