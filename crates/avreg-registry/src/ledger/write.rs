//! The write path of the ledger: validation against the current state,
//! conflict detection in the touched scope, one transaction.

use std::collections::{BTreeMap, BTreeSet};

use avreg_fingerprint::audio::AudioFingerprint;
use serde::{Deserialize, Serialize};

use super::entity::{Entity, EntityKind, EntityRef, Op, Revision, REVISION_VERSION};
use super::gate::{CommitGate, Gated};
use super::view::View;
use crate::domain::conflicts::{
    credit_overlaps, mandate_conflicts, overclaims, reference_overlaps, third_party_claims,
    Finding, FingerprintMatch, ThirdPartyClaim,
};
use crate::domain::date::Date;
use crate::domain::ids::{ConflictId, FixationId, PerformerId};
use crate::domain::model::{
    Conflict, ConflictAgreement, ConflictKind, ConflictResponse, ConflictStatus, Fixation,
    OrganisationKind, Party, Reason, Resolution, Ruling, Segment, Status, Subject, ValidationError,
};
use crate::error::{Error, Result};
use crate::model::{NewRecording, Registration};
use crate::registry::{now_ms, Registry};
use crate::store::Pending;

/// Days to respond to a conflict when the options leave it at 0.
const DEFAULT_RESPOND_DAYS: u32 = 30;

/// One change of a ledger write. Exchanged as `{"create": ENTITY}`,
/// `{"amend": ENTITY}` or `{"withdraw": {"kind": …, "id": …}}`, an entity
/// being `{"kind": "credit", "entity": {…}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Change {
    /// A new entity (its id must be new).
    Create(Entity),
    /// A new state of an existing, not withdrawn entity. The links that
    /// define it (a credit's fixation and performer, a holding's fixation
    /// and holder, a mandate's performer and society, a fixation's
    /// registrant) cannot change.
    Amend(Entity),
    /// Withdraws an entity: kept for history, ignored by queries.
    Withdraw(EntityRef),
}

/// What a write did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Applied {
    /// The revisions written for the changes asked, in order.
    pub revisions: Vec<Revision>,
    /// Conflicts the write opened.
    pub opened: Vec<Conflict>,
    /// Conflicts the write resolved.
    pub resolved: Vec<Conflict>,
}

/// Today, by the system clock (UTC).
pub fn today() -> Date {
    let days = (now_ms() / 86_400_000) as i64;
    Date::from_days_since_epoch(days).unwrap_or_else(|_| {
        // The clock is beyond the calendar the domain handles; treat it as
        // the epoch rather than panic (dates are then "in the future").
        Date::from_days_since_epoch(0).unwrap_or_else(|_| unreachable!("the epoch is a date"))
    })
}

fn invalid<T>(field: impl Into<String>, reason: Reason) -> Result<T> {
    Err(Error::Invalid(ValidationError::new(field, reason)))
}

/// A write's pending revisions, indexed the way reads need them.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    /// The latest pending revision of each entity written.
    pub(crate) revisions: BTreeMap<EntityRef, Revision>,
    /// Parent → the pending entities that refer to it.
    pub(crate) children: BTreeMap<EntityRef, BTreeSet<EntityRef>>,
    /// Identifier key → the pending entities that claim it.
    idents: BTreeMap<String, BTreeSet<EntityRef>>,
}

impl Overlay {
    fn insert(&mut self, rev: Revision) {
        let r = rev.entity.reference();
        for p in rev.entity.parents() {
            self.children.entry(p).or_default().insert(r);
        }
        for (_, k) in rev.entity.identifiers() {
            self.idents.entry(k).or_default().insert(r);
        }
        self.revisions.insert(r, rev);
    }
}

/// The scopes a write touched, where conflicts are re-checked.
#[derive(Default)]
struct Scopes {
    holdings: BTreeSet<FixationId>,
    credits: BTreeSet<FixationId>,
    mandates: BTreeSet<PerformerId>,
    references: BTreeSet<FixationId>,
}

/// The recorded conflicts of a scope (see `Batch::recorded_conflicts`).
#[derive(Default)]
struct Recorded {
    open: BTreeMap<ConflictId, Conflict>,
    settled: BTreeSet<ConflictKey>,
}

/// What identifies a conflict's cause: its kind and subjects.
type ConflictKey = (ConflictKind, BTreeSet<Subject>);

fn conflict_key(kind: ConflictKind, subjects: &[Subject]) -> ConflictKey {
    (kind, subjects.iter().copied().collect())
}

