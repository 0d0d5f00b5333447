//! API keys: who may call the service, in which role, bound to which
//! performers or organisation.
//!
//! Pure types. A key's secret is 32 random bytes, shown once as
//! `avreg_<base64url>`; the registry stores only its blake3 hash and
//! compares hashes in constant time. Persisting key records is the store's
//! business (`store::sled::accounts`); the `Registry` methods live in
//! `registry::accounts`.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::domain::ids::{OrganisationId, PerformerId};

/// Version of the stored [`KeyRecord`].
pub const KEY_RECORD_VERSION: u16 = 1;

/// The prefix of every secret, so that leaked keys are easy to grep for.
pub const SECRET_PREFIX: &str = "avreg_";

uuid_id!(
    /// The id of an API key (UUID v7), public: listed, revoked and written
    /// in the audit log as `key:ID`. Not a secret.
    ApiKeyId,
    AccountError,
    AccountError::KeyId
);

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including key management.
    Admin,
    /// A performer: writes for the performers the key is bound to.
    Performer,
    /// A performer's agent: like a performer, for the performers bound.
    Agent,
    /// A producer: writes for the organisation the key is bound to.
    Producer,
    /// A platform: lookups only.
    Platform,
    /// A collecting society: reads everything, exports, audit.
    Society,
    /// A monitoring system: reads the service's metrics, nothing else.
    Monitor,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Performer,
        Role::Agent,
        Role::Producer,
        Role::Platform,
        Role::Society,
        Role::Monitor,
    ];

    /// The role's name (`admin`, `performer`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Performer => "performer",
            Role::Agent => "agent",
            Role::Producer => "producer",
            Role::Platform => "platform",
            Role::Society => "society",
            Role::Monitor => "monitor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AccountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| AccountError::Role(s.to_owned()))
    }
}

/// Whom a key acts for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "ids", rename_all = "snake_case")]
pub enum Binding {
    /// Nobody in particular (admin, platform, society, monitor).
    None,
    /// These performers (performer and agent keys).
    Performers(Vec<PerformerId>),
    /// This organisation (producer keys).
    Organisation(OrganisationId),
}

impl Binding {
    /// Whether this binding fits `role`: performers and agents need at
    /// least one performer, producers one organisation, the others none.
    pub fn check(&self, role: Role) -> Result<(), AccountError> {
        let ok = match (role, self) {
            (Role::Performer | Role::Agent, Binding::Performers(ids)) => !ids.is_empty(),
            (Role::Producer, Binding::Organisation(_)) => true,
            (Role::Admin | Role::Platform | Role::Society | Role::Monitor, Binding::None) => true,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(AccountError::Binding(role))
        }
    }
}

/// The blake3 hash of a secret: all the registry keeps of it.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretHash(#[serde(with = "crate::domain::audit::hex32")] pub [u8; 32]);

impl SecretHash {
    /// Constant-time comparison (blake3's `Hash` equality is constant-time).
    pub fn matches(&self, other: &SecretHash) -> bool {
        blake3::Hash::from_bytes(self.0) == blake3::Hash::from_bytes(other.0)
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(…)")
    }
}

/// A key's secret, as shown once to its holder. Never stored, never logged
/// (its `Debug` hides it).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; 32]);

impl Secret {
    /// 32 bytes from the operating system's random source.
    pub fn generate() -> Result<Self, AccountError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| AccountError::Random(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// Parses `avreg_<base64url of 32 bytes>`.
    pub fn parse(s: &str) -> Result<Self, AccountError> {
        let body = s.strip_prefix(SECRET_PREFIX).ok_or(AccountError::Secret)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| AccountError::Secret)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(Self)
            .map_err(|_| AccountError::Secret)
    }

    /// The form shown to the holder: `avreg_<base64url>`.
    pub fn expose(&self) -> String {
        format!(
            "{SECRET_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0)
        )
    }

    /// What the registry stores.
    pub fn hash(&self) -> SecretHash {
        SecretHash(*blake3::keyed_hash(HASH_CONTEXT, &self.0).as_bytes())
    }
}

