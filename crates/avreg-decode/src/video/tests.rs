//! Tests of the video edge on the committed fixtures of `fixtures/video/`
//! (see `fixtures/README.md` for how they were made; ffmpeg is not needed to
//! run these).

use std::path::PathBuf;

use avreg_fingerprint::audio::AudioConfig;
use avreg_fingerprint::matching::DocId;
use avreg_fingerprint::video::matching::{search_video, MemoryVideoIndex, VideoMatchConfig};

use super::*;
use crate::{fingerprint_media_file, TrackKind};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/video")
        .join(name)
}

/// Counts frames and remembers their times.
#[derive(Default)]
struct Collect {
    times: Vec<u64>,
    sizes: Vec<(usize, usize)>,
}

impl FrameSink for Collect {
    fn wants(&self, _: u64) -> bool {
        true
    }
    fn frame(&mut self, frame: &LumaFrame<'_>, time_ms: u64) {
        self.times.push(time_ms);
        self.sizes.push((frame.width(), frame.height()));
    }
    fn skipped(&mut self, _: u64) {}
}

#[test]
fn h264_with_b_frames_decodes_every_frame_in_order() {
    let mut c = Collect::default();
    let info = decode_video_file(&fixture("ref.mp4"), &VideoDecodeOptions::default(), &mut c)
        .expect("fixture decodes");
    assert_eq!(info.codec, "h264");
    assert_eq!((info.width, info.height), (256, 144));
    // 10 s at 25 fps: all 250 pictures, including those held for reordering.
    assert_eq!(info.decoded_frames, 250, "{info:?}");
    assert_eq!(c.times.len(), 250);
    assert_eq!(c.times[0], 0);
    assert!(
        c.times.windows(2).all(|w| w[1] == w[0] + 40),
        "{:?}",
        &c.times[..10]
    );
    assert!(c.sizes.iter().all(|&s| s == (256, 144)));
    assert_eq!(info.duration_ms, 10_000);
}

#[test]
fn cropped_reencoded_excerpt_matches_at_its_offset() {
    let cfg = VideoConfig::default();
    let opts = VideoDecodeOptions::default();
    let (reference, info) =
        fingerprint_video_file(&fixture("ref.mp4"), &cfg, Role::Reference, &opts)
            .expect("reference decodes");
    // Only sampled frames are read.
    assert!(info.read_frames <= 41, "{info:?}");
    let (query, _) = fingerprint_video_file(&fixture("excerpt-crop.mp4"), &cfg, Role::Query, &opts)
        .expect("excerpt decodes");
    let mut index = MemoryVideoIndex::default();
    index.add(DocId(7), &reference, cfg.min_quality);
    let found = search_video(&query, &index, &VideoMatchConfig::default());
    let m = found.first().expect("the excerpt matches");
    assert_eq!(m.doc, DocId(7));
    assert!(!m.mirrored);
    // The excerpt starts 4 s into the reference.
    assert!((m.offset_ms - 4_000).abs() <= 300, "{m:?}");
    assert!(m.aligned >= 4, "{m:?}");
}

#[cfg(not(feature = "ffmpeg"))]
#[test]
fn other_codecs_are_named() {
    let mut c = Collect::default();
    let err = decode_video_file(
        &fixture("mpeg4.mp4"),
        &VideoDecodeOptions::default(),
        &mut c,
    )
    .expect_err("MPEG-4 Part 2 is not embedded");
    assert!(
        matches!(&err, Error::VideoNeedsFfmpeg { container, codec }
            if container == "mp4" && codec == "mpeg4"),
        "{err:?}"
    );
}

