use proptest::prelude::*;

use super::*;
use crate::domain::ids::PerformerId;
use crate::domain::model::tests::{c, d};
use crate::domain::model::MODEL_VERSION;

fn treaty() -> Treaty {
    Treaty::embedded().unwrap()
}

fn performer(id: u128, nationalities: &[&str], residences: &[&str]) -> Performer {
    Performer {
        version: MODEL_VERSION,
        id: PerformerId::from_u128(id),
        display_name: format!("Performer {id}"),
        pseudonyms: vec![],
        legal_name: None,
        isni: None,
        ipn: None,
        nationalities: nationalities.iter().map(|s| c(s)).collect(),
        residences: residences.iter().map(|s| c(s)).collect(),
        date_of_death: None,
        steward: None,
    }
}

fn ask(
    t: &Treaty,
    p: &[Performer],
    fixed: Option<&str>,
    territory: &str,
    date: &str,
) -> Eligibility {
    let refs: Vec<&Performer> = p.iter().collect();
    t.eligibility(&refs, fixed.map(d), c(territory), d(date))
}

#[test]
fn the_shipped_data_parses_with_every_party_sourced_and_dated_in_order() {
    let t = treaty();
    assert!(!t.data_version().is_empty());
    assert_eq!(t.entry_into_force(), d("2020-04-28"));
    let parties: Vec<&Party> = t.parties().collect();
    // 48 parties by 2025 (WIPO's table); never fewer in a later edition.
    assert!(parties.len() >= 48, "{} parties", parties.len());
    for p in &parties {
        // Country codes are valid ISO 3166-1 alpha-2 by construction.
        assert!(ISO_CODES.contains(&p.code.as_str()), "{}", p.code);
        assert!(!p.source.trim().is_empty(), "{}", p.code);
        if let Some(s) = p.signature {
            assert!(s <= p.deposit, "{}", p.code);
        }
        assert!(p.deposit <= p.in_force, "{}", p.code);
        assert!(p.in_force >= t.entry_into_force(), "{}", p.code);
    }
    // The European Union signed and has not (yet) deposited an instrument.
    assert!(t.signatories().iter().any(|s| s.code == "EU"));
    for s in t.signatories() {
        assert!(
            s.code == "EU" || ISO_CODES.contains(&s.code.as_str()),
            "{}",
            s.code
        );
    }
}

use crate::domain::territory::ISO_3166_1_ALPHA_2 as ISO_CODES;

#[test]
fn kenya_is_bound_from_the_treatys_entry_into_force() {
    let t = treaty();
    let kenyan = [performer(1, &["KE"], &[])];
    let before = ask(&t, &kenyan, Some("2019-05-01"), "KE", "2020-03-01");
    assert_eq!(before.status, Applicability::NotApplicable);
    assert!(!before.territory_bound);
    assert!(
        before.reasons[0].contains("2020-04-28"),
        "{:?}",
        before.reasons
    );
    assert_eq!(before.broadcasting.treatment, Art11Treatment::NotGranted);
    let after = ask(&t, &kenyan, Some("2019-05-01"), "KE", "2020-04-28");
    assert_eq!(after.status, Applicability::Applies, "{after:?}");
    assert_eq!(after.in_force, Some(d("2020-04-28")));
    assert_eq!(after.performers[0].basis, Some(Basis::Nationality));
    // Fixed before the entry into force: Art. 19(1) covers it.
    assert_eq!(after.in_time, Some(true));
    // Kenya's Art. 11 declarations are not in the data: said so.
    assert_eq!(after.broadcasting.treatment, Art11Treatment::Unknown);
}

#[test]
fn china_is_not_bound_by_article_11_and_excluded_hong_kong() {
    let t = treaty();
    let p = [performer(1, &["CN"], &[])];
    let cn = ask(&t, &p, Some("2021-01-01"), "CN", "2024-01-01");
    assert_eq!(cn.status, Applicability::Applies);
    assert_eq!(cn.broadcasting.treatment, Art11Treatment::NotGranted);
    assert!(cn.broadcasting.rule.contains("11(3)"));
    assert!(cn.broadcasting.detail.is_some());
    let hk = ask(&t, &p, Some("2021-01-01"), "HK", "2024-01-01");
    assert_eq!(hk.status, Applicability::NotApplicable);
    assert!(
        hk.reasons[0].contains("territorial declaration"),
        "{:?}",
        hk.reasons
    );
    // A resident of Hong Kong only is not connected to a party.
    let hk_resident = [performer(2, &[], &["HK"])];
    let cn2 = ask(&t, &hk_resident, Some("2021-01-01"), "CN", "2024-01-01");
    assert_eq!(cn2.status, Applicability::NotApplicable);
    assert_eq!(cn2.performers[0].eligible, Some(false));
}

