//! The decoding edge: media bytes in, interleaved `f32` PCM out.
//!
//! This module owns everything symphonia-specific: container probing, track
//! selection, packet-by-packet decoding and the translation of symphonia's
//! errors into [`Error`] variants a user can act on. It is the only module of
//! the crate that does I/O.
//!
//! Decoding is streamed: each decoded packet is converted and handed to a
//! caller-supplied sink in chunks of at most [`MAX_CHUNK_FRAMES`] frames, so
//! memory stays bounded however long the input is.
//!
//! # Error policy
//!
//! | situation | error |
//! |---|---|
//! | zero-byte input | [`Error::Corrupt`] ("empty input") |
//! | no container recognised | [`Error::UnknownFormat`] |
//! | container without any audio track | [`Error::NoAudioTrack`] |
//! | audio track in a codec we lack (Opus, …) | [`Error::UnsupportedCodec`] naming it |
//! | sample rate or channel count out of range, or changing mid-stream | [`Error::InvalidStream`] |
//! | headers cut short, no decodable audio, or most packets failing | [`Error::Corrupt`] |
//! | declared or decoded duration above `max_duration_ms` | [`Error::Limit`] |
//! | the file cannot be opened or read | [`Error::Io`] |
//! | symphonia panics on malformed data | [`Error::Corrupt`] (caught here) |
//! | an MP4 box or sample table larger than what holds it | [`Error::Corrupt`] (checked before symphonia allocates it) |
//! | a Matroska element or laced frame larger than what holds it | the input ends there, like a truncated one |
//!
//! A few bad packets in the middle are skipped and counted in
//! [`AudioInfo::skipped_packets`]. A truncated file ends like a normal one
//! (symphonia reports the end of the stream either way): whatever decoded is
//! delivered, and the caller decides whether it is long enough.

#[cfg(feature = "ffmpeg")]
mod ffmpeg;
pub mod video;

use std::io::{Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use symphonia::core::audio::{AudioBuffer, AudioBufferRef, Signal};
use symphonia::core::codecs::{self, CodecType, Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::conv::IntoSample;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader, Track};
use symphonia::core::io::{
    MediaSource, MediaSourceStream, MediaSourceStreamOptions, ReadOnlySource,
};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use symphonia::core::sample::Sample;

use crate::audio::{
    AudioConfig, AudioFingerprint, AudioFingerprinter, MAX_CHANNELS, MAX_INPUT_RATE,
};
use crate::error::{Error, Result};

/// Most frames handed to the sink in one call.
pub const MAX_CHUNK_FRAMES: usize = 4096;

/// Lowest sample rate accepted, in Hz (the fingerprinter's floor too).
pub const MIN_SAMPLE_RATE: u32 = 1_000;

/// Demuxer errors in a row after which the rest of the input is taken to be
/// garbage. Bounds the work on hostile input, and guards against a reader
/// that reports the same error without advancing.
const MAX_CONSECUTIVE_READ_ERRORS: u32 = 64;

/// Decoder resets (chained Ogg streams, track list changes) after which the
/// input is taken to be hostile.
const MAX_RESETS: u32 = 1024;

/// How much audio to decode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Refuse media longer than this ([`Error::Limit`]). Checked against the
    /// duration the container declares before anything is decoded (for
    /// compressed audio, whose declared length comes from real headers), and
    /// against the position reached while decoding.
    pub max_duration_ms: Option<u64>,
    /// Skip this much audio from the start. The skipped part is decoded and
    /// discarded, so the cut is sample-exact in every format.
    pub start_ms: u64,
    /// After `start_ms`, deliver at most this much audio and stop decoding.
    pub length_ms: Option<u64>,
}

/// What was decoded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AudioInfo {
    /// Container format (`wav`, `flac`, `ogg`, `mp4`, `matroska`, `webm`,
    /// `mpeg-audio`, `adts`, `aiff`, `caf`).
    pub container: String,
    /// Codec of the decoded track, as symphonia names it (`mp3`, `aac`,
    /// `vorbis`, `flac`, `pcm_s16le`, …).
    pub codec: String,
    /// Sample rate of the decoded audio, in Hz.
    pub sample_rate: u32,
    /// Channels of the decoded audio.
    pub channels: u16,
    /// Duration delivered to the sink, in milliseconds (after `start_ms`
    /// and `length_ms` are applied).
    pub decoded_ms: u64,
    /// Packets that failed to demux or decode and were skipped.
    pub skipped_packets: u64,
}

/// Decodes the first audio track of the file at `path`, streaming
/// interleaved samples in [-1, 1] to `sink` as `(samples, sample_rate,
/// channels)`. Every call carries the same rate and channel count.
pub fn decode_audio_file(
    path: &Path,
    opts: &DecodeOptions,
    sink: &mut dyn FnMut(&[f32], u32, u16),
) -> Result<AudioInfo> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let hint = path.extension().and_then(|e| e.to_str());
    decode_with_origin(Box::new(file), hint, Some(path), opts, &mut |s, r, c| {
        if !s.is_empty() {
            sink(s, r, c);
        }
        Ok(())
    })
}

/// Like [`decode_audio_file`], from any media source (in-memory bytes via
/// `std::io::Cursor`, a network stream via `ReadOnlySource`).
/// `extension_hint` is the file extension the bytes came with, if any.
pub fn decode_audio(
    source: Box<dyn MediaSource>,
    extension_hint: Option<&str>,
    opts: &DecodeOptions,
    sink: &mut dyn FnMut(&[f32], u32, u16),
) -> Result<AudioInfo> {
    decode_with_origin(source, extension_hint, None, opts, &mut |s, r, c| {
        if !s.is_empty() {
            sink(s, r, c);
        }
        Ok(())
    })
}

/// Decodes the file at `path` and fingerprints its audio in one streaming
/// pass.
pub fn fingerprint_audio_file(
    path: &Path,
    config: &AudioConfig,
    opts: &DecodeOptions,
) -> Result<(AudioFingerprint, AudioInfo)> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let hint = path.extension().and_then(|e| e.to_str());
    fingerprint_with_origin(Box::new(file), hint, Some(path), config, opts)
}

/// Like [`fingerprint_audio_file`], from any media source.
pub fn fingerprint_audio(
    source: Box<dyn MediaSource>,
    extension_hint: Option<&str>,
    config: &AudioConfig,
    opts: &DecodeOptions,
) -> Result<(AudioFingerprint, AudioInfo)> {
    fingerprint_with_origin(source, extension_hint, None, config, opts)
}

