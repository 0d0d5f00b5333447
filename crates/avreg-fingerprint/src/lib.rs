//! The fingerprint core of avreg: sans-IO, no decoder.
//!
//! This crate owns everything between decoded samples and pictures and a
//! ranked list of matches. It opens no file and decodes no media: PCM and
//! luma planes are handed to it (by `avreg-decode`, the decoding edge, or by
//! a test), and hashes are computed over bytes or readers given to it.
//!
//! - [`audio`]: the sans-IO audio core. Interleaved PCM in, a versioned
//!   [`audio::AudioFingerprint`] out, bit-identical however the samples are
//!   chunked.
//! - [`content`]: exact blake3 content hashes over given bytes, for
//!   deduplication and evidence.
//! - [`video`]: the sans-IO video core. Luma planes with timestamps in,
//!   a versioned [`video::VideoFingerprint`] of per-frame PDQ hashes out, and
//!   [`video::matching`]: band lookup, Hamming verification and temporal
//!   voting over any [`video::matching::VideoPostingSource`].
//! - [`postings`]: the vocabulary of an inverted index ([`postings::HashKey`],
//!   [`postings::Posting`], [`postings::PostingSource`]) that the audio
//!   analysis, matching and the registry's index share.
//! - [`matching`]: offset voting over an inverted index (any
//!   [`matching::PostingSource`]), with a small grid of playback speeds, giving
//!   ranked matches with their spans in the query and in the reference.
//!
//! ```
//! use avreg_fingerprint::audio::{AudioConfig, AudioFingerprinter};
//!
//! // One second of a 440 Hz tone mixed with a 1 kHz tone, stereo at 44.1 kHz.
//! let rate = 44_100;
//! let pcm: Vec<f32> = (0..rate)
//!     .flat_map(|n| {
//!         let t = n as f32 / rate as f32;
//!         let s = 0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
//!             + 0.2 * (2.0 * std::f32::consts::PI * 1000.0 * t).sin();
//!         [s, s]
//!     })
//!     .collect();
//! let mut fp = AudioFingerprinter::new(AudioConfig::default(), rate, 2).unwrap();
//! fp.consume(&pcm);
//! let fingerprint = fp.finish();
//! assert!(fingerprint.duration_ms() >= 990);
//! ```

pub mod audio;
pub mod content;
mod envelope;
pub mod error;
pub mod matching;
pub mod postings;
pub mod track;
pub mod video;

pub use content::ContentHash;
pub use error::{Error, Result};
