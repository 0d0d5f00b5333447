//! Video of every other container and codec, through the system's FFmpeg
//! libraries (`ffmpeg-next` over libavformat, libavcodec and libswscale):
//! WebM/VP9, AV1, HEVC, MPEG-1/2, MPEG-4 Part 2, Theora, AVI, Matroska,
//! MPEG program and transport streams, and MP4/MOV whose video is not
//! H.264. Only built with the cargo feature `ffmpeg`; H.264 in MP4/MOV
//! stays on the embedded OpenH264 path either way.
//!
//! - **Opening**: the path is opened through FFmpeg's `file:` protocol only
//!   (`protocol_whitelist=file`) and only with the demuxers of
//!   [`DEMUXERS`] (`format_whitelist`): no playlist, concat or image-sequence
//!   demuxer can make FFmpeg open other files or URLs named inside an
//!   upload.
//! - **Track**: FFmpeg's best video stream that is not an attached picture
//!   (cover art); none is [`Error::NoVideoTrack`].
//! - **Decoding**: packet by packet with `max_pixels` set to
//!   [`MAX_PIXELS`] (FFmpeg refuses larger pictures before allocating them);
//!   every frame is decoded and the decoder is flushed at the end of the
//!   file, but only the frames the sink [`FrameSink::wants`] are read.
//! - **Luma**: the frame stays in the decoder's pixel format. For planar YUV
//!   and grey formats (`yuv420p`, `yuv422p`, `yuv444p`, `yuvj*`, `nv12`, …)
//!   the Y plane is handed over in place with its stride; 9- to 16-bit
//!   little-endian variants (`yuv420p10le`, `p010le`, …) are shifted down to
//!   8 bits row by row into one reused buffer. Any other format (RGB,
//!   packed YUV, palettes, a plane stored bottom-up) is converted by
//!   swscale to `gray` at the same size: never a resize, never RGB.
//! - **Time**: the frame's `pts`, else its `best_effort_timestamp`, in the
//!   stream's time base, counted from the first decoded frame's (not the
//!   stream's start time, which in AVI with B-frames or MPEG-TS with open
//!   GOPs lies before the first picture shown); frames that come out later
//!   with an earlier time are decoded for reference only. A frame with
//!   neither timestamp follows the previous one by one frame.
//!
//! Errors map as in [`super`]'s table. Packets that fail to demux
//! or decode are skipped and counted; after [`MAX_CONSECUTIVE_ERRORS`] in
//! a row, or a demuxer error that is not bad data (an I/O error FFmpeg
//! latches), the rest is taken to be garbage. A panic in the wrapper is
//! caught ([`guarded`]).
//!
//! FFmpeg's own log is turned down to fatal messages the first time this
//! module runs (it is process-wide): damaged uploads would otherwise fill
//! standard error.

use std::path::Path;
use std::sync::OnceLock;

use avreg_fingerprint::video::luma::{MAX_DIM, MAX_PIXELS};
use avreg_fingerprint::video::LumaFrame;
use ff::codec;
use ff::format::stream::Disposition;
use ff::software::scaling;
use ff::util::format::Pixel;
use ff::util::frame::video::Video as Frame;
use ff::{Dictionary, Packet, Rational};
use ffmpeg_next as ff;

use super::{check_dims, known_container, FrameSink, VideoDecodeOptions, VideoInfo};
use crate::error::{Error, Result};
use crate::guard::guarded;

/// The demuxers FFmpeg may pick (by their FFmpeg names): containers of
/// video, none of which opens other files.
pub const DEMUXERS: &str = "matroska,webm,mov,mp4,avi,mpeg,mpegts,mpegvideo,m4v,\
                            ogg,ivf,obu,flv,asf,h264,hevc,nut,mxf,dv,yuv4mpegpipe";

/// Consecutive packets that fail to demux or decode after which the rest
/// is taken to be garbage.
pub const MAX_CONSECUTIVE_ERRORS: u64 = 64;

/// Frame duration assumed when neither the frames nor the stream tell.
const FALLBACK_FRAME_MS: u64 = 40;

fn init() -> Result<()> {
    static INIT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        ff::init().map_err(|e| e.to_string())?;
        ff::util::log::set_level(ff::util::log::Level::Fatal);
        Ok(())
    })
    .clone()
    .map_err(|e| Error::Corrupt(format!("FFmpeg failed to initialise: {e}")))
}

/// Decodes the video of the file at `path` with FFmpeg into `sink`.
pub(super) fn decode_video(
    path: &Path,
    opts: &VideoDecodeOptions,
    sink: &mut dyn FrameSink,
) -> Result<VideoInfo> {
    guarded("decoding video with FFmpeg", || decode(path, opts, sink))?
}

