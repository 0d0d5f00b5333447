//! The two sled posting layouts measured against the segment index (see
//! `INDEX_LAYOUT.md`). Not used by the registry; kept here so the
//! measurement can be re-run.

use std::path::Path;

use anyhow::{anyhow, Result};
use avreg_fingerprint::matching::{DocId, HashKey, Posting};

use super::PostingLayout;

fn db_err(e: sled::Error) -> anyhow::Error {
    anyhow::Error::from(e).context("sled")
}

fn open_db(dir: &Path) -> Result<sled::Db> {
    sled::Config::new()
        .path(dir)
        .cache_capacity(64 << 20)
        .open()
        .map_err(db_err)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Layout (a): one sled key per posting, `key ‖ doc ‖ frame` (12 bytes,
/// big-endian), empty value. A lookup is a prefix scan.
#[derive(Debug)]
pub(super) struct KeyPerPosting {
    db: sled::Db,
    tree: sled::Tree,
}

impl KeyPerPosting {
    pub(super) fn open(dir: &Path) -> Result<Self> {
        let db = open_db(dir)?;
        let tree = db.open_tree("postings").map_err(db_err)?;
        Ok(Self { db, tree })
    }
}

impl PostingLayout for KeyPerPosting {
    fn name(&self) -> &'static str {
        "sled key per posting"
    }

    fn add(&self, doc: DocId, hashes: &[(HashKey, u32)]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for &(key, frame) in hashes {
            let mut k = [0u8; 12];
            k[..4].copy_from_slice(&key.0.to_be_bytes());
            k[4..8].copy_from_slice(&doc.0.to_be_bytes());
            k[8..].copy_from_slice(&frame.to_be_bytes());
            batch.insert(&k, &[]);
        }
        self.tree.apply_batch(batch).map_err(db_err)
    }

    fn flush(&self) -> Result<()> {
        self.db.flush().map_err(db_err).map(drop)
    }

    fn postings(&self, key: HashKey, out: &mut Vec<Posting>) -> Result<()> {
        for kv in self.tree.scan_prefix(key.0.to_be_bytes()) {
            let (k, _) = kv.map_err(db_err)?;
            match (u32_at(&k, 4), u32_at(&k, 8)) {
                (Some(doc), Some(frame)) => out.push(Posting {
                    doc: DocId(doc),
                    frame,
                }),
                _ => return Err(anyhow!("malformed posting key")),
            }
        }
        Ok(())
    }
}

/// Layout (b): one sled value per hash key holding its packed postings
/// (`doc ‖ frame`, 8 bytes each), appended through sled's merge operator.
#[derive(Debug)]
pub(super) struct PackedPerKey {
    db: sled::Db,
    tree: sled::Tree,
}

fn concat_merge(_key: &[u8], old: Option<&[u8]>, new: &[u8]) -> Option<Vec<u8>> {
    let mut v = old.map(<[u8]>::to_vec).unwrap_or_default();
    v.extend_from_slice(new);
    Some(v)
}

impl PackedPerKey {
    pub(super) fn open(dir: &Path) -> Result<Self> {
        let db = open_db(dir)?;
        let tree = db.open_tree("postings").map_err(db_err)?;
        tree.set_merge_operator(concat_merge);
        Ok(Self { db, tree })
    }
}

impl PostingLayout for PackedPerKey {
    fn name(&self) -> &'static str {
        "sled packed per key"
    }

    fn add(&self, doc: DocId, hashes: &[(HashKey, u32)]) -> Result<()> {
        let mut sorted = hashes.to_vec();
        sorted.sort_unstable();
        let mut packed = Vec::new();
        for group in sorted.chunk_by(|a, b| a.0 == b.0) {
            packed.clear();
            for &(_, frame) in group {
                packed.extend_from_slice(&doc.0.to_be_bytes());
                packed.extend_from_slice(&frame.to_be_bytes());
            }
            self.tree
                .merge(group[0].0 .0.to_be_bytes(), &packed)
                .map_err(db_err)?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.db.flush().map_err(db_err).map(drop)
    }

    fn postings(&self, key: HashKey, out: &mut Vec<Posting>) -> Result<()> {
        if let Some(v) = self.tree.get(key.0.to_be_bytes()).map_err(db_err)? {
            if v.len() % 8 != 0 {
                return Err(anyhow!("malformed packed posting list"));
            }
            out.extend(v.chunks_exact(8).map(|c| Posting {
                doc: DocId(u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
                frame: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
            }));
        }
        Ok(())
    }
}
