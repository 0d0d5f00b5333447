//! One decoding session: track selection, the packet loop, the window
//! and limits, and the conversion of symphonia's buffers to `f32`.

use avreg_fingerprint::audio::{MAX_CHANNELS, MAX_INPUT_RATE};
use symphonia::core::audio::{AudioBuffer, AudioBufferRef, Channels, Signal};
use symphonia::core::codecs::{
    CodecParameters, CodecType, Decoder, DecoderOptions, CODEC_TYPE_NULL,
};
use symphonia::core::conv::IntoSample;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatReader, Track};
use symphonia::core::sample::Sample;

use super::probe::{codec_name, container_name};
use super::{AudioInfo, DecodeOptions, InnerSink, OtherTrack, MAX_CHUNK_FRAMES, MIN_SAMPLE_RATE};
use crate::error::{Error, Result};
use crate::guard::guarded;

/// Demuxer errors in a row after which the rest of the input is taken to be
/// garbage. Bounds the work on hostile input, and guards against a reader
/// that reports the same error without advancing.
const MAX_CONSECUTIVE_READ_ERRORS: u32 = 64;

/// Decoder resets (chained Ogg streams, track list changes) after which the
/// input is taken to be hostile.
const MAX_RESETS: u32 = 1024;

/// Decoding state for one input.
pub(super) struct Session<'a, 'b> {
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
    /// Duration the container declares for the track.
    declared_ms: Option<u64>,
    /// The container's other sound tracks.
    other_tracks: Vec<OtherTrack>,
    /// Channels of the last decoded buffer, before any fold to stereo.
    stream_channels: u16,
    /// Frames decoded from the start of the track.
    frames_decoded: u64,
    /// Frames handed to the sink.
    frames_emitted: u64,
    good_packets: u64,
    skipped_packets: u64,
    /// Skips since the last packet that decoded.
    skipped_since_good: u64,
    last_skip: Option<String>,
    resets: u32,
    /// Reused conversion buffer, one packet long.
    pcm: Vec<f32>,
    fold: Fold,
}

impl<'a, 'b> Session<'a, 'b> {
    /// A session over a probed reader, nothing decoded yet.
    pub(super) fn new(
        reader: Box<dyn FormatReader>,
        sniffed: Option<&'static str>,
        opts: &'a DecodeOptions,
        sink: &'a mut InnerSink<'b>,
        io_error: &'a StreamError<'a>,
    ) -> Self {
        Self {
            reader,
            sniffed,
            opts,
            sink,
            io_error,
            decoder: None,
            track_id: 0,
            codec: CODEC_TYPE_NULL,
            format: None,
            stream_channels: 0,
            declared_ms: None,
            other_tracks: Vec::new(),
            frames_decoded: 0,
            frames_emitted: 0,
            good_packets: 0,
            skipped_packets: 0,
            skipped_since_good: 0,
            last_skip: None,
            resets: 0,
            pcm: Vec::new(),
            fold: Fold::default(),
        }
    }
}

