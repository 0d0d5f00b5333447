//! Bounds on bodies in flight: at most `max_uploads` request bodies of the
//! fingerprinting routes arrive at once, and at most `max_uploads_per_key`
//! for any one key, so that slow uploads by one key hold neither the
//! fingerprinting pool (taken only once a body has arrived) nor every
//! upload place.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use avreg_registry::accounts::ApiKeyId;

use crate::error::{ApiError, Code};

/// The counters.
#[derive(Debug)]
pub struct Uploads {
    total: usize,
    per_key: usize,
    retry_after_s: u64,
    state: Arc<Mutex<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_key: HashMap<ApiKeyId, usize>,
}

/// One body in flight; dropping it frees its place.
#[derive(Debug)]
pub struct UploadPermit {
    key: ApiKeyId,
    state: Arc<Mutex<Counts>>,
}

impl Uploads {
    /// At most `total` bodies at once, `per_key` per key (each at least 1).
    pub fn new(total: usize, per_key: usize, retry_after_s: u64) -> Self {
        Self {
            total: total.max(1),
            per_key: per_key.max(1),
            retry_after_s,
            state: Arc::default(),
        }
    }

    /// A place for `key`'s body: 429 when the key has its share in flight,
    /// 503 when every place is taken.
    pub fn admit(&self, key: ApiKeyId) -> Result<UploadPermit, ApiError> {
        let mut c = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = c.by_key.get(&key).copied().unwrap_or(0);
        if mine >= self.per_key {
            return Err(ApiError::new(
                Code::RateLimited,
                format!(
                    "this key already has {mine} uploads in flight (at most {})",
                    self.per_key
                ),
            )
            .retry_after(self.retry_after_s));
        }
        if c.total >= self.total {
            return Err(
                ApiError::new(Code::Busy, "too many uploads in flight; retry later")
                    .retry_after(self.retry_after_s),
            );
        }
        c.total += 1;
        *c.by_key.entry(key).or_default() += 1;
        Ok(UploadPermit {
            key,
            state: self.state.clone(),
        })
    }
}

impl Drop for UploadPermit {
    fn drop(&mut self) {
        let mut c = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.by_key.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                c.by_key.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_share_and_places_come_back() {
        let u = Uploads::new(3, 2, 1);
        let (a, b) = (ApiKeyId::new(), ApiKeyId::new());
        let a1 = u.admit(a).unwrap();
        let _a2 = u.admit(a).unwrap();
        assert_eq!(u.admit(a).unwrap_err().code, Code::RateLimited);
        let _b1 = u.admit(b).unwrap();
        assert_eq!(u.admit(b).unwrap_err().code, Code::Busy, "all 3 taken");
        drop(a1);
        let _b2 = u.admit(b).unwrap();
        assert_eq!(u.state.lock().unwrap().total, 3);
    }
}
