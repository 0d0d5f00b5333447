//! The audit chain (DOMAIN.md, "Audit event"): append-only events, each
//! holding the blake3 hash of the previous one, so that anyone holding the
//! log can verify it and anyone holding an old head hash can prove nothing
//! before it changed.
//!
//! Pure: events are built and verified here; the store persists them in the
//! same transaction as the write they record.

use serde::{Deserialize, Serialize};

/// Version of the hashed form of an event. Changing what is hashed, or how,
/// needs a new version; verification hashes each event by its own version.
/// Version 2 payloads carry private fields only as [`CommitmentKey`]
/// commitments (version 1 payloads carried them verbatim, so their hashes
/// could be tested against a guess); both chain the same way.
pub const AUDIT_EVENT_VERSION: u16 = 2;

/// The oldest event version [`verify`] accepts.
pub const OLDEST_AUDIT_EVENT_VERSION: u16 = 1;

/// The secret key of the commitments by which private fields (a
/// performer's legal name) enter the audit chain: whoever holds the log
/// but not the key cannot test a guess against a payload hash. Derived
/// from the registry's audit secret; never exported.
#[derive(Clone)]
pub struct CommitmentKey([u8; 32]);

impl CommitmentKey {
    /// The commitment key of the registry whose audit secret is `secret`.
    pub fn derive(secret: &[u8; 32]) -> Self {
        Self(blake3::derive_key(
            "avreg 2026-12 audit commitments to private fields",
            secret,
        ))
    }

    /// The commitment to `value` of `field` of `entity` (keyed blake3,
    /// each part length-prefixed).
    pub fn commit(&self, entity: &str, field: &str, value: &str) -> ChainHash {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        for s in [entity, field, value] {
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        ChainHash(*h.finalize().as_bytes())
    }
}

impl std::fmt::Debug for CommitmentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitmentKey(..)")
    }
}

/// A blake3 hash in the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(value_type = String, pattern = "^[0-9a-f]{64}$")
)]
pub struct ChainHash(#[serde(with = "hex32")] pub [u8; 32]);

impl ChainHash {
    /// The "previous hash" of the first event.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);
}

impl std::fmt::Display for ChainHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Serde for 32-byte hashes as 64 lowercase hex digits (audit hashes, key
/// hashes).
pub(crate) mod hex32 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&hex)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let hex = String::deserialize(d)?;
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(D::Error::custom("a hash is 64 hex digits"));
        }
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| D::Error::custom("a hash is 64 hex digits"))?;
        }
        Ok(out)
    }
}

/// One audit event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Version of the hashed form.
    pub version: u16,
    /// Position in the log, from 0, without gaps.
    pub seq: u64,
    /// When it was recorded, ms since the Unix epoch.
    pub at_ms: u64,
    /// Who made the write (an account or organisation id, verbatim).
    pub actor: String,
    /// The operation (`register_fixation`, `add_credit`, …).
    pub operation: String,
    /// The entity written (its id, verbatim).
    pub entity: String,
    /// The write itself, as canonical JSON bytes (hashed, then stored).
    pub payload_hash: ChainHash,
    /// Hash of the previous event ([`ChainHash::GENESIS`] for the first).
    pub prev: ChainHash,
    /// Hash of this event: blake3 over every field above.
    pub hash: ChainHash,
}

/// What an event records, before it is chained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent<'a> {
    /// Who made the write.
    pub actor: &'a str,
    /// The operation.
    pub operation: &'a str,
    /// The entity written.
    pub entity: &'a str,
    /// The write's canonical bytes.
    pub payload: &'a [u8],
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
}

impl AuditEvent {
    /// Chains `new` after `last` (`None` for the first event of a log).
    pub fn append(last: Option<&AuditEvent>, new: &NewEvent<'_>) -> AuditEvent {
        let (seq, prev) = match last {
            Some(e) => (e.seq + 1, e.hash),
            None => (0, ChainHash::GENESIS),
        };
        let mut event = AuditEvent {
            version: AUDIT_EVENT_VERSION,
            seq,
            at_ms: new.at_ms,
            actor: new.actor.to_owned(),
            operation: new.operation.to_owned(),
            entity: new.entity.to_owned(),
            payload_hash: ChainHash(*blake3::hash(new.payload).as_bytes()),
            prev,
            hash: ChainHash::GENESIS,
        };
        event.hash = event.computed_hash();
        event
    }

