//! The ledger through the public API: writes with validation, conflicts
//! detected and resolved on write, queries, `as_of`, exports, and the audit
//! log covering it all.

use avreg_registry::domain::date::{Date, Period};
use avreg_registry::domain::ids::{
    CreditId, FixationId, HoldingId, MandateId, OrganisationId, PerformerId,
};
use avreg_registry::domain::model::{
    Basis, ConflictKind, ConflictStatus, Credit, Fixation, FixationKind, Holding, Mandate,
    MoralRights, Nature, Organisation, OrganisationKind, Party, Performer, Reason, Relation,
    Resolution, RightKind, Role, Segment, Status, MODEL_VERSION,
};
use avreg_registry::domain::territory::{Country, Territories};
use avreg_registry::ledger::{export, Change, Entity, EntityKind, EntityRef};
use avreg_registry::{Content, Error, Registry};

use crate::common::{new_recording, open};

pub fn d(s: &str) -> Date {
    s.parse().expect("date")
}

pub fn c(s: &str) -> Country {
    s.parse().expect("country")
}

pub fn performer(id: u128, name: &str) -> Performer {
    Performer {
        legal_name: Some(format!("{name} (legal)")),
        ..Performer::named(PerformerId::from_u128(id), name)
    }
}

pub fn organisation(id: u128, kind: OrganisationKind, name: &str) -> Organisation {
    Organisation {
        version: MODEL_VERSION,
        id: OrganisationId::from_u128(id),
        kind,
        name: name.into(),
        country: None,
        isni: None,
    }
}

pub fn fixation(id: u128, by: Party, duration_ms: u64) -> Fixation {
    Fixation {
        version: MODEL_VERSION,
        id: FixationId::from_u128(id),
        kind: FixationKind::Av,
        title: format!("Film {id}"),
        isan: None,
        eidr: None,
        isrc: None,
        fixation_date: Some(d("2001-05-04")),
        performance_date: None,
        duration_ms,
        producer: None,
        registered_by: by,
        relations: vec![],
        accepted_relations: vec![],
    }
}

pub fn credit(
    id: u128,
    fixation: u128,
    performer: u128,
    character: &str,
    segs: &[(u64, u64)],
) -> Credit {
    Credit {
        version: MODEL_VERSION,
        id: CreditId::from_u128(id),
        fixation: FixationId::from_u128(fixation),
        performer: PerformerId::from_u128(performer),
        role: Role::Actor,
        character: Some(character.into()),
        credited_as: None,
        featured: true,
        improvised: false,
        segments: segs.iter().map(|&(a, b)| Segment::new(a, b)).collect(),
        status: Status::Asserted,
        third_party: None,
    }
}

pub fn holding(id: u128, fixation: u128, holder: Party, share_ppm: u32, t: Territories) -> Holding {
    Holding {
        version: MODEL_VERSION,
        id: HoldingId::from_u128(id),
        holder,
        fixation: FixationId::from_u128(fixation),
        right: RightKind::MakingAvailable,
        nature: Nature::Exclusive,
        territories: t,
        period: Period::from(d("2001-05-04")),
        share_ppm,
        basis: Basis::Contract,
        agreement: None,
        status: Status::Asserted,
        third_party: None,
    }
}

fn p(id: u128) -> Party {
    Party::Performer(PerformerId::from_u128(id))
}

fn o(id: u128) -> Party {
    Party::Organisation(OrganisationId::from_u128(id))
}

/// Two performers, a producer, a society, one 60 s fixation.
fn seed(reg: &Registry) {
    reg.apply(
        "setup",
        vec![
            Change::Create(Entity::Performer(performer(1, "Ada"))),
            Change::Create(Entity::Performer(performer(2, "Bo"))),
            Change::Create(Entity::Organisation(organisation(
                10,
                OrganisationKind::Producer,
                "Studio",
            ))),
            Change::Create(Entity::Organisation(organisation(
                20,
                OrganisationKind::CollectingSociety,
                "Society A",
            ))),
            Change::Create(Entity::Organisation(organisation(
                21,
                OrganisationKind::CollectingSociety,
                "Society B",
            ))),
            Change::Create(Entity::Fixation(fixation(100, o(10), 60_000))),
        ],
    )
    .expect("seed");
}

