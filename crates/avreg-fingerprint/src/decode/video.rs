//! The video decoding edge: files in, luma planes with presentation times
//! out, handed frame by frame to a [`FrameSink`] (normally a
//! [`VideoFingerprinter`]) so memory stays bounded by one decoded picture
//! and the container's sample tables.
//!
//! - **MP4 / MOV / M4V with H.264**: demuxed in pure Rust (the `mp4` crate:
//!   samples are read from the file one at a time), converted from AVCC
//!   (length-prefixed NAL units) to Annex B with the SPS/PPS of the `avcC`
//!   box fed first, and decoded by OpenH264 built from its bundled source.
//!   B-frames: the decoder reorders; each picture it returns takes the
//!   smallest presentation time not yet given out, and the decoder is
//!   flushed at the end so the last pictures are not lost. The first edit
//!   list entry's media time is the start of the presentation.
//!   Every picture is decoded (H.264 needs its references) but only those
//!   the sink [`FrameSink::wants`] are read.
//! - **Still pictures** (JPEG, PNG, WebP): one frame at time 0.
//! - **A folder of pictures**: sorted by file name, at
//!   [`VideoDecodeOptions::folder_fps`].
//! - **Everything else** (WebM/VP9, AV1, HEVC, MPEG-1/2, MPEG-4 Part 2,
//!   Theora, AVI, Matroska, MPEG-PS/TS, Ogg, …, and MP4/MOV whose video is
//!   not H.264): only with the optional cargo feature `ffmpeg`, through the
//!   system's FFmpeg libraries (see `decode/ffmpeg.rs`). Without it, the
//!   container and, where the head of the file tells it, the codec are
//!   named in [`Error::VideoNeedsFfmpeg`].
//!
//! Only the luma (Y) plane is read. Pictures in colour are converted to
//! BT.601 luma (PDQ's coefficients 0.299, 0.587, 0.114), not with the
//! `image` crate's `Luma8` conversion, which uses BT.709 weights.
//!
//! # Error policy
//!
//! | situation | error |
//! |---|---|
//! | not a container we know (nor, with `ffmpeg`, one FFmpeg may open), a picture or a folder | [`Error::UnknownFormat`] |
//! | container without a video track | [`Error::NoVideoTrack`] |
//! | without `ffmpeg`: video in another codec or container (MP4 with HEVC, VP9, MPEG-4 Part 2; WebM, Matroska, AVI, MPEG-PS/TS, Ogg Theora, IVF, FLV, ASF) | [`Error::VideoNeedsFfmpeg`] naming the container and codec (`hevc`/`vp9`/`mpeg4` in `mp4`, `vp9` in `webm`, …; `unknown` when the head does not tell) |
//! | with `ffmpeg`: a codec the system's FFmpeg has no decoder for | [`Error::UnsupportedVideoCodec`] naming it |
//! | frame larger than 8192×8192 or 8K UHD in pixels | [`Error::Limit`] |
//! | declared duration above `max_duration_ms` (with `ffmpeg`, also a frame past it) | [`Error::Limit`] |
//! | damaged headers, a box or sample table larger than what holds it, or no picture decodes | [`Error::Corrupt`] |
//! | a decoder panic | [`Error::Corrupt`] (caught here) |
//!
//! Samples that fail to read or decode in the middle are skipped and
//! counted in [`VideoInfo::skipped_packets`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use openh264::decoder::{DecodeOptions as H264Options, Decoder, Flush};
use openh264::formats::YUVSource;
use serde::Serialize;

use super::guarded;
use crate::audio::{AudioConfig, AudioFingerprint};
use crate::error::{Error, Result};
use crate::video::luma::{MAX_DIM, MAX_PIXELS};
use crate::video::{LumaFrame, Role, VideoConfig, VideoFingerprint, VideoFingerprinter};

