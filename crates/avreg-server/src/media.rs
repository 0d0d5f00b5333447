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

use avreg_registry::{Content, NewRecording};
use utoipa::ToSchema;

use crate::body::{self, Body, MEDIA_FIELD};
use crate::dto::RegisterFingerprint;
use crate::error::ApiError;
use crate::AppState;

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
    Ok(Fingerprints {
        audio,
        video,
        tracks: found.tracks,
    })
}

/// The recording a registration body describes: a multipart upload
/// (`title`, `media`; fingerprinted, sound and picture, when the returned
/// closure runs on a pool thread) or the JSON of `avreg fingerprint --json`
/// with a title. Checks what can be checked before any fingerprinting: a
/// title (or `default_title`), a non-empty upload, a fingerprint no longer
/// than the media limit. Used by registrations and by fixation media.
pub(crate) fn recording_from(
    body: Body,
    state: &AppState,
    default_title: Option<String>,
) -> Result<Box<dyn FnOnce() -> Result<NewRecording, ApiError> + Send>, ApiError> {
    let o = state.options();
    let max_ms = o.max_media_ms;
    let title_of = move |t: Option<String>| {
        t.map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .or(default_title)
            .ok_or_else(|| ApiError::invalid("a title is required").field("title"))
    };
    match body {
        Body::Media { upload, mut fields } => {
            let title = title_of(fields.remove("title"))?;
            let upload =
                upload.ok_or_else(|| ApiError::invalid("no media field").field(MEDIA_FIELD))?;
            if upload.bytes == 0 {
                return Err(ApiError::invalid("the media is empty").field(MEDIA_FIELD));
            }
            let audio = o.audio.clone();
            Ok(Box::new(move || {
                let fp = analyse(upload.path(), &audio, Role::Reference, max_ms)?;
                Ok(NewRecording {
                    title,
                    content: Content::Computed(upload.content_hash),
                    fingerprint: fp.audio,
                    source_name: upload.file_name.clone(),
                    video: fp.video,
                    media: fp.tracks,
                })
            }))
        }
        Body::Json(bytes) => {
            let req: RegisterFingerprint = body::parse_json(&bytes)?;
            let title = title_of(Some(req.title))?;
            let (fp, claimed) = req.fingerprint.decode()?;
            if fp.duration_ms() > max_ms {
                return Err(ApiError::new(
                    crate::error::Code::PayloadTooLarge,
                    "the fingerprint is longer than the media limit",
                ));
            }
            // The server never saw the file: the hash its sender states is
            // a claim, kept and shown as unverified, and never deduplicates.
            Ok(Box::new(move || {
                Ok(NewRecording {
                    title,
                    content: Content::Claimed(claimed),
                    fingerprint: fp.audio,
                    source_name: req.source_name,
                    video: fp.video,
                    media: Vec::new(),
                })
            }))
        }
    }
}

/// The multipart form of a registration.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct RegisterForm {
    /// Title of the recording.
    title: String,
    /// The media file (any format `avreg fingerprint` reads).
    #[schema(value_type = String, format = Binary)]
    media: Vec<u8>,
}
