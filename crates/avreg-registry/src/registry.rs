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

use std::cell::RefCell;
use std::collections::HashMap;

use avreg_fingerprint::audio::{AudioFingerprint, ALGORITHM, ALGORITHM_VERSION};
use avreg_fingerprint::matching::{self, DocId, HashKey, MatchConfig, PostingSource};
use avreg_fingerprint::video::matching::{
    reference_postings, search_video, VideoMatch, VideoMatchConfig, VideoPosting,
    VideoPostingSource,
};
use avreg_fingerprint::video::{self, PdqHash, VideoFingerprint};
use avreg_fingerprint::ContentHash;

use crate::domain::audit::{self, AuditEvent, CommitmentKey, Head, SignedHead};
use crate::domain::rules::Jurisdictions;
use crate::domain::treaty::Treaty;
use crate::error::{Error, Result};

/// The actor of writes made without one (the local command line).
pub const LOCAL_ACTOR: &str = "local";
use crate::index::segmented::{SegmentIndex, Snapshot};
use crate::index::{IndexOptions, Manifest};
use crate::model::{
    Content, LookupMatch, Medium, NewRecording, Recording, RecordingId, Registration,
    RegistryStats, VideoEvidence, VideoSummary,
};
use crate::store::{Insert, Store};

mod accounts;
mod jobs;
mod video_frames;

use video_frames::VideoFrames;
pub use video_frames::DEFAULT_VIDEO_CACHE_BYTES;

pub use jobs::JOB_RETENTION_MS;

/// Options of a [`Registry`].
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Segment index tuning.
    pub index: IndexOptions,
    /// Matching parameters for lookups (its `audio` config is also the one
    /// used to hash registered fingerprints).
    pub matching: MatchConfig,
    /// Matching parameters for video lookups (its `min_quality` also
    /// chooses which registered frame hashes are indexed).
    pub video_matching: VideoMatchConfig,
    /// Term rules per jurisdiction; `None` = the edition embedded in this
    /// build (`config/jurisdictions.toml`).
    pub jurisdictions: Option<Arc<Jurisdictions>>,
    /// The Beijing Treaty's parties and declarations; `None` = the edition
    /// embedded in this build (`config/beijing-treaty.toml`).
    pub treaty: Option<Arc<Treaty>>,
    /// Days the parties have to respond to a conflict opened on a write
    /// (0 = the default, 30).
    pub conflict_respond_days: u32,
    /// The store's page cache, bytes (0 = the default, 256 MiB).
    pub store_cache_bytes: u64,
    /// Free disk space the store keeps: a write is refused with
    /// [`Error::StorageFull`] when less is free, before it writes anything,
    /// so that the store itself never meets a full disk (0: no reserve).
    pub min_free_bytes: u64,
    /// Video fingerprints kept in memory for matching, bytes of frame
    /// hashes (0 = the default, [`DEFAULT_VIDEO_CACHE_BYTES`]); the others
    /// are read from the store when a search needs them.
    pub video_cache_bytes: u64,
}

/// The store's page cache when the options leave it at 0.
pub const DEFAULT_STORE_CACHE_BYTES: u64 = 256 << 20;

