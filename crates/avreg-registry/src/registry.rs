//! The [`Registry`]: registration, lookup and statistics over the record
//! store and the segment index.
//!
//! Invariants:
//! - sled is the source of truth. A registration is one sled transaction
//!   (recording, dedup key, document number, forward fingerprint) made
//!   durable before `register` returns; the index is derived from the
//!   forward fingerprints and rebuilt for any document no segment covers.
//! - The index only ever holds documents committed in sled.
//! - Lookups search an immutable snapshot of the index; they never wait for
//!   registrations.
//! - Writing a full buffer as a segment, and merging segments, happen on a
//!   background thread: a registration never waits for them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use avreg_fingerprint::audio::{AudioFingerprint, ALGORITHM, ALGORITHM_VERSION};
use avreg_fingerprint::matching::{self, DocId, HashKey, MatchConfig};
use avreg_fingerprint::ContentHash;

use crate::domain::audit::{self, AuditEvent, Head};
use crate::error::{Error, Result};

/// The actor of writes made without one (the local command line).
pub const LOCAL_ACTOR: &str = "local";
use crate::index::segmented::SegmentIndex;
use crate::index::{IndexOptions, Manifest};
use crate::model::{
    LookupMatch, NewRecording, Recording, RecordingId, Registration, RegistryStats,
};
use crate::store::{Insert, Store};

mod accounts;

/// Options of a [`Registry`].
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Segment index tuning.
    pub index: IndexOptions,
    /// Matching parameters for lookups (its `audio` config is also the one
    /// used to hash registered fingerprints).
    pub matching: MatchConfig,
}

/// The registry: recordings in a sled store, their fingerprints in a
/// segment index. `Send + Sync`: share it behind an `Arc`; lookups run
/// concurrently with registrations.
pub struct Registry {
    dir: PathBuf,
    store: Arc<Store>,
    index: Arc<SegmentIndex>,
    options: RegistryOptions,
    maintenance: Maintenance,
}

