//! Model-based property test of the ledger: random sequences of writes
//! (holdings, credits, mandates: created, amended, withdrawn, valid or not)
//! applied both to the registry and to an in-memory model that applies the
//! same domain rules. After every write the registry must hold exactly the
//! model's live entities and exactly the open conflicts the model's rules
//! find; invalid writes must fail and change nothing; and every past state
//! must still be readable `as_of` its audit sequence number.

use std::collections::{BTreeMap, BTreeSet};

use avreg_registry::domain::conflicts::{credit_overlaps, mandate_conflicts, overclaims, Finding};
use avreg_registry::domain::date::Period;
use avreg_registry::domain::ids::{
    CreditId, FixationId, HoldingId, MandateId, OrganisationId, PerformerId,
};
use avreg_registry::domain::model::{
    ConflictKind, Mandate, OrganisationKind, Party, Status, Subject, MODEL_VERSION,
};
use avreg_registry::domain::territory::Territories;
use avreg_registry::ledger::{Change, Entity, EntityKind, EntityRef, View};
use avreg_registry::{Error, Registry};
use proptest::prelude::*;

use crate::common::open;
use crate::ledger::{c, credit, d, fixation, holding, organisation, performer};

const FIXATIONS: [u128; 2] = [100, 101];
const PERFORMERS: [u128; 3] = [1, 2, 3];
const SOCIETIES: [u128; 2] = [20, 21];

#[derive(Clone, Debug)]
enum Step {
    Holding {
        id: u8,
        fixation: u8,
        holder: u8,
        share: u8,
        territory: u8,
        period: u8,
        amend: bool,
    },
    Credit {
        id: u8,
        fixation: u8,
        performer: u8,
        character: u8,
        segment: u8,
        amend: bool,
    },
    Mandate {
        id: u8,
        performer: u8,
        society: u8,
        territory: u8,
        exclusive: bool,
        amend: bool,
    },
    Withdraw {
        kind: u8,
        id: u8,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            0u8..5,
            0u8..2,
            0u8..4,
            0u8..4,
            0u8..4,
            0u8..3,
            any::<bool>()
        )
            .prop_map(|(id, fixation, holder, share, territory, period, amend)| {
                Step::Holding {
                    id,
                    fixation,
                    holder,
                    share,
                    territory,
                    period,
                    amend,
                }
            }),
        (0u8..5, 0u8..2, 0u8..3, 0u8..2, 0u8..4, any::<bool>()).prop_map(
            |(id, fixation, performer, character, segment, amend)| Step::Credit {
                id,
                fixation,
                performer,
                character,
                segment,
                amend
            }
        ),
        (0u8..4, 0u8..3, 0u8..2, 0u8..4, any::<bool>(), any::<bool>()).prop_map(
            |(id, performer, society, territory, exclusive, amend)| Step::Mandate {
                id,
                performer,
                society,
                territory,
                exclusive,
                amend
            }
        ),
        (0u8..3, 0u8..5).prop_map(|(kind, id)| Step::Withdraw { kind, id }),
    ]
}

fn territory(i: u8) -> Territories {
    match i {
        0 => Territories::worldwide(),
        1 => Territories::only([c("DE")]),
        2 => Territories::only([c("CH"), c("DE")]),
        _ => Territories::WorldwideExcept([c("DE")].into()),
    }
}

fn holder(i: u8) -> Party {
    match i {
        0..=2 => Party::Performer(PerformerId::from_u128(PERFORMERS[usize::from(i)])),
        _ => Party::Organisation(OrganisationId::from_u128(10)),
    }
}

