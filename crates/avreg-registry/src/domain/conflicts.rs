//! Detection of the four kinds of conflict (DOMAIN.md, "Conflicts the
//! registry detects on every write"), as pure functions over in-memory
//! slices.
//!
//! A conflict never blocks a write and the registry never decides it: these
//! functions only report [`Finding`]s, which the caller records as
//! [`Conflict`]s for the parties to resolve. Withdrawn claims are ignored.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::date::{Date, DateError, Period};
use super::ids::{
    ConflictId, CreditId, FixationId, HoldingId, MandateId, OrganisationId, PerformerId,
};
use super::model::{
    Conflict, ConflictKind, ConflictStatus, Credit, Fixation, Holding, Mandate, Nature, Party,
    RightKind, Role, Segment, Status, Subject, MODEL_VERSION, WHOLE_PPM,
};
use super::territory::{Country, Territories};

/// The holdings of one fixation, right and nature whose shares sum to more
/// than 100% somewhere: every holding in force at some country and day
/// where they do (at most [`MAX_OVERCLAIM_HOLDINGS`] listed, the largest
/// shares first), with one witness: the country and period of the largest
/// sum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overclaim {
    /// The fixation.
    pub fixation: FixationId,
    /// The right.
    pub right: RightKind,
    /// Exclusive or remuneration.
    pub nature: Nature,
    /// The holdings that take part, sorted (at most
    /// [`MAX_OVERCLAIM_HOLDINGS`]).
    pub holdings: Vec<HoldingId>,
    /// How many take part in all (more than `holdings` lists when capped).
    pub implicated: usize,
    /// Their holders, sorted and deduplicated.
    pub holders: Vec<Party>,
    /// The largest sum of shares in force at one place and time, ppm.
    pub total_ppm: u64,
    /// A country where that sum is reached.
    pub country: Country,
    /// A period during which it is.
    pub period: Period,
}

/// The most holdings one overclaim lists: a conflict about more is still
/// one conflict, naming the largest claims.
pub const MAX_OVERCLAIM_HOLDINGS: usize = 100;

/// The countries worth testing for a group of territory sets: every named
/// one, plus one country that none names (where every "worldwide except"
/// set applies and no "only" set does). Any other country behaves exactly
/// like that one.
fn representative_countries<'a>(sets: impl Iterator<Item = &'a Territories>) -> Vec<Country> {
    let mut named = BTreeSet::new();
    for t in sets {
        named.extend(t.named().iter().copied());
    }
    let other = Country::all().find(|c| !named.contains(c));
    named.into_iter().chain(other).collect()
}

fn period_of_days(start: i64, end: i64) -> Result<Period, DateError> {
    let start = Date::from_days_since_epoch(start)?;
    if end == i64::MAX {
        Ok(Period::from(start))
    } else {
        Ok(Period::between(
            start,
            Date::from_days_since_epoch(end - 1)?,
        ))
    }
}