fn audit_len(reg: &Registry) -> usize {
    reg.audit_log(0).expect("log").len()
}

#[test]
fn who_performs_in_a_span_and_who_holds_rights() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    seed(&reg);
    let applied = reg
        .apply(
            "studio",
            vec![
                Change::Create(Entity::Credit(credit(1, 100, 1, "Hero", &[(0, 30_000)]))),
                Change::Create(Entity::Credit(credit(
                    2,
                    100,
                    2,
                    "Villain",
                    &[(20_000, 60_000)],
                ))),
                Change::Create(Entity::Holding(holding(
                    1,
                    100,
                    o(10),
                    700_000,
                    Territories::worldwide(),
                ))),
                Change::Create(Entity::Holding(holding(
                    2,
                    100,
                    p(1),
                    300_000,
                    Territories::only([c("DE")]),
                ))),
                Change::Create(Entity::MoralRights(MoralRights {
                    version: MODEL_VERSION,
                    performer: PerformerId::from_u128(1),
                    fixation: FixationId::from_u128(100),
                    attribution: true,
                    attribution_name: Some("A. L.".into()),
                    integrity: true,
                })),
            ],
        )
        .expect("apply");
    assert_eq!(applied.revisions.len(), 5);
    assert!(applied.opened.is_empty(), "{:?}", applied.opened);

    let view = reg.view();
    let on = view
        .performers_between(FixationId::from_u128(100), 25_000, 35_000)
        .expect("span");
    assert_eq!(on.len(), 2);
    assert_eq!(on[0].credit.id, CreditId::from_u128(2));
    assert_eq!(on[0].covered_ms, 10_000);
    assert_eq!(on[1].covered_ms, 5_000);
    assert_eq!(
        on[1].performer.as_ref().map(|p| p.legal_name.clone()),
        Some(None),
        "the legal name is private"
    );
    let on = view
        .performers_between(FixationId::from_u128(100), 40_000, 50_000)
        .expect("span");
    assert_eq!(on.len(), 1);

    let de = view
        .holders(FixationId::from_u128(100), c("DE"), d("2025-01-01"))
        .expect("holders");
    assert_eq!(de.len(), 1);
    assert_eq!(de[0].exclusive_ppm, 1_000_000);
    assert_eq!(de[0].exclusive.len(), 2);
    let fr = view
        .holders(FixationId::from_u128(100), c("FR"), d("2025-01-01"))
        .expect("holders");
    assert_eq!(fr[0].exclusive_ppm, 700_000);
    assert_eq!(fr[0].exclusive[0].holder_name.as_deref(), Some("Studio"));

    let statement = view
        .statement(PerformerId::from_u128(1))
        .expect("statement");
    assert_eq!(statement.len(), 1);
    assert_eq!(statement[0].holdings.len(), 1);
    let csv = export::statement_csv(&statement);
    assert!(csv.starts_with("fixation_id,title,"), "{csv}");
    assert!(
        csv.contains(",A. L.,making_available/exclusive/300000\r\n"),
        "{csv}"
    );

    let rmi = export::rmi_manifest(
        &view,
        FixationId::from_u128(100),
        &[c("DE"), c("US")],
        d("2025-01-01"),
    )
    .expect("rmi")
    .expect("fixation exists");
    assert_eq!(rmi.performers.len(), 2);
    assert_eq!(rmi.performers[0].attribute_as.as_deref(), Some("A. L."));
    assert!(rmi.territories[0].term.term.is_some());

    // One audit event per revision, and the whole registry verifies.
    assert_eq!(audit_len(&reg), 6 + 5);
    reg.verify().expect("verify");
}

