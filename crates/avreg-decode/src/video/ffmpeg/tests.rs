//! Tests of the FFmpeg edge on videos encoded here, in a temporary folder,
//! with the encoders of the same FFmpeg libraries (the ffmpeg program is not
//! needed): synthetic moving scenes ([`Scenes`]) in WebM/VP9, AVI/MPEG-4,
//! MPEG-TS/MPEG-2, MPEG-PS/MPEG-1, Ogg/Theora, MP4/AV1, MP4/HEVC and
//! Matroska/FFV1 (10-bit), and raw BGR in AVI (stored bottom-up).

use std::path::{Path, PathBuf};

use avreg_fingerprint::matching::DocId;
use avreg_fingerprint::video::matching::{search_video, MemoryVideoIndex, VideoMatchConfig};
use avreg_fingerprint::video::synth::{Plane, Scenes};
use avreg_fingerprint::video::{Role, VideoConfig};

use super::*;
use crate::video::{decode_video_file, fingerprint_video_file};

/// One way of encoding a test video.
#[derive(Clone, Copy, Debug)]
struct Codec {
    muxer: &'static str,
    file: &'static str,
    encoder: &'static str,
    pixel: Pixel,
    options: &'static [(&'static str, &'static str)],
    /// FFmpeg's names for what the decoder reports.
    container: &'static str,
    codec: &'static str,
    /// Whether the luma comes back bit-exact.
    lossless: bool,
}

const VP9: Codec = Codec {
    muxer: "webm",
    file: "vp9.webm",
    encoder: "libvpx-vp9",
    pixel: Pixel::YUV420P,
    options: &[
        ("deadline", "realtime"),
        ("cpu-used", "8"),
        ("crf", "20"),
        ("b", "0"),
    ],
    container: "matroska,webm",
    codec: "vp9",
    lossless: false,
};

const MPEG4_AVI: Codec = Codec {
    muxer: "avi",
    file: "mpeg4.avi",
    encoder: "mpeg4",
    pixel: Pixel::YUV420P,
    // B-frames: AVI stores no presentation times, FFmpeg guesses them.
    options: &[("bf", "2"), ("qscale", "3")],
    container: "avi",
    codec: "mpeg4",
    lossless: false,
};

const CODECS: &[Codec] = &[
    VP9,
    MPEG4_AVI,
    Codec {
        muxer: "mpegts",
        file: "mpeg2.ts",
        encoder: "mpeg2video",
        pixel: Pixel::YUV420P,
        options: &[("bf", "2"), ("qscale", "3")],
        container: "mpegts",
        codec: "mpeg2video",
        lossless: false,
    },
    Codec {
        muxer: "mpeg",
        file: "mpeg1.mpg",
        encoder: "mpeg1video",
        pixel: Pixel::YUV420P,
        options: &[("qscale", "3")],
        container: "mpeg",
        codec: "mpeg1video",
        lossless: false,
    },
    Codec {
        muxer: "ogg",
        file: "theora.ogv",
        encoder: "libtheora",
        pixel: Pixel::YUV420P,
        options: &[("qscale", "8")],
        container: "ogg",
        codec: "theora",
        lossless: false,
    },
    Codec {
        muxer: "mp4",
        file: "av1.mp4",
        encoder: "libaom-av1",
        pixel: Pixel::YUV420P,
        options: &[("usage", "realtime"), ("cpu-used", "8"), ("crf", "20")],
        container: "mov,mp4,m4a,3gp,3g2,mj2",
        codec: "av1",
        lossless: false,
    },
    Codec {
        muxer: "mp4",
        file: "hevc.mp4",
        encoder: "libx265",
        pixel: Pixel::YUV420P,
        options: &[
            ("preset", "ultrafast"),
            ("crf", "18"),
            ("x265-params", "log-level=none"),
        ],
        container: "mov,mp4,m4a,3gp,3g2,mj2",
        codec: "hevc",
        lossless: false,
    },
    Codec {
        muxer: "matroska",
        file: "ffv1-10bit.mkv",
        encoder: "ffv1",
        pixel: Pixel::YUV420P10LE,
        options: &[],
        container: "matroska,webm",
        codec: "ffv1",
        lossless: true,
    },
    Codec {
        muxer: "avi",
        file: "bgr.avi",
        encoder: "rawvideo",
        pixel: Pixel::BGR24,
        options: &[],
        container: "avi",
        codec: "rawvideo",
        lossless: true,
    },
];