/// Where decoded frames go.
pub trait FrameSink {
    /// Whether the frame at `time_ms` is needed (others are decoded but not
    /// read).
    fn wants(&self, time_ms: u64) -> bool;
    /// A needed frame.
    fn frame(&mut self, frame: &LumaFrame<'_>, time_ms: u64);
    /// A frame that was decoded but not read.
    fn skipped(&mut self, time_ms: u64);
}

impl FrameSink for VideoFingerprinter {
    fn wants(&self, time_ms: u64) -> bool {
        VideoFingerprinter::wants(self, time_ms)
    }
    fn frame(&mut self, frame: &LumaFrame<'_>, time_ms: u64) {
        self.push(frame, time_ms);
    }
    fn skipped(&mut self, time_ms: u64) {
        self.skip(time_ms);
    }
}

/// How to read video input.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoDecodeOptions {
    /// Refuse videos declaring a longer duration ([`Error::Limit`]).
    pub max_duration_ms: Option<u64>,
    /// Frame rate given to a folder of pictures.
    pub folder_fps: f32,
}

impl Default for VideoDecodeOptions {
    fn default() -> Self {
        Self {
            max_duration_ms: None,
            folder_fps: 25.0,
        }
    }
}

/// What was decoded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VideoInfo {
    /// `mp4`, `image` or `folder`; with the `ffmpeg` feature, FFmpeg's
    /// demuxer name for other files (`matroska,webm`, `avi`, `mpegts`, `ogg`,
    /// `mov,mp4,m4a,3gp,3g2,mj2`, …).
    pub container: String,
    /// `h264`, `jpeg`, `png`, `webp`; with the `ffmpeg` feature, FFmpeg's
    /// codec name for other files (`vp9`, `av1`, `hevc`, `mpeg2video`, …).
    pub codec: String,
    /// Width of the (first) picture.
    pub width: u32,
    /// Height of the (first) picture.
    pub height: u32,
    /// Pictures decoded.
    pub decoded_frames: u64,
    /// Pictures handed to the sink (the others were skipped unread).
    pub read_frames: u64,
    /// Samples that failed to read or decode and were skipped.
    pub skipped_packets: u64,
    /// Presentation time of the last picture plus one frame, ms.
    pub duration_ms: u64,
}

impl VideoInfo {
    /// A stream about to be read: nothing counted yet.
    pub(crate) fn start(container: &str, codec: &str, width: u32, height: u32) -> Self {
        Self {
            container: container.into(),
            codec: codec.into(),
            width,
            height,
            decoded_frames: 0,
            read_frames: 0,
            skipped_packets: 0,
            duration_ms: 0,
        }
    }
}

/// Decodes the video at `path` (an MP4/MOV/M4V file, a picture, a folder of
/// pictures, or with the `ffmpeg` feature any file FFmpeg reads) into
/// `sink`.
pub fn decode_video_file(
    path: &Path,
    opts: &VideoDecodeOptions,
    sink: &mut dyn FrameSink,
) -> Result<VideoInfo> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return decode_folder(path, opts, sink);
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = [0u8; 16];
    let n = read_up_to(&mut file, &mut head).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let head = &head[..n];
    if n == 0 {
        return Err(Error::Corrupt("empty input".into()));
    }
    if let Some(codec) = picture_kind(head) {
        let (w, h, luma) = load_picture(path)?;
        let frame = LumaFrame::new(&luma, w, h, w)?;
        sink.frame(&frame, 0);
        return Ok(VideoInfo {
            decoded_frames: 1,
            read_frames: 1,
            ..VideoInfo::start("image", codec, w as u32, h as u32)
        });
    }
    if is_mp4_head(head) {
        return decode_mp4(path, file, meta.len(), opts, sink);
    }
    #[cfg(feature = "ffmpeg")]
    {
        drop(file);
        super::ffmpeg::decode_video(path, opts, sink)
    }
    #[cfg(not(feature = "ffmpeg"))]
    {
        let mut head = Vec::with_capacity(sniff::SNIFF_BYTES.min(meta.len() as usize));
        file.take(sniff::SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(io)?;
        match sniff::sniff(&head) {
            sniff::Sniffed::Video { container, codec } => Err(Error::VideoNeedsFfmpeg {
                container: container.into(),
                codec,
            }),
            sniff::Sniffed::AudioOnly => Err(Error::NoVideoTrack),
            sniff::Sniffed::Unknown => Err(Error::UnknownFormat),
        }
    }
}

