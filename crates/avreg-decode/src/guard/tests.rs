//! Tests of the container guards (on the fixtures of `fixtures/audio/` and
//! their damaged copies) and of the panic guard.

use std::io::Cursor;

use avreg_fingerprint::audio::AudioConfig;
use symphonia::core::io::MediaSource;

use super::matroska::{laced_frames_fit, MKV_MASTERS, MKV_SEEK_POSITION, MKV_SIMPLE_BLOCK};
use super::*;
use crate::audio::tests::{assert_corrupt, decode_bytes, fixture_bytes, ok};
use crate::audio::{fingerprint_audio, DecodeOptions};
use crate::error::Error;

// ---------------------------------------------------------------------------
// The Matroska guard

/// `(id, position, header length, size)` of every element of a Matroska
/// file, in order, descending into the masters.
fn mkv_elements(bytes: &[u8]) -> Vec<(u32, u64, u64, Option<u64>)> {
    let mut r = EbmlReader {
        inner: std::io::BufReader::new(Cursor::new(bytes)),
        pos: 0,
    };
    let mut out = Vec::new();
    while r.pos < bytes.len() as u64 {
        let at = r.pos;
        let (id, size) = r.element_header().expect("in memory").expect("a header");
        out.push((id, at, r.pos - at, size));
        if !MKV_MASTERS.contains(&id) {
            r.skip_to(r.pos + size.expect("sized leaf"))
                .expect("in memory");
        }
    }
    out
}

fn guard_of(bytes: &[u8]) -> MatroskaGuard {
    let mut source: Box<dyn MediaSource> = Box::new(Cursor::new(bytes.to_vec()));
    ok(
        guard_matroska(&mut *source, 0).map_err(|e| Error::Io {
            path: "<test>".into(),
            source: e,
        }),
        "guard",
    )
}

/// A big enough length that allocating it fails on any machine (2^55).
const TERABYTES: [u8; 8] = [0x01, 0x80, 0, 0, 0, 0, 0, 0];

#[test]
fn intact_matroska_files_pass_the_guard_untouched() {
    for name in [
        "chords-6ch.mkv",
        "chords-aac.mkv",
        "chords-video.webm",
        "opus.webm",
    ] {
        assert_eq!(
            guard_of(&fixture_bytes(name)),
            MatroskaGuard::default(),
            "{name}"
        );
    }
}

/// A cut download: the input ends before the last, partial block, and the
/// SeekHead's Cues and Tags are missing, so the file is read in order.
#[test]
fn truncated_matroska_ends_before_its_partial_block() {
    let bytes = fixture_bytes("chords-aac.mkv");
    let cut = &bytes[..bytes.len() / 2];
    let guard = guard_of(cut);
    let blocks: Vec<u64> = mkv_elements(&bytes)
        .into_iter()
        .filter(|e| e.0 == MKV_SIMPLE_BLOCK)
        .map(|e| e.1)
        .collect();
    let partial = blocks
        .iter()
        .copied()
        .filter(|&at| at < cut.len() as u64)
        .max()
        .expect("a block before the cut");
    assert_eq!(guard.end, Some(partial));
    assert!(!guard.follow_seek_head);
}

/// symphonia 0.5 would allocate the declared 2^55 bytes and abort the
/// process (found by the mutation smoke test on chords-video.webm).
#[test]
fn a_matroska_block_declaring_terabytes_ends_the_input_there() {
    let bytes = fixture_bytes("chords-aac.mkv");
    let (_, at, header, _) = mkv_elements(&bytes)
        .into_iter()
        .filter(|e| e.0 == MKV_SIMPLE_BLOCK)
        .nth(40)
        .expect("41 blocks");
    let (at, header) = (at as usize, header as usize);
    let mut bad = bytes[..at].to_vec();
    bad.push(0xA3);
    bad.extend_from_slice(&TERABYTES);
    bad.extend_from_slice(&bytes[at + header..]);
    assert_eq!(guard_of(&bad).end, Some(at as u64));
    let d = ok(
        decode_bytes(&bad, None, &DecodeOptions::default()),
        "huge block",
    );
    // 40 AAC frames of 1024 samples at 32 kHz, minus the decoder's delay.
    assert!((1100..=1300).contains(&d.info.decoded_ms), "{:?}", d.info);
    let (fp, _) = ok(
        fingerprint_audio(
            Box::new(Cursor::new(bad)),
            Some("mkv"),
            &AudioConfig::default(),
            &DecodeOptions::default(),
        ),
        "fingerprint",
    );
    assert_eq!(fp.duration_ms(), d.info.decoded_ms);
}

