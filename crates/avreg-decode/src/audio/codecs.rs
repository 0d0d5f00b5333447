//! The decoders symphonia is given: its own for most codecs, and two it
//! lacks or cannot do whole, as symphonia [`Decoder`]s so that its Ogg,
//! Matroska/WebM and MP4 demuxers feed them:
//!
//! - **Opus** (`opus-pure`, pure Rust): mono, stereo and the standard
//!   surround layouts (mapping families 0 and 1) of Ogg, WebM and MP4.
//! - **AAC** (`rusty_aac`, pure Rust) in place of symphonia's, which decodes
//!   only AAC-LC up to stereo: also HE-AAC (SBR, output at the full rate),
//!   HE-AAC v2 (parametric stereo), 5.1 and 7.1 and PCE layouts.
//!
//! Both hand symphonia planes in its channel order (the lowest bit of the
//! channel mask first), so the session folds surround the same way
//! whatever the codec.

use std::sync::OnceLock;

use symphonia::core::audio::{
    AsAudioBufferRef, AudioBuffer, AudioBufferRef, Channels, Signal, SignalSpec,
};
use symphonia::core::codecs::{
    CodecDescriptor, CodecParameters, CodecRegistry, Decoder, DecoderOptions, FinalizeResult,
    CODEC_TYPE_AAC, CODEC_TYPE_OPUS,
};
use symphonia::core::errors::{Error as SymError, Result as SymResult};
use symphonia::core::formats::Packet;
use symphonia::core::support_codec;

/// The codecs a session decodes with.
pub(crate) fn registry() -> &'static CodecRegistry {
    static REGISTRY: OnceLock<CodecRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut r);
        // Registered after symphonia's: ours replace its AAC decoder.
        r.register_all::<OpusTrack>();
        r.register_all::<AacTrack>();
        r
    })
}

/// Most samples per channel an Opus packet decodes to (120 ms at 48 kHz).
const OPUS_MAX_FRAME: usize = 5760;

/// Opus always decodes at 48 kHz (RFC 7845: the input rate in the header is
/// only informative).
const OPUS_RATE: u32 = 48_000;

/// Short names of the speaker positions the layouts below use.
mod pos {
    use symphonia::core::audio::Channels;
    pub(super) const FL: Channels = Channels::FRONT_LEFT;
    pub(super) const FR: Channels = Channels::FRONT_RIGHT;
    pub(super) const FC: Channels = Channels::FRONT_CENTRE;
    pub(super) const LFE: Channels = Channels::LFE1;
    pub(super) const RL: Channels = Channels::REAR_LEFT;
    pub(super) const RR: Channels = Channels::REAR_RIGHT;
    pub(super) const SL: Channels = Channels::SIDE_LEFT;
    pub(super) const SR: Channels = Channels::SIDE_RIGHT;
    pub(super) const RC: Channels = Channels::REAR_CENTRE;
    pub(super) const FLC: Channels = Channels::FRONT_LEFT_CENTRE;
    pub(super) const FRC: Channels = Channels::FRONT_RIGHT_CENTRE;
}

/// The channels of a Vorbis-order layout (RFC 7845, 5.1.1.2; Opus mapping
/// family 1), in stream order.
fn vorbis_order(channels: usize) -> Option<&'static [Channels]> {
    use pos::*;
    Some(match channels {
        1 => &[FL],
        2 => &[FL, FR],
        3 => &[FL, FC, FR],
        4 => &[FL, FR, RL, RR],
        5 => &[FL, FC, FR, RL, RR],
        6 => &[FL, FC, FR, RL, RR, LFE],
        7 => &[FL, FC, FR, SL, SR, RC, LFE],
        8 => &[FL, FC, FR, SL, SR, RL, RR, LFE],
        _ => return None,
    })
}

/// The channels of an AAC channel configuration as decoders put them out
/// (FFmpeg's order, which is the mask's bit order), in stream order.
fn aac_order(channels: usize) -> Option<&'static [Channels]> {
    use pos::*;
    Some(match channels {
        1 => &[FL],
        2 => &[FL, FR],
        3 => &[FL, FR, FC],
        4 => &[FL, FR, FC, RC],
        5 => &[FL, FR, FC, RL, RR],
        6 => &[FL, FR, FC, LFE, RL, RR],
        8 => &[FL, FR, FC, LFE, RL, RR, FLC, FRC],
        _ => return None,
    })
}

