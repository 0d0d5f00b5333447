//! The read side of the ledger: a [`View`] of the state now or at a past
//! instant, and the domain's questions asked of it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::entity::{Entity, EntityKind, EntityRef, Revision};
use super::write::Overlay;
use crate::domain::date::Date;
use crate::domain::ids::{
    ConflictId, CreditId, Eidr, FixationId, HoldingId, Isan, Isni, Isrc, MandateId, OrganisationId,
    PerformerId,
};
use crate::domain::model::{
    Conflict, ConflictStatus, Credit, Fixation, Holding, Mandate, MoralRights, Organisation, Party,
    Performer, RightKind, Status,
};
use crate::domain::query::{holders_on, performers_between};
use crate::domain::rules::Term;
use crate::domain::territory::Country;
use crate::domain::treaty::{Broadcasting, Eligibility};
use crate::error::{Error, Result};
use crate::model::RecordingId;
use crate::registry::Registry;

/// The ledger as it stood at one point of the audit log (or now): every
/// read of a view sees the same state.
#[derive(Clone, Copy)]
pub struct View<'a> {
    registry: &'a Registry,
    /// The last audit sequence number included (`None` = everything).
    at: Option<u64>,
    /// A write's pending revisions, seen over the store while it validates.
    overlay: Option<&'a Overlay>,
    /// Nothing existed yet at the instant asked.
    empty: bool,
}

impl std::fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("at", &self.at)
            .field("empty", &self.empty)
            .finish()
    }
}

impl Registry {
    /// The ledger now.
    pub fn view(&self) -> View<'_> {
        View {
            registry: self,
            at: None,
            overlay: None,
            empty: false,
        }
    }

    /// The ledger as it stood at `at_ms` (ms since the Unix epoch): every
    /// write recorded after it is ignored.
    pub fn view_as_of(&self, at_ms: u64) -> Result<View<'_>> {
        let seq = self.store.seq_at(at_ms)?;
        Ok(View {
            registry: self,
            at: seq,
            overlay: None,
            empty: seq.is_none(),
        })
    }

    /// The ledger as it stood right after audit event `seq`.
    pub fn view_at_seq(&self, seq: u64) -> View<'_> {
        View {
            registry: self,
            at: Some(seq),
            overlay: None,
            empty: false,
        }
    }
}

/// A credit on screen in a span, with its performer (public details only)
/// and how much of the span it covers.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OnScreenCredit {
    /// The credit.
    pub credit: Credit,
    /// The performer (without private details).
    pub performer: Option<Performer>,
    /// Milliseconds of the span covered.
    pub covered_ms: u64,
    /// `covered_ms` over the span's length.
    pub fraction: f64,
}

/// A holding with its holder's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HolderLine {
    /// The holding.
    pub holding: Holding,
    /// The holder's display name or organisation name.
    pub holder_name: Option<String>,
}

/// Who holds one right in a territory on a date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RightHoldersOwned {
    /// The right.
    pub right: RightKind,
    /// Its article of the Beijing Treaty.
    pub article: &'static str,
    /// Exclusive holdings in force.
    pub exclusive: Vec<HolderLine>,
    /// Remuneration entitlements in force.
    pub remuneration: Vec<HolderLine>,
    /// Sum of the exclusive shares, ppm.
    pub exclusive_ppm: u64,
    /// The exclusive shares sum to more than 100%.
    pub overclaimed: bool,
    /// For the broadcasting right (Art. 11): what the treaty grants in the
    /// territory on the date, shaped by its declarations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treaty: Option<Broadcasting>,
}

/// The term of a fixation in a territory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TermLine {
    /// The territory.
    pub territory: Country,
    /// The term, when it can be computed.
    pub term: Option<Term>,
    /// Why it cannot be, otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The term has run out by the date asked; `null` when the term is not
    /// known (then `error` says why).
    pub expired: Option<bool>,
}