/// The same through EBML lacing: a block of normal size whose first laced
/// frame declares 2^55 bytes.
#[test]
fn a_laced_frame_declaring_terabytes_ends_the_input_before_its_block() {
    let bytes = fixture_bytes("chords-aac.mkv");
    let (_, at, header, _) = mkv_elements(&bytes)
        .into_iter()
        .filter(|e| e.0 == MKV_SIMPLE_BLOCK)
        .nth(40)
        .expect("41 blocks");
    let data = (at + header) as usize;
    let mut bad = bytes.clone();
    assert_eq!(bad[data], 0x81, "track 1");
    bad[data + 3] |= 0b110; // EBML lacing
    bad[data + 4] = 1; // two frames, one size stored
    bad[data + 5..data + 13].copy_from_slice(&TERABYTES);
    assert_eq!(guard_of(&bad).end, Some(at));
    let d = ok(
        decode_bytes(&bad, None, &DecodeOptions::default()),
        "huge lace",
    );
    assert!((1100..=1300).contains(&d.info.decoded_ms), "{:?}", d.info);
}

/// An ID byte below 0x10 makes symphonia scan ahead for anything shaped
/// like a top-level element, in block data too: the input ends there.
#[test]
fn an_unreadable_element_header_ends_the_input_there() {
    let bytes = fixture_bytes("chords-aac.mkv");
    let (_, at, _, _) = mkv_elements(&bytes)
        .into_iter()
        .filter(|e| e.0 == MKV_SIMPLE_BLOCK)
        .nth(60)
        .expect("61 blocks");
    let mut bad = bytes.clone();
    bad[at as usize] = 0x05;
    assert_eq!(guard_of(&bad).end, Some(at));
    let d = ok(
        decode_bytes(&bad, None, &DecodeOptions::default()),
        "bad id",
    );
    assert!((1800..=2000).contains(&d.info.decoded_ms), "{:?}", d.info);
}

/// A SeekHead entry that does not point at the element it names: symphonia
/// would read whatever is there. The file is read in order instead, which
/// gives the same audio.
#[test]
fn a_seek_head_pointing_elsewhere_is_not_followed() {
    let bytes = fixture_bytes("chords-aac.mkv");
    let positions: Vec<(u64, u64)> = mkv_elements(&bytes)
        .into_iter()
        .filter(|e| e.0 == MKV_SEEK_POSITION)
        .map(|e| (e.1 + e.2, e.3.expect("sized")))
        .collect();
    assert_eq!(positions.len(), 4);
    for (data, size) in positions {
        let mut bad = bytes.clone();
        bad[(data + size - 1) as usize] ^= 0x01;
        let guard = guard_of(&bad);
        assert_eq!(guard.end, None);
        assert!(!guard.follow_seek_head);
        let d = ok(
            decode_bytes(&bad, None, &DecodeOptions::default()),
            "seek head",
        );
        assert_eq!(d.info.decoded_ms, 4032);
    }
}

