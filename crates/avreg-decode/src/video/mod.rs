//! The video edge: files in, luma planes with presentation times
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
//!   system's FFmpeg libraries (see `video/ffmpeg.rs`). Without it, the
//!   container and, where the head of the file tells it, the codec are
//!   named in [`Error::VideoNeedsFfmpeg`].
//!
//! Each backend is a sibling module (`mp4`, `image`, `folder`, `ffmpeg`,
//! `sniff`); none imports another. They share what this module holds: the
//! sink, the options, [`VideoInfo`], the picture loader and the size check.
//! This module picks the backend from the file's first bytes.
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

#[cfg(feature = "ffmpeg")]
mod ffmpeg;
mod folder;
mod image;
mod mp4;
#[cfg_attr(feature = "ffmpeg", allow(dead_code))]
mod sniff;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use avreg_fingerprint::video::luma::{MAX_DIM, MAX_PIXELS};
use avreg_fingerprint::video::{
    LumaFrame, Role, VideoConfig, VideoFingerprint, VideoFingerprinter,
};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::guard::guarded;

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
    /// Duration the container declares for the track, ms, when it
    /// declares one.
    pub declared_ms: Option<u64>,
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
            declared_ms: None,
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
        return folder::decode_folder(path, opts, sink);
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = [0u8; 16];
    let n = read_up_to(&mut file, &mut head).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let head = &head[..n];
    if n == 0 {
        return Err(Error::Corrupt("empty input".into()));
    }
    if let Some(codec) = image::picture_kind(head) {
        return image::decode_picture(path, codec, sink);
    }
    if is_mp4_head(head) {
        let decoded = mp4::decode(path, file, meta.len(), opts, sink);
        // H.264 is OpenH264's; MP4/MOV with another codec is FFmpeg's when
        // this build has it.
        #[cfg(feature = "ffmpeg")]
        if let Err(Error::VideoNeedsFfmpeg { .. }) = decoded {
            return ffmpeg::decode_video(path, opts, sink);
        }
        return decoded;
    }
    #[cfg(feature = "ffmpeg")]
    {
        drop(file);
        ffmpeg::decode_video(path, opts, sink)
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
fn is_mp4_head(head: &[u8]) -> bool {
    head.len() >= 8
        && matches!(
            &head[4..8],
            b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free" | b"skip"
        )
}

/// Whether the file starts like a container we know (so that FFmpeg's
/// refusal means damage, not an unknown format).
#[cfg(feature = "ffmpeg")]
fn known_container(path: &Path) -> bool {
    let sniff_len = sniff::SNIFF_BYTES;
    let mut head = Vec::with_capacity(sniff_len);
    let read =
        std::fs::File::open(path).and_then(|f| f.take(sniff_len as u64).read_to_end(&mut head));
    if read.is_err() {
        return false;
    }
    is_mp4_head(&head) || sniff::sniff(&head) != sniff::Sniffed::Unknown
}

/// A picture file as BT.601 luma: (width, height, pixels).
pub(super) fn load_picture(path: &Path) -> Result<(usize, usize, Vec<u8>)> {
    let reader = ::image::ImageReader::open(path)
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
        ::image::ImageReader::open(path)
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

#[cfg(test)]
mod tests;
