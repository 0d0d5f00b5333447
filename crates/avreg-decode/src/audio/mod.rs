//! The audio edge: media bytes in, interleaved `f32` PCM out.
//!
//! This module owns everything symphonia-specific: container probing, track
//! selection, packet-by-packet decoding and the translation of symphonia's
//! errors into [`Error`] variants a user can act on. The container guards it
//! runs first are the crate's `guard` module.
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

mod codecs;
mod probe;
mod session;
mod source;

use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use avreg_fingerprint::audio::{AudioConfig, AudioFingerprint, AudioFingerprinter};
use serde::Serialize;
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::probe::Hint;

use crate::error::{Error, Result};
use crate::guard::{check_mp4, guard_matroska, MatroskaGuard};
use probe::{find_ahead, matroska_audio_codec, probe_format, sniff_container};
pub(crate) use session::fmt_duration;
use session::Session;
use source::{is_seekable, lock, sniff, SharedSource};

/// Most frames handed to the sink in one call.
pub const MAX_CHUNK_FRAMES: usize = 4096;

/// Lowest sample rate accepted, in Hz (the fingerprinter's floor too).
pub const MIN_SAMPLE_RATE: u32 = 1_000;

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
    /// Channels handed to the sink: the stream's, or 2 when a surround
    /// stream (5.1, 7.1) was folded to stereo.
    pub channels: u16,
    /// Channels in the stream.
    pub stream_channels: u16,
    /// Duration delivered to the sink, in milliseconds (after `start_ms`
    /// and `length_ms` are applied).
    pub decoded_ms: u64,
    /// Packets that failed to demux or decode and were skipped.
    pub skipped_packets: u64,
    /// Packets that decoded.
    pub good_packets: u64,
    /// Duration the container declares for the track, when it declares
    /// one (and the whole track was asked for).
    pub declared_ms: Option<u64>,
    /// The container's other sound tracks, not fingerprinted.
    pub other_tracks: Vec<OtherTrack>,
}

/// A sound track beside the one decoded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OtherTrack {
    /// Its codec.
    pub codec: String,
    /// Why it was not decoded.
    pub why: String,
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

    let mut session = Session::new(reader, sniffed, opts, sink, &stream_error);
    match session.select_track() {
        // symphonia's Matroska reader leaves out the tracks in codecs it
        // does not know: name the codec rather than say there is no sound.
        Err(Error::NoAudioTrack) if matches!(sniffed, Some("matroska" | "webm")) && seekable => {
            let named = matroska_audio_codec(&mut **lock(&shared), start_pos).map_err(io_error)?;
            return Err(named.map_or(Error::NoAudioTrack, Error::UnsupportedCodec));
        }
        r => r?,
    }
    session.run()?;
    session.finish()
}

#[cfg(test)]
pub(crate) mod tests;
