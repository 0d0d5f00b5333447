//! The ledger's trees: every revision of every domain entity, the links
//! between entities, the identifiers they claim and the media attached to
//! fixations. Written only through [`SledStore::commit_ledger`], one sled
//! transaction per write together with its audit events.
//!
//! | tree        | key                                   | value                  |
//! |-------------|---------------------------------------|------------------------|
//! | `revisions` | entity key, audit seq (u64 BE)        | revision (JSON)        |
//! | `links`     | parent entity key, child entity key   | empty                  |
//! | `idents`    | `scheme:value` (e.g. `isan:…`)        | entity key             |
//! | `media`     | `f` fixation id / `r` recording id    | recording / fixation id|
//!
//! An entity key is its kind's tag byte and its id bytes, so one entity's
//! revisions sort together in write order, and the latest is the last.

use sled::transaction::{ConflictableTransactionError, Transactional};

use super::{append_audit, db_err, decode_event, tx_err, SledStore};
use crate::domain::audit::{CommitmentKey, NewEvent};
use crate::domain::ids::FixationId;
use crate::domain::model::{Reason, ValidationError};
use crate::error::{Error, Result};
use crate::ledger::audit_payload;
use crate::ledger::{Entity, EntityKind, EntityRef, Op, Revision, REVISION_VERSION};
use crate::model::RecordingId;

/// One change of a ledger write, before the transaction numbers it.
#[derive(Clone, Debug)]
pub(crate) enum Pending {
    /// A new revision of an entity.
    Revision {
        /// What it does.
        op: Op,
        /// The entity after it.
        entity: Entity,
    },
    /// Media attached to a fixation.
    Media {
        /// The fixation.
        fixation: FixationId,
        /// Its registered recording.
        recording: RecordingId,
    },
}

fn revision_key(r: &EntityRef, seq: u64) -> Vec<u8> {
    let mut k = r.key();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn decode_revision(bytes: &[u8]) -> Result<Revision> {
    let rev: Revision =
        serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("revision: {e}")))?;
    if rev.version > REVISION_VERSION {
        return Err(Error::UnsupportedVersion {
            what: "revision",
            found: rev.version,
            supported: REVISION_VERSION,
        });
    }
    Ok(rev)
}

fn seq_of_key(k: &[u8]) -> Result<u64> {
    k.len()
        .checked_sub(8)
        .and_then(|at| <[u8; 8]>::try_from(&k[at..]).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::Corrupt("malformed revision key".into()))
}

fn media_key(tag: u8, id: &[u8; 16]) -> [u8; 17] {
    let mut k = [0; 17];
    k[0] = tag;
    k[1..].copy_from_slice(id);
    k
}