/// One line of a performer's statement: a credit with its fixation, the
/// performer's moral rights and holdings there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatementEntry {
    /// The fixation.
    pub fixation: Fixation,
    /// The credit.
    pub credit: Credit,
    /// The performer's moral rights in it.
    pub moral_rights: Option<MoralRights>,
    /// The holdings the performer holds in it.
    pub holdings: Vec<Holding>,
}

/// One fixation of a society's repertoire: its line-up, and which of its
/// performers mandated the society.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepertoireEntry {
    /// The fixation.
    pub fixation: Fixation,
    /// Its performers who mandated the society (for the rights given).
    pub mandating: Vec<Mandating>,
    /// Every live credit, with its performer (public details).
    pub lineup: Vec<LineupEntry>,
}

/// A performer of a repertoire's fixation who mandated the society, and
/// for which rights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mandating {
    /// The performer.
    pub performer: PerformerId,
    /// The rights mandated (in force on the repertoire's date).
    pub rights: BTreeSet<RightKind>,
}

/// A credit of a repertoire's fixation, with its performer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineupEntry {
    /// The credit.
    pub credit: Credit,
    /// The performer (public details), if registered.
    pub performer: Option<Performer>,
}

/// A fixation whose term ends in the year asked, with the term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpiringEntry {
    /// The fixation.
    pub fixation: Fixation,
    /// Its term in the territory.
    pub term: TermLine,
}

impl<'a> View<'a> {
    pub(crate) fn with_overlay(registry: &'a Registry, overlay: &'a Overlay) -> Self {
        Self {
            registry,
            at: None,
            overlay: Some(overlay),
            empty: false,
        }
    }

    /// The audit sequence number this view stands at (`None` = now).
    pub fn at_seq(&self) -> Option<u64> {
        self.at
    }

    /// The current revision of `r` in this view, withdrawn or not.
    pub fn revision(&self, r: &EntityRef) -> Result<Option<Revision>> {
        if self.empty {
            return Ok(None);
        }
        if let Some(rev) = self.overlay.and_then(|o| o.revisions.get(r)) {
            return Ok(Some(rev.clone()));
        }
        self.registry.store.revision_at(r, self.at)
    }

    /// Every revision of `r` up to this view, oldest first.
    pub fn history(&self, r: &EntityRef) -> Result<Vec<Revision>> {
        let mut all = self.registry.store.history(r)?;
        if self.empty {
            all.clear();
        }
        if let Some(at) = self.at {
            all.retain(|rev| rev.seq <= at);
        }
        Ok(all)
    }

    /// The live entity `r`: `None` if unknown or withdrawn.
    pub fn live(&self, r: &EntityRef) -> Result<Option<Entity>> {
        Ok(self
            .revision(r)?
            .filter(|rev| !rev.withdrawn())
            .map(|rev| rev.entity))
    }

    /// The entities of `kind` that refer to `parent` (withdrawn ones
    /// included), in id order.
    pub fn children(&self, parent: &EntityRef, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let mut out: BTreeSet<EntityRef> = self
            .registry
            .store
            .children(parent, kind)?
            .into_iter()
            .collect();
        if let Some(children) = self.overlay.and_then(|o| o.children.get(parent)) {
            out.extend(children.iter().filter(|c| c.kind() == kind).copied());
        }
        Ok(out.into_iter().collect())
    }

