//! The JSON shapes only the API has (jobs, batches, keys, audit pages),
//! each documented in the OpenAPI document. The shapes both edges share
//! (recordings, registrations, lookups, the fingerprint document) are
//! avreg-wire's, re-exported here; the conventions are the same: every
//! top-level document carries `"version": 1`, times are milliseconds, ids
//! UUID strings, hashes lowercase hex.

use avreg_registry::accounts::KeyRecord;
use avreg_registry::domain::audit::AuditEvent;
use avreg_registry::ledger::Revision;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ErrorBody;

pub use avreg_wire::{
    FingerprintDoc, LookupDoc, LookupResult, RecordingDoc, RecordingJson, RecordingPage,
    RegisterDoc, WIRE_VERSION as API_VERSION,
};

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
    pub state: JobState,
}

/// A job's state, as polled.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for, or being fingerprinted by, a worker.
    Running,
    /// Done: what `POST /v1/recordings` or `POST /v1/fixations/{id}/media`
    /// would have answered.
    Done {
        /// The registration's answer.
        result: Box<RegisterDoc>,
    },
    /// Failed: the error the route would have answered.
    Failed {
        /// The error.
        result: ErrorBody,
    },
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
    Err(ErrorBody),
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

/// One entity revision.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityDoc {
    /// 1.
    pub version: u32,
    /// The revision: `seq`, `at_ms`, `actor`, `op` and the `entity`
    /// (`{"kind", "entity"}`).
    pub revision: Revision,
}