/// Interleaved samples in `order` into planes in mask order.
struct Planes {
    buf: AudioBuffer<f32>,
    /// For each channel of the stream, its plane; `None` when the layout
    /// has no name and every channel is mixed into one plane equally.
    plane_of: Option<Vec<usize>>,
    channels: usize,
}

impl Planes {
    /// A buffer for `rate` and `channels` in `order`.
    fn new(rate: u32, channels: usize, order: Option<&[Channels]>) -> Self {
        let (mask, plane_of) = match order.filter(|o| o.len() == channels) {
            Some(order) => {
                let mask = order.iter().fold(Channels::empty(), |m, &c| m | c);
                let plane_of = order
                    .iter()
                    .map(|c| (mask.bits() & (c.bits() - 1)).count_ones() as usize)
                    .collect();
                (mask, Some(plane_of))
            }
            // Positions the stream does not name cannot be folded by
            // position: mixed equally.
            None => (Channels::FRONT_LEFT, None),
        };
        let spec = SignalSpec::new(rate, mask);
        Self {
            buf: AudioBuffer::new(OPUS_MAX_FRAME as u64, spec),
            plane_of,
            channels,
        }
    }

    fn spec_matches(&self, rate: u32, channels: usize) -> bool {
        self.buf.spec().rate == rate && self.channels == channels
    }

    /// Fills the planes with `frames` interleaved frames of `samples`, the
    /// first `skip` and last `cut` left out.
    fn fill(&mut self, samples: &[f32], frames: usize, skip: usize, cut: usize) {
        let ch = self.channels;
        if self.buf.capacity() < frames {
            self.buf = AudioBuffer::new(frames as u64, *self.buf.spec());
        }
        self.buf.clear();
        let keep = frames.saturating_sub(skip).saturating_sub(cut);
        self.buf.render_reserved(Some(keep));
        match &self.plane_of {
            Some(plane_of) => {
                for (c, &plane) in plane_of.iter().enumerate() {
                    let out = self.buf.chan_mut(plane);
                    for (i, o) in out.iter_mut().enumerate() {
                        // Lossy decoders overshoot full scale a little.
                        *o = samples[(skip + i) * ch + c].clamp(-1.0, 1.0);
                    }
                }
            }
            None => {
                let scale = 1.0 / ch as f32;
                let out = self.buf.chan_mut(0);
                for (i, o) in out.iter_mut().enumerate() {
                    let frame = &samples[(skip + i) * ch..(skip + i + 1) * ch];
                    *o = (frame.iter().sum::<f32>() * scale).clamp(-1.0, 1.0);
                }
            }
        }
    }
}

/// What an Opus identification header says (`OpusHead` from Ogg and
/// Matroska, little-endian; symphonia's MP4 reader hands the `dOps` box,
/// big-endian and version 0, behind the same magic).
#[derive(Debug, Clone, PartialEq, Eq)]
struct OpusHead {
    channels: usize,
    pre_skip: u32,
    gain_q8: i32,
    family: u8,
    streams: usize,
    coupled: usize,
    mapping: Vec<u8>,
}