const FPS: i32 = 25;
const FRAME_MS: u64 = 40;

/// Encodes `frames` frames of `scenes` from `from_ms` on, at 25 fps and
/// `w × h`, into `dir`.
fn encode(
    dir: &Path,
    c: &Codec,
    scenes: &Scenes,
    from_ms: u64,
    frames: u64,
    w: u32,
    h: u32,
) -> PathBuf {
    init().expect("FFmpeg initialises");
    let path = dir.join(c.file);
    let mut octx = ff::format::output_as(&path, c.muxer).expect("muxer");
    let global = octx
        .format()
        .flags()
        .contains(ff::format::Flags::GLOBAL_HEADER);
    let encoder = ff::encoder::find_by_name(c.encoder)
        .unwrap_or_else(|| panic!("Debian's FFmpeg has the {} encoder", c.encoder));
    let mut enc = codec::Context::new_with_codec(encoder)
        .encoder()
        .video()
        .expect("video encoder");
    enc.set_width(w);
    enc.set_height(h);
    enc.set_format(c.pixel);
    enc.set_time_base(Rational::new(1, FPS));
    enc.set_frame_rate(Some(Rational::new(FPS, 1)));
    enc.set_gop(25);
    if global {
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let mut options = Dictionary::new();
    for (k, v) in c.options {
        options.set(k, v);
    }
    let mut enc = enc
        .open_as_with(encoder, options)
        .unwrap_or_else(|e| panic!("opening {}: {e}", c.encoder));
    {
        let mut ost = octx.add_stream(encoder).expect("stream");
        ost.set_parameters(&enc);
        ost.set_time_base(Rational::new(1, FPS));
    }
    octx.write_header().expect("container header");
    let ost_tb = octx.stream(0).expect("the stream").time_base();
    let write = |enc: &mut ff::encoder::video::Encoder, octx: &mut ff::format::context::Output| {
        let mut packet = Packet::empty();
        while enc.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            // Without durations the MP4 muxer's edit list ends a frame early.
            packet.set_duration(1);
            packet.rescale_ts(Rational::new(1, FPS), ost_tb);
            packet.write_interleaved(octx).expect("write packet");
        }
    };
    for n in 0..frames {
        let plane = scenes.render(from_ms + n * FRAME_MS, w as usize, h as usize);
        let mut frame = Frame::new(c.pixel, w, h);
        fill(&mut frame, &plane);
        frame.set_pts(Some(n as i64));
        enc.send_frame(&frame).expect("encode");
        write(&mut enc, &mut octx);
    }
    enc.send_eof().expect("flush the encoder");
    write(&mut enc, &mut octx);
    octx.write_trailer().expect("container trailer");
    path
}

/// Paints a grey picture of `plane` into `frame` (neutral chroma).
fn fill(frame: &mut Frame, plane: &Plane) {
    let (w, h) = (plane.width, plane.height);
    let rows = plane.data.chunks_exact(w);
    match frame.format() {
        Pixel::YUV420P => {
            let stride = frame.stride(0);
            for (y, row) in rows.enumerate() {
                frame.data_mut(0)[y * stride..y * stride + w].copy_from_slice(row);
            }
            for p in 1..3 {
                frame.data_mut(p).fill(128);
            }
        }
        Pixel::YUV420P10LE => {
            let stride = frame.stride(0);
            for (y, row) in rows.enumerate() {
                let out = &mut frame.data_mut(0)[y * stride..y * stride + 2 * w];
                for (o, &v) in out.chunks_exact_mut(2).zip(row) {
                    o.copy_from_slice(&(u16::from(v) << 2).to_le_bytes());
                }
            }
            for p in 1..3 {
                for o in frame.data_mut(p).chunks_exact_mut(2) {
                    o.copy_from_slice(&512u16.to_le_bytes());
                }
            }
        }
        Pixel::BGR24 => {
            let stride = frame.stride(0);
            for (y, row) in rows.enumerate() {
                let out = &mut frame.data_mut(0)[y * stride..y * stride + 3 * w];
                for (o, &v) in out.chunks_exact_mut(3).zip(row) {
                    o.fill(v);
                }
            }
        }
        other => panic!("no painter for {other:?}"),
    }
    let _ = h;
}