/// The entity a step writes, and whether it is an amendment.
fn entity_of(s: &Step) -> Option<(Entity, bool)> {
    Some(match *s {
        Step::Holding {
            id,
            fixation,
            holder: h,
            share,
            territory: t,
            period,
            amend,
        } => {
            let mut e = holding(
                u128::from(id),
                FIXATIONS[usize::from(fixation)],
                holder(h),
                [250_000, 500_000, 750_000, 1_000_000][usize::from(share)],
                territory(t),
            );
            e.period = match period {
                0 => Period::from(d("2001-05-04")),
                1 => Period::between(d("2001-05-04"), d("2010-12-31")),
                _ => Period::from(d("2011-01-01")),
            };
            (Entity::Holding(e), amend)
        }
        Step::Credit {
            id,
            fixation,
            performer,
            character,
            segment,
            amend,
        } => {
            let segs: &[(u64, u64)] = match segment {
                0 => &[],
                1 => &[(0, 10_000)],
                2 => &[(5_000, 20_000)],
                _ => &[(30_000, 70_000)], // beyond the fixation: invalid
            };
            (
                Entity::Credit(credit(
                    u128::from(id),
                    FIXATIONS[usize::from(fixation)],
                    PERFORMERS[usize::from(performer)],
                    ["Hero", "Villain"][usize::from(character)],
                    segs,
                )),
                amend,
            )
        }
        Step::Mandate {
            id,
            performer,
            society,
            territory: t,
            exclusive,
            amend,
        } => (
            Entity::Mandate(Mandate {
                version: MODEL_VERSION,
                id: MandateId::from_u128(u128::from(id)),
                performer: PerformerId::from_u128(PERFORMERS[usize::from(performer)]),
                society: OrganisationId::from_u128(SOCIETIES[usize::from(society)]),
                rights: [avreg_registry::domain::model::RightKind::Broadcasting].into(),
                territories: territory(t),
                period: Period::from(d("2020-01-01")),
                exclusive,
                status: Status::Asserted,
            }),
            amend,
        ),
        Step::Withdraw { .. } => return None,
    })
}

fn withdraw_ref(kind: u8, id: u8) -> EntityRef {
    let id = u128::from(id);
    match kind {
        0 => EntityRef::Holding(HoldingId::from_u128(id)),
        1 => EntityRef::Credit(CreditId::from_u128(id)),
        _ => EntityRef::Mandate(MandateId::from_u128(id)),
    }
}

/// The model: every entity ever written with whether it is withdrawn.
#[derive(Clone, Debug, Default, PartialEq)]
struct Model {
    entities: BTreeMap<EntityRef, (Entity, bool)>,
}

impl Model {
    /// Applies a step by the rules; `None` when the registry must refuse it.
    fn apply(&self, s: &Step) -> Option<Model> {
        let mut next = self.clone();
        match s {
            Step::Withdraw { kind, id } => {
                let r = withdraw_ref(*kind, *id);
                let (e, withdrawn) = next.entities.get_mut(&r)?;
                if *withdrawn {
                    return None;
                }
                *withdrawn = true;
                match e {
                    Entity::Credit(c) => c.status = Status::Withdrawn,
                    Entity::Holding(h) => h.status = Status::Withdrawn,
                    Entity::Mandate(m) => m.status = Status::Withdrawn,
                    _ => {}
                }
            }
            _ => {
                let (e, amend) = entity_of(s)?;
                let r = e.reference();
                match (self.entities.get(&r), amend) {
                    (None, false) => {}
                    (Some((before, false)), true) => {
                        // The defining links cannot change.
                        let same = match (before, &e) {
                            (Entity::Holding(a), Entity::Holding(b)) => {
                                a.fixation == b.fixation && a.holder == b.holder
                            }
                            (Entity::Credit(a), Entity::Credit(b)) => {
                                a.fixation == b.fixation && a.performer == b.performer
                            }
                            (Entity::Mandate(a), Entity::Mandate(b)) => {
                                a.performer == b.performer && a.society == b.society
                            }
                            _ => false,
                        };
                        if !same {
                            return None;
                        }
                    }
                    _ => return None,
                }
                if let Entity::Credit(c) = &e {
                    if c.segments.iter().any(|s| s.end_ms > 60_000) {
                        return None;
                    }
                }
                next.entities.insert(r, (e, false));
            }
        }
        Some(next)
    }

    fn live(&self) -> BTreeMap<EntityRef, Entity> {
        self.entities
            .iter()
            .filter(|(_, (_, w))| !w)
            .map(|(r, (e, _))| (*r, e.clone()))
            .collect()
    }