/// Overclaims among `holdings` (any number of fixations): one per
/// fixation, right kind and nature whose shares sum to more than
/// [`WHOLE_PPM`] at some country and day. Remuneration entitlements are
/// checked among themselves and never count toward the exclusive 100%.
///
/// A sweep: for each country that behaves differently (those the
/// territories name, and one they do not), the holdings' start and end
/// days are swept in order, keeping the running sum; the day intervals
/// where it exceeds 100% are merged, and a holding takes part if its
/// period meets one of them. `O(C · n log n)` for `n` holdings and `C`
/// named countries, whatever the periods.
pub fn overclaims(holdings: &[Holding]) -> Vec<Overclaim> {
    let mut groups: BTreeMap<(FixationId, RightKind, Nature), Vec<&Holding>> = BTreeMap::new();
    for h in holdings.iter().filter(|h| h.status != Status::Withdrawn) {
        groups
            .entry((h.fixation, h.right, h.nature))
            .or_default()
            .push(h);
    }
    let mut out = Vec::new();
    for ((fixation, right, nature), group) in groups {
        let total: u64 = group.iter().map(|h| u64::from(h.share_ppm)).sum();
        if total <= u64::from(WHOLE_PPM) {
            continue;
        }
        let countries = representative_countries(group.iter().map(|h| &h.territories));
        let mut implicated: BTreeSet<usize> = BTreeSet::new();
        // (sum, country, start, end) of the largest sum seen.
        let mut witness: Option<(u64, Country, i64, i64)> = None;
        for &country in &countries {
            let here: Vec<usize> = (0..group.len())
                .filter(|&i| group[i].territories.contains(country))
                .collect();
            let mut events: Vec<(i64, i64)> = Vec::with_capacity(here.len() * 2);
            for &i in &here {
                let (s, e) = group[i].period.epoch_days();
                let share = i64::from(group[i].share_ppm);
                events.push((s, share));
                if e != i64::MAX {
                    events.push((e, -share));
                }
            }
            events.sort_unstable();
            // Merged day intervals [start, end) where the sum exceeds 100%.
            let mut over: Vec<(i64, i64)> = Vec::new();
            let mut sum = 0i64;
            let mut k = 0;
            while k < events.len() {
                let day = events[k].0;
                while k < events.len() && events[k].0 == day {
                    sum += events[k].1;
                    k += 1;
                }
                let next = events.get(k).map_or(i64::MAX, |e| e.0);
                if sum > i64::from(WHOLE_PPM) {
                    match over.last_mut() {
                        Some(last) if last.1 == day => last.1 = next,
                        _ => over.push((day, next)),
                    }
                    let better = witness.is_none_or(|(best, ..)| sum as u64 > best);
                    if better {
                        witness = Some((sum as u64, country, day, next));
                    }
                }
            }
            if over.is_empty() {
                continue;
            }
            for &i in &here {
                let (s, e) = group[i].period.epoch_days();
                // The first over-interval ending after `s` meets [s, e) if
                // it starts before `e`.
                let at = over.partition_point(|&(_, end)| end <= s);
                if over.get(at).is_some_and(|&(start, _)| start < e) {
                    implicated.insert(i);
                }
            }
        }
        let Some((sum, country, start, end)) = witness else {
            continue;
        };
        let Ok(period) = period_of_days(start, end) else {
            continue;
        };
        let mut listed: Vec<&Holding> = implicated.iter().map(|&i| group[i]).collect();
        let count = listed.len();
        if count > MAX_OVERCLAIM_HOLDINGS {
            listed.sort_by(|a, b| b.share_ppm.cmp(&a.share_ppm).then(a.id.cmp(&b.id)));
            listed.truncate(MAX_OVERCLAIM_HOLDINGS);
        }
        let mut ids: Vec<HoldingId> = listed.iter().map(|h| h.id).collect();
        ids.sort_unstable();
        let holders: BTreeSet<Party> = listed.iter().map(|h| h.holder).collect();
        out.push(Overclaim {
            fixation,
            right,
            nature,
            holdings: ids,
            implicated: count,
            holders: holders.into_iter().collect(),
            total_ppm: sum,
            country,
            period,
        });
    }
    out
}

/// Two credits of different performers for the same character and role in
/// overlapping segments of one fixation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditClash {
    /// The fixation.
    pub fixation: FixationId,
    /// The two credits (in input order).
    pub credits: [CreditId; 2],
    /// Their performers.
    pub performers: [PerformerId; 2],
    /// The role both claim.
    pub role: Role,
    /// The character both claim, as the first credit spells it.
    pub character: String,
    /// The first overlapping stretch.
    pub overlap: Segment,
}

/// A credit overlap (DOMAIN.md kind 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "finding")]
pub enum CreditFinding {
    /// Two performers claim the same character and role at once.
    Clash(CreditClash),
    /// A credit's status is `disputed`.
    Disputed {
        /// The credit.
        credit: CreditId,
        /// Its performer.
        performer: PerformerId,
    },
}

