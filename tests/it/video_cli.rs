//! Video from the command line: a real H.264 MP4 registered, a cropped,
//! rescaled, re-encoded excerpt of it identified at its offset; pictures and
//! unsupported video codecs.

use crate::support::{fixture, s, Avreg};

#[test]
fn a_cropped_reencoded_excerpt_is_identified() {
    let avreg = Avreg::new();
    let (code, fp) = avreg.json(&[
        "fingerprint",
        s(&fixture("video/ref.mp4")),
        "--for",
        "register",
        "--json",
    ]);
    assert_eq!(code, 0, "{fp}");
    assert_eq!(fp["video"]["role"], "reference");
    assert_eq!(fp["video"]["stream"]["codec"], "h264");
    let (code, reg) = avreg.json(&[
        "register",
        s(&fixture("video/ref.mp4")),
        "--title",
        "Test card",
        "--json",
    ]);
    assert_eq!(code, 0, "{reg}");
    assert!(
        reg["recording"]["video"]["hashes"].as_u64() > Some(0),
        "{reg}"
    );
    let (code, found) = avreg.json(&["lookup", s(&fixture("video/excerpt-crop.mp4")), "--json"]);
    assert_eq!(code, 0, "{found}");
    let m = &found["matches"][0];
    assert_eq!(m["recording"]["id"], reg["recording"]["id"]);
    assert_eq!(m["medium"], "video");
    let offset = m["reference"]["start_ms"].as_i64().expect("start")
        - m["query"]["start_ms"].as_i64().expect("start");
    assert!(
        (offset - 4_000).abs() <= 500,
        "excerpt starts 4 s in: {found}"
    );

    // The same excerpt fingerprinted locally and looked up as JSON.
    let out = avreg.run(&[
        "fingerprint",
        s(&fixture("video/excerpt-crop.mp4")),
        "--json",
    ]);
    let json = avreg.path("excerpt.json");
    std::fs::write(&json, &out.stdout).expect("write");
    let (code, again) = avreg.json(&["lookup", s(&json), "--json"]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(
        again["matches"][0]["recording"]["id"],
        reg["recording"]["id"]
    );
    assert_eq!(again["query"]["medium"], "video");
}

#[cfg(not(feature = "ffmpeg"))]
#[test]
fn unsupported_video_codecs_are_named_and_nothing_is_registered() {
    let avreg = Avreg::new();
    let out = avreg.run(&["register", s(&fixture("video/mpeg4.mp4")), "--title", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mpeg4.mp4") && err.contains("mpeg4 in mp4") && err.contains("`ffmpeg`"),
        "{err}"
    );
    let (_, list) = avreg.json(&["list", "--json"]);
    assert_eq!(list["recordings"].as_array().map(Vec::len), Some(0));
}

/// With the `ffmpeg` feature the same file is video like any other.
#[cfg(feature = "ffmpeg")]
#[test]
fn other_video_codecs_register_with_ffmpeg() {
    let avreg = Avreg::new();
    let (code, reg) = avreg.json(&[
        "register",
        s(&fixture("video/mpeg4.mp4")),
        "--title",
        "x",
        "--json",
    ]);
    assert_eq!(code, 0, "{reg}");
    let (_, list) = avreg.json(&["list", "--json"]);
    assert_eq!(list["recordings"].as_array().map(Vec::len), Some(1));
}
