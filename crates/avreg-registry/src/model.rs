//! The registry's public values: recording ids, recordings, registration
//! outcomes, lookup answers and statistics.

use std::fmt;

use avreg_fingerprint::audio::AudioFingerprint;
use avreg_fingerprint::track::TrackReport;
use avreg_fingerprint::video::VideoFingerprint;
use avreg_fingerprint::ContentHash;
use serde::{Deserialize, Serialize};

uuid_id!(
    /// The public id of a registered recording: a UUID v7 (time-ordered),
    /// shown and parsed in the hyphenated form. Stored as its 16 big-endian
    /// bytes, so sled's key order is registration order.
    RecordingId,
    ParseRecordingIdError,
    ParseRecordingIdError
);

/// The reason a string is not a recording id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a recording id is a hyphenated uuid")]
pub struct ParseRecordingIdError;

/// A registered recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// Public id.
    pub id: RecordingId,
    /// Title as registered.
    pub title: String,
    /// Duration of the fingerprinted audio.
    pub duration_ms: u64,
    /// blake3 of the registered file's bytes: computed by the registry from
    /// the uploaded bytes when [`Recording::content_hash_verified`], else
    /// the hash a client claimed (or, with no claim, the hash of the
    /// fingerprint it sent), which proves nothing.
    pub content_hash: ContentHash,
    /// Whether the registry computed `content_hash` from the bytes itself.
    /// A claimed hash never deduplicates and never decides ownership.
    /// Recordings stored before this field existed read as unverified.
    #[serde(default)]
    pub content_hash_verified: bool,
    /// Who registered it: the party (`organisation:ID`, `performer:ID`) of
    /// the key that sent it, or the key (`key:ID`) when it acts for no
    /// party, or `local` for the command line. Registrations are
    /// deduplicated per registrant. `None` for recordings stored before
    /// this field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrant: Option<String>,
    /// Name of the fingerprint algorithm.
    pub fingerprint_algorithm: String,
    /// Version of the fingerprint algorithm.
    pub fingerprint_version: u16,
    /// When it was registered, Unix milliseconds.
    pub registered_at_ms: u64,
    /// Where the file came from (a file name, an upload name), if known.
    pub source_name: Option<String>,
    /// The picture's fingerprint, for recordings with video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoSummary>,
    /// The registered file's tracks: which were fingerprinted (with the
    /// duration decoded), which not and why. Empty for a registration of
    /// a fingerprint (the registry never saw the file) and for recordings
    /// stored before this field existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<TrackReport>,
}

/// What a recording's video fingerprint holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VideoSummary {
    /// Name of the video fingerprint algorithm.
    pub algorithm: String,
    /// Its version.
    pub version: u16,
    /// Duration of the fingerprinted picture, ms.
    pub duration_ms: u64,
    /// Frame hashes stored (every view of every sampled frame).
    pub hashes: u32,
}

/// Which medium a match rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Medium {
    /// The sound only.
    Audio,
    /// The picture only.
    Video,
    /// Sound and picture agree on the recording and the offset.
    Both,
}

impl Medium {
    /// What a pair of fingerprints can be identified by: the sound when it
    /// has peaks (is not silent), the picture when it has frame hashes. A
    /// query with neither counts as `audio` (and is refused as too short).
    pub fn of(audio: &AudioFingerprint, video: Option<&VideoFingerprint>) -> Self {
        let sound = !audio.is_silent();
        let picture = video.is_some_and(|v| !v.frames.is_empty());
        match (sound, picture) {
            (true, true) => Medium::Both,
            (false, true) => Medium::Video,
            _ => Medium::Audio,
        }
    }

    /// `audio`, `video` or `both`, as on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Medium::Audio => "audio",
            Medium::Video => "video",
            Medium::Both => "both",
        }
    }
}