/// A write being assembled: the pending revisions, visible to its own
/// validation through an overlay on the store.
pub(crate) struct Batch<'a> {
    registry: &'a Registry,
    actor: &'a str,
    today: Date,
    overlay: Overlay,
    pending: Vec<Pending>,
    /// The state of each touched entity before the write.
    before: BTreeMap<EntityRef, Option<Revision>>,
    scopes: Scopes,
    asked: usize,
    /// Passed just before the commit, if the write has one.
    gate: Option<&'a CommitGate>,
}

impl<'a> Batch<'a> {
    fn new(registry: &'a Registry, actor: &'a str, today: Date) -> Self {
        Self {
            registry,
            actor,
            today,
            overlay: Overlay::default(),
            pending: Vec::new(),
            before: BTreeMap::new(),
            scopes: Scopes::default(),
            asked: 0,
            gate: None,
        }
    }

    fn view(&self) -> View<'_> {
        View::with_overlay(self.registry, &self.overlay)
    }

    fn push(&mut self, op: Op, entity: Entity) -> Result<()> {
        let r = entity.reference();
        if !self.before.contains_key(&r) {
            let prev = self.view().revision(&r)?;
            self.before.insert(r, prev);
        }
        self.overlay.insert(Revision {
            version: REVISION_VERSION,
            seq: u64::MAX,
            at_ms: 0,
            actor: self.actor.to_owned(),
            op,
            entity: entity.clone(),
        });
        self.pending.push(Pending::Revision { op, entity });
        Ok(())
    }

    /// The live (existing, not withdrawn) entity `r`, or an error naming
    /// `field`.
    fn live(&self, field: &str, r: EntityRef) -> Result<Entity> {
        match self.view().revision(&r)? {
            None => invalid(field, Reason::Unknown(r.to_string())),
            Some(rev) if rev.withdrawn() => invalid(field, Reason::Withdrawn(r.to_string())),
            Some(rev) => Ok(rev.entity),
        }
    }

    fn live_fixation(&self, field: &str, id: FixationId) -> Result<Fixation> {
        match self.live(field, EntityRef::Fixation(id))? {
            Entity::Fixation(f) => Ok(f),
            _ => unreachable!("a fixation key holds a fixation"),
        }
    }

    fn organisation_of_kind(
        &self,
        field: &str,
        r: EntityRef,
        kind: OrganisationKind,
    ) -> Result<()> {
        match self.live(field, r)? {
            Entity::Organisation(o) if o.kind == kind => Ok(()),
            _ => invalid(
                field,
                Reason::WrongKind {
                    expected: match kind {
                        OrganisationKind::Producer => "a producer",
                        OrganisationKind::CollectingSociety => "a collecting society",
                        OrganisationKind::Platform => "a platform",
                        OrganisationKind::Distributor => "a distributor",
                    },
                    found: r.to_string(),
                },
            ),
        }
    }

    /// Checks `entity` against the domain's rules and the state it refers
    /// to.
    fn check(&self, entity: &Entity) -> Result<()> {
        let today = self.today;
        match entity {
            Entity::Performer(p) => p.validate(today)?,
            Entity::Organisation(o) => o.validate()?,
            Entity::Fixation(f) => {
                f.validate(today)?;
                self.live("registered_by", f.registered_by.into())?;
                if let Some(p) = f.producer {
                    self.organisation_of_kind(
                        "producer",
                        EntityRef::Organisation(p),
                        OrganisationKind::Producer,
                    )?;
                }
                for (i, r) in f.relations.iter().enumerate() {
                    self.live_fixation(&format!("relations[{i}].of"), r.target())?;
                }
            }
            Entity::Credit(c) => {
                let f = self.live_fixation("fixation", c.fixation)?;
                self.live("performer", EntityRef::Performer(c.performer))?;
                c.validate(&f)?;
            }
            Entity::MoralRights(m) => {
                self.live_fixation("fixation", m.fixation)?;
                self.live("performer", EntityRef::Performer(m.performer))?;
                m.validate()?;
            }
            Entity::Holding(h) => {
                h.validate()?;
                self.live_fixation("fixation", h.fixation)?;
                self.live("holder", h.holder.into())?;
                if let Some(a) = h.agreement {
                    self.live("agreement", EntityRef::Agreement(a))?;
                }
            }
            Entity::Agreement(a) => {
                a.validate(today)?;
                for (i, p) in a.parties.iter().enumerate() {
                    self.live(&format!("parties[{i}]"), (*p).into())?;
                }
                for (i, f) in a.fixations.iter().enumerate() {
                    self.live_fixation(&format!("fixations[{i}]"), *f)?;
                }
            }
            Entity::Mandate(m) => {
                m.validate()?;
                self.live("performer", EntityRef::Performer(m.performer))?;
                self.organisation_of_kind(
                    "society",
                    EntityRef::Organisation(m.society),
                    OrganisationKind::CollectingSociety,
                )?;
            }
            Entity::Conflict(_) => {
                return invalid(
                    "kind",
                    Reason::Existence(
                        "conflicts are opened by the registry; respond to or resolve them".into(),
                    ),
                )
            }
        }
        self.check_identifiers(entity)
    }

    /// Identifiers are unique: no other entity may claim one this entity
    /// claims (an identifier an entity no longer carries is free again).
    fn check_identifiers(&self, entity: &Entity) -> Result<()> {
        let me = entity.reference();
        for (field, key) in entity.identifiers() {
            let mut holders: Vec<EntityRef> = self
                .overlay
                .idents
                .get(&key)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            holders.extend(self.registry.store.ident(&key)?);
            for other in holders.into_iter().filter(|o| *o != me) {
                let still = self.view().revision(&other)?.is_some_and(|rev| {
                    !rev.withdrawn() && rev.entity.identifiers().iter().any(|(_, k)| *k == key)
                });
                if still {
                    return invalid(
                        field,
                        Reason::Duplicate {
                            value: key.split_once(':').map_or(key.clone(), |(_, v)| v.into()),
                            existing: other.to_string(),
                        },
                    );
                }
            }
        }
        Ok(())
    }

    /// The fields of `before` an amendment may not change.
    fn check_immutable(before: &Entity, after: &Entity) -> Result<()> {
        let same = |field: &str, a: String, b: String| -> Result<()> {
            if a == b {
                Ok(())
            } else {
                invalid(field, Reason::Immutable { was: a })
            }
        };
        match (before, after) {
            (Entity::Fixation(a), Entity::Fixation(b)) => same(
                "registered_by",
                EntityRef::from(a.registered_by).to_string(),
                EntityRef::from(b.registered_by).to_string(),
            ),
            (Entity::Credit(a), Entity::Credit(b)) => {
                same("fixation", a.fixation.to_string(), b.fixation.to_string())?;
                same(
                    "performer",
                    a.performer.to_string(),
                    b.performer.to_string(),
                )
            }
            (Entity::Holding(a), Entity::Holding(b)) => {
                same("fixation", a.fixation.to_string(), b.fixation.to_string())?;
                same(
                    "holder",
                    EntityRef::from(a.holder).to_string(),
                    EntityRef::from(b.holder).to_string(),
                )
            }
            (Entity::Mandate(a), Entity::Mandate(b)) => {
                same(
                    "performer",
                    a.performer.to_string(),
                    b.performer.to_string(),
                )?;
                same("society", a.society.to_string(), b.society.to_string())
            }
            _ => Ok(()),
        }
    }

    fn touch(&mut self, entity: &Entity) {
        match entity {
            Entity::Holding(h) => {
                self.scopes.holdings.insert(h.fixation);
            }
            Entity::Credit(c) => {
                self.scopes.credits.insert(c.fixation);
            }
            Entity::Mandate(m) => {
                self.scopes.mandates.insert(m.performer);
            }
            Entity::Fixation(f) => {
                self.scopes.references.insert(f.id);
                self.scopes.credits.insert(f.id);
            }
            _ => {}
        }
    }

    fn change(&mut self, change: Change) -> Result<()> {
        self.asked += 1;
        match change {
            Change::Create(entity) => {
                let r = entity.reference();
                if self.view().revision(&r)?.is_some() {
                    return invalid(
                        "id",
                        Reason::Existence(format!("{r} is already registered")),
                    );
                }
                self.check(&entity)?;
                self.touch(&entity);
                self.push(Op::Create, entity)
            }
            Change::Amend(entity) => {
                let r = entity.reference();
                let before = match self.view().revision(&r)? {
                    None => {
                        return invalid("id", Reason::Existence(format!("{r} is not registered")))
                    }
                    Some(rev) if rev.withdrawn() => {
                        return invalid("id", Reason::Withdrawn(r.to_string()))
                    }
                    Some(rev) => rev.entity,
                };
                Self::check_immutable(&before, &entity)?;
                self.check(&entity)?;
                self.touch(&entity);
                self.push(Op::Amend, entity)
            }
            Change::Withdraw(r) => {
                if r.kind() == EntityKind::Conflict {
                    return invalid(
                        "kind",
                        Reason::Existence("a conflict is resolved, not withdrawn".into()),
                    );
                }
                let mut entity = self.live("id", r)?;
                match &mut entity {
                    Entity::Credit(c) => c.status = Status::Withdrawn,
                    Entity::Holding(h) => h.status = Status::Withdrawn,
                    Entity::Mandate(m) => m.status = Status::Withdrawn,
                    _ => {}
                }
                self.touch(&entity);
                self.push(Op::Withdraw, entity)
            }
        }
    }

    /// The conflicts of `kind` about any of `subjects`: the open ones, and
    /// the keys of those the parties settled (by agreement or a ruling)
    /// whose subjects this write left alone. A settled conflict is not
    /// opened again for the same cause until one of its subjects changes.
    fn recorded_conflicts(
        &self,
        kind: ConflictKind,
        subjects: impl IntoIterator<Item = EntityRef>,
    ) -> Result<Recorded> {
        let view = self.view();
        let mut out = Recorded::default();
        for s in subjects {
            for c in view.children(&s, EntityKind::Conflict)? {
                let Some(Entity::Conflict(c)) = view.revision(&c)?.map(|r| r.entity) else {
                    continue;
                };
                if c.kind != kind {
                    continue;
                }
                if c.status == ConflictStatus::Open {
                    out.open.insert(c.id, c);
                } else if (c.agreed().is_some() || c.ruling.is_some())
                    && !c
                        .subjects
                        .iter()
                        .any(|&s| self.overlay.revisions.contains_key(&EntityRef::from(s)))
                {
                    out.settled.insert(conflict_key(c.kind, &c.subjects));
                }
            }
        }
        Ok(out)
    }

    fn changed<T: PartialEq>(&self, r: &EntityRef, get: impl Fn(&Entity) -> Option<T>) -> bool {
        let before = self
            .before
            .get(r)
            .and_then(|b| b.as_ref())
            .and_then(|b| get(&b.entity));
        let after = self.overlay.revisions.get(r).and_then(|a| get(&a.entity));
        before.is_some() && after.is_some() && before != after
    }

    /// How the write resolved `conflict`, judged from what it changed.
    fn resolution_of(&self, conflict: &Conflict) -> Result<Resolution> {
        let subjects: Vec<EntityRef> = conflict.subjects.iter().map(|&s| s.into()).collect();
        let view = self.view();
        for s in &subjects {
            if view.revision(s)?.is_none_or(|r| r.withdrawn()) {
                return Ok(Resolution::Withdraw);
            }
        }
        // What a subject claims where, when and for which part of the
        // fixation, compared by value.
        #[derive(PartialEq)]
        enum Scope {
            Territories(crate::domain::territory::Territories),
            Period(crate::domain::date::Period),
            Segments(Vec<crate::domain::model::Segment>),
        }
        let any =
            |get: &dyn Fn(&Entity) -> Option<Scope>| subjects.iter().any(|s| self.changed(s, get));
        let territories = |e: &Entity| match e {
            Entity::Holding(h) => Some(Scope::Territories(h.territories.clone())),
            Entity::Mandate(m) => Some(Scope::Territories(m.territories.clone())),
            _ => None,
        };
        let period = |e: &Entity| match e {
            Entity::Holding(h) => Some(Scope::Period(h.period)),
            Entity::Mandate(m) => Some(Scope::Period(m.period)),
            _ => None,
        };
        let segments = |e: &Entity| match e {
            Entity::Credit(c) => Some(Scope::Segments(c.segments.clone())),
            _ => None,
        };
        Ok(match conflict.kind {
            ConflictKind::ReferenceOverlap => Resolution::DistinguishVersion,
            ConflictKind::ThirdPartyClaim => Resolution::Acknowledge,
            _ if any(&territories) => Resolution::SplitTerritory,
            _ if any(&period) => Resolution::SplitPeriod,
            ConflictKind::CreditOverlap if any(&segments) => Resolution::ExcludeSegment,
            _ => Resolution::Share,
        })
    }

    /// Opens a conflict for each finding no open or settled conflict
    /// records, and resolves each open conflict no finding supports any
    /// more.
    fn reconcile(&mut self, findings: Vec<Finding>, recorded: Recorded) -> Result<()> {
        let key = conflict_key;
        let Recorded { open, settled } = recorded;
        let found: BTreeSet<_> = findings
            .iter()
            .map(|f| key(f.kind(), &f.subjects()))
            .collect();
        let mut recorded: BTreeSet<_> = open.values().map(|c| key(c.kind, &c.subjects)).collect();
        recorded.extend(settled);
        let days = match self.registry.options.conflict_respond_days {
            0 => DEFAULT_RESPOND_DAYS,
            d => d,
        };
        let mut seen = BTreeSet::new();
        for f in findings {
            let k = key(f.kind(), &f.subjects());
            if recorded.contains(&k) || !seen.insert(k) {
                continue;
            }
            let conflict = f
                .to_conflict(ConflictId::new(), self.today, days)
                .map_err(|e| Error::Corrupt(format!("cannot date a conflict's response: {e}")))?;
            self.push(Op::Open, Entity::Conflict(conflict))?;
        }
        for c in open.into_values() {
            if found.contains(&key(c.kind, &c.subjects)) {
                continue;
            }
            self.resolve(c)?;
        }
        Ok(())
    }

    /// Resolves `c` as its cause went away, with the resolution the write
    /// implies.
    fn resolve(&mut self, c: Conflict) -> Result<()> {
        let resolution = self.resolution_of(&c)?;
        let resolved = Conflict {
            status: ConflictStatus::Resolved,
            resolution: Some(resolution),
            ..c
        };
        self.push(Op::Resolve, Entity::Conflict(resolved))
    }

    /// Re-checks every touched scope for conflicts.
    fn detect(&mut self) -> Result<()> {
        let scopes = std::mem::take(&mut self.scopes);
        for f in scopes.holdings {
            let all = self
                .view()
                .children(&EntityRef::Fixation(f), EntityKind::Holding)?;
            let live = self.view().holdings_of(f)?;
            let (findings, claims) = match self.view().fixation(f)? {
                Some(fixation) => (
                    overclaims(&live)
                        .into_iter()
                        .map(Finding::Overclaim)
                        .collect(),
                    third_party_claims(&fixation, &[], &live),
                ),
                None => (Vec::new(), Vec::new()),
            };
            let open = self.recorded_conflicts(ConflictKind::Overclaim, all.iter().copied())?;
            self.reconcile(findings, open)?;
            self.reconcile_claims(claims, all)?;
        }
        for f in scopes.credits {
            let all = self
                .view()
                .children(&EntityRef::Fixation(f), EntityKind::Credit)?;
            let (findings, claims) = match self.view().fixation(f)? {
                Some(fixation) => {
                    let live = self.view().credits_of(f)?;
                    (
                        credit_overlaps(&fixation, &live)
                            .into_iter()
                            .map(Finding::CreditOverlap)
                            .collect(),
                        third_party_claims(&fixation, &live, &[]),
                    )
                }
                None => (Vec::new(), Vec::new()),
            };
            let open = self.recorded_conflicts(ConflictKind::CreditOverlap, all.iter().copied())?;
            self.reconcile(findings, open)?;
            self.reconcile_claims(claims, all)?;
        }
        for p in scopes.mandates {
            let all = self
                .view()
                .children(&EntityRef::Performer(p), EntityKind::Mandate)?;
            let live = self.view().mandates_of_performer(p)?;
            let findings = mandate_conflicts(&live)
                .into_iter()
                .map(Finding::MandateConflict)
                .collect();
            let open = self.recorded_conflicts(ConflictKind::MandateConflict, all)?;
            self.reconcile(findings, open)?;
        }
        for f in scopes.references {
            let open =
                self.recorded_conflicts(ConflictKind::ReferenceOverlap, [EntityRef::Fixation(f)])?;
            for c in open.open.into_values() {
                if !self.overlap_stands(&c)? {
                    self.resolve(c)?;
                }
            }
        }
        Ok(())
    }

    /// Reconciles the third-party claims found among some of a fixation's
    /// credits or holdings (`subjects`) with the notices about them.
    fn reconcile_claims(
        &mut self,
        claims: Vec<ThirdPartyClaim>,
        subjects: Vec<EntityRef>,
    ) -> Result<()> {
        let open = self.recorded_conflicts(ConflictKind::ThirdPartyClaim, subjects)?;
        let findings = claims.into_iter().map(Finding::ThirdPartyClaim).collect();
        self.reconcile(findings, open)
    }

    /// Whether a reference overlap still has a cause: both fixations live,
    /// registered by different parties, and no relation declared between
    /// them.
    fn overlap_stands(&self, c: &Conflict) -> Result<bool> {
        let ids: Vec<FixationId> = c
            .subjects
            .iter()
            .filter_map(|s| match s {
                Subject::Fixation(id) => Some(*id),
                _ => None,
            })
            .collect();
        let [a, b] = ids[..] else { return Ok(false) };
        let view = self.view();
        Ok(match (view.fixation(a)?, view.fixation(b)?) {
            (Some(a), Some(b)) => a.registered_by != b.registered_by && !Fixation::related(&a, &b),
            _ => false,
        })
    }

    /// Commits everything pending: one transaction, durable on return.
    fn commit(self) -> Result<Applied> {
        self.registry.ensure_space()?;
        if let Some(gate) = self.gate {
            gate.pass()?;
        }
        let committed = self.registry.store.commit_ledger(
            self.actor,
            &self.pending,
            now_ms(),
            &self.registry.commitments,
        )?;
        self.registry.store.flush()?;
        let mut applied = Applied::default();
        let mut n = 0;
        for rev in committed {
            if n < self.asked {
                n += 1;
                applied.revisions.push(rev);
                continue;
            }
            match (rev.entity, rev.op) {
                (Entity::Conflict(c), Op::Open) => applied.opened.push(c),
                (Entity::Conflict(c), Op::Resolve) => applied.resolved.push(c),
                (entity, op) => applied.revisions.push(Revision { entity, op, ..rev }),
            }
        }
        Ok(applied)
    }
}

