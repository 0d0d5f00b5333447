//! MP4 / MOV / M4V with H.264: demuxed by the `mp4` crate, converted from
//! AVCC to Annex B, decoded by OpenH264, pictures put back in presentation
//! order. Another codec in these containers is refused with
//! [`Error::VideoNeedsFfmpeg`] (which the parent hands to FFmpeg when the
//! build has it).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use avreg_fingerprint::video::LumaFrame;
use openh264::decoder::{DecodeOptions as H264Options, Decoder, Flush};
use openh264::formats::YUVSource;

use super::{check_dims, read_up_to, FrameSink, VideoDecodeOptions, VideoInfo};
use crate::error::{Error, Result};
use crate::guard::{check_mp4, guarded};

/// Consecutive unreadable or undecodable samples after which the rest is
/// taken to be garbage.
const MAX_CONSECUTIVE_ERRORS: u64 = 64;

pub(super) fn decode(
    path: &Path,
    mut file: std::fs::File,
    size: u64,
    opts: &VideoDecodeOptions,
    sink: &mut dyn FrameSink,
) -> Result<VideoInfo> {
    // The audio edge's guard: every box fits in its parent and no sample
    // table declares more entries than its box holds, checked before the
    // demuxer sizes allocations from those numbers.
    let walked = check_mp4(&mut file, 0).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(problem) = walked {
        return Err(Error::Corrupt(problem));
    }
    let reader = BufReader::new(OnlyVideo::new(file, size).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?);
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
        // Not H.264: FFmpeg's if this build has it (the parent's choice).
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
    info.declared_ms = Some(track.duration().as_millis() as u64).filter(|&d| d > 0);
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
                    self.error = Some(e.into());
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

/// Largest `moov` box read into memory to hide the other tracks (its
/// sample tables: a few MB for hours of video).
const MAX_MOOV_BYTES: u64 = 64 << 20;

/// The file as the `mp4` crate is shown it: every track of the `moov` box
/// that is not video, and the `udta`/`meta` boxes, renamed `free` (same
/// sizes, so every offset in the file stays true). The crate parses every
/// track's sample entry, and refuses the whole file over one it cannot
/// read (a QuickTime version-1 sound description, as phones write in
/// `.mov`); the picture does not need them.
struct OnlyVideo<R> {
    inner: R,
    /// Where the patched `moov` starts in the file, and its bytes.
    at: u64,
    moov: Vec<u8>,
    pos: u64,
}

impl<R: Read + Seek> OnlyVideo<R> {
    /// `inner` with its `moov` patched; unpatched when the file has no
    /// `moov` this walk can find (the crate then reports the problem).
    fn new(mut inner: R, size: u64) -> std::io::Result<Self> {
        // A walk that fails (a truncated box) patches nothing: the crate
        // then meets the damage itself and reports it.
        let moov = Self::find_moov(&mut inner, size).ok().flatten();
        inner.seek(SeekFrom::Start(0))?;
        let (at, moov) = moov.unwrap_or((u64::MAX, Vec::new()));
        Ok(Self {
            inner,
            at,
            moov,
            pos: 0,
        })
    }

    /// Where the `moov` box starts, and its bytes with the other tracks
    /// hidden.
    fn find_moov(inner: &mut R, size: u64) -> std::io::Result<Option<(u64, Vec<u8>)>> {
        let mut at = 0u64;
        while at + 8 <= size {
            inner.seek(SeekFrom::Start(at))?;
            let mut head = [0u8; 16];
            inner.read_exact(&mut head[..8])?;
            let mut len = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
            if len == 1 {
                inner.read_exact(&mut head[8..16])?;
                len = u64::from_be_bytes(head[8..16].try_into().unwrap_or_default());
            } else if len == 0 {
                len = size - at;
            }
            if len < 8 || at + len > size {
                return Ok(None);
            }
            if &head[4..8] == b"moov" {
                if len > MAX_MOOV_BYTES {
                    return Ok(None);
                }
                inner.seek(SeekFrom::Start(at))?;
                let mut moov = vec![0u8; len as usize];
                inner.read_exact(&mut moov)?;
                hide_other_tracks(&mut moov);
                return Ok(Some((at, moov)));
            }
            at += len;
        }
        Ok(None)
    }
}

/// The children of the box whose payload is `body`: `(offset of the
/// header in body, header length, box length, type)`.
fn children(body: &[u8]) -> Vec<(usize, usize, usize, [u8; 4])> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= body.len() {
        let len32 = u32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        let kind = [body[at + 4], body[at + 5], body[at + 6], body[at + 7]];
        let (header, len) = match len32 {
            0 => (8, body.len() - at),
            1 if at + 16 <= body.len() => {
                let l = u64::from_be_bytes(body[at + 8..at + 16].try_into().unwrap_or_default());
                (16, usize::try_from(l).unwrap_or(usize::MAX))
            }
            1 => break,
            l => (8, l as usize),
        };
        if len < header || len > body.len() - at {
            break;
        }
        out.push((at, header, len, kind));
        at += len;
    }
    out
}

/// The handler type (`vide`, `soun`, …) of a `trak` box's payload.
fn handler(trak: &[u8]) -> Option<[u8; 4]> {
    let (at, header, len, _) = children(trak).into_iter().find(|c| &c.3 == b"mdia")?;
    let mdia = &trak[at + header..at + len];
    let (at, header, len, _) = children(mdia).into_iter().find(|c| &c.3 == b"hdlr")?;
    // version and flags (4), pre-defined / component type (4), then the
    // handler (component subtype).
    let hdlr = &mdia[at + header..at + len];
    hdlr.get(8..12).and_then(|h| h.try_into().ok())
}

/// Renames the tracks of `moov` that are not video, and its metadata
/// boxes, to `free`.
fn hide_other_tracks(moov: &mut [u8]) {
    let Some((_, header, len, _)) = children(moov).first().copied() else {
        return;
    };
    let body_start = header;
    let body_end = len.min(moov.len());
    let body = &moov[body_start..body_end];
    let hide: Vec<usize> = children(body)
        .into_iter()
        .filter(|&(at, header, len, kind)| match &kind {
            b"trak" => handler(&body[at + header..at + len]).as_ref() != Some(b"vide"),
            b"udta" | b"meta" => true,
            _ => false,
        })
        .map(|(at, ..)| body_start + at + 4)
        .collect();
    for at in hide {
        moov[at..at + 4].copy_from_slice(b"free");
    }
}

impl<R: Read + Seek> Read for OnlyVideo<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let end = self.at.saturating_add(self.moov.len() as u64);
        let n = if self.pos >= self.at && self.pos < end {
            let from = (self.pos - self.at) as usize;
            let n = buf.len().min(self.moov.len() - from);
            buf[..n].copy_from_slice(&self.moov[from..from + n]);
            n
        } else {
            // Up to the patch, never across it.
            let room = if self.pos < self.at {
                usize::try_from(self.at - self.pos).unwrap_or(usize::MAX)
            } else {
                usize::MAX
            };
            self.inner.seek(SeekFrom::Start(self.pos))?;
            let cap = buf.len().min(room);
            self.inner.read(&mut buf[..cap])?
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for OnlyVideo<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.inner.seek(SeekFrom::End(0))?.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.pos)
    }
}
