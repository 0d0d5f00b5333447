//! Authentication (`Authorization: Bearer avreg_…`), authorisation by role
//! and binding, and per-key rate limits.
//!
//! The [`Caller`] extractor runs before any body is read: a request without
//! a valid key (401), or over its key's rate (429), never reaches a
//! handler, so nothing is written. Handlers then ask
//! [`Caller::require`] whether the role may perform an [`Action`] (403).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use avreg_registry::accounts::{ApiKeyId, Binding, KeyRecord, Role};
use avreg_registry::domain::model::Party;
use avreg_registry::ledger::CommitGate;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::{ApiError, Code};
use crate::AppState;

/// What a request wants to do. Entity endpoints add their actions here and
/// a line to [`allowed`]; ownership (a performer's own credits, a
/// producer's own fixations) is checked with [`Caller::acts_for_performer`]
/// and [`Caller::acts_for_organisation`] once the entity is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Register a recording (media or fingerprint).
    RegisterRecording,
    /// Read recordings and registration jobs.
    ReadRecordings,
    /// Identify clips or fingerprints.
    Lookup,
    /// Read and verify the audit log.
    Audit,
    /// Create, list and revoke API keys.
    ManageKeys,
    /// Write the ledger (each change is then checked against the key's
    /// binding by `ownership`).
    WriteLedger,
    /// Read ledger entities and conflicts.
    ReadLedger,
    /// Run exports (repertoire, statement, conflicts, expiring, RMI).
    Export,
    /// Respond to a conflict (for a party the key acts for).
    RespondConflict,
    /// Read the Prometheus metrics.
    ReadMetrics,
    /// Read the statement of a performer the key acts for.
    ReadOwnStatement,
}

impl Action {
    /// Every action, for tests over the whole table.
    pub const ALL: [Action; 11] = [
        Action::RegisterRecording,
        Action::ReadRecordings,
        Action::Lookup,
        Action::Audit,
        Action::ManageKeys,
        Action::WriteLedger,
        Action::ReadLedger,
        Action::Export,
        Action::RespondConflict,
        Action::ReadMetrics,
        Action::ReadOwnStatement,
    ];
}

/// What performer keys, and the agents acting for performers, may do.
const PERFORMERS_GRANTS: &[Action] = &[
    Action::RegisterRecording,
    Action::ReadRecordings,
    Action::Lookup,
    Action::WriteLedger,
    Action::ReadLedger,
    Action::RespondConflict,
    Action::ReadOwnStatement,
];

/// The role table, default-deny: each role and the actions granted to it.
/// A role not listed, or an action not in its row, is refused; a new role
/// or action gets nothing until a row grants it (admin has every action).
const GRANTS: &[(Role, &[Action])] = {
    use Action as A;
    &[
        (Role::Admin, &Action::ALL),
        (Role::Performer, PERFORMERS_GRANTS),
        // An agent acts for its performers, with their grants.
        (Role::Agent, PERFORMERS_GRANTS),
        (
            Role::Producer,
            &[
                A::RegisterRecording,
                A::ReadRecordings,
                A::Lookup,
                A::WriteLedger,
                A::ReadLedger,
                A::RespondConflict,
            ],
        ),
        (Role::Platform, &[A::Lookup]),
        (
            Role::Society,
            &[
                A::ReadRecordings,
                A::Lookup,
                A::Audit,
                A::ReadLedger,
                A::Export,
            ],
        ),
        (Role::Monitor, &[A::ReadMetrics]),
    ]
};

/// Whether `role` may perform `action` at all ([`GRANTS`]; ownership is
/// checked once the entity is known).
pub fn allowed(role: Role, action: Action) -> bool {
    GRANTS
        .iter()
        .any(|(r, actions)| *r == role && actions.contains(&action))
}

/// The authenticated key of a request, with the request's commit gate
/// (its writes pass it before committing; see `observe`).
#[derive(Clone, Debug)]
pub struct Caller(pub KeyRecord, pub CommitGate);

