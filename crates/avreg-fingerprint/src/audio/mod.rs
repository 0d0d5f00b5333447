//! The sans-IO audio fingerprint core.
//!
//! Pipeline (all streaming, all deterministic):
//!
//! 1. downmix to mono and resample to [`ANALYSIS_RATE`] with a windowed-sinc
//!    polyphase filter whose phase is computed exactly from the output index,
//!    so chunking cannot change a single sample;
//! 2. short-time power spectrum (Hann window of [`FFT_SIZE`], hop
//!    [`HOP_SIZE`]: one frame every 8 ms, bins of 15.625 Hz), in dB;
//! 3. *dense* peaks: cells that are the maximum of a small time–frequency
//!    neighbourhood and stand out from their frame's local spectrum, with
//!    sub-bin, sub-frame positions from parabolic interpolation;
//! 4. each dense peak gets a *level*: 2 if it dominates every other dense
//!    peak in a large neighbourhood (the sparse set a reference indexes),
//!    1 if it does so in a medium one (the denser set a query hashes), else 0
//!    (dropped);
//! 5. hashes are pairs of peaks (f1, f2 − f1, t2 − t1) anchored at t1
//!    ([`AudioFingerprint::reference_hashes`], [`AudioFingerprint::query_hashes`]).
//!
//! Queries use a denser set of peaks and a wider fan-out than references:
//! a reference peak that survives degradation is very likely still a level-1
//! peak of the query, so the reference's pairs are (mostly) a subset of the
//! query's. This keeps the index small and the query robust.
//!
//! Peak times are stored in milliseconds and frequencies in 1/16 bin (≈ 0.98 Hz), so a query's peaks can be rescaled for a playback
//! speed before hashing.

pub(crate) mod format;
pub(crate) mod hashes;
mod resample;
mod spectral;
#[doc(hidden)]
pub mod synth;

pub use format::FORMAT_VERSION;

use crate::error::{Error, Result};
use crate::postings::HashKey;

/// Sample rate of the analysis, in Hz.
pub const ANALYSIS_RATE: u32 = 8_000;
/// FFT window length in analysis samples (64 ms).
pub const FFT_SIZE: usize = 512;
/// Hop between analysis frames in analysis samples (8 ms).
pub const HOP_SIZE: usize = 64;
/// Duration of one analysis frame hop, in milliseconds.
pub const FRAME_MS: u32 = 8;
/// Peak frequencies are stored in 1/`SUBDIV` of a bin.
pub const SUBDIV: u32 = 16;
/// The most peaks per second of audio [`AudioFingerprint::implausible`]
/// accepts. The analysis keeps at most one peak in any neighbourhood of
/// `query_dt + 1` frames by `query_df + 1` bins (13 × 13 by default): about
/// 10 × 20 = 200 per second at 125 frames per second and 257 bins, and
/// white noise makes about half of that; this leaves twice the theoretical
/// bound.
pub const MAX_PEAKS_PER_SECOND: u64 = 400;

/// Identifies the algorithm and its parameters. Fingerprints of different
/// algorithm versions are never compared.
pub const ALGORITHM: &str = "avreg-audio-landmark";
/// Version of [`ALGORITHM`]; bump on any change that alters peaks or hashes.
pub const ALGORITHM_VERSION: u16 = 1;

/// Parameters of peak picking and hashing. The defaults are the versioned
/// algorithm ([`ALGORITHM_VERSION`]); other values are for experiments and
/// produce fingerprints that do not match default ones.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioConfig {
    /// Lowest frequency bin considered for peaks.
    pub min_bin: usize,
    /// Highest frequency bin considered for peaks (inclusive).
    pub max_bin: usize,
    /// Dense-peak neighbourhood half-width in frames.
    pub dense_dt: usize,
    /// Dense-peak neighbourhood half-width in bins.
    pub dense_df: usize,
    /// A dense peak must exceed the mean of its frame's ±`contrast_df` bins by
    /// this many dB.
    pub contrast_db: f32,
    /// Half-width in bins of the local mean used for the contrast test.
    pub contrast_df: usize,
    /// Level-1 (query) neighbourhood half-width in frames.
    pub query_dt: u32,
    /// Level-1 (query) neighbourhood half-width in bins.
    pub query_df: u32,
    /// Level-2 (reference) neighbourhood half-width in frames.
    pub reference_dt: u32,
    /// Level-2 (reference) neighbourhood half-width in bins.
    pub reference_df: u32,
    /// Cells below this power (dB relative to a full-scale sine) are silence.
    pub floor_db: f32,
    /// Pairing zone: largest t2 − t1 in frames.
    pub pair_max_dt: u32,
    /// Pairing zone: largest |f2 − f1| in bins.
    pub pair_max_df: u32,
    /// Targets paired with each anchor in a reference.
    pub reference_fanout: usize,
    /// Level-2 targets paired with each anchor in a query.
    pub query_fanout: usize,
    /// Level-1 targets paired with each anchor in a query.
    pub query_fanout_level1: usize,
}

