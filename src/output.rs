//! The `--json` output of the commands: stable shapes, each carrying
//! `"version": 1`. Documented in the README; changing a shape means bumping
//! [`JSON_VERSION`].

use avreg_decode::audio::AudioInfo;
use avreg_decode::video::VideoInfo;
use avreg_fingerprint::audio::{self, AudioFingerprint};
use avreg_fingerprint::video::{self, Role, VideoFingerprint};
use avreg_registry::{LookupMatch, Recording};
use base64::Engine;
use serde::Serialize;

/// `println!` that never panics: a closed stdout (`avreg … | head`) ends
/// the output quietly instead of aborting the command mid-write.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stdout().lock(), $($arg)*);
    }};
}
/// Version of every JSON document the CLI prints.
pub const JSON_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct FingerprintDoc {
    pub version: u32,
    pub file: String,
    pub content_hash: String,
    pub duration_ms: u64,
    /// `audio`, `video` or `both`: the tracks fingerprinted.
    pub medium: &'static str,
    /// The audio stream; `null` when the file has none.
    pub audio: Option<AudioInfo>,
    /// The sound's fingerprint (without peaks when there is no sound).
    pub fingerprint: FingerprintJson,
    /// The picture's fingerprint, when the file has video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoJson>,
}

#[derive(Debug, Serialize)]
pub struct VideoJson {
    pub algorithm: &'static str,
    pub algorithm_version: u16,
    /// `reference` (cropped views, to register) or `query` (mirrored view,
    /// to look up).
    pub role: &'static str,
    pub stream: VideoInfo,
    /// Sampled frames.
    pub frames: usize,
    /// Frame hashes (every view).
    pub hashes: usize,
    /// The versioned binary video fingerprint, base64.
    pub data: String,
}

impl VideoJson {
    pub fn new(fp: &VideoFingerprint, info: VideoInfo, role: Role) -> Self {
        Self {
            algorithm: video::ALGORITHM,
            algorithm_version: fp.version,
            role: match role {
                Role::Reference => "reference",
                Role::Query => "query",
            },
            stream: info,
            frames: fp.sampled_frames(),
            hashes: fp.frames.len(),
            data: base64::engine::general_purpose::STANDARD.encode(fp.to_bytes()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FingerprintJson {
    pub algorithm: &'static str,
    pub algorithm_version: u16,
    pub format_version: u16,
    pub peaks: usize,
    pub reference_peaks: usize,
    pub reference_hashes: usize,
    /// The versioned binary fingerprint (all peaks, query density), base64.
    pub data: String,
}

impl FingerprintJson {
    pub fn new(fp: &AudioFingerprint, config: &audio::AudioConfig) -> Self {
        Self {
            algorithm: audio::ALGORITHM,
            algorithm_version: audio::ALGORITHM_VERSION,
            format_version: audio::FORMAT_VERSION,
            peaks: fp.peaks().len(),
            reference_peaks: fp.peaks().iter().filter(|p| p.level >= 2).count(),
            reference_hashes: fp.reference_hashes(config).len(),
            data: base64::engine::general_purpose::STANDARD.encode(fp.to_bytes()),
        }
    }
}

/// A recording as the CLI shows it.
#[derive(Debug, Serialize)]
pub struct RecordingJson {
    pub id: String,
    pub title: String,
    pub duration_ms: u64,
    pub content_hash: String,
    pub fingerprint_algorithm: String,
    pub fingerprint_version: u16,
    pub registered_at_ms: u64,
    pub source_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<avreg_registry::VideoSummary>,
}

impl From<&Recording> for RecordingJson {
    fn from(r: &Recording) -> Self {
        Self {
            id: r.id.to_string(),
            title: r.title.clone(),
            duration_ms: r.duration_ms,
            content_hash: r.content_hash.to_hex(),
            fingerprint_algorithm: r.fingerprint_algorithm.clone(),
            fingerprint_version: r.fingerprint_version,
            video: r.video.clone(),
            registered_at_ms: r.registered_at_ms,
            source_name: r.source_name.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RegisterDoc {
    pub version: u32,
    /// `registered` (new) or `existing` (the same bytes were registered
    /// before; nothing was written).
    pub status: &'static str,
    pub recording: RecordingJson,
    /// With `--fixation`: the fixation the recording is the media of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixation: Option<avreg_registry::domain::ids::FixationId>,
    /// With `--fixation`: reference overlaps opened with other registrants'
    /// fixations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts_opened: Vec<avreg_registry::domain::model::Conflict>,
}

#[derive(Debug, Serialize)]
pub struct Span {
    pub start_ms: u64,
    pub duration_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct MatchJson {
    pub recording: RecordingJson,
    pub score: f32,
    pub aligned_hashes: u32,
    pub speed: f32,
    pub query: Span,
    pub reference: Span,
    /// The clip is byte-for-byte the registered file.
    pub exact_content_match: bool,
    /// `audio`, `video` or `both`: which medium matched.
    pub medium: avreg_registry::Medium,
    /// The picture's evidence, when the video matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<avreg_registry::VideoEvidence>,
}

impl MatchJson {
    pub fn new(m: &LookupMatch, exact: bool) -> Self {
        Self {
            recording: (&m.recording).into(),
            score: m.score,
            aligned_hashes: m.aligned,
            speed: m.speed,
            query: Span {
                start_ms: m.query_start_ms,
                duration_ms: m.query_duration_ms,
            },
            reference: Span {
                start_ms: m.ref_start_ms,
                duration_ms: m.ref_duration_ms,
            },
            exact_content_match: exact,
            medium: m.medium,
            video: m.video,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct QueryJson {
    pub file: String,
    pub duration_ms: u64,
    pub content_hash: String,
    /// `audio`, `video` or `both`: the tracks the query had.
    pub medium: &'static str,
}

#[derive(Debug, Serialize)]
pub struct LookupDoc {
    pub version: u32,
    /// `match` or `no_match`.
    pub status: &'static str,
    pub query: QueryJson,
    pub matches: Vec<MatchJson>,
}

#[derive(Debug, Serialize)]
pub struct ImportFailure {
    pub file: String,
    pub error: String,
}

#[derive(Debug, Serialize)]
pub struct ImportDoc {
    pub version: u32,
    pub files: usize,
    pub registered: usize,
    pub existing: usize,
    pub failed: Vec<ImportFailure>,
    pub audio_ms: u64,
    pub elapsed_ms: u64,
}

/// Prints a JSON document on stdout. A reader that went away (a closed
/// pipe, as with `| head`) is not an error.
pub fn print_json(doc: &impl Serialize) -> Result<(), crate::Failure> {
    let text = serde_json::to_string_pretty(doc).map_err(crate::Failure::internal)?;
    outln!("{text}");
    Ok(())
}

/// Milliseconds as `m:ss.mmm`.
pub fn clock(ms: u64) -> String {
    format!("{}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000)
}