/// Without the `ffmpeg` feature, video in other containers is refused with
/// an error naming the container, the codec and the feature.
#[cfg(not(feature = "ffmpeg"))]
#[test]
fn other_containers_name_their_codec_and_the_feature() {
    let audio = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio");
    let opts = VideoDecodeOptions::default();
    let err = decode_video_file(
        &audio.join("chords-video.webm"),
        &opts,
        &mut Collect::default(),
    )
    .expect_err("VP8 needs FFmpeg");
    assert!(
        matches!(&err, Error::VideoNeedsFfmpeg { container, codec }
            if container == "webm" && codec == "vp8"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("vp8 in webm") && msg.contains("`ffmpeg` feature"),
        "{msg}"
    );

    // A WebM head written here, with a VP9 track.
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("vp9.webm");
    std::fs::write(&p, sniff::tests::webm_head(b"V_VP9")).expect("write");
    let err = decode_video_file(&p, &opts, &mut Collect::default()).expect_err("VP9");
    assert!(
        matches!(&err, Error::VideoNeedsFfmpeg { container, codec }
            if container == "webm" && codec == "vp9"),
        "{err:?}"
    );
    // Audio-only Matroska and Ogg have no video track; unknown bytes are
    // an unknown format.
    for name in ["opus.webm", "chords-aac.mkv", "chords.ogg"] {
        let err =
            decode_video_file(&audio.join(name), &opts, &mut Collect::default()).expect_err(name);
        assert!(matches!(err, Error::NoVideoTrack), "{name}: {err:?}");
    }
    let p = dir.path().join("noise.bin");
    std::fs::write(&p, [0x5a; 4096]).expect("write");
    let err = decode_video_file(&p, &opts, &mut Collect::default()).expect_err("noise");
    assert!(matches!(err, Error::UnknownFormat), "{err:?}");

    // The sound of such a file is still fingerprinted.
    let both = fingerprint_media_file(
        &audio.join("chords-video.webm"),
        &AudioConfig::default(),
        &crate::audio::DecodeOptions::default(),
        &VideoConfig::default(),
        Role::Query,
        &opts,
    )
    .expect("the Vorbis track");
    assert!(both.audio.is_some() && both.video.is_none());
    // ... and the picture it could not read is named, not dropped.
    let picture = both
        .tracks
        .iter()
        .find(|t| t.kind == TrackKind::Picture)
        .expect("the VP8 track is reported");
    assert!(!picture.fingerprinted);
    assert_eq!(
        (picture.container.as_str(), picture.codec.as_str()),
        ("webm", "vp8")
    );
    assert!(
        picture
            .note
            .as_deref()
            .is_some_and(|n| n.contains("`ffmpeg` feature")),
        "{picture:?}"
    );
}

#[test]
fn audio_only_mp4_has_no_video_track() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio/chords.m4a");
    let err = decode_video_file(
        &path,
        &VideoDecodeOptions::default(),
        &mut Collect::default(),
    )
    .expect_err("no video");
    assert!(matches!(err, Error::NoVideoTrack), "{err:?}");
}

#[test]
fn damaged_input_gives_typed_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = std::fs::read(fixture("ref.mp4")).expect("fixture");
    let opts = VideoDecodeOptions::default();
    for (name, data) in [
        ("empty.mp4", Vec::new()),
        ("garbage.bin", vec![0x5a; 4096]),
        ("head.mp4", bytes[..bytes.len() / 3].to_vec()),
        ("tail.mp4", bytes[bytes.len() / 2..].to_vec()),
        ("header-only.mp4", bytes[..64].to_vec()),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, &data).expect("write");
        let r = decode_video_file(&p, &opts, &mut Collect::default());
        assert!(r.is_err(), "{name}: {r:?}");
    }
    // A sample table declaring four billion entries: refused before any
    // allocation is sized from it.
    let at = bytes
        .windows(4)
        .position(|w| w == b"stsz")
        .expect("sample size box");
    let mut huge = bytes.clone();
    huge[at + 12..at + 16].copy_from_slice(&[0xff, 0xff, 0xff, 0xf0]);
    let p = dir.path().join("huge-table.mp4");
    std::fs::write(&p, &huge).expect("write");
    let err = decode_video_file(&p, &opts, &mut Collect::default()).expect_err("hostile table");
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    // Corrupted payload bytes: decodes what it can or fails cleanly.
    let mut flipped = bytes.clone();
    for i in (bytes.len() / 4..bytes.len() * 3 / 4).step_by(97) {
        flipped[i] ^= 0xA5;
    }
    let p = dir.path().join("flipped.mp4");
    std::fs::write(&p, &flipped).expect("write");
    let _ = decode_video_file(&p, &opts, &mut Collect::default());
}

#[test]
fn limits_are_enforced() {
    let opts = VideoDecodeOptions {
        max_duration_ms: Some(5_000),
        ..VideoDecodeOptions::default()
    };
    let err = decode_video_file(&fixture("ref.mp4"), &opts, &mut Collect::default())
        .expect_err("too long");
    assert!(matches!(err, Error::Limit(_)), "{err:?}");
    assert!(matches!(check_dims(9000, 10), Err(Error::Limit(_))));
    assert!(matches!(check_dims(8000, 8000), Err(Error::Limit(_))));
    assert!(check_dims(1920, 1080).is_ok());
}

