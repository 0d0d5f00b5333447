//! API key records in the sled tree `keys`, each write with its audit
//! event in one transaction.
//!
//! | key                      | value                        |
//! |--------------------------|------------------------------|
//! | `i` + key id (16 B)      | versioned [`KeyRecord`] JSON |
//! | `h` + secret hash (32 B) | key id (16 B)                |
//!
//! The tree is opened on use (sled caches open trees) so that the store's
//! struct does not change for it.

use sled::transaction::{ConflictableTransactionError, Transactional};

use super::{append_audit, db_err, tx_err, SledStore};
use crate::accounts::{ApiKeyId, KeyRecord, SecretHash, KEY_RECORD_VERSION};
use crate::domain::audit::NewEvent;
use crate::error::{Error, Result};

const TREE: &str = "keys";

fn id_key(id: ApiKeyId) -> Vec<u8> {
    let mut k = vec![b'i'];
    k.extend_from_slice(id.as_bytes());
    k
}

fn hash_key(h: &SecretHash) -> Vec<u8> {
    let mut k = vec![b'h'];
    k.extend_from_slice(&h.0);
    k
}

fn encode(r: &KeyRecord) -> Result<Vec<u8>> {
    serde_json::to_vec(r).map_err(|e| Error::Corrupt(format!("cannot encode a key: {e}")))
}

fn decode(bytes: &[u8]) -> Result<KeyRecord> {
    #[derive(serde::Deserialize)]
    struct Version {
        version: u16,
    }
    let v: Version = serde_json::from_slice(bytes)
        .map_err(|e| Error::Corrupt(format!("malformed key record: {e}")))?;
    if v.version != KEY_RECORD_VERSION {
        return Err(Error::UnsupportedVersion {
            what: "key record",
            found: u32::from(v.version),
            supported: u32::from(KEY_RECORD_VERSION),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("malformed key record: {e}")))
}

/// An audit event to append with a key write.
pub(crate) struct KeyAudit<'a> {
    pub actor: &'a str,
    pub operation: &'a str,
    pub at_ms: u64,
}

impl SledStore {
    fn keys(&self) -> Result<sled::Tree> {
        self.db.open_tree(TREE).map_err(db_err)
    }

    /// Writes `record` (new or revoked) and its audit event in one
    /// transaction. A new record must not reuse a secret hash.
    pub(crate) fn put_key(&self, record: &KeyRecord, audit: &KeyAudit<'_>) -> Result<()> {
        let keys = self.keys()?;
        let value = encode(record)?;
        let payload = value.clone();
        (&keys, &self.meta, &self.audit)
            .transaction(|(keys, meta, log)| {
                let abort = ConflictableTransactionError::Abort;
                let hk = hash_key(&record.hash);
                match keys.get(&hk)? {
                    Some(id) if id.as_ref() != record.id.as_bytes() => {
                        return Err(abort(Error::Corrupt("duplicate key secret hash".into())));
                    }
                    _ => {}
                }
                keys.insert(id_key(record.id), value.as_slice())?;
                keys.insert(hk, record.id.as_bytes())?;
                append_audit(
                    meta,
                    log,
                    &NewEvent {
                        actor: audit.actor,
                        operation: audit.operation,
                        entity: &format!("key:{}", record.id),
                        payload: &payload,
                        at_ms: audit.at_ms,
                    },
                )?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    /// A key by id.
    pub(crate) fn key(&self, id: ApiKeyId) -> Result<Option<KeyRecord>> {
        self.keys()?
            .get(id_key(id))
            .map_err(db_err)?
            .map(|v| decode(&v))
            .transpose()
    }

    /// The key whose secret hashes to `hash`, compared in constant time.
    pub(crate) fn key_by_hash(&self, hash: &SecretHash) -> Result<Option<KeyRecord>> {
        let keys = self.keys()?;
        let Some(id) = keys.get(hash_key(hash)).map_err(db_err)? else {
            return Ok(None);
        };
        let id = <[u8; 16]>::try_from(id.as_ref())
            .map(ApiKeyId::from_bytes)
            .map_err(|_| Error::Corrupt("malformed key id".into()))?;
        Ok(self.key(id)?.filter(|r| r.hash.matches(hash)))
    }

    /// Every key, oldest first.
    pub(crate) fn all_keys(&self) -> Result<Vec<KeyRecord>> {
        self.keys()?
            .scan_prefix(b"i")
            .map(|kv| decode(&kv.map_err(db_err)?.1))
            .collect()
    }
}
