//! The bounded pool that runs fingerprinting (and other blocking work) off
//! the async executor.
//!
//! `workers` tasks run at once on tokio's blocking threads; up to `queue`
//! more wait. A request that finds every slot taken is refused at once
//! with 503 `busy` and a `Retry-After`, before its body is read. Closing the
//! pool (shutdown) cancels what is still waiting; what runs finishes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, Code};

/// The pool.
#[derive(Debug)]
pub struct Pool {
    workers: usize,
    slots: Arc<Semaphore>,
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    closed: AtomicBool,
    retry_after_s: u64,
}

/// A slot held from the moment a request is admitted until its work ends.
#[derive(Debug)]
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Pool {
    /// A pool of `workers` (at least 1) with `queue` waiting places.
    pub fn new(workers: usize, queue: usize, retry_after_s: u64) -> Self {
        let workers = workers.max(1);
        Self {
            workers,
            slots: Arc::new(Semaphore::new(workers + queue)),
            running: Arc::new(Semaphore::new(workers)),
            waiting: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            retry_after_s,
        }
    }

    /// Admits a request, or refuses it with 503 `busy`.
    pub fn admit(&self) -> Result<Slot, ApiError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(ApiError::new(Code::Busy, "the server is shutting down")
                .retry_after(self.retry_after_s));
        }
        self.slots
            .clone()
            .try_acquire_owned()
            .map(Slot)
            .map_err(|_| {
                ApiError::new(Code::Busy, "the fingerprinting pool is full; retry later")
                    .retry_after(self.retry_after_s)
            })
    }

    /// Runs `f` on a blocking thread once a worker is free. The slot is
    /// released when `f` ends.
    pub async fn run<T: Send + 'static>(
        &self,
        slot: Slot,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = self.running.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = permit.map_err(|_| ApiError::new(Code::Busy, "cancelled: shutting down"))?;
        if self.closed.load(Ordering::SeqCst) {
            return Err(ApiError::new(
                Code::Busy,
                "cancelled: the server is shutting down",
            ));
        }
        let out = tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            drop(slot);
            out
        })
        .await;
        out.map_err(|e| ApiError::internal(&e))
    }

    /// Work waiting for a worker.
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Work running now.
    pub fn running(&self) -> usize {
        self.workers - self.running.available_permits()
    }

    /// Whether new work is refused.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Refuses new work, cancels waiting work and waits up to `grace` for
    /// running work. Returns whether everything finished.
    pub async fn close(&self, grace: Duration) -> bool {
        self.closed.store(true, Ordering::SeqCst);
        let all = u32::try_from(self.workers).unwrap_or(u32::MAX);
        tokio::time::timeout(grace, self.running.acquire_many(all))
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_pool_refuses_then_admits_again() {
        let pool = Arc::new(Pool::new(1, 1, 3));
        let a = pool.admit().expect("first");
        let b = pool.admit().expect("queued");
        let e = pool.admit().expect_err("full");
        assert_eq!((e.code, e.retry_after_s), (Code::Busy, Some(3)));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let p = pool.clone();
        let first = tokio::spawn(async move { p.run(a, move || rx.recv().is_ok()).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.running(), 1);
        let p = pool.clone();
        let second = tokio::spawn(async move { p.run(b, || 7).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.queue_depth(), 1);
        tx.send(()).expect("send");
        assert!(first.await.expect("join").expect("ran"));
        assert_eq!(second.await.expect("join").expect("ran"), 7);
        pool.admit().expect("slots were released");
        assert!(pool.close(Duration::from_secs(1)).await);
        assert_eq!(pool.admit().expect_err("closed").code, Code::Busy);
    }
}
