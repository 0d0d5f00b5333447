//! Registration jobs: a registration that takes longer than the request is
//! willing to wait answers 202 with a job id, polled at `GET /v1/jobs/{id}`.
//!
//! Jobs live in memory (a restart forgets them; the registrations they made
//! are in the store). Finished jobs are kept up to a bound, oldest dropped
//! first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use avreg_registry::accounts::ApiKeyId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::RegisterDoc;
use crate::error::ErrorBody;

/// Finished jobs kept for polling.
const KEEP_FINISHED: usize = 10_000;

/// A job's state.
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

#[derive(Debug)]
struct Job {
    owner: ApiKeyId,
    state: JobState,
}

/// The job table.
#[derive(Debug, Default)]
pub struct Jobs {
    inner: Mutex<(HashMap<uuid::Uuid, Job>, VecDeque<uuid::Uuid>)>,
}

impl Jobs {
    /// A new running job owned by `owner`.
    pub fn start(&self, owner: ApiKeyId) -> uuid::Uuid {
        let id = uuid::Uuid::now_v7();
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0.insert(
            id,
            Job {
                owner,
                state: JobState::Running,
            },
        );
        id
    }

    /// Records the end of a job.
    pub fn finish(&self, id: uuid::Uuid, state: JobState) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (jobs, finished) = &mut *g;
        if let Some(job) = jobs.get_mut(&id) {
            job.state = state;
            finished.push_back(id);
        }
        while finished.len() > KEEP_FINISHED {
            if let Some(old) = finished.pop_front() {
                jobs.remove(&old);
            }
        }
    }

    /// A job's state, if it exists and `caller` owns it (or `admin`).
    pub fn get(&self, id: uuid::Uuid, caller: ApiKeyId, admin: bool) -> Option<JobState> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0.get(&id)
            .filter(|j| admin || j.owner == caller)
            .map(|j| j.state.clone())
    }
}