fn fingerprint_with_origin(
    source: Box<dyn MediaSource>,
    hint: Option<&str>,
    origin: Option<&Path>,
    config: &AudioConfig,
    opts: &DecodeOptions,
) -> Result<(AudioFingerprint, AudioInfo)> {
    let mut fingerprinter: Option<AudioFingerprinter> = None;
    let info = decode_with_origin(
        source,
        hint,
        origin,
        opts,
        &mut |samples, rate, channels| {
            let fp = match &mut fingerprinter {
                Some(fp) => fp,
                None => {
                    fingerprinter.insert(AudioFingerprinter::new(config.clone(), rate, channels)?)
                }
            };
            fp.consume(samples);
            Ok(())
        },
    )?;
    let fingerprinter = match fingerprinter {
        Some(fp) => fp,
        // The decoder always announces the format before returning Ok.
        None => AudioFingerprinter::new(config.clone(), info.sample_rate, info.channels)?,
    };
    Ok((fingerprinter.finish(), info))
}

/// The internal sink: called once with an empty slice as soon as the stream
/// format is known, then with every chunk; an error stops decoding.
type InnerSink<'a> = dyn FnMut(&[f32], u32, u16) -> Result<()> + 'a;

fn decode_with_origin(
    source: Box<dyn MediaSource>,
    hint: Option<&str>,
    origin: Option<&Path>,
    opts: &DecodeOptions,
    sink: &mut InnerSink<'_>,
) -> Result<AudioInfo> {
    let io_error = |source: std::io::Error| Error::Io {
        path: origin.map_or_else(|| PathBuf::from("<stream>"), Path::to_path_buf),
        source,
    };
    let (head, start_pos, source) = sniff(source).map_err(io_error)?;
    if head.is_empty() {
        return Err(Error::Corrupt("empty input (0 bytes)".into()));
    }
    let sniffed = sniff_container(&head);

    let mut probe_hint = Hint::new();
    if let Some(ext) = hint {
        probe_hint.with_extension(ext);
    }
    let shared = Arc::new(Mutex::new(source));
    // symphonia 0.5 sizes allocations from lengths in Matroska and MP4
    // headers: check those first (see `guard_matroska` and `check_mp4`).
    let seekable = is_seekable(&shared);
    let guard = if matches!(sniffed, Some("matroska" | "webm")) && seekable {
        guard_matroska(&mut **lock(&shared), start_pos).map_err(io_error)?
    } else {
        MatroskaGuard::default()
    };
    let mp4_starts = match sniffed {
        Some("mp4") => vec![start_pos],
        // symphonia's probe looks up to 1 MiB past tags and junk for a
        // format marker ("ftyp" for MP4).
        None | Some("id3" | "adts" | "mpeg-audio") if seekable => {
            let found = find_ahead(&mut **lock(&shared), start_pos, b"ftyp").map_err(io_error)?;
            found
                .into_iter()
                .filter_map(|at| at.checked_sub(4))
                .collect()
        }
        _ => Vec::new(),
    };
    for at in mp4_starts.into_iter().filter(|_| seekable) {
        if let Some(problem) = check_mp4(&mut **lock(&shared), at).map_err(io_error)? {
            return Err(Error::Corrupt(problem));
        }
    }
    // symphonia reports some malformed data as I/O errors too (its bit
    // readers running off the end of a header: "unexpected end of
    // bitstream"). Only a failure of the caller's source is an I/O error.
    let source_failed = Arc::new(AtomicBool::new(false));
    let stream_error = |e: std::io::Error, during: &str| {
        if source_failed.load(Ordering::Relaxed) {
            io_error(e)
        } else {
            Error::Corrupt(format!("{during}: {e}"))
        }
    };
    let probe = |seekable: bool| {
        let source = SharedSource {
            inner: Arc::clone(&shared),
            seekable,
            failed: Arc::clone(&source_failed),
            end: guard.end,
        };
        let mss = MediaSourceStream::new(Box::new(source), MediaSourceStreamOptions::default());
        probe_format(mss, &probe_hint, sniffed, &stream_error)
    };
    let reader = match probe(guard.follow_seek_head) {
        Ok(reader) => reader,
        // symphonia's Matroska reader follows the SeekHead to the Cues and
        // Tags at the end of the file, and fails (or panics) when a
        // truncated file lacks them. Presented as a stream, it reads the
        // clusters in order instead, so a cut download still decodes.
        Err(first)
            if matches!(sniffed, Some("matroska" | "webm"))
                && guard.follow_seek_head
                && is_seekable(&shared) =>
        {
            lock(&shared)
                .seek(SeekFrom::Start(start_pos))
                .map_err(io_error)?;
            probe(false).map_err(|_| first)?
        }
        Err(e) => return Err(e),
    };

    let mut session = Session {
        reader,
        sniffed,
        opts,
        sink,
        io_error: &stream_error,
        decoder: None,
        track_id: 0,
        codec: CODEC_TYPE_NULL,
        format: None,
        frames_decoded: 0,
        frames_emitted: 0,
        good_packets: 0,
        skipped_packets: 0,
        last_skip: None,
        resets: 0,
        pcm: Vec::new(),
    };
    session.select_track()?;
    session.run()?;
    session.finish()
}

/// Decoding state for one input.
struct Session<'a, 'b> {
    reader: Box<dyn FormatReader>,
    sniffed: Option<&'static str>,
    opts: &'a DecodeOptions,
    sink: &'a mut InnerSink<'b>,
    io_error: &'a StreamError<'a>,
    decoder: Option<Box<dyn Decoder>>,
    track_id: u32,
    codec: CodecType,
    /// `(sample_rate, channels)` of the first decoded buffer.
    format: Option<(u32, u16)>,
    /// Frames decoded from the start of the track.
    frames_decoded: u64,
    /// Frames handed to the sink.
    frames_emitted: u64,
    good_packets: u64,
    skipped_packets: u64,
    last_skip: Option<String>,
    resets: u32,
    /// Reused conversion buffer, one packet long.
    pcm: Vec<f32>,
}

