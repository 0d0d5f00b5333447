//! The decoding edge of avreg: media files in, the fingerprint core's
//! inputs out. This is the only crate of the workspace that decodes media.
//!
//! - [`audio`]: symphonia probes the container, picks the audio track and
//!   decodes packet by packet into a caller's sink (interleaved `f32`), so a
//!   long file never sits in memory whole; [`audio::fingerprint_audio_file`]
//!   feeds an [`avreg_fingerprint::audio::AudioFingerprinter`] on the way.
//! - [`video`]: luma planes with presentation times into a
//!   [`video::FrameSink`] (normally an
//!   [`avreg_fingerprint::video::VideoFingerprinter`]), from MP4/MOV with
//!   H.264 (the `mp4` crate and OpenH264), pictures and folders of pictures
//!   (the `image` crate), and with the optional cargo feature `ffmpeg` every
//!   other container and codec through the system's FFmpeg libraries;
//!   without it, the unsupported container and codec are sniffed and named.
//! - `guard`: what stands between untrusted bytes and the decoders: the
//!   panic guard around every decoder call, and per container (Matroska,
//!   MP4) walks of the headers that keep the decoders from allocating what
//!   a corrupt length asks for.
//! - [`fingerprint_media_file`]: sound and picture of one file, one pass
//!   per track; [`hash_file`]: the file's content hash.
//!
//! Every error is an [`Error`]; what the core refuses in decoded media
//! (too short, silent) arrives wrapped, its message unchanged.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use avreg_decode::audio::{fingerprint_audio_file, DecodeOptions};
//! use avreg_fingerprint::audio::AudioConfig;
//!
//! let (fingerprint, info) = fingerprint_audio_file(
//!     Path::new("song.flac"),
//!     &AudioConfig::default(),
//!     &DecodeOptions::default(),
//! )?;
//! println!("{} Hz, {} ms, {} peaks", info.sample_rate, info.decoded_ms, fingerprint.peaks().len());
//! # Ok::<(), avreg_decode::Error>(())
//! ```

pub mod audio;
mod content;
pub mod error;
mod guard;
mod media;
pub mod video;

pub use content::hash_file;
pub use error::{Error, Result};
pub use guard::PANIC_MARKER;
pub use media::{fingerprint_media_file, MediaFingerprints, TrackKind, TrackReport};