impl Default for AudioConfig {
    fn default() -> Self {
        Self {
            min_bin: 4,
            max_bin: 240,
            dense_dt: 6,
            dense_df: 3,
            contrast_db: 3.0,
            contrast_df: 16,
            query_dt: 12,
            query_df: 12,
            reference_dt: 20,
            reference_df: 28,
            floor_db: -90.0,
            pair_max_dt: 127,
            pair_max_df: 63,
            reference_fanout: 3,
            query_fanout: 8,
            query_fanout_level1: 3,
        }
    }
}

/// A spectral peak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Peak {
    /// Time of the peak in milliseconds from the stream start.
    pub time_ms: u32,
    /// Frequency in 1/16 bin (a bin is 15.625 Hz).
    pub freq: u16,
    /// 2: reference peak, 1: query-only peak.
    pub level: u8,
}

impl Peak {
    /// Frequency in Hz.
    pub fn hz(&self) -> f32 {
        f32::from(self.freq) / SUBDIV as f32 * ANALYSIS_RATE as f32 / FFT_SIZE as f32
    }
}

/// A versioned audio fingerprint: the peaks of a stream and its duration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioFingerprint {
    duration_ms: u64,
    /// Sorted by (time, freq).
    peaks: Vec<Peak>,
}

impl AudioFingerprint {
    /// Builds a fingerprint from its parts, sorting the peaks.
    pub fn from_parts(duration_ms: u64, mut peaks: Vec<Peak>) -> Self {
        peaks.sort_unstable();
        Self { duration_ms, peaks }
    }

    /// Duration of the fingerprinted audio in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.duration_ms
    }

    /// The peaks, sorted by time then frequency.
    pub fn peaks(&self) -> &[Peak] {
        &self.peaks
    }

    /// Why this fingerprint cannot have come from the analysis (peaks past
    /// its duration, or denser than [`MAX_PEAKS_PER_SECOND`]), if it
    /// cannot: what a service checks before searching a fingerprint a
    /// client sent, whose cost grows with its peaks.
    pub fn implausible(&self) -> Option<String> {
        let last = self.peaks.iter().map(|p| u64::from(p.time_ms)).max()?;
        if last > self.duration_ms + u64::from(FRAME_MS) {
            return Some(format!(
                "a peak at {last} ms lies past the fingerprint's duration ({} ms)",
                self.duration_ms
            ));
        }
        let seconds = self.duration_ms.div_ceil(1000).max(1);
        let most = seconds * MAX_PEAKS_PER_SECOND;
        if self.peaks.len() as u64 > most {
            return Some(format!(
                "{} peaks in {} ms: more than the analysis makes ({MAX_PEAKS_PER_SECOND} per second)",
                self.peaks.len(),
                self.duration_ms
            ));
        }
        None
    }

    /// Whether the audio had anything to fingerprint.
    pub fn is_silent(&self) -> bool {
        !self.peaks.iter().any(|p| p.level >= 2)
    }

    /// The same fingerprint keeping only reference-level peaks: what a
    /// registry stores.
    pub fn reference_only(&self) -> Self {
        Self {
            duration_ms: self.duration_ms,
            peaks: self
                .peaks
                .iter()
                .copied()
                .filter(|p| p.level >= 2)
                .collect(),
        }
    }

    /// Checks that the fingerprint is usable as a query: long enough and not
    /// silent.
    pub fn check_query(&self, min_ms: u64) -> Result<()> {
        if self.duration_ms < min_ms {
            return Err(Error::TooShort {
                got_ms: self.duration_ms,
                min_ms,
            });
        }
        if self.is_silent() {
            return Err(Error::Silent);
        }
        Ok(())
    }

    /// The hashes a reference indexes: `(key, anchor frame)`.
    pub fn reference_hashes(&self, config: &AudioConfig) -> Vec<(HashKey, u32)> {
        let mut out = Vec::new();
        hashes::pair(
            &self.peaks,
            hashes::Fanout::reference(config),
            crate::matching::Scale::ONE,
            config,
            &mut out,
        );
        out
    }

    /// The hashes a query looks up at playback speed `speed` (a query played
    /// `speed` times faster than the reference): `(key, anchor frame in
    /// reference time)`, the anchor frame already rescaled by `speed`.
    pub fn query_hashes(&self, config: &AudioConfig, speed: f32, out: &mut Vec<(HashKey, u32)>) {
        out.clear();
        hashes::pair(
            &self.peaks,
            hashes::Fanout::query(config),
            crate::matching::Scale::speed(speed),
            config,
            out,
        );
    }

    /// Serialises to the versioned binary form (see [`FORMAT_VERSION`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        format::encode(self)
    }

    /// Parses the versioned binary form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        format::decode(bytes)
    }
}

