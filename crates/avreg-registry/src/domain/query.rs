//! The domain's read-side questions, as pure functions over in-memory
//! slices: who performs in a span of a fixation, and who holds each right
//! in a territory on a date. Withdrawn claims are ignored.

use std::collections::BTreeMap;

use super::date::Date;
use super::ids::FixationId;
use super::model::{
    Credit, Fixation, Holding, Nature, Reason, RightKind, Segment, Status, ValidationError,
};
use super::territory::Country;

/// A credit whose segments overlap the span asked about.
#[derive(Clone, Debug, PartialEq)]
pub struct OnScreen<'a> {
    /// The credit (role, character, credited-as, performer).
    pub credit: &'a Credit,
    /// Milliseconds of the span the performer covers.
    pub covered_ms: u64,
    /// `covered_ms` over the span's length, in 0..=1.
    pub fraction: f64,
}

/// The measure of the union of `segments` inside `[start, end)`.
fn covered(segments: &[Segment], start: u64, end: u64) -> u64 {
    let mut clipped: Vec<(u64, u64)> = segments
        .iter()
        .map(|s| (s.start_ms.max(start), s.end_ms.min(end)))
        .filter(|(a, b)| a < b)
        .collect();
    clipped.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(u64, u64)> = None;
    for (a, b) in clipped {
        match cur {
            Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                cur = Some((a, b));
            }
            None => cur = Some((a, b)),
        }
    }
    total + cur.map_or(0, |(a, b)| b - a)
}

/// The performers of `fixation` between `start_ms` and `end_ms` (half
/// open): each credit whose segments overlap the span (an empty segment
/// list is the whole fixation), with how much of the span it covers; most
/// covered first, then by credit id. The span must not be empty.
pub fn performers_between<'a>(
    fixation: &Fixation,
    credits: &'a [Credit],
    start_ms: u64,
    end_ms: u64,
) -> Result<Vec<OnScreen<'a>>, ValidationError> {
    if end_ms <= start_ms {
        return Err(ValidationError::new(
            "end_ms",
            Reason::EndNotAfterStart {
                start: format!("{start_ms} ms"),
                end: format!("{end_ms} ms"),
            },
        ));
    }
    let span = end_ms - start_ms;
    let mut out: Vec<OnScreen<'a>> = credits
        .iter()
        .filter(|c| c.fixation == fixation.id && c.status != Status::Withdrawn)
        .filter_map(|credit| {
            let segments = credit.effective_segments(fixation.duration_ms);
            let covered_ms = covered(&segments, start_ms, end_ms);
            (covered_ms > 0).then(|| OnScreen {
                credit,
                covered_ms,
                fraction: covered_ms as f64 / span as f64,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.covered_ms
            .cmp(&a.covered_ms)
            .then(a.credit.id.cmp(&b.credit.id))
    });
    Ok(out)
}

/// The holders of one right in a territory on a date.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RightHolders<'a> {
    /// Exclusive holdings in force.
    pub exclusive: Vec<&'a Holding>,
    /// Remuneration entitlements in force.
    pub remuneration: Vec<&'a Holding>,
    /// Sum of the exclusive shares, ppm (over 1 000 000 means an
    /// overclaim).
    pub exclusive_ppm: u64,
}

