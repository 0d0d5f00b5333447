//! Sound and picture of one file.

use std::path::Path;

use avreg_fingerprint::audio::{AudioConfig, AudioFingerprint};
use avreg_fingerprint::video::{Role, VideoConfig, VideoFingerprint};

use crate::audio::{fingerprint_audio_file, AudioInfo, DecodeOptions};
use crate::error::{Error, Result};
use crate::video::{fingerprint_video_file, VideoDecodeOptions, VideoInfo};

/// Both fingerprints of one media file.
#[derive(Debug)]
pub struct MediaFingerprints {
    /// The audio fingerprint, if the file has a decodable audio track.
    pub audio: Option<(AudioFingerprint, AudioInfo)>,
    /// The video fingerprint, if the file has a decodable video track.
    pub video: Option<(VideoFingerprint, VideoInfo)>,
}

/// Fingerprints the sound and the picture of one file: one decoding pass
/// per track (audio through symphonia, video through OpenH264 or, with the
/// `ffmpeg` feature, FFmpeg), one after
/// the other. A file with only one of them gives that one; a file with
/// neither fails with the video error (or the audio error when the video
/// error is only the absence of a video track).
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
    match (a, v) {
        (Err(ae), Err(Error::NoVideoTrack | Error::UnknownFormat)) => Err(ae),
        (Err(_), Err(ve)) => Err(ve),
        (a, v) => Ok(MediaFingerprints {
            audio: a.ok(),
            video: v.ok(),
        }),
    }
}