/// Refuses a party that is not one of the conflict's.
fn check_party(c: &Conflict, party: Party) -> Result<()> {
    if c.parties.contains(&party) {
        return Ok(());
    }
    invalid(
        "party",
        Reason::Mismatch {
            expected: "a party to the conflict".into(),
            found: EntityRef::from(party).to_string(),
        },
    )
}

/// Refuses to close an overclaim whose exclusive shares still exceed
/// 100 % among its holdings.
fn check_cause_gone(view: &View<'_>, c: &Conflict) -> Result<()> {
    if c.kind != ConflictKind::Overclaim {
        return Ok(());
    }
    let mut fixations = BTreeSet::new();
    for s in &c.subjects {
        if let Subject::Holding(h) = s {
            if let Some(Entity::Holding(h)) = view.live(&EntityRef::Holding(*h))? {
                fixations.insert(h.fixation);
            }
        }
    }
    let mine: BTreeSet<Subject> = c.subjects.iter().copied().collect();
    for f in fixations {
        for o in overclaims(&view.holdings_of(f)?) {
            let found = Finding::Overclaim(o);
            if found.subjects().iter().any(|s| mine.contains(s)) {
                return invalid(
                    "resolution",
                    Reason::CauseRemains(
                        "the exclusive shares still exceed 100 %; change or withdraw a holding"
                            .into(),
                    ),
                );
            }
        }
    }
    Ok(())
}

