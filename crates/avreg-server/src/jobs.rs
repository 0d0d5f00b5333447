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

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::dto::{JobAccepted, JobState, RegisterDoc, API_VERSION};
use crate::error::{ApiError, Code, ErrorBody, ErrorDetail};
use crate::pool::Slot;
use crate::uploads::UploadPermit;
use crate::AppState;

/// Runs `work` in the fingerprinting pool as job `owner`'s: the answer
/// (`answer` of its result) if it ends within `sync_wait`, else 202 with
/// the job to poll. `done` says what the job records when it succeeds;
/// the registration metrics count the outcome. The job keeps the upload's
/// place (`upload`) until its work ends, as it keeps the upload's temporary
/// file: a key's jobs count against its uploads in flight, so one key
/// cannot fill the pool's queue with 202s.
pub async fn run<T: Send + 'static>(
    state: &AppState,
    owner: ApiKeyId,
    (slot, upload): (Slot, UploadPermit),
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    done: impl FnOnce(&T) -> JobOutcome + Send + 'static,
    answer: impl FnOnce(T) -> Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    let job = state.blocking(move |r| r.start_job(owner)).await??.id;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let st = state.clone();
    tokio::spawn(async move {
        let result = st.pool().run(slot, work).await.and_then(|r| r);
        drop(upload);
        let outcome = match &result {
            Ok(r) => done(r),
            Err(e) => failed(e),
        };
        st.metrics().registration(match &outcome {
            JobOutcome::Done { new: true, .. } => "registered",
            JobOutcome::Done { new: false, .. } => "existing",
            _ => "failed",
        });
        match st.blocking(move |r| r.finish_job(job, outcome)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(%job, error = %e, "cannot record the end of a job"),
            Err(e) => tracing::error!(%job, error = %e.message, "cannot record the end of a job"),
        }
        let _ = tx.send(result);
    });
    match tokio::time::timeout(state.options().sync_wait, rx).await {
        Ok(Ok(result)) => answer(result?),
        Ok(Err(e)) => Err(ApiError::internal(&e)),
        Err(_) => Ok((
            StatusCode::ACCEPTED,
            [(header::LOCATION, format!("/v1/jobs/{job}"))],
            Json(JobAccepted {
                version: API_VERSION,
                job_id: job.to_string(),
                status: "running".into(),
            }),
        )
            .into_response()),
    }
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
        JobOutcome::Done {
            recording,
            new,
            fixation,
            opened,
        } => match registry.recording(recording)? {
            Some(r) => {
                // The conflicts as they are now.
                let fixation = match fixation {
                    Some(f) => {
                        let view = registry.view();
                        let mut conflicts = Vec::new();
                        for id in opened {
                            conflicts.extend(view.conflict(id)?);
                        }
                        Some((f, conflicts))
                    }
                    None => None,
                };
                JobState::Done {
                    result: Box::new(RegisterDoc::of(&r, new, fixation)),
                }
            }
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