impl SledStore {
    /// Commits `pending` by `actor` in one transaction: each change gets
    /// the next audit event (at `now_ms`, or the last event's time if the
    /// clock went back), its revision, links and identifiers. Returns the
    /// revisions with their sequence numbers, in order (media links have
    /// their audit event but no revision).
    pub(crate) fn commit_ledger(
        &self,
        actor: &str,
        pending: &[Pending],
        now_ms: u64,
        commitments: &CommitmentKey,
    ) -> Result<Vec<Revision>> {
        // Encode outside the transaction (which may run more than once).
        let mut payloads = Vec::with_capacity(pending.len());
        for p in pending {
            let (operation, entity, payload) = match p {
                Pending::Revision { op, entity } => {
                    let r = entity.reference();
                    let payload = audit_payload(*op, entity, commitments)
                        .map_err(|e| Error::Corrupt(format!("encoding a revision: {e}")))?;
                    (
                        format!("{}_{}", op.name(), r.kind().name()),
                        r.to_string(),
                        payload,
                    )
                }
                Pending::Media {
                    fixation,
                    recording,
                } => (
                    "attach_media".to_owned(),
                    EntityRef::Fixation(*fixation).to_string(),
                    recording.to_string().into_bytes(),
                ),
            };
            payloads.push((operation, entity, payload));
        }
        let trees = (
            &self.revisions,
            &self.links,
            &self.idents,
            &self.media,
            &self.meta,
            &self.audit,
        );
        trees
            .transaction(|(revs, links, idents, media, meta, audit)| {
                let abort = ConflictableTransactionError::Abort;
                let mut out = Vec::with_capacity(pending.len());
                for (p, (operation, entity, payload)) in pending.iter().zip(&payloads) {
                    let event = append_audit(
                        meta,
                        audit,
                        &NewEvent {
                            actor,
                            operation,
                            entity,
                            payload,
                            at_ms: now_ms,
                        },
                    )?;
                    let at_ms = event.at_ms;
                    match p {
                        Pending::Revision { op, entity } => {
                            let r = entity.reference();
                            let rev = Revision {
                                version: REVISION_VERSION,
                                seq: event.seq,
                                at_ms,
                                actor: actor.to_owned(),
                                op: *op,
                                entity: entity.clone(),
                            };
                            let value = serde_json::to_vec(&rev).map_err(|e| {
                                abort(Error::Corrupt(format!("encoding a revision: {e}")))
                            })?;
                            revs.insert(revision_key(&r, event.seq), value)?;
                            let child = r.key();
                            for parent in entity.parents() {
                                let mut k = parent.key();
                                k.extend_from_slice(&child);
                                links.insert(k, &[][..])?;
                            }
                            for (_, ident) in entity.identifiers() {
                                idents.insert(ident.as_bytes(), child.as_slice())?;
                            }
                            out.push(rev);
                        }
                        Pending::Media {
                            fixation,
                            recording,
                        } => {
                            // Checked again inside the transaction: one
                            // fixation, one recording, one link.
                            if media.get(media_key(b'f', fixation.as_bytes()))?.is_some()
                                || media.get(media_key(b'r', recording.as_bytes()))?.is_some()
                            {
                                return Err(abort(Error::Invalid(ValidationError::new(
                                    "media",
                                    Reason::Existence(format!(
                                        "fixation {fixation} or recording {recording} is already linked"
                                    )),
                                ))));
                            }
                            media.insert(
                                &media_key(b'f', fixation.as_bytes()),
                                &recording.as_bytes()[..],
                            )?;
                            media.insert(
                                &media_key(b'r', recording.as_bytes()),
                                &fixation.as_bytes()[..],
                            )?;
                        }
                    }
                }
                Ok(out)
            })
            .map_err(tx_err)
    }

    /// The revision of `r` current at audit sequence `at` (inclusive;
    /// `None` = the latest).
    pub(crate) fn revision_at(&self, r: &EntityRef, at: Option<u64>) -> Result<Option<Revision>> {
        let prefix = r.key();
        match at {
            None => self
                .revisions
                .scan_prefix(&prefix)
                .next_back()
                .transpose()
                .map_err(db_err)?
                .map(|(_, v)| decode_revision(&v))
                .transpose(),
            Some(seq) => {
                let mut end = prefix.clone();
                end.extend_from_slice(&seq.to_be_bytes());
                match self
                    .revisions
                    .range(prefix.as_slice()..=end.as_slice())
                    .next_back()
                    .transpose()
                    .map_err(db_err)?
                {
                    Some((_, v)) => decode_revision(&v).map(Some),
                    None => Ok(None),
                }
            }
        }
    }

    /// Every revision of `r`, oldest first.
    pub(crate) fn history(&self, r: &EntityRef) -> Result<Vec<Revision>> {
        self.revisions
            .scan_prefix(r.key())
            .map(|kv| decode_revision(&kv.map_err(db_err)?.1))
            .collect()
    }

    /// The entities of `kind` that ever referred to `parent`.
    pub(crate) fn children(&self, parent: &EntityRef, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let mut prefix = parent.key();
        let at = prefix.len();
        prefix.push(kind.tag());
        self.links
            .scan_prefix(&prefix)
            .map(|kv| {
                let (k, _) = kv.map_err(db_err)?;
                EntityRef::from_key(&k[at..])
                    .map(|(r, _)| r)
                    .ok_or_else(|| Error::Corrupt("malformed link key".into()))
            })
            .collect()
    }