    /// The hash this event's fields give: blake3 over the version and every field but `hash`, strings
    /// length-prefixed so that no two different events hash the same bytes.
    pub fn computed_hash(&self) -> ChainHash {
        let mut h = blake3::Hasher::new();
        h.update(b"avreg-audit");
        h.update(&self.version.to_le_bytes());
        h.update(&self.seq.to_le_bytes());
        h.update(&self.at_ms.to_le_bytes());
        for s in [&self.actor, &self.operation, &self.entity] {
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        h.update(&self.payload_hash.0);
        h.update(&self.prev.0);
        ChainHash(*h.finalize().as_bytes())
    }
}

/// Why a log does not verify: the first event that does not fit, and how.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// An event's sequence number is not the next one (a gap, a repeat, or
    /// a log that does not start at 0).
    #[error("event {found}: expected sequence number {expected}")]
    Sequence {
        /// Sequence number expected.
        expected: u64,
        /// Sequence number found.
        found: u64,
    },
    /// An event's stored hash is not the hash of its fields (it was edited).
    #[error("event {seq}: its hash does not match its contents")]
    Hash {
        /// The event.
        seq: u64,
    },
    /// An event does not point at the hash of the event before it (an
    /// event was inserted, removed or replaced before it).
    #[error("event {seq}: it does not follow the event before it")]
    Link {
        /// The event.
        seq: u64,
    },
    /// An event has a version this build cannot hash.
    #[error("event {seq}: unsupported version {version}")]
    Version {
        /// The event.
        seq: u64,
        /// Its version.
        version: u16,
    },
    /// The head an auditor holds is not in the log at its position: what
    /// came before it has changed (or the log was cut short).
    #[error("the head {head} held for event {seq} is not in the log")]
    HeadMismatch {
        /// Sequence number of the held head.
        seq: u64,
        /// The held hash.
        head: ChainHash,
    },
}

/// A head hash an auditor keeps: the hash of event `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Head {
    /// Sequence number of the event.
    pub seq: u64,
    /// Its hash.
    pub hash: ChainHash,
}

/// Version of a [`SignedHead`]'s signed form.
pub const SIGNED_HEAD_VERSION: u16 = 1;

/// A head the registry signed with its Ed25519 audit key, for auditors to
/// keep and publish: whoever holds it can show that the registry stated
/// this head at this time, and [`verify`] with it proves that nothing up to
/// it has changed since.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedHead {
    /// [`SIGNED_HEAD_VERSION`].
    pub version: u16,
    /// The head.
    #[serde(flatten)]
    pub head: Head,
    /// When it was signed, ms since the Unix epoch.
    pub signed_at_ms: u64,
    /// The registry's Ed25519 public key, hex.
    pub public_key: String,
    /// Ed25519 signature over the signed form, hex.
    pub signature: String,
}

/// Why a signed head does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A version this build does not know.
    #[error("signed head version {0} is not supported")]
    Version(u16),
    /// The key or signature is not well-formed hex of the right length.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The signature does not match the head and key.
    #[error("the signature does not match the head")]
    Mismatch,
    /// Signed by another key than the one expected.
    #[error("signed by key {found}, expected {expected}")]
    OtherKey {
        /// The key expected.
        expected: String,
        /// The key found.
        found: String,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], SignatureError> {
    let bytes = s.as_bytes();
    if bytes.len() != 2 * N {
        return Err(SignatureError::Malformed(what));
    }
    let mut out = [0u8; N];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let text = std::str::from_utf8(pair).map_err(|_| SignatureError::Malformed(what))?;
        out[i] = u8::from_str_radix(text, 16).map_err(|_| SignatureError::Malformed(what))?;
    }
    Ok(out)
}

impl SignedHead {
    fn message(version: u16, head: &Head, signed_at_ms: u64) -> Vec<u8> {
        let mut m = b"avreg-audit-head".to_vec();
        m.extend_from_slice(&version.to_le_bytes());
        m.extend_from_slice(&head.seq.to_le_bytes());
        m.extend_from_slice(&head.hash.0);
        m.extend_from_slice(&signed_at_ms.to_le_bytes());
        m
    }

