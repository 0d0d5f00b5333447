//! The JSON shapes of the API, each documented in the OpenAPI document.
//! They follow the CLI's `--json` shapes (README, "JSON output"): every
//! top-level document carries `"version": 1`, times are milliseconds, ids
//! UUID strings, hashes lowercase hex.

use avreg_fingerprint::audio::AudioFingerprint;
use avreg_fingerprint::video::VideoFingerprint;
use avreg_fingerprint::ContentHash;
use avreg_registry::accounts::KeyRecord;
use avreg_registry::domain::audit::AuditEvent;
use avreg_registry::{LookupMatch, Medium, Recording};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::media::Fingerprints;

/// Version of every JSON document the API answers.
pub const API_VERSION: u32 = 1;

/// A registered recording.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RecordingJson {
    /// UUID v7.
    pub id: String,
    /// Title as registered.
    pub title: String,
    /// Duration of the fingerprinted audio, ms.
    pub duration_ms: u64,
    /// blake3 of the registered bytes, hex: computed by the registry from
    /// the upload when `content_hash_verified`, else only what the sender
    /// of a fingerprint claimed (or the fingerprint's own hash).
    pub content_hash: String,
    /// Whether the registry computed `content_hash` from the bytes. An
    /// unverified hash is a claim: it proves nothing and deduplicates
    /// nothing.
    pub content_hash_verified: bool,
    /// Who registered it (`organisation:ID`, `performer:ID`, `key:ID`),
    /// when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registrant: Option<String>,
    /// Fingerprint algorithm.
    pub fingerprint_algorithm: String,
    /// Fingerprint algorithm version.
    pub fingerprint_version: u16,
    /// Unix ms.
    pub registered_at_ms: u64,
    /// Upload file name, if any.
    pub source_name: Option<String>,
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

/// The answer of a registration.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RegisterDoc {
    /// 1.
    pub version: u32,
    /// `registered` (201) or `existing` (200: the same bytes were registered before).
    pub status: String,
    /// The recording.
    pub recording: RecordingJson,
}

/// A registration still running (202).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    /// 1.
    pub version: u32,
    /// The job's id, to poll at `GET /v1/jobs/{id}`.
    pub job_id: String,
    /// `running`.
    pub status: String,
}

/// A job, polled.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobDoc {
    /// 1.
    pub version: u32,
    /// The job's id.
    pub job_id: String,
    /// `running`, `done` (with `result` a registration answer) or
    /// `failed` (with `result` an error body).
    #[serde(flatten)]
    pub state: crate::jobs::JobState,
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

/// A span in ms.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SpanJson {
    /// Start, ms.
    pub start_ms: u64,
    /// Duration, ms.
    pub duration_ms: u64,
}

/// One match.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MatchJson {
    /// The matched recording.
    pub recording: RecordingJson,
    /// Confidence in 0..1.
    pub score: f32,
    /// Query hashes agreeing on the match.
    pub aligned_hashes: u32,
    /// Playback speed of the query relative to the recording.
    pub speed: f32,
    /// The matched span in the query.
    pub query: SpanJson,
    /// The matched span in the recording.
    pub reference: SpanJson,
    /// Which medium matched: `audio`, `video` or `both`.
    pub medium: String,
    /// How the picture matched, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoEvidenceJson>,
    /// What the ledger knows of the matched recording's fixation (absent
    /// when the recording is no fixation's media).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixation: Option<crate::rights::MatchRights>,
    /// Whether the query's bytes are the recording's bytes.
    pub exact_content_match: bool,
}

impl MatchJson {
    /// A match, `exact` when the uploaded bytes are the recording's.
    pub fn new(m: &LookupMatch, query_hash: Option<&ContentHash>) -> Self {
        Self {
            recording: (&m.recording).into(),
            score: m.score,
            aligned_hashes: m.aligned,
            speed: m.speed,
            query: SpanJson {
                start_ms: m.query_start_ms,
                duration_ms: m.query_duration_ms,
            },
            reference: SpanJson {
                start_ms: m.ref_start_ms,
                duration_ms: m.ref_duration_ms,
            },
            medium: match m.medium {
                Medium::Audio => "audio",
                Medium::Video => "video",
                Medium::Both => "both",
            }
            .into(),
            video: m.video.map(|v| VideoEvidenceJson {
                score: v.score,
                aligned_frames: v.aligned_frames,
                mean_distance: v.mean_distance,
                mirrored: v.mirrored,
            }),
            fixation: None,
            exact_content_match: m.recording.content_hash_verified
                && query_hash.is_some_and(|h| *h == m.recording.content_hash),
        }
    }
}