#[test]
fn invalid_writes_name_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    seed(&reg);
    let before = audit_len(&reg);
    let cases: Vec<(Change, &str)> = vec![
        (
            Change::Create(Entity::Credit(credit(1, 100, 1, "Hero", &[(0, 70_000)]))),
            "segments[0]",
        ),
        (
            Change::Create(Entity::Credit(credit(1, 100, 1, "Hero", &[(5_000, 4_000)]))),
            "segments[0]",
        ),
        (
            Change::Create(Entity::Credit(credit(1, 100, 99, "Hero", &[]))),
            "performer",
        ),
        (
            Change::Create(Entity::Holding(holding(
                1,
                100,
                o(10),
                1_000_001,
                Territories::worldwide(),
            ))),
            "share_ppm",
        ),
        (
            Change::Create(Entity::Holding(holding(
                1,
                100,
                o(10),
                5,
                Territories::only([]),
            ))),
            "territories",
        ),
        (
            Change::Create(Entity::Fixation(Fixation {
                fixation_date: Some(d("2999-01-01")),
                ..fixation(101, o(10), 1_000)
            })),
            "fixation_date",
        ),
        (
            Change::Create(Entity::Fixation(Fixation {
                producer: Some(OrganisationId::from_u128(20)),
                ..fixation(101, o(10), 1_000)
            })),
            "producer",
        ),
        (
            Change::Create(Entity::Fixation(fixation(100, o(10), 1_000))),
            "id",
        ),
        (
            Change::Amend(Entity::Credit(credit(7, 100, 1, "Hero", &[]))),
            "id",
        ),
    ];
    for (change, field) in cases {
        // A valid change first: the invalid one must take it down too.
        let batch = vec![
            Change::Create(Entity::Performer(performer(50, "Valid"))),
            change.clone(),
        ];
        match reg.apply("x", batch) {
            Err(Error::Invalid(e)) => {
                assert!(e.field.starts_with(field), "{change:?}: {e}");
            }
            other => panic!("{change:?} accepted: {other:?}"),
        }
        assert_eq!(audit_len(&reg), before, "nothing written for {change:?}");
        assert!(reg
            .view()
            .performer(PerformerId::from_u128(50))
            .expect("read")
            .is_none());
    }
    reg.verify().expect("verify");
}

#[test]
fn duplicate_identifiers_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    seed(&reg);
    let isan: avreg_registry::domain::ids::Isan =
        "0000-0000-3A8D-0000-Z-0000-0000-6".parse().expect("isan");
    let with_isan = |id| Fixation {
        isan: Some(isan),
        ..fixation(id, o(10), 1_000)
    };
    reg.apply("x", vec![Change::Create(Entity::Fixation(with_isan(101)))])
        .expect("first");
    let e = reg
        .apply("x", vec![Change::Create(Entity::Fixation(with_isan(102)))])
        .expect_err("second");
    assert!(matches!(&e, Error::Invalid(v) if v.field == "isan"), "{e}");
    let found = reg
        .view()
        .by_identifier("ISAN 0000-0000-3A8D-0000-Z-0000-0000-6")
        .expect("lookup");
    assert!(matches!(found, Some(Entity::Fixation(f)) if f.id == FixationId::from_u128(101)));
    // Withdrawn, the identifier is free again.
    reg.apply(
        "x",
        vec![Change::Withdraw(EntityRef::Fixation(
            FixationId::from_u128(101),
        ))],
    )
    .expect("withdraw");
    reg.apply("x", vec![Change::Create(Entity::Fixation(with_isan(102)))])
        .expect("now free");
}