    /// Signs `head` at `signed_at_ms` with `key`.
    pub fn sign(head: Head, signed_at_ms: u64, key: &ed25519_dalek::SigningKey) -> Self {
        use ed25519_dalek::Signer;
        let signature = key.sign(&Self::message(SIGNED_HEAD_VERSION, &head, signed_at_ms));
        Self {
            version: SIGNED_HEAD_VERSION,
            head,
            signed_at_ms,
            public_key: hex(key.verifying_key().as_bytes()),
            signature: hex(&signature.to_bytes()),
        }
    }

    /// Checks the signature against the key it names, and (if given) that
    /// the key is `expected_key` (hex).
    pub fn verify(&self, expected_key: Option<&str>) -> Result<(), SignatureError> {
        if self.version != SIGNED_HEAD_VERSION {
            return Err(SignatureError::Version(self.version));
        }
        if let Some(k) = expected_key {
            if !k.eq_ignore_ascii_case(&self.public_key) {
                return Err(SignatureError::OtherKey {
                    expected: k.to_owned(),
                    found: self.public_key.clone(),
                });
            }
        }
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&unhex::<32>(&self.public_key, "public key")?)
                .map_err(|_| SignatureError::Malformed("public key"))?;
        let signature =
            ed25519_dalek::Signature::from_bytes(&unhex::<64>(&self.signature, "signature")?);
        key.verify_strict(
            &Self::message(self.version, &self.head, self.signed_at_ms),
            &signature,
        )
        .map_err(|_| SignatureError::Mismatch)
    }
}

/// Walks a whole log from event 0. Returns the head (`None` for an empty
/// log) or the first event that does not fit. If `held` is given, the event
/// at its position must carry its hash.
pub fn verify<'a>(
    events: impl IntoIterator<Item = &'a AuditEvent>,
    held: Option<Head>,
) -> Result<Option<Head>, ChainError> {
    let mut found = None;
    let events = events.into_iter().inspect(|e| {
        if held.is_some_and(|h| h.seq == e.seq) {
            found = Some(e.hash);
        }
    });
    let head = verify_after(None, events)?;
    check_held(held, found)?;
    Ok(head)
}

/// Walks the events that follow `start` (a head already verified; `None`:
/// the log from event 0) and returns the new head (`start` if there are
/// none), or the first event that does not fit.
pub fn verify_after<'a>(
    start: Option<Head>,
    events: impl IntoIterator<Item = &'a AuditEvent>,
) -> Result<Option<Head>, ChainError> {
    let mut last: Option<Head> = start;
    for e in events {
        let expected = last.map_or(0, |l| l.seq + 1);
        if e.seq != expected {
            return Err(ChainError::Sequence {
                expected,
                found: e.seq,
            });
        }
        if !(OLDEST_AUDIT_EVENT_VERSION..=AUDIT_EVENT_VERSION).contains(&e.version) {
            return Err(ChainError::Version {
                seq: e.seq,
                version: e.version,
            });
        }
        if e.computed_hash() != e.hash {
            return Err(ChainError::Hash { seq: e.seq });
        }
        if e.prev != last.map_or(ChainHash::GENESIS, |l| l.hash) {
            return Err(ChainError::Link { seq: e.seq });
        }
        last = Some(Head {
            seq: e.seq,
            hash: e.hash,
        });
    }
    Ok(last)
}