impl Session<'_, '_> {
    /// Picks the first audio track symphonia can decode and builds its
    /// decoder.
    fn select_track(&mut self) -> Result<()> {
        let registry = symphonia::default::get_codecs();
        let tracks = self.reader.tracks();
        // Video and subtitle tracks carry CODEC_TYPE_NULL in symphonia 0.5,
        // which only knows audio codecs.
        let audio: Vec<&Track> = tracks
            .iter()
            .filter(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .collect();
        let track = match audio
            .iter()
            .find(|t| registry.get_codec(t.codec_params.codec).is_some())
        {
            Some(t) => *t,
            None => {
                return Err(match audio.first() {
                    Some(t) => Error::UnsupportedCodec(codec_name(t.codec_params.codec)),
                    None => Error::NoAudioTrack,
                });
            }
        };
        let params = track.codec_params.clone();
        let track_id = track.id;
        if let Some(rate) = params.sample_rate {
            check_rate(rate)?;
        }
        if let Some(ch) = params.channels {
            check_channels(ch.count())?;
        }
        if let (Some(max_ms), Some(n_frames), Some(rate)) = (
            self.opts.max_duration_ms,
            params.n_frames,
            params.sample_rate,
        ) {
            // In WAV and AIFF the declared length is derived from the data
            // chunk size, which streaming writers set to 0xFFFFFFFF; decoding
            // PCM is nearly free, so let the running check refuse those.
            let sized_by_chunk = matches!(self.sniffed, Some("wav" | "aiff"));
            if !sized_by_chunk && frames_to_ms(n_frames, rate) > max_ms {
                return Err(limit(frames_to_ms(n_frames, rate), max_ms, "declares"));
            }
        }
        let made = guarded("creating the decoder", || {
            registry.make(&params, &DecoderOptions { verify: false })
        })?;
        let decoder = match made {
            Ok(d) => d,
            Err(SymError::Unsupported(what)) => {
                return Err(Error::UnsupportedCodec(format!(
                    "{} ({what})",
                    codec_name(params.codec)
                )));
            }
            Err(e) => return Err(map_error(e, "reading the codec parameters", self.io_error)),
        };
        self.decoder = Some(decoder);
        self.track_id = track_id;
        self.codec = params.codec;
        Ok(())
    }

    /// Decodes until the end of the stream or of the requested window.
    fn run(&mut self) -> Result<()> {
        let mut consecutive_read_errors = 0u32;
        loop {
            if self.window_done() {
                return Ok(());
            }
            let next = match guarded("reading a packet", || self.reader.next_packet()) {
                Ok(next) => next,
                Err(panicked) => return self.stop_after_panic(panicked),
            };
            let packet = match next {
                Ok(p) => {
                    consecutive_read_errors = 0;
                    p
                }
                // The normal end of the stream, and also how a truncated
                // file ends: deliver what decoded.
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(());
                }
                Err(SymError::ResetRequired) => {
                    self.reset()?;
                    self.select_track()?;
                    continue;
                }
                Err(SymError::DecodeError(msg)) => {
                    self.skip(format!("malformed container data: {msg}"));
                    consecutive_read_errors += 1;
                    if consecutive_read_errors >= MAX_CONSECUTIVE_READ_ERRORS {
                        // The rest is garbage; keep what decoded so far.
                        return Ok(());
                    }
                    continue;
                }
                Err(e) => return Err(map_error(e, "reading a packet", self.io_error)),
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let Some(decoder) = self.decoder.as_mut() else {
                return Err(Error::Corrupt("no decoder for the audio track".into()));
            };
            let decoded = match guarded("decoding a packet", || {
                decoder
                    .decode(&packet)
                    .map(|buf| interleave(buf, &mut self.pcm))
            }) {
                Ok(decoded) => decoded,
                Err(panicked) => return self.stop_after_panic(panicked),
            };
            match decoded {
                Ok((rate, channels)) => {
                    self.good_packets += 1;
                    self.deliver(rate, channels)?;
                }
                Err(SymError::DecodeError(msg)) => self.skip(format!("malformed audio: {msg}")),
                // Decoders read packets with the same bit readers as files:
                // running off the end of a packet means a damaged packet.
                Err(SymError::IoError(e)) => self.skip(format!("damaged packet: {e}")),
                Err(SymError::ResetRequired) => {
                    self.reset()?;
                    self.select_track()?;
                }
                Err(SymError::Unsupported(what)) if self.good_packets == 0 => {
                    return Err(Error::UnsupportedCodec(format!(
                        "{} ({what})",
                        codec_name(self.codec)
                    )));
                }
                Err(SymError::Unsupported(what)) => {
                    self.skip(format!("unsupported feature: {what}"))
                }
                Err(e) => return Err(map_error(e, "decoding", self.io_error)),
            }
        }
    }

    /// After symphonia panicked mid-stream, the reader and decoder are not
    /// used again. If audio decoded before, the panic marks the end of the
    /// usable part, like a truncation; otherwise it is the error.
    fn stop_after_panic(&mut self, panicked: Error) -> Result<()> {
        if self.frames_decoded == 0 {
            return Err(panicked);
        }
        self.skip(panicked.to_string());
        Ok(())
    }

    fn reset(&mut self) -> Result<()> {
        self.resets += 1;
        if self.resets > MAX_RESETS {
            return Err(Error::Corrupt(format!(
                "more than {MAX_RESETS} decoder resets"
            )));
        }
        Ok(())
    }

    fn skip(&mut self, why: String) {
        self.skipped_packets += 1;
        self.last_skip = Some(why);
    }

    /// Whether the requested window has been delivered in full.
    fn window_done(&self) -> bool {
        match (self.format, self.opts.length_ms) {
            (Some((rate, _)), Some(len)) => {
                let end = ms_to_frames(self.opts.start_ms.saturating_add(len), rate);
                self.frames_decoded >= end
            }
            _ => false,
        }
    }

    /// Hands the packet just converted into `self.pcm` to the sink,
    /// restricted to the requested window, in bounded chunks.
    fn deliver(&mut self, rate: u32, channels: u16) -> Result<()> {
        check_rate(rate)?;
        check_channels(usize::from(channels))?;
        match self.format {
            None => {
                self.format = Some((rate, channels));
                (self.sink)(&[], rate, channels)?;
            }
            Some((r, c)) if (r, c) != (rate, channels) => {
                return Err(Error::InvalidStream(format!(
                    "the format changes mid-stream, from {r} Hz × {c} channels \
                     to {rate} Hz × {channels} channels"
                )));
            }
            Some(_) => {}
        }
        let ch = usize::from(channels);
        let frames = (self.pcm.len() / ch) as u64;
        let first = self.frames_decoded;
        self.frames_decoded += frames;
        if let Some(max_ms) = self.opts.max_duration_ms {
            let reached = frames_to_ms(self.frames_decoded, rate);
            if reached > max_ms {
                return Err(limit(reached, max_ms, "is longer than"));
            }
        }
        let start = ms_to_frames(self.opts.start_ms, rate);
        let end = match self.opts.length_ms {
            Some(len) => ms_to_frames(self.opts.start_ms.saturating_add(len), rate),
            None => u64::MAX,
        };
        // The part of [first, first + frames) inside [start, end).
        let from = start.clamp(first, self.frames_decoded) - first;
        let to = end.clamp(first, self.frames_decoded) - first;
        if to <= from {
            return Ok(());
        }
        let (from, to) = (from as usize * ch, to as usize * ch);
        for chunk in self.pcm[from..to].chunks(MAX_CHUNK_FRAMES * ch) {
            (self.sink)(chunk, rate, channels)?;
        }
        self.frames_emitted += ((to - from) / ch) as u64;
        Ok(())
    }

    fn finish(self) -> Result<AudioInfo> {
        let why = || {
            self.last_skip
                .as_deref()
                .map(|w| format!(" (last error: {w})"))
                .unwrap_or_default()
        };
        let Some((sample_rate, channels)) = self.format.filter(|_| self.frames_decoded > 0) else {
            if self.skipped_packets > 0 && self.sniffed.is_none() {
                // Probing found a marker somewhere in bytes that do not start
                // like any container, and nothing decoded: not media.
                return Err(Error::UnknownFormat);
            }
            return Err(Error::Corrupt(format!(
                "no decodable audio: the input is empty or truncated, \
                 {} packet(s) failed{}",
                self.skipped_packets,
                why()
            )));
        };
        if self.skipped_packets >= 3 && self.skipped_packets > self.good_packets {
            return Err(Error::Corrupt(format!(
                "{} of {} audio packets failed to decode{}",
                self.skipped_packets,
                self.skipped_packets + self.good_packets,
                why()
            )));
        }
        Ok(AudioInfo {
            container: container_name(self.sniffed, self.codec).to_owned(),
            codec: codec_name(self.codec),
            sample_rate,
            channels,
            decoded_ms: frames_to_ms(self.frames_emitted, sample_rate),
            skipped_packets: self.skipped_packets,
        })
    }
}

/// Runs a symphonia call, turning a panic into [`Error::Corrupt`].
///
/// symphonia 0.5 panics on some malformed inputs (index and arithmetic
/// overflow in demuxers and decoders). This is the crate's boundary with
/// untrusted bytes, so a panic there must become an error, never reach the
/// user. The state touched by the closure (reader, decoder) is dropped
/// without further use once an error is returned. The panic message still
/// goes through the process's panic hook (stderr by default).
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Error::Corrupt(format!("{PANIC_MARKER} while {what}: {msg}"))
    })
}

