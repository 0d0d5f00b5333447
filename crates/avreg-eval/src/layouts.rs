//! The three posting layouts behind one interface, for the
//! `index_layouts` benchmark (`INDEX_LAYOUT.md` in avreg-registry): the two
//! sled layouts the registry rejected live here, the segment layout is the
//! registry's own ([`StandaloneIndex`]).

use std::path::Path;

use anyhow::{Context, Result};
use avreg_fingerprint::matching::{DocId, HashKey, Posting};
use avreg_registry::{IndexOptions, StandaloneIndex};

mod rejected;

use rejected::{KeyPerPosting, PackedPerKey};

/// One way of storing postings.
trait PostingLayout: Send + Sync {
    /// Short name for reports.
    fn name(&self) -> &'static str;
    /// Indexes the hashes of a new document.
    fn add(&self, doc: DocId, hashes: &[(HashKey, u32)]) -> Result<()>;
    /// Makes everything added durable in the layout's own files.
    fn flush(&self) -> Result<()>;
    /// Appends the postings of `key` to `out`.
    fn postings(&self, key: HashKey, out: &mut Vec<Posting>) -> Result<()>;
}

impl PostingLayout for StandaloneIndex {
    fn name(&self) -> &'static str {
        "segments"
    }

    fn add(&self, doc: DocId, hashes: &[(HashKey, u32)]) -> Result<()> {
        Ok(StandaloneIndex::add(self, doc, hashes)?)
    }

    fn flush(&self) -> Result<()> {
        Ok(StandaloneIndex::flush(self)?)
    }

    fn postings(&self, key: HashKey, out: &mut Vec<Posting>) -> Result<()> {
        StandaloneIndex::postings(self, key, out);
        Ok(())
    }
}

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
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let inner: Box<dyn PostingLayout> = match layout {
            Layout::SledKeyPerPosting => Box::new(KeyPerPosting::open(dir)?),
            Layout::SledPackedPerKey => Box::new(PackedPerKey::open(dir)?),
            Layout::Segments => Box::new(StandaloneIndex::open(dir, options)?),
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
    let listing = || format!("listing {}", path.display());
    for entry in std::fs::read_dir(path).with_context(listing)? {
        let entry = entry.with_context(listing)?;
        let meta = entry
            .metadata()
            .with_context(|| format!("reading {}", entry.path().display()))?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
