//! The ledger's unit of storage: an [`Entity`] of the domain, addressed by
//! an [`EntityRef`], written as a [`Revision`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::ids::{
    AgreementId, ConflictId, CreditId, FixationId, HoldingId, MandateId, OrganisationId,
    PerformerId,
};
use crate::domain::model::{
    Agreement, Conflict, Credit, Fixation, Holding, Mandate, MoralRights, Organisation, Party,
    Performer, Subject,
};

/// Version of the stored and exchanged form of a [`Revision`].
pub const REVISION_VERSION: u32 = 1;

/// The kinds of entity the ledger holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// [`Performer`].
    Performer,
    /// [`Organisation`].
    Organisation,
    /// [`Fixation`].
    Fixation,
    /// [`Credit`].
    Credit,
    /// [`MoralRights`].
    MoralRights,
    /// [`Holding`].
    Holding,
    /// [`Agreement`].
    Agreement,
    /// [`Mandate`].
    Mandate,
    /// [`Conflict`].
    Conflict,
}

impl EntityKind {
    /// Every kind.
    pub const ALL: [EntityKind; 9] = [
        EntityKind::Performer,
        EntityKind::Organisation,
        EntityKind::Fixation,
        EntityKind::Credit,
        EntityKind::MoralRights,
        EntityKind::Holding,
        EntityKind::Agreement,
        EntityKind::Mandate,
        EntityKind::Conflict,
    ];

    /// The first byte of its stored keys (never change: stored).
    pub(crate) fn tag(self) -> u8 {
        match self {
            EntityKind::Performer => 1,
            EntityKind::Organisation => 2,
            EntityKind::Fixation => 3,
            EntityKind::Credit => 4,
            EntityKind::MoralRights => 5,
            EntityKind::Holding => 6,
            EntityKind::Agreement => 7,
            EntityKind::Mandate => 8,
            EntityKind::Conflict => 9,
        }
    }

    /// Its name in entity references, audit events and the API.
    pub fn name(self) -> &'static str {
        match self {
            EntityKind::Performer => "performer",
            EntityKind::Organisation => "organisation",
            EntityKind::Fixation => "fixation",
            EntityKind::Credit => "credit",
            EntityKind::MoralRights => "moral_rights",
            EntityKind::Holding => "holding",
            EntityKind::Agreement => "agreement",
            EntityKind::Mandate => "mandate",
            EntityKind::Conflict => "conflict",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EntityKind {
    type Err = RefError;

    /// The kind of its [`EntityKind::name`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntityKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| RefError::Kind(s.to_owned()))
    }
}

/// Why a text is not an entity reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// No `KIND:` before the id.
    #[error("an entity is KIND:ID, e.g. fixation:0190…")]
    Shape,
    /// A kind the ledger does not hold.
    #[error(
        "`{0}` is not a kind of entity (performer, organisation, fixation, credit, \
         moral_rights, holding, agreement, mandate, conflict)"
    )]
    Kind(String),
    /// The id is not one of its kind.
    #[error("`{id}` is not a {kind} id{}", id_shape(*.kind))]
    Id {
        /// The kind.
        kind: EntityKind,
        /// The id given.
        id: String,
    },
}

fn id_shape(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::MoralRights => " (PERFORMER/FIXATION)",
        _ => "",
    }
}

/// The address of an entity. Moral rights have no id of their own: they are
/// the performer's in one fixation.
///
/// Written `kind:id` ([`fmt::Display`], parsed back by [`FromStr`]), moral
/// rights `moral_rights:PERFORMER/FIXATION`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum EntityRef {
    /// A performer.
    Performer(PerformerId),
    /// An organisation.
    Organisation(OrganisationId),
    /// A fixation.
    Fixation(FixationId),
    /// A credit.
    Credit(CreditId),
    /// A performer's moral rights in a fixation.
    MoralRights(PerformerId, FixationId),
    /// A holding.
    Holding(HoldingId),
    /// An agreement.
    Agreement(AgreementId),
    /// A mandate.
    Mandate(MandateId),
    /// A conflict.
    Conflict(ConflictId),
}