/// Keeps the frames it is given, and their times.
#[derive(Default)]
struct Collect {
    times: Vec<u64>,
    planes: Vec<(u64, Plane)>,
    skipped: Vec<u64>,
    every: u64,
}

impl FrameSink for Collect {
    fn wants(&self, time_ms: u64) -> bool {
        self.every == 0 || time_ms.is_multiple_of(self.every)
    }
    fn frame(&mut self, frame: &LumaFrame<'_>, time_ms: u64) {
        self.times.push(time_ms);
        let data = (0..frame.height())
            .flat_map(|y| frame.row(y).to_vec())
            .collect();
        self.planes.push((
            time_ms,
            Plane {
                width: frame.width(),
                height: frame.height(),
                data,
            },
        ));
    }
    fn skipped(&mut self, time_ms: u64) {
        self.skipped.push(time_ms);
    }
}

fn mean_abs_diff(a: &Plane, b: &Plane) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let sum: u64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.data.len() as f64
}

#[test]
fn every_container_and_codec_decodes_to_the_painted_luma() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenes = Scenes::new(11);
    let (w, h, frames) = (160u32, 96u32, 50u64);
    let mut report = Vec::new();
    for c in CODECS {
        let path = encode(dir.path(), c, &scenes, 0, frames, w, h);
        // Every frame decoded, a third of them read.
        let mut sink = Collect {
            every: 3 * FRAME_MS,
            ..Collect::default()
        };
        let info = decode_video_file(&path, &VideoDecodeOptions::default(), &mut sink)
            .unwrap_or_else(|e| panic!("{}: {e}", c.file));
        assert_eq!(info.container, c.container, "{}", c.file);
        assert_eq!(info.codec, c.codec, "{}", c.file);
        assert_eq!((info.width, info.height), (w, h), "{}", c.file);
        assert_eq!(info.decoded_frames, frames, "{}: {info:?}", c.file);
        assert_eq!(info.skipped_packets, 0, "{}: {info:?}", c.file);
        let wanted: Vec<u64> = (0..frames)
            .map(|n| n * FRAME_MS)
            .filter(|t| t.is_multiple_of(3 * FRAME_MS))
            .collect();
        assert_eq!(
            sink.times, wanted,
            "{}: times from 0 in steps of 40 ms",
            c.file
        );
        assert_eq!(info.duration_ms, frames * FRAME_MS, "{}: {info:?}", c.file);
        assert_eq!(info.read_frames, wanted.len() as u64, "{}", c.file);
        assert_eq!(
            sink.skipped.len() as u64 + info.read_frames,
            frames,
            "{}",
            c.file
        );
        let worst = sink
            .planes
            .iter()
            .map(|(t, p)| mean_abs_diff(p, &scenes.render(*t, w as usize, h as usize)))
            .fold(0f64, f64::max);
        report.push(format!("{} {worst:.2}", c.file));
        if c.lossless {
            assert!(worst == 0.0, "{}: mean luma error {worst}", c.file);
        } else {
            assert!(worst < 6.0, "{}: mean luma error {worst}", c.file);
        }
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn a_vp9_reference_is_found_from_an_mpeg4_excerpt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenes = Scenes::new(5);
    let (w, h) = (256u32, 144u32);
    let reference = encode(dir.path(), &VP9, &scenes, 0, 250, w, h);
    // Five seconds from 3 s in, in another codec and container.
    let excerpt = encode(dir.path(), &MPEG4_AVI, &scenes, 3_000, 125, w, h);
    let cfg = VideoConfig::default();
    let opts = VideoDecodeOptions::default();
    let (ref_fp, info) = fingerprint_video_file(&reference, &cfg, Role::Reference, &opts)
        .expect("reference decodes");
    assert_eq!(info.decoded_frames, 250);
    // Only the sampled frames are read (4 per second).
    assert!(info.read_frames <= 41, "{info:?}");
    assert!(!ref_fp.frames.is_empty());
    let (query, _) =
        fingerprint_video_file(&excerpt, &cfg, Role::Query, &opts).expect("excerpt decodes");
    let mut index = MemoryVideoIndex::default();
    index.add(DocId(3), &ref_fp, cfg.min_quality);
    let found = search_video(&query, &index, &VideoMatchConfig::default());
    let m = found.first().expect("the excerpt matches its reference");
    assert_eq!(m.doc, DocId(3));
    assert!(!m.mirrored);
    assert!((m.offset_ms - 3_000).abs() <= 300, "{m:?}");
    assert!(m.aligned >= 4, "{m:?}");

    // Another video does not match.
    let other = encode(
        dir.path(),
        &Codec {
            file: "other.webm",
            ..VP9
        },
        &Scenes::new(99),
        0,
        125,
        w,
        h,
    );
    let (other_fp, _) =
        fingerprint_video_file(&other, &cfg, Role::Query, &opts).expect("other decodes");
    let found = search_video(&other_fp, &index, &VideoMatchConfig::default());
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn damaged_webm_gives_typed_errors_and_never_unwinds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = encode(dir.path(), &VP9, &Scenes::new(2), 0, 100, 160, 96);
    let bytes = std::fs::read(&path).expect("encoded file");
    let opts = VideoDecodeOptions::default();
    let full = decode_video_file(&path, &opts, &mut Collect::default()).expect("intact");

    let write = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).expect("write");
        p
    };
    // Cut at a third: what is there decodes, the rest is missing.
    let cut = write("cut.webm", &bytes[..bytes.len() / 3]);
    let info = decode_video_file(&cut, &opts, &mut Collect::default()).expect("partial");
    assert!(
        info.decoded_frames > 0 && info.decoded_frames < full.decoded_frames,
        "{info:?}"
    );
    // The EBML magic and then garbage; the header alone.
    let mut garbage = bytes[..4].to_vec();
    garbage.extend((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    for (name, data) in [
        ("garbage.webm", garbage.as_slice()),
        ("header.webm", &bytes[..200]),
        ("magic.webm", &bytes[..4]),
    ] {
        let p = write(name, data);
        let err = decode_video_file(&p, &opts, &mut Collect::default()).expect_err(name);
        assert!(
            matches!(err, Error::Corrupt(_) | Error::UnknownFormat),
            "{name}: {err:?}"
        );
        if let Error::Corrupt(msg) = &err {
            assert!(!msg.contains(crate::PANIC_MARKER), "{name}: {msg}");
        }
    }
    // A track declared but no cluster.
    let p = write(
        "tracks-only.webm",
        &crate::video::sniff::tests::webm_head(b"V_VP9"),
    );
    let err = decode_video_file(&p, &opts, &mut Collect::default()).expect_err("no frames");
    assert!(
        matches!(err, Error::Corrupt(_) | Error::NoVideoTrack),
        "{err:?}"
    );
    // Bytes flipped all through the clusters: decodes what it can.
    for step in [97usize, 1009, 7919] {
        let mut flipped = bytes.clone();
        for i in (bytes.len() / 5..bytes.len()).step_by(step) {
            flipped[i] ^= 0xA5;
        }
        let p = write("flipped.webm", &flipped);
        match decode_video_file(&p, &opts, &mut Collect::default()) {
            Ok(info) => assert!(info.decoded_frames <= 2 * full.decoded_frames, "{info:?}"),
            Err(e) => assert!(!matches!(e, Error::Io { .. }), "{e:?}"),
        }
    }
}

#[test]
fn limits_hold_for_ffmpeg_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = encode(dir.path(), &VP9, &Scenes::new(4), 0, 75, 160, 96);
    let short = VideoDecodeOptions {
        max_duration_ms: Some(2_000),
        ..VideoDecodeOptions::default()
    };
    let err = decode_video_file(&path, &short, &mut Collect::default()).expect_err("3 s > 2 s");
    assert!(matches!(err, Error::Limit(_)), "{err:?}");

    // Wider than 8192 pixels (lossless flat frames: cheap to encode).
    let wide = Codec {
        muxer: "matroska",
        file: "wide.mkv",
        encoder: "ffv1",
        pixel: Pixel::YUV420P,
        options: &[],
        container: "matroska,webm",
        codec: "ffv1",
        lossless: true,
    };
    let p = encode(dir.path(), &wide, &Scenes::new(1), 0, 2, 8200, 16);
    let err = decode_video_file(&p, &VideoDecodeOptions::default(), &mut Collect::default())
        .expect_err("too wide");
    assert!(matches!(err, Error::Limit(_)), "{err:?}");
}