impl OpusHead {
    fn parse(extra: &[u8]) -> SymResult<Self> {
        let bad = || SymError::DecodeError("opus: malformed identification header");
        let head = extra.strip_prefix(b"OpusHead").ok_or_else(bad)?;
        if head.len() < 11 {
            return Err(bad());
        }
        let big_endian = head[0] == 0;
        let u16_at = |i: usize| {
            let b = [head[i], head[i + 1]];
            if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let channels = usize::from(head[1]);
        let pre_skip = u32::from(u16_at(2));
        let gain_q8 = i32::from(u16_at(8) as i16);
        let family = head[10];
        let (streams, coupled, mapping) = if family == 0 {
            (
                1,
                usize::from(channels == 2),
                vec![0, 1][..channels.min(2)].to_vec(),
            )
        } else {
            let table = head.get(11..13 + channels).ok_or_else(bad)?;
            (
                usize::from(table[0]),
                usize::from(table[1]),
                table[2..].to_vec(),
            )
        };
        if channels == 0 {
            return Err(bad());
        }
        Ok(Self {
            channels,
            pre_skip,
            gain_q8,
            family,
            streams,
            coupled,
            mapping,
        })
    }
}

enum OpusInner {
    Single(Box<opus_pure::OpusDecoder>),
    Multi(opus_pure::OpusMSDecoder),
}

/// Opus, as a symphonia decoder.
struct OpusTrack {
    params: CodecParameters,
    head: OpusHead,
    inner: OpusInner,
    /// Samples per channel still to drop from the start (the pre-skip).
    to_skip: usize,
    pcm: Vec<f32>,
    out: Planes,
}

impl OpusTrack {
    fn build(head: &OpusHead) -> SymResult<OpusInner> {
        let unsupported = |_| SymError::Unsupported("opus: this channel layout");
        match head.family {
            0 if head.channels <= 2 => {
                let mut d = opus_pure::OpusDecoder::new(OPUS_RATE as i32, head.channels)
                    .map_err(unsupported)?;
                d.gain_q8 = head.gain_q8;
                Ok(OpusInner::Single(Box::new(d)))
            }
            1 => {
                let d = opus_pure::OpusMSDecoder::new(OPUS_RATE as i32, head.channels, 1)
                    .map_err(unsupported)?;
                // The decoder knows only the standard tables: any other
                // one would put the streams in the wrong channels.
                let standard =
                    opus_pure::ChannelLayout::surround(head.channels, 1).map_err(unsupported)?;
                if (
                    standard.nb_streams,
                    standard.nb_coupled_streams,
                    &standard.mapping[..],
                ) != (head.streams, head.coupled, &head.mapping[..])
                {
                    return Err(SymError::Unsupported(
                        "opus: a surround stream table other than the standard one",
                    ));
                }
                Ok(OpusInner::Multi(d))
            }
            _ => Err(SymError::Unsupported("opus: channel mapping family")),
        }
    }
}

impl Decoder for OpusTrack {
    fn try_new(params: &CodecParameters, _options: &DecoderOptions) -> SymResult<Self> {
        let extra = params
            .extra_data
            .as_deref()
            .ok_or(SymError::DecodeError("opus: no identification header"))?;
        let head = OpusHead::parse(extra)?;
        let inner = Self::build(&head)?;
        // No demuxer trims the pre-skip (Ogg's only states it as the
        // delay; its page-based trims are for other codecs): dropped here.
        let to_skip = head.pre_skip as usize;
        let channels = head.channels;
        let out = Planes::new(OPUS_RATE, channels, vorbis_order(channels));
        Ok(Self {
            params: params.clone(),
            head,
            inner,
            to_skip,
            pcm: vec![0.0; OPUS_MAX_FRAME * channels],
            out,
        })
    }

    fn supported_codecs() -> &'static [CodecDescriptor] {
        &[support_codec!(CODEC_TYPE_OPUS, "opus", "Opus (opus-pure)")]
    }

    fn reset(&mut self) {
        if let Ok(inner) = Self::build(&self.head) {
            self.inner = inner;
        }
    }

    fn codec_params(&self) -> &CodecParameters {
        &self.params
    }

    fn decode(&mut self, packet: &Packet) -> SymResult<AudioBufferRef<'_>> {
        let decoded = match &mut self.inner {
            OpusInner::Single(d) => d.decode(&packet.data, OPUS_MAX_FRAME, &mut self.pcm),
            OpusInner::Multi(d) => d.decode(&packet.data, OPUS_MAX_FRAME, &mut self.pcm),
        };
        let frames = decoded.map_err(|_| SymError::DecodeError("opus: invalid packet"))?;
        let skip_head = self.to_skip.min(frames);
        self.to_skip -= skip_head;
        let skip = skip_head.max(packet.trim_start as usize).min(frames);
        let cut = (packet.trim_end as usize).min(frames - skip);
        self.out.fill(&self.pcm, frames, skip, cut);
        Ok(self.out.buf.as_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> AudioBufferRef<'_> {
        self.out.buf.as_audio_buffer_ref()
    }
}

/// AAC (LC, HE-AAC, HE-AAC v2, multichannel), as a symphonia decoder.
struct AacTrack {
    params: CodecParameters,
    inner: rusty_aac::AacDecoder,
    out: Option<Planes>,
}

impl AacTrack {
    fn build(params: &CodecParameters) -> SymResult<rusty_aac::AacDecoder> {
        match params.extra_data.as_deref() {
            // The AudioSpecificConfig of MP4's `esds` or Matroska's
            // CodecPrivate: it alone tells HE-AAC and PCE layouts.
            Some(asc) if !asc.is_empty() => {
                rusty_aac::AacDecoder::with_config_bytes(asc).map_err(|e| match e {
                    rusty_aac::Error::Unsupported(_) | rusty_aac::Error::Unimplemented(_) => {
                        SymError::Unsupported("aac: this AudioSpecificConfig")
                    }
                    _ => SymError::DecodeError("aac: malformed AudioSpecificConfig"),
                })
            }
            // ADTS: symphonia's reader strips the frame headers and gives
            // what the first one said; said again as an AAC-LC config (an
            // HE-AAC stream in ADTS signals its SBR inside the frames).
            _ => match adts_config(params) {
                Some(asc) => rusty_aac::AacDecoder::with_config_bytes(&asc)
                    .map_err(|_| SymError::Unsupported("aac: this ADTS stream")),
                None => Ok(rusty_aac::AacDecoder::new()),
            },
        }
    }
}