/// Domain separation for secret hashes (a blake3 key, 32 bytes).
const HASH_CONTEXT: &[u8; 32] = b"avreg api key secret hash v1 ...";

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A stored API key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Version of this record ([`KEY_RECORD_VERSION`]).
    pub version: u16,
    /// Public id.
    pub id: ApiKeyId,
    /// What the key may do.
    pub role: Role,
    /// Whom it acts for.
    pub bound_to: Binding,
    /// A free label ("Aria's agent, laptop").
    pub label: String,
    /// When it was created, Unix ms.
    pub created_at_ms: u64,
    /// When it was revoked, Unix ms; a revoked key authenticates nobody.
    pub revoked_at_ms: Option<u64>,
    /// blake3 (keyed) of the secret.
    pub hash: SecretHash,
}

impl KeyRecord {
    /// The actor written in audit events for this key's writes.
    pub fn actor(&self) -> String {
        format!("key:{}", self.id)
    }

    /// Whether the key is still valid.
    pub fn is_active(&self) -> bool {
        self.revoked_at_ms.is_none()
    }
}

/// A key to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    /// Its role.
    pub role: Role,
    /// Whom it acts for; must fit the role ([`Binding::check`]).
    pub bound_to: Binding,
    /// A free label.
    pub label: String,
}

/// A created key: its record, and its secret, shown once.
#[derive(Debug)]
pub struct CreatedKey {
    /// The stored record.
    pub record: KeyRecord,
    /// The secret to hand to the holder; the registry cannot show it again.
    pub secret: Secret,
}

/// Why an account value is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// Not a role name.
    #[error("unknown role {0:?} (admin, performer, agent, producer, platform, society)")]
    Role(String),
    /// The binding does not fit the role.
    #[error("a {0} key needs {binding}", binding = binding_for(*.0))]
    Binding(Role),
    /// Not a key id.
    #[error("a key id is a hyphenated uuid")]
    KeyId,
    /// Not a well-formed secret.
    #[error("an API key is avreg_ followed by 43 base64url characters")]
    Secret,
    /// The random source failed.
    #[error("no randomness for a new key: {0}")]
    Random(String),
    /// Revoking this key would leave no active admin key: nobody could
    /// make or revoke keys over HTTP any more.
    #[error("this is the last active admin key: create another admin key before revoking it")]
    LastAdmin,
}

fn binding_for(role: Role) -> &'static str {
    match role {
        Role::Performer | Role::Agent => "at least one performer id",
        Role::Producer => "one organisation id",
        Role::Admin | Role::Platform | Role::Society | Role::Monitor => {
            "no performer or organisation"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_hash_stably() {
        let s = Secret::generate().expect("random");
        let shown = s.expose();
        assert!(shown.starts_with("avreg_"));
        assert_eq!(shown.len(), 6 + 43);
        let back = Secret::parse(&shown).expect("parses");
        assert!(back.hash().matches(&s.hash()));
        assert!(!Secret::generate()
            .expect("random")
            .hash()
            .matches(&s.hash()));
        for bad in ["", "avreg_", "avreg_abc", "token_xyz", &shown[1..]] {
            assert_eq!(Secret::parse(bad), Err(AccountError::Secret), "{bad}");
        }
        assert_eq!(format!("{s:?}"), "Secret(…)");
    }

    /// The stored hash of a secret, pinned: changing it locks every holder
    /// out, so it needs a new record version.
    #[test]
    fn secret_hash_golden() {
        let s = Secret([7; 32]);
        let hex: String = s.hash().0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            blake3::keyed_hash(HASH_CONTEXT, &[7; 32]).to_hex().as_str()
        );
        assert_eq!(
            s.expose(),
            "avreg_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"
        );
    }

    #[test]
    fn roles_and_bindings() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
        let p = Binding::Performers(vec![PerformerId::new()]);
        let o = Binding::Organisation(OrganisationId::new());
        assert!(p.check(Role::Agent).is_ok());
        assert!(Binding::Performers(vec![]).check(Role::Performer).is_err());
        assert!(o.check(Role::Producer).is_ok());
        assert!(o.check(Role::Platform).is_err());
        assert!(Binding::None.check(Role::Society).is_ok());
        assert_eq!(
            Binding::None
                .check(Role::Producer)
                .expect_err("no organisation")
                .to_string(),
            "a producer key needs one organisation id"
        );
    }
}