#[test]
fn overclaims_open_on_write_and_resolve_by_a_later_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    seed(&reg);
    reg.apply(
        "studio",
        vec![Change::Create(Entity::Holding(holding(
            1,
            100,
            o(10),
            700_000,
            Territories::worldwide(),
        )))],
    )
    .expect("first");
    let applied = reg
        .apply(
            "ada",
            vec![Change::Create(Entity::Holding(holding(
                2,
                100,
                p(1),
                400_000,
                Territories::only([c("CH")]),
            )))],
        )
        .expect("second: a conflict never blocks a write");
    assert_eq!(applied.opened.len(), 1);
    let conflict = &applied.opened[0];
    assert_eq!(conflict.kind, ConflictKind::Overclaim);
    assert_eq!(conflict.parties, vec![p(1), o(10)]);
    assert_eq!(
        conflict.respond_by.days_since_epoch() - conflict.opened.days_since_epoch(),
        30
    );
    let between = reg.audit_log(0).expect("log").last().expect("event").seq;

    // Writing in the same scope again keeps the one conflict.
    let again = reg
        .apply(
            "ada",
            vec![Change::Amend(Entity::Holding(holding(
                2,
                100,
                p(1),
                350_000,
                Territories::only([c("CH")]),
            )))],
        )
        .expect("amend");
    assert!(again.opened.is_empty() && again.resolved.is_empty());
    assert_eq!(reg.view().conflicts(true, None).expect("open").len(), 1);

    // Splitting the territories resolves it.
    let fixed = reg
        .apply(
            "studio",
            vec![Change::Amend(Entity::Holding(holding(
                1,
                100,
                o(10),
                700_000,
                Territories::WorldwideExcept([c("CH")].into()),
            )))],
        )
        .expect("fix");
    assert_eq!(fixed.resolved.len(), 1);
    assert_eq!(
        fixed.resolved[0].resolution,
        Some(Resolution::SplitTerritory)
    );
    assert!(reg.view().conflicts(true, None).expect("open").is_empty());
    assert_eq!(
        reg.view().conflicts(false, Some(p(1))).expect("all").len(),
        1
    );

    // As of the moment after the conflict was opened, it is open again and
    // the holding has its first share.
    let past = reg.view_at_seq(between);
    assert_eq!(past.conflicts(true, None).expect("open").len(), 1);
    assert_eq!(
        past.holding(HoldingId::from_u128(2))
            .expect("read")
            .map(|h| h.share_ppm),
        Some(400_000)
    );
    assert_eq!(
        reg.view()
            .history(&EntityRef::Holding(HoldingId::from_u128(2)))
            .expect("h")
            .len(),
        2
    );
    let csv = export::conflicts_csv(&reg.view().conflicts(false, None).expect("all"));
    assert!(csv.contains(",overclaim,resolved,"), "{csv}");
    reg.verify().expect("verify");
}

#[test]
fn credit_and_mandate_conflicts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    seed(&reg);
    let a = reg
        .apply(
            "x",
            vec![
                Change::Create(Entity::Credit(credit(1, 100, 1, "Hero", &[(0, 30_000)]))),
                Change::Create(Entity::Credit(credit(
                    2,
                    100,
                    2,
                    " hero",
                    &[(25_000, 40_000)],
                ))),
            ],
        )
        .expect("credits");
    assert_eq!(a.opened.len(), 1);
    assert_eq!(a.opened[0].kind, ConflictKind::CreditOverlap);
    let fixed = reg
        .apply(
            "bo",
            vec![Change::Amend(Entity::Credit(credit(
                2,
                100,
                2,
                "Hero",
                &[(30_000, 40_000)],
            )))],
        )
        .expect("exclude segment");
    assert_eq!(
        fixed.resolved[0].resolution,
        Some(Resolution::ExcludeSegment)
    );

    let mandate = |id: u128, society: u128| Mandate {
        version: MODEL_VERSION,
        id: MandateId::from_u128(id),
        performer: PerformerId::from_u128(1),
        society: OrganisationId::from_u128(society),
        rights: [RightKind::Broadcasting].into(),
        territories: Territories::worldwide(),
        period: Period::from(d("2020-01-01")),
        exclusive: true,
        status: Status::Asserted,
    };
    reg.apply("ada", vec![Change::Create(Entity::Mandate(mandate(1, 20)))])
        .expect("first mandate");
    let m = reg
        .apply("ada", vec![Change::Create(Entity::Mandate(mandate(2, 21)))])
        .expect("second mandate");
    assert_eq!(m.opened.len(), 1);
    assert_eq!(m.opened[0].kind, ConflictKind::MandateConflict);
    assert_eq!(m.opened[0].parties, vec![p(1), o(20), o(21)]);
    // A mandate to a producer is refused.
    let e = reg
        .apply("ada", vec![Change::Create(Entity::Mandate(mandate(3, 10)))])
        .expect_err("not a society");
    assert!(
        matches!(&e, Error::Invalid(v) if v.field == "society" && matches!(v.reason, Reason::WrongKind { .. })),
        "{e}"
    );
    let w = reg
        .apply(
            "ada",
            vec![Change::Withdraw(EntityRef::Mandate(MandateId::from_u128(
                2,
            )))],
        )
        .expect("withdraw");
    assert_eq!(w.resolved[0].resolution, Some(Resolution::Withdraw));

    // Society A's repertoire: the fixation, with its whole line-up.
    let rep = reg
        .view()
        .repertoire(OrganisationId::from_u128(20), d("2025-01-01"))
        .expect("repertoire");
    assert_eq!(rep.len(), 1);
    assert_eq!(rep[0].lineup.len(), 2);
    let csv = export::repertoire_csv(&rep);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains(",broadcasting\r\n"), "{csv}");
    assert!(reg
        .view()
        .repertoire(OrganisationId::from_u128(21), d("2025-01-01"))
        .expect("repertoire")
        .is_empty());
    reg.verify().expect("verify");
}

