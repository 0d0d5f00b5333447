//! The segment index: a small in-memory buffer of recent postings plus
//! immutable, memory-mapped segment files, merged in size tiers (the
//! Lucene/tantivy pattern).
//!
//! Readers take an [`Arc`] of the current [`Snapshot`] (segments + buffer
//! runs, all immutable) and search it without any lock; writers build a new
//! snapshot and swap it in. One writer at a time (a mutex), so a snapshot
//! always shows whole documents.
//!
//! The buffer is a list of sorted runs merged like a binary counter (a run
//! is merged into its predecessor while it is at least half as long), so it
//! holds O(log n) runs and a lookup is a binary search in each. It is never
//! persisted: on open, the owner re-adds the documents no segment covers
//! (each segment lists the documents it covers).
//!
//! Writing a segment: temporary file, fsync, rename, fsync the directory,
//! then one manifest transaction. Merging: the merged file is written the
//! same way and the manifest swaps it for its inputs in one transaction; the
//! inputs are deleted afterwards. Files the manifest does not reference
//! (left by a crash) are deleted on open.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use avreg_fingerprint::matching::{DocId, HashKey, Posting, PostingSource};

use super::segment::{self, Segment, SegmentWriter, KEY_BITS};
use super::{IndexOptions, Manifest, SegmentMeta};
use crate::error::{Error, Result};

/// A sorted run of buffered postings.
#[derive(Debug)]
struct Run {
    /// Sorted by (key, doc, frame).
    entries: Vec<(u32, Posting)>,
    docs: Vec<u32>,
}

/// What a lookup sees: immutable segments and buffer runs.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    segments: Vec<Arc<Segment>>,
    runs: Vec<Arc<Run>>,
}

impl Snapshot {
    fn buffered(&self) -> usize {
        self.runs.iter().map(|r| r.entries.len()).sum()
    }

    /// Postings held.
    pub(crate) fn posting_count(&self) -> u64 {
        self.segments.iter().map(|s| s.postings()).sum::<u64>() + self.buffered() as u64
    }

    /// Bytes of segment files.
    pub(crate) fn segment_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes()).sum()
    }

    /// Segment files.
    pub(crate) fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Every (key, posting), sorted.
    #[cfg(test)]
    pub(crate) fn dump(&self) -> Vec<(u32, Posting)> {
        let mut all = Vec::new();
        let mut buf = Vec::new();
        for s in &self.segments {
            let mut c = s.cursor();
            while let Some(k) = c.next_into(&mut buf) {
                all.extend(buf.drain(..).map(|p| (k, p)));
            }
        }
        for r in &self.runs {
            all.extend_from_slice(&r.entries);
        }
        all.sort_unstable();
        all
    }

    /// Postings per document. For integrity checks.
    pub(crate) fn doc_postings(&self) -> BTreeMap<u32, u64> {
        let mut counts = BTreeMap::new();
        let mut buf = Vec::new();
        for s in &self.segments {
            let mut c = s.cursor();
            while c.next_into(&mut buf).is_some() {
                for p in buf.drain(..) {
                    *counts.entry(p.doc.0).or_insert(0) += 1;
                }
            }
        }
        for r in &self.runs {
            for (_, p) in &r.entries {
                *counts.entry(p.doc.0).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Checks every segment's data checksum.
    pub(crate) fn verify(&self) -> Result<()> {
        self.segments.iter().try_for_each(|s| s.verify_data())
    }
}

impl PostingSource for Snapshot {
    fn postings(&self, key: HashKey, out: &mut Vec<Posting>) {
        for s in &self.segments {
            s.postings_of(key.0, out);
        }
        for r in &self.runs {
            let e = &r.entries;
            let start = e.partition_point(|(k, _)| *k < key.0);
            out.extend(
                e[start..]
                    .iter()
                    .take_while(|(k, _)| *k == key.0)
                    .map(|(_, p)| *p),
            );
        }
    }
}

/// Sets a damaged segment file aside (`corrupt-` + its name, if it is
/// there) and says so: its documents are re-indexed from the store.
fn drop_damaged(path: &Path, e: &Error) {
    let aside = path.with_file_name(format!(
        "corrupt-{}",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    ));
    let kept = path.exists() && std::fs::rename(path, &aside).is_ok();
    tracing::warn!(
        file = %path.display(),
        error = %e,
        kept_as = %if kept { aside.display().to_string() } else { String::new() },
        "index segment unreadable: dropped; its documents are re-indexed from the store"
    );
}

/// Writer-side state, under the writer mutex.
#[derive(Debug, Default)]
struct WriterState {
    /// Every document in the index (segments and buffer).
    docs: HashSet<u32>,
}

/// The segment index. `Send + Sync`; lookups never wait for writers.
pub(crate) struct SegmentIndex {
    dir: PathBuf,
    manifest: Arc<dyn Manifest>,
    options: IndexOptions,
    current: RwLock<Arc<Snapshot>>,
    writer: Mutex<WriterState>,
}

impl std::fmt::Debug for SegmentIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentIndex")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .finish()
    }
}