/// Decodes and fingerprints the video at `path` in one pass.
pub fn fingerprint_video_file(
    path: &Path,
    config: &VideoConfig,
    role: Role,
    opts: &VideoDecodeOptions,
) -> Result<(VideoFingerprint, VideoInfo)> {
    let mut fp = VideoFingerprinter::new(config.clone(), role);
    let info = decode_video_file(path, opts, &mut fp)?;
    Ok((fp.finish(), info))
}

/// Both fingerprints of one media file.
#[derive(Debug)]
pub struct MediaFingerprints {
    /// The audio fingerprint, if the file has a decodable audio track.
    pub audio: Option<(AudioFingerprint, super::AudioInfo)>,
    /// The video fingerprint, if the file has a decodable video track.
    pub video: Option<(VideoFingerprint, VideoInfo)>,
}

/// Fingerprints the sound and the picture of one file: one decoding pass
/// per track (audio through symphonia, video through OpenH264 or, with the
/// `ffmpeg` feature, FFmpeg), one after
/// the other. A file with only one of them gives that one; a file with
/// neither fails with the video error (or the audio error when the video
/// error is only the absence of a video track).
pub fn fingerprint_media_file(
    path: &Path,
    audio: &AudioConfig,
    audio_opts: &super::DecodeOptions,
    video: &VideoConfig,
    role: Role,
    video_opts: &VideoDecodeOptions,
) -> Result<MediaFingerprints> {
    let a = super::fingerprint_audio_file(path, audio, audio_opts);
    let v = fingerprint_video_file(path, video, role, video_opts);
    match (a, v) {
        (Err(ae), Err(Error::NoVideoTrack | Error::UnknownFormat)) => Err(ae),
        (Err(_), Err(ve)) => Err(ve),
        (a, v) => Ok(MediaFingerprints {
            audio: a.ok(),
            video: v.ok(),
        }),
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Whether a file's first bytes are an MP4/MOV top-level box.
pub(super) fn is_mp4_head(head: &[u8]) -> bool {
    head.len() >= 8
        && matches!(
            &head[4..8],
            b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free" | b"skip"
        )
}

fn picture_kind(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG") {
        Some("png")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("webp")
    } else {
        None
    }
}

/// A picture file as BT.601 luma: (width, height, pixels).
fn load_picture(path: &Path) -> Result<(usize, usize, Vec<u8>)> {
    let reader = image::ImageReader::open(path)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?
        .with_guessed_format()
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| Error::Corrupt(format!("picture header: {e}")))?;
    check_dims(w as usize, h as usize)?;
    let img = guarded("decoding a picture", || {
        image::ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| Error::Corrupt(e.to_string()))
            .and_then(|r| r.decode().map_err(|e| Error::Corrupt(e.to_string())))
    })??;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let luma = if img.color().has_color() {
        let rgb = img.into_rgb8();
        rgb.pixels()
            .map(|p| {
                let y =
                    0.299f32 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
                y.round().clamp(0.0, 255.0) as u8
            })
            .collect()
    } else {
        img.into_luma8().into_raw()
    };
    Ok((w, h, luma))
}

pub(super) fn check_dims(w: usize, h: usize) -> Result<()> {
    if w > MAX_DIM || h > MAX_DIM || w * h > MAX_PIXELS {
        return Err(Error::Limit(format!(
            "frame {w}x{h} exceeds {MAX_DIM}x{MAX_DIM} or {MAX_PIXELS} pixels"
        )));
    }
    if w == 0 || h == 0 {
        return Err(Error::InvalidStream(format!("empty frame {w}x{h}")));
    }
    Ok(())
}