#[test]
fn remuneration_declarations_shape_broadcasting() {
    let t = treaty();
    let p = [performer(1, &["JP"], &[])];
    for territory in ["JP", "CH"] {
        let e = ask(&t, &p, Some("2021-01-01"), territory, "2024-01-01");
        assert_eq!(e.status, Applicability::Applies, "{territory}");
        assert_eq!(
            e.broadcasting.treatment,
            Art11Treatment::Remuneration,
            "{territory}"
        );
    }
}

#[test]
fn a_territory_that_is_not_a_party_gets_nothing_from_the_treaty() {
    let t = treaty();
    let p = [performer(1, &["US"], &["US"])];
    let us = ask(&t, &p, Some("2021-01-01"), "US", "2024-01-01");
    assert_eq!(us.status, Applicability::NotApplicable);
    assert!(
        us.reasons[0].contains("not a Contracting Party"),
        "{:?}",
        us.reasons
    );
    assert!(us.reasons[0].contains("signed"), "{:?}", us.reasons);
    // A US national performing is not eligible in Kenya either, unless
    // resident in a party.
    let ke = ask(&t, &p, Some("2021-01-01"), "KE", "2024-01-01");
    assert_eq!(ke.status, Applicability::NotApplicable);
    let resident = [performer(2, &["US"], &["JP"])];
    let ke = ask(&t, &resident, Some("2021-01-01"), "KE", "2024-01-01");
    assert_eq!(ke.status, Applicability::Applies);
    assert_eq!(ke.performers[0].basis, Some(Basis::HabitualResidence));
}

#[test]
fn missing_facts_make_the_answer_unknown_and_say_what_is_missing() {
    let t = treaty();
    let nobody = ask(&t, &[], Some("2021-01-01"), "KE", "2024-01-01");
    assert_eq!(nobody.status, Applicability::Unknown);
    assert!(nobody.missing[0].contains("no credited performer"));
    let blank = [performer(7, &[], &[])];
    let e = ask(&t, &blank, Some("2021-01-01"), "KE", "2024-01-01");
    assert_eq!(e.status, Applicability::Unknown);
    assert_eq!(e.performers[0].eligible, None);
    assert!(e.missing[0].contains("neither nationality nor habitual residence"));
    // One eligible performer is enough, whatever the others' facts.
    let mixed = [performer(7, &[], &[]), performer(8, &["KE"], &[])];
    let e = ask(&t, &mixed, Some("2021-01-01"), "KE", "2024-01-01");
    assert_eq!(e.status, Applicability::Applies);
}

/// A small dataset with every kind of declaration, for the rules the
/// shipped data does not exercise (no party made an Art. 19(2) declaration).
const SYNTHETIC: &str = r#"
format_version = 1
data_version = "test-1"
treaty = "BTAP"
adopted = "2012-06-24"
entry_into_force = "2020-04-28"
source = "test"

[[party]]
code = "FR"
name = "Early"
signature = "2012-06-26"
instrument = "ratification"
deposit = "2014-01-01"
in_force = "2020-04-28"
art11 = "exclusive"
territories_excluded = []
pre_existing_fixations = "applies"
source = "test"

[[party]]
code = "DE"
name = "Late, with Art. 19(2)"
instrument = "accession"
deposit = "2022-01-10"
in_force = "2022-04-10"
art11 = "limited"
territories_excluded = ["AT"]
pre_existing_fixations = "arts_7_11_not_applied"
source = "test"

[[signatory]]
code = "BE"
name = "Signed only"
signature = "2013-01-01"
source = "test"
"#;

#[test]
fn an_article_19_2_declaration_excludes_older_fixations() {
    let t = Treaty::from_toml_str(SYNTHETIC).unwrap();
    let p = [performer(1, &["FR"], &[])];
    let old = ask(&t, &p, Some("2021-01-01"), "DE", "2023-01-01");
    assert_eq!(old.status, Applicability::NotApplicable);
    assert_eq!(old.in_time, Some(false));
    let new = ask(&t, &p, Some("2022-05-01"), "DE", "2023-01-01");
    assert_eq!(new.status, Applicability::Applies);
    assert_eq!(new.broadcasting.treatment, Art11Treatment::Limited);
    let undated = ask(&t, &p, None, "DE", "2023-01-01");
    assert_eq!(undated.status, Applicability::Unknown);
    assert!(undated.missing.iter().any(|m| m.contains("fixation date")));
    // A declaration withholding only some rights: which ones is in its
    // wording, not in a status.
    let some = Treaty::from_toml_str(&SYNTHETIC.replace(
        "\"arts_7_11_not_applied\"",
        "\"some_not_applied\"\npre_existing_detail = \"Art. 11 only\"",
    ))
    .unwrap();
    let e = ask(&some, &p, Some("2021-01-01"), "DE", "2023-01-01");
    assert_eq!(e.status, Applicability::Unknown);
    assert!(
        e.missing.iter().any(|m| m.contains("Art. 11 only")),
        "{e:?}"
    );
    let excluded = ask(&t, &p, Some("2022-05-01"), "AT", "2023-01-01");
    assert_eq!(excluded.status, Applicability::NotApplicable);
}