#[test]
fn laced_frame_sizes_are_checked_against_the_block() {
    // Track 1, timecode 0, flags with the lacing bits, then the lacing.
    let block = |lacing: u8, rest: &[u8]| {
        let mut b = vec![0x81, 0, 0, 0x80 | lacing << 1];
        b.extend_from_slice(rest);
        b
    };
    let fits = |b: &[u8], size: u64| laced_frames_fit(b, size, true);
    // No lacing, fixed-size lacing: nothing declared.
    assert!(fits(&block(0b00, &[1, 2, 3]), 7));
    assert!(fits(&block(0b10, &[1, 2, 3]), 7));
    // Xiph: 255 + 255 + 10 = 520 > 100.
    assert!(fits(&block(0b01, &[1, 10]), 100));
    assert!(!fits(&block(0b01, &[1, 255, 255, 10]), 100));
    // EBML: 0x8A = 10, then a difference of +5 (0x80 + 63 + 5).
    assert!(fits(&block(0b11, &[2, 0x8A, 0xC4]), 100));
    assert!(!fits(&block(0b11, &[1, 0xE5]), 100)); // 101
                                                   // A negative size wraps to a huge one.
    assert!(!fits(&block(0b11, &[2, 0x8A, 0x80]), 100)); // 10 - 63
                                                         // An unknown-size or zero-width first size.
    assert!(!fits(&block(0b11, &[1, 0xFF]), 100));
    assert!(!fits(&block(0b11, &[1, 0x00, 1]), 100));
    // Cut short: fine if the whole block is there (symphonia stops), not
    // if only its start was read.
    assert!(laced_frames_fit(&block(0b11, &[3, 0x8A]), 20, true));
    assert!(!laced_frames_fit(&block(0b11, &[3, 0x8A]), 1 << 20, false));
}

// ---------------------------------------------------------------------------
// The MP4 check

fn mp4_problem(bytes: &[u8]) -> Option<String> {
    let mut source: Box<dyn MediaSource> = Box::new(Cursor::new(bytes.to_vec()));
    check_mp4(&mut *source, 0).expect("in memory")
}

/// Position of the first box of type `kind` (its size field).
fn mp4_box(bytes: &[u8], kind: &[u8; 4]) -> usize {
    bytes
        .windows(4)
        .position(|w| w == kind)
        .expect("box present")
        - 4
}

#[test]
fn intact_mp4_files_pass_the_check() {
    for name in ["chords.m4a", "chords-video.mp4", "video-only.mp4"] {
        assert_eq!(mp4_problem(&fixture_bytes(name)), None, "{name}");
    }
}

fn mp4_atom(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(body);
    v
}

/// QuickTime files carry a `meta` atom without the version and flags of
/// ISO's full box (found in a real .mov of the dev corpus, which the first
/// version of the check refused); both forms must pass.
#[test]
fn quicktime_and_iso_meta_boxes_both_pass_the_check() {
    let hdlr = mp4_atom(b"hdlr", &[0; 25]);
    let ftyp = mp4_atom(b"ftyp", b"qt  \0\0\0\0qt  ");
    for meta in [
        mp4_atom(b"meta", &hdlr),
        mp4_atom(b"meta", &[&[0u8; 4][..], &hdlr].concat()),
    ] {
        let trak = mp4_atom(b"trak", &meta);
        let moov = mp4_atom(b"moov", &[trak, meta.clone()].concat());
        let file = [ftyp.clone(), moov].concat();
        assert_eq!(mp4_problem(&file), None);
    }
}

/// symphonia 0.5 would reserve 2 G sample-to-chunk entries (32 GB) and
/// abort the process (found by the mutation smoke test on video-only.mp4,
/// whose stsc count a mutation set to 0x7f7f7f7f).
#[test]
fn an_mp4_sample_table_declaring_billions_of_entries_is_corrupt() {
    for (name, table) in [
        ("video-only.mp4", b"stsc"),
        ("chords.m4a", b"stsc"),
        ("chords.m4a", b"stts"),
        ("chords.m4a", b"stco"),
        ("chords.m4a", b"stsz"),
    ] {
        let mut bad = fixture_bytes(name);
        let count = mp4_box(&bad, table) + 12 + if table == b"stsz" { 4 } else { 0 };
        bad[count..count + 4].copy_from_slice(&[0x7f; 4]);
        let what = format!("{name} {}", String::from_utf8_lossy(table));
        assert!(
            mp4_problem(&bad).is_some_and(|p| p.contains("sample table")),
            "{what}"
        );
        let msg = assert_corrupt(decode_bytes(&bad, None, &DecodeOptions::default()), &what);
        assert!(
            msg.starts_with("mp4 sample table larger than its box"),
            "{what}: {msg}"
        );
    }
}