fn decode_folder(
    dir: &Path,
    opts: &VideoDecodeOptions,
    sink: &mut dyn FrameSink,
) -> Result<VideoInfo> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(
                    e.to_ascii_lowercase().as_str(),
                    "png" | "jpg" | "jpeg" | "webp"
                )
            })
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Corrupt("folder holds no pictures".into()));
    }
    let fps = if opts.folder_fps.is_finite() && opts.folder_fps > 0.0 {
        f64::from(opts.folder_fps)
    } else {
        25.0
    };
    let mut info = VideoInfo::start("folder", "image", 0, 0);
    for (i, f) in files.iter().enumerate() {
        let t = (i as f64 * 1000.0 / fps).round() as u64;
        if let Some(max) = opts.max_duration_ms {
            if t > max {
                return Err(Error::Limit(format!("folder longer than {max} ms")));
            }
        }
        info.duration_ms = ((i + 1) as f64 * 1000.0 / fps).round() as u64;
        if !sink.wants(t) {
            sink.skipped(t);
            continue;
        }
        let (w, h, luma) = load_picture(f)?;
        if info.decoded_frames == 0 {
            (info.width, info.height) = (w as u32, h as u32);
        }
        info.decoded_frames += 1;
        info.read_frames += 1;
        sink.frame(&LumaFrame::new(&luma, w, h, w)?, t);
    }
    Ok(info)
}

/// Consecutive unreadable or undecodable samples after which the rest is
/// taken to be garbage.
const MAX_CONSECUTIVE_ERRORS: u64 = 64;