/// The background thread that writes full buffers as segments and merges
/// them. Nudged (never blocking) after each registration; stopped and joined
/// when the registry is dropped.
struct Maintenance {
    nudge: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Maintenance {
    fn start(index: Arc<SegmentIndex>) -> Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("avreg-index".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    if let Err(e) = index.maybe_flush() {
                        // The buffer keeps serving lookups; the next nudge,
                        // flush or reopen retries.
                        tracing::error!(error = %e, "cannot write an index segment");
                    }
                }
            })
            .map_err(|e| Error::Io {
                path: PathBuf::from("<index thread>"),
                source: e,
            })?;
        Ok(Self {
            nudge: Some(tx),
            thread: Some(thread),
        })
    }

    fn nudge(&self) {
        if let Some(tx) = &self.nudge {
            // A full channel means a nudge is already pending.
            let _ = tx.try_send(());
        }
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        self.nudge = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("dir", &self.dir).finish()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Registry {
    /// Opens (or creates) the registry in `dir` (`dir/store` for sled,
    /// `dir/index` for segment files), re-indexing the documents no segment
    /// covers.
    pub fn open(dir: &Path, options: RegistryOptions) -> Result<Registry> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let store = Arc::new(Store::open(&dir.join("store"))?);
        let manifest: Arc<dyn Manifest> = store.clone();
        let index = Arc::new(SegmentIndex::open(
            &dir.join("index"),
            manifest,
            options.index.clone(),
        )?);
        let docs = store.docs()?;
        let known: BTreeSet<u32> = docs.iter().map(|(d, _)| d.0).collect();
        if let Some(d) = index
            .indexed_docs()?
            .into_iter()
            .find(|d| !known.contains(d))
        {
            return Err(Error::Corrupt(format!("index holds unknown document {d}")));
        }
        let mut rebuilt = 0usize;
        for (doc, id) in docs {
            if index.contains(doc)? {
                continue;
            }
            let hashes = Self::stored_hashes(&store, id, &options.matching)?;
            index.add(doc, &hashes)?;
            rebuilt += 1;
        }
        if rebuilt > 0 {
            tracing::info!(
                documents = rebuilt,
                "re-indexed documents not yet in a segment"
            );
            index.maybe_flush()?;
        }
        Ok(Registry {
            dir: dir.to_path_buf(),
            store,
            maintenance: Maintenance::start(index.clone())?,
            index,
            options,
        })
    }

    fn stored_hashes(
        store: &Store,
        id: RecordingId,
        config: &MatchConfig,
    ) -> Result<Vec<(HashKey, u32)>> {
        let bytes = store
            .forward(id)?
            .ok_or_else(|| Error::Corrupt(format!("recording {id} has no forward fingerprint")))?;
        Ok(AudioFingerprint::from_bytes(&bytes)?.reference_hashes(&config.audio))
    }

    /// Registers a recording. The same content hash twice gives
    /// [`Registration::Existing`]. Durable when it returns.
    pub fn register(&self, new: NewRecording) -> Result<Registration> {
        self.register_as(LOCAL_ACTOR, new)
    }

    /// Like [`Registry::register`], recording `actor` (an account or
    /// organisation id) in the registration's audit event.
    pub fn register_as(&self, actor: &str, new: NewRecording) -> Result<Registration> {
        if new.title.trim().is_empty() {
            return Err(Error::EmptyTitle);
        }
        if new.fingerprint.is_silent() {
            return Err(Error::SilentFingerprint);
        }
        if let Some(existing) = self.by_content_hash(&new.content_hash)? {
            return Ok(Registration::Existing(existing));
        }
        let reference = new.fingerprint.reference_only();
        let hashes = reference.reference_hashes(&self.options.matching.audio);
        if hashes.is_empty() || reference.duration_ms() == 0 {
            return Err(Error::EmptyFingerprint);
        }
        let recording = Recording {
            id: RecordingId::new(),
            title: new.title,
            duration_ms: reference.duration_ms(),
            content_hash: new.content_hash,
            fingerprint_algorithm: ALGORITHM.to_owned(),
            fingerprint_version: ALGORITHM_VERSION,
            registered_at_ms: now_ms(),
            source_name: new.source_name,
        };
        match self
            .store
            .insert(&recording, &reference.to_bytes(), actor)?
        {
            Insert::Existing(r) => Ok(Registration::Existing(r)),
            Insert::New(doc) => {
                self.store.flush()?;
                self.index.add(doc, &hashes)?;
                // The registration is committed; segment writing happens in
                // the background (a failure only delays it: the buffer
                // serves lookups, a reopen rebuilds).
                if self.index.buffer_full() {
                    self.maintenance.nudge();
                }
                Ok(Registration::Registered(recording))
            }
        }
    }

    /// A recording by id.
    pub fn recording(&self, id: RecordingId) -> Result<Option<Recording>> {
        Ok(self.store.recording(id)?.map(|s| s.recording))
    }

    /// Every recording, in registration order.
    pub fn recordings(&self) -> Result<Vec<Recording>> {
        Ok(self
            .store
            .recordings()?
            .into_iter()
            .map(|s| s.recording)
            .collect())
    }

    /// The recording registered with these exact bytes.
    pub fn by_content_hash(&self, h: &ContentHash) -> Result<Option<Recording>> {
        match self.store.by_content_hash(h)? {
            Some(id) => self.recording(id),
            None => Ok(None),
        }
    }

    /// Identifies a query fingerprint: matches best first, empty when
    /// nothing matches.
    pub fn lookup(&self, query: &AudioFingerprint) -> Result<Vec<LookupMatch>> {
        let snapshot = self.index.snapshot();
        let found = matching::search(query, &*snapshot, &self.options.matching);
        let mut out = Vec::with_capacity(found.len());
        for m in found {
            let Some(recording) = self.doc_recording(m.doc)? else {
                tracing::error!(doc = m.doc.0, "index matched an unknown document");
                continue;
            };
            out.push(LookupMatch {
                recording,
                score: m.score,
                aligned: m.aligned,
                speed: m.speed,
                query_start_ms: m.query_start_ms,
                query_duration_ms: m.query_duration_ms,
                ref_start_ms: m.ref_start_ms,
                ref_duration_ms: m.ref_duration_ms,
            });
        }
        Ok(out)
    }

    fn doc_recording(&self, doc: DocId) -> Result<Option<Recording>> {
        match self.store.doc_recording(doc)? {
            Some(id) => self.recording(id),
            None => Ok(None),
        }
    }

    /// Makes everything durable: fsyncs the store and writes the index
    /// buffer as a segment (merging segment tiers).
    pub fn flush(&self) -> Result<()> {
        self.store.flush()?;
        self.index.flush()
    }

    /// Sizes of the registry.
    pub fn stats(&self) -> Result<RegistryStats> {
        let (recordings, audio_ms) = self.store.counts()?;
        let snap = self.index.snapshot();
        Ok(RegistryStats {
            recordings,
            audio_ms,
            postings: snap.posting_count(),
            index_bytes: snap.segment_bytes(),
            store_bytes: self.store.size_on_disk()?,
            segments: snap.segment_count(),
        })
    }

    /// Audit events from sequence number `since` on, in order.
    pub fn audit_log(&self, since: u64) -> Result<Vec<AuditEvent>> {
        self.store.audit_events(since)
    }

    /// Walks the whole audit log: returns its head (`None` if empty), or the
    /// first event that does not fit. `held` is a head an auditor kept from
    /// an earlier verification: the log must still contain it.
    pub fn verify_audit(&self, held: Option<Head>) -> Result<Option<Head>> {
        Ok(audit::verify(&self.store.audit_events(0)?, held)?)
    }

    /// Checks the registry's invariants (reads everything): every document
    /// number has its recording, forward fingerprint and dedup key, and the
    /// index holds exactly the registered documents with all their hashes
    /// and intact segment files, and the audit log verifies with one event
    /// per registration. Returns the first violation ([`Error::Corrupt`] or
    /// [`Error::AuditChain`]).
    pub fn verify(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Corrupt(m));
        self.verify_audit(None)?;
        let events = self
            .store
            .audit_events(0)?
            .iter()
            .filter(|e| e.operation == "register_recording")
            .count() as u64;
        let docs = self.store.docs()?;
        let recordings = self.store.recordings()?;
        let (forward, dedup) = self.store.side_counts();
        let n = recordings.len() as u64;
        if events != n {
            return bad(format!(
                "{n} recordings but {events} registration audit events"
            ));
        }
        if docs.len() as u64 != n || forward != n || dedup != n {
            return bad(format!(
                "{n} recordings but {} documents, {forward} forward fingerprints, {dedup} dedup keys",
                docs.len()
            ));
        }
        for (doc, id) in &docs {
            let Some(stored) = self.store.recording(*id)? else {
                return bad(format!("document {} without recording", doc.0));
            };
            if stored.doc != doc.0 || stored.recording.id != *id {
                return bad(format!("document {} and recording {id} disagree", doc.0));
            }
            if self.store.by_content_hash(&stored.recording.content_hash)? != Some(*id) {
                return bad(format!("recording {id} has no dedup key"));
            }
        }
        let snap = self.index.snapshot();
        snap.verify()?;
        let mut indexed = snap.doc_postings();
        for (doc, id) in &docs {
            let expected =
                Self::stored_hashes(&self.store, *id, &self.options.matching)?.len() as u64;
            let got = indexed.remove(&doc.0).unwrap_or(0);
            if got != expected {
                return bad(format!(
                    "document {} has {got} postings in the index, {expected} expected",
                    doc.0
                ));
            }
        }
        if let Some((doc, _)) = indexed.into_iter().next() {
            return bad(format!("index holds unknown document {doc}"));
        }
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn index(&self) -> &SegmentIndex {
        &self.index
    }
}

