//! Registration jobs: a registration that takes longer than the request is
//! willing to wait answers 202 with a job id, polled at `GET /v1/jobs/{id}`.
//!
//! Jobs are kept in the registry's store (`Registry::start_job` and its
//! siblings): a poll after a restart still answers, and a job the restart
//! cut short answers `failed` with the code `busy` (send it again: a
//! registration that did finish answers 200 with its recording).

use avreg_registry::accounts::ApiKeyId;
use avreg_registry::jobs::{JobId, JobOutcome};
use avreg_registry::Registry;
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::{RecordingJson, RegisterDoc, API_VERSION};
use crate::error::{ApiError, Code, ErrorBody, ErrorDetail};

/// A job's state, as polled.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for, or being fingerprinted by, a worker.
    Running,
    /// Done: the registration's answer.
    Done {
        /// What `POST /v1/recordings` would have answered.
        result: RegisterDoc,
    },
    /// Failed: the error `POST /v1/recordings` would have answered.
    Failed {
        /// The error.
        result: ErrorBody,
    },
}

/// What a job that a restart cut short says.
pub fn interrupted() -> JobOutcome {
    failed(&ApiError::new(
        Code::Busy,
        "the service stopped before this registration finished; send it again \
         (if it was stored, the answer is 200 with its recording)",
    ))
}

/// The stored outcome of a failed job.
pub fn failed(e: &ApiError) -> JobOutcome {
    let body = e.body();
    // The code as error bodies write it.
    let code = serde_json::to_value(body.error.code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    JobOutcome::Failed {
        code,
        message: body.error.message,
        field: body.error.field,
    }
}

/// A job's state, if it exists and `caller` owns it (or is an admin).
pub fn get(
    registry: &Registry,
    id: JobId,
    caller: ApiKeyId,
    admin: bool,
) -> Result<Option<JobState>, ApiError> {
    let Some(job) = registry.job(id)?.filter(|j| admin || j.owner == caller) else {
        return Ok(None);
    };
    Ok(Some(match job.outcome {
        JobOutcome::Running => JobState::Running,
        JobOutcome::Done { recording, new } => match registry.recording(recording)? {
            Some(r) => JobState::Done {
                result: RegisterDoc {
                    version: API_VERSION,
                    status: if new { "registered" } else { "existing" }.into(),
                    recording: RecordingJson::from(&r),
                },
            },
            None => JobState::Failed {
                result: ApiError::new(Code::Internal, "the job's recording is missing").body(),
            },
        },
        JobOutcome::Failed {
            code,
            message,
            field,
        } => JobState::Failed {
            result: ErrorBody {
                error: ErrorDetail {
                    code: serde_json::from_value(code.into()).unwrap_or(Code::Internal),
                    message,
                    field,
                },
            },
        },
    }))
}
