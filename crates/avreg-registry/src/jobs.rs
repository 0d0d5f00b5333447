//! Registration jobs: a registration that outlasts its request is polled by
//! job id. Job records are kept in the store, so a poll after a restart
//! still answers; a job the restart cut short is marked interrupted.

use serde::{Deserialize, Serialize};

use crate::accounts::ApiKeyId;
use crate::domain::ids::{ConflictId, FixationId};
use crate::model::RecordingId;

/// Version of the stored [`JobRecord`].
pub const JOB_RECORD_VERSION: u16 = 1;

uuid_id!(
    /// A job's id (a UUID v7: ids sort by start time).
    JobId,
    ParseJobIdError,
    ParseJobIdError
);

/// The reason a string is not a job id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a job id is a hyphenated uuid")]
pub struct ParseJobIdError;

/// Where a job is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum JobOutcome {
    /// Waiting for, or being fingerprinted by, a worker.
    Running,
    /// Registered: `new` is false when the same content was registered
    /// before (the recording is the earlier one).
    Done {
        /// The recording.
        recording: RecordingId,
        /// Whether this job registered it.
        new: bool,
        /// The fixation it was attached to, for media registered for a
        /// fixation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fixation: Option<FixationId>,
        /// The conflicts the registration opened.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        opened: Vec<ConflictId>,
    },
    /// Failed, with the error the request would have answered (the
    /// service's stable code, a message, the field at fault).
    Failed {
        /// Stable error code.
        code: String,
        /// For people.
        message: String,
        /// The request field at fault.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
}

/// A stored job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// [`JOB_RECORD_VERSION`].
    pub version: u16,
    /// The job.
    pub id: JobId,
    /// The key that started it (only it, or an admin, may read it).
    pub owner: ApiKeyId,
    /// When it started, ms since the epoch.
    pub started_at_ms: u64,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<u64>,
    /// Its state.
    pub outcome: JobOutcome,
}

impl JobRecord {
    /// A running job started now by `owner`.
    pub fn start(owner: ApiKeyId, now_ms: u64) -> Self {
        Self {
            version: JOB_RECORD_VERSION,
            id: JobId::new(),
            owner,
            started_at_ms: now_ms,
            finished_at_ms: None,
            outcome: JobOutcome::Running,
        }
    }
}