#[test]
fn reference_overlaps_between_registrants_until_a_relation_is_declared() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = open(dir.path());
    seed(&reg);
    reg.apply(
        "bo",
        vec![Change::Create(Entity::Fixation(fixation(
            200,
            p(2),
            60_000,
        )))],
    )
    .expect("second fixation");
    let original = new_recording(7, 60_000);
    let (_, a) = reg
        .attach_media("studio", FixationId::from_u128(100), original.clone())
        .expect("attach");
    assert!(a.opened.is_empty());
    // Bo registers a re-encoded cut of the same media as another fixation.
    let mut copy = new_recording(7, 60_000);
    copy.content = Content::Computed(avreg_fingerprint::ContentHash::of(b"re-encoded"));
    let (_, b) = reg
        .attach_media("bo", FixationId::from_u128(200), copy)
        .expect("attach copy");
    assert_eq!(b.opened.len(), 1);
    assert_eq!(b.opened[0].kind, ConflictKind::ReferenceOverlap);
    assert_eq!(b.opened[0].parties, vec![p(2), o(10)]);
    // The same bytes cannot be the media of two fixations.
    let e = reg
        .attach_media("bo", FixationId::from_u128(100), original)
        .expect_err("twice");
    assert!(matches!(&e, Error::Invalid(v) if v.field == "media"), "{e}");

    let mut clip = fixation(200, p(2), 60_000);
    clip.relations = vec![Relation::EditOf {
        of: FixationId::from_u128(100),
    }];
    let r = reg
        .apply("bo", vec![Change::Amend(Entity::Fixation(clip))])
        .expect("declare relation");
    // One side's word about the other's fixation explains nothing.
    assert!(r.resolved.is_empty(), "{:?}", r.resolved);
    let mut original_fixation = reg
        .view()
        .fixation(FixationId::from_u128(100))
        .expect("read")
        .expect("live");
    original_fixation
        .accepted_relations
        .push(FixationId::from_u128(200));
    let r = reg
        .apply(
            "studio",
            vec![Change::Amend(Entity::Fixation(original_fixation))],
        )
        .expect("accept the relation");
    assert_eq!(r.resolved.len(), 1);
    assert_eq!(
        r.resolved[0].resolution,
        Some(Resolution::DistinguishVersion)
    );
    assert_eq!(r.resolved[0].status, ConflictStatus::Resolved);
    let rec = reg
        .view()
        .media_of(FixationId::from_u128(200))
        .expect("media");
    assert!(rec.is_some());
    reg.verify().expect("verify");
}

#[test]
fn the_ledger_survives_a_reopen_and_lists_by_page() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let reg = open(dir.path());
        seed(&reg);
        let changes = (0..25)
            .map(|i| Change::Create(Entity::Performer(performer(1_000 + i, &format!("P{i}")))))
            .collect();
        reg.apply("x", changes).expect("many");
    }
    let reg = open(dir.path());
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = reg
            .view()
            .list(EntityKind::Performer, after.as_ref(), 10)
            .expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().map(Entity::reference);
        seen.extend(page);
    }
    assert_eq!(seen.len(), 27);
    reg.verify().expect("verify");
    let head = reg.verify_audit(None).expect("audit").expect("head");
    assert_eq!(head.seq, 6 + 25 - 1);
    // Before anything was written, the ledger was empty.
    assert!(reg
        .view_as_of(0)
        .expect("as of")
        .list(EntityKind::Performer, None, 100)
        .expect("list")
        .is_empty());
}