fn decode(path: &Path, opts: &VideoDecodeOptions, sink: &mut dyn FrameSink) -> Result<VideoInfo> {
    init()?;
    let Some(name) = path.to_str().filter(|p| !p.contains('\0')) else {
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "FFmpeg opens only paths in UTF-8",
            ),
        });
    };
    let mut options = Dictionary::new();
    options.set("protocol_whitelist", "file");
    options.set("format_whitelist", DEMUXERS);
    let mut input = ff::format::input_with_dictionary(&format!("file:{name}"), options)
        .map_err(|e| open_error(path, e))?;
    let container = input.format().name().to_owned();

    let stream = {
        let usable = |s: &ff::format::stream::Stream<'_>| {
            s.parameters().medium() == ff::media::Type::Video
                && !s.disposition().contains(Disposition::ATTACHED_PIC)
        };
        match input.streams().best(ff::media::Type::Video) {
            Some(s) if usable(&s) => s,
            _ => input.streams().find(usable).ok_or(Error::NoVideoTrack)?,
        }
    };
    let index = stream.index();
    let time_base = stream.time_base();
    // Only the stream's own duration declares the picture's length (for
    // the damage check); the container's, the limit check's fallback,
    // counts the sound too.
    let stream_ms = if stream.duration() > 0 {
        ticks_to_ms(i128::from(stream.duration()), time_base)
    } else {
        None
    };
    let declared_ms = if stream_ms.is_some() {
        stream_ms
    } else if input.duration() > 0 {
        Some(input.duration() as u64 / 1000)
    } else {
        None
    };
    let rate = stream.avg_frame_rate();
    let nominal_frame_ms =
        ticks_to_ms(1, Rational::new(rate.denominator(), rate.numerator())).filter(|&ms| ms > 0);
    let parameters = stream.parameters();
    let codec_id = parameters.id();
    let codec_name = codec_id.name().to_owned();

    if let (Some(max), Some(d)) = (opts.max_duration_ms, declared_ms) {
        if d > max {
            return Err(Error::Limit(format!("video of {d} ms exceeds {max} ms")));
        }
    }
    let Some(decoder_codec) = codec::decoder::find(codec_id) else {
        return Err(Error::UnsupportedVideoCodec(codec_name));
    };
    let mut decoder = codec::Context::from_parameters(parameters)
        .map_err(|e| Error::Corrupt(format!("{codec_name} parameters: {e}")))?
        .decoder();
    decoder.set_packet_time_base(time_base);
    let mut decoder_options = Dictionary::new();
    decoder_options.set("max_pixels", &MAX_PIXELS.to_string());
    let mut decoder = decoder
        .open_as_with(decoder_codec, decoder_options)
        .and_then(|d| d.video())
        .map_err(|e| Error::Corrupt(format!("opening the {codec_name} decoder: {e}")))?;
    // Declared dimensions too large are refused before any decoding.
    let (w, h) = (decoder.width() as usize, decoder.height() as usize);
    if w > MAX_DIM || h > MAX_DIM || w * h > MAX_PIXELS {
        check_dims(w, h)?;
    }

    let mut info = VideoInfo::start(&container, &codec_name, w as u32, h as u32);
    info.declared_ms = stream_ms;
    let mut out = Deliver {
        sink,
        info,
        time_base,
        origin: None,
        nominal_frame_ms,
        min_step_ms: None,
        last_ms: None,
        max_ms: opts.max_duration_ms,
        luma: Luma::default(),
    };
    let mut frame = Frame::empty();
    let mut errors_in_row = 0u64;
    loop {
        let mut packet = Packet::empty();
        match packet.read(&mut input) {
            Ok(()) => {}
            Err(ff::Error::Eof) => break,
            Err(ff::Error::InvalidData) => {
                out.info.skipped_packets += 1;
                errors_in_row += 1;
                if errors_in_row > MAX_CONSECUTIVE_ERRORS {
                    break;
                }
                continue;
            }
            // I/O errors are latched: every later read would fail too.
            Err(_) => {
                out.info.skipped_packets += 1;
                break;
            }
        }
        if packet.stream() != index {
            continue;
        }
        let mut sent = decoder.send_packet(&packet);
        if sent
            == Err(ff::Error::Other {
                errno: ff::util::error::EAGAIN,
            })
        {
            // The decoder wants its output read first.
            drain(&mut decoder, &mut frame, &mut out)?;
            sent = decoder.send_packet(&packet);
        }
        match sent {
            Ok(()) => errors_in_row = 0,
            Err(_) => {
                out.info.skipped_packets += 1;
                errors_in_row += 1;
                if errors_in_row > MAX_CONSECUTIVE_ERRORS {
                    break;
                }
            }
        }
        drain(&mut decoder, &mut frame, &mut out)?;
    }
    // The pictures the decoder still holds (reordering, frame threads).
    if decoder.send_eof().is_ok() {
        drain(&mut decoder, &mut frame, &mut out)?;
    }
    let mut info = out.info;
    if info.decoded_frames == 0 {
        return Err(Error::Corrupt("no decodable video frame".into()));
    }
    if let Some(last) = out.last_ms {
        let step = out.min_step_ms.or(out.nominal_frame_ms).unwrap_or(0);
        info.duration_ms = last.saturating_add(step);
    }
    Ok(info)
}

