//! The `--json` output only the CLI prints (the fingerprint document, an
//! import's report): stable shapes, each carrying `"version": 1`,
//! documented in the README. The shapes the CLI shares with the API
//! (recordings, registrations, lookups) are avreg-wire's; changing a shape
//! means bumping [`JSON_VERSION`].

use avreg_decode::audio::AudioInfo;
use avreg_decode::video::VideoInfo;
use avreg_fingerprint::audio::{self, AudioFingerprint};
use avreg_fingerprint::video::{self, Role, VideoFingerprint};
use avreg_registry::Medium;
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
pub const JSON_VERSION: u32 = avreg_wire::WIRE_VERSION;

#[derive(Debug, Serialize)]
pub struct FingerprintDoc {
    pub version: u32,
    pub file: String,
    pub content_hash: String,
    pub duration_ms: u64,
    /// `audio`, `video` or `both`: what the fingerprints can be identified
    /// by (a silent sound track does not count).
    pub medium: Medium,
    /// The audio stream; `null` when the file has none.
    pub audio: Option<AudioInfo>,
    /// The sound's fingerprint (without peaks when there is no sound).
    pub fingerprint: FingerprintJson,
    /// The picture's fingerprint, when the file has video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoJson>,
    /// Every track of the file: fingerprinted or not, and why.
    pub tracks: Vec<avreg_decode::TrackReport>,
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
