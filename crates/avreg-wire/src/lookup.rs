//! The lookup answer (DOMAIN.md, "The lookup answer"): matches best first,
//! each with its spans, its evidence and what the ledger says of the
//! matched span.

use avreg_fingerprint::track::TrackReport;
use avreg_fingerprint::ContentHash;
use avreg_registry::ledger::{Identification, MatchRights};
use avreg_registry::{Medium, VideoEvidence};
use serde::Serialize;
use utoipa::ToSchema;

use crate::RecordingJson;

/// A span in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct SpanJson {
    /// Start, ms.
    pub start_ms: u64,
    /// Duration, ms.
    pub duration_ms: u64,
}

/// One match.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct MatchJson {
    /// The matched recording.
    pub recording: RecordingJson,
    /// Confidence in 0..1.
    pub score: f32,
    /// Query hashes agreeing on the match.
    pub aligned_hashes: u32,
    /// Time scale of the query relative to the recording (1.05: it plays
    /// 5 % faster).
    pub speed: f32,
    /// Frequency scale of the query relative to the recording (1.05: 5 %
    /// higher): equal to `speed` for a plain speed change, 1 for a tempo
    /// change that keeps the pitch, `speed` 1 for a pitch shift.
    pub pitch: f32,
    /// The matched span in the query.
    pub query: SpanJson,
    /// The matched span in the recording.
    pub reference: SpanJson,
    /// Which medium matched: `audio`, `video` or `both`.
    pub medium: Medium,
    /// How the picture matched, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoEvidence>,
    /// What the ledger knows of the matched recording's fixation (absent
    /// when the recording is no fixation's media).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixation: Option<MatchRights>,
    /// Whether the query's bytes are the recording's bytes: both hashes
    /// computed by the registry, never a claim.
    pub exact_content_match: bool,
}

impl MatchJson {
    /// One identified match. `query_hash` is the blake3 of the query's
    /// bytes when the registry computed it (an upload, a local file), never
    /// a hash a client claimed.
    pub fn new(found: Identification, query_hash: Option<&ContentHash>) -> Self {
        let m = found.matched;
        Self {
            exact_content_match: m.recording.content_hash_verified
                && query_hash.is_some_and(|h| *h == m.recording.content_hash),
            recording: (&m.recording).into(),
            score: m.score,
            aligned_hashes: m.aligned,
            speed: m.speed,
            pitch: m.pitch,
            query: SpanJson {
                start_ms: m.query_start_ms,
                duration_ms: m.query_duration_ms,
            },
            reference: SpanJson {
                start_ms: m.ref_start_ms,
                duration_ms: m.ref_duration_ms,
            },
            medium: m.medium,
            video: m.video,
            fixation: found.fixation,
        }
    }
}

/// The query of a lookup.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct QueryJson {
    /// The clip's file name (the CLI's argument; absent over HTTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Duration of the query, ms.
    pub duration_ms: u64,
    /// blake3 of the clip's bytes; empty for a fingerprint query.
    pub content_hash: String,
    /// What the query carries: `audio`, `video` or `both`.
    pub medium: Medium,
    /// The clip's tracks: which were fingerprinted, which not and why,
    /// and any damage found (the lookup went ahead on what decoded).
    /// Absent for a fingerprint query.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tracks: Vec<TrackReport>,
}

/// Whether anything matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LookupStatus {
    /// At least one match.
    Match,
    /// None.
    NoMatch,
}

/// A lookup's result.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LookupResult {
    /// `match` or `no_match`.
    pub status: LookupStatus,
    /// The query.
    pub query: QueryJson,
    /// Matches, best first.
    pub matches: Vec<MatchJson>,
}

impl LookupResult {
    /// The answer for `query` from what the registry identified.
    /// `query_hash`: see [`MatchJson::new`].
    pub fn new(
        query: QueryJson,
        found: Vec<Identification>,
        query_hash: Option<&ContentHash>,
    ) -> Self {
        Self {
            status: if found.is_empty() {
                LookupStatus::NoMatch
            } else {
                LookupStatus::Match
            },
            query,
            matches: found
                .into_iter()
                .map(|f| MatchJson::new(f, query_hash))
                .collect(),
        }
    }
}

/// The answer of `POST /v1/lookup` and of `avreg lookup --json`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LookupDoc {
    /// 1.
    pub version: u32,
    /// The result.
    #[serde(flatten)]
    pub result: LookupResult,
}

impl From<LookupResult> for LookupDoc {
    fn from(result: LookupResult) -> Self {
        Self {
            version: crate::WIRE_VERSION,
            result,
        }
    }
}