fn decode_mp4(
    path: &Path,
    mut file: std::fs::File,
    size: u64,
    opts: &VideoDecodeOptions,
    sink: &mut dyn FrameSink,
) -> Result<VideoInfo> {
    // The audio edge's guard: every box fits in its parent and no sample
    // table declares more entries than its box holds, checked before the
    // demuxer sizes allocations from those numbers.
    let walked = super::check_mp4(&mut file, 0).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(problem) = walked {
        return Err(Error::Corrupt(problem));
    }
    let reader = BufReader::new(file);
    let mut mp4 = guarded("reading MP4 headers", || {
        mp4::Mp4Reader::read_header(reader, size)
    })?
    .map_err(|e| Error::Corrupt(format!("MP4 headers: {e}")))?;
    let track = mp4
        .tracks()
        .values()
        .filter(|t| matches!(t.track_type(), Ok(mp4::TrackType::Video)))
        .min_by_key(|t| t.track_id())
        .ok_or(Error::NoVideoTrack)?;
    let track_id = track.track_id();
    let entry = match track.media_type() {
        Ok(mp4::MediaType::H264) => None,
        Ok(mp4::MediaType::H265) => Some("hev1".to_owned()),
        Ok(mp4::MediaType::VP9) => Some("vp09".to_owned()),
        _ => Some(
            sample_entry(track)
                .or_else(|| sniff_video_entry(path))
                .unwrap_or_else(|| "unknown".into()),
        ),
    };
    if let Some(entry) = entry {
        // Not H.264: FFmpeg's if this build has it.
        #[cfg(feature = "ffmpeg")]
        {
            let _ = entry;
            return super::ffmpeg::decode_video(path, opts, sink);
        }
        #[cfg(not(feature = "ffmpeg"))]
        return Err(Error::VideoNeedsFfmpeg {
            container: "mp4".into(),
            codec: mp4_codec_name(&entry),
        });
    }
    let (w, h) = (usize::from(track.width()), usize::from(track.height()));
    check_dims(w, h)?;
    let timescale = u64::from(track.timescale().max(1));
    if let Some(max) = opts.max_duration_ms {
        let d = track.duration().as_millis() as u64;
        if d > max {
            return Err(Error::Limit(format!("video of {d} ms exceeds {max} ms")));
        }
    }
    let avc1 = track
        .trak
        .mdia
        .minf
        .stbl
        .stsd
        .avc1
        .as_ref()
        .ok_or_else(|| Error::Corrupt("H.264 track without avcC".into()))?;
    let length_size = usize::from(avc1.avcc.length_size_minus_one & 3) + 1;
    let mut headers = Vec::new();
    for nal in avc1
        .avcc
        .sequence_parameter_sets
        .iter()
        .chain(avc1.avcc.picture_parameter_sets.iter())
    {
        headers.extend_from_slice(&[0, 0, 0, 1]);
        headers.extend_from_slice(&nal.bytes);
    }
    // Presentation starts at the first non-empty edit's media time.
    let shift = track
        .trak
        .edts
        .as_ref()
        .and_then(|e| e.elst.as_ref())
        .and_then(|l| {
            l.entries
                .iter()
                .find(|e| e.media_time != u64::from(u32::MAX) && e.media_time != u64::MAX)
        })
        .map_or(0, |e| e.media_time as i64);
    let sample_count = track.sample_count();

    let mut decoder = guarded("starting the H.264 decoder", Decoder::new)?
        .map_err(|e| Error::Corrupt(format!("H.264 decoder: {e}")))?;
    let mut info = VideoInfo::start("mp4", "h264", w as u32, h as u32);
    let mut pending: BinaryHeap<Reverse<i64>> = BinaryHeap::new();
    let mut annexb = Vec::new();
    let mut errors_in_row = 0u64;
    let mut min_frame_ticks = u64::MAX;
    let mut state = Deliver {
        sink,
        info: &mut info,
        pending: &mut pending,
        shift,
        timescale,
        error: None,
    };
    for sid in 1..=sample_count {
        let sample = match guarded("reading an MP4 sample", || mp4.read_sample(track_id, sid)) {
            Ok(Ok(Some(s))) => s,
            Ok(Ok(None)) => break,
            Ok(Err(_)) | Err(_) => {
                state.info.skipped_packets += 1;
                errors_in_row += 1;
                if errors_in_row > MAX_CONSECUTIVE_ERRORS {
                    break;
                }
                continue;
            }
        };
        if sample.duration > 0 {
            min_frame_ticks = min_frame_ticks.min(u64::from(sample.duration));
        }
        annexb.clear();
        if sid == 1 {
            annexb.extend_from_slice(&headers);
        }
        if !avcc_to_annexb(&sample.bytes, length_size, &mut annexb) {
            state.info.skipped_packets += 1;
            errors_in_row += 1;
            if errors_in_row > MAX_CONSECUTIVE_ERRORS {
                break;
            }
            continue;
        }
        state.pending.push(Reverse(
            sample.start_time as i64 + i64::from(sample.rendering_offset),
        ));
        let decoded = guarded("decoding H.264", || {
            match decoder.decode_with_options(
                &annexb,
                H264Options::default().flush_after_decode(Flush::NoFlush),
            ) {
                Ok(Some(yuv)) => {
                    state.deliver(&yuv);
                    true
                }
                Ok(None) => true,
                Err(_) => false,
            }
        })?;
        if decoded {
            errors_in_row = 0;
        } else {
            state.info.skipped_packets += 1;
            errors_in_row += 1;
            if errors_in_row > MAX_CONSECUTIVE_ERRORS {
                break;
            }
        }
        if let Some(e) = state.error.take() {
            return Err(e);
        }
    }
    // The pictures still held for reordering.
    guarded("flushing the H.264 decoder", || {
        if let Ok(rest) = decoder.flush_remaining() {
            for yuv in &rest {
                state.deliver(yuv);
            }
        }
    })?;
    if let Some(e) = state.error.take() {
        return Err(e);
    }
    if info.decoded_frames == 0 {
        return Err(Error::Corrupt("no decodable video frame".into()));
    }
    if min_frame_ticks != u64::MAX {
        info.duration_ms += min_frame_ticks * 1000 / timescale;
    }
    Ok(info)
}

/// Hands decoded pictures to the sink with their presentation times.
struct Deliver<'a> {
    sink: &'a mut dyn FrameSink,
    info: &'a mut VideoInfo,
    pending: &'a mut BinaryHeap<Reverse<i64>>,
    shift: i64,
    timescale: u64,
    error: Option<Error>,
}