impl fmt::Display for Medium {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a registration knows of the media's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// blake3 of the bytes, computed here from the bytes themselves: the
    /// same bytes registered again by the same registrant give
    /// [`Registration::Existing`].
    Computed(ContentHash),
    /// Only a fingerprint was sent, perhaps with the hash its sender says
    /// the file has. The claim is kept and shown as unverified; it never
    /// deduplicates (the same fingerprint sent again by the same
    /// registrant does).
    Claimed(Option<ContentHash>),
}

/// A recording to register.
#[derive(Clone, Debug)]
pub struct NewRecording {
    /// Title; must not be empty.
    pub title: String,
    /// What is known of the media's bytes.
    pub content: Content,
    /// The audio fingerprint; only its reference-level peaks are stored.
    /// A fingerprint without peaks means the recording has no sound to
    /// match on (a silent or absent track); it then needs a video
    /// fingerprint.
    pub fingerprint: AudioFingerprint,
    /// Where the file came from, if known.
    pub source_name: Option<String>,
    /// The picture's fingerprint (made with [`avreg_fingerprint::video::Role::Reference`]),
    /// for recordings with video.
    pub video: Option<VideoFingerprint>,
    /// What the decoding edge reported on the file's tracks (empty when
    /// the registry is sent a fingerprint, not the file).
    pub media: Vec<TrackReport>,
}

/// The outcome of a registration. Registering the same bytes twice is not
/// an error: it returns the recording registered first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registration {
    /// A new recording was registered.
    Registered(Recording),
    /// These bytes were registered before, as this recording.
    Existing(Recording),
}

impl Registration {
    /// The recording, new or existing.
    pub fn recording(&self) -> &Recording {
        match self {
            Registration::Registered(r) | Registration::Existing(r) => r,
        }
    }

    /// Whether this registration created the recording.
    pub fn is_new(&self) -> bool {
        matches!(self, Registration::Registered(_))
    }
}

/// One recording matched by a lookup, with the matched spans.
#[derive(Clone, Debug, PartialEq)]
pub struct LookupMatch {
    /// The matched recording.
    pub recording: Recording,
    /// Confidence in 0..1.
    pub score: f32,
    /// Query hashes agreeing on the winning offset.
    pub aligned: u32,
    /// Time scale of the query relative to the reference (1.05: it plays
    /// 5 % faster).
    pub speed: f32,
    /// Frequency scale of the query relative to the reference (1.05: 5 %
    /// higher). Equal to `speed` for a plain speed change, 1 for a tempo
    /// change that keeps the pitch.
    pub pitch: f32,
    /// Start of the matched span in the query, ms.
    pub query_start_ms: u64,
    /// Length of the matched span in the query, ms.
    pub query_duration_ms: u64,
    /// Start of the matched span in the reference, ms.
    pub ref_start_ms: u64,
    /// Length of the matched span in the reference, ms.
    pub ref_duration_ms: u64,
    /// Which medium matched.
    pub medium: Medium,
    /// The picture's evidence, when the video matched.
    pub video: Option<VideoEvidence>,
}

/// How the picture matched.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VideoEvidence {
    /// Video score, 0..1.
    pub score: f32,
    /// Distinct query frames agreeing on the offset.
    pub aligned_frames: u32,
    /// Mean Hamming distance (of 256 bits) of the aligned frames.
    pub mean_distance: f32,
    /// The query is a mirrored copy.
    pub mirrored: bool,
}

/// Sizes of the registry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryStats {
    /// Registered recordings.
    pub recordings: u64,
    /// Total duration of the registered audio, ms.
    pub audio_ms: u64,
    /// Recordings with a video fingerprint.
    #[serde(default)]
    pub video_recordings: u64,
    /// Postings in the video index.
    #[serde(default)]
    pub video_postings: u64,
    /// Postings in the fingerprint index (segments and buffer).
    pub postings: u64,
    /// Bytes of index segment files on disk.
    pub index_bytes: u64,
    /// Bytes of the record store on disk.
    pub store_bytes: u64,
    /// Index segment files.
    pub segments: usize,
}