impl EntityRef {
    /// Its kind.
    pub fn kind(&self) -> EntityKind {
        match self {
            EntityRef::Performer(_) => EntityKind::Performer,
            EntityRef::Organisation(_) => EntityKind::Organisation,
            EntityRef::Fixation(_) => EntityKind::Fixation,
            EntityRef::Credit(_) => EntityKind::Credit,
            EntityRef::MoralRights(..) => EntityKind::MoralRights,
            EntityRef::Holding(_) => EntityKind::Holding,
            EntityRef::Agreement(_) => EntityKind::Agreement,
            EntityRef::Mandate(_) => EntityKind::Mandate,
            EntityRef::Conflict(_) => EntityKind::Conflict,
        }
    }

    /// The stored key: the kind's tag, then the id bytes (two ids for moral
    /// rights). Keys of one kind sort together.
    pub(crate) fn key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(33);
        k.push(self.kind().tag());
        match self {
            EntityRef::Performer(id) => k.extend_from_slice(id.as_bytes()),
            EntityRef::Organisation(id) => k.extend_from_slice(id.as_bytes()),
            EntityRef::Fixation(id) => k.extend_from_slice(id.as_bytes()),
            EntityRef::Credit(id) => k.extend_from_slice(id.as_bytes()),
            EntityRef::MoralRights(p, f) => {
                k.extend_from_slice(p.as_bytes());
                k.extend_from_slice(f.as_bytes());
            }
            EntityRef::Holding(id) => k.extend_from_slice(id.as_bytes()),
            EntityRef::Agreement(id) => k.extend_from_slice(id.as_bytes()),
            EntityRef::Mandate(id) => k.extend_from_slice(id.as_bytes()),
            EntityRef::Conflict(id) => k.extend_from_slice(id.as_bytes()),
        }
        k
    }

    /// Parses a stored key (the inverse of [`EntityRef::key`]); `None` when
    /// malformed.
    pub(crate) fn from_key(k: &[u8]) -> Option<(EntityRef, usize)> {
        let (&tag, rest) = k.split_first()?;
        let id16 = |at: usize| -> Option<u128> {
            rest.get(at..at + 16)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .map(u128::from_be_bytes)
        };
        let r = match tag {
            1 => EntityRef::Performer(PerformerId::from_u128(id16(0)?)),
            2 => EntityRef::Organisation(OrganisationId::from_u128(id16(0)?)),
            3 => EntityRef::Fixation(FixationId::from_u128(id16(0)?)),
            4 => EntityRef::Credit(CreditId::from_u128(id16(0)?)),
            5 => EntityRef::MoralRights(
                PerformerId::from_u128(id16(0)?),
                FixationId::from_u128(id16(16)?),
            ),
            6 => EntityRef::Holding(HoldingId::from_u128(id16(0)?)),
            7 => EntityRef::Agreement(AgreementId::from_u128(id16(0)?)),
            8 => EntityRef::Mandate(MandateId::from_u128(id16(0)?)),
            9 => EntityRef::Conflict(ConflictId::from_u128(id16(0)?)),
            _ => return None,
        };
        let len = if tag == 5 { 33 } else { 17 };
        Some((r, len))
    }
}

impl EntityRef {
    /// The reference of the entity of `kind` whose id is `id` (moral
    /// rights: `PERFORMER/FIXATION`, or `PERFORMER:FIXATION` as the API's
    /// paths write it).
    pub fn parse_id(kind: EntityKind, id: &str) -> Result<EntityRef, RefError> {
        fn uuid<T: FromStr>(kind: EntityKind, id: &str) -> Result<T, RefError> {
            id.parse().map_err(|_| RefError::Id {
                kind,
                id: id.to_owned(),
            })
        }
        Ok(match kind {
            EntityKind::Performer => EntityRef::Performer(uuid(kind, id)?),
            EntityKind::Organisation => EntityRef::Organisation(uuid(kind, id)?),
            EntityKind::Fixation => EntityRef::Fixation(uuid(kind, id)?),
            EntityKind::Credit => EntityRef::Credit(uuid(kind, id)?),
            EntityKind::MoralRights => {
                let (p, f) = id.split_once(['/', ':']).ok_or_else(|| RefError::Id {
                    kind,
                    id: id.to_owned(),
                })?;
                let bad = |_| RefError::Id {
                    kind,
                    id: id.to_owned(),
                };
                EntityRef::MoralRights(p.parse().map_err(bad)?, f.parse().map_err(bad)?)
            }
            EntityKind::Holding => EntityRef::Holding(uuid(kind, id)?),
            EntityKind::Agreement => EntityRef::Agreement(uuid(kind, id)?),
            EntityKind::Mandate => EntityRef::Mandate(uuid(kind, id)?),
            EntityKind::Conflict => EntityRef::Conflict(uuid(kind, id)?),
        })
    }