fn same_character(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

fn first_overlap(a: &[Segment], b: &[Segment]) -> Option<Segment> {
    let mut best: Option<Segment> = None;
    for x in a {
        for y in b {
            if x.overlaps(y) {
                let s = Segment::new(x.start_ms.max(y.start_ms), x.end_ms.min(y.end_ms));
                if best.is_none_or(|b| s < b) {
                    best = Some(s);
                }
            }
        }
    }
    best
}

/// Credit overlaps among the credits of `fixation` (credits of other
/// fixations are ignored).
///
/// Two performers clash when they claim the same role and the same
/// character (compared without case and surrounding spaces) in segments
/// that overlap; an empty segment list is the whole fixation. A shared
/// character in different roles (an actor and the voice actor who dubs
/// them, a stunt double) is normal and not reported; nor are shared roles
/// without a character (an orchestra, a crowd). Disputed credits are
/// reported too.
pub fn credit_overlaps(fixation: &Fixation, credits: &[Credit]) -> Vec<CreditFinding> {
    let live: Vec<&Credit> = credits
        .iter()
        .filter(|c| c.fixation == fixation.id && c.status != Status::Withdrawn)
        .collect();
    let mut out = Vec::new();
    for (i, a) in live.iter().enumerate() {
        if a.status == Status::Disputed {
            out.push(CreditFinding::Disputed {
                credit: a.id,
                performer: a.performer,
            });
        }
        let Some(ca) = &a.character else { continue };
        let sa = a.effective_segments(fixation.duration_ms);
        for b in &live[i + 1..] {
            if a.performer == b.performer || a.role != b.role {
                continue;
            }
            let Some(cb) = &b.character else { continue };
            if !same_character(ca, cb) {
                continue;
            }
            if let Some(overlap) = first_overlap(&sa, &b.effective_segments(fixation.duration_ms)) {
                out.push(CreditFinding::Clash(CreditClash {
                    fixation: fixation.id,
                    credits: [a.id, b.id],
                    performers: [a.performer, b.performer],
                    role: a.role.clone(),
                    character: ca.clone(),
                    overlap,
                }));
            }
        }
    }
    out
}

/// Two exclusive mandates of one performer to different societies that
/// share a right, a country and a day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MandateClash {
    /// The performer.
    pub performer: PerformerId,
    /// The two mandates (in input order).
    pub mandates: [MandateId; 2],
    /// Their societies.
    pub societies: [OrganisationId; 2],
    /// The rights both cover.
    pub rights: BTreeSet<RightKind>,
}

/// Mandate conflicts among `mandates` (DOMAIN.md kind 4).
pub fn mandate_conflicts(mandates: &[Mandate]) -> Vec<MandateClash> {
    let live: Vec<&Mandate> = mandates
        .iter()
        .filter(|m| m.exclusive && m.status != Status::Withdrawn)
        .collect();
    let mut out = Vec::new();
    for (i, a) in live.iter().enumerate() {
        for b in &live[i + 1..] {
            if a.performer != b.performer || a.society == b.society {
                continue;
            }
            let rights: BTreeSet<RightKind> = a.rights.intersection(&b.rights).copied().collect();
            if rights.is_empty()
                || !a.territories.intersects(&b.territories)
                || !a.period.intersects(&b.period)
            {
                continue;
            }
            out.push(MandateClash {
                performer: a.performer,
                mandates: [a.id, b.id],
                societies: [a.society, b.society],
                rights,
            });
        }
    }
    out
}

/// A fingerprint match between a new fixation (the query) and a registered
/// one (the reference), as the matcher reports it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FingerprintMatch {
    /// The newly registered fixation.
    pub query: FixationId,
    /// The fixation it matched.
    pub reference: FixationId,
    /// The matched span in the query.
    pub query_span: Segment,
    /// The matched span in the reference.
    pub reference_span: Segment,
    /// Match score, 0..1.
    pub score: f32,
}

/// A fingerprint overlap with another registrant's fixation that no
/// declared relation explains (DOMAIN.md kind 2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceOverlap {
    /// The new fixation.
    pub fixation: FixationId,
    /// The fixation it overlaps.
    pub other: FixationId,
    /// The span in the new fixation.
    pub span: Segment,
    /// The span in the other.
    pub other_span: Segment,
    /// The new fixation's registrant.
    pub registrant: Party,
    /// The other's registrant.
    pub other_registrant: Party,
    /// Match score, 0..1.
    pub score: f32,
}

/// Reference overlaps of `new` given the fingerprint `matches` found for
/// it. A match is explained, and not reported, when the other fixation was
/// registered by the same party or a relation (edit of, clip of, dub of)
/// links the two either way; matches of other queries, of `new` itself and
/// of unknown fixations are ignored.
pub fn reference_overlaps(
    new: &Fixation,
    registered: &[Fixation],
    matches: &[FingerprintMatch],
) -> Vec<ReferenceOverlap> {
    matches
        .iter()
        .filter(|m| m.query == new.id && m.reference != new.id)
        .filter_map(|m| {
            let other = registered.iter().find(|f| f.id == m.reference)?;
            if other.registered_by == new.registered_by || Fixation::related(new, other) {
                return None;
            }
            Some(ReferenceOverlap {
                fixation: new.id,
                other: other.id,
                span: m.query_span,
                other_span: m.reference_span,
                registrant: new.registered_by,
                other_registrant: other.registered_by,
                score: m.score,
            })
        })
        .collect()
}

