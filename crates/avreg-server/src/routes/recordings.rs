//! `/v1/recordings` and `/v1/jobs`: registration by upload or fingerprint,
//! reading recordings, polling registration jobs.

use avreg_registry::jobs::{JobId, JobOutcome};
use avreg_registry::{RecordingId, Registration};
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Action, Caller};
use crate::body;
use crate::dto::{
    JobAccepted, JobDoc, RecordingDoc, RecordingJson, RecordingPage, RegisterDoc,
    RegisterFingerprint, API_VERSION,
};
use crate::error::{ApiError, ErrorBody};
use crate::jobs;
use crate::media::{recording_from, RegisterForm};
use crate::AppState;

/// Registers a recording: a multipart upload (`title`, `media`) streamed to
/// a temporary file and fingerprinted in the bounded pool, or the JSON of
/// `avreg fingerprint --json` with a title. Answers 201 (registered) or 200
/// (the same bytes were registered before) when done within the server's
/// wait, else 202 with a job to poll.
#[utoipa::path(
    post,
    path = "/v1/recordings",
    tag = "recordings",
    request_body(content(
        (RegisterForm = "multipart/form-data"),
        (RegisterFingerprint = "application/json"),
    )),
    responses(
        (status = 201, description = "registered", body = RegisterDoc),
        (status = 200, description = "the same bytes were registered before", body = RegisterDoc),
        (status = 202, description = "still running: poll the job", body = JobAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 408, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn register(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require(Action::RegisterRecording)?;
    let upload = state.uploads().admit(caller.id())?;
    let o = state.options();
    let body = body::read(
        req,
        &state,
        Some(o.media_body_limit),
        o.fingerprint_body_limit,
        &["title"],
    )
    .await?;
    // The fingerprinting slot once the body has arrived: slow
    // uploads hold only their own upload places.
    let slot = state.pool().admit()?;
    let registry = state.registry_arc();
    let (actor, registrant) = (caller.actor(), caller.registrant());
    let recording = recording_from(body, &state, None)?;
    let work = move || -> Result<Registration, ApiError> {
        Ok(registry.register_for(&actor, &registrant, recording()?)?)
    };

    jobs::run(
        &state,
        caller.id(),
        (slot, upload),
        work,
        |r: &Registration| JobOutcome::Done {
            recording: r.recording().id,
            new: r.is_new(),
            fixation: None,
            opened: Vec::new(),
        },
        |r| {
            let status = if r.is_new() {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(register_doc(&r))).into_response())
        },
    )
    .await
}

fn register_doc(r: &Registration) -> RegisterDoc {
    RegisterDoc::new(r, None)
}

/// A registration job: `running`, `done` with the registration's answer, or
/// `failed` with its error. Only the key that started it (or an admin)
/// sees it.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "recordings",
    params(("id" = String, Path, description = "job id")),
    responses(
        (status = 200, body = JobDoc),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobDoc>, ApiError> {
    let not_found = || ApiError::not_found("no such job");
    let id: JobId = id.parse().map_err(|_| not_found())?;
    let (who, admin) = (caller.id(), caller.is_admin());
    let job = state
        .blocking(move |r| jobs::get(r, id, who, admin))
        .await??
        .ok_or_else(not_found)?;
    Ok(Json(JobDoc {
        version: API_VERSION,
        job_id: id.to_string(),
        state: job,
    }))
}

/// One recording.
#[utoipa::path(
    get,
    path = "/v1/recordings/{id}",
    tag = "recordings",
    params(("id" = String, Path, description = "recording id")),
    responses(
        (status = 200, body = RecordingDoc),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_recording(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RecordingDoc>, ApiError> {
    caller.require(Action::ReadRecordings)?;
    let id: RecordingId = id
        .parse()
        .map_err(|_| ApiError::not_found("no such recording"))?;
    let recording = state
        .blocking(move |r| r.recording(id))
        .await??
        .ok_or_else(|| ApiError::not_found("no such recording"))?;
    Ok(Json(RecordingDoc {
        version: API_VERSION,
        recording: (&recording).into(),
    }))
}

/// Paging of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items to skip (default 0).
    #[serde(default)]
    pub offset: u64,
    /// Items per page (default 100, at most the server's `max_page`).
    pub limit: Option<u64>,
}

/// The recordings, in registration order, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/recordings",
    tag = "recordings",
    params(Paging),
    responses(
        (status = 200, body = RecordingPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_recordings(
    State(state): State<AppState>,
    caller: Caller,
    paging: Result<Query<Paging>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RecordingPage>, ApiError> {
    caller.require(Action::ReadRecordings)?;
    let Query(p) = paging.map_err(|e| ApiError::invalid(e.body_text()))?;
    let limit = p.limit.unwrap_or(100).clamp(1, state.options().max_page);
    let (page, total) = state
        .blocking(move |r| r.recordings_page(p.offset, limit as usize))
        .await??;
    let recordings: Vec<RecordingJson> = page.iter().map(Into::into).collect();
    let end = p.offset.saturating_add(recordings.len() as u64);
    Ok(Json(RecordingPage {
        version: API_VERSION,
        recordings,
        total,
        next_offset: (end < total).then_some(end),
    }))
}
