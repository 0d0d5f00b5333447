//! The [`Registry`]'s registration jobs: start, finish, read, and settle
//! those a restart cut short.

use super::{now_ms, Registry};
use crate::accounts::ApiKeyId;
use crate::error::Result;
use crate::jobs::{JobId, JobOutcome, JobRecord};

/// Finished jobs are kept this long.
pub const JOB_RETENTION_MS: u64 = 7 * 24 * 3600 * 1000;

impl Registry {
    /// Records a new running job of `owner`.
    pub fn start_job(&self, owner: ApiKeyId) -> Result<JobRecord> {
        self.ensure_space()?;
        let job = JobRecord::start(owner, now_ms());
        self.store.put_job(&job)?;
        Ok(job)
    }

    /// Records the end of a job (an unknown id is ignored), and forgets
    /// jobs that ended more than [`JOB_RETENTION_MS`] ago.
    pub fn finish_job(&self, id: JobId, outcome: JobOutcome) -> Result<()> {
        let now = now_ms();
        if let Some(mut job) = self.store.job(id)? {
            job.outcome = outcome;
            job.finished_at_ms = Some(now);
            self.store.put_job(&job)?;
        }
        self.store
            .forget_jobs(now.saturating_sub(JOB_RETENTION_MS))?;
        Ok(())
    }

    /// A job by id.
    pub fn job(&self, id: JobId) -> Result<Option<JobRecord>> {
        self.store.job(id)
    }

    /// At a service's start: every job still running was cut short by the
    /// previous run and is marked with `interrupted`; finished jobs older
    /// than [`JOB_RETENTION_MS`] are forgotten. Returns (interrupted,
    /// forgotten).
    pub fn settle_jobs(&self, interrupted: &JobOutcome) -> Result<(usize, usize)> {
        let now = now_ms();
        let stopped = self.store.interrupt_running_jobs(interrupted, now)?;
        let forgotten = self
            .store
            .forget_jobs(now.saturating_sub(JOB_RETENTION_MS))?;
        Ok((stopped, forgotten))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RegistryOptions;

    #[test]
    fn jobs_outlive_a_reopen_and_running_ones_are_interrupted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let owner = ApiKeyId::new();
        let interrupted = JobOutcome::Failed {
            code: "busy".into(),
            message: "interrupted".into(),
            field: None,
        };
        let failed = JobOutcome::Failed {
            code: "invalid".into(),
            message: "no audio".into(),
            field: Some("media".into()),
        };
        let (cut, ended) = {
            let reg = Registry::open(dir.path(), RegistryOptions::default()).expect("open");
            let cut = reg.start_job(owner).expect("start").id;
            let ended = reg.start_job(owner).expect("start").id;
            reg.finish_job(ended, failed.clone()).expect("finish");
            reg.finish_job(JobId::new(), failed.clone())
                .expect("an unknown job is ignored");
            assert_eq!(
                reg.job(cut).expect("job").expect("kept").outcome,
                JobOutcome::Running
            );
            (cut, ended)
        };
        let reg = Registry::open(dir.path(), RegistryOptions::default()).expect("reopen");
        assert_eq!(reg.settle_jobs(&interrupted).expect("settle"), (1, 0));
        let cut = reg.job(cut).expect("job").expect("kept");
        assert_eq!((cut.owner, cut.outcome), (owner, interrupted.clone()));
        assert!(cut.finished_at_ms.is_some());
        assert_eq!(reg.job(ended).expect("job").expect("kept").outcome, failed);
        assert_eq!(reg.settle_jobs(&interrupted).expect("settle"), (0, 0));
        assert!(reg.job(JobId::new()).expect("read").is_none());
        // Finished jobs past the retention are forgotten.
        let forgotten = reg.store.forget_jobs(u64::MAX).expect("forget");
        assert_eq!(forgotten, 2);
        assert!(reg.job(ended).expect("read").is_none());
    }
}
