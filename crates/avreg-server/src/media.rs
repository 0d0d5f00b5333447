//! Sound and picture of an uploaded file, fingerprinted the way the CLI
//! does (`fingerprint_media_file`): `Role::Reference` to register,
//! `Role::Query` to look up.

use std::path::Path;

use avreg_decode::audio::DecodeOptions;
use avreg_decode::fingerprint_media_file;
use avreg_decode::video::VideoDecodeOptions;
use avreg_fingerprint::audio::{AudioConfig, AudioFingerprint};
use avreg_fingerprint::video::{Role, VideoConfig};
use avreg_wire::Fingerprints;

use crate::body::MEDIA_FIELD;
use crate::error::ApiError;

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