    fn live_children(&self, parent: &EntityRef, kind: EntityKind) -> Result<Vec<Entity>> {
        let mut out = Vec::new();
        for r in self.children(parent, kind)? {
            if let Some(e) = self.live(&r)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// A live performer.
    pub fn performer(&self, id: PerformerId) -> Result<Option<Performer>> {
        Ok(match self.live(&EntityRef::Performer(id))? {
            Some(Entity::Performer(p)) => Some(p),
            _ => None,
        })
    }

    /// A live organisation.
    pub fn organisation(&self, id: OrganisationId) -> Result<Option<Organisation>> {
        Ok(match self.live(&EntityRef::Organisation(id))? {
            Some(Entity::Organisation(o)) => Some(o),
            _ => None,
        })
    }

    /// A live fixation.
    pub fn fixation(&self, id: FixationId) -> Result<Option<Fixation>> {
        Ok(match self.live(&EntityRef::Fixation(id))? {
            Some(Entity::Fixation(f)) => Some(f),
            _ => None,
        })
    }

    /// A live credit.
    pub fn credit(&self, id: CreditId) -> Result<Option<Credit>> {
        Ok(match self.live(&EntityRef::Credit(id))? {
            Some(Entity::Credit(c)) => Some(c),
            _ => None,
        })
    }

    /// A live holding.
    pub fn holding(&self, id: HoldingId) -> Result<Option<Holding>> {
        Ok(match self.live(&EntityRef::Holding(id))? {
            Some(Entity::Holding(h)) => Some(h),
            _ => None,
        })
    }

    /// A live mandate.
    pub fn mandate(&self, id: MandateId) -> Result<Option<Mandate>> {
        Ok(match self.live(&EntityRef::Mandate(id))? {
            Some(Entity::Mandate(m)) => Some(m),
            _ => None,
        })
    }

    /// A conflict, open or resolved.
    pub fn conflict(&self, id: ConflictId) -> Result<Option<Conflict>> {
        Ok(match self.live(&EntityRef::Conflict(id))? {
            Some(Entity::Conflict(c)) => Some(c),
            _ => None,
        })
    }

    /// The live credits of a fixation.
    pub fn credits_of(&self, fixation: FixationId) -> Result<Vec<Credit>> {
        Ok(self
            .live_children(&EntityRef::Fixation(fixation), EntityKind::Credit)?
            .into_iter()
            .filter_map(|e| match e {
                Entity::Credit(c) if c.fixation == fixation && c.status != Status::Withdrawn => {
                    Some(c)
                }
                _ => None,
            })
            .collect())
    }

    /// The live holdings in a fixation.
    pub fn holdings_of(&self, fixation: FixationId) -> Result<Vec<Holding>> {
        Ok(self
            .live_children(&EntityRef::Fixation(fixation), EntityKind::Holding)?
            .into_iter()
            .filter_map(|e| match e {
                Entity::Holding(h) if h.fixation == fixation && h.status != Status::Withdrawn => {
                    Some(h)
                }
                _ => None,
            })
            .collect())
    }

    /// The moral rights recorded in a fixation.
    pub fn moral_rights_of(&self, fixation: FixationId) -> Result<Vec<MoralRights>> {
        Ok(self
            .live_children(&EntityRef::Fixation(fixation), EntityKind::MoralRights)?
            .into_iter()
            .filter_map(|e| match e {
                Entity::MoralRights(m) if m.fixation == fixation => Some(m),
                _ => None,
            })
            .collect())
    }

    /// The live mandates a performer gave.
    pub fn mandates_of_performer(&self, performer: PerformerId) -> Result<Vec<Mandate>> {
        Ok(self
            .live_children(&EntityRef::Performer(performer), EntityKind::Mandate)?
            .into_iter()
            .filter_map(|e| match e {
                Entity::Mandate(m) if m.performer == performer && m.status != Status::Withdrawn => {
                    Some(m)
                }
                _ => None,
            })
            .collect())
    }

    /// Live entities of `kind` in id order, after `after`, at most `limit`
    /// (paging).
    pub fn list(
        &self,
        kind: EntityKind,
        after: Option<&EntityRef>,
        limit: usize,
    ) -> Result<Vec<Entity>> {
        if self.empty {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut cursor = after.copied();
        while out.len() < limit {
            let page = self
                .registry
                .store
                .entities(kind, self.at, cursor.as_ref(), limit)?;
            let Some(last) = page.last() else { break };
            cursor = Some(last.entity.reference());
            let n = page.len();
            out.extend(
                page.into_iter()
                    .filter(|rev| !rev.withdrawn())
                    .map(|rev| rev.entity),
            );
            if n < limit {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// Live entities of `kind` that refer to `parent` (the credits of a
    /// fixation or of a performer, the holdings of a holder, the mandates a
    /// society holds, …), in id order, after `after`, at most `limit`.
    pub fn list_referring(
        &self,
        kind: EntityKind,
        parent: &EntityRef,
        after: Option<&EntityRef>,
        limit: usize,
    ) -> Result<Vec<Entity>> {
        let mut out = Vec::new();
        for r in self.children(parent, kind)? {
            if out.len() == limit {
                break;
            }
            if after.is_some_and(|a| r <= *a) {
                continue;
            }
            // A link outlives an amend that changed the reference.
            if let Some(e) = self.live(&r)?.filter(|e| e.parents().contains(parent)) {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The entity an identifier (ISAN, EIDR, ISRC or ISNI, in any accepted
    /// spelling) names, if it still carries it.
    pub fn by_identifier(&self, text: &str) -> Result<Option<Entity>> {
        let key = if let Ok(i) = text.parse::<Isan>() {
            format!("isan:{i}")
        } else if let Ok(i) = text.parse::<Eidr>() {
            format!("eidr:{i}")
        } else if let Ok(i) = text.parse::<Isrc>() {
            format!("isrc:{}", i.compact())
        } else if let Ok(i) = text.parse::<Isni>() {
            format!("isni:{}", i.compact())
        } else {
            return Ok(None);
        };
        let Some(r) = self.registry.store.ident(&key)? else {
            return Ok(None);
        };
        Ok(self
            .live(&r)?
            .filter(|e| e.identifiers().iter().any(|(_, k)| *k == key)))
    }

    /// The fixation whose media is `recording`.
    pub fn fixation_of_recording(&self, recording: RecordingId) -> Result<Option<Fixation>> {
        match self.registry.store.fixation_of(recording)? {
            Some(f) => self.fixation(f),
            None => Ok(None),
        }
    }

    /// The recording attached to a fixation.
    pub fn media_of(&self, fixation: FixationId) -> Result<Option<RecordingId>> {
        self.registry.store.media_of(fixation)
    }

    /// Who performs in `fixation` between `start_ms` and `end_ms`: the
    /// credits whose segments overlap the span, most covered first.
    pub fn performers_between(
        &self,
        fixation: FixationId,
        start_ms: u64,
        end_ms: u64,
    ) -> Result<Vec<OnScreenCredit>> {
        let Some(f) = self.fixation(fixation)? else {
            return Err(Error::Invalid(crate::domain::model::ValidationError::new(
                "fixation",
                crate::domain::model::Reason::Unknown(fixation.to_string()),
            )));
        };
        let credits = self.credits_of(fixation)?;
        let on = performers_between(&f, &credits, start_ms, end_ms.min(f.duration_ms.max(1)))?;
        let mut out = Vec::with_capacity(on.len());
        for o in on {
            out.push(OnScreenCredit {
                performer: self.performer(o.credit.performer)?.map(|p| p.public()),
                credit: o.credit.clone(),
                covered_ms: o.covered_ms,
                fraction: o.fraction,
            });
        }
        Ok(out)
    }

    /// The name of a party, for reports.
    pub fn party_name(&self, party: Party) -> Result<Option<String>> {
        Ok(match party {
            Party::Performer(id) => self.performer(id)?.map(|p| p.display_name),
            Party::Organisation(id) => self.organisation(id)?.map(|o| o.name),
        })
    }

    /// Who holds each right in `fixation` in `country` on `date`.
    pub fn holders(
        &self,
        fixation: FixationId,
        country: Country,
        date: Date,
    ) -> Result<Vec<RightHoldersOwned>> {
        let holdings = self.holdings_of(fixation)?;
        let by_right = holders_on(&holdings, fixation, country, date);
        let mut out = Vec::with_capacity(by_right.len());
        for (right, h) in by_right {
            let line = |v: &Vec<&Holding>| -> Result<Vec<HolderLine>> {
                v.iter()
                    .map(|h| {
                        Ok(HolderLine {
                            holding: (*h).clone(),
                            holder_name: self.party_name(h.holder)?,
                        })
                    })
                    .collect()
            };
            out.push(RightHoldersOwned {
                right,
                article: right.article(),
                exclusive: line(&h.exclusive)?,
                remuneration: line(&h.remuneration)?,
                exclusive_ppm: h.exclusive_ppm,
                overclaimed: h.exclusive_ppm > u64::from(crate::domain::model::WHOLE_PPM),
                treaty: (right == RightKind::Broadcasting)
                    .then(|| self.registry.treaty.broadcasting_in(country, date)),
            });
        }
        Ok(out)
    }

    /// Whether the Beijing Treaty applies to the performances in
    /// `fixation` in `territory` on `date` (Arts. 3, 19, 26), judged from
    /// its live credits' performers, and what shapes the broadcasting
    /// right there (Art. 11).
    pub fn eligibility(
        &self,
        fixation: &Fixation,
        territory: Country,
        date: Date,
    ) -> Result<Eligibility> {
        let mut seen = BTreeSet::new();
        let mut performers = Vec::new();
        for c in self.credits_of(fixation.id)? {
            if seen.insert(c.performer) {
                if let Some(p) = self.performer(c.performer)? {
                    performers.push(p);
                }
            }
        }
        let refs: Vec<&Performer> = performers.iter().collect();
        Ok(self
            .registry
            .treaty
            .eligibility(&refs, fixation.fixation_date, territory, date))
    }

    /// The term of `fixation` in `territory`, judged on `today`.
    pub fn term(&self, fixation: &Fixation, territory: Country, today: Date) -> TermLine {
        match self.registry.jurisdictions.term_of(fixation, territory) {
            Ok(term) => TermLine {
                territory,
                expired: Some(term.expired(today)),
                term: Some(term),
                error: None,
            },
            Err(e) => TermLine {
                territory,
                term: None,
                error: Some(e.to_string()),
                expired: None,
            },
        }
    }

    /// A performer's statement: every live credit with its fixation, and
    /// the performer's moral rights and holdings there.
    pub fn statement(&self, performer: PerformerId) -> Result<Vec<StatementEntry>> {
        let me = EntityRef::Performer(performer);
        let mut out = Vec::new();
        for e in self.live_children(&me, EntityKind::Credit)? {
            let Entity::Credit(credit) = e else { continue };
            if credit.status == Status::Withdrawn || credit.performer != performer {
                continue;
            }
            let Some(fixation) = self.fixation(credit.fixation)? else {
                continue;
            };
            let moral_rights = match self.live(&EntityRef::MoralRights(performer, fixation.id))? {
                Some(Entity::MoralRights(m)) => Some(m),
                _ => None,
            };
            let holdings = self
                .holdings_of(fixation.id)?
                .into_iter()
                .filter(|h| h.holder == Party::Performer(performer))
                .collect();
            out.push(StatementEntry {
                fixation,
                credit,
                moral_rights,
                holdings,
            });
        }
        out.sort_by(|a, b| {
            (a.fixation.title.as_str(), a.fixation.id, a.credit.id).cmp(&(
                b.fixation.title.as_str(),
                b.fixation.id,
                b.credit.id,
            ))
        });
        Ok(out)
    }

    /// A society's repertoire on `date`: the fixations credited to
    /// performers whose live mandates to the society are in force then, with
    /// their line-ups.
    pub fn repertoire(&self, society: OrganisationId, date: Date) -> Result<Vec<RepertoireEntry>> {
        let mut mandating: BTreeMap<PerformerId, BTreeSet<RightKind>> = BTreeMap::new();
        for e in self.live_children(&EntityRef::Organisation(society), EntityKind::Mandate)? {
            if let Entity::Mandate(m) = e {
                if m.society == society && m.status != Status::Withdrawn && m.period.contains(date)
                {
                    mandating
                        .entry(m.performer)
                        .or_default()
                        .extend(m.rights.iter().copied());
                }
            }
        }
        let mut fixations: BTreeMap<FixationId, Vec<Mandating>> = BTreeMap::new();
        for (p, rights) in &mandating {
            for e in self.live_children(&EntityRef::Performer(*p), EntityKind::Credit)? {
                if let Entity::Credit(c) = e {
                    if c.status != Status::Withdrawn {
                        let v = fixations.entry(c.fixation).or_default();
                        if !v.iter().any(|m| m.performer == *p) {
                            v.push(Mandating {
                                performer: *p,
                                rights: rights.clone(),
                            });
                        }
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(fixations.len());
        for (f, mandating) in fixations {
            let Some(fixation) = self.fixation(f)? else {
                continue;
            };
            let mut lineup = Vec::new();
            for c in self.credits_of(f)? {
                let performer = self.performer(c.performer)?.map(|p| p.public());
                lineup.push(LineupEntry {
                    credit: c,
                    performer,
                });
            }
            out.push(RepertoireEntry {
                fixation,
                mandating,
                lineup,
            });
        }
        Ok(out)
    }

    /// Conflicts, optionally only open ones and only those involving
    /// `party`.
    pub fn conflicts(&self, open_only: bool, party: Option<Party>) -> Result<Vec<Conflict>> {
        let source: Vec<Entity> = match party {
            Some(p) => self.live_children(&p.into(), EntityKind::Conflict)?,
            None => self.list(EntityKind::Conflict, None, usize::MAX)?,
        };
        Ok(source
            .into_iter()
            .filter_map(|e| match e {
                Entity::Conflict(c) => Some(c),
                _ => None,
            })
            .filter(|c| !open_only || c.status == ConflictStatus::Open)
            .collect())
    }

    /// A page of conflicts in id order after `after`: of any party (`None`),
    /// or of these parties only. At most `limit` conflicts are read (then
    /// filtered to the open ones if asked); the second value is the id to
    /// continue after, when there may be more.
    pub fn conflicts_page(
        &self,
        open_only: bool,
        parties: Option<&[Party]>,
        after: Option<ConflictId>,
        limit: usize,
    ) -> Result<(Vec<Conflict>, Option<ConflictId>)> {
        let limit = limit.max(1);
        let read: Vec<Conflict> = match parties {
            None => {
                let after = after.map(EntityRef::Conflict);
                self.list(EntityKind::Conflict, after.as_ref(), limit)?
                    .into_iter()
                    .filter_map(|e| match e {
                        Entity::Conflict(c) => Some(c),
                        _ => None,
                    })
                    .collect()
            }
            Some(parties) => {
                let mut all = BTreeMap::new();
                for p in parties {
                    for e in self.live_children(&(*p).into(), EntityKind::Conflict)? {
                        if let Entity::Conflict(c) = e {
                            if after.is_none_or(|a| c.id > a) {
                                all.insert(c.id, c);
                            }
                        }
                    }
                }
                all.into_values().take(limit).collect()
            }
        };
        let next = (read.len() == limit)
            .then(|| read.last().map(|c| c.id))
            .flatten();
        let page = read
            .into_iter()
            .filter(|c| !open_only || c.status == ConflictStatus::Open)
            .collect();
        Ok((page, next))
    }

    /// Fixations whose term in `territory` ends during `year`, with the
    /// term.
    pub fn expiring(
        &self,
        year: i32,
        territory: Country,
        today: Date,
    ) -> Result<Vec<ExpiringEntry>> {
        let mut out = Vec::new();
        for e in self.list(EntityKind::Fixation, None, usize::MAX)? {
            let Entity::Fixation(f) = e else { continue };
            let line = self.term(&f, territory, today);
            if line
                .term
                .as_ref()
                .and_then(|t| t.ends)
                .is_some_and(|d| d.year() == year)
            {
                out.push(ExpiringEntry {
                    fixation: f,
                    term: line,
                });
            }
        }
        Ok(out)
    }
}
