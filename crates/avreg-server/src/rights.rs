//! What the ledger adds to a lookup match (DOMAIN.md, "The lookup
//! answer"): the fixation whose media matched, the performers whose credit
//! segments overlap the matched reference span, the holders of each right
//! in the requested territory on the requested date, and the term there
//! with the rule that produced it.

use avreg_registry::domain::date::Date;
use avreg_registry::domain::territory::Country;
use avreg_registry::ledger::View;
use avreg_registry::LookupMatch;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// Where and when a lookup asks about rights.
#[derive(Clone, Copy, Debug)]
pub struct RightsQuery {
    /// The territory; without one, holders and term are not computed.
    pub territory: Option<Country>,
    /// The date (today by default).
    pub date: Date,
}

impl RightsQuery {
    /// Parses the optional `territory` and `date` fields.
    pub fn parse(territory: Option<&str>, date: Option<&str>) -> Result<Self, ApiError> {
        let territory = match territory.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => Some(
                t.parse::<Country>()
                    .map_err(|e| ApiError::invalid(format!("territory: {e}")).field("territory"))?,
            ),
            None => None,
        };
        let date = match date.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => d
                .parse::<Date>()
                .map_err(|e| ApiError::invalid(format!("date: {e}")).field("date"))?,
            None => avreg_registry::ledger::today(),
        };
        Ok(Self { territory, date })
    }
}

/// The fixation of a matched recording, with who is on screen in the
/// matched span and who holds what.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MatchRights {
    /// The fixation's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its identifiers (`isan`, `eidr`, `isrc`), when it has them.
    #[schema(value_type = Object)]
    pub identifiers: serde_json::Value,
    /// The performers whose credit segments overlap the matched span in the
    /// reference: role, character, credited-as, the performer's public
    /// details (never the legal name), and how much of the span they cover.
    pub performers: Vec<OnScreenJson>,
    /// The territory and date the rights are given for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub territory: Option<String>,
    /// The date asked (ISO 8601).
    pub date: String,
    /// Holders of each right in the territory on the date (absent without a
    /// territory).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub rights: Option<serde_json::Value>,
    /// The term in the territory with the rule that produced it (absent
    /// without a territory).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub term: Option<serde_json::Value>,
}

/// A performer in the matched span.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OnScreenJson {
    /// The performer's id.
    pub performer_id: String,
    /// Display name (public).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The credit: role, character, credited-as, segments, featured.
    #[schema(value_type = Object)]
    pub credit: serde_json::Value,
    /// Milliseconds of the matched span covered.
    pub covered_ms: u64,
    /// `covered_ms` over the span's length.
    pub fraction: f64,
}

fn json<T: Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::internal(&e))
}

/// The ledger's answer for one match, if its recording is a fixation's
/// media.
pub fn for_match(
    view: &View<'_>,
    m: &LookupMatch,
    q: &RightsQuery,
) -> Result<Option<MatchRights>, ApiError> {
    let Some(f) = view.fixation_of_recording(m.recording.id)? else {
        return Ok(None);
    };
    let end = m.ref_start_ms.saturating_add(m.ref_duration_ms.max(1));
    let performers = view
        .performers_between(f.id, m.ref_start_ms, end)?
        .into_iter()
        .map(|o| {
            Ok(OnScreenJson {
                performer_id: o.credit.performer.to_string(),
                display_name: o.performer.as_ref().map(|p| p.display_name.clone()),
                credit: json(&o.credit)?,
                covered_ms: o.covered_ms,
                fraction: o.fraction,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let mut identifiers = serde_json::Map::new();
    if let Some(i) = &f.isan {
        identifiers.insert("isan".into(), i.to_string().into());
    }
    if let Some(i) = &f.eidr {
        identifiers.insert("eidr".into(), i.to_string().into());
    }
    if let Some(i) = &f.isrc {
        identifiers.insert("isrc".into(), i.to_string().into());
    }
    let (rights, term) = match q.territory {
        Some(t) => (
            Some(json(&view.holders(f.id, t, q.date)?)?),
            Some(json(&view.term(&f, t, q.date))?),
        ),
        None => (None, None),
    };
    Ok(Some(MatchRights {
        id: f.id.to_string(),
        title: f.title.clone(),
        identifiers: identifiers.into(),
        performers,
        territory: q.territory.map(|t| t.to_string()),
        date: q.date.to_string(),
        rights,
        term,
    }))
}