#[test]
fn signed_heads_prove_the_past_across_reopens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (held, key) = {
        let reg = open(dir.path());
        assert!(reg.signed_head().expect("head").is_none(), "empty log");
        seed(&reg);
        let signed = reg.signed_head().expect("head").expect("some");
        signed
            .verify(Some(&reg.audit_public_key()))
            .expect("signature");
        (signed, reg.audit_public_key())
    };
    let reg = open(dir.path());
    assert_eq!(reg.audit_public_key(), key, "the key survives a reopen");
    reg.apply(
        "x",
        vec![Change::Create(Entity::Performer(performer(9, "Later")))],
    )
    .expect("write");
    let now = reg.signed_head().expect("head").expect("some");
    assert_eq!(now.head.seq, held.head.seq + 1);
    // The auditor's old head is still in the log.
    reg.verify_audit(Some(held.head)).expect("old head holds");
    let forged = avreg_registry::domain::audit::Head {
        seq: held.head.seq,
        hash: now.head.hash,
    };
    assert!(reg.verify_audit(Some(forged)).is_err());
}

#[test]
fn csv_exports_neutralise_spreadsheet_formulas() {
    let mut f = fixation(300, p(1), 60_000);
    f.title = "=HYPERLINK(\"http://x\",\"y\")".into();
    let mut cr = credit(300, 300, 1, "+1", &[]);
    cr.credited_as = Some("-2+3".into());
    let rep = vec![avreg_registry::ledger::RepertoireEntry {
        fixation: f,
        mandating: vec![],
        lineup: vec![avreg_registry::ledger::LineupEntry {
            credit: cr,
            performer: Some(performer(1, "@SUM(A1)")),
        }],
    }];
    let csv = export::repertoire_csv(&rep);
    let row = csv.lines().nth(1).expect("one row");
    assert!(
        row.contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","),
        "{csv}"
    );
    assert!(row.contains(",'@SUM(A1),"), "{csv}");
    assert!(row.contains(",'+1,'-2+3,"), "{csv}");
    // The exporter's own values are untouched.
    assert!(row.contains(",2001-05-04,60000,"), "{csv}");
}

/// Issue 12: a society holding the audit log confirmed a guessed legal
/// name offline (the payload hash was blake3 over JSON that included it).
/// The payload now carries only a keyed commitment: neither the write with
/// the right guess nor its public form hashes to what the log holds, and
/// the log still verifies across a reopen.
#[test]
fn the_audit_log_confirms_no_guessed_legal_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ada = performer(1, "Ada");
    let event = {
        let reg = open(dir.path());
        reg.apply("x", vec![Change::Create(Entity::Performer(ada.clone()))])
            .expect("write");
        let log = reg.audit_log(0).expect("log");
        let event = log.last().expect("an event").clone();
        assert_eq!(event.entity, EntityRef::Performer(ada.id).to_string());
        assert_eq!(
            event.version,
            avreg_registry::domain::audit::AUDIT_EVENT_VERSION
        );
        event
    };
    let hash = |bytes: Vec<u8>| *blake3::hash(&bytes).as_bytes();
    let guesses = [
        serde_json::to_vec(&(
            avreg_registry::ledger::Op::Create,
            Entity::Performer(ada.clone()),
        ))
        .expect("json"),
        serde_json::to_vec(&(
            avreg_registry::ledger::Op::Create,
            Entity::Performer(ada.public()),
        ))
        .expect("json"),
    ];
    for guess in guesses {
        assert_ne!(hash(guess), event.payload_hash.0);
    }
    // A second registry (another key) commits the same name differently.
    let other = tempfile::tempdir().expect("temp dir");
    let reg2 = open(other.path());
    reg2.apply("x", vec![Change::Create(Entity::Performer(ada.clone()))])
        .expect("write");
    let e2 = reg2
        .audit_log(0)
        .expect("log")
        .last()
        .cloned()
        .expect("event");
    assert_ne!(e2.payload_hash, event.payload_hash);
    let reg = open(dir.path());
    reg.verify_audit(None).expect("the log verifies");
}