/// The registry: recordings in a sled store, their fingerprints in a
/// segment index. `Send + Sync`: share it behind an `Arc`; lookups run
/// concurrently with registrations.
pub struct Registry {
    dir: PathBuf,
    pub(crate) store: Arc<Store>,
    index: Arc<SegmentIndex>,
    /// The video index: band keys of reference frame hashes → (document,
    /// frame number).
    video_index: Arc<SegmentIndex>,
    /// The registered video fingerprints matching reads frame times and
    /// full hashes from: the recently used in memory, within a budget.
    video_frames: VideoFrames,
    /// The audit head this process last verified (see
    /// [`Registry::verify_audit`]).
    audit_verified: std::sync::Mutex<Option<Head>>,
    pub(crate) options: RegistryOptions,
    /// The jurisdictions' term rules (from the options, or the embedded
    /// edition).
    pub(crate) jurisdictions: Arc<Jurisdictions>,
    /// The treaty's parties and declarations (from the options, or the
    /// embedded edition).
    pub(crate) treaty: Arc<Treaty>,
    /// Serialises ledger writes: each reads the state it validates and
    /// checks for conflicts, then commits, with no other ledger write in
    /// between.
    pub(crate) ledger_lock: std::sync::Mutex<()>,
    /// Signs audit heads (`dir/audit-signing.key`, created on first open).
    signing_key: ed25519_dalek::SigningKey,
    /// Commits private fields into the audit chain (derived from the
    /// signing key's secret).
    pub(crate) commitments: CommitmentKey,
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
    fn start(indexes: Vec<Arc<SegmentIndex>>) -> Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("avreg-index".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    for index in &indexes {
                        if let Err(e) = index.maybe_flush() {
                            // The buffer keeps serving lookups; the next
                            // nudge, flush or reopen retries.
                            tracing::error!(error = %e, "cannot write an index segment");
                        }
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

/// The file of the registry's Ed25519 audit key (32 secret bytes).
const SIGNING_KEY_FILE: &str = "audit-signing.key";

/// Loads the audit signing key, or creates it (readable by the owner only,
/// written to a temporary file, synced and renamed into place so that a
/// crash never leaves half a key).
fn load_signing_key(path: &Path) -> Result<ed25519_dalek::SigningKey> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let secret = <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| Error::Corrupt(format!("{} is not a 32-byte key", path.display())))?;
            Ok(ed25519_dalek::SigningKey::from_bytes(&secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })?;
            crate::private_dir::write_private_file(path, &secret).map_err(Error::io(path))?;
            Ok(ed25519_dalek::SigningKey::from_bytes(&secret))
        }
        Err(e) => Err(Error::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Registry {
    /// Opens (or creates) the registry in `dir` (`dir/store` for sled,
    /// `dir/index` for segment files), re-indexing the documents no segment
    /// covers.
    pub fn open(dir: &Path, options: RegistryOptions) -> Result<Registry> {
        crate::private_dir::create_private_dir(dir).map_err(Error::io(dir))?;
        let cache = match options.store_cache_bytes {
            0 => DEFAULT_STORE_CACHE_BYTES,
            n => n,
        };
        // Once a store exists, a marker beside it says so: sled would
        // otherwise start an empty database over lost or emptied files,
        // and the index files it no longer names would be deleted.
        let marker = dir.join(crate::store::STORE_MARKER);
        let existing = marker.exists();
        let store = Arc::new(Store::open_existing(&dir.join("store"), cache, existing)?);
        if !existing {
            std::fs::write(&marker, b"avreg: this folder holds a registry store\n")
                .map_err(Error::io(&marker))?;
        }
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
        let jurisdictions = match &options.jurisdictions {
            Some(j) => j.clone(),
            None => Arc::new(
                Jurisdictions::embedded()
                    .map_err(|e| Error::Corrupt(format!("embedded jurisdictions: {e}")))?,
            ),
        };
        let treaty = match &options.treaty {
            Some(t) => t.clone(),
            None => Arc::new(
                Treaty::embedded()
                    .map_err(|e| Error::Corrupt(format!("embedded treaty data: {e}")))?,
            ),
        };
        let video_manifest: Arc<dyn Manifest> = Arc::new(store.video_manifest());
        let video_index = Arc::new(SegmentIndex::open(
            &dir.join("index-video"),
            video_manifest,
            options.index.clone(),
        )?);
        let video_frames = VideoFrames::new(options.video_cache_bytes);
        let mut video_docs = std::collections::HashSet::new();
        let mut video_rebuilt = 0usize;
        for (doc, id) in store.docs()? {
            let Some(bytes) = store.video_forward(id)? else {
                continue;
            };
            let fp = VideoFingerprint::from_bytes(&bytes)?;
            if !video_index.contains(doc)? {
                video_index.add(doc, &video_hashes(doc, &fp, &options.video_matching))?;
                video_rebuilt += 1;
            }
            video_docs.insert(doc.0);
            video_frames.insert(doc, Arc::new(fp));
        }
        if let Some(d) = video_index
            .indexed_docs()?
            .into_iter()
            .find(|d| !video_docs.contains(d))
        {
            return Err(Error::Corrupt(format!(
                "video index holds document {d}, which has no video fingerprint"
            )));
        }
        if video_rebuilt > 0 {
            tracing::info!(
                documents = video_rebuilt,
                "re-indexed videos not yet in a segment"
            );
            video_index.maybe_flush()?;
        }
        let signing_key = load_signing_key(&dir.join(SIGNING_KEY_FILE))?;
        Ok(Registry {
            dir: dir.to_path_buf(),
            store,
            jurisdictions,
            treaty,
            commitments: CommitmentKey::derive(&signing_key.to_bytes()),
            signing_key,
            ledger_lock: std::sync::Mutex::new(()),
            maintenance: Maintenance::start(vec![index.clone(), video_index.clone()])?,
            index,
            video_index,
            video_frames,
            audit_verified: std::sync::Mutex::new(None),
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

    /// Registers a recording. The same bytes twice ([`Content::Computed`])
    /// give [`Registration::Existing`]. Durable when it returns.
    pub fn register(&self, new: NewRecording) -> Result<Registration> {
        self.register_for(LOCAL_ACTOR, LOCAL_ACTOR, new)
    }

    /// Like [`Registry::register`], recording `actor` (an account or
    /// organisation id) in the registration's audit event; the actor is
    /// also the registrant.
    pub fn register_as(&self, actor: &str, new: NewRecording) -> Result<Registration> {
        self.register_for(actor, actor, new)
    }

    /// Registers `new` for `registrant` (the party the caller acts for, see
    /// [`Recording::registrant`]) with `actor` in the audit event.
    /// Registrations are deduplicated per registrant, and only on what the
    /// registry computed itself: the bytes' hash of an upload, or the
    /// fingerprint's own bytes; a claimed content hash never deduplicates,
    /// so nobody can capture a file they did not send.
    pub fn register_for(
        &self,
        actor: &str,
        registrant: &str,
        new: NewRecording,
    ) -> Result<Registration> {
        if new.title.trim().is_empty() {
            return Err(Error::EmptyTitle);
        }
        let video = match new.video {
            Some(v) if v.frames.is_empty() => return Err(Error::EmptyFingerprint),
            Some(v) if v.version != video::ALGORITHM_VERSION => {
                return Err(Error::FingerprintVersion {
                    what: "video fingerprint",
                    found: u32::from(v.version),
                    supported: u32::from(video::ALGORITHM_VERSION),
                })
            }
            other => other,
        };
        let has_sound = !new.fingerprint.is_silent();
        if !has_sound && video.is_none() {
            return Err(Error::SilentFingerprint);
        }
        let reference = new.fingerprint.reference_only();
        let hashes = if has_sound {
            reference.reference_hashes(&self.options.matching.audio)
        } else {
            Vec::new()
        };
        if video.is_none() && (hashes.is_empty() || reference.duration_ms() == 0) {
            return Err(Error::EmptyFingerprint);
        }
        let reference_bytes = reference.to_bytes();
        let video_bytes = video.as_ref().map(VideoFingerprint::to_bytes);
        let (content_hash, verified) = match new.content {
            Content::Computed(h) => (h, true),
            Content::Claimed(claim) => (
                claim.unwrap_or_else(|| ContentHash::of(&reference_bytes)),
                false,
            ),
        };
        let dedup = dedup_key(
            verified,
            &content_hash,
            &reference_bytes,
            video_bytes.as_deref(),
            registrant,
        );
        if let Some(existing) = self.store.by_dedup_key(&dedup)? {
            if let Some(r) = self.recording(existing)? {
                return Ok(Registration::Existing(r));
            }
        }
        self.ensure_space()?;
        let recording = Recording {
            id: RecordingId::new(),
            title: new.title,
            duration_ms: reference
                .duration_ms()
                .max(video.as_ref().map_or(0, |v| v.duration_ms)),
            content_hash,
            content_hash_verified: verified,
            registrant: Some(registrant.to_owned()),
            fingerprint_algorithm: ALGORITHM.to_owned(),
            fingerprint_version: ALGORITHM_VERSION,
            registered_at_ms: now_ms(),
            source_name: new.source_name,
            video: video.as_ref().map(|v| VideoSummary {
                algorithm: video::ALGORITHM.to_owned(),
                version: v.version,
                duration_ms: v.duration_ms,
                hashes: v.frames.len() as u32,
            }),
            media: new.media,
        };
        match self.store.insert(
            &recording,
            &dedup,
            &reference_bytes,
            video_bytes.as_deref(),
            actor,
        )? {
            Insert::Existing(r) => Ok(Registration::Existing(*r)),
            Insert::New(doc) => {
                self.store.flush()?;
                self.index.add(doc, &hashes)?;
                if let Some(v) = video {
                    self.video_index
                        .add(doc, &video_hashes(doc, &v, &self.options.video_matching))?;
                    self.video_frames.insert(doc, Arc::new(v));
                }
                // The registration is committed; segment writing happens in
                // the background (a failure only delays it: the buffer
                // serves lookups, a reopen rebuilds).
                if self.index.buffer_full() || self.video_index.buffer_full() {
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

    /// At most `limit` recordings from the `offset`-th on, in registration
    /// order, and how many there are (reads only the page).
    pub fn recordings_page(&self, offset: u64, limit: usize) -> Result<(Vec<Recording>, u64)> {
        let (page, total) = self.store.recordings_page(offset, limit)?;
        Ok((page.into_iter().map(|s| s.recording).collect(), total))
    }

    /// Every registered recording, in registration order.
    pub fn recordings(&self) -> Result<Vec<Recording>> {
        Ok(self
            .store
            .recordings()?
            .into_iter()
            .map(|s| s.recording)
            .collect())
    }

    /// The recording `registrant` registered with these exact bytes (a
    /// hash the registry computed from them; claimed hashes are not
    /// found here).
    pub fn by_content_hash(&self, h: &ContentHash, registrant: &str) -> Result<Option<Recording>> {
        match self
            .store
            .by_dedup_key(&dedup_key(true, h, &[], None, registrant))?
        {
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
                pitch: m.pitch,
                query_start_ms: m.query_start_ms,
                query_duration_ms: m.query_duration_ms,
                ref_start_ms: m.ref_start_ms,
                ref_duration_ms: m.ref_duration_ms,
                medium: Medium::Audio,
                video: None,
            });
        }
        Ok(out)
    }

    /// Identifies a query clip by its picture: matches best first.
    pub fn lookup_video(&self, query: &VideoFingerprint) -> Result<Vec<LookupMatch>> {
        let mut out = Vec::new();
        for m in self.video_matches(query)? {
            let Some(recording) = self.doc_recording(m.doc)? else {
                tracing::error!(doc = m.doc.0, "video index matched an unknown document");
                continue;
            };
            out.push(video_lookup_match(recording, &m));
        }
        Ok(out)
    }

    fn video_matches(&self, query: &VideoFingerprint) -> Result<Vec<VideoMatch>> {
        let snapshot = self.video_index.snapshot();
        let source = VideoSource {
            snapshot: &snapshot,
            frames: &self.video_frames,
            store: &self.store,
            seen: RefCell::default(),
            error: RefCell::default(),
        };
        let matches = search_video(query, &source, &self.options.video_matching);
        match source.error.into_inner() {
            Some(e) => Err(e),
            None => Ok(matches),
        }
    }

    /// Frame hashes of video fingerprints held in memory now (at most the
    /// budget of [`RegistryOptions::video_cache_bytes`]).
    pub fn resident_video_frames(&self) -> usize {
        self.video_frames.resident_frames()
    }

    /// Identifies a clip by its sound, its picture or both, and fuses the
    /// evidence: a recording that both match at offsets within a second of
    /// each other is reported once, as [`Medium::Both`], with the combined
    /// score `1 − (1 − audio)(1 − video)` and the union of the spans.
    pub fn lookup_media(
        &self,
        audio: Option<&AudioFingerprint>,
        video: Option<&VideoFingerprint>,
    ) -> Result<Vec<LookupMatch>> {
        let mut out = match audio {
            Some(a) if !a.is_silent() => self.lookup(a)?,
            _ => Vec::new(),
        };
        if let Some(v) = video {
            for m in self.video_matches(v)? {
                let Some(recording) = self.doc_recording(m.doc)? else {
                    continue;
                };
                let fused = out.iter_mut().find(|a| {
                    a.recording.id == recording.id
                        && a.medium == Medium::Audio
                        && offsets_agree(a, &m)
                });
                match fused {
                    Some(a) => fuse(a, &m),
                    None => out.push(video_lookup_match(recording, &m)),
                }
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
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
        self.index.flush()?;
        self.video_index.flush()
    }

    /// Makes everything durable and merges each fingerprint index into one
    /// segment: a lookup then reads each key from one place instead of one
    /// per segment. For after a bulk import; writes a new copy of the
    /// index (the old segments are deleted once it is in place).
    pub fn compact(&self) -> Result<()> {
        self.store.flush()?;
        self.index.compact()?;
        self.video_index.compact()
    }

    /// Refuses a write with [`Error::StorageFull`] when the store's disk
    /// has less free space than [`RegistryOptions::min_free_bytes`] (what
    /// every write checks first; a service also checks it while it
    /// streams an upload to the same disk).
    pub fn ensure_space(&self) -> Result<()> {
        let reserve = self.options.min_free_bytes;
        if reserve == 0 {
            return Ok(());
        }
        let free = fs2::available_space(&self.dir).map_err(Error::io(&self.dir))?;
        if free < reserve {
            return Err(Error::StorageFull {
                dir: self.dir.clone(),
                free,
                reserve,
            });
        }
        Ok(())
    }

    /// Whether the store's disk has its reserve free, and at least `least`
    /// bytes (false when that cannot be read).
    pub fn disk_has_room(&self, least: u64) -> bool {
        fs2::available_space(&self.dir)
            .is_ok_and(|free| free >= self.options.min_free_bytes.max(least))
    }

    /// Whether the store answers, at a cost that does not grow with it
    /// (for readiness probes, which anyone may call).
    pub fn ping(&self) -> Result<()> {
        self.store.ping()
    }

    /// Counts and sizes of the store and indexes (reads that grow with the
    /// store: for operators, not for probes).
    pub fn stats(&self) -> Result<RegistryStats> {
        let (recordings, audio_ms) = self.store.counts()?;
        let snap = self.index.snapshot();
        Ok(RegistryStats {
            recordings,
            audio_ms,
            video_recordings: self.store.video_count(),
            video_postings: self.video_index.snapshot().posting_count(),
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

    /// At most `limit` audit events from sequence number `since` on, in
    /// order: reads only those.
    pub fn audit_page(&self, since: u64, limit: usize) -> Result<Vec<AuditEvent>> {
        self.store.audit_page(since, limit)
    }

    /// Verifies the audit log: returns its head (`None` if empty), or the
    /// first event that does not fit. `held` is a head an auditor kept from
    /// an earlier verification: the log must still contain it.
    ///
    /// The first verification of a process walks the whole log (a page at
    /// a time); later ones walk only the events appended since the head
    /// last verified, which nothing can change (events are only appended),
    /// and read the one event at `held`. Verifications run one at a time.
    pub fn verify_audit(&self, held: Option<Head>) -> Result<Option<Head>> {
        const PAGE: usize = 4096;
        let mut verified = self
            .audit_verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut head = *verified;
        loop {
            let since = head.map_or(0, |h| h.seq + 1);
            let page = self.store.audit_page(since, PAGE)?;
            if page.is_empty() {
                break;
            }
            head = audit::verify_after(head, &page)?;
            *verified = head;
        }
        let found = match (held, head) {
            (Some(h), Some(top)) if h.seq <= top.seq => {
                self.store.audit_event(h.seq)?.map(|e| e.hash)
            }
            _ => None,
        };
        audit::check_held(held, found)?;
        Ok(head)
    }

    /// Verifies the whole audit log and signs its head with the registry's
    /// audit key (`None` for an empty log). Auditors keep signed heads: a
    /// later [`Registry::verify_audit`] with one proves nothing before it
    /// changed, and the signature proves the registry stated it.
    pub fn signed_head(&self) -> Result<Option<SignedHead>> {
        Ok(self
            .verify_audit(None)?
            .map(|head| SignedHead::sign(head, now_ms(), &self.signing_key)))
    }

    /// The registry's audit public key (Ed25519, hex), which signs heads.
    pub fn audit_public_key(&self) -> String {
        self.signing_key
            .verifying_key()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Checks the registry's invariants (reads everything): every document
    /// number has its recording, forward fingerprint and dedup key, and the
    /// index holds exactly the registered documents with all their hashes
    /// and intact segment files, and the audit log verifies with one event
    /// per registration and one per ledger revision or media link. Returns the first violation ([`Error::Corrupt`] or
    /// [`Error::AuditChain`]).
    pub fn verify(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Corrupt(m));
        let events = self.store.audit_events(0)?;
        audit::verify(&events, None)?;
        let docs = self.store.docs()?;
        let recordings = self.store.recordings()?;
        let (forward, dedup) = self.store.side_counts();
        let n = recordings.len() as u64;
        let registrations = events
            .iter()
            .filter(|e| e.operation == "register_recording")
            .count() as u64;
        if registrations != n {
            return bad(format!(
                "{n} recordings but {registrations} registration audit events"
            ));
        }
        let (revisions, media) = self.store.ledger_counts();
        let ledger_events = events
            .iter()
            .filter(|e| crate::ledger::is_ledger_operation(&e.operation))
            .count() as u64;
        if ledger_events != revisions + media {
            return bad(format!(
                "{revisions} revisions and {media} media links but {ledger_events} ledger audit events"
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
            let r = &stored.recording;
            let key = match &r.registrant {
                // Stored before registrants: keyed by the content hash.
                None => *r.content_hash.as_bytes(),
                Some(registrant) => {
                    let forward = self.store.forward(*id)?.unwrap_or_default();
                    let video = self.store.video_forward(*id)?;
                    dedup_key(
                        r.content_hash_verified,
                        &r.content_hash,
                        &forward,
                        video.as_deref(),
                        registrant,
                    )
                }
            };
            if self.store.by_dedup_key(&key)? != Some(*id) {
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
        let vsnap = self.video_index.snapshot();
        vsnap.verify()?;
        let mut vindexed = vsnap.doc_postings();
        for (doc, id) in &docs {
            let expected = match self.store.video_forward(*id)? {
                Some(bytes) => video_hashes(
                    *doc,
                    &VideoFingerprint::from_bytes(&bytes)?,
                    &self.options.video_matching,
                )
                .len() as u64,
                None => 0,
            };
            let got = vindexed.remove(&doc.0).unwrap_or(0);
            if got != expected {
                return bad(format!(
                    "document {} has {got} postings in the video index, {expected} expected",
                    doc.0
                ));
            }
        }
        if let Some((doc, _)) = vindexed.into_iter().next() {
            return bad(format!("video index holds unknown document {doc}"));
        }
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn index(&self) -> &SegmentIndex {
        &self.index
    }
}

/// The key that deduplicates a registration: per registrant, over what the
/// registry computed itself (the hash of uploaded bytes when `verified`,
/// else the stored fingerprint's bytes). A claimed hash takes no part.
pub(crate) fn dedup_key(
    verified: bool,
    content_hash: &ContentHash,
    reference: &[u8],
    video: Option<&[u8]>,
    registrant: &str,
) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("avreg 2026 registration dedup key v2");
    if verified {
        h.update(b"file\0");
        h.update(content_hash.as_bytes());
    } else {
        h.update(b"fingerprint\0");
        h.update(&(reference.len() as u64).to_le_bytes());
        h.update(reference);
        if let Some(v) = video {
            h.update(&(v.len() as u64).to_le_bytes());
            h.update(v);
        }
    }
    h.update(b"\0");
    h.update(registrant.as_bytes());
    *h.finalize().as_bytes()
}

/// The video index entries of a reference video: (band key, frame number).
fn video_hashes(
    doc: DocId,
    fp: &VideoFingerprint,
    config: &VideoMatchConfig,
) -> Vec<(HashKey, u32)> {
    reference_postings(doc, fp, config.min_quality)
        .into_iter()
        .map(|(k, p)| (k, p.frame))
        .collect()
}

/// The video index as matching sees it: postings from the segment
/// snapshot, frame times and full hashes from the registered fingerprints.
struct VideoSource<'a> {
    snapshot: &'a Snapshot,
    frames: &'a VideoFrames,
    store: &'a Store,
    /// The fingerprints this search has read (`None`: no video).
    seen: RefCell<HashMap<u32, Option<Arc<VideoFingerprint>>>>,
    /// The first store error met (the search's answer is then an error).
    error: RefCell<Option<Error>>,
}

impl VideoSource<'_> {
    fn fingerprint(&self, doc: DocId) -> Option<Arc<VideoFingerprint>> {
        if let Some(fp) = self.seen.borrow().get(&doc.0) {
            return fp.clone();
        }
        let fp = match self.frames.get(self.store, doc) {
            Ok(fp) => fp,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        };
        self.seen.borrow_mut().insert(doc.0, fp.clone());
        fp
    }
}

impl VideoPostingSource for VideoSource<'_> {
    fn postings(&self, key: HashKey, out: &mut Vec<VideoPosting>) {
        let mut raw = Vec::new();
        self.snapshot.postings(key, &mut raw);
        out.extend(raw.into_iter().filter_map(|p| {
            let time_ms = self
                .fingerprint(p.doc)?
                .frames
                .get(p.frame as usize)?
                .time_ms;
            Some(VideoPosting {
                doc: p.doc,
                frame: p.frame,
                time_ms,
            })
        }));
    }

    fn frame_hash(&self, doc: DocId, frame: u32) -> Option<PdqHash> {
        self.fingerprint(doc)?
            .frames
            .get(frame as usize)
            .map(|f| f.hash)
    }
}

fn video_evidence(m: &VideoMatch) -> VideoEvidence {
    VideoEvidence {
        score: m.score,
        aligned_frames: m.aligned,
        mean_distance: m.mean_distance,
        mirrored: m.mirrored,
    }
}

fn video_lookup_match(recording: Recording, m: &VideoMatch) -> LookupMatch {
    LookupMatch {
        recording,
        score: m.score,
        aligned: m.aligned,
        speed: 1.0,
        pitch: 1.0,
        query_start_ms: m.query_start_ms,
        query_duration_ms: m.query_duration_ms,
        ref_start_ms: m.ref_start_ms,
        ref_duration_ms: m.ref_duration_ms,
        medium: Medium::Video,
        video: Some(video_evidence(m)),
    }
}

/// Whether an audio match and a video match put the clip at the same place
/// of the recording (within a second).
fn offsets_agree(a: &LookupMatch, v: &VideoMatch) -> bool {
    let audio_offset = a.ref_start_ms as i64 - a.query_start_ms as i64;
    (audio_offset - v.offset_ms).abs() <= 1_000
}

/// Folds a video match into the audio match of the same recording and
/// offset.
fn fuse(a: &mut LookupMatch, v: &VideoMatch) {
    let span = |s1: u64, d1: u64, s2: u64, d2: u64| {
        let start = s1.min(s2);
        (start, (s1 + d1).max(s2 + d2) - start)
    };
    (a.query_start_ms, a.query_duration_ms) = span(
        a.query_start_ms,
        a.query_duration_ms,
        v.query_start_ms,
        v.query_duration_ms,
    );
    (a.ref_start_ms, a.ref_duration_ms) = span(
        a.ref_start_ms,
        a.ref_duration_ms,
        v.ref_start_ms,
        v.ref_duration_ms,
    );
    a.score = 1.0 - (1.0 - a.score) * (1.0 - v.score);
    a.medium = Medium::Both;
    a.video = Some(video_evidence(v));
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
            content: crate::Content::Computed(ContentHash::of(&seed.to_le_bytes())),
            fingerprint: AudioFingerprint::from_parts(40_000, peaks),
            source_name: None,
            video: None,
            media: Vec::new(),
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