/// Start of the message of a [`Error::Corrupt`] that comes from a caught
/// decoder panic (the fuzz target looks for it).
pub const PANIC_MARKER: &str = "decoder panicked on malformed data";

/// Maps a non-EOF `IoError` out of symphonia, given what was being done:
/// [`Error::Io`] if the caller's source failed, else [`Error::Corrupt`].
type StreamError<'a> = dyn Fn(std::io::Error, &str) -> Error + 'a;

/// Maps the symphonia errors not handled in place.
fn map_error(e: SymError, during: &str, io_error: &StreamError<'_>) -> Error {
    match e {
        SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Corrupt(format!("truncated while {during}"))
        }
        SymError::IoError(e) => io_error(e, during),
        SymError::DecodeError(msg) => Error::Corrupt(format!("{during}: {msg}")),
        SymError::SeekError(kind) => Error::Corrupt(format!("{during}: seek error {kind:?}")),
        SymError::Unsupported(what) => Error::Corrupt(format!("{during}: unsupported {what}")),
        SymError::LimitError(what) => Error::Limit(format!("{during}: {what}")),
        SymError::ResetRequired => Error::Corrupt(format!("{during}: unexpected reset")),
    }
}

fn limit(got_ms: u64, max_ms: u64, verb: &str) -> Error {
    Error::Limit(format!(
        "the audio {verb} {}, more than the {} accepted",
        fmt_duration(got_ms),
        fmt_duration(max_ms)
    ))
}

fn fmt_duration(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "{}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ms % 1000
    )
}

fn check_rate(rate: u32) -> Result<()> {
    if (MIN_SAMPLE_RATE..=MAX_INPUT_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(Error::InvalidStream(format!("sample rate {rate} Hz")))
    }
}

fn check_channels(channels: usize) -> Result<()> {
    if (1..=usize::from(MAX_CHANNELS)).contains(&channels) {
        Ok(())
    } else {
        Err(Error::InvalidStream(format!("{channels} channels")))
    }
}

fn frames_to_ms(frames: u64, rate: u32) -> u64 {
    let ms = u128::from(frames) * 1000 / u128::from(rate.max(1));
    u64::try_from(ms).unwrap_or(u64::MAX)
}

fn ms_to_frames(ms: u64, rate: u32) -> u64 {
    let frames = u128::from(ms) * u128::from(rate) / 1000;
    u64::try_from(frames).unwrap_or(u64::MAX)
}

/// Converts a decoded buffer to interleaved `f32` in `out`; returns its
/// `(sample_rate, channels)`.
fn interleave(buf: AudioBufferRef<'_>, out: &mut Vec<f32>) -> (u32, u16) {
    match buf {
        AudioBufferRef::U8(b) => interleave_typed(&b, out),
        AudioBufferRef::U16(b) => interleave_typed(&b, out),
        AudioBufferRef::U24(b) => interleave_typed(&b, out),
        AudioBufferRef::U32(b) => interleave_typed(&b, out),
        AudioBufferRef::S8(b) => interleave_typed(&b, out),
        AudioBufferRef::S16(b) => interleave_typed(&b, out),
        AudioBufferRef::S24(b) => interleave_typed(&b, out),
        AudioBufferRef::S32(b) => interleave_typed(&b, out),
        AudioBufferRef::F32(b) => interleave_typed(&b, out),
        AudioBufferRef::F64(b) => interleave_typed(&b, out),
    }
}

fn interleave_typed<S: Sample + IntoSample<f32>>(
    buf: &AudioBuffer<S>,
    out: &mut Vec<f32>,
) -> (u32, u16) {
    let spec = buf.spec();
    let planes = buf.planes();
    let planes = planes.planes();
    let frames = buf.frames();
    out.clear();
    // More channels than the range check admits are reported by
    // `deliver`; converting them first would only cost memory.
    if (1..=usize::from(MAX_CHANNELS)).contains(&planes.len()) {
        out.reserve(frames * planes.len());
        for i in 0..frames {
            out.extend(planes.iter().map(|p| p[i].into_sample()));
        }
    }
    let channels = u16::try_from(planes.len()).unwrap_or(u16::MAX);
    (spec.rate, channels)
}