    /// The id alone, as the API's paths and pages write it (moral rights:
    /// `PERFORMER:FIXATION`).
    pub fn id_text(&self) -> String {
        match self {
            EntityRef::Performer(id) => id.to_string(),
            EntityRef::Organisation(id) => id.to_string(),
            EntityRef::Fixation(id) => id.to_string(),
            EntityRef::Credit(id) => id.to_string(),
            EntityRef::MoralRights(p, f) => format!("{p}:{f}"),
            EntityRef::Holding(id) => id.to_string(),
            EntityRef::Agreement(id) => id.to_string(),
            EntityRef::Mandate(id) => id.to_string(),
            EntityRef::Conflict(id) => id.to_string(),
        }
    }
}

impl FromStr for EntityRef {
    type Err = RefError;

    /// `kind:id`, as [`fmt::Display`] writes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, id) = s.split_once(':').ok_or(RefError::Shape)?;
        EntityRef::parse_id(kind.parse()?, id)
    }
}

impl From<Party> for EntityRef {
    fn from(p: Party) -> Self {
        match p {
            Party::Performer(id) => EntityRef::Performer(id),
            Party::Organisation(id) => EntityRef::Organisation(id),
        }
    }
}

impl From<Subject> for EntityRef {
    fn from(s: Subject) -> Self {
        match s {
            Subject::Fixation(id) => EntityRef::Fixation(id),
            Subject::Credit(id) => EntityRef::Credit(id),
            Subject::Holding(id) => EntityRef::Holding(id),
            Subject::Mandate(id) => EntityRef::Mandate(id),
        }
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.kind().name();
        match self {
            EntityRef::Performer(id) => write!(f, "{name}:{id}"),
            EntityRef::Organisation(id) => write!(f, "{name}:{id}"),
            EntityRef::Fixation(id) => write!(f, "{name}:{id}"),
            EntityRef::Credit(id) => write!(f, "{name}:{id}"),
            EntityRef::MoralRights(p, x) => write!(f, "{name}:{p}/{x}"),
            EntityRef::Holding(id) => write!(f, "{name}:{id}"),
            EntityRef::Agreement(id) => write!(f, "{name}:{id}"),
            EntityRef::Mandate(id) => write!(f, "{name}:{id}"),
            EntityRef::Conflict(id) => write!(f, "{name}:{id}"),
        }
    }
}

/// Any entity of the domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind", content = "entity")]
pub enum Entity {
    /// A performer.
    Performer(Performer),
    /// An organisation.
    Organisation(Organisation),
    /// A fixation.
    Fixation(Fixation),
    /// A credit.
    Credit(Credit),
    /// Moral rights.
    MoralRights(MoralRights),
    /// A holding.
    Holding(Holding),
    /// An agreement.
    Agreement(Agreement),
    /// A mandate.
    Mandate(Mandate),
    /// A conflict.
    Conflict(Conflict),
}

impl Entity {
    /// Its address.
    pub fn reference(&self) -> EntityRef {
        match self {
            Entity::Performer(e) => EntityRef::Performer(e.id),
            Entity::Organisation(e) => EntityRef::Organisation(e.id),
            Entity::Fixation(e) => EntityRef::Fixation(e.id),
            Entity::Credit(e) => EntityRef::Credit(e.id),
            Entity::MoralRights(e) => EntityRef::MoralRights(e.performer, e.fixation),
            Entity::Holding(e) => EntityRef::Holding(e.id),
            Entity::Agreement(e) => EntityRef::Agreement(e.id),
            Entity::Mandate(e) => EntityRef::Mandate(e.id),
            Entity::Conflict(e) => EntityRef::Conflict(e.id),
        }
    }