/// For each right kind with at least one holding of `fixation` in force in
/// `country` on `date`, who holds it.
pub fn holders_on<'a>(
    holdings: &'a [Holding],
    fixation: FixationId,
    country: Country,
    date: Date,
) -> BTreeMap<RightKind, RightHolders<'a>> {
    let mut out: BTreeMap<RightKind, RightHolders<'a>> = BTreeMap::new();
    for h in holdings
        .iter()
        .filter(|h| h.fixation == fixation && h.applies(country, date))
    {
        let entry = out.entry(h.right).or_default();
        match h.nature {
            Nature::Exclusive => {
                entry.exclusive.push(h);
                entry.exclusive_ppm += u64::from(h.share_ppm);
            }
            Nature::Remuneration => entry.remuneration.push(h),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;
    use crate::domain::date::Period;
    use crate::domain::ids::{HoldingId, PerformerId};
    use crate::domain::model::tests::{c, credit, d, fixation};
    use crate::domain::model::{Basis, Party, MODEL_VERSION};
    use crate::domain::territory::Territories;
    use proptest::prelude::*;

    #[test]
    fn who_performs() {
        let f = fixation(1, 10_000);
        let credits = [
            credit(1, 1, 10, &[(0, 2_000), (1_000, 3_000)]),
            credit(2, 1, 11, &[]),
            credit(3, 1, 12, &[(5_000, 6_000)]),
            credit(4, 2, 13, &[]),
        ];
        let on = performers_between(&f, &credits, 2_000, 4_000).unwrap();
        assert_eq!(on.len(), 2);
        assert_eq!(on[0].credit.id, credits[1].id);
        assert_eq!(on[0].fraction, 1.0);
        assert_eq!(on[1].covered_ms, 1_000);
        assert_eq!(on[1].fraction, 0.5);
        let e = performers_between(&f, &credits, 4_000, 4_000).unwrap_err();
        assert_eq!(e.field, "end_ms");
    }

    #[test]
    fn holders() {
        let h = |id: u128, right, nature, t: Territories, share| Holding {
            version: MODEL_VERSION,
            id: HoldingId::from_u128(id),
            holder: Party::Performer(PerformerId::from_u128(id)),
            fixation: FixationId::from_u128(1),
            right,
            nature,
            territories: t,
            period: Period::between(d("2020-01-01"), d("2030-12-31")),
            share_ppm: share,
            basis: Basis::Original,
            agreement: None,
            status: Status::Asserted,
            third_party: None,
        };
        let hs = [
            h(
                1,
                RightKind::Broadcasting,
                Nature::Remuneration,
                Territories::only([c("CH")]),
                1_000_000,
            ),
            h(
                2,
                RightKind::MakingAvailable,
                Nature::Exclusive,
                Territories::worldwide(),
                600_000,
            ),
            h(
                3,
                RightKind::MakingAvailable,
                Nature::Exclusive,
                Territories::only([c("CH")]),
                400_000,
            ),
        ];
        let ch = holders_on(&hs, FixationId::from_u128(1), c("CH"), d("2025-06-01"));
        assert_eq!(ch.len(), 2);
        assert_eq!(ch[&RightKind::MakingAvailable].exclusive_ppm, 1_000_000);
        assert_eq!(ch[&RightKind::Broadcasting].remuneration.len(), 1);
        let de = holders_on(&hs, FixationId::from_u128(1), c("DE"), d("2025-06-01"));
        assert_eq!(de.len(), 1);
        assert!(holders_on(&hs, FixationId::from_u128(1), c("CH"), d("2031-01-01")).is_empty());
    }

    fn arb_credits() -> impl Strategy<Value = Vec<Credit>> {
        let segs = proptest::collection::vec((0u64..200, 1u64..80), 0..4);
        proptest::collection::vec(segs, 0..5).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, segs)| {
                    let segs: Vec<(u64, u64)> = segs
                        .into_iter()
                        .map(|(s, l)| (s, (s + l).min(200)))
                        .filter(|(s, e)| s < e)
                        .collect();
                    credit(i as u128 + 1, 1, i as u128 + 1, &segs)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn span_query_matches_brute_force(credits in arb_credits(), start in 0u64..200, len in 1u64..120) {
            let f = fixation(1, 200);
            let end = start + len;
            let got = performers_between(&f, &credits, start, end).unwrap();
            for cr in &credits {
                let segs = cr.effective_segments(200);
                let brute = (start..end)
                    .filter(|&ms| segs.iter().any(|s| s.start_ms <= ms && ms < s.end_ms))
                    .count() as u64;
                let found = got.iter().find(|o| o.credit.id == cr.id);
                match found {
                    Some(o) => {
                        prop_assert_eq!(o.covered_ms, brute);
                        prop_assert!((o.fraction - brute as f64 / len as f64).abs() < 1e-12);
                    }
                    None => prop_assert_eq!(brute, 0),
                }
            }
            prop_assert!(got.windows(2).all(|w| w[0].covered_ms >= w[1].covered_ms));
        }
    }
}