/// Hands every frame the decoder has ready to `out`.
fn drain(decoder: &mut ff::decoder::Video, frame: &mut Frame, out: &mut Deliver<'_>) -> Result<()> {
    loop {
        match decoder.receive_frame(frame) {
            Ok(()) => out.frame(frame)?,
            Err(ff::Error::Eof) => return Ok(()),
            Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => return Ok(()),
            Err(_) => {
                out.info.skipped_packets += 1;
                return Ok(());
            }
        }
    }
}

/// `ticks` of `time_base` in milliseconds (None for a negative count or a
/// meaningless time base).
fn ticks_to_ms(ticks: i128, time_base: Rational) -> Option<u64> {
    let (num, den) = (
        i128::from(time_base.numerator()),
        i128::from(time_base.denominator()),
    );
    if ticks < 0 || num <= 0 || den <= 0 {
        return None;
    }
    u64::try_from(ticks.checked_mul(num)?.checked_mul(1000)? / den).ok()
}

/// The error for a file FFmpeg would not open.
fn open_error(path: &Path, e: ff::Error) -> Error {
    match e {
        ff::Error::Other { errno }
            if [
                ff::util::error::ENOENT,
                ff::util::error::EACCES,
                ff::util::error::EISDIR,
                ff::util::error::EPERM,
            ]
            .contains(&errno) =>
        {
            Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::from_raw_os_error(errno),
            }
        }
        // No demuxer recognised it, or the one that did is not allowed.
        _ if !known_container(path) => Error::UnknownFormat,
        // A known container: demuxers report headers cut short as I/O
        // errors or the end of the file, damaged ones as invalid data.
        e => Error::Corrupt(format!("truncated or damaged headers ({e})")),
    }
}

/// Timestamps and the sink.
struct Deliver<'a> {
    sink: &'a mut dyn FrameSink,
    info: VideoInfo,
    time_base: Rational,
    /// The first frame's presentation time, in ticks.
    origin: Option<i64>,
    nominal_frame_ms: Option<u64>,
    min_step_ms: Option<u64>,
    last_ms: Option<u64>,
    max_ms: Option<u64>,
    luma: Luma,
}

impl Deliver<'_> {
    fn frame(&mut self, frame: &Frame) -> Result<()> {
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        check_dims(w, h)?;
        if self.info.decoded_frames == 0 {
            (self.info.width, self.info.height) = (w as u32, h as u32);
        }
        self.info.decoded_frames += 1;
        let step = self
            .min_step_ms
            .or(self.nominal_frame_ms)
            .unwrap_or(FALLBACK_FRAME_MS);
        let time_ms = match frame.pts().or_else(|| frame.timestamp()) {
            Some(ts) => {
                let origin = *self.origin.get_or_insert(ts);
                let ticks = i128::from(ts) - i128::from(origin);
                if ticks < 0 {
                    // Before the start: decoded for reference only.
                    return Ok(());
                }
                match ticks_to_ms(ticks, self.time_base) {
                    Some(ms) => ms,
                    None => self.last_ms.map_or(0, |l| l.saturating_add(step)),
                }
            }
            None => self.last_ms.map_or(0, |l| l.saturating_add(step)),
        };
        if let Some(max) = self.max_ms {
            if time_ms > max {
                return Err(Error::Limit(format!("video longer than {max} ms")));
            }
        }
        if let Some(last) = self.last_ms {
            if time_ms > last {
                let d = time_ms - last;
                self.min_step_ms = Some(self.min_step_ms.map_or(d, |m| m.min(d)));
            }
        }
        self.last_ms = Some(self.last_ms.map_or(time_ms, |l| l.max(time_ms)));
        if !self.sink.wants(time_ms) {
            self.sink.skipped(time_ms);
            return Ok(());
        }
        let plane = self.luma.extract(frame)?;
        self.info.read_frames += 1;
        self.sink.frame(&plane, time_ms);
        Ok(())
    }
}

