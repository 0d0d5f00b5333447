//! The sled backend of the record store: the only code of the registry that
//! uses sled (avreg-eval keeps the two rejected sled posting layouts for the
//! layout benchmark).
//!
//! Trees (numeric keys big-endian, so key order is numeric order):
//!
//! | tree         | key                    | value                               |
//! |--------------|------------------------|-------------------------------------|
//! | `recordings` | recording id (16 B)    | versioned recording + doc number    |
//! | `by_hash`    | content hash (32 B)    | recording id                        |
//! | `docs`       | doc number (u32 BE)    | recording id                        |
//! | `forward`    | recording id (16 B)    | reference-only fingerprint bytes    |
//! | `video_forward` | recording id (16 B) | video fingerprint bytes (reference) |
//! | `video_manifest` | segment id (u64 BE) | versioned video segment entry     |
//! | `manifest`   | segment id (u64 BE)    | versioned segment entry             |
//! | `meta`       | name                   | format version, counters            |
//! | `audit`      | sequence number (u64 BE) | audit event (JSON)                |
//! | `jobs`       | job id (16 B)          | versioned job record (JSON)         |
//!
//! The ledger of domain entities adds `revisions`, `links`, `idents` and
//! `media` (see [`ledger`]).

pub(crate) mod accounts;
mod jobs;
mod ledger;

pub(crate) use ledger::Pending;

use std::path::Path;

use avreg_fingerprint::matching::DocId;
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use super::{decode_record, encode_record, id_from, Insert, StoredRecording, STORE_FORMAT_VERSION};
use crate::domain::audit::{AuditEvent, NewEvent};
use crate::error::{Error, Result};
use crate::index::{Manifest, SegmentMeta};
use crate::model::{Recording, RecordingId};

const FORMAT_VERSION_KEY: &[u8] = b"format_version";
/// A file beside the store's folder, written once the store exists: a
/// store found empty where it is is refused rather than started anew.
pub(crate) const STORE_MARKER: &str = "store-created";
const NEXT_DOC_KEY: &[u8] = b"next_doc";
const AUDIO_MS_KEY: &[u8] = b"audio_ms";
/// The last audit event (JSON), read by the next write's transaction: sled
/// transactions cannot iterate a tree to find it.
pub(super) const AUDIT_HEAD_KEY: &[u8] = b"audit_head";

pub(crate) fn db_err(e: sled::Error) -> Error {
    match e {
        sled::Error::Io(io) if crate::error::disk_full(&io) => Error::DiskFull(io),
        e => Error::Store(Box::new(e)),
    }
}

pub(super) fn tx_err(e: TransactionError<Error>) -> Error {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => db_err(e),
    }
}

fn be_u32(b: &[u8]) -> Result<u32> {
    <[u8; 4]>::try_from(b)
        .map(u32::from_be_bytes)
        .map_err(|_| Error::Corrupt("malformed u32 value".into()))
}

fn be_u64(b: &[u8]) -> Result<u64> {
    <[u8; 8]>::try_from(b)
        .map(u64::from_be_bytes)
        .map_err(|_| Error::Corrupt("malformed u64 value".into()))
}

/// The sled record store.
#[derive(Debug)]
pub(crate) struct SledStore {
    db: sled::Db,
    /// The database's configuration: it holds the first I/O error of
    /// sled's background writes, after which every write fails.
    config: sled::Config,
    recordings: sled::Tree,
    by_hash: sled::Tree,
    docs: sled::Tree,
    forward: sled::Tree,
    manifest: sled::Tree,
    meta: sled::Tree,
    /// Audit events (JSON, each with its version) by sequence number (u64 BE).
    audit: sled::Tree,
    video_forward: sled::Tree,
    video_manifest: sled::Tree,
    revisions: sled::Tree,
    links: sled::Tree,
    idents: sled::Tree,
    media: sled::Tree,
}