/// How the picture matched.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VideoEvidenceJson {
    /// Video score, 0..1.
    pub score: f32,
    /// Distinct query frames agreeing on the offset.
    pub aligned_frames: u32,
    /// Mean Hamming distance (of 256 bits) of the aligned frames.
    pub mean_distance: f32,
    /// The query is a mirrored copy.
    pub mirrored: bool,
}

/// The query of a lookup.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct QueryJson {
    /// Duration of the query, ms.
    pub duration_ms: u64,
    /// blake3 of the uploaded clip; empty for a fingerprint query.
    pub content_hash: String,
    /// What the query carries: `audio`, `video` or `both`.
    pub medium: String,
}

/// A lookup's answer.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LookupResult {
    /// `match` or `no_match`.
    pub status: String,
    /// The query.
    pub query: QueryJson,
    /// Matches, best first.
    pub matches: Vec<MatchJson>,
}

/// The answer of `POST /v1/lookup`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LookupDoc {
    /// 1.
    pub version: u32,
    /// The result.
    #[serde(flatten)]
    pub result: LookupResult,
}

/// The answer of `POST /v1/lookup/batch`: one result per fingerprint, in
/// order; a fingerprint that cannot be used gets an error instead.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchDoc {
    /// 1.
    pub version: u32,
    /// One entry per fingerprint.
    pub results: Vec<BatchEntry>,
}

/// One entry of a batch answer.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchEntry {
    /// The lookup's result.
    Ok(LookupResult),
    /// Why this fingerprint was refused.
    Err(crate::error::ErrorBody),
}

/// The fingerprint document printed by `avreg fingerprint --json` (other
/// fields are ignored).
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct FingerprintDoc {
    /// Must be 1.
    pub version: u32,
    /// blake3 of the fingerprinted file, hex (used as the dedup key of a
    /// registration).
    #[serde(default)]
    pub content_hash: Option<String>,
    /// The fingerprint.
    pub fingerprint: FingerprintData,
    /// The picture's fingerprint, when the file had one.
    #[serde(default)]
    pub video: Option<FingerprintData>,
    /// Lookup only: the territory (ISO 3166-1 alpha-2) whose holders and
    /// term to report.
    #[serde(default)]
    pub territory: Option<String>,
    /// Lookup only: the date of the rights asked (YYYY-MM-DD, default
    /// today).
    #[serde(default)]
    pub date: Option<String>,
}

/// The fingerprint itself.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct FingerprintData {
    /// Base64 of the versioned binary fingerprint.
    pub data: String,
}

impl FingerprintDoc {
    /// The fingerprints and the content hash they claim.
    pub fn decode(&self) -> Result<(Fingerprints, Option<ContentHash>), ApiError> {
        if self.version != API_VERSION {
            return Err(ApiError::invalid(format!(
                "unsupported document version {}",
                self.version
            ))
            .field("version"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.fingerprint.data)
            .map_err(|_| ApiError::invalid("not base64").field("fingerprint.data"))?;
        let fp = AudioFingerprint::from_bytes(&bytes)
            .map_err(|e| ApiError::from(e).field("fingerprint.data"))?;
        // A search costs more than linearly in peaks: a fingerprint the
        // analysis could not have made is refused before any search.
        if let Some(why) = fp.implausible() {
            return Err(ApiError::invalid(why).field("fingerprint.data"));
        }
        let video = match &self.video {
            Some(v) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&v.data)
                    .map_err(|_| ApiError::invalid("not base64").field("video.data"))?;
                let v = VideoFingerprint::from_bytes(&bytes)
                    .map_err(|e| ApiError::from(e).field("video.data"))?;
                if let Some(why) = v.implausible() {
                    return Err(ApiError::invalid(why).field("video.data"));
                }
                Some(v)
            }
            None => None,
        };
        let hash = match &self.content_hash {
            Some(h) if !h.is_empty() => Some(h.parse::<ContentHash>().map_err(|_| {
                ApiError::invalid("content_hash is 64 hex digits").field("content_hash")
            })?),
            _ => None,
        };
        Ok((Fingerprints { audio: fp, video }, hash))
    }
}

/// A registration from a fingerprint computed elsewhere.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct RegisterFingerprint {
    /// Title of the recording.
    pub title: String,
    /// A file name to keep with it.
    #[serde(default)]
    pub source_name: Option<String>,
    /// The output of `avreg fingerprint --json`.
    pub fingerprint: FingerprintDoc,
}

/// Several fingerprints to identify.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct BatchRequest {
    /// Outputs of `avreg fingerprint --json`.
    pub fingerprints: Vec<FingerprintDoc>,
    /// The territory whose holders and term to report, for every entry.
    #[serde(default)]
    pub territory: Option<String>,
    /// The date of the rights asked (default today).
    #[serde(default)]
    pub date: Option<String>,
}

