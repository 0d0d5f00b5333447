//! Turning a media file into what the registry needs: its content hash, its
//! audio fingerprint and a description of the stream.

use std::path::Path;

use avreg_fingerprint::audio::AudioFingerprint;
use avreg_fingerprint::decode::{fingerprint_audio_file, AudioInfo, DecodeOptions};
use avreg_fingerprint::ContentHash;

use crate::config::Config;

/// A media file, fingerprinted.
#[derive(Debug)]
pub struct Analysed {
    pub content_hash: ContentHash,
    pub fingerprint: AudioFingerprint,
    pub info: AudioInfo,
}

/// Hashes and fingerprints `path` in bounded memory.
pub fn analyse(path: &Path, config: &Config) -> Result<Analysed, avreg_fingerprint::Error> {
    let content_hash = ContentHash::of_file(path)?;
    let options = DecodeOptions {
        max_duration_ms: Some(config.media.max_duration_s.saturating_mul(1000)),
        ..DecodeOptions::default()
    };
    let matching = config.registry_options().matching;
    let (fingerprint, info) = fingerprint_audio_file(path, &matching.audio, &options)?;
    Ok(Analysed {
        content_hash,
        fingerprint,
        info,
    })
}

/// Extensions `avreg import` picks up.
pub const MEDIA_EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "mp3", "mp2", "mp1", "m4a", "m4b", "mp4", "m4v", "mov", "aac", "ogg",
    "oga", "mkv", "mka", "webm", "aif", "aiff", "aifc", "caf", "opus",
];

/// Whether `path` looks like a media file by its extension.
pub fn is_media(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MEDIA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