#[test]
fn malformed_data_is_refused_with_the_field() {
    let cases = [
        (
            SYNTHETIC.replace("in_force = \"2022-04-10\"", "in_force = \"2021-04-10\""),
            "in_force",
        ),
        (
            SYNTHETIC.replace("signature = \"2012-06-26\"\n", ""),
            "signature",
        ),
        (SYNTHETIC.replace("code = \"BE\"", "code = \"ZZ\""), "code"),
        (SYNTHETIC.replace("code = \"DE\"", "code = \"FR\""), "twice"),
        (
            SYNTHETIC.replace("format_version = 1", "format_version = 2"),
            "format_version",
        ),
        (
            SYNTHETIC.replace(
                "source = \"test\"\n\n[[party]]",
                "source = \" \"\n\n[[party]]",
            ),
            "source",
        ),
    ];
    for (text, want) in cases {
        let e = Treaty::from_toml_str(&text).unwrap_err().to_string();
        assert!(e.contains(want), "{want}: {e}");
    }
    assert!(Treaty::from_toml_str(&SYNTHETIC.replace("code = \"FR\"", "code = \"XQ\"")).is_err());
}

#[test]
fn the_jurisdictions_party_flags_agree_with_the_treaty_data() {
    let t = treaty();
    let rules = crate::domain::rules::Jurisdictions::embedded().unwrap();
    for j in rules.all() {
        let Some(party) = j.party else { continue };
        for &territory in &j.territories {
            assert_eq!(
                t.party(territory).is_some(),
                party,
                "{} says party = {party} for {territory}",
                j.id
            );
        }
    }
}

fn date_between(from: i32, to: i32) -> impl Strategy<Value = Date> {
    (from..=to, 1u8..=12, 1u8..=28).prop_map(|(y, m, day)| Date::new(y, m, day).unwrap())
}

proptest! {
    #[test]
    fn a_party_is_bound_exactly_from_its_entry_into_force(
        pick in 0usize..48,
        date in date_between(2012, 2030),
        nationality in 0usize..48,
        fixed in proptest::option::of(date_between(1990, 2030)),
    ) {
        let t = treaty();
        let parties: Vec<&Party> = t.parties().collect();
        let territory = parties[pick % parties.len()];
        let home = parties[nationality % parties.len()];
        let p = [performer(1, &[home.code.as_str()], &[])];
        let refs: Vec<&Performer> = p.iter().collect();
        let e = t.eligibility(&refs, fixed, territory.code, date);
        prop_assert_eq!(e.territory_bound, date >= territory.in_force);
        let eligible = date >= home.in_force;
        let want = if date < territory.in_force || !eligible {
            Applicability::NotApplicable
        } else {
            Applicability::Applies
        };
        prop_assert_eq!(e.status, want);
        prop_assert_eq!(e.performers[0].eligible, Some(eligible));
        if e.status != Applicability::Applies {
            prop_assert_eq!(e.broadcasting.treatment, Art11Treatment::NotGranted);
        }
        prop_assert!(!e.reasons.is_empty() && !e.rules.is_empty());
    }

    #[test]
    fn missing_facts_never_yield_a_sure_answer_unless_someone_is_eligible(
        date in date_between(2020, 2030),
        fixed in proptest::option::of(date_between(2000, 2030)),
        known in any::<bool>(),
        territory in prop::sample::select(vec!["FR", "DE", "AT", "BE", "ES"]),
    ) {
        let t = Treaty::from_toml_str(SYNTHETIC).unwrap();
        let mut p = vec![performer(1, &[], &[])];
        if known {
            p.push(performer(2, &["FR"], &[]));
        }
        let e = ask_owned(&t, &p, fixed, territory, date);
        let bound = match territory {
            "FR" => date >= d("2020-04-28"),
            "DE" => date >= d("2022-04-10"),
            _ => false,
        };
        prop_assert_eq!(e.territory_bound, bound);
        if !bound {
            prop_assert_eq!(e.status, Applicability::NotApplicable);
        } else if territory == "DE" && fixed.is_some_and(|f| f < d("2022-04-10")) {
            prop_assert_eq!(e.status, Applicability::NotApplicable);
            prop_assert_eq!(e.in_time, Some(false));
        } else if territory == "DE" && fixed.is_none() {
            prop_assert_eq!(e.status, Applicability::Unknown);
        } else if known {
            prop_assert_eq!(e.status, Applicability::Applies);
        } else {
            prop_assert_eq!(e.status, Applicability::Unknown);
            prop_assert!(!e.missing.is_empty());
        }
    }
}

fn ask_owned(
    t: &Treaty,
    p: &[Performer],
    fixed: Option<Date>,
    territory: &str,
    date: Date,
) -> Eligibility {
    let refs: Vec<&Performer> = p.iter().collect();
    t.eligibility(&refs, fixed, c(territory), date)
}