    /// The revision current at `at` of every entity of `kind` that existed
    /// then, in id order, starting after `after`; at most `limit`.
    pub(crate) fn entities(
        &self,
        kind: EntityKind,
        at: Option<u64>,
        after: Option<&EntityRef>,
        limit: usize,
    ) -> Result<Vec<Revision>> {
        let start = match after {
            // The first key past every revision of `after`.
            Some(r) => {
                let mut k = r.key();
                k.extend_from_slice(&[0xff; 9]);
                k
            }
            None => vec![kind.tag()],
        };
        let end = vec![kind.tag() + 1];
        let mut out: Vec<Revision> = Vec::new();
        let mut current: Option<(Vec<u8>, Option<Revision>)> = None;
        for kv in self.revisions.range(start..end) {
            let (k, v) = kv.map_err(db_err)?;
            let entity_key = &k[..k.len().saturating_sub(8)];
            if current
                .as_ref()
                .is_none_or(|(ck, _)| ck.as_slice() != entity_key)
            {
                if let Some((_, Some(rev))) = current.take() {
                    out.push(rev);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
                current = Some((entity_key.to_vec(), None));
            }
            if at.is_none_or(|seq| seq_of_key(&k).is_ok_and(|s| s <= seq)) {
                if let Some((_, slot)) = current.as_mut() {
                    *slot = Some(decode_revision(&v)?);
                }
            }
        }
        if let Some((_, Some(rev))) = current {
            if out.len() < limit {
                out.push(rev);
            }
        }
        Ok(out)
    }

    /// The entity that claimed identifier key `ident` (`scheme:value`).
    pub(crate) fn ident(&self, ident: &str) -> Result<Option<EntityRef>> {
        self.idents
            .get(ident.as_bytes())
            .map_err(db_err)?
            .map(|v| {
                EntityRef::from_key(&v)
                    .map(|(r, _)| r)
                    .ok_or_else(|| Error::Corrupt("malformed identifier value".into()))
            })
            .transpose()
    }

    /// The recording attached to a fixation.
    pub(crate) fn media_of(&self, fixation: FixationId) -> Result<Option<RecordingId>> {
        self.media
            .get(media_key(b'f', fixation.as_bytes()))
            .map_err(db_err)?
            .map(|v| super::id_from(&v))
            .transpose()
    }

    /// The fixation a recording is attached to.
    pub(crate) fn fixation_of(&self, recording: RecordingId) -> Result<Option<FixationId>> {
        self.media
            .get(media_key(b'r', recording.as_bytes()))
            .map_err(db_err)?
            .map(|v| {
                <[u8; 16]>::try_from(&v[..])
                    .map(|b| FixationId::from_u128(u128::from_be_bytes(b)))
                    .map_err(|_| Error::Corrupt("malformed fixation id".into()))
            })
            .transpose()
    }

    /// The last audit sequence number recorded at or before `at_ms`
    /// (`None`: nothing was). Event times never decrease along the log.
    pub(crate) fn seq_at(&self, at_ms: u64) -> Result<Option<u64>> {
        let time_of = |seq: u64| -> Result<u64> {
            match self.audit.get(seq.to_be_bytes()).map_err(db_err)? {
                Some(v) => Ok(decode_event(&v)?.at_ms),
                None => Err(Error::Corrupt(format!("audit event {seq} missing"))),
            }
        };
        // The head kept beside the log, not `len()`, which walks the tree.
        let n = self.audit_last()?.map_or(0, |e| e.seq + 1);
        if n == 0 || time_of(0)? > at_ms {
            return Ok(None);
        }
        // Invariant: time_of(lo) <= at_ms, and everything from hi on is later.
        let (mut lo, mut hi) = (0u64, n);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if time_of(mid)? <= at_ms {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(Some(lo))
    }

    /// (revisions, media attachments): one audit event each.
    pub(crate) fn ledger_counts(&self) -> (u64, u64) {
        (self.revisions.len() as u64, self.media.len() as u64 / 2)
    }
}