impl Registry {
    /// Applies `changes` by `actor` (an account id, verbatim in the audit
    /// log) as one write: each is validated against the state the previous
    /// ones leave, conflicts are detected in the scopes they touch, and
    /// everything is committed in one transaction with one audit event per
    /// revision. Any invalid change rejects the whole write
    /// ([`Error::Invalid`] naming the field and the reason) and nothing is
    /// written.
    pub fn apply(&self, actor: &str, changes: Vec<Change>) -> Result<Applied> {
        self.apply_on(actor, changes, today())
    }

    /// [`Registry::apply`] with an explicit today (dates in the future are
    /// judged against it; conflicts are dated by it).
    pub fn apply_on(&self, actor: &str, changes: Vec<Change>, today: Date) -> Result<Applied> {
        self.gated(&CommitGate::new())
            .apply_checked(actor, changes, today, unchecked)
    }

    /// Records `party`'s response to an open conflict.
    pub fn respond_to_conflict(
        &self,
        actor: &str,
        id: ConflictId,
        party: Party,
        note: &str,
    ) -> Result<Conflict> {
        self.gated(&CommitGate::new())
            .respond_to_conflict(actor, id, party, note)
    }

    /// Records that `party` (one of the conflict's parties) agrees to
    /// resolve it as `resolution`. The conflict closes once every party
    /// has agreed to the same resolution; one party alone closes nothing.
    /// An overclaim whose exclusive shares still exceed 100 % stays open
    /// whatever the parties say ([`Reason::CauseRemains`]).
    pub fn agree_to_resolve(
        &self,
        actor: &str,
        id: ConflictId,
        party: Party,
        resolution: Resolution,
    ) -> Result<Conflict> {
        self.gated(&CommitGate::new())
            .agree_to_resolve(actor, id, party, resolution)
    }