    /// The entities it refers to, each under the entity's field name: the
    /// ledger keeps a link from each to this one, so that they list it.
    pub(crate) fn parents(&self) -> Vec<EntityRef> {
        match self {
            Entity::Performer(_) | Entity::Organisation(_) => vec![],
            Entity::Fixation(f) => {
                let mut v = vec![EntityRef::from(f.registered_by)];
                v.extend(f.producer.map(EntityRef::Organisation));
                v.extend(f.relations.iter().map(|r| EntityRef::Fixation(r.target())));
                v
            }
            Entity::Credit(c) => vec![
                EntityRef::Fixation(c.fixation),
                EntityRef::Performer(c.performer),
            ],
            Entity::MoralRights(m) => vec![
                EntityRef::Fixation(m.fixation),
                EntityRef::Performer(m.performer),
            ],
            Entity::Holding(h) => {
                let mut v = vec![EntityRef::Fixation(h.fixation), EntityRef::from(h.holder)];
                v.extend(h.agreement.map(EntityRef::Agreement));
                v
            }
            Entity::Agreement(a) => {
                let mut v: Vec<EntityRef> = a.parties.iter().map(|&p| p.into()).collect();
                v.extend(a.fixations.iter().map(|&f| EntityRef::Fixation(f)));
                v
            }
            Entity::Mandate(m) => vec![
                EntityRef::Performer(m.performer),
                EntityRef::Organisation(m.society),
            ],
            Entity::Conflict(c) => {
                let mut v: Vec<EntityRef> = c.subjects.iter().map(|&s| s.into()).collect();
                v.extend(c.parties.iter().map(|&p| EntityRef::from(p)));
                v
            }
        }
    }

    /// The identifiers it claims, as `scheme:value` keys that must be
    /// unique across the registry.
    pub(crate) fn identifiers(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        match self {
            Entity::Performer(p) => {
                if let Some(i) = &p.isni {
                    v.push(("isni", format!("isni:{}", i.compact())));
                }
            }
            Entity::Organisation(o) => {
                if let Some(i) = &o.isni {
                    v.push(("isni", format!("isni:{}", i.compact())));
                }
            }
            Entity::Fixation(f) => {
                if let Some(i) = &f.isan {
                    v.push(("isan", format!("isan:{i}")));
                }
                if let Some(i) = &f.eidr {
                    v.push(("eidr", format!("eidr:{i}")));
                }
                if let Some(i) = &f.isrc {
                    v.push(("isrc", format!("isrc:{}", i.compact())));
                }
            }
            _ => {}
        }
        v
    }
}

/// What a revision did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// The entity's first revision.
    Create,
    /// A change by a party.
    Amend,
    /// Withdrawn by a party: kept for history, ignored by queries.
    Withdraw,
    /// A conflict opened by the registry on a write.
    Open,
    /// A party responded to a conflict.
    Respond,
    /// A conflict resolved, by a party or because a later write removed it.
    Resolve,
}

impl Op {
    /// Its name in audit events.
    pub fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Amend => "amend",
            Op::Withdraw => "withdraw",
            Op::Open => "open",
            Op::Respond => "respond",
            Op::Resolve => "resolve",
        }
    }
}

/// One state of an entity, as written: nothing is ever deleted, so the
/// revisions of an entity are its whole history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revision {
    /// Version of this form ([`REVISION_VERSION`]).
    pub version: u32,
    /// The sequence number of the audit event that recorded it.
    pub seq: u64,
    /// When it was written, ms since the Unix epoch.
    pub at_ms: u64,
    /// Who wrote it.
    pub actor: String,
    /// What it did.
    pub op: Op,
    /// The entity as it stands after the write.
    pub entity: Entity,
}

impl Revision {
    /// Whether the entity is withdrawn as of this revision.
    pub fn withdrawn(&self) -> bool {
        self.op == Op::Withdraw
    }
}

/// The bytes an audit event hashes for a revision: the operation and the
/// entity, with its private fields (a performer's legal name) replaced by
/// keyed commitments (`legal_name_commitment`), so that nobody holding the
/// log can test a guessed legal name against it.
pub(crate) fn audit_payload(
    op: Op,
    entity: &Entity,
    key: &crate::domain::audit::CommitmentKey,
) -> serde_json::Result<Vec<u8>> {
    match entity {
        Entity::Performer(p) => {
            let mut v = serde_json::to_value((op, Entity::Performer(p.public())))?;
            if let (Some(name), Some(obj)) = (
                &p.legal_name,
                v.get_mut(1)
                    .and_then(|e| e.get_mut("entity"))
                    .and_then(|e| e.as_object_mut()),
            ) {
                let c = key.commit(&entity.reference().to_string(), "legal_name", name);
                obj.insert("legal_name_commitment".into(), c.to_string().into());
            }
            serde_json::to_vec(&v)
        }
        _ => serde_json::to_vec(&(op, entity)),
    }
}
