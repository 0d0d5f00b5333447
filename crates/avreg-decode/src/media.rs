//! Sound and picture of one file, and what became of each of its tracks.

use std::path::Path;

use avreg_fingerprint::audio::{AudioConfig, AudioFingerprint};
pub use avreg_fingerprint::track::{TrackKind, TrackReport};
use avreg_fingerprint::video::{Role, VideoConfig, VideoFingerprint};

use crate::audio::{fingerprint_audio_file, AudioInfo, DecodeOptions};
use crate::error::{Error, Result};
use crate::video::{fingerprint_video_file, VideoDecodeOptions, VideoInfo};

/// Both fingerprints of one media file, and a report on every track.
#[derive(Debug)]
pub struct MediaFingerprints {
    /// The audio fingerprint, if the file has a decodable audio track.
    pub audio: Option<(AudioFingerprint, AudioInfo)>,
    /// The video fingerprint, if the file has a decodable video track.
    pub video: Option<(VideoFingerprint, VideoInfo)>,
    /// Every track found: the fingerprinted ones with their decoded and
    /// declared durations, the others with why they were not.
    pub tracks: Vec<TrackReport>,
}

/// A track that was not fingerprinted, and why.
fn not_fingerprinted(kind: TrackKind, container: &str, codec: &str, why: String) -> TrackReport {
    TrackReport {
        kind,
        container: container.to_owned(),
        codec: codec.to_owned(),
        fingerprinted: false,
        duration_ms: None,
        declared_ms: None,
        skipped_packets: 0,
        note: Some(why),
    }
}

/// The fingerprinted sound track, its damage noted.
fn of_sound(info: &AudioInfo) -> TrackReport {
    TrackReport {
        kind: TrackKind::Sound,
        container: info.container.clone(),
        codec: info.codec.clone(),
        fingerprinted: true,
        duration_ms: Some(info.decoded_ms),
        declared_ms: info.declared_ms,
        skipped_packets: info.skipped_packets,
        note: damage(
            info.decoded_ms,
            info.declared_ms,
            info.skipped_packets,
            info.good_packets,
        ),
    }
}

/// The fingerprinted picture track, its damage noted.
fn of_picture(info: &VideoInfo) -> TrackReport {
    TrackReport {
        kind: TrackKind::Picture,
        container: info.container.clone(),
        codec: info.codec.clone(),
        fingerprinted: true,
        duration_ms: Some(info.duration_ms),
        declared_ms: info.declared_ms,
        skipped_packets: info.skipped_packets,
        note: damage(
            info.duration_ms,
            info.declared_ms,
            info.skipped_packets,
            info.decoded_frames,
        ),
    }
}

/// Shortfall of the decoded duration under the declared one beyond which a
/// track is taken to be truncated: the larger of this and
/// [`TRUNCATION_SHARE`] of the declared duration (encoder delay, a last
/// partial frame and rounding account for less).
const TRUNCATION_SLACK_MS: u64 = 500;

/// See [`TRUNCATION_SLACK_MS`].
const TRUNCATION_SHARE: f64 = 0.02;

/// Skipped packets a registered track may have: one, and one more per
/// hundred that decoded.
fn skipped_packets_allowed(good: u64) -> u64 {
    1 + good / 100
}

/// The damage a decoded track shows, if any: shorter than its container
/// declares, or more packets skipped than [`skipped_packets_allowed`].
fn damage(decoded_ms: u64, declared_ms: Option<u64>, skipped: u64, good: u64) -> Option<String> {
    if let Some(declared) = declared_ms {
        let slack = TRUNCATION_SLACK_MS.max((declared as f64 * TRUNCATION_SHARE) as u64);
        if decoded_ms.saturating_add(slack) < declared {
            return Some(format!(
                "truncated: {} decoded of the {} the container declares",
                crate::audio::fmt_duration(decoded_ms),
                crate::audio::fmt_duration(declared)
            ));
        }
    }
    if skipped > skipped_packets_allowed(good) {
        return Some(format!(
            "damaged: {skipped} of {} packets failed to decode",
            skipped.saturating_add(good)
        ));
    }
    None
}