/// A credit or holding asserted in `fixation` by a party that is not its
/// registrant (DOMAIN.md, "Claims and evidence"): kept, shown as a
/// third-party claim, and notified to the registrant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThirdPartyClaim {
    /// The fixation.
    pub fixation: FixationId,
    /// The claim (a credit or a holding).
    pub claim: Subject,
    /// Who asserted it.
    pub claimant: Party,
    /// The fixation's registrant.
    pub registrant: Party,
}

/// The third-party claims among the live `credits` and `holdings` of
/// `fixation`.
pub fn third_party_claims(
    fixation: &Fixation,
    credits: &[Credit],
    holdings: &[Holding],
) -> Vec<ThirdPartyClaim> {
    let credits = credits
        .iter()
        .filter(|c| c.fixation == fixation.id && c.status != Status::Withdrawn)
        .filter_map(|c| Some((Subject::Credit(c.id), c.third_party?)));
    let holdings = holdings
        .iter()
        .filter(|h| h.fixation == fixation.id && h.status != Status::Withdrawn)
        .filter_map(|h| Some((Subject::Holding(h.id), h.third_party?)));
    credits
        .chain(holdings)
        .filter(|(_, claimant)| *claimant != fixation.registered_by)
        .map(|(claim, claimant)| ThirdPartyClaim {
            fixation: fixation.id,
            claim,
            claimant,
            registrant: fixation.registered_by,
        })
        .collect()
}

/// Any detected conflict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Finding {
    /// Kind 1.
    Overclaim(Overclaim),
    /// Kind 2.
    ReferenceOverlap(ReferenceOverlap),
    /// Kind 3.
    CreditOverlap(CreditFinding),
    /// Kind 4.
    MandateConflict(MandateClash),
    /// A third-party claim, notified to the registrant.
    ThirdPartyClaim(ThirdPartyClaim),
}

impl Finding {
    /// Its kind.
    pub fn kind(&self) -> ConflictKind {
        match self {
            Finding::Overclaim(_) => ConflictKind::Overclaim,
            Finding::ReferenceOverlap(_) => ConflictKind::ReferenceOverlap,
            Finding::CreditOverlap(_) => ConflictKind::CreditOverlap,
            Finding::MandateConflict(_) => ConflictKind::MandateConflict,
            Finding::ThirdPartyClaim(_) => ConflictKind::ThirdPartyClaim,
        }
    }

    /// What it is about.
    pub fn subjects(&self) -> Vec<Subject> {
        match self {
            Finding::Overclaim(o) => o.holdings.iter().map(|&h| Subject::Holding(h)).collect(),
            Finding::ReferenceOverlap(r) => {
                vec![Subject::Fixation(r.fixation), Subject::Fixation(r.other)]
            }
            Finding::CreditOverlap(CreditFinding::Clash(c)) => {
                c.credits.iter().map(|&id| Subject::Credit(id)).collect()
            }
            Finding::CreditOverlap(CreditFinding::Disputed { credit, .. }) => {
                vec![Subject::Credit(*credit)]
            }
            Finding::MandateConflict(m) => {
                m.mandates.iter().map(|&id| Subject::Mandate(id)).collect()
            }
            Finding::ThirdPartyClaim(t) => vec![t.claim],
        }
    }

    /// Who must respond.
    pub fn parties(&self) -> Vec<Party> {
        let mut parties: Vec<Party> = match self {
            Finding::Overclaim(o) => o.holders.clone(),
            Finding::ReferenceOverlap(r) => vec![r.registrant, r.other_registrant],
            Finding::CreditOverlap(CreditFinding::Clash(c)) => {
                c.performers.iter().map(|&p| Party::Performer(p)).collect()
            }
            Finding::CreditOverlap(CreditFinding::Disputed { performer, .. }) => {
                vec![Party::Performer(*performer)]
            }
            Finding::MandateConflict(m) => {
                let mut v = vec![Party::Performer(m.performer)];
                v.extend(m.societies.iter().map(|&s| Party::Organisation(s)));
                v
            }
            Finding::ThirdPartyClaim(t) => vec![t.registrant, t.claimant],
        };
        parties.sort_unstable();
        parties.dedup();
        parties
    }