/// sled 0.34 reports a held lock as an `Other` I/O error wrapping the
/// `WouldBlock` of `flock`.
fn is_lock_held(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
}

/// Opens the sled database. sled's background threads release the
/// database's file lock a moment after its last handle is dropped, so a
/// reopen in the same process retries for up to two seconds on a held lock;
/// another process holding it gets the error.
fn open_db(dir: &Path, cache_bytes: u64) -> Result<(sled::Db, sled::Config)> {
    let config = sled::Config::new().path(dir).cache_capacity(cache_bytes);
    let mut attempts = 0;
    loop {
        match config.open() {
            Err(sled::Error::Io(e)) if is_lock_held(&e) && attempts < 40 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(sled::Error::Io(e)) if is_lock_held(&e) => {
                return Err(Error::Locked(dir.to_path_buf()))
            }
            other => return other.map(|db| (db, config.clone())).map_err(db_err),
        }
    }
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, refusing newer formats.
    pub(crate) fn open(dir: &Path, cache_bytes: u64) -> Result<Self> {
        Self::open_existing(dir, cache_bytes, false)
    }

    /// [`SledStore::open`]; with `existing`, a store found empty is refused
    /// (its files were lost or damaged) instead of being started anew.
    pub(crate) fn open_existing(dir: &Path, cache_bytes: u64, existing: bool) -> Result<Self> {
        let (db, config) = open_db(dir, cache_bytes)?;
        let tree = |name: &str| db.open_tree(name).map_err(db_err);
        let store = Self {
            config,
            recordings: tree("recordings")?,
            by_hash: tree("by_hash")?,
            docs: tree("docs")?,
            forward: tree("forward")?,
            manifest: tree("manifest")?,
            meta: tree("meta")?,
            audit: tree("audit")?,
            video_forward: tree("video_forward")?,
            video_manifest: tree("video_manifest")?,
            revisions: tree("revisions")?,
            links: tree("links")?,
            idents: tree("idents")?,
            media: tree("media")?,
            db,
        };
        match store.meta.get(FORMAT_VERSION_KEY).map_err(db_err)? {
            Some(v) => {
                let found = be_u32(&v)?;
                if found > STORE_FORMAT_VERSION {
                    return Err(Error::StoreTooNew {
                        found,
                        supported: STORE_FORMAT_VERSION,
                    });
                }
            }
            None if existing => {
                return Err(Error::Corrupt(format!(
                    "the store in {} is empty or unreadable, but this data directory held \
                     one (its `{STORE_MARKER}` file says so): its files were lost or damaged; \
                     restore them from a backup (or, to start an empty registry, delete the \
                     folder)",
                    dir.display()
                )));
            }
            None if store.recordings.is_empty() && store.docs.is_empty() => {
                store
                    .meta
                    .insert(FORMAT_VERSION_KEY, &STORE_FORMAT_VERSION.to_be_bytes())
                    .map_err(db_err)?;
                store.flush()?;
            }
            None => {
                return Err(Error::Corrupt(
                    "store has data but no format version".into(),
                ));
            }
        }
        Ok(store)
    }

    /// Inserts a recording with its forward fingerprint, allocating its
    /// document number, in one transaction; or returns the recording already
    /// registered with the same content hash.
    /// Registers `recording` and its audit event (made by `actor`) in one
    /// transaction, unless its content hash is already registered.
    pub(crate) fn insert(
        &self,
        recording: &Recording,
        dedup: &[u8; 32],
        forward: &[u8],
        video: Option<&[u8]>,
        actor: &str,
    ) -> Result<Insert> {
        let payload = serde_json::to_vec(recording)
            .map_err(|e| Error::Corrupt(format!("encoding the audit payload: {e}")))?;
        let trees = (
            &self.recordings,
            &self.by_hash,
            &self.docs,
            &self.forward,
            &self.meta,
            &self.audit,
            &self.video_forward,
        );
        trees
            .transaction(|(recs, by_hash, docs, fwd, meta, audit, vfwd)| {
                let abort = ConflictableTransactionError::Abort;
                if let Some(id) = by_hash.get(dedup)? {
                    let existing = recs.get(&id)?.ok_or_else(|| {
                        abort(Error::Corrupt("dedup key without recording".into()))
                    })?;
                    let stored = decode_record(&existing).map_err(abort)?;
                    return Ok(Insert::Existing(Box::new(stored.recording)));
                }
                let next = match meta.get(NEXT_DOC_KEY)? {
                    Some(v) => be_u32(&v).map_err(abort)?,
                    None => 0,
                };
                let after = next
                    .checked_add(1)
                    .ok_or_else(|| abort(Error::DocsExhausted))?;
                let audio_ms = match meta.get(AUDIO_MS_KEY)? {
                    Some(v) => be_u64(&v).map_err(abort)?,
                    None => 0,
                };
                let doc = DocId(next);
                let id = recording.id.as_bytes();
                let value = encode_record(doc, recording).map_err(abort)?;
                recs.insert(id, value)?;
                by_hash.insert(&dedup[..], id)?;
                docs.insert(&next.to_be_bytes(), id)?;
                fwd.insert(id, forward)?;
                if let Some(v) = video {
                    vfwd.insert(id, v)?;
                }
                meta.insert(NEXT_DOC_KEY, &after.to_be_bytes())?;
                meta.insert(
                    AUDIO_MS_KEY,
                    &audio_ms.saturating_add(recording.duration_ms).to_be_bytes(),
                )?;
                append_audit(
                    meta,
                    audit,
                    &NewEvent {
                        actor,
                        operation: "register_recording",
                        entity: &format!("recording:{}", recording.id),
                        payload: &payload,
                        at_ms: recording.registered_at_ms,
                    },
                )?;
                Ok(Insert::New(doc))
            })
            .map_err(tx_err)
    }

    /// Audit events from sequence number `since` on, in order.
    pub(crate) fn audit_events(&self, since: u64) -> Result<Vec<AuditEvent>> {
        self.audit_page(since, usize::MAX)
    }

    /// At most `limit` audit events from sequence number `since` on, in
    /// order (reads only those).
    pub(crate) fn audit_page(&self, since: u64, limit: usize) -> Result<Vec<AuditEvent>> {
        self.audit
            .range(since.to_be_bytes()..)
            .take(limit)
            .map(|kv| decode_event(&kv.map_err(db_err)?.1))
            .collect()
    }

    /// The audit event with sequence number `seq`.
    pub(crate) fn audit_event(&self, seq: u64) -> Result<Option<AuditEvent>> {
        self.audit
            .get(seq.to_be_bytes())
            .map_err(db_err)?
            .map(|v| decode_event(&v))
            .transpose()
    }

    /// The last audit event (one read of the head kept beside the log).
    pub(crate) fn audit_last(&self) -> Result<Option<AuditEvent>> {
        self.meta
            .get(AUDIT_HEAD_KEY)
            .map_err(db_err)?
            .map(|v| decode_event(&v))
            .transpose()
    }

    /// A recording and its document number.
    pub(crate) fn recording(&self, id: RecordingId) -> Result<Option<StoredRecording>> {
        self.recordings
            .get(id.as_bytes())
            .map_err(db_err)?
            .map(|v| decode_record(&v))
            .transpose()
    }

    /// At most `limit` recordings from the `offset`-th on, in registration
    /// (document number) order, and how many there are: reads only those.
    pub(crate) fn recordings_page(
        &self,
        offset: u64,
        limit: usize,
    ) -> Result<(Vec<StoredRecording>, u64)> {
        let total = match self.meta.get(NEXT_DOC_KEY).map_err(db_err)? {
            Some(v) => u64::from(be_u32(&v)?),
            None => 0,
        };
        let Ok(from) = u32::try_from(offset) else {
            return Ok((Vec::new(), total));
        };
        let mut page = Vec::new();
        for kv in self.docs.range(from.to_be_bytes()..).take(limit) {
            let (_, id) = kv.map_err(db_err)?;
            let id = id_from(&id)?;
            let stored = self.recording(id)?.ok_or_else(|| {
                Error::Corrupt(format!("document of recording {id} without its record"))
            })?;
            page.push(stored);
        }
        Ok((page, total))
    }

    /// Every recording, in id (registration) order.
    pub(crate) fn recordings(&self) -> Result<Vec<StoredRecording>> {
        self.recordings
            .iter()
            .map(|kv| decode_record(&kv.map_err(db_err)?.1))
            .collect()
    }

    /// The recording registered under this dedup key (see
    /// `registry::dedup_key`; recordings stored before registrants are
    /// keyed by their content hash).
    pub(crate) fn by_dedup_key(&self, key: &[u8; 32]) -> Result<Option<RecordingId>> {
        self.by_hash
            .get(key)
            .map_err(db_err)?
            .map(|v| id_from(&v))
            .transpose()
    }

    /// The recording of a document number.
    pub(crate) fn doc_recording(&self, doc: DocId) -> Result<Option<RecordingId>> {
        self.docs
            .get(doc.0.to_be_bytes())
            .map_err(db_err)?
            .map(|v| id_from(&v))
            .transpose()
    }

    /// Every (document number, recording id).
    pub(crate) fn docs(&self) -> Result<Vec<(DocId, RecordingId)>> {
        self.docs
            .iter()
            .map(|kv| {
                let (k, v) = kv.map_err(db_err)?;
                Ok((DocId(be_u32(&k)?), id_from(&v)?))
            })
            .collect()
    }

    /// The stored (reference-only) fingerprint bytes of a recording.
    pub(crate) fn forward(&self, id: RecordingId) -> Result<Option<Vec<u8>>> {
        Ok(self
            .forward
            .get(id.as_bytes())
            .map_err(db_err)?
            .map(|v| v.to_vec()))
    }

    /// The stored video fingerprint bytes of a recording.
    pub(crate) fn video_forward(&self, id: RecordingId) -> Result<Option<Vec<u8>>> {
        Ok(self
            .video_forward
            .get(id.as_bytes())
            .map_err(db_err)?
            .map(|v| v.to_vec()))
    }

    /// Number of recordings with a video fingerprint.
    pub(crate) fn video_count(&self) -> u64 {
        self.video_forward.len() as u64
    }

    /// The manifest of the video index's segments (its own tree).
    pub(crate) fn video_manifest(&self) -> SledManifest {
        SledManifest {
            db: self.db.clone(),
            tree: self.video_manifest.clone(),
        }
    }

    /// (recordings, total audio ms).
    pub(crate) fn counts(&self) -> Result<(u64, u64)> {
        let audio_ms = match self.meta.get(AUDIO_MS_KEY).map_err(db_err)? {
            Some(v) => be_u64(&v)?,
            None => 0,
        };
        Ok((self.recordings.len() as u64, audio_ms))
    }

    /// Number of recordings with a forward fingerprint and a dedup key.
    pub(crate) fn side_counts(&self) -> (u64, u64) {
        (self.forward.len() as u64, self.by_hash.len() as u64)
    }

    /// fsyncs everything written so far.
    pub(crate) fn flush(&self) -> Result<()> {
        self.db.flush().map_err(db_err).map(drop)
    }

    /// Bytes used on disk.
    /// Whether the store answers: one read of one key, whatever its size.
    pub(crate) fn ping(&self) -> Result<()> {
        // A background write that failed (a full disk) fails every later
        // write, while reads from the cache may still succeed.
        self.config.global_error().map_err(db_err)?;
        self.meta.get(AUDIO_MS_KEY).map_err(db_err)?;
        Ok(())
    }

    pub(crate) fn size_on_disk(&self) -> Result<u64> {
        self.db.size_on_disk().map_err(db_err)
    }

    #[cfg(test)]
    pub(crate) fn set_format_version(&self, v: u32) -> Result<()> {
        self.meta
            .insert(FORMAT_VERSION_KEY, &v.to_be_bytes())
            .map_err(db_err)?;
        self.flush()
    }
}

