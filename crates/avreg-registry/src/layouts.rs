//! The three posting layouts behind one interface, for the
//! `index_layouts` benchmark. Not a stable API: the registry itself uses
//! the segment layout through [`crate::Registry`].

use std::path::Path;
use std::sync::Arc;

use avreg_fingerprint::matching::{DocId, HashKey, Posting};

use crate::error::{Error, Result};
use crate::index::segmented::SegmentIndex;
use crate::index::{IndexOptions, Manifest, PostingLayout};
use crate::store::sled::postings::{KeyPerPosting, PackedPerKey};
use crate::store::Store;

/// Which layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// (a) sled, one key per posting.
    SledKeyPerPosting,
    /// (b) sled, one packed value per hash key (merge operator).
    SledPackedPerKey,
    /// (c) immutable memory-mapped segment files (the registry's choice).
    Segments,
}

impl Layout {
    /// All three, in the order of the issue.
    pub const ALL: [Layout; 3] = [
        Layout::SledKeyPerPosting,
        Layout::SledPackedPerKey,
        Layout::Segments,
    ];
}

/// An open posting layout in a directory of its own.
pub struct LayoutIndex {
    inner: Box<dyn PostingLayout>,
}

impl std::fmt::Debug for LayoutIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayoutIndex")
            .field("layout", &self.inner.name())
            .finish()
    }
}

impl LayoutIndex {
    /// Opens `layout` in `dir`. The segment layout keeps its manifest in a
    /// small sled store under `dir/manifest` and its files in `dir/index`.
    pub fn open(dir: &Path, layout: Layout, options: IndexOptions) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let inner: Box<dyn PostingLayout> = match layout {
            Layout::SledKeyPerPosting => Box::new(KeyPerPosting::open(dir)?),
            Layout::SledPackedPerKey => Box::new(PackedPerKey::open(dir)?),
            Layout::Segments => {
                let manifest: Arc<dyn Manifest> =
                    Arc::new(Store::open(&dir.join("manifest"), 64 << 20)?);
                Box::new(SegmentIndex::open(&dir.join("index"), manifest, options)?)
            }
        };
        Ok(Self { inner })
    }

    /// The layout's name.
    pub fn name(&self) -> &'static str {
        self.inner.name()
    }

    /// Indexes a document.
    pub fn add(&self, doc: DocId, hashes: &[(HashKey, u32)]) -> Result<()> {
        self.inner.add(doc, hashes)
    }

    /// Makes everything durable.
    pub fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    /// Appends the postings of `key`.
    pub fn postings(&self, key: HashKey, out: &mut Vec<Posting>) -> Result<()> {
        self.inner.postings(key, out)
    }
}

/// Total size of the files under `path`.
pub fn dir_bytes(path: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path).map_err(Error::io(path))? {
        let entry = entry.map_err(Error::io(path))?;
        let meta = entry.metadata().map_err(Error::io(entry.path()))?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