/// Reads the first bytes of `source` for format sniffing and returns them
/// with a source positioned at the same place as before.
/// Reads the first bytes of `source` for format sniffing and returns them,
/// the position they start at, and a source positioned there again.
#[allow(clippy::type_complexity)]
fn sniff(
    mut source: Box<dyn MediaSource>,
) -> std::io::Result<(Vec<u8>, u64, Box<dyn MediaSource>)> {
    const HEAD: usize = 64;
    let mut head = Vec::with_capacity(HEAD);
    if source.is_seekable() {
        let pos = source.stream_position()?;
        (&mut source).take(HEAD as u64).read_to_end(&mut head)?;
        source.seek(SeekFrom::Start(pos))?;
        Ok((head, pos, source))
    } else {
        (&mut source).take(HEAD as u64).read_to_end(&mut head)?;
        let replay = std::io::Cursor::new(head.clone()).chain(source);
        Ok((head, 0, Box::new(ReadOnlySource::new(replay))))
    }
}

/// The caller's source behind a lock, so that a failed probe can rewind it
/// and try again, optionally presenting it as not seekable.
struct SharedSource {
    inner: Arc<Mutex<Box<dyn MediaSource>>>,
    seekable: bool,
    /// Set once a read or seek of the caller's source fails.
    failed: Arc<AtomicBool>,
    /// Where the input appears to end, if before its real end (see
    /// [`MatroskaGuard::end`]).
    end: Option<u64>,
}

impl SharedSource {
    fn note<T>(&self, r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r {
            if e.kind() != std::io::ErrorKind::Interrupted {
                self.failed.store(true, Ordering::Relaxed);
            }
        }
        r
    }
}

/// Locks the shared source. A panic inside symphonia never happens while
/// the lock is held (it is held only inside `read` and `seek` of the
/// caller's source), and the source holds no invariant a panic could break,
/// so a poisoned lock is still usable.
fn lock(source: &Mutex<Box<dyn MediaSource>>) -> std::sync::MutexGuard<'_, Box<dyn MediaSource>> {
    source
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn is_seekable(source: &Mutex<Box<dyn MediaSource>>) -> bool {
    lock(source).is_seekable()
}

impl Read for SharedSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut source = lock(&self.inner);
        let r = match self.end {
            None => source.read(buf),
            Some(end) => source.stream_position().and_then(|pos| {
                let room = usize::try_from(end.saturating_sub(pos)).unwrap_or(usize::MAX);
                let n = buf.len().min(room);
                source.read(&mut buf[..n])
            }),
        };
        drop(source);
        self.note(r)
    }
}

impl Seek for SharedSource {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let r = lock(&self.inner).seek(pos);
        self.note(r)
    }
}

impl MediaSource for SharedSource {
    fn is_seekable(&self) -> bool {
        self.seekable && lock(&self.inner).is_seekable()
    }

    fn byte_len(&self) -> Option<u64> {
        let len = lock(&self.inner).byte_len()?;
        Some(self.end.map_or(len, |end| len.min(end)))
    }
}

/// Probes the container and instantiates its reader.
fn probe_format(
    mss: MediaSourceStream,
    hint: &Hint,
    sniffed: Option<&'static str>,
    io_error: &StreamError<'_>,
) -> Result<Box<dyn FormatReader>> {
    let format_opts = FormatOptions {
        // Lets the MP3 decoder drop encoder delay and padding, so durations
        // and offsets match the original signal.
        enable_gapless: true,
        ..FormatOptions::default()
    };
    let probed = guarded("probing the container", || {
        symphonia::default::get_probe().format(hint, mss, &format_opts, &MetadataOptions::default())
    })?;
    match probed {
        Ok(p) => Ok(p.format),
        Err(SymError::Unsupported(_)) => Err(Error::UnknownFormat),
        Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(match sniffed {
                Some("id3") => Error::Corrupt("truncated inside the ID3 tag".into()),
                Some(c) => Error::Corrupt(format!("{c} headers cut short")),
                None => Error::UnknownFormat,
            })
        }
        Err(e) => Err(map_error(e, "reading the container headers", io_error)),
    }
}

/// The container the first bytes announce, if they announce one.
fn sniff_container(head: &[u8]) -> Option<&'static str> {
    let at = |i: usize, m: &[u8]| head.get(i..i + m.len()) == Some(m);
    if at(0, b"RIFF") && (at(8, b"WAVE") || head.len() < 12) {
        Some("wav")
    } else if at(0, b"fLaC") {
        Some("flac")
    } else if at(0, b"OggS") {
        Some("ogg")
    } else if at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
        Some(if head.windows(4).any(|w| w == b"webm") {
            "webm"
        } else {
            "matroska"
        })
    } else if [&b"ftyp"[..], b"moov", b"mdat", b"free", b"wide"]
        .iter()
        .any(|m| at(4, m))
    {
        Some("mp4")
    } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        Some("aiff")
    } else if at(0, b"caff") {
        Some("caf")
    } else if at(0, b"ID3") {
        // A tag, not a container: the codec tells what follows.
        Some("id3")
    } else if head.len() >= 2 && head[0] == 0xff && head[1] & 0xf6 == 0xf0 {
        Some("adts")
    } else if head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0 {
        Some("mpeg-audio")
    } else {
        None
    }
}

fn container_name(sniffed: Option<&'static str>, codec: CodecType) -> &'static str {
    match sniffed {
        Some("id3") | None => match codec {
            codecs::CODEC_TYPE_MP1 | codecs::CODEC_TYPE_MP2 | codecs::CODEC_TYPE_MP3 => {
                "mpeg-audio"
            }
            codecs::CODEC_TYPE_AAC => "adts",
            codecs::CODEC_TYPE_FLAC => "flac",
            _ => "unknown",
        },
        Some(c) => c,
    }
}

/// A codec's short name: symphonia's for the codecs it decodes, ours for the
/// ones it only recognises.
fn codec_name(codec: CodecType) -> String {
    if let Some(d) = symphonia::default::get_codecs().get_codec(codec) {
        return d.short_name.to_owned();
    }
    let name = match codec {
        codecs::CODEC_TYPE_OPUS => "opus",
        codecs::CODEC_TYPE_SPEEX => "speex",
        codecs::CODEC_TYPE_MUSEPACK => "musepack",
        codecs::CODEC_TYPE_ATRAC1 => "atrac1",
        codecs::CODEC_TYPE_ATRAC3 => "atrac3",
        codecs::CODEC_TYPE_ATRAC3PLUS => "atrac3plus",
        codecs::CODEC_TYPE_ATRAC9 => "atrac9",
        codecs::CODEC_TYPE_EAC3 => "eac3",
        codecs::CODEC_TYPE_AC4 => "ac4",
        codecs::CODEC_TYPE_DCA => "dts",
        codecs::CODEC_TYPE_WMA => "wma",
        codecs::CODEC_TYPE_WAVPACK => "wavpack",
        codecs::CODEC_TYPE_MONKEYS_AUDIO => "ape",
        codecs::CODEC_TYPE_TTA => "tta",
        codecs::CODEC_TYPE_ADPCM_G722 => "adpcm_g722",
        codecs::CODEC_TYPE_ADPCM_G726 | codecs::CODEC_TYPE_ADPCM_G726LE => "adpcm_g726",
        _ => return format!("codec {codec}"),
    };
    name.to_owned()
}

/// What [`guard_matroska`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MatroskaGuard {
    /// Where the input must appear to end: at the first element (or block
    /// of laced frames) that declares more bytes than the input or its
    /// parent holds, or whose header symphonia could only get past by
    /// scanning for something that looks like an element.
    end: Option<u64>,
    /// Whether the SeekHead points at the elements it names. If not, the
    /// input is presented as a stream, which symphonia reads in order.
    follow_seek_head: bool,
}