/// How the luma of a pixel format is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Plane 0 is 8-bit luma.
    Bytes,
    /// Plane 0 is little-endian 16-bit luma, `shift` bits above 8-bit.
    Le16 { shift: u32 },
    /// Anything else: swscale to `gray`.
    Convert,
}

/// The luma layout of a pixel format, by FFmpeg's name for it.
fn layout(name: &str) -> Layout {
    const BYTES: &[&str] = &[
        "yuv420p", "yuv422p", "yuv444p", "yuv440p", "yuv411p", "yuv410p", "yuvj420p", "yuvj422p",
        "yuvj444p", "yuvj440p", "yuvj411p", "yuva420p", "yuva422p", "yuva444p", "gray", "nv12",
        "nv21", "nv16", "nv24", "nv42",
    ];
    // Planes of 16-bit words holding the sample in their high bits.
    const MSB: &[&str] = &[
        "p010le", "p012le", "p016le", "p210le", "p212le", "p216le", "p410le", "p412le", "p416le",
    ];
    if BYTES.contains(&name) {
        return Layout::Bytes;
    }
    if MSB.contains(&name) {
        return Layout::Le16 { shift: 8 };
    }
    if name == "nv20le" {
        return Layout::Le16 { shift: 2 };
    }
    // yuv420p10le, yuva444p9le, gray12le, …: the depth in the low bits.
    let Some(stem) = name.strip_suffix("le") else {
        return Layout::Convert;
    };
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (family, depth) = stem.split_at(stem.len() - digits);
    let planar = [
        "yuv420p", "yuv422p", "yuv444p", "yuv440p", "yuva420p", "yuva422p", "yuva444p", "gray",
    ];
    match depth.parse::<u32>() {
        Ok(d @ 9..=16) if planar.contains(&family) => Layout::Le16 { shift: d - 8 },
        _ => Layout::Convert,
    }
}

/// Reads luma out of decoded frames, reusing its buffers.
#[derive(Default)]
struct Luma {
    /// 8-bit luma shifted down from a 16-bit plane.
    narrow: Vec<u8>,
    /// The converter to `gray` for the current format and size.
    scaler: Option<(Pixel, u32, u32, scaling::Context)>,
    /// swscale's output.
    gray: Option<Frame>,
}

impl Luma {
    fn extract<'a>(&'a mut self, frame: &'a Frame) -> Result<LumaFrame<'a>> {
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        if frame.planes() == 0 {
            return Err(Error::Corrupt("decoded frame without pixels".into()));
        }
        let format = frame.format();
        let name = format.descriptor().map_or("none", |d| d.name());
        // A negative line size (a plane stored bottom-up) reads as a huge
        // stride: only swscale may walk it.
        let upright = frame.stride(0) <= isize::MAX as usize;
        match (layout(name), upright) {
            (Layout::Bytes, true) => Ok(LumaFrame::new(frame.data(0), w, h, frame.stride(0))?),
            (Layout::Le16 { shift }, true) => {
                let (data, stride) = (frame.data(0), frame.stride(0));
                if stride < 2 * w || data.len() < stride * (h - 1) + 2 * w {
                    return Err(Error::InvalidStream(format!(
                        "{name} plane of {} bytes too small for {w}x{h}",
                        data.len()
                    )));
                }
                self.narrow.clear();
                for y in 0..h {
                    let row = &data[y * stride..y * stride + 2 * w];
                    self.narrow.extend(
                        row.chunks_exact(2)
                            .map(|p| (u16::from_le_bytes([p[0], p[1]]) >> shift).min(255) as u8),
                    );
                }
                Ok(LumaFrame::new(&self.narrow, w, h, w)?)
            }
            _ => {
                let fresh = !matches!(&self.scaler,
                    Some((f, sw, sh, _)) if *f == format && *sw as usize == w && *sh as usize == h);
                if fresh {
                    let ctx = scaling::Context::get(
                        format,
                        w as u32,
                        h as u32,
                        Pixel::GRAY8,
                        w as u32,
                        h as u32,
                        scaling::Flags::POINT,
                    )
                    .map_err(|e| {
                        Error::InvalidStream(format!("pixel format {name} has no luma: {e}"))
                    })?;
                    self.scaler = Some((format, w as u32, h as u32, ctx));
                    self.gray = None;
                }
                let (_, _, _, ctx) = self
                    .scaler
                    .as_mut()
                    .ok_or_else(|| Error::InvalidStream("no converter".into()))?;
                let gray = self.gray.get_or_insert_with(Frame::empty);
                ctx.run(frame, gray)
                    .map_err(|e| Error::InvalidStream(format!("converting {name} to luma: {e}")))?;
                Ok(LumaFrame::new(gray.data(0), w, h, gray.stride(0))?)
            }
        }
    }
}

#[cfg(test)]
mod tests;