fn poisoned() -> Error {
    Error::Corrupt("index lock poisoned by a panicked writer".into())
}

impl SegmentIndex {
    /// Opens the index in `dir`: maps the manifest's segments and deletes
    /// files it does not reference. The buffer starts empty; re-add the
    /// documents for which [`SegmentIndex::contains`] is false.
    pub(crate) fn open(
        dir: &Path,
        manifest: Arc<dyn Manifest>,
        options: IndexOptions,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let metas = manifest.segments()?;
        let mut segments = Vec::with_capacity(metas.len());
        let mut docs = HashSet::new();
        let mut outdated = Vec::new();
        for m in &metas {
            let path = dir.join(segment::file_name(m.id));
            let seg = match Segment::open(&path, m.id) {
                // The index is derived data: a segment in an older format is
                // dropped, and its documents are re-indexed from the store
                // by the owner (they are no longer `contains`ed).
                Err(Error::UnsupportedVersion {
                    what: "segment",
                    found,
                    supported,
                }) if found < supported => {
                    tracing::info!(
                        segment = m.id,
                        found,
                        "dropping an index segment in an older format"
                    );
                    outdated.push(m.id);
                    continue;
                }
                // A missing, truncated or damaged segment (its meta
                // checksum fails) is dropped the same way and kept aside
                // as `corrupt-seg-…` for inspection: the store still has
                // every document's fingerprint, so nothing is lost.
                Err(e @ (Error::Corrupt(_) | Error::Io { .. })) => {
                    drop_damaged(&path, &e);
                    outdated.push(m.id);
                    continue;
                }
                other => other?,
            };
            if seg.postings() != m.postings || seg.docs().len() as u64 != m.docs {
                let e = Error::Corrupt(format!(
                    "segment {} does not match its manifest entry",
                    path.display()
                ));
                drop(seg);
                drop_damaged(&path, &e);
                outdated.push(m.id);
                continue;
            }
            for &d in seg.docs() {
                if !docs.insert(d) {
                    return Err(Error::Corrupt(format!("document {d} is in two segments")));
                }
            }
            segments.push(Arc::new(seg));
        }
        if !outdated.is_empty() {
            manifest.commit(None, &outdated)?;
        }
        let live: HashSet<String> = metas
            .iter()
            .filter(|m| !outdated.contains(&m.id))
            .map(|m| segment::file_name(m.id))
            .collect();
        for entry in std::fs::read_dir(dir).map_err(Error::io(dir))? {
            let entry = entry.map_err(Error::io(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("seg-") && !live.contains(&name) {
                tracing::info!(file = %name, "deleting unreferenced index file");
                std::fs::remove_file(entry.path()).map_err(Error::io(entry.path()))?;
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            options,
            current: RwLock::new(Arc::new(Snapshot {
                segments,
                runs: Vec::new(),
            })),
            writer: Mutex::new(WriterState { docs }),
        })
    }

    /// The current snapshot, for lookups.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    fn install(&self, snap: Snapshot) {
        let snap = Arc::new(snap);
        match self.current.write() {
            Ok(mut g) => *g = snap,
            Err(p) => *p.into_inner() = snap,
        }
    }

    /// Whether `doc` is indexed (in a segment or the buffer).
    pub(crate) fn contains(&self, doc: DocId) -> Result<bool> {
        Ok(self
            .writer
            .lock()
            .map_err(|_| poisoned())?
            .docs
            .contains(&doc.0))
    }

    /// Indexes a document's hashes in the buffer (see
    /// [`SegmentIndex::maybe_flush`]).
    pub(crate) fn add(&self, doc: DocId, hashes: &[(HashKey, u32)]) -> Result<()> {
        if let Some((k, _)) = hashes.iter().find(|(k, _)| k.0 >> KEY_BITS != 0) {
            return Err(Error::KeyOutOfRange(k.0));
        }
        let mut entries: Vec<(u32, Posting)> = hashes
            .iter()
            .map(|&(k, frame)| (k.0, Posting { doc, frame }))
            .collect();
        entries.sort_unstable();
        let mut w = self.writer.lock().map_err(|_| poisoned())?;
        if !w.docs.insert(doc.0) {
            return Err(Error::DuplicateDoc(doc.0));
        }
        let snap = self.snapshot();
        let mut runs = snap.runs.clone();
        runs.push(Arc::new(Run {
            entries,
            docs: vec![doc.0],
        }));
        while runs.len() >= 2
            && runs[runs.len() - 2].entries.len() <= 2 * runs[runs.len() - 1].entries.len()
        {
            let (b, a) = (runs.pop(), runs.pop());
            if let (Some(a), Some(b)) = (a, b) {
                runs.push(Arc::new(merge_runs(&a, &b)));
            }
        }
        self.install(Snapshot {
            segments: snap.segments.clone(),
            runs,
        });
        Ok(())
    }

    /// Whether the buffer holds [`IndexOptions::buffer_postings`] or more.
    pub(crate) fn buffer_full(&self) -> bool {
        self.snapshot().buffered() >= self.options.buffer_postings
    }

    /// Writes a segment if the buffer holds
    /// [`IndexOptions::buffer_postings`] or more.
    pub(crate) fn maybe_flush(&self) -> Result<()> {
        if self.snapshot().buffered() < self.options.buffer_postings {
            return Ok(());
        }
        let mut w = self.writer.lock().map_err(|_| poisoned())?;
        if self.snapshot().buffered() < self.options.buffer_postings {
            return Ok(());
        }
        self.flush_locked(&mut w)?;
        self.merge_tiers_locked(&mut w)
    }

    /// Every indexed document.
    pub(crate) fn indexed_docs(&self) -> Result<Vec<u32>> {
        let w = self.writer.lock().map_err(|_| poisoned())?;
        let mut v: Vec<u32> = w.docs.iter().copied().collect();
        v.sort_unstable();
        Ok(v)
    }

    /// Writes the buffer as a segment, then merges tiers.
    pub(crate) fn flush(&self) -> Result<()> {
        let mut w = self.writer.lock().map_err(|_| poisoned())?;
        self.flush_locked(&mut w)?;
        self.merge_tiers_locked(&mut w)
    }

    /// Writes the buffer and merges every segment into one.
    pub(crate) fn compact(&self) -> Result<()> {
        let mut w = self.writer.lock().map_err(|_| poisoned())?;
        self.flush_locked(&mut w)?;
        let segs = self.snapshot().segments.clone();
        if segs.len() >= 2 {
            self.merge_locked(&mut w, &segs)?;
        }
        Ok(())
    }

    fn flush_locked(&self, _w: &mut WriterState) -> Result<()> {
        let snap = self.snapshot();
        if snap.runs.is_empty() {
            return Ok(());
        }
        let mut entries: Vec<(u32, Posting)> = Vec::with_capacity(snap.buffered());
        let mut docs = Vec::new();
        for r in &snap.runs {
            entries.extend_from_slice(&r.entries);
            docs.extend_from_slice(&r.docs);
        }
        entries.sort_unstable();
        let id = self.manifest.next_segment_id()?;
        let mut writer = SegmentWriter::create(&self.dir, id, entries.len() as u64)?;
        let mut group = Vec::new();
        let mut i = 0;
        while i < entries.len() {
            let key = entries[i].0;
            group.clear();
            while i < entries.len() && entries[i].0 == key {
                group.push(entries[i].1);
                i += 1;
            }
            writer.add(key, &mut group)?;
        }
        let seg = writer.finish(id, &docs)?;
        self.manifest.commit(Some(&meta_of(&seg)), &[])?;
        let mut segments = snap.segments.clone();
        segments.push(Arc::new(seg));
        self.install(Snapshot {
            segments,
            runs: Vec::new(),
        });
        Ok(())
    }

    /// Tier of a segment: ⌊log_factor(postings)⌋.
    fn tier(&self, postings: u64) -> u32 {
        let f = self.options.merge_factor.max(2) as u64;
        let (mut t, mut n) = (0, postings.max(1));
        while n >= f {
            n /= f;
            t += 1;
        }
        t
    }

    fn merge_tiers_locked(&self, w: &mut WriterState) -> Result<()> {
        loop {
            let snap = self.snapshot();
            let mut tiers: BTreeMap<u32, Vec<Arc<Segment>>> = BTreeMap::new();
            for s in &snap.segments {
                tiers
                    .entry(self.tier(s.postings()))
                    .or_default()
                    .push(Arc::clone(s));
            }
            let factor = self.options.merge_factor.max(2);
            let pick = tiers.into_values().find_map(|mut segs| {
                segs.sort_by_key(|s| s.postings());
                segs.truncate(factor);
                let total: u64 = segs.iter().map(|s| s.postings()).sum();
                (segs.len() == factor && total <= self.options.max_merged_postings).then_some(segs)
            });
            match pick {
                Some(segs) => self.merge_locked(w, &segs)?,
                None => return Ok(()),
            }
        }
    }

    /// Merges `inputs` into one new segment and swaps it in.
    fn merge_locked(&self, _w: &mut WriterState, inputs: &[Arc<Segment>]) -> Result<()> {
        let total: u64 = inputs.iter().map(|s| s.postings()).sum();
        let id = self.manifest.next_segment_id()?;
        let mut writer = SegmentWriter::create(&self.dir, id, total)?;
        let mut cursors: Vec<_> = inputs.iter().map(|s| s.cursor()).collect();
        let mut heads: Vec<(Option<u32>, Vec<Posting>)> = cursors
            .iter_mut()
            .map(|c| {
                let mut v = Vec::new();
                let k = c.next_into(&mut v);
                (k, v)
            })
            .collect();
        let mut group = Vec::new();
        while let Some(key) = heads.iter().filter_map(|h| h.0).min() {
            group.clear();
            for (c, h) in cursors.iter_mut().zip(heads.iter_mut()) {
                if h.0 == Some(key) {
                    group.append(&mut h.1);
                    h.0 = c.next_into(&mut h.1);
                }
            }
            writer.add(key, &mut group)?;
        }
        let mut docs: Vec<u32> = inputs
            .iter()
            .flat_map(|s| s.docs().iter().copied())
            .collect();
        docs.sort_unstable();
        let seg = writer.finish(id, &docs)?;
        if seg.postings() != total {
            return Err(Error::Corrupt(format!(
                "merge read {} postings from segments holding {total}",
                seg.postings()
            )));
        }
        let removed: Vec<u64> = inputs.iter().map(|s| s.id()).collect();
        self.manifest.commit(Some(&meta_of(&seg)), &removed)?;
        let snap = self.snapshot();
        let mut segments: Vec<Arc<Segment>> = snap
            .segments
            .iter()
            .filter(|s| !removed.contains(&s.id()))
            .cloned()
            .collect();
        segments.push(Arc::new(seg));
        self.install(Snapshot {
            segments,
            runs: snap.runs.clone(),
        });
        for s in inputs {
            // Readers holding an older snapshot keep their mapping: unlinking
            // a mapped file is safe. A crash before this point leaves the
            // file unreferenced, and open deletes it.
            if let Err(e) = std::fs::remove_file(s.path()) {
                tracing::warn!(path = %s.path().display(), error = %e, "cannot delete merged segment");
            }
        }
        Ok(())
    }
}

fn meta_of(seg: &Segment) -> SegmentMeta {
    SegmentMeta {
        id: seg.id(),
        postings: seg.postings(),
        docs: seg.docs().len() as u64,
        bytes: seg.bytes(),
    }
}

fn merge_runs(a: &Run, b: &Run) -> Run {
    let mut entries = Vec::with_capacity(a.entries.len() + b.entries.len());
    let (mut i, mut j) = (0, 0);
    while i < a.entries.len() && j < b.entries.len() {
        if a.entries[i] <= b.entries[j] {
            entries.push(a.entries[i]);
            i += 1;
        } else {
            entries.push(b.entries[j]);
            j += 1;
        }
    }
    entries.extend_from_slice(&a.entries[i..]);
    entries.extend_from_slice(&b.entries[j..]);
    let mut docs = a.docs.clone();
    docs.extend_from_slice(&b.docs);
    Run { entries, docs }
}