impl Default for MatroskaGuard {
    fn default() -> Self {
        Self {
            end: None,
            follow_seek_head: true,
        }
    }
}

/// The master elements of symphonia-format-mkv 0.5.5 (`element_ids.rs`): it
/// descends into these, and reads any other known element whole.
const MKV_MASTERS: [u32; 30] = [
    0x1A45_DFA3, // EBML
    0x1853_8067, // Segment
    0x114D_9B74, // SeekHead
    0x4DBB,      // Seek
    0x1549_A966, // Info
    0x1F43_B675, // Cluster
    0xA0,        // BlockGroup
    0x75A1,      // BlockAdditions
    0xA6,        // BlockMore
    0x1654_AE6B, // Tracks
    0xAE,        // TrackEntry
    0xE0,        // Video
    0xE1,        // Audio
    0x6D80,      // ContentEncodings
    0x6240,      // ContentEncoding
    0x5035,      // ContentEncryption
    0x47E7,      // ContentEncAesSettings
    0x55B0,      // Colour
    0x55D0,      // MasteringMetadata
    0x1C53_BB6B, // Cues
    0xBB,        // CuePoint
    0xB7,        // CueTrackPositions
    0x1043_A770, // Chapters
    0x45B9,      // EditionEntry
    0xB6,        // ChapterAtom
    0x80,        // ChapterDisplay
    0x1254_C367, // Tags
    0x7373,      // Tag
    0x63C0,      // Targets
    0x67C8,      // SimpleTag
];
const MKV_SEGMENT: u32 = 0x1853_8067;
const MKV_SEEK: u32 = 0x4DBB;
const MKV_SEEK_ID: u32 = 0x53AB;
const MKV_SEEK_POSITION: u32 = 0x53AC;
const MKV_SIMPLE_BLOCK: u32 = 0xA3;
const MKV_BLOCK: u32 = 0xA1;
/// What symphonia reads where the SeekHead says: Tracks, Info, Tags, Cues.
const MKV_SOUGHT: [u32; 4] = [0x1654_AE6B, 0x1549_A966, 0x1254_C367, 0x1C53_BB6B];
/// Far deeper than Matroska's or MP4's trees go; bounds the walks' stacks.
const MAX_NESTING: usize = 16;
/// Most bytes of a block read to check its lacing.
const MKV_LACING_HEAD: u64 = 64 * 1024;

/// Walks a Matroska input's element tree the way symphonia 0.5 reads it,
/// without reading element data, and says how to present the input so
/// that symphonia never sees a length it should not trust.
///
/// symphonia-format-mkv 0.5 allocates what an element or a laced frame
/// declares before reading it (`vec![0; len]`), so three corrupt bytes can
/// request terabytes, and an allocation failure aborts the process: unlike
/// a panic, [`guarded`] cannot catch it. It also follows the SeekHead to
/// any offset, and after an unreadable element header scans the data for
/// anything that looks like one. Cutting the input before the first such
/// place makes it end there like a truncated file. symphonia 0.6 reads
/// declared lengths incrementally; this guard can go with the upgrade.
fn guard_matroska(source: &mut dyn MediaSource, start: u64) -> std::io::Result<MatroskaGuard> {
    // A closure, not the function: it must be generic over the reader's
    // borrow, which a generic fn item instantiated once is not.
    #[allow(clippy::redundant_closure)]
    walk_headers(source, start, |r, len| walk_matroska(r, len))
}

/// Runs `walk` over the source from `start` (with the source's length),
/// then puts the source back where it was.
fn walk_headers<S: Read + Seek + ?Sized, T>(
    source: &mut S,
    start: u64,
    walk: impl FnOnce(&mut EbmlReader<&mut S>, u64) -> std::io::Result<T>,
) -> std::io::Result<T> {
    let entry = source.stream_position()?;
    let len = source.seek(SeekFrom::End(0))?;
    source.seek(SeekFrom::Start(start))?;
    let mut reader = EbmlReader {
        inner: std::io::BufReader::new(&mut *source),
        pos: start,
    };
    let walked = walk(&mut reader, len);
    drop(reader);
    source.seek(SeekFrom::Start(entry))?;
    walked
}