#[cfg(test)]
mod tests {
    use avreg_fingerprint::audio::{AudioFingerprint, Peak};

    use super::*;
    use crate::model::NewRecording;

    fn new_recording(seed: u32) -> NewRecording {
        let peaks = (0..300u32)
            .map(|i| {
                let x = i
                    .wrapping_mul(2_654_435_761)
                    .wrapping_add(seed.wrapping_mul(40_503));
                Peak {
                    time_ms: i * 133 + x % 97,
                    freq: (64 + (x >> 7) % (236 * 16)) as u16,
                    level: 2,
                }
            })
            .collect();
        NewRecording {
            title: format!("r{seed}"),
            content_hash: ContentHash::of(&seed.to_le_bytes()),
            fingerprint: AudioFingerprint::from_parts(40_000, peaks),
            source_name: None,
        }
    }

    fn options() -> RegistryOptions {
        RegistryOptions {
            index: IndexOptions::default()
                .with_buffer_postings(2_000)
                .with_merge_factor(2),
            ..RegistryOptions::default()
        }
    }

    #[test]
    fn index_after_reopen_equals_index_before() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (before, segments) = {
            let reg = Registry::open(dir.path(), options()).expect("open");
            for seed in 0..12 {
                reg.register(new_recording(seed)).expect("register");
            }
            let snap = reg.index().snapshot();
            (snap.dump(), snap.segment_count())
        };
        assert!(segments > 0, "the test must cover segments and buffer");
        let reg = Registry::open(dir.path(), options()).expect("reopen");
        let after = reg.index().snapshot().dump();
        assert_eq!(after.len(), before.len());
        assert!(after == before, "index differs after reopen");
        reg.flush().expect("flush");
        assert!(reg.index().snapshot().dump() == before);
        reg.verify().expect("consistent");
    }

    #[test]
    fn a_newer_store_format_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let reg = Registry::open(dir.path(), options()).expect("open");
            reg.register(new_recording(1)).expect("register");
            reg.store
                .set_format_version(crate::store::STORE_FORMAT_VERSION + 1)
                .expect("set");
        }
        let err = Registry::open(dir.path(), options()).expect_err("newer format");
        assert!(
            matches!(
                err,
                Error::StoreTooNew {
                    found: 2,
                    supported: 1
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "store format version 2 is newer than this build supports (1); upgrade avreg"
        );
    }
}
