//! The headline query (DOMAIN.md, "The lookup answer"): for a match, the
//! fixation whose media matched, the performers whose credit segments
//! overlap the matched span in the reference, the holders of each right in
//! a territory on a date, and the term there with the rule that produced
//! it. Both edges (the CLI's `avreg lookup` and `POST /v1/lookup`) answer
//! with it.

use avreg_fingerprint::audio::AudioFingerprint;
use avreg_fingerprint::video::VideoFingerprint;
use serde::Serialize;

use super::view::{RightHoldersOwned, TermLine, View};
use crate::domain::date::Date;
use crate::domain::ids::{Eidr, FixationId, Isan, Isrc, PerformerId};
use crate::domain::model::Credit;
use crate::domain::territory::Country;
use crate::domain::treaty::Eligibility;
use crate::error::Result;
use crate::model::LookupMatch;
use crate::Registry;

/// Where and when a lookup asks about rights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RightsQuery {
    /// The territory; without one, holders and term are not computed.
    pub territory: Option<Country>,
    /// The date the rights are asked for.
    pub date: Date,
}

/// The fixation of a matched recording, with who is on screen in the
/// matched span and who holds what.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchRights {
    /// The fixation's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: FixationId,
    /// Its title.
    pub title: String,
    /// Its identifiers, when it has them.
    pub identifiers: Identifiers,
    /// The performers whose credit segments overlap the matched span in the
    /// reference: role, character, credited-as, the performer's public
    /// details (never the legal name), and how much of the span they cover.
    pub performers: Vec<OnScreen>,
    /// The territory the rights are given for (ISO 3166-1 alpha-2).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "DE"))]
    pub territory: Option<Country>,
    /// The date asked (ISO 8601).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: Date,
    /// Holders of each right in the territory on the date (absent without a
    /// territory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rights: Option<Vec<RightHoldersOwned>>,
    /// The term in the territory with the rule that produced it (absent
    /// without a territory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<TermLine>,
    /// Whether the Beijing Treaty applies to the performances in the
    /// territory on the date, why, and what shapes the broadcasting right
    /// there (absent without a territory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<Eligibility>,
}

/// A fixation's standard identifiers; absent ones are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identifiers {
    /// ISAN, `0000-0000-D07A-0090-Q-0000-0000-X`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub isan: Option<Isan>,
    /// EIDR DOI, `10.5240/7EC7-228A-510A-053E-CBB8-J`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub eidr: Option<Eidr>,
    /// ISRC, `USSKG1912345`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub isrc: Option<Isrc>,
}

/// A performer in the matched span.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OnScreen {
    /// The performer's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub performer_id: PerformerId,
    /// Display name (public).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The credit: role, character, credited-as, segments, featured.
    pub credit: Credit,
    /// Milliseconds of the matched span covered.
    pub covered_ms: u64,
    /// `covered_ms` over the span's length.
    pub fraction: f64,
}

impl View<'_> {
    /// The ledger's answer for one match, if its recording is a fixation's
    /// media.
    pub fn match_rights(&self, m: &LookupMatch, q: &RightsQuery) -> Result<Option<MatchRights>> {
        let Some(f) = self.fixation_of_recording(m.recording.id)? else {
            return Ok(None);
        };
        let end = m.ref_start_ms.saturating_add(m.ref_duration_ms.max(1));
        let performers = self
            .performers_between(f.id, m.ref_start_ms, end)?
            .into_iter()
            .map(|o| OnScreen {
                performer_id: o.credit.performer,
                display_name: o.performer.map(|p| p.display_name),
                credit: o.credit,
                covered_ms: o.covered_ms,
                fraction: o.fraction,
            })
            .collect();
        let (rights, term, eligibility) = match q.territory {
            Some(t) => (
                Some(self.holders(f.id, t, q.date)?),
                Some(self.term(&f, t, q.date)),
                Some(self.eligibility(&f, t, q.date)?),
            ),
            None => (None, None, None),
        };
        Ok(Some(MatchRights {
            id: f.id,
            identifiers: Identifiers {
                isan: f.isan,
                eidr: f.eidr,
                isrc: f.isrc,
            },
            title: f.title,
            performers,
            territory: q.territory,
            date: q.date,
            rights,
            term,
            eligibility,
        }))
    }
}

/// A match with the ledger's answer for it.
#[derive(Clone, Debug, PartialEq)]
pub struct Identification {
    /// The match.
    pub matched: LookupMatch,
    /// The fixation whose media matched, with performers, holders and
    /// term; `None` when the recording is no fixation's media.
    pub fixation: Option<MatchRights>,
}

impl Registry {
    /// The headline query: identifies a query (its sound when it has any,
    /// its picture when it has one) and, for each match, says who performs
    /// in the matched span and who holds which right where and when
    /// `rights` asks. Matches best first.
    pub fn identify(
        &self,
        audio: Option<&AudioFingerprint>,
        video: Option<&VideoFingerprint>,
        rights: &RightsQuery,
    ) -> Result<Vec<Identification>> {
        let matches = self.lookup_media(audio, video)?;
        let view = self.view();
        matches
            .into_iter()
            .map(|m| {
                Ok(Identification {
                    fixation: view.match_rights(&m, rights)?,
                    matched: m,
                })
            })
            .collect()
    }
}
