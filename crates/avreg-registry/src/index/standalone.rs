//! The segment index outside a registry, for measuring it.

use std::path::Path;
use std::sync::Arc;

use avreg_fingerprint::matching::{DocId, HashKey, Posting, PostingSource};

use super::segmented::SegmentIndex;
use super::{IndexOptions, Manifest};
use crate::error::{Error, Result};
use crate::store::Store;

/// The registry's posting index (immutable segment files plus a buffer,
/// merged in the background; see `INDEX_LAYOUT.md`) in a folder of its own,
/// with its manifest in a small sled store beside the files.
///
/// A [`Registry`](crate::Registry) keeps this index under its store and
/// feeds it itself; this type exists so the layout can be measured against
/// others (avreg-eval's `index_layouts` benchmark) and is not needed to use
/// the registry.
#[derive(Debug)]
pub struct StandaloneIndex {
    index: SegmentIndex,
}

impl StandaloneIndex {
    /// Opens (or creates) the index in `dir`: segment files in `dir/index`,
    /// the manifest in `dir/manifest`.
    pub fn open(dir: &Path, options: IndexOptions) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let manifest: Arc<dyn Manifest> = Arc::new(Store::open(&dir.join("manifest"), 64 << 20)?);
        let index = SegmentIndex::open(&dir.join("index"), manifest, options)?;
        Ok(Self { index })
    }

    /// Indexes the hashes (key, anchor frame) of a new document; a full
    /// buffer is written as a segment in the background.
    pub fn add(&self, doc: DocId, hashes: &[(HashKey, u32)]) -> Result<()> {
        self.index.add(doc, hashes)?;
        self.index.maybe_flush()
    }

    /// Writes the buffer as a segment and makes everything added durable.
    pub fn flush(&self) -> Result<()> {
        self.index.flush()
    }

    /// Appends the postings of `key` to `out`.
    pub fn postings(&self, key: HashKey, out: &mut Vec<Posting>) {
        PostingSource::postings(&*self.index.snapshot(), key, out);
    }
}