    /// The conflict to record: opened `opened`, to be answered within
    /// `respond_days` days.
    pub fn to_conflict(
        &self,
        id: ConflictId,
        opened: Date,
        respond_days: u32,
    ) -> Result<Conflict, DateError> {
        let respond_by =
            Date::from_days_since_epoch(opened.days_since_epoch() + i64::from(respond_days))?;
        Ok(Conflict {
            version: MODEL_VERSION,
            id,
            kind: self.kind(),
            subjects: self.subjects(),
            parties: self.parties(),
            opened,
            respond_by,
            status: ConflictStatus::Open,
            resolution: None,
            responses: Vec::new(),
            agreements: Vec::new(),
            ruling: None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;
    use crate::domain::model::tests::{c, credit, d, fixation};
    use crate::domain::model::{Basis, Relation};
    use proptest::prelude::*;

    fn holding(id: u128, share: u32, territories: Territories, period: Period) -> Holding {
        Holding {
            version: MODEL_VERSION,
            id: HoldingId::from_u128(id),
            holder: Party::Performer(PerformerId::from_u128(id)),
            fixation: FixationId::from_u128(1),
            right: RightKind::MakingAvailable,
            nature: Nature::Exclusive,
            territories,
            period,
            share_ppm: share,
            basis: Basis::Contract,
            agreement: None,
            status: Status::Asserted,
            third_party: None,
        }
    }

    #[test]
    fn overclaim_worldwide_and_de() {
        let all = Period::from(d("2020-01-01"));
        let a = holding(1, 600_000, Territories::worldwide(), all);
        let b = holding(2, 500_000, Territories::only([c("DE")]), all);
        let found = overclaims(&[a.clone(), b.clone()]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].country, c("DE"));
        assert_eq!(found[0].total_ppm, 1_100_000);
        assert_eq!(found[0].holdings, vec![a.id, b.id]);
        // Disjoint territories: no conflict.
        let b2 = holding(2, 500_000, Territories::only([c("DE")]), all);
        let a2 = holding(
            1,
            600_000,
            Territories::WorldwideExcept([c("DE")].into()),
            all,
        );
        assert!(overclaims(&[a2, b2]).is_empty());
        // Disjoint periods: no conflict.
        let a3 = holding(
            1,
            600_000,
            Territories::worldwide(),
            Period::between(d("2020-01-01"), d("2020-12-31")),
        );
        let b3 = holding(
            2,
            500_000,
            Territories::worldwide(),
            Period::from(d("2021-01-01")),
        );
        assert!(overclaims(&[a3, b3.clone()]).is_empty());
        // Remuneration does not count toward the exclusive 100%.
        let mut r = holding(3, 900_000, Territories::worldwide(), all);
        r.nature = Nature::Remuneration;
        assert!(overclaims(&[a.clone(), r]).is_empty());
        // Withdrawn claims are ignored.
        let mut w = b.clone();
        w.status = Status::Withdrawn;
        assert!(overclaims(&[a.clone(), w]).is_empty());
        // Other right, no conflict.
        let mut other = b;
        other.right = RightKind::Rental;
        assert!(overclaims(&[a, other]).is_empty());
    }

    #[test]
    fn a_thousand_staggered_holdings_are_one_overclaim_naming_the_largest() {
        // The batch of issue 13: every holding overlaps the next ones, so
        // every day has its own set over 100 %. One conflict, not 1,499.
        let holdings: Vec<Holding> = (0..1000u32)
            .map(|i| {
                let start = Date::from_days_since_epoch(i64::from(i) * 10).unwrap();
                let end = Date::from_days_since_epoch(i64::from(i) * 10 + 35).unwrap();
                holding(
                    u128::from(i) + 1,
                    400_000 + i,
                    Territories::worldwide(),
                    Period::between(start, end),
                )
            })
            .collect();
        let found = overclaims(&holdings);
        assert_eq!(found.len(), 1);
        let o = &found[0];
        assert_eq!(o.implicated, 1000);
        assert_eq!(o.holdings.len(), MAX_OVERCLAIM_HOLDINGS);
        // The largest shares are the ones listed.
        assert!(o.holdings.contains(&HoldingId::from_u128(1000)));
        assert!(!o.holdings.contains(&HoldingId::from_u128(1)));
        assert!(o.total_ppm > u64::from(WHOLE_PPM));
    }

    #[test]
    fn overclaim_pairwise_is_not_enough() {
        // Each pair intersects, but the three never hold at once.
        let y = |a: &str, b: &str| Period::between(d(a), d(b));
        let a = holding(
            1,
            400_000,
            Territories::worldwide(),
            y("2020-01-01", "2020-12-31"),
        );
        let b = holding(
            2,
            400_000,
            Territories::worldwide(),
            y("2020-06-01", "2021-06-30"),
        );
        let cc = holding(
            3,
            400_000,
            Territories::worldwide(),
            y("2021-01-01", "2021-12-31"),
        );
        assert!(overclaims(&[a, b, cc]).is_empty());
    }

    #[test]
    fn credit_clashes() {
        let f = fixation(1, 60_000);
        let mut a = credit(1, 1, 10, &[(0, 10_000)]);
        a.character = Some("Hamlet".into());
        let mut b = credit(2, 1, 11, &[(9_000, 20_000)]);
        b.character = Some(" hamlet".into());
        let found = credit_overlaps(&f, &[a.clone(), b.clone()]);
        assert_eq!(found.len(), 1);
        let CreditFinding::Clash(clash) = &found[0] else {
            panic!("{found:?}")
        };
        assert_eq!(clash.overlap, Segment::new(9_000, 10_000));
        // A voice actor dubbing the same character is not a clash.
        let mut v = b.clone();
        v.role = Role::VoiceActor;
        assert!(credit_overlaps(&f, &[a.clone(), v]).is_empty());
        // Separate segments: none.
        let mut later = b.clone();
        later.segments = vec![Segment::new(10_000, 20_000)];
        assert!(credit_overlaps(&f, &[a.clone(), later]).is_empty());
        // Whole-fixation credit overlaps any segment.
        let mut whole = b.clone();
        whole.segments.clear();
        assert_eq!(credit_overlaps(&f, &[a.clone(), whole]).len(), 1);
        // A dispute is reported.
        let mut disputed = a;
        disputed.status = Status::Disputed;
        assert!(matches!(
            credit_overlaps(&f, &[disputed])[..],
            [CreditFinding::Disputed { .. }]
        ));
    }

    #[test]
    fn mandate_clashes() {
        let m = |id: u128, society: u128, t: Territories, exclusive: bool| Mandate {
            version: MODEL_VERSION,
            id: MandateId::from_u128(id),
            performer: PerformerId::from_u128(7),
            society: OrganisationId::from_u128(society),
            rights: [RightKind::Broadcasting, RightKind::Rental].into(),
            territories: t,
            period: Period::from(d("2020-01-01")),
            exclusive,
            status: Status::Asserted,
        };
        let a = m(1, 100, Territories::worldwide(), true);
        let b = m(2, 200, Territories::only([c("FR")]), true);
        let found = mandate_conflicts(&[a.clone(), b.clone()]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rights.len(), 2);
        assert!(
            mandate_conflicts(&[a.clone(), m(2, 200, Territories::only([c("FR")]), false)])
                .is_empty()
        );
        assert!(
            mandate_conflicts(&[a.clone(), m(2, 100, Territories::only([c("FR")]), true)])
                .is_empty()
        );
        let mut other_rights = b;
        other_rights.rights = [RightKind::MakingAvailable].into();
        assert!(mandate_conflicts(&[a, other_rights]).is_empty());
    }

    #[test]
    fn reference_overlap_needs_no_relation_and_another_registrant() {
        let old = fixation(1, 600_000);
        let mut new = fixation(2, 30_000);
        new.registered_by = Party::Performer(PerformerId::from_u128(5));
        let m = FingerprintMatch {
            query: new.id,
            reference: old.id,
            query_span: Segment::new(0, 30_000),
            reference_span: Segment::new(120_000, 150_000),
            score: 0.9,
        };
        let found = reference_overlaps(&new, std::slice::from_ref(&old), &[m]);
        assert_eq!(found.len(), 1);
        let finding = Finding::ReferenceOverlap(found[0].clone());
        let conflict = finding
            .to_conflict(ConflictId::from_u128(1), d("2025-01-01"), 30)
            .unwrap();
        assert_eq!(conflict.respond_by, d("2025-01-31"));
        assert_eq!(conflict.parties.len(), 2);
        conflict.validate(d("2025-01-01")).unwrap();
        let mut clip = new.clone();
        clip.relations.push(Relation::ClipOf {
            of: old.id,
            offset_ms: 120_000,
        });
        // Declared by one side only, about another registrant's fixation,
        // the relation explains nothing.
        assert_eq!(
            reference_overlaps(&clip, std::slice::from_ref(&old), &[m]).len(),
            1
        );
        let mut accepting = old.clone();
        accepting.accepted_relations.push(clip.id);
        assert!(reference_overlaps(&clip, std::slice::from_ref(&accepting), &[m]).is_empty());
        let mut same = new;
        same.registered_by = old.registered_by;
        assert!(reference_overlaps(&same, &[old], &[m]).is_empty());
    }

    // Brute force: every country of a small pool plus one outside it, and
    // every day of the range; per nature, the holdings in force at some
    // point over 100 %, and the largest sum.
    fn brute_overclaims(holdings: &[Holding]) -> BTreeMap<Nature, (BTreeSet<HoldingId>, u64)> {
        let mut out: BTreeMap<Nature, (BTreeSet<HoldingId>, u64)> = BTreeMap::new();
        let countries: Vec<Country> = ["DE", "FR", "US", "JP", "BR"]
            .iter()
            .map(|s| c(s))
            .collect();
        for day in 0..90 {
            let date = Date::from_days_since_epoch(day).unwrap();
            for &country in &countries {
                for nature in [Nature::Exclusive, Nature::Remuneration] {
                    let here: Vec<&Holding> = holdings
                        .iter()
                        .filter(|h| h.nature == nature && h.applies(country, date))
                        .collect();
                    let sum: u64 = here.iter().map(|h| u64::from(h.share_ppm)).sum();
                    if sum > u64::from(WHOLE_PPM) {
                        let e = out.entry(nature).or_default();
                        e.0.extend(here.iter().map(|h| h.id));
                        e.1 = e.1.max(sum);
                    }
                }
            }
        }
        out
    }

    fn arb_holdings() -> impl Strategy<Value = Vec<Holding>> {
        let pool: Vec<Country> = ["DE", "FR", "US", "JP"].iter().map(|s| c(s)).collect();
        let territories =
            (any::<bool>(), proptest::sample::subsequence(pool, 0..=4)).prop_map(|(only, set)| {
                let set = set.into_iter().collect();
                if only {
                    Territories::Only(set)
                } else {
                    Territories::WorldwideExcept(set)
                }
            });
        let period = (0i64..60, proptest::option::of(0i64..20)).prop_map(|(s, len)| {
            let start = Date::from_days_since_epoch(s).unwrap();
            match len {
                Some(l) => Period::between(start, Date::from_days_since_epoch(s + l).unwrap()),
                None => Period::from(start),
            }
        });
        let share = prop_oneof![
            Just(250_000u32),
            Just(500_000),
            Just(600_000),
            Just(1_000_000)
        ];
        proptest::collection::vec(
            (territories, period, share, any::<bool>(), any::<bool>()),
            0..7,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (t, p, s, remun, withdrawn))| {
                    let mut h = holding(i as u128 + 1, s, t, p);
                    if remun {
                        h.nature = Nature::Remuneration;
                    }
                    if withdrawn {
                        h.status = Status::Withdrawn;
                    }
                    h
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn overclaims_match_brute_force(holdings in arb_holdings()) {
            let found = overclaims(&holdings);
            // The witness is genuine: the largest sum is reached there, on
            // the first and the last day of its period.
            for o in &found {
                let last = o.period.end.unwrap_or(o.period.start);
                for day in [o.period.start, last] {
                    let sum: u64 = holdings
                        .iter()
                        .filter(|h| h.nature == o.nature && h.applies(o.country, day))
                        .map(|h| u64::from(h.share_ppm))
                        .sum();
                    prop_assert_eq!(sum, o.total_ppm);
                }
                prop_assert!(o.total_ppm > u64::from(WHOLE_PPM));
                prop_assert_eq!(o.implicated, o.holdings.len());
            }
            let fast: BTreeMap<Nature, (BTreeSet<HoldingId>, u64)> = found
                .into_iter()
                .map(|o| (o.nature, (o.holdings.into_iter().collect(), o.total_ppm)))
                .collect();
            prop_assert_eq!(fast, brute_overclaims(&holdings));
        }
    }
}
