//! The registered video fingerprints that video matching reads (frame
//! times and full hashes), kept in memory only up to a budget.
//!
//! sled holds every video fingerprint (`video_forward`); this cache holds
//! the most recently used ones, at most `budget` frame hashes in all, and
//! reads the others from the store when a search needs them. Without the
//! budget every registered video stayed resident: memory grew with each
//! registration, and a key registering long fingerprints could exhaust it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use avreg_fingerprint::matching::DocId;
use avreg_fingerprint::video::{FrameHash, VideoFingerprint};

use crate::error::{Error, Result};
use crate::store::Store;

/// Bytes of one cached frame hash (the budget's unit).
pub(crate) const FRAME_BYTES: u64 = std::mem::size_of::<FrameHash>() as u64;

/// The cache when the options leave it at 0: 256 MiB of frame hashes.
pub const DEFAULT_VIDEO_CACHE_BYTES: u64 = 256 << 20;

/// Most recently used video fingerprints, by document number.
pub(crate) struct VideoFrames {
    /// Most frame hashes held at once.
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Fingerprint and the tick of its last use.
    by_doc: HashMap<u32, (Arc<VideoFingerprint>, u64)>,
    /// Frame hashes held.
    frames: usize,
    tick: u64,
}

impl VideoFrames {
    /// An empty cache of at most `bytes` of frame hashes.
    pub(crate) fn new(bytes: u64) -> Self {
        let bytes = if bytes == 0 {
            DEFAULT_VIDEO_CACHE_BYTES
        } else {
            bytes
        };
        Self {
            budget: usize::try_from(bytes / FRAME_BYTES)
                .unwrap_or(usize::MAX)
                .max(1),
            inner: Mutex::default(),
        }
    }

    /// Keeps `fp` as document `doc`'s (a fingerprint longer than the whole
    /// budget is not kept: it is read from the store when needed).
    pub(crate) fn insert(&self, doc: DocId, fp: Arc<VideoFingerprint>) {
        let n = fp.frames.len();
        if n > self.budget {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.tick += 1;
        let tick = inner.tick;
        if let Some((old, _)) = inner.by_doc.insert(doc.0, (fp, tick)) {
            inner.frames -= old.frames.len();
        }
        inner.frames += n;
        if inner.frames > self.budget {
            inner.evict(self.budget - self.budget / 8);
        }
    }

    /// Document `doc`'s fingerprint: from memory, or read from the store
    /// (and kept). `None`: the document has no video.
    pub(crate) fn get(&self, store: &Store, doc: DocId) -> Result<Option<Arc<VideoFingerprint>>> {
        {
            let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            inner.tick += 1;
            let tick = inner.tick;
            if let Some((fp, used)) = inner.by_doc.get_mut(&doc.0) {
                *used = tick;
                return Ok(Some(fp.clone()));
            }
        }
        let Some(id) = store.doc_recording(doc)? else {
            return Ok(None);
        };
        let Some(bytes) = store.video_forward(id)? else {
            return Ok(None);
        };
        let fp =
            Arc::new(VideoFingerprint::from_bytes(&bytes).map_err(|e| {
                Error::Corrupt(format!("video fingerprint of recording {id}: {e}"))
            })?);
        self.insert(doc, fp.clone());
        Ok(Some(fp))
    }

    /// Frame hashes held now (at most the budget).
    pub(crate) fn resident_frames(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .frames
    }
}

impl Inner {
    /// Drops the least recently used fingerprints until at most `keep`
    /// frame hashes are held.
    fn evict(&mut self, keep: usize) {
        let mut by_age: Vec<(u64, u32, usize)> = self
            .by_doc
            .iter()
            .map(|(&doc, (fp, tick))| (*tick, doc, fp.frames.len()))
            .collect();
        by_age.sort_unstable();
        for (_, doc, n) in by_age {
            if self.frames <= keep {
                break;
            }
            self.by_doc.remove(&doc);
            self.frames -= n;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;
    use avreg_fingerprint::video::{PdqHash, View, ALGORITHM_VERSION};

    fn fp(frames: usize) -> Arc<VideoFingerprint> {
        Arc::new(VideoFingerprint {
            version: ALGORITHM_VERSION,
            duration_ms: frames as u64 * 250,
            frames: (0..frames)
                .map(|i| FrameHash {
                    time_ms: i as u32 * 250,
                    hash: PdqHash([i as u64; 4]),
                    quality: 100,
                    view: View::Full,
                })
                .collect(),
        })
    }

    #[test]
    fn the_least_recently_used_go_first_and_the_budget_holds() {
        let cache = VideoFrames::new(100 * FRAME_BYTES);
        for doc in 0..10 {
            cache.insert(DocId(doc), fp(30));
            assert!(cache.resident_frames() <= 100);
        }
        let inner = cache.inner.lock().unwrap();
        assert!(inner.by_doc.contains_key(&9), "the newest is kept");
        assert!(!inner.by_doc.contains_key(&0), "the oldest went");
        drop(inner);
        cache.insert(DocId(99), fp(101));
        assert!(
            cache.resident_frames() <= 100,
            "larger than the budget: not kept"
        );
    }
}