    /// The conflicts the rules find, as (kind, subjects).
    fn conflicts(&self) -> BTreeSet<(ConflictKind, BTreeSet<Subject>)> {
        let live = self.live();
        let holdings: Vec<_> = live
            .values()
            .filter_map(|e| match e {
                Entity::Holding(h) => Some(h.clone()),
                _ => None,
            })
            .collect();
        let mut findings: Vec<Finding> = overclaims(&holdings)
            .into_iter()
            .map(Finding::Overclaim)
            .collect();
        for f in FIXATIONS {
            let credits: Vec<_> = live
                .values()
                .filter_map(|e| match e {
                    Entity::Credit(c) if c.fixation == FixationId::from_u128(f) => Some(c.clone()),
                    _ => None,
                })
                .collect();
            findings.extend(
                credit_overlaps(
                    &fixation(
                        f,
                        Party::Organisation(OrganisationId::from_u128(10)),
                        60_000,
                    ),
                    &credits,
                )
                .into_iter()
                .map(Finding::CreditOverlap),
            );
        }
        let mandates: Vec<_> = live
            .values()
            .filter_map(|e| match e {
                Entity::Mandate(m) => Some(m.clone()),
                _ => None,
            })
            .collect();
        findings.extend(
            mandate_conflicts(&mandates)
                .into_iter()
                .map(Finding::MandateConflict),
        );
        findings
            .iter()
            .map(|f| (f.kind(), f.subjects().into_iter().collect()))
            .collect()
    }
}

fn registry_state(view: &View<'_>) -> BTreeMap<EntityRef, Entity> {
    let mut out = BTreeMap::new();
    for kind in [EntityKind::Holding, EntityKind::Credit, EntityKind::Mandate] {
        for e in view.list(kind, None, usize::MAX).expect("list") {
            out.insert(e.reference(), e);
        }
    }
    out
}

fn registry_conflicts(view: &View<'_>) -> BTreeSet<(ConflictKind, BTreeSet<Subject>)> {
    view.conflicts(true, None)
        .expect("conflicts")
        .into_iter()
        .map(|c| (c.kind, c.subjects.into_iter().collect()))
        .collect()
}

fn setup(reg: &Registry) {
    let mut changes = vec![
        Change::Create(Entity::Organisation(organisation(
            10,
            OrganisationKind::Producer,
            "Studio",
        ))),
        Change::Create(Entity::Organisation(organisation(
            20,
            OrganisationKind::CollectingSociety,
            "A",
        ))),
        Change::Create(Entity::Organisation(organisation(
            21,
            OrganisationKind::CollectingSociety,
            "B",
        ))),
    ];
    for p in PERFORMERS {
        changes.push(Change::Create(Entity::Performer(performer(
            p,
            &format!("P{p}"),
        ))));
    }
    for f in FIXATIONS {
        changes.push(Change::Create(Entity::Fixation(fixation(
            f,
            Party::Organisation(OrganisationId::from_u128(10)),
            60_000,
        ))));
    }
    reg.apply("setup", changes).expect("setup");
}

fn run(steps: &[Step]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    setup(&reg);
    let mut model = Model::default();
    let mut history: Vec<(u64, Model)> = Vec::new();
    for s in steps {
        let before = reg.audit_log(0).expect("log").len();
        let change = match s {
            Step::Withdraw { kind, id } => Change::Withdraw(withdraw_ref(*kind, *id)),
            _ => match entity_of(s) {
                Some((e, true)) => Change::Amend(e),
                Some((e, false)) => Change::Create(e),
                None => unreachable!("non-withdraw steps have an entity"),
            },
        };
        let result = reg.apply("model", vec![change]);
        match (model.apply(s), result) {
            (Some(next), Ok(_)) => model = next,
            (None, Err(Error::Invalid(_))) => {
                assert_eq!(
                    reg.audit_log(0).expect("log").len(),
                    before,
                    "refused {s:?} wrote"
                );
            }
            (expected, got) => panic!(
                "{s:?}: model accepts: {}, registry: {got:?}",
                expected.is_some()
            ),
        }
        let view = reg.view();
        assert_eq!(registry_state(&view), model.live(), "after {s:?}");
        assert_eq!(registry_conflicts(&view), model.conflicts(), "after {s:?}");
        let seq = reg.verify_audit(None).expect("audit").expect("head").seq;
        history.push((seq, model.clone()));
    }
    for (seq, m) in &history {
        let past = reg.view_at_seq(*seq);
        assert_eq!(registry_state(&past), m.live(), "as of {seq}");
        assert_eq!(
            registry_conflicts(&past),
            m.conflicts(),
            "conflicts as of {seq}"
        );
    }
    reg.verify().expect("verify");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_ledger_follows_the_model(steps in proptest::collection::vec(step(), 1..40)) {
        run(&steps);
    }
}