#[test]
fn pictures_and_folders_are_video_input() {
    let png = fixture("pdq/waves-64x64.png");
    let mut c = Collect::default();
    let info = decode_video_file(&png, &VideoDecodeOptions::default(), &mut c).expect("png");
    assert_eq!(info.container, "image");
    assert_eq!(c.sizes, vec![(64, 64)]);

    let dir = tempfile::tempdir().expect("temp dir");
    for (i, name) in ["rings-97x131.png", "blocks-320x180.png", "waves-64x64.png"]
        .iter()
        .enumerate()
    {
        std::fs::copy(
            fixture(&format!("pdq/{name}")),
            dir.path().join(format!("f{i:03}.png")),
        )
        .expect("copy");
    }
    std::fs::write(dir.path().join("notes.txt"), "not a frame").expect("write");
    let opts = VideoDecodeOptions {
        folder_fps: 2.0,
        ..VideoDecodeOptions::default()
    };
    let mut c = Collect::default();
    let info = decode_video_file(dir.path(), &opts, &mut c).expect("folder");
    assert_eq!(c.times, vec![0, 500, 1000]);
    assert_eq!(c.sizes[0], (97, 131));
    assert_eq!(info.duration_ms, 1500);
}

#[test]
fn colour_pictures_use_bt601_luma() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("red.png");
    let img = ::image::RgbImage::from_pixel(8, 8, ::image::Rgb([200, 0, 0]));
    img.save(&p).expect("save");
    let (_, _, luma) = load_picture(&p).expect("load");
    // 0.299 × 200 = 59.8 (BT.709 would give 42.5).
    assert!(luma.iter().all(|&v| v == 60), "{:?}", &luma[..4]);
}

#[test]
fn media_file_gives_both_fingerprints() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio/chords-video.mp4");
    let both = fingerprint_media_file(
        &path,
        &AudioConfig::default(),
        &crate::audio::DecodeOptions::default(),
        &VideoConfig::default(),
        Role::Query,
        &VideoDecodeOptions::default(),
    )
    .expect("audio and video");
    assert!(both.audio.is_some());
    let (_, vinfo) = both.video.expect("video track");
    assert_eq!((vinfo.width, vinfo.height), (32, 32));
}

fn media(path: &Path, role: Role) -> crate::Result<crate::MediaFingerprints> {
    fingerprint_media_file(
        path,
        &AudioConfig::default(),
        &crate::audio::DecodeOptions::default(),
        &VideoConfig::default(),
        role,
        &VideoDecodeOptions::default(),
    )
}

/// A phone's QuickTime file: H.264 with an AAC track whose sound
/// description is QuickTime's version 1 (which the `mp4` crate refuses).
#[test]
fn a_quicktime_mov_with_sound_keeps_its_picture() {
    let both = media(&fixture("phone.mov"), Role::Reference).expect("both tracks");
    let (_, info) = both.video.as_ref().expect("the picture");
    assert_eq!(
        (info.codec.as_str(), info.width, info.height),
        ("h264", 96, 64)
    );
    assert_eq!(info.decoded_frames, 60, "{info:?}");
    assert!(both.audio.is_some());
    assert_eq!(both.tracks.len(), 2, "{:?}", both.tracks);
    assert!(
        both.tracks
            .iter()
            .all(|t| t.fingerprinted && t.note.is_none()),
        "{:?}",
        both.tracks
    );
    let kinds: Vec<TrackKind> = both.tracks.iter().map(|t| t.kind).collect();
    assert_eq!(kinds, [TrackKind::Sound, TrackKind::Picture]);
}

/// A file cut short is refused as a registration and looked up on what
/// decodes, saying so.
#[test]
fn a_truncated_video_is_refused_as_a_registration_and_noted_in_a_lookup() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = std::fs::read(fixture("ref.mp4")).expect("fixture");
    // ffmpeg writes `moov` last: keep it, cut the picture data in half by
    // zeroing what follows the first half of `mdat`, as a broken download
    // does when the header was fetched first.
    let at = bytes.windows(4).position(|w| w == b"mdat").expect("mdat");
    let moov = bytes.windows(4).position(|w| w == b"moov").expect("moov") - 4;
    assert!(moov > at, "moov after mdat");
    let mut cut = bytes.clone();
    let half = at + (moov - at) / 2;
    cut[half..moov].fill(0);
    let p = dir.path().join("cut.mp4");
    std::fs::write(&p, &cut).expect("write");

    let err = media(&p, Role::Reference).expect_err("a damaged registration");
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    assert!(err.to_string().contains("picture"), "{err}");

    let found = media(&p, Role::Query).expect("a lookup goes ahead");
    assert!(found.video.is_some());
    let picture = found
        .tracks
        .iter()
        .find(|t| t.kind == TrackKind::Picture)
        .expect("reported");
    assert!(
        picture.fingerprinted && picture.note.is_some(),
        "{picture:?}"
    );
}
