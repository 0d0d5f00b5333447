//! Turning a media file into what the registry needs: its content hash, its
//! fingerprints (sound and picture) and a description of the streams.

use std::path::Path;

use avreg_decode::audio::{AudioInfo, DecodeOptions};
use avreg_decode::video::{VideoDecodeOptions, VideoInfo};
use avreg_decode::{fingerprint_media_file, hash_file, TrackReport};
use avreg_fingerprint::audio::AudioFingerprint;
use avreg_fingerprint::video::{Role, VideoConfig, VideoFingerprint};
use avreg_fingerprint::ContentHash;

use crate::config::Config;

/// A media file, fingerprinted.
#[derive(Debug)]
pub struct Analysed {
    pub content_hash: ContentHash,
    /// The sound's fingerprint; empty (no peaks) when the file has no
    /// decodable audio track.
    pub fingerprint: AudioFingerprint,
    pub info: Option<AudioInfo>,
    /// The picture's fingerprint, when the file has a decodable video track
    /// (or is a picture).
    pub video: Option<VideoFingerprint>,
    pub video_info: Option<VideoInfo>,
    /// Every track of the file: fingerprinted or not, and why.
    pub tracks: Vec<TrackReport>,
}

impl Analysed {
    /// What the fingerprints can be identified by: `audio`, `video` or
    /// `both` (the same answer as the API's for the same file).
    pub fn medium(&self) -> avreg_registry::Medium {
        avreg_registry::Medium::of(&self.fingerprint, self.video.as_ref())
    }

    /// Duration of the longer track.
    pub fn duration_ms(&self) -> u64 {
        self.fingerprint
            .duration_ms()
            .max(self.video.as_ref().map_or(0, |v| v.duration_ms))
    }
}

/// Hashes and fingerprints `path` in bounded memory (sound and picture,
/// one decoding pass each). `role`: `Reference` to register, `Query` to
/// look up.
pub fn analyse(path: &Path, config: &Config, role: Role) -> Result<Analysed, avreg_decode::Error> {
    let content_hash = hash_file(path)?;
    let max_duration_ms = Some(config.media.max_duration_s.saturating_mul(1000));
    let options = DecodeOptions {
        max_duration_ms,
        ..DecodeOptions::default()
    };
    let video_options = VideoDecodeOptions {
        max_duration_ms,
        ..VideoDecodeOptions::default()
    };
    let matching = config.registry_options().matching;
    let found = fingerprint_media_file(
        path,
        &matching.audio,
        &options,
        &VideoConfig::default(),
        role,
        &video_options,
    )?;
    let (fingerprint, info) = match found.audio {
        Some((fp, info)) => (fp, Some(info)),
        None => (
            AudioFingerprint::from_parts(
                found.video.as_ref().map_or(0, |(v, _)| v.duration_ms),
                Vec::new(),
            ),
            None,
        ),
    };
    report_tracks(path, &found.tracks);
    let (video, video_info) = match found.video {
        Some((v, i)) if !v.frames.is_empty() => (Some(v), Some(i)),
        _ => (None, None),
    };
    Ok(Analysed {
        content_hash,
        fingerprint,
        info,
        video,
        video_info,
        tracks: found.tracks,
    })
}

/// Says on stderr which tracks of `path` were not fingerprinted and why,
/// and the damage found in those that were: no track is dropped in
/// silence (the `--json` answers carry the same reports).
fn report_tracks(path: &Path, tracks: &[TrackReport]) {
    for t in tracks.iter().filter(|t| t.note.is_some()) {
        let what = if t.fingerprinted {
            "fingerprinted what decoded"
        } else {
            "not fingerprinted"
        };
        eprintln!(
            "avreg: {}: {} track ({} in {}) {what}: {}",
            path.display(),
            t.kind.name(),
            t.codec,
            t.container,
            t.note.as_deref().unwrap_or_default()
        );
    }
}

/// Extensions `avreg import` picks up.
pub const MEDIA_EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "mp3", "mp2", "mp1", "m4a", "m4b", "mp4", "m4v", "mov", "aac", "ogg",
    "oga", "mkv", "mka", "webm", "aif", "aiff", "aifc", "caf", "opus",
];

/// Video extensions `avreg import` also picks up when built with the
/// `ffmpeg` feature (the containers only FFmpeg reads).
pub const FFMPEG_VIDEO_EXTENSIONS: &[&str] = &[
    "avi", "mpg", "mpeg", "m1v", "m2v", "vob", "ts", "m2ts", "mts", "ogv", "flv", "wmv", "asf",
    "ivf", "obu", "3gp", "3g2", "mxf", "dv", "nut", "y4m", "hevc", "h265", "h264", "264",
];

/// Whether `path` looks like a media file by its extension.
pub fn is_media(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        let e = e.to_ascii_lowercase();
        MEDIA_EXTENSIONS.contains(&e.as_str())
            || (cfg!(feature = "ffmpeg") && FFMPEG_VIDEO_EXTENSIONS.contains(&e.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_video_containers_are_media_with_the_ffmpeg_feature() {
        assert!(is_media(Path::new("talk.MKV")));
        assert!(is_media(Path::new("clip.mp4")));
        assert!(!is_media(Path::new("notes.txt")));
        assert_eq!(is_media(Path::new("old.avi")), cfg!(feature = "ffmpeg"));
        assert_eq!(is_media(Path::new("tv.ts")), cfg!(feature = "ffmpeg"));
    }
}