impl Caller {
    /// 403 unless the key's role may perform `action`.
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        if allowed(self.0.role, action) {
            Ok(())
        } else {
            Err(ApiError::new(
                Code::Forbidden,
                format!("a {} key may not do this", self.0.role),
            ))
        }
    }

    /// The request's commit gate.
    pub fn gate(&self) -> &CommitGate {
        &self.1
    }

    /// The actor written in audit events (`key:ID`).
    pub fn actor(&self) -> String {
        self.0.actor()
    }

    /// The key's id.
    pub fn id(&self) -> ApiKeyId {
        self.0.id
    }

    /// The registrant of what this key registers: the party it acts for
    /// (`organisation:ID`, or `performer:ID` for a key bound to one
    /// performer), else the key itself (`key:ID`).
    pub fn registrant(&self) -> String {
        match self.parties().as_slice() {
            [one] => avreg_registry::ledger::EntityRef::from(*one).to_string(),
            _ => self.actor(),
        }
    }

    /// The parties this key acts for.
    pub fn parties(&self) -> Vec<Party> {
        match &self.0.bound_to {
            Binding::None => Vec::new(),
            Binding::Performers(ids) => ids.iter().map(|p| Party::Performer(*p)).collect(),
            Binding::Organisation(o) => vec![Party::Organisation(*o)],
        }
    }

    /// Whether the key is an admin's.
    pub fn is_admin(&self) -> bool {
        self.0.role == Role::Admin
    }

    /// Whether the key may write for this performer (admin, or a performer
    /// or agent key bound to them).
    pub fn acts_for_performer(&self, id: &avreg_registry::domain::ids::PerformerId) -> bool {
        self.is_admin() || matches!(&self.0.bound_to, Binding::Performers(ids) if ids.contains(id))
    }

    /// Whether the key may write for this organisation (admin, or a
    /// producer key bound to it).
    pub fn acts_for_organisation(&self, id: &avreg_registry::domain::ids::OrganisationId) -> bool {
        self.is_admin() || matches!(&self.0.bound_to, Binding::Organisation(o) if o == id)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Requests without a valid key are limited by address (the
        // anonymous ones already were, in `observe`).
        let peer = parts.extensions.get::<Peer>().copied();
        let unauthorized = |m: &str| {
            if let Some(Peer(ip)) = peer {
                if let Err(e) = state.anonymous_limiter().check(ip) {
                    return e;
                }
            }
            ApiError::new(Code::Unauthorized, m)
        };
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::new(
                Code::Unauthorized,
                "an Authorization: Bearer key is required",
            )
        })?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| unauthorized("the Authorization header is Bearer <key>"))?;
        // A sled read (by hash) is microseconds; it stays on the executor.
        let record = state
            .registry()
            .authenticate(secret)?
            .ok_or_else(|| unauthorized("unknown or revoked key"))?;
        state.limiter().check(record.id)?;
        let gate = parts
            .extensions
            .get::<CommitGate>()
            .cloned()
            .unwrap_or_default();
        Ok(Caller(record, gate))
    }
}

/// Token buckets per key (an API key, or a client address for requests
/// without a valid key): `rate` tokens a second, at most `burst` stored.
/// Buckets that have refilled are forgotten once there are many, so
/// clients cycling addresses cannot grow it without bound.
#[derive(Debug)]
pub struct RateLimiter<K = ApiKeyId> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

/// Buckets kept before the full ones are forgotten.
const MAX_BUCKETS: usize = 10_000;

/// The address a request came from (set by the connection loop).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub std::net::IpAddr);

impl<K: std::hash::Hash + Eq + Copy> RateLimiter<K> {
    /// A limiter; a `rate` of 0 disables it.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key`, or says when one will be there.
    pub fn check(&self, key: K) -> Result<(), ApiError> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            let (rate, burst) = (self.rate, self.burst);
            buckets
                .retain(|_, (t, last)| *t + now.duration_since(*last).as_secs_f64() * rate < burst);
        }
        let (tokens, last) = buckets.entry(key).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64;
            Err(ApiError::new(Code::RateLimited, "rate limit exceeded").retry_after(wait))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_roles_may_act() {
        assert!(allowed(Role::Producer, Action::RegisterRecording));
        assert!(!allowed(Role::Platform, Action::RegisterRecording));
        assert!(!allowed(Role::Society, Action::RegisterRecording));
        assert!(allowed(Role::Platform, Action::Lookup));
        assert!(!allowed(Role::Platform, Action::ReadRecordings));
        assert!(allowed(Role::Society, Action::Audit));
        assert!(!allowed(Role::Performer, Action::Audit));
        assert!(!allowed(Role::Society, Action::ManageKeys));
        assert!(!allowed(Role::Platform, Action::WriteLedger));
        assert!(!allowed(Role::Society, Action::WriteLedger));
        assert!(!allowed(Role::Platform, Action::ReadLedger));
        assert!(allowed(Role::Society, Action::Export));
        assert!(!allowed(Role::Producer, Action::Export));
        assert!(allowed(Role::Monitor, Action::ReadMetrics));
        assert!(!allowed(Role::Society, Action::ReadMetrics));
        for action in Action::ALL {
            assert_eq!(
                allowed(Role::Monitor, action),
                action == Action::ReadMetrics,
                "{action:?}"
            );
        }
    }

    #[test]
    fn token_bucket_refuses_past_the_burst() {
        let l = RateLimiter::new(1.0, 3);
        let k = ApiKeyId::new();
        for _ in 0..3 {
            l.check(k).expect("within burst");
        }
        let e = l.check(k).expect_err("over");
        assert_eq!(e.code, Code::RateLimited);
        assert_eq!(e.retry_after_s, Some(1));
        l.check(ApiKeyId::new())
            .expect("other keys have their own bucket");
        RateLimiter::new(0.0, 1).check(k).expect("disabled");
    }
}