impl Manifest for SledStore {
    fn segments(&self) -> Result<Vec<SegmentMeta>> {
        segments_of(&self.manifest)
    }

    fn next_segment_id(&self) -> Result<u64> {
        self.db.generate_id().map_err(db_err)
    }

    fn commit(&self, add: Option<&SegmentMeta>, remove: &[u64]) -> Result<()> {
        commit_manifest(&self.manifest, add, remove)?;
        self.flush()
    }
}

/// A manifest kept in its own tree of the store (the video index's).
#[derive(Debug)]
pub(crate) struct SledManifest {
    db: sled::Db,
    tree: sled::Tree,
}

impl Manifest for SledManifest {
    fn segments(&self) -> Result<Vec<SegmentMeta>> {
        segments_of(&self.tree)
    }

    fn next_segment_id(&self) -> Result<u64> {
        self.db.generate_id().map_err(db_err)
    }

    fn commit(&self, add: Option<&SegmentMeta>, remove: &[u64]) -> Result<()> {
        commit_manifest(&self.tree, add, remove)?;
        self.db.flush().map_err(db_err).map(drop)
    }
}

fn segments_of(tree: &sled::Tree) -> Result<Vec<SegmentMeta>> {
    tree.iter()
        .map(|kv| {
            let (k, v) = kv.map_err(db_err)?;
            let m = SegmentMeta::decode(&v)?;
            if be_u64(&k)? != m.id {
                return Err(Error::Corrupt(
                    "manifest key does not match its entry".into(),
                ));
            }
            Ok(m)
        })
        .collect()
}

