//! Sound and picture of an uploaded file, fingerprinted the way the CLI
//! does (`fingerprint_media_file`): `Role::Reference` to register,
//! `Role::Query` to look up.

use std::path::Path;

use avreg_decode::audio::DecodeOptions;
use avreg_decode::fingerprint_media_file;
use avreg_decode::video::VideoDecodeOptions;
use avreg_fingerprint::audio::{AudioConfig, AudioFingerprint};
use avreg_fingerprint::video::{Role, VideoConfig, VideoFingerprint};

use crate::body::MEDIA_FIELD;
use crate::error::ApiError;

/// The fingerprints of one file: the sound's (empty, without peaks, when the
/// file has no audio track) and the picture's when it has one.
pub struct Fingerprints {
    pub audio: AudioFingerprint,
    pub video: Option<VideoFingerprint>,
}

impl Fingerprints {
    /// Whether the sound can be looked up.
    pub fn has_sound(&self) -> bool {
        !self.audio.is_silent()
    }

    /// `audio`, `video` or `both`.
    pub fn medium(&self) -> &'static str {
        match (self.has_sound(), self.video.is_some()) {
            (true, true) => "both",
            (false, true) => "video",
            _ => "audio",
        }
    }

    /// Duration of the longer track, ms.
    pub fn duration_ms(&self) -> u64 {
        self.audio
            .duration_ms()
            .max(self.video.as_ref().map_or(0, |v| v.duration_ms))
    }

    /// Refuses a query too short to look up: the sound must be long enough
    /// unless the picture carries the query.
    pub fn check_query(&self, min_ms: u64) -> Result<(), ApiError> {
        if self.has_sound() || self.video.is_none() {
            self.audio.check_query(min_ms)?;
        }
        Ok(())
    }
}

/// Fingerprints `path` (at most `max_ms` long), errors naming the `media`
/// field.
pub fn analyse(
    path: &Path,
    audio: &AudioConfig,
    role: Role,
    max_ms: u64,
) -> Result<Fingerprints, ApiError> {
    let found = fingerprint_media_file(
        path,
        audio,
        &DecodeOptions {
            max_duration_ms: Some(max_ms),
            ..DecodeOptions::default()
        },
        &VideoConfig::default(),
        role,
        &VideoDecodeOptions {
            max_duration_ms: Some(max_ms),
            ..VideoDecodeOptions::default()
        },
    )
    .map_err(|e| ApiError::from(e).field(MEDIA_FIELD))?;
    let video = match found.video {
        Some((v, _)) if !v.frames.is_empty() => Some(v),
        _ => None,
    };
    let audio = match found.audio {
        Some((fp, _)) => fp,
        None => {
            AudioFingerprint::from_parts(video.as_ref().map_or(0, |v| v.duration_ms), Vec::new())
        }
    };
    Ok(Fingerprints { audio, video })
}
