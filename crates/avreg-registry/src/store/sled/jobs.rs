//! Registration jobs in the sled tree `jobs`: job id (16 B, time-ordered) →
//! versioned [`JobRecord`] JSON. Job writes are not audited (the
//! registration they make is) and not flushed at once: a job a crash
//! leaves `running` is marked interrupted at the next start. Ended jobs
//! are deleted after the registry's retention.

use super::{db_err, SledStore};
use crate::error::{Error, Result};
use crate::jobs::{JobId, JobOutcome, JobRecord, JOB_RECORD_VERSION};

const TREE: &str = "jobs";

fn decode(bytes: &[u8]) -> Result<JobRecord> {
    #[derive(serde::Deserialize)]
    struct Version {
        version: u16,
    }
    let v: Version = serde_json::from_slice(bytes)
        .map_err(|e| Error::Corrupt(format!("malformed job record: {e}")))?;
    if v.version != JOB_RECORD_VERSION {
        return Err(Error::UnsupportedVersion {
            what: "job record",
            found: u32::from(v.version),
            supported: u32::from(JOB_RECORD_VERSION),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("malformed job record: {e}")))
}

impl SledStore {
    fn jobs(&self) -> Result<sled::Tree> {
        self.db.open_tree(TREE).map_err(db_err)
    }

    /// Writes a job record (new or updated).
    pub(crate) fn put_job(&self, record: &JobRecord) -> Result<()> {
        let value = serde_json::to_vec(record)
            .map_err(|e| Error::Corrupt(format!("cannot encode a job: {e}")))?;
        self.jobs()?
            .insert(record.id.as_bytes(), value)
            .map_err(db_err)?;
        Ok(())
    }

    /// A job by id.
    pub(crate) fn job(&self, id: JobId) -> Result<Option<JobRecord>> {
        self.jobs()?
            .get(id.as_bytes())
            .map_err(db_err)?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Marks every running job as `interrupted` (ended `now_ms`). Returns
    /// how many were.
    pub(crate) fn interrupt_running_jobs(
        &self,
        interrupted: &JobOutcome,
        now_ms: u64,
    ) -> Result<usize> {
        let mut stopped = 0;
        for item in self.jobs()?.iter() {
            let (_, v) = item.map_err(db_err)?;
            let mut job = decode(&v)?;
            if job.finished_at_ms.is_none() {
                job.outcome = interrupted.clone();
                job.finished_at_ms = Some(now_ms);
                self.put_job(&job)?;
                stopped += 1;
            }
        }
        Ok(stopped)
    }

    /// Deletes the jobs started and ended before `before_ms`. Keys are in
    /// start order, so only the jobs started before it are read. Returns
    /// how many were deleted.
    pub(crate) fn forget_jobs(&self, before_ms: u64) -> Result<usize> {
        let tree = self.jobs()?;
        let mut forgotten = 0;
        for item in tree.iter() {
            let (k, v) = item.map_err(db_err)?;
            let job = decode(&v)?;
            if job.started_at_ms >= before_ms {
                break;
            }
            if job.finished_at_ms.is_some_and(|at| at < before_ms) {
                tree.remove(k).map_err(db_err)?;
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }
}