#[test]
fn non_h264_mp4_goes_to_ffmpeg() {
    // The committed MPEG-4 Part 2 fixture, refused without the feature.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/video/mpeg4.mp4");
    let mut sink = Collect::default();
    let info = decode_video_file(&path, &VideoDecodeOptions::default(), &mut sink).expect("mpeg4");
    assert_eq!(info.codec, "mpeg4");
    assert_eq!((info.width, info.height), (64, 48));
    assert_eq!(info.decoded_frames, 10);
    assert_eq!(sink.times, (0..10).map(|n| n * 100).collect::<Vec<_>>());
    // H.264 in MP4 stays on OpenH264.
    let h264 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/video/ref.mp4");
    let mut sink = Collect {
        every: 1_000,
        ..Collect::default()
    };
    let info = decode_video_file(&h264, &VideoDecodeOptions::default(), &mut sink).expect("h264");
    assert_eq!(
        (info.container.as_str(), info.codec.as_str()),
        ("mp4", "h264")
    );
}

#[test]
fn audio_files_have_no_video_track_or_are_unknown() {
    let audio = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio");
    for name in [
        "chords-6ch.mkv",
        "chords-aac.mkv",
        "opus.webm",
        "opus.ogg",
        "chords.ogg",
        "chords.flac",
        "chords.mp3",
        "chords.wav",
        "chords.m4a",
    ] {
        let r = decode_video_file(
            &audio.join(name),
            &VideoDecodeOptions::default(),
            &mut Collect::default(),
        );
        assert!(
            matches!(r, Err(Error::NoVideoTrack | Error::UnknownFormat)),
            "{name}: {r:?}"
        );
    }
}

