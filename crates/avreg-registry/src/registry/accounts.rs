//! The [`Registry`]'s API key methods: create, list, revoke, authenticate.
//! Creation and revocation each append an audit event in the same sled
//! transaction as the write.

use super::{now_ms, Registry};
use crate::accounts::{
    AccountError, ApiKeyId, CreatedKey, KeyRecord, NewKey, Role, Secret, KEY_RECORD_VERSION,
};
use crate::error::Result;
use crate::ledger::{CommitGate, Gated};
use crate::store::sled::accounts::KeyAudit;

impl Registry {
    /// Creates a key for `new` on behalf of `actor` (`local` from the
    /// command line, `key:ID` over HTTP). The secret is in the answer and
    /// nowhere else.
    pub fn create_key(&self, actor: &str, new: NewKey) -> Result<CreatedKey> {
        self.gated(&CommitGate::new()).create_key(actor, new)
    }

    /// Every key (revoked ones too), oldest first. Secrets are not in them.
    pub fn list_keys(&self) -> Result<Vec<KeyRecord>> {
        self.store.all_keys()
    }

    /// A key by id.
    pub fn key(&self, id: ApiKeyId) -> Result<Option<KeyRecord>> {
        self.store.key(id)
    }

    /// Revokes a key: `None` if there is no such key; a key revoked before
    /// is returned as it is, and nothing is written.
    pub fn revoke_key(&self, actor: &str, id: ApiKeyId) -> Result<Option<KeyRecord>> {
        self.gated(&CommitGate::new()).revoke_key(actor, id)
    }

    /// The active key whose secret is `secret` (`avreg_…`), or `None` for a
    /// malformed, unknown or revoked secret.
    pub fn authenticate(&self, secret: &str) -> Result<Option<KeyRecord>> {
        let Ok(secret) = Secret::parse(secret) else {
            return Ok(None);
        };
        Ok(self
            .store
            .key_by_hash(&secret.hash())?
            .filter(KeyRecord::is_active))
    }
}

/// The key writes, behind the gate.
impl Gated<'_> {
    /// [`Registry::create_key`] behind the gate.
    pub fn create_key(&self, actor: &str, new: NewKey) -> Result<CreatedKey> {
        new.bound_to.check(new.role)?;
        let secret = Secret::generate()?;
        let record = KeyRecord {
            version: KEY_RECORD_VERSION,
            id: ApiKeyId::new(),
            role: new.role,
            bound_to: new.bound_to,
            label: new.label,
            created_at_ms: now_ms(),
            revoked_at_ms: None,
            hash: secret.hash(),
        };
        self.registry.ensure_space()?;
        self.gate.pass()?;
        self.registry.store.put_key(
            &record,
            &KeyAudit {
                actor,
                operation: "create_key",
                at_ms: record.created_at_ms,
            },
        )?;
        Ok(CreatedKey { record, secret })
    }

    /// [`Registry::revoke_key`] behind the gate.
    pub fn revoke_key(&self, actor: &str, id: ApiKeyId) -> Result<Option<KeyRecord>> {
        let Some(mut record) = self.registry.store.key(id)? else {
            return Ok(None);
        };
        if record.revoked_at_ms.is_some() {
            return Ok(Some(record));
        }
        // Key revocations are serialised (by the ledger's lock) so that two
        // admins revoking each other cannot both see the other active.
        let _guard = self.registry.ledger_guard();
        if record.role == Role::Admin {
            let others = self
                .registry
                .store
                .all_keys()?
                .into_iter()
                .filter(|k| k.id != id && k.role == Role::Admin && k.revoked_at_ms.is_none())
                .count();
            if others == 0 {
                return Err(AccountError::LastAdmin.into());
            }
        }
        let at_ms = now_ms();
        record.revoked_at_ms = Some(at_ms);
        self.gate.pass()?;
        self.registry.store.put_key(
            &record,
            &KeyAudit {
                actor,
                operation: "revoke_key",
                at_ms,
            },
        )?;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use crate::accounts::{Binding, NewKey, Role};
    use crate::domain::ids::PerformerId;
    use crate::{Registry, RegistryOptions};

    #[test]
    fn create_authenticate_revoke_with_audit_events() {
        let dir = tempfile::tempdir().expect("temp dir");
        let reg = Registry::open(dir.path(), RegistryOptions::default()).expect("open");
        let bad = reg.create_key(
            "local",
            NewKey {
                role: Role::Performer,
                bound_to: Binding::None,
                label: String::new(),
            },
        );
        assert!(bad.is_err());
        assert_eq!(reg.audit_log(0).expect("log").len(), 0, "nothing written");
        let created = reg
            .create_key(
                "local",
                NewKey {
                    role: Role::Agent,
                    bound_to: Binding::Performers(vec![PerformerId::new()]),
                    label: "agent".into(),
                },
            )
            .expect("create");
        let shown = created.secret.expose();
        let found = reg.authenticate(&shown).expect("auth").expect("known");
        assert_eq!(found, created.record);
        assert!(reg.authenticate("avreg_nope").expect("auth").is_none());
        let other = crate::accounts::Secret::generate()
            .expect("random")
            .expose();
        assert!(reg.authenticate(&other).expect("auth").is_none());
        assert_eq!(reg.list_keys().expect("list"), vec![created.record.clone()]);

        let revoked = reg
            .revoke_key("key:admin", created.record.id)
            .expect("revoke")
            .expect("exists");
        assert!(revoked.revoked_at_ms.is_some());
        assert!(reg.authenticate(&shown).expect("auth").is_none());
        // Revoking twice writes nothing.
        reg.revoke_key("local", created.record.id).expect("again");
        let log = reg.audit_log(0).expect("log");
        let ops: Vec<_> = log
            .iter()
            .map(|e| (e.operation.as_str(), e.actor.as_str()))
            .collect();
        assert_eq!(ops, [("create_key", "local"), ("revoke_key", "key:admin")]);
        assert_eq!(log[0].entity, format!("key:{}", created.record.id));
        reg.verify().expect("the chain and the registry verify");
    }

    #[test]
    fn the_last_active_admin_key_is_not_revoked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let reg = Registry::open(dir.path(), RegistryOptions::default()).expect("open");
        let admin = || NewKey {
            role: Role::Admin,
            bound_to: Binding::None,
            label: "admin".into(),
        };
        let first = reg.create_key("local", admin()).expect("create").record.id;
        let refused = reg.revoke_key("local", first);
        assert!(
            matches!(
                refused,
                Err(crate::Error::Account(
                    crate::accounts::AccountError::LastAdmin
                ))
            ),
            "{refused:?}"
        );
        let second = reg.create_key("local", admin()).expect("create").record.id;
        reg.revoke_key("local", first)
            .expect("another admin remains");
        assert!(reg.revoke_key("local", second).is_err(), "now the last");
        assert_eq!(
            reg.audit_log(0).expect("log").len(),
            3,
            "refusals write nothing"
        );
    }
}