impl Session<'_, '_> {
    /// Picks the first audio track symphonia can decode and builds its
    /// decoder.
    pub(super) fn select_track(&mut self) -> Result<()> {
        let registry = super::codecs::registry();
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
        self.other_tracks = audio
            .iter()
            .filter(|t| t.id != track_id)
            .map(|t| {
                let codec = codec_name(t.codec_params.codec);
                let why = if registry.get_codec(t.codec_params.codec).is_some() {
                    "only the first sound track is fingerprinted".to_owned()
                } else {
                    format!("unsupported audio codec: {codec}")
                };
                OtherTrack { codec, why }
            })
            .collect();
        self.declared_ms = declared_ms(&params, self.sniffed);
        if let Some(rate) = params.sample_rate {
            check_rate(rate)?;
        }
        if let Some(ch) = params.channels {
            check_channels(ch.count())?;
        }
        if let (Some(max_ms), Some(declared)) = (self.opts.max_duration_ms, self.declared_ms) {
            // In WAV and AIFF the declared length is derived from the data
            // chunk size, which streaming writers set to 0xFFFFFFFF; decoding
            // PCM is nearly free, so let the running check refuse those.
            let sized_by_chunk = matches!(self.sniffed, Some("wav" | "aiff"));
            if !sized_by_chunk && declared > max_ms {
                return Err(limit(declared, max_ms, "declares"));
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
    pub(super) fn run(&mut self) -> Result<()> {
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
                    .map(|buf| interleave(buf, &mut self.pcm, &mut self.fold))
            }) {
                Ok(decoded) => decoded,
                Err(panicked) => return self.stop_after_panic(panicked),
            };
            match decoded {
                Ok(Interleaved {
                    rate,
                    channels,
                    stream_channels,
                }) => {
                    self.good_packets += 1;
                    self.skipped_since_good = 0;
                    self.stream_channels = stream_channels;
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
        self.skipped_since_good += 1;
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

    pub(super) fn finish(self) -> Result<AudioInfo> {
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
            stream_channels: self.stream_channels.max(channels),
            decoded_ms: frames_to_ms(self.frames_emitted, sample_rate),
            // What failed after the last good packet is where the stream
            // ended (symphonia's MP4 reader reports reads past the last
            // sample as malformed data): the declared duration, not the
            // count, tells a truncated tail.
            skipped_packets: self.skipped_packets - self.skipped_since_good,
            good_packets: self.good_packets,
            declared_ms: self
                .declared_ms
                .filter(|_| self.opts.start_ms == 0 && self.opts.length_ms.is_none()),
            other_tracks: self.other_tracks,
        })
    }
}

/// The duration a track's parameters declare, if they declare one.
///
/// A WAV or AIFF length comes from the data chunk's size, which streaming
/// writers leave at 0xFFFFFFFF (or 0): such a length declares nothing.
fn declared_ms(params: &CodecParameters, sniffed: Option<&str>) -> Option<u64> {
    // MPEG audio and ADTS lengths are estimated from the first frames'
    // bit rate (or a Xing header, which cannot be told apart here): an
    // estimate declares nothing.
    // symphonia's Matroska reader gives every track the segment's
    // duration in the segment's time units, not the track's frames.
    if matches!(
        sniffed,
        Some("adts" | "mpeg-audio" | "id3" | "matroska" | "webm") | None
    ) {
        return None;
    }
    let (frames, rate) = (params.n_frames?, params.sample_rate?);
    if matches!(sniffed, Some("wav" | "aiff")) {
        let channels = params.channels.map_or(1, |c| c.count()) as u64;
        let bytes = u64::from(
            params
                .bits_per_coded_sample
                .or(params.bits_per_sample)
                .unwrap_or(16),
        )
        .div_ceil(8);
        let chunk = frames.saturating_mul(channels).saturating_mul(bytes.max(1));
        if frames == 0 || chunk >= 0xFFFF_0000 {
            return None;
        }
    }
    Some(frames_to_ms(frames, rate))
}

/// Maps a non-EOF `IoError` out of symphonia, given what was being done:
/// [`Error::Io`] if the caller's source failed, else [`Error::Corrupt`].
pub(super) type StreamError<'a> = dyn Fn(std::io::Error, &str) -> Error + 'a;

/// Maps the symphonia errors not handled in place.
pub(super) fn map_error(e: SymError, during: &str, io_error: &StreamError<'_>) -> Error {
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

pub(super) fn limit(got_ms: u64, max_ms: u64, verb: &str) -> Error {
    Error::Limit(format!(
        "the audio {verb} {}, more than the {} accepted",
        fmt_duration(got_ms),
        fmt_duration(max_ms)
    ))
}

pub(crate) fn fmt_duration(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "{}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ms % 1000
    )
}

pub(super) fn check_rate(rate: u32) -> Result<()> {
    if (MIN_SAMPLE_RATE..=MAX_INPUT_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(Error::InvalidStream(format!("sample rate {rate} Hz")))
    }
}

pub(super) fn check_channels(channels: usize) -> Result<()> {
    if (1..=usize::from(MAX_CHANNELS)).contains(&channels) {
        Ok(())
    } else {
        Err(Error::InvalidStream(format!("{channels} channels")))
    }
}

pub(super) fn frames_to_ms(frames: u64, rate: u32) -> u64 {
    let ms = u128::from(frames) * 1000 / u128::from(rate.max(1));
    u64::try_from(ms).unwrap_or(u64::MAX)
}

pub(super) fn ms_to_frames(ms: u64, rate: u32) -> u64 {
    let frames = u128::from(ms) * u128::from(rate) / 1000;
    u64::try_from(frames).unwrap_or(u64::MAX)
}

/// The fold weights of the last surround layout met (a stream keeps its
/// layout: they are computed once, not per packet).
#[derive(Debug, Default)]
pub(super) struct Fold(Option<(Channels, Vec<(f32, f32)>)>);

impl Fold {
    fn weights(&mut self, channels: Channels) -> &[(f32, f32)] {
        if self.0.as_ref().is_none_or(|(c, _)| *c != channels) {
            self.0 = Some((channels, downmix_weights(channels)));
        }
        self.0.as_ref().map_or(&[], |(_, w)| w)
    }
}

/// What [`interleave`] made of a decoded buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Interleaved {
    pub(super) rate: u32,
    /// Channels in `out`: the stream's, or 2 when it was folded.
    pub(super) channels: u16,
    /// Channels the decoder gave.
    pub(super) stream_channels: u16,
}

/// Converts a decoded buffer to interleaved `f32` in `out`, surround
/// folded to stereo.
pub(super) fn interleave(
    buf: AudioBufferRef<'_>,
    out: &mut Vec<f32>,
    fold: &mut Fold,
) -> Interleaved {
    match buf {
        AudioBufferRef::U8(b) => interleave_typed(&b, out, fold),
        AudioBufferRef::U16(b) => interleave_typed(&b, out, fold),
        AudioBufferRef::U24(b) => interleave_typed(&b, out, fold),
        AudioBufferRef::U32(b) => interleave_typed(&b, out, fold),
        AudioBufferRef::S8(b) => interleave_typed(&b, out, fold),
        AudioBufferRef::S16(b) => interleave_typed(&b, out, fold),
        AudioBufferRef::S24(b) => interleave_typed(&b, out, fold),
        AudioBufferRef::S32(b) => interleave_typed(&b, out, fold),
        AudioBufferRef::F32(b) => interleave_typed(&b, out, fold),
        AudioBufferRef::F64(b) => interleave_typed(&b, out, fold),
    }
}

fn interleave_typed<S: Sample + IntoSample<f32>>(
    buf: &AudioBuffer<S>,
    out: &mut Vec<f32>,
    fold: &mut Fold,
) -> Interleaved {
    let spec = buf.spec();
    let planes = buf.planes();
    let planes = planes.planes();
    let frames = buf.frames();
    out.clear();
    // More channels than the range check admits are reported by
    // `deliver`; converting them first would only cost memory.
    let stream_channels = u16::try_from(planes.len()).unwrap_or(u16::MAX);
    let done = |channels| Interleaved {
        rate: spec.rate,
        channels,
        stream_channels,
    };
    if !(1..=usize::from(MAX_CHANNELS)).contains(&planes.len()) {
        return done(stream_channels);
    }
    if planes.len() <= 2 {
        out.reserve(frames * planes.len());
        for i in 0..frames {
            out.extend(planes.iter().map(|p| p[i].into_sample()));
        }
        return done(stream_channels);
    }
    // Surround (5.1 masters, 7.1): folded to stereo as a platform's
    // stereo version of the same film is, so both fingerprint alike.
    let weights = fold.weights(spec.channels);
    out.reserve(frames * 2);
    for i in 0..frames {
        let (mut l, mut r) = (0.0f32, 0.0f32);
        for (p, (wl, wr)) in planes.iter().zip(weights) {
            let x: f32 = p[i].into_sample();
            l += wl * x;
            r += wr * x;
        }
        out.extend([l, r]);
    }
    done(2)
}

/// Left and right weights of each channel of a surround signal, in plane
/// order (symphonia's planes follow the bits of `channels`, lowest first),
/// normalised so that every channel at full scale gives at most full scale.
///
/// The fold is ITU-R BS.775's: centre and surrounds at −3 dB into both or
/// their side, the LFE left out.
pub(super) fn downmix_weights(channels: Channels) -> Vec<(f32, f32)> {
    const H: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let left = Channels::FRONT_LEFT | Channels::FRONT_LEFT_WIDE | Channels::FRONT_LEFT_HIGH;
    let right = Channels::FRONT_RIGHT | Channels::FRONT_RIGHT_WIDE | Channels::FRONT_RIGHT_HIGH;
    let lfe = Channels::LFE1 | Channels::LFE2;
    let centre = Channels::FRONT_CENTRE
        | Channels::REAR_CENTRE
        | Channels::TOP_CENTRE
        | Channels::TOP_FRONT_CENTRE
        | Channels::TOP_REAR_CENTRE
        | Channels::FRONT_CENTRE_HIGH;
    let left_surround = Channels::REAR_LEFT
        | Channels::SIDE_LEFT
        | Channels::FRONT_LEFT_CENTRE
        | Channels::TOP_FRONT_LEFT
        | Channels::TOP_REAR_LEFT
        | Channels::REAR_LEFT_CENTRE;
    let mut weights: Vec<(f32, f32)> = channels
        .iter()
        .map(|c| {
            if left.contains(c) {
                (1.0, 0.0)
            } else if right.contains(c) {
                (0.0, 1.0)
            } else if lfe.contains(c) {
                (0.0, 0.0)
            } else if centre.contains(c) {
                (H, H)
            } else if left_surround.contains(c) {
                (H, 0.0)
            } else {
                (0.0, H)
            }
        })
        .collect();
    let l: f32 = weights.iter().map(|w| w.0).sum();
    let r: f32 = weights.iter().map(|w| w.1).sum();
    let scale = 1.0 / l.max(r).max(1.0);
    for w in &mut weights {
        *w = (w.0 * scale, w.1 * scale);
    }
    weights
}