/// The two-byte AudioSpecificConfig of AAC-LC at the track's rate and
/// channel count, when both are known.
fn adts_config(params: &CodecParameters) -> Option<[u8; 2]> {
    let rate = rusty_aac::sf_index_for_rate(params.sample_rate?)?;
    let config: u8 = match params.channels?.count() {
        n @ 1..=6 => n as u8,
        8 => 7,
        _ => return None,
    };
    const AAC_LC: u8 = 2;
    Some([
        (AAC_LC << 3) | (rate >> 1),
        ((rate & 1) << 7) | (config << 3),
    ])
}

impl Decoder for AacTrack {
    fn try_new(params: &CodecParameters, _options: &DecoderOptions) -> SymResult<Self> {
        Ok(Self {
            params: params.clone(),
            inner: Self::build(params)?,
            out: None,
        })
    }

    fn supported_codecs() -> &'static [CodecDescriptor] {
        &[support_codec!(CODEC_TYPE_AAC, "aac", "AAC (rusty_aac)")]
    }

    fn reset(&mut self) {
        if let Ok(inner) = Self::build(&self.params) {
            self.inner = inner;
        }
    }

    fn codec_params(&self) -> &CodecParameters {
        &self.params
    }

    fn decode(&mut self, packet: &Packet) -> SymResult<AudioBufferRef<'_>> {
        let frame = match self.inner.decode(&packet.data, None) {
            Ok(frame) => frame,
            Err(rusty_aac::Error::Unsupported(_) | rusty_aac::Error::Unimplemented(_)) => {
                return Err(SymError::Unsupported("aac: a feature of this stream"));
            }
            Err(_) => return Err(SymError::DecodeError("aac: invalid frame")),
        };
        let channels = usize::from(frame.channels);
        if channels == 0 {
            return Err(SymError::DecodeError("aac: a frame without channels"));
        }
        let out = match self.out.take() {
            Some(p) if p.spec_matches(frame.sample_rate, channels) => p,
            _ => Planes::new(frame.sample_rate, channels, aac_order(channels)),
        };
        let out = self.out.insert(out);
        let frames = frame.frames();
        let skip = (packet.trim_start as usize).min(frames);
        let cut = (packet.trim_end as usize).min(frames - skip);
        out.fill(&frame.samples, frames, skip, cut);
        Ok(out.buf.as_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> AudioBufferRef<'_> {
        match &self.out {
            Some(p) => p.buf.as_audio_buffer_ref(),
            None => AudioBufferRef::F32(std::borrow::Cow::Owned(AudioBuffer::unused())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_heads_of_ogg_and_of_mp4_read_alike() {
        // Ogg / Matroska: version 1, little-endian.
        let mut ogg = b"OpusHead".to_vec();
        ogg.extend([1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0x00, 0x01, 0]);
        // MP4's dOps: version 0, big-endian.
        let mut mp4 = b"OpusHead".to_vec();
        mp4.extend([0, 2, 0x01, 0x38, 0, 0, 0xbb, 0x80, 0x01, 0x00, 0]);
        let a = OpusHead::parse(&ogg).expect("ogg");
        let b = OpusHead::parse(&mp4).expect("mp4");
        assert_eq!(a, b);
        assert_eq!(
            (a.channels, a.pre_skip, a.gain_q8, a.family),
            (2, 312, 256, 0)
        );
        assert!(OpusHead::parse(b"OpusHead\x01").is_err());
        assert!(OpusHead::parse(b"NotOpus").is_err());
    }

    #[test]
    fn planes_follow_the_mask_whatever_the_stream_order() {
        // Vorbis 5.1: FL FC FR RL RR LFE; planes: FL FR FC LFE RL RR.
        let mut p = Planes::new(48_000, 6, vorbis_order(6));
        let frame: Vec<f32> = (0..6).map(|c| c as f32 / 8.0).collect();
        p.fill(&frame, 1, 0, 0);
        let planes: Vec<f32> = (0..6).map(|i| p.buf.chan(i)[0] * 8.0).collect();
        assert_eq!(planes, [0.0, 2.0, 1.0, 5.0, 3.0, 4.0]);
    }
}
