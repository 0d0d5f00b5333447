//! Recordings and registrations.

use avreg_fingerprint::track::TrackReport;
use avreg_registry::domain::ids::FixationId;
use avreg_registry::domain::model::Conflict;
use avreg_registry::{Recording, Registration, VideoSummary};
use serde::Serialize;
use utoipa::ToSchema;

/// A registered recording.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RecordingJson {
    /// UUID v7.
    pub id: String,
    /// Title as registered.
    pub title: String,
    /// Duration of the fingerprinted audio, ms.
    pub duration_ms: u64,
    /// blake3 of the registered bytes, hex: computed by the registry from
    /// the bytes when `content_hash_verified`, else only what the sender
    /// of a fingerprint claimed (or the fingerprint's own hash).
    pub content_hash: String,
    /// Whether the registry computed `content_hash` from the bytes. An
    /// unverified hash is a claim: it proves nothing and deduplicates
    /// nothing.
    pub content_hash_verified: bool,
    /// Who registered it (`organisation:ID`, `performer:ID`, `key:ID`,
    /// `local`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registrant: Option<String>,
    /// Fingerprint algorithm.
    pub fingerprint_algorithm: String,
    /// Fingerprint algorithm version.
    pub fingerprint_version: u16,
    /// Unix ms.
    pub registered_at_ms: u64,
    /// The registered file's name, if any.
    pub source_name: Option<String>,
    /// The picture's fingerprint, for recordings with video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoSummary>,
    /// The registered file's tracks: each fingerprinted one with the
    /// duration decoded, each other one with why not. Absent for a
    /// registration of a fingerprint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<TrackReport>,
}

impl From<&Recording> for RecordingJson {
    fn from(r: &Recording) -> Self {
        Self {
            id: r.id.to_string(),
            title: r.title.clone(),
            duration_ms: r.duration_ms,
            content_hash: r.content_hash.to_hex(),
            content_hash_verified: r.content_hash_verified,
            registrant: r.registrant.clone(),
            fingerprint_algorithm: r.fingerprint_algorithm.clone(),
            fingerprint_version: r.fingerprint_version,
            registered_at_ms: r.registered_at_ms,
            source_name: r.source_name.clone(),
            video: r.video.clone(),
            media: r.media.clone(),
        }
    }
}

/// One recording.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RecordingDoc {
    /// 1.
    pub version: u32,
    /// The recording.
    pub recording: RecordingJson,
}

/// A page of recordings.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RecordingPage {
    /// 1.
    pub version: u32,
    /// Recordings in registration order.
    pub recordings: Vec<RecordingJson>,
    /// How many recordings there are.
    pub total: u64,
    /// The `offset` of the next page, absent on the last one.
    pub next_offset: Option<u64>,
}

/// Whether a registration wrote anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStatus {
    /// A new recording (HTTP 201).
    Registered,
    /// The same bytes were registered before by the same registrant;
    /// nothing was written (HTTP 200).
    Existing,
}

/// The answer of a registration.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RegisterDoc {
    /// 1.
    pub version: u32,
    /// `registered` or `existing`.
    pub status: RegistrationStatus,
    /// The recording.
    pub recording: RecordingJson,
    /// The fixation the recording was registered as the media of.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub fixation: Option<FixationId>,
    /// As a fixation's media: the conflicts the registration opened
    /// (reference overlaps with other registrants' fixations), possibly
    /// none; absent for a registration of no fixation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened: Option<Vec<Conflict>>,
}

impl RegisterDoc {
    /// The answer for `registration`: of no fixation, or as the media of
    /// `fixation` with the conflicts that opened.
    pub fn new(registration: &Registration, fixation: Option<(FixationId, Vec<Conflict>)>) -> Self {
        Self::of(registration.recording(), registration.is_new(), fixation)
    }

    /// The answer for `recording`, `new` or already registered.
    pub fn of(
        recording: &Recording,
        new: bool,
        fixation: Option<(FixationId, Vec<Conflict>)>,
    ) -> Self {
        let (fixation, opened) = fixation.unzip();
        Self {
            version: crate::WIRE_VERSION,
            status: if new {
                RegistrationStatus::Registered
            } else {
                RegistrationStatus::Existing
            },
            recording: recording.into(),
            fixation,
            opened,
        }
    }
}