fn commit_manifest(tree: &sled::Tree, add: Option<&SegmentMeta>, remove: &[u64]) -> Result<()> {
    tree.transaction(|t| {
        for id in remove {
            t.remove(&id.to_be_bytes())?;
        }
        if let Some(add) = add {
            t.insert(&add.id.to_be_bytes(), add.encode())?;
        }
        Ok(())
    })
    .map_err(tx_err)
}

/// Appends an audit event inside a transaction: chains it after the head
/// kept in `meta`, writes it to `audit` and makes it the new head. Event
/// times never decrease along the log (`seq_at` relies on it), whatever the
/// clock does: `new.at_ms` is raised to the head's time if earlier.
pub(super) fn append_audit(
    meta: &sled::transaction::TransactionalTree,
    audit: &sled::transaction::TransactionalTree,
    new: &NewEvent<'_>,
) -> std::result::Result<AuditEvent, ConflictableTransactionError<Error>> {
    let abort = ConflictableTransactionError::Abort;
    let last = match meta.get(AUDIT_HEAD_KEY)? {
        Some(v) => Some(decode_event(&v).map_err(abort)?),
        None => None,
    };
    let at_ms = new.at_ms.max(last.as_ref().map_or(0, |e| e.at_ms));
    let event = AuditEvent::append(
        last.as_ref(),
        &NewEvent {
            at_ms,
            ..new.clone()
        },
    );
    let bytes = serde_json::to_vec(&event)
        .map_err(|e| abort(Error::Corrupt(format!("encoding an audit event: {e}"))))?;
    audit.insert(&event.seq.to_be_bytes(), bytes.as_slice())?;
    meta.insert(AUDIT_HEAD_KEY, bytes)?;
    Ok(event)
}

pub(super) fn decode_event(bytes: &[u8]) -> Result<AuditEvent> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("audit event: {e}")))
}