#[test]
fn webm_with_vp8_and_vorbis_gives_both_fingerprints() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio/chords-video.webm");
    let both = crate::fingerprint_media_file(
        &path,
        &avreg_fingerprint::audio::AudioConfig::default(),
        &crate::audio::DecodeOptions::default(),
        &VideoConfig::default(),
        Role::Query,
        &VideoDecodeOptions::default(),
    )
    .expect("audio and video");
    let (_, audio) = both.audio.expect("the Vorbis track");
    assert_eq!(audio.codec, "vorbis");
    let (_, video) = both.video.expect("the VP8 track");
    assert_eq!(
        (video.container.as_str(), video.codec.as_str()),
        ("matroska,webm", "vp8")
    );
    assert_eq!((video.width, video.height), (32, 32));
    assert!(video.decoded_frames > 0);
}

#[test]
fn pixel_formats_map_to_luma_layouts() {
    for name in ["yuv420p", "yuvj444p", "nv12", "gray", "yuva420p"] {
        assert_eq!(layout(name), Layout::Bytes, "{name}");
    }
    assert_eq!(layout("yuv420p10le"), Layout::Le16 { shift: 2 });
    assert_eq!(layout("yuv444p12le"), Layout::Le16 { shift: 4 });
    assert_eq!(layout("gray16le"), Layout::Le16 { shift: 8 });
    assert_eq!(layout("yuva422p9le"), Layout::Le16 { shift: 1 });
    assert_eq!(layout("p010le"), Layout::Le16 { shift: 8 });
    for name in [
        "rgb24",
        "bgr0",
        "pal8",
        "yuyv422",
        "yuv420p10be",
        "gbrp10le",
        "yuv420p8le",
        "le",
        "",
    ] {
        assert_eq!(layout(name), Layout::Convert, "{name}");
    }
}

#[test]
fn time_bases_convert_without_overflow() {
    assert_eq!(ticks_to_ms(90_000, Rational::new(1, 90_000)), Some(1_000));
    assert_eq!(ticks_to_ms(3, Rational::new(1, 25)), Some(120));
    assert_eq!(ticks_to_ms(-1, Rational::new(1, 25)), None);
    assert_eq!(ticks_to_ms(5, Rational::new(0, 1)), None);
    assert_eq!(ticks_to_ms(5, Rational::new(1, 0)), None);
    assert_eq!(
        ticks_to_ms(i128::from(i64::MAX), Rational::new(i32::MAX, 1)),
        None
    );
}