impl Deliver<'_> {
    fn deliver(&mut self, yuv: &impl YUVSource) {
        let Some(Reverse(pts)) = self.pending.pop() else {
            return;
        };
        self.info.decoded_frames += 1;
        let ticks = pts - self.shift;
        if ticks < 0 {
            // Before the edit list's start: decoded for reference only.
            return;
        }
        let time_ms = ticks as u64 * 1000 / self.timescale;
        self.info.duration_ms = self.info.duration_ms.max(time_ms);
        if !self.sink.wants(time_ms) {
            self.sink.skipped(time_ms);
            return;
        }
        let (w, h) = yuv.dimensions();
        let (stride, _, _) = yuv.strides();
        match LumaFrame::new(yuv.y(), w, h, stride) {
            Ok(frame) => {
                self.info.read_frames += 1;
                self.sink.frame(&frame, time_ms);
            }
            Err(e) => {
                if self.error.is_none() {
                    self.error = Some(e);
                }
            }
        }
    }
}

/// Appends the NAL units of an AVCC sample (each prefixed by its
/// `length_size`-byte big-endian length) to `out` with Annex B start codes.
/// Returns false when a length runs past the sample.
fn avcc_to_annexb(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> bool {
    let mut rest = sample;
    while !rest.is_empty() {
        if rest.len() < length_size {
            return false;
        }
        let len = rest[..length_size]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        rest = &rest[length_size..];
        if len > rest.len() {
            return false;
        }
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&rest[..len]);
        rest = &rest[len..];
    }
    true
}

/// The four-character code of a track's first sample entry, for naming an
/// unsupported codec. The `mp4` crate keeps only the entries it parses, so
/// the name is recovered from the ones it knows or reported as unknown.
fn sample_entry(track: &mp4::Mp4Track) -> Option<String> {
    let stsd = &track.trak.mdia.minf.stbl.stsd;
    if stsd.hev1.is_some() {
        Some("hev1".into())
    } else if stsd.vp09.is_some() {
        Some("vp09".into())
    } else {
        None
    }
}

/// FFmpeg's name of the codec of an MP4 video sample entry.
#[cfg_attr(feature = "ffmpeg", allow(dead_code))]
fn mp4_codec_name(entry: &str) -> String {
    match entry {
        "hev1" | "hvc1" => "hevc",
        "vp09" => "vp9",
        "vp08" => "vp8",
        "av01" => "av1",
        "mp4v" => "mpeg4",
        "mjp2" => "jpeg2000",
        "jpeg" => "mjpeg",
        "apcn" | "apch" | "apcs" | "apco" | "ap4h" => "prores",
        other => other,
    }
    .into()
}

/// Sample entries of audio and text codecs, skipped when naming a video
/// codec.
const NON_VIDEO_ENTRIES: &[&[u8; 4]] = &[
    b"mp4a", b"Opus", b"ac-3", b"ec-3", b"alac", b"fLaC", b".mp3", b"lpcm", b"sowt", b"twos",
    b"tx3g", b"text", b"wvtt", b"stpp", b"tmcd",
];

/// Finds the first video sample entry's code by reading the `moov` box
/// (at most 64 MiB) and looking at each `stsd`.
fn sniff_video_entry(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut pos = 0u64;
    while pos + 8 <= len {
        f.seek(SeekFrom::Start(pos)).ok()?;
        let mut h = [0u8; 16];
        read_up_to(&mut f, &mut h).ok()?;
        let mut size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
        let mut header = 8;
        if size == 1 {
            size = u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
            header = 16;
        } else if size == 0 {
            size = len - pos;
        }
        if size < header {
            return None;
        }
        if &h[4..8] == b"moov" {
            let body = (size - header).min(64 << 20) as usize;
            f.seek(SeekFrom::Start(pos + header)).ok()?;
            let mut moov = vec![0u8; body];
            let n = read_up_to(&mut f, &mut moov).ok()?;
            let moov = &moov[..n];
            return moov
                .windows(4)
                .enumerate()
                .filter(|(_, w)| *w == b"stsd")
                .filter_map(|(i, _)| moov.get(i + 16..i + 20))
                .find(|code| !NON_VIDEO_ENTRIES.iter().any(|a| &a[..] == *code))
                .map(|code| String::from_utf8_lossy(code).into_owned());
        }
        pos += size;
    }
    None
}

#[cfg_attr(feature = "ffmpeg", allow(dead_code))]
pub(super) mod sniff;

#[cfg(test)]
mod tests;