fn walk_matroska<R: Read + Seek>(
    r: &mut EbmlReader<R>,
    len: u64,
) -> std::io::Result<MatroskaGuard> {
    // The open masters: (id, data start, end).
    let mut parents: Vec<(u32, u64, u64)> = Vec::new();
    // Data start of the first Segment, and (id, position) of its children.
    let mut segment: Option<u64> = None;
    let mut children: Vec<(u32, u64)> = Vec::new();
    // (SeekID, SeekPosition) of each Seek.
    let mut seeks: Vec<(Option<u64>, Option<u64>)> = Vec::new();
    let mut end = None;
    loop {
        while parents.last().is_some_and(|p| r.pos >= p.2) {
            parents.pop();
        }
        if r.pos >= len {
            break;
        }
        let at = r.pos;
        let parent_end = parents.last().map_or(u64::MAX, |p| p.2);
        let Some((id, size)) = r.element_header()? else {
            end = Some(at);
            break;
        };
        let master = MKV_MASTERS.contains(&id);
        let data = r.pos;
        let element_end = match size {
            Some(size) => data.checked_add(size),
            // Unknown size: up to the parent's end, for masters only.
            None if master => Some(parent_end),
            None => None,
        };
        let Some(element_end) =
            element_end.filter(|&e| e <= parent_end && parents.len() < MAX_NESTING)
        else {
            end = Some(at);
            break;
        };
        if master {
            if parents.len() == 1 && segment == Some(parents[0].1) {
                children.push((id, at));
            }
            if id == MKV_SEGMENT && parents.is_empty() && segment.is_none() {
                segment = Some(data);
            }
            if id == MKV_SEEK {
                seeks.push((None, None));
            }
            parents.push((id, data, element_end));
            continue;
        }
        // A leaf: symphonia reads it whole (or skips it).
        if element_end > len {
            end = Some(at);
            break;
        }
        let size = element_end - data;
        match id {
            MKV_SIMPLE_BLOCK | MKV_BLOCK => {
                let head = r.read_up_to(size.min(MKV_LACING_HEAD))?;
                if !laced_frames_fit(&head, size, head.len() as u64 == size) {
                    end = Some(at);
                    break;
                }
            }
            MKV_SEEK_ID | MKV_SEEK_POSITION
                if parents.last().is_some_and(|p| p.0 == MKV_SEEK) && size <= 8 =>
            {
                let bytes = r.read_up_to(size)?;
                let value = bytes.iter().fold(0u64, |v, &b| v << 8 | u64::from(b));
                if let Some(seek) = seeks.last_mut() {
                    if id == MKV_SEEK_ID {
                        seek.0 = Some(value);
                    } else {
                        seek.1 = Some(value);
                    }
                }
            }
            _ => {}
        }
        r.skip_to(element_end)?;
    }
    let follow_seek_head = seeks.iter().all(|&(id, position)| match (id, position) {
        (Some(id), Some(position)) if MKV_SOUGHT.contains(&(id as u32)) => {
            let target = segment.and_then(|s| s.checked_add(position));
            target.is_some_and(|t| children.contains(&(id as u32, t)))
        }
        // symphonia skips unknown targets and rejects incomplete entries.
        _ => true,
    });
    Ok(MatroskaGuard {
        end,
        follow_seek_head,
    })
}

/// ISO-BMFF boxes that symphonia 0.5 reads as lists of boxes, with the
/// bytes before their first child (`meta` is a full box).
const MP4_CONTAINERS: [(&[u8; 4], u64); 12] = [
    (b"moov", 0),
    (b"trak", 0),
    (b"mdia", 0),
    (b"minf", 0),
    (b"stbl", 0),
    (b"edts", 0),
    (b"mvex", 0),
    (b"moof", 0),
    (b"traf", 0),
    (b"udta", 0),
    (b"meta", 4),
    (b"ilst", 0),
];

/// The top-level boxes symphonia 0.5 reads the children of.
const MP4_TOP_LEVEL: [&[u8; 4]; 3] = [b"moov", b"moof", b"meta"];

/// Where `marker` occurs in the bytes symphonia's probe searches from
/// `start` (1 MiB, `Probe::PROBE_SEARCH_LIMIT`, plus its 16-byte window).
fn find_ahead(
    source: &mut dyn MediaSource,
    start: u64,
    marker: &[u8],
) -> std::io::Result<Vec<u64>> {
    const PROBE_SEARCH_LIMIT: u64 = 1024 * 1024 + 16;
    let entry = source.stream_position()?;
    source.seek(SeekFrom::Start(start))?;
    let mut head = Vec::new();
    (&mut *source)
        .take(PROBE_SEARCH_LIMIT)
        .read_to_end(&mut head)?;
    source.seek(SeekFrom::Start(entry))?;
    Ok(head
        .windows(marker.len())
        .enumerate()
        .filter(|(_, w)| *w == marker)
        .map(|(i, _)| start + i as u64)
        .collect())
}

/// Checks an MP4/MOV input's box tree the way symphonia 0.5 reads it: that
/// every box it descends into fits in its parent, and that no sample table
/// declares more entries than its box holds, or samples larger than the
/// input. symphonia sizes allocations from those numbers before reading
/// (`Vec::with_capacity` of up to 4 G table entries, 64 GB, or a buffer per
/// sample), and a failed allocation aborts the process. Returns what is
/// wrong, if anything. symphonia 0.6 bounds these; this can go with it.
fn check_mp4(source: &mut dyn MediaSource, start: u64) -> std::io::Result<Option<String>> {
    // A closure for the same reason as in `guard_matroska`.
    #[allow(clippy::redundant_closure)]
    walk_headers(source, start, |r, len| walk_mp4(r, len))
}