/// An audit event (see `avreg audit log --json`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuditEventJson {
    /// Version of the hashed form.
    pub version: u16,
    /// Sequence number, from 0.
    pub seq: u64,
    /// Unix ms.
    pub at_ms: u64,
    /// `local` or `key:ID`.
    pub actor: String,
    /// `register_recording`, `create_key`, `revoke_key`, …
    pub operation: String,
    /// `recording:ID`, `key:ID`, …
    pub entity: String,
    /// blake3 of the write's payload, hex.
    pub payload_hash: String,
    /// Hash of the previous event, hex.
    pub prev: String,
    /// This event's hash, hex.
    pub hash: String,
}

impl From<&AuditEvent> for AuditEventJson {
    fn from(e: &AuditEvent) -> Self {
        Self {
            version: e.version,
            seq: e.seq,
            at_ms: e.at_ms,
            actor: e.actor.clone(),
            operation: e.operation.clone(),
            entity: e.entity.clone(),
            payload_hash: e.payload_hash.to_string(),
            prev: e.prev.to_string(),
            hash: e.hash.to_string(),
        }
    }
}

/// A page of the audit log.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuditLogDoc {
    /// 1.
    pub version: u32,
    /// Events in order.
    pub events: Vec<AuditEventJson>,
    /// The `since` of the next page, absent on the last one.
    pub next_since: Option<u64>,
}

/// A head of the chain.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HeadJson {
    /// Sequence number of the last event.
    pub seq: u64,
    /// Its hash, hex.
    pub hash: String,
}

/// The result of verifying the audit chain.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VerifyDoc {
    /// 1.
    pub version: u32,
    /// Whether the chain verifies (and holds the `head` given, if any).
    pub ok: bool,
    /// The head, absent for an empty log or a chain that does not verify.
    pub head: Option<HeadJson>,
    /// The first event that does not fit, when `ok` is false.
    pub error: Option<String>,
}

/// The head of the audit chain.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HeadDoc {
    /// 1.
    pub version: u32,
    /// Absent for an empty log.
    pub head: Option<HeadJson>,
    /// The head signed with the registry's Ed25519 key (`seq`, `hash`,
    /// `signed_at_ms`, `public_key`, `signature`), as `avreg audit head`
    /// prints it; absent for an empty log.
    pub signed: Option<avreg_registry::domain::audit::SignedHead>,
}

/// A key to create.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewKeyJson {
    /// `admin`, `performer`, `agent`, `producer`, `platform`, `society` or `monitor`.
    pub role: String,
    /// Performer ids (performer and agent keys).
    #[serde(default)]
    pub performers: Vec<String>,
    /// Organisation id (producer keys).
    #[serde(default)]
    pub organisation: Option<String>,
    /// A free label.
    #[serde(default)]
    pub label: String,
}

/// An API key (never its secret).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct KeyJson {
    /// Key id.
    pub id: String,
    /// Role.
    pub role: String,
    /// Performer ids it is bound to.
    pub performers: Vec<String>,
    /// Organisation it is bound to.
    pub organisation: Option<String>,
    /// Label.
    pub label: String,
    /// Unix ms.
    pub created_at_ms: u64,
    /// Unix ms, if revoked.
    pub revoked_at_ms: Option<u64>,
}

impl From<&KeyRecord> for KeyJson {
    fn from(k: &KeyRecord) -> Self {
        use avreg_registry::accounts::Binding;
        let (performers, organisation) = match &k.bound_to {
            Binding::None => (vec![], None),
            Binding::Performers(ids) => (ids.iter().map(ToString::to_string).collect(), None),
            Binding::Organisation(o) => (vec![], Some(o.to_string())),
        };
        Self {
            id: k.id.to_string(),
            role: k.role.to_string(),
            performers,
            organisation,
            label: k.label.clone(),
            created_at_ms: k.created_at_ms,
            revoked_at_ms: k.revoked_at_ms,
        }
    }
}

/// A created key, with its secret: shown once.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CreatedKeyDoc {
    /// 1.
    pub version: u32,
    /// The key.
    pub key: KeyJson,
    /// `avreg_…`: give it to the holder; it cannot be shown again.
    pub secret: String,
}

/// The keys.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct KeysDoc {
    /// 1.
    pub version: u32,
    /// Every key, oldest first.
    pub keys: Vec<KeyJson>,
}

/// One key.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct KeyDoc {
    /// 1.
    pub version: u32,
    /// The key.
    pub key: KeyJson,
}

/// `/health` and `/ready`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StatusDoc {
    /// `ok`, or why not.
    pub status: String,
}