    /// An administrator's ruling: closes the conflict as `resolution`,
    /// recording who ruled and why. Not even a ruling closes an overclaim
    /// whose exclusive shares still exceed 100 %.
    pub fn rule_on_conflict(
        &self,
        actor: &str,
        id: ConflictId,
        resolution: Resolution,
        note: &str,
    ) -> Result<Conflict> {
        self.gated(&CommitGate::new())
            .rule_on_conflict(actor, id, resolution, note)
    }

    pub(crate) fn ledger_guard(&self) -> std::sync::MutexGuard<'_, ()> {
        // A panic while holding the lock cannot leave a half-written
        // ledger (the transaction is all or nothing), so a poisoned lock is
        // safe to take.
        self.ledger_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn conflict_write(
        &self,
        actor: &str,
        id: ConflictId,
        gate: &CommitGate,
        edit: impl FnOnce(&mut Conflict, Date, &View<'_>) -> Result<Op>,
    ) -> Result<Conflict> {
        let _guard = self.ledger_guard();
        let r = EntityRef::Conflict(id);
        let Some(Entity::Conflict(mut c)) = self.view().revision(&r)?.map(|r| r.entity) else {
            return invalid("id", Reason::Unknown(r.to_string()));
        };
        if c.status != ConflictStatus::Open {
            return invalid(
                "status",
                Reason::Existence(format!("{r} is already resolved")),
            );
        }
        let today = today();
        let op = edit(&mut c, today, &self.view())?;
        let mut batch = Batch::new(self, actor, today);
        batch.gate = Some(gate);
        batch.push(op, Entity::Conflict(c.clone()))?;
        batch.asked = 1;
        batch.commit()?;
        Ok(c)
    }

    /// Registers `new` as the media of `fixation` (a live fixation without
    /// media) and links them; then checks the new fingerprint against every
    /// other fixation's media and opens a reference-overlap conflict for
    /// each match that neither the registrant nor an accepted relation
    /// explains.
    ///
    /// The recording's registrant is the fixation's. The same bytes that
    /// another registrant's fixation has as media become a recording of
    /// their own, and the overlap with that fixation is a conflict (never a
    /// refusal that would name it). The same bytes that this registrant
    /// already linked to another fixation are refused (409). The whole
    /// attachment runs under the ledger lock, and the link is checked again
    /// in its transaction, so two attachments can never link one recording
    /// twice. The recording is registered first (its own transaction); if
    /// the process dies before the link is written, the recording stays
    /// registered without a fixation, and attaching it again (same bytes)
    /// completes the link.
    pub fn attach_media(
        &self,
        actor: &str,
        fixation: FixationId,
        new: NewRecording,
    ) -> Result<(Registration, Applied)> {
        let fingerprint: AudioFingerprint = new.fingerprint.clone();
        let _guard = self.ledger_guard();
        let registrant = {
            let view = self.view();
            let Some(f) = view.fixation(fixation)? else {
                return invalid("fixation", Reason::Unknown(fixation.to_string()));
            };
            if let Some(r) = self.store.media_of(fixation)? {
                return invalid(
                    "media",
                    Reason::Existence(format!("fixation {fixation} already has recording {r}")),
                );
            }
            EntityRef::from(f.registered_by).to_string()
        };
        let registration = self.register_for(actor, &registrant, new)?;
        let recording = registration.recording().id;
        if let Some(other) = self.store.fixation_of(recording)? {
            // Only this registrant's own recording deduplicates.
            return invalid(
                "media",
                Reason::Duplicate {
                    value: registration.recording().content_hash.to_string(),
                    existing: EntityRef::Fixation(other).to_string(),
                },
            );
        }
        let matches = self.lookup(&fingerprint)?;
        let today = today();
        let mut batch = Batch::new(self, actor, today);
        let Some(me) = batch.view().fixation(fixation)? else {
            return invalid("fixation", Reason::Withdrawn(fixation.to_string()));
        };
        if self.store.media_of(fixation)?.is_some() {
            return invalid(
                "media",
                Reason::Existence(format!("fixation {fixation} already has media")),
            );
        }
        let mut others = Vec::new();
        let mut found = Vec::new();
        for m in matches {
            let Some(other) = self.store.fixation_of(m.recording.id)? else {
                continue;
            };
            if other == fixation {
                continue;
            }
            let Some(f) = batch.view().fixation(other)? else {
                continue;
            };
            found.push(FingerprintMatch {
                query: fixation,
                reference: other,
                query_span: Segment::new(
                    m.query_start_ms,
                    m.query_start_ms + m.query_duration_ms.max(1),
                ),
                reference_span: Segment::new(
                    m.ref_start_ms,
                    m.ref_start_ms + m.ref_duration_ms.max(1),
                ),
                score: m.score,
            });
            others.push(f);
        }
        batch.pending.push(Pending::Media {
            fixation,
            recording,
        });
        let findings: Vec<Finding> = reference_overlaps(&me, &others, &found)
            .into_iter()
            .map(Finding::ReferenceOverlap)
            .collect();
        let recorded = batch.recorded_conflicts(
            ConflictKind::ReferenceOverlap,
            [EntityRef::Fixation(fixation)],
        )?;
        // Keep the conflicts already open or settled; only add new ones.
        let mut known: BTreeSet<ConflictKey> = recorded
            .open
            .values()
            .map(|c| conflict_key(c.kind, &c.subjects))
            .collect();
        known.extend(recorded.settled);
        let fresh: Vec<Finding> = findings
            .into_iter()
            .filter(|f| !known.contains(&conflict_key(f.kind(), &f.subjects())))
            .collect();
        batch.reconcile(fresh, Recorded::default())?;
        let applied = batch.commit()?;
        Ok((registration, applied))
    }
}

/// A write with nothing to authorise (the operator's own).
fn unchecked(_: &View<'_>, _: &mut [Change]) -> Result<()> {
    Ok(())
}

/// The ledger writes, behind the gate: each commits, or fails with
/// [`Error::Abandoned`] having written nothing if the gate was abandoned
/// before it could.
impl Gated<'_> {
    /// [`Registry::apply`] behind the gate.
    pub fn apply(&self, actor: &str, changes: Vec<Change>) -> Result<Applied> {
        self.apply_checked(actor, changes, today(), unchecked)
    }