fn walk_mp4<R: Read + Seek>(r: &mut EbmlReader<R>, len: u64) -> std::io::Result<Option<String>> {
    let fail = |what: &str, at: u64| Ok(Some(format!("mp4 {what} at byte {at}")));
    // The open containers: (type, end).
    let mut parents: Vec<([u8; 4], u64)> = Vec::new();
    loop {
        while parents.last().is_some_and(|p| r.pos >= p.1) {
            parents.pop();
        }
        if r.pos >= len {
            return Ok(None);
        }
        let at = r.pos;
        let parent = parents.last().copied();
        let parent_end = parent.map_or(len, |p| p.1);
        let (Some(size), Some(kind)) = (r.be_u32()?, r.fourcc()?) else {
            return Ok(None);
        };
        let end = match size {
            0 => Some(parent_end),
            1 => match r.be_u64()? {
                None => return Ok(None),
                Some(size) if size < 16 => None,
                Some(size) => at.checked_add(size),
            },
            size if size < 8 => None,
            size => at.checked_add(u64::from(size)),
        };
        // At the top level an unreadable box ends what symphonia reads (and
        // what follows an MP4 found in other data is not MP4).
        let end = match (end, parent) {
            (Some(end), None) => end,
            (Some(end), Some(_)) if end <= parent_end => end,
            (_, None) => return Ok(None),
            (Some(_), Some(_)) => return fail("box larger than its parent", at),
            (None, Some(_)) => return fail("box with an invalid size", at),
        };
        let in_ilst = parent.is_some_and(|p| &p.0 == b"ilst");
        let container = MP4_CONTAINERS
            .iter()
            .find(|c| c.0 == &kind && (parent.is_some() || MP4_TOP_LEVEL.contains(&c.0)))
            .map(|c| c.1);
        if let Some(skip) = container.or(in_ilst.then_some(0)) {
            if parents.len() >= MAX_NESTING {
                return fail("boxes nested too deep", at);
            }
            if &kind == b"meta" {
                // ISO `meta` is a full box (version and flags before its
                // children); QuickTime's, inside a `trak` or `udta`, is not:
                // its first child (`hdlr`) starts at once.
                let head = r.read_up_to(8)?;
                let quicktime = head.get(4..8) == Some(&b"hdlr"[..]);
                r.rewind(head.len() as u64)?;
                if !quicktime {
                    r.read_up_to(skip)?;
                }
            } else {
                r.read_up_to(skip)?;
            }
            parents.push((kind, end));
            continue;
        }
        if parent.is_some_and(|p| &p.0 == b"stbl") {
            let entry: u64 = match &kind {
                b"stts" | b"co64" => 8,
                b"stsc" => 12,
                b"stco" => 4,
                b"stsz" => 4,
                _ => 0,
            };
            if entry > 0 {
                let Some(_version) = r.be_u32()? else {
                    return Ok(None);
                };
                let constant = if &kind == b"stsz" {
                    r.be_u32()?
                } else {
                    Some(0)
                };
                let (Some(constant), Some(count)) = (constant, r.be_u32()?) else {
                    return Ok(None);
                };
                let entries = if constant == 0 { u64::from(count) } else { 0 };
                if entries * entry > end.saturating_sub(r.pos) {
                    return fail("sample table larger than its box", at);
                }
                if u64::from(constant) > len {
                    return fail("sample larger than the input", at);
                }
                if &kind == b"stsz" {
                    for _ in 0..entries {
                        match r.be_u32()? {
                            None => return Ok(None),
                            Some(size) if u64::from(size) > len => {
                                return fail("sample larger than the input", at)
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
        }
        if end > len {
            return Ok(None);
        }
        r.skip_to(end)?;
    }
}

/// Reads EBML element and ISO-BMFF box headers, tracking the position.
struct EbmlReader<R> {
    inner: std::io::BufReader<R>,
    pos: u64,
}

impl<R: Read + Seek> EbmlReader<R> {
    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        let mut b = [0u8; 1];
        match self.inner.read(&mut b)? {
            0 => Ok(None),
            _ => {
                self.pos += 1;
                Ok(Some(b[0]))
            }
        }
    }

    /// An element's ID and size (`None` for "unknown"), or `None` where
    /// symphonia could not read one (the end of the input, or an ID byte
    /// that makes it scan ahead).
    #[allow(clippy::type_complexity)]
    fn element_header(&mut self) -> std::io::Result<Option<(u32, Option<u64>)>> {
        let Some(first) = self.byte()? else {
            return Ok(None);
        };
        if first.leading_zeros() > 3 {
            return Ok(None);
        }
        let mut id = u32::from(first);
        for _ in 0..first.leading_zeros() {
            let Some(b) = self.byte()? else {
                return Ok(None);
            };
            id = id << 8 | u32::from(b);
        }
        let Some(first) = self.byte()? else {
            return Ok(None);
        };
        if first == 0xFF {
            return Ok(Some((id, None)));
        }
        if first == 0 {
            return Ok(None);
        }
        let width = first.leading_zeros();
        let mut size = u64::from(first ^ (0x80 >> width));
        for _ in 0..width {
            let Some(b) = self.byte()? else {
                return Ok(None);
            };
            size = size << 8 | u64::from(b);
        }
        Ok(Some((id, Some(size))))
    }

    fn be_u32(&mut self) -> std::io::Result<Option<u32>> {
        let b = self.read_up_to(4)?;
        Ok(b.try_into().ok().map(u32::from_be_bytes))
    }

    fn be_u64(&mut self) -> std::io::Result<Option<u64>> {
        let b = self.read_up_to(8)?;
        Ok(b.try_into().ok().map(u64::from_be_bytes))
    }

    fn fourcc(&mut self) -> std::io::Result<Option<[u8; 4]>> {
        Ok(self.read_up_to(4)?.try_into().ok())
    }

    fn read_up_to(&mut self, n: u64) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        (&mut self.inner).take(n).read_to_end(&mut out)?;
        self.pos += out.len() as u64;
        Ok(out)
    }

    /// Steps back over the last `n` bytes read.
    fn rewind(&mut self, n: u64) -> std::io::Result<()> {
        let delta = i64::try_from(n).map_err(std::io::Error::other)?;
        self.inner.seek_relative(-delta)?;
        self.pos -= n;
        Ok(())
    }

    fn skip_to(&mut self, pos: u64) -> std::io::Result<()> {
        let delta = i64::try_from(pos - self.pos).map_err(std::io::Error::other)?;
        self.inner.seek_relative(delta)?;
        self.pos = pos;
        Ok(())
    }
}

/// Whether every frame size the lacing of a (Simple)Block declares fits in
/// the block, computed as symphonia 0.5's `extract_frames` computes it.
/// `head` is the start of the block's `size` bytes (`complete` if all).
/// Running out of a complete block makes symphonia fail cleanly: that fits.
fn laced_frames_fit(head: &[u8], size: u64, complete: bool) -> bool {
    let mut bytes = head.iter().copied();
    let mut parse = || -> Option<bool> {
        // Track number (EBML varint), timecode, flags.
        let first = bytes.next()?;
        let extra = if first == 0xFF {
            0
        } else {
            first.leading_zeros()
        };
        for _ in 0..extra + 2 {
            bytes.next()?;
        }
        let flags = bytes.next()?;
        let laced = bytes.next();
        match (flags >> 1) & 0b11 {
            // Xiph: runs of 255 then a byte.
            0b01 => {
                let frames = laced?;
                for _ in 0..frames {
                    let mut frame = 0u64;
                    loop {
                        let b = bytes.next()?;
                        frame += u64::from(b);
                        if b != 255 {
                            break;
                        }
                    }
                    if frame > size {
                        return Some(false);
                    }
                }
                Some(true)
            }
            // EBML: a varint, then signed varint differences.
            0b11 => {
                let frames = laced?;
                let mut last: Option<u64> = None;
                for _ in 0..frames {
                    let first = bytes.next()?;
                    let (mut value, width) = match first {
                        0xFF => (u64::MAX, 0),
                        // symphonia misreads a zero first byte.
                        0 => return Some(false),
                        _ => {
                            let w = first.leading_zeros();
                            (u64::from(first ^ (0x80 >> w)), w)
                        }
                    };
                    for _ in 0..width {
                        value = value << 8 | u64::from(bytes.next()?);
                    }
                    let frame = match last {
                        None => value,
                        Some(last) => {
                            let half_range = (1i64 << (7 * (width + 1) - 1)) - 1;
                            let delta = (value as i64).wrapping_sub(half_range);
                            (last as i64).wrapping_add(delta) as u64
                        }
                    };
                    if frame > size {
                        return Some(false);
                    }
                    last = Some(frame);
                }
                Some(true)
            }
            // Unlaced, or fixed-size lacing (sizes derived from the block).
            _ => Some(true),
        }
    };
    parse().unwrap_or(complete)
}

#[cfg(test)]
mod tests;