/// A kept head `held` against the hash `found` at its position in a
/// verified log (`None`: the log has no event there).
pub fn check_held(held: Option<Head>, found: Option<ChainHash>) -> Result<(), ChainError> {
    match held {
        Some(h) if found != Some(h.hash) => Err(ChainError::HeadMismatch {
            seq: h.seq,
            head: h.hash,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn signed_heads_verify_and_detect_tampering() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let head = Head {
            seq: 41,
            hash: ChainHash([9; 32]),
        };
        let signed = SignedHead::sign(head, 1_700_000_000_000, &key);
        signed.verify(None).expect("verifies");
        signed
            .verify(Some(&signed.public_key.to_uppercase()))
            .expect("same key");
        let json = serde_json::to_string(&signed).expect("json");
        assert!(json.contains("\"seq\":41"), "{json}");
        let back: SignedHead = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, signed);
        let mut moved = signed.clone();
        moved.head.seq = 40;
        assert_eq!(moved.verify(None), Err(SignatureError::Mismatch));
        let mut rehashed = signed.clone();
        rehashed.head.hash = ChainHash([8; 32]);
        assert_eq!(rehashed.verify(None), Err(SignatureError::Mismatch));
        let other = SignedHead::sign(
            head,
            1_700_000_000_000,
            &ed25519_dalek::SigningKey::from_bytes(&[8; 32]),
        );
        assert!(matches!(
            other.verify(Some(&signed.public_key)),
            Err(SignatureError::OtherKey { .. })
        ));
        let mut garbled = signed;
        garbled.signature.replace_range(0..2, "zz");
        assert_eq!(
            garbled.verify(None),
            Err(SignatureError::Malformed("signature"))
        );
    }

    fn log(n: usize) -> Vec<AuditEvent> {
        let mut v: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let payload = format!("{{\"n\":{i}}}");
            let e = AuditEvent::append(
                v.last(),
                &NewEvent {
                    actor: "performer:ana",
                    operation: "add_credit",
                    entity: &format!("credit:{i}"),
                    payload: payload.as_bytes(),
                    at_ms: 1_700_000_000_000 + i as u64,
                },
            );
            v.push(e);
        }
        v
    }

    #[test]
    fn an_intact_log_verifies_to_its_head() {
        let v = log(5);
        assert_eq!(verify(&[], None), Ok(None));
        let head = verify(&v, None).expect("intact").expect("non-empty");
        assert_eq!(
            head,
            Head {
                seq: 4,
                hash: v[4].hash
            }
        );
        assert_eq!(v[0].prev, ChainHash::GENESIS);
        // An auditor's old head still fits.
        let old = Head {
            seq: 2,
            hash: v[2].hash,
        };
        assert_eq!(verify(&v, Some(old)), Ok(Some(head)));
    }

    #[test]
    fn the_event_hash_is_pinned() {
        let v = log(1);
        // Changing what is hashed needs a new AUDIT_EVENT_VERSION.
        assert_eq!(
            v[0].hash.to_string(),
            "af82af6c430c3a2c3da6a938ecc96c197e0d66b81c85d4851e9169f5436641b6"
        );
        let mut v1 = v[0].clone();
        v1.version = 1;
        assert_eq!(
            v1.computed_hash().to_string(),
            "214307f6f6158cc5d78d0d4ecd91b7ec70021296d106a7d41a9ff8ce226423db"
        );
        let json = serde_json::to_string(&v[0]).expect("json");
        let back: AuditEvent = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, v[0]);
    }

    /// A version-1 log, as a registry before commitments wrote it.
    const V1_LOG: &str = r#"[{"version":1,"seq":0,"at_ms":1764000000000,"actor":"local","operation":"create_performer","entity":"performer:0190a000-0000-7000-8000-000000000001","payload_hash":"25f785d8ad36812f8f1a0ea74064b156ba9ee193c40fbfb73aa3f98f12c2a381","prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"0538b5fcfc70b603a70a84c4090acae565ad2928de70095c951bc7f53651bed1"},{"version":1,"seq":1,"at_ms":1764000000500,"actor":"key:0190a000-0000-7000-8000-0000000000aa","operation":"create_fixation","entity":"fixation:0190a000-0000-7000-8000-000000000100","payload_hash":"6e46dd10defc9b56c29a6ec56b508c21f54c08192194e4df25bf36f0c9c3c279","prev":"0538b5fcfc70b603a70a84c4090acae565ad2928de70095c951bc7f53651bed1","hash":"2e6668a30e9b848a35b49f8bcf2d0e8fbe52ee8ea398661574d2cc2bd4049f2b"}]"#;

    #[test]
    fn a_version_1_log_still_verifies_and_version_2_events_chain_after_it() {
        let old: Vec<AuditEvent> = serde_json::from_str(V1_LOG).expect("v1 log");
        let head = verify(&old, None).expect("verifies").expect("head");
        assert_eq!(head.seq, 1);
        let mut all = old.clone();
        all.push(AuditEvent::append(
            old.last(),
            &NewEvent {
                actor: "local",
                operation: "amend_fixation",
                entity: "fixation:0190a000-0000-7000-8000-000000000100",
                payload: b"{}",
                at_ms: 1_764_000_001_000,
            },
        ));
        assert_eq!(all[2].version, AUDIT_EVENT_VERSION);
        assert!(verify(&all, Some(head)).is_ok());
    }

    #[test]
    fn commitments_depend_on_the_key_the_entity_and_the_value() {
        let k = CommitmentKey::derive(&[1; 32]);
        let c = k.commit("performer:1", "legal_name", "Ada");
        assert_eq!(c, k.commit("performer:1", "legal_name", "Ada"));
        assert_ne!(c, k.commit("performer:1", "legal_name", "Adb"));
        assert_ne!(c, k.commit("performer:2", "legal_name", "Ada"));
        assert_ne!(
            c,
            CommitmentKey::derive(&[2; 32]).commit("performer:1", "legal_name", "Ada")
        );
        assert_eq!(format!("{k:?}"), "CommitmentKey(..)");
    }

    #[test]
    fn each_kind_of_tampering_names_the_first_bad_event() {
        let v = log(6);
        let mut edited = v.clone();
        edited[3].actor = "performer:eve".into();
        assert_eq!(verify(&edited, None), Err(ChainError::Hash { seq: 3 }));

        // Rewritten consistently from event 3 on: the links still break at 3
        // unless the previous hash is forged too, and an auditor's old head
        // exposes a full rewrite.
        let mut forged = v[..3].to_vec();
        for i in 3..6 {
            let e = AuditEvent::append(
                forged.last(),
                &NewEvent {
                    actor: "performer:eve",
                    operation: "add_credit",
                    entity: &format!("credit:{i}"),
                    payload: b"{}",
                    at_ms: 1,
                },
            );
            forged.push(e);
        }
        assert!(
            verify(&forged, None).is_ok(),
            "a rewrite is self-consistent"
        );
        let held = Head {
            seq: 4,
            hash: v[4].hash,
        };
        assert_eq!(
            verify(&forged, Some(held)),
            Err(ChainError::HeadMismatch {
                seq: 4,
                head: v[4].hash
            })
        );

        let mut removed = v.clone();
        removed.remove(2);
        assert_eq!(
            verify(&removed, None),
            Err(ChainError::Sequence {
                expected: 2,
                found: 3
            })
        );

        let mut relinked = v.clone();
        relinked[2].prev = ChainHash([7; 32]);
        relinked[2].hash = relinked[2].computed_hash();
        assert_eq!(verify(&relinked, None), Err(ChainError::Link { seq: 2 }));

        let mut newer = v.clone();
        newer[1].version = AUDIT_EVENT_VERSION + 1;
        assert!(matches!(
            verify(&newer, None),
            Err(ChainError::Version { seq: 1, .. })
        ));

        // A log cut short before an auditor's head.
        let held = Head {
            seq: 5,
            hash: v[5].hash,
        };
        assert_eq!(
            verify(&v[..4], Some(held)),
            Err(ChainError::HeadMismatch {
                seq: 5,
                head: v[5].hash
            })
        );
    }

    proptest! {
        /// Any single byte changed in any text field of any event is caught
        /// at that event.
        #[test]
        fn any_edit_is_caught_at_its_event(n in 1usize..12, at in 0usize..12, field in 0u8..4, byte in any::<u8>()) {
            let v = log(n);
            let at = at % n;
            let mut t = v.clone();
            let e = &mut t[at];
            match field {
                0 => e.actor.push(char::from(byte % 26 + b'a')),
                1 => e.operation.push(char::from(byte % 26 + b'a')),
                2 => e.entity.push(char::from(byte % 26 + b'a')),
                _ => e.payload_hash.0[usize::from(byte) % 32] ^= 1,
            }
            prop_assert_eq!(verify(&t, None), Err(ChainError::Hash { seq: at as u64 }));
        }
    }
}