/// Fingerprints the sound and the picture of one file: one decoding pass
/// per track (audio through symphonia and the crate's own Opus and AAC
/// decoders, video through OpenH264 or, with the `ffmpeg` feature,
/// FFmpeg), one after the other, and reports on every track.
///
/// No track is dropped in silence: one that cannot be decoded (a codec this
/// build lacks, damage) is in [`MediaFingerprints::tracks`] with why. A
/// file with neither sound nor picture decodable fails with the picture's
/// error (or the sound's when the picture's is only the absence of a video
/// track).
///
/// `role` is also the policy on damage: a [`Role::Reference`] (a
/// registration) is refused when a track is corrupt, truncated or has more
/// skipped packets than allowed, and goes ahead without a track in a codec
/// this build lacks (named in the report); a [`Role::Query`] (a lookup)
/// goes ahead on what decodes, the damage in the tracks' notes.
pub fn fingerprint_media_file(
    path: &Path,
    audio: &AudioConfig,
    audio_opts: &DecodeOptions,
    video: &VideoConfig,
    role: Role,
    video_opts: &VideoDecodeOptions,
) -> Result<MediaFingerprints> {
    let a = fingerprint_audio_file(path, audio, audio_opts);
    let v = fingerprint_video_file(path, video, role, video_opts);
    let mut tracks = Vec::new();
    let (audio, mut audio_error) = match a {
        Ok((fp, info)) => {
            tracks.push(of_sound(&info));
            tracks.extend(info.other_tracks.iter().map(|t| {
                not_fingerprinted(TrackKind::Sound, &info.container, &t.codec, t.why.clone())
            }));
            (Some((fp, info)), None)
        }
        Err(e) => {
            if let Some(report) = sound_not_decoded(&e) {
                tracks.push(report);
            }
            (None, Some(e))
        }
    };
    let (video, mut video_error) = match v {
        Ok((fp, info)) => {
            tracks.push(of_picture(&info));
            (Some((fp, info)), None)
        }
        Err(e) => {
            if let Some(report) = picture_not_decoded(&e) {
                tracks.push(report);
            }
            (None, Some(e))
        }
    };
    // What no role goes ahead without: the file could not be read, or it
    // is larger than allowed.
    let fatal = |e: &mut Error| matches!(e, Error::Io { .. } | Error::Limit(_));
    if let Some(e) = audio_error
        .take_if(fatal)
        .or_else(|| video_error.take_if(fatal))
    {
        return Err(e);
    }
    match (audio_error, video_error) {
        (Some(ae), Some(Error::NoVideoTrack | Error::UnknownFormat)) => return Err(ae),
        (Some(_), Some(ve)) => return Err(ve),
        // A registration is evidence: it holds the whole file or nothing,
        // so a damaged track refuses it even when the other one decoded.
        (Some(e), None) | (None, Some(e)) if role == Role::Reference && is_damage(&e) => {
            return Err(e)
        }
        _ => {}
    }
    if role == Role::Reference {
        if let Some(t) = tracks.iter().find(|t| t.fingerprinted && t.note.is_some()) {
            return Err(Error::Corrupt(format!(
                "the {} track ({}) is {}",
                t.kind.name(),
                t.codec,
                t.note.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(MediaFingerprints {
        audio,
        video,
        tracks,
    })
}

/// Whether `e` says the media is damaged (rather than in a codec this
/// build lacks, or without the track).
fn is_damage(e: &Error) -> bool {
    matches!(e, Error::Corrupt(_) | Error::InvalidStream(_))
}

/// The report on a sound track that failed, or `None` when there is none.
fn sound_not_decoded(e: &Error) -> Option<TrackReport> {
    let codec = match e {
        Error::NoAudioTrack | Error::UnknownFormat => return None,
        Error::UnsupportedCodec(name) => name.split(' ').next().unwrap_or("unknown"),
        _ => "unknown",
    };
    Some(not_fingerprinted(
        TrackKind::Sound,
        "unknown",
        codec,
        e.to_string(),
    ))
}

/// The report on a picture track that failed, or `None` when there is none.
fn picture_not_decoded(e: &Error) -> Option<TrackReport> {
    match e {
        Error::NoVideoTrack | Error::UnknownFormat => None,
        Error::VideoNeedsFfmpeg { container, codec } => Some(not_fingerprinted(
            TrackKind::Picture,
            container,
            codec,
            e.to_string(),
        )),
        Error::UnsupportedVideoCodec(codec) => Some(not_fingerprinted(
            TrackKind::Picture,
            "unknown",
            codec,
            e.to_string(),
        )),
        _ => Some(not_fingerprinted(
            TrackKind::Picture,
            "unknown",
            "unknown",
            e.to_string(),
        )),
    }
}