/// Streaming fingerprinter: feed interleaved PCM with [`consume`], get the
/// fingerprint from [`finish`]. Does no I/O.
///
/// [`consume`]: AudioFingerprinter::consume
/// [`finish`]: AudioFingerprinter::finish
#[derive(Debug)]
pub struct AudioFingerprinter {
    channels: usize,
    input_rate: u32,
    input_frames: u64,
    mono: Vec<f32>,
    resampler: resample::Resampler,
    analysis: spectral::Analyzer,
}

/// Highest input sample rate accepted, in Hz.
pub const MAX_INPUT_RATE: u32 = 768_000;
/// Most channels accepted.
pub const MAX_CHANNELS: u16 = 64;

impl AudioFingerprinter {
    /// A fingerprinter for a stream of `channels` interleaved channels at
    /// `input_rate` Hz.
    pub fn new(config: AudioConfig, input_rate: u32, channels: u16) -> Result<Self> {
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(Error::InvalidStream(format!("{channels} channels")));
        }
        if !(1_000..=MAX_INPUT_RATE).contains(&input_rate) {
            return Err(Error::InvalidStream(format!("sample rate {input_rate} Hz")));
        }
        Ok(Self {
            channels: usize::from(channels),
            input_rate,
            input_frames: 0,
            mono: Vec::new(),
            resampler: resample::Resampler::new(input_rate, ANALYSIS_RATE),
            analysis: spectral::Analyzer::new(config),
        })
    }

    /// Feeds interleaved samples in [-1, 1]. A trailing partial frame (fewer
    /// samples than channels) is an error of the caller and is ignored.
    pub fn consume(&mut self, interleaved: &[f32]) {
        let ch = self.channels;
        self.mono.clear();
        if ch == 1 {
            self.mono.extend(interleaved.iter().map(|&s| sanitize(s)));
        } else {
            let scale = 1.0 / ch as f32;
            self.mono.extend(
                interleaved
                    .chunks_exact(ch)
                    .map(|f| f.iter().map(|&s| sanitize(s)).sum::<f32>() * scale),
            );
        }
        self.input_frames += self.mono.len() as u64;
        let analysis = &mut self.analysis;
        self.resampler.process(&self.mono, |out| analysis.push(out));
    }

    /// Duration consumed so far in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.input_frames * 1000 / u64::from(self.input_rate)
    }

    /// Flushes the pipeline and returns the fingerprint.
    pub fn finish(mut self) -> AudioFingerprint {
        let duration_ms = self.duration_ms();
        let analysis = &mut self.analysis;
        self.resampler.finish(|out| analysis.push(out));
        let peaks = self.analysis.finish();
        AudioFingerprint::from_parts(duration_ms, peaks)
    }
}

/// Maps NaN to 0 and clamps to a sane range so garbage input cannot poison
/// the analysis.
#[inline]
fn sanitize(s: f32) -> f32 {
    if s.is_finite() {
        s.clamp(-4.0, 4.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