/// symphonia's probe finds an MP4 behind junk (it scans up to 1 MiB for a
/// marker): the check must find it too.
#[test]
fn an_mp4_behind_junk_is_checked_too() {
    let mut bad = fixture_bytes("chords.m4a");
    let count = mp4_box(&bad, b"stsc") + 12;
    bad[count..count + 4].copy_from_slice(&[0x7f; 4]);
    let mut junk = b"not a container, ".repeat(100);
    junk.extend_from_slice(&bad);
    let msg = assert_corrupt(decode_bytes(&junk, None, &DecodeOptions::default()), "junk");
    assert!(
        msg.starts_with("mp4 sample table larger than its box"),
        "{msg}"
    );
    // Intact behind the same junk, the check passes it on (symphonia then
    // fails on its own: the chunk offsets count from the file's start).
    let mut fine = b"not a container, ".repeat(100);
    fine.extend_from_slice(&fixture_bytes("chords.m4a"));
    let r = decode_bytes(&fine, None, &DecodeOptions::default());
    assert!(
        !matches!(&r, Err(Error::Corrupt(m)) if m.starts_with("mp4 ")),
        "{:?}",
        r.map(|d| d.info)
    );
}

#[test]
fn an_mp4_sample_larger_than_the_input_is_corrupt() {
    let mut bad = fixture_bytes("chords.m4a");
    let first_size = mp4_box(&bad, b"stsz") + 20;
    bad[first_size..first_size + 4].copy_from_slice(&[0xff; 4]);
    let msg = assert_corrupt(decode_bytes(&bad, None, &DecodeOptions::default()), "stsz");
    assert!(msg.starts_with("mp4 sample larger than the input"), "{msg}");
}

/// A handler box declaring 2^60 bytes (64-bit size) inside a small media
/// box: symphonia would allocate its name.
#[test]
fn an_mp4_box_larger_than_its_parent_is_corrupt() {
    let bytes = fixture_bytes("chords.m4a");
    let at = mp4_box(&bytes, b"hdlr");
    let mut bad = bytes[..at].to_vec();
    bad.extend_from_slice(&1u32.to_be_bytes());
    bad.extend_from_slice(b"hdlr");
    bad.extend_from_slice(&(1u64 << 60).to_be_bytes());
    bad.extend_from_slice(&bytes[at + 8..]);
    let msg = assert_corrupt(decode_bytes(&bad, None, &DecodeOptions::default()), "hdlr");
    assert!(msg.starts_with("mp4 box larger than its parent"), "{msg}");
}

// ---------------------------------------------------------------------------
// The panic guard

#[test]
fn caught_panics_become_corrupt_errors() {
    let e = guarded("testing", || -> u32 { panic!("boom {}", 42) });
    match e {
        Err(Error::Corrupt(msg)) => {
            assert_eq!(msg, format!("{PANIC_MARKER} while testing: boom 42"));
        }
        other => panic!("{other:?}"),
    }
    let e = guarded("testing", || -> u32 { panic!("static") });
    assert!(matches!(e, Err(Error::Corrupt(m)) if m.ends_with("testing: static")));
    let e = guarded("testing", || -> u32 { std::panic::panic_any(7u8) });
    assert!(matches!(e, Err(Error::Corrupt(m)) if m.ends_with("unknown panic")));
    assert_eq!(ok(guarded("testing", || 5), "no panic"), 5);
}

/// A sample table box too small for its own fields (found in a real
/// QuickTime file, where it made the walk step backwards and, before the
/// fix, overflow): the walk goes on or stops, it never panics.
#[test]
fn a_sample_table_smaller_than_its_fields_does_not_panic() {
    let ftyp = mp4_atom(b"ftyp", b"qt  \0\0\0\0qt  ");
    for kind in [b"stsz", b"stts", b"stsc", b"stco", b"co64"] {
        for body in [&[][..], &[0, 0, 0, 0][..], &[0; 7][..]] {
            let table = mp4_atom(kind, body);
            let stbl = mp4_atom(b"stbl", &[table.clone(), table].concat());
            let minf = mp4_atom(b"minf", &stbl);
            let mdia = mp4_atom(b"mdia", &minf);
            let trak = mp4_atom(b"trak", &mdia);
            let moov = mp4_atom(b"moov", &trak);
            let file = [ftyp.clone(), moov, mp4_atom(b"mdat", &[0; 16])].concat();
            let _ = mp4_problem(&file);
        }
    }
}
