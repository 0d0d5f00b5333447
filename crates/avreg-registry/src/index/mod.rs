//! The fingerprint posting index: hash key → (document, frame) postings.
//!
//! The index is derived data: sled's forward fingerprints are the source of
//! truth and the index can always be rebuilt from them. Three layouts were
//! measured (see `INDEX_LAYOUT.md` and avreg-eval's `index_layouts`
//! benchmark, which keeps the two rejected sled layouts):
//!
//! - sled, one key per posting;
//! - sled, one packed posting list per hash key;
//! - immutable segment files ([`segmented::SegmentIndex`]), the one the
//!   registry uses, and the one [`standalone::StandaloneIndex`] exposes
//!   for that benchmark.

pub(crate) mod segment;
pub(crate) mod segmented;
pub(crate) mod standalone;
pub(crate) mod varint;

use crate::error::{Error, Result};

/// Tuning of the segment index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexOptions {
    /// Buffered postings that trigger writing a segment (12 bytes of memory
    /// each; 2^21 ≈ 19 hours of audio at ~30 postings per second).
    pub buffer_postings: usize,
    /// Tiered merging: once this many segments share a size tier (sizes
    /// within a factor of `merge_factor`), they are merged into one.
    pub merge_factor: usize,
    /// Segments are not merged beyond this many postings.
    pub max_merged_postings: u64,
}

impl Default for IndexOptions {
    fn default() -> Self {
        Self {
            buffer_postings: 1 << 21,
            merge_factor: 4,
            max_merged_postings: 1 << 28,
        }
    }
}

impl IndexOptions {
    /// Sets [`IndexOptions::buffer_postings`].
    pub fn with_buffer_postings(mut self, n: usize) -> Self {
        self.buffer_postings = n;
        self
    }

    /// Sets [`IndexOptions::merge_factor`] (at least 2).
    pub fn with_merge_factor(mut self, n: usize) -> Self {
        self.merge_factor = n.max(2);
        self
    }
}

/// Persistent list of the live segment files. The registry keeps it in
/// sled, so a segment becomes part of the index in one transaction.
pub(crate) trait Manifest: Send + Sync {
    /// The live segments.
    fn segments(&self) -> Result<Vec<SegmentMeta>>;
    /// A segment id never used before, even across crashes.
    fn next_segment_id(&self) -> Result<u64>;
    /// Atomically and durably adds `add` (if any) and removes the segments
    /// `remove`.
    fn commit(&self, add: Option<&SegmentMeta>, remove: &[u64]) -> Result<()>;
}

/// A manifest entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentMeta {
    pub id: u64,
    pub postings: u64,
    pub docs: u64,
    pub bytes: u64,
}

/// Version of the stored [`SegmentMeta`].
const SEGMENT_META_VERSION: u8 = 1;

impl SegmentMeta {
    /// Versioned stored form: version u8 | id, postings, docs, bytes (u64 LE).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(33);
        v.push(SEGMENT_META_VERSION);
        for x in [self.id, self.postings, self.docs, self.bytes] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self> {
        match b.first() {
            Some(&SEGMENT_META_VERSION) if b.len() == 33 => {
                let f = |i: usize| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(&b[1 + 8 * i..9 + 8 * i]);
                    u64::from_le_bytes(a)
                };
                Ok(Self {
                    id: f(0),
                    postings: f(1),
                    docs: f(2),
                    bytes: f(3),
                })
            }
            Some(&v) if v > SEGMENT_META_VERSION => Err(Error::UnsupportedVersion {
                what: "manifest entry",
                found: u32::from(v),
                supported: u32::from(SEGMENT_META_VERSION),
            }),
            _ => Err(Error::Corrupt("malformed manifest entry".into())),
        }
    }
}

#[cfg(test)]
mod tests;