    /// [`Registry::apply`] behind the gate, `authorise` first running
    /// under the ledger lock on the state the write will be judged against
    /// (so that no other write changes what it saw): it may refuse the
    /// write, or set the fields the registry decides (who asserted a
    /// claim).
    pub fn apply_authorised<E: From<Error>>(
        &self,
        actor: &str,
        changes: Vec<Change>,
        authorise: impl FnOnce(&View<'_>, &mut [Change]) -> std::result::Result<(), E>,
    ) -> std::result::Result<Applied, E> {
        self.apply_checked(actor, changes, today(), authorise)
    }

    fn apply_checked<E: From<Error>>(
        &self,
        actor: &str,
        mut changes: Vec<Change>,
        today: Date,
        authorise: impl FnOnce(&View<'_>, &mut [Change]) -> std::result::Result<(), E>,
    ) -> std::result::Result<Applied, E> {
        let registry = self.registry;
        let _guard = registry.ledger_guard();
        authorise(&registry.view(), &mut changes)?;
        let mut batch = Batch::new(registry, actor, today);
        batch.gate = Some(self.gate);
        for c in changes {
            batch.change(c)?;
        }
        batch.detect()?;
        Ok(batch.commit()?)
    }

    /// [`Registry::respond_to_conflict`] behind the gate.
    pub fn respond_to_conflict(
        &self,
        actor: &str,
        id: ConflictId,
        party: Party,
        note: &str,
    ) -> Result<Conflict> {
        if note.trim().is_empty() {
            return invalid("note", Reason::Empty);
        }
        self.registry
            .conflict_write(actor, id, self.gate, |c, today, _| {
                check_party(c, party)?;
                c.responses.push(ConflictResponse {
                    party,
                    on: today,
                    note: note.to_owned(),
                });
                Ok(Op::Respond)
            })
    }

    /// [`Registry::agree_to_resolve`] behind the gate.
    pub fn agree_to_resolve(
        &self,
        actor: &str,
        id: ConflictId,
        party: Party,
        resolution: Resolution,
    ) -> Result<Conflict> {
        self.registry
            .conflict_write(actor, id, self.gate, |c, today, view| {
                check_party(c, party)?;
                c.agreements.retain(|a| a.party != party);
                c.agreements.push(ConflictAgreement {
                    party,
                    resolution,
                    on: today,
                });
                match c.agreed() {
                    Some(r) => {
                        check_cause_gone(view, c)?;
                        c.status = ConflictStatus::Resolved;
                        c.resolution = Some(r);
                        Ok(Op::Resolve)
                    }
                    None => Ok(Op::Respond),
                }
            })
    }

    /// [`Registry::rule_on_conflict`] behind the gate.
    pub fn rule_on_conflict(
        &self,
        actor: &str,
        id: ConflictId,
        resolution: Resolution,
        note: &str,
    ) -> Result<Conflict> {
        if note.trim().is_empty() {
            return invalid("note", Reason::Empty);
        }
        self.registry
            .conflict_write(actor, id, self.gate, |c, today, view| {
                check_cause_gone(view, c)?;
                c.status = ConflictStatus::Resolved;
                c.resolution = Some(resolution);
                c.ruling = Some(Ruling {
                    by: actor.to_owned(),
                    resolution,
                    note: note.to_owned(),
                    on: today,
                });
                Ok(Op::Resolve)
            })
    }
}
