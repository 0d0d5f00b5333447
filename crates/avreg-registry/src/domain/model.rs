//! The entities of the registry's domain (DOMAIN.md, "Entities"):
//! performers, organisations, fixations, credits, moral rights, holdings,
//! agreements, mandates and conflicts, with the validation rules that every
//! write must pass.
//!
//! Everything here is plain data and pure functions; "now" is always a
//! `today` parameter. Exchanged entities carry a `version` (see
//! [`MODEL_VERSION`]).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::date::{Date, Period};
use super::ids::{
    AgreementId, ConflictId, CreditId, Eidr, FixationId, HoldingId, Isan, Isni, Isrc, MandateId,
    OrganisationId, PerformerId,
};
use super::territory::{Country, Territories};

/// The version of the exchanged form of the entities of this module.
pub const MODEL_VERSION: u32 = 1;

/// One whole, in parts per million: the most a share can be.
pub const WHOLE_PPM: u32 = 1_000_000;

/// Why a value fails validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// A required text is empty.
    #[error("must not be empty")]
    Empty,
    /// A date lies after today where it cannot.
    #[error("{date} is in the future (today is {today})")]
    InFuture {
        /// The date given.
        date: Date,
        /// Today.
        today: Date,
    },
    /// A date lies before another it cannot precede.
    #[error("{date} is before {other_field} ({other})")]
    Before {
        /// The date given.
        date: Date,
        /// The field it must not precede.
        other_field: &'static str,
        /// That field's value.
        other: Date,
    },
    /// A period or segment ends before (or when) it starts.
    #[error("ends at {end}, not after its start {start}")]
    EndNotAfterStart {
        /// Start, as shown.
        start: String,
        /// End, as shown.
        end: String,
    },
    /// A time segment reaches beyond the fixation.
    #[error("ends at {end_ms} ms, after the end of the fixation ({duration_ms} ms)")]
    OutsideFixation {
        /// End of the segment.
        end_ms: u64,
        /// Duration of the fixation.
        duration_ms: u64,
    },
    /// A share above one whole.
    #[error("{ppm} ppm is more than 100% ({WHOLE_PPM} ppm)")]
    ShareTooLarge {
        /// The share given.
        ppm: u32,
    },
    /// A zero share or duration where a positive one is needed.
    #[error("must be greater than zero")]
    Zero,
    /// A territory set that covers no country.
    #[error("covers no country")]
    NoTerritory,
    /// A country code outside ISO 3166-1 alpha-2.
    #[error("{0:?} is not an ISO 3166-1 alpha-2 country code")]
    UnknownCountry(String),
    /// An entity refers to itself.
    #[error("refers to the entity itself")]
    SelfReference,
    /// A reference to the wrong entity.
    #[error("refers to {found}, expected {expected}")]
    Mismatch {
        /// The id expected.
        expected: String,
        /// The id given.
        found: String,
    },
    /// A version newer than this build reads.
    #[error("version {found} is newer than this build reads ({MODEL_VERSION})")]
    Version {
        /// The version given.
        found: u32,
    },
    /// Fewer parties than the entity needs.
    #[error("needs at least {0} parties")]
    TooFewParties(usize),
    /// A reference to an entity the registry does not hold.
    #[error("refers to {0}, which is not registered")]
    Unknown(String),
    /// A reference to a withdrawn entity.
    #[error("refers to {0}, which is withdrawn")]
    Withdrawn(String),
    /// A reference to an entity of the wrong kind.
    #[error("refers to {found}, which is not {expected}")]
    WrongKind {
        /// What it must be.
        expected: &'static str,
        /// What it refers to.
        found: String,
    },
    /// A field that an amendment cannot change.
    #[error("cannot be changed by an amendment (was {was})")]
    Immutable {
        /// The value it had.
        was: String,
    },
    /// An identifier already registered to another entity.
    #[error("{value} is already registered to {existing}")]
    Duplicate {
        /// The identifier.
        value: String,
        /// The entity holding it.
        existing: String,
    },
    /// An entity created twice, or amended before it exists.
    #[error("{0}")]
    Existence(String),
    /// A conflict cannot close while its cause remains.
    #[error("its cause remains: {0}")]
    CauseRemains(String),
}

/// A validation failure: the field (a path such as `segments[2].end_ms`)
/// and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// The offending field.
    pub field: String,
    /// Why it is refused.
    pub reason: Reason,
}

impl ValidationError {
    /// A failure of `field` for `reason`.
    pub fn new(field: impl Into<String>, reason: Reason) -> Self {
        Self {
            field: field.into(),
            reason,
        }
    }
}

fn fail<T>(field: impl Into<String>, reason: Reason) -> Result<T, ValidationError> {
    Err(ValidationError::new(field, reason))
}

fn check_version(version: u32) -> Result<(), ValidationError> {
    if version > MODEL_VERSION {
        return fail("version", Reason::Version { found: version });
    }
    Ok(())
}

fn check_not_empty(field: &str, text: &str) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return fail(field, Reason::Empty);
    }
    Ok(())
}

/// A date that must not lie after `today`.
pub fn check_not_future(field: &str, date: Date, today: Date) -> Result<(), ValidationError> {
    if date > today {
        return fail(field, Reason::InFuture { date, today });
    }
    Ok(())
}

fn check_period(field: &str, period: &Period) -> Result<(), ValidationError> {
    if !period.is_valid() {
        return fail(
            field,
            Reason::EndNotAfterStart {
                start: period.start.to_string(),
                end: period.end.map(|e| e.to_string()).unwrap_or_default(),
            },
        );
    }
    Ok(())
}

fn check_territories(field: &str, territories: &Territories) -> Result<(), ValidationError> {
    if territories.is_empty() {
        return fail(field, Reason::NoTerritory);
    }
    Ok(())
}

/// Parses country codes given as text into a territory list, naming the
/// first unknown one (`field[i]`).
pub fn parse_countries(field: &str, codes: &[&str]) -> Result<BTreeSet<Country>, ValidationError> {
    codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            code.parse::<Country>().map_err(|_| {
                ValidationError::new(
                    format!("{field}[{i}]"),
                    Reason::UnknownCountry((*code).to_owned()),
                )
            })
        })
        .collect()
}

/// Checks a share in parts per million: at most one whole, and not zero.
pub fn check_share(field: &str, ppm: u32) -> Result<(), ValidationError> {
    if ppm > WHOLE_PPM {
        return fail(field, Reason::ShareTooLarge { ppm });
    }
    if ppm == 0 {
        return fail(field, Reason::Zero);
    }
    Ok(())
}

/// Who acts in the registry: a performer or an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Party {
    /// A performer.
    Performer(PerformerId),
    /// An organisation.
    Organisation(OrganisationId),
}

/// A performer (BTAP Art. 2): actor, singer, musician, dancer, stunt or
/// voice performer, ...
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Performer {
    /// Version of this form ([`MODEL_VERSION`]).
    pub version: u32,
    /// Registry id.
    pub id: PerformerId,
    /// The name to show.
    pub display_name: String,
    /// Other names performed under.
    #[serde(default)]
    pub pseudonyms: Vec<String>,
    /// The legal name. Private: [`Performer::public`] removes it, and no
    /// export may include it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<String>,
    /// ISNI, validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isni: Option<Isni>,
    /// International Performer Number, opaque (no public check algorithm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipn: Option<String>,
    /// Nationalities (BTAP Art. 3 eligibility).
    #[serde(default)]
    pub nationalities: BTreeSet<Country>,
    /// Habitual residences (BTAP Art. 3 eligibility).
    #[serde(default)]
    pub residences: BTreeSet<Country>,
    /// Date of death, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_death: Option<Date>,
    /// The producer that created this record for its cast and may amend it
    /// until the performer takes it over (the performer's first write of
    /// it clears this). Set by the registry from the writing key, never by
    /// a client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steward: Option<Party>,
}

impl Performer {
    /// A performer known by `display_name` only.
    pub fn named(id: PerformerId, display_name: impl Into<String>) -> Performer {
        Performer {
            version: MODEL_VERSION,
            id,
            display_name: display_name.into(),
            pseudonyms: Vec::new(),
            legal_name: None,
            isni: None,
            ipn: None,
            nationalities: BTreeSet::new(),
            residences: BTreeSet::new(),
            date_of_death: None,
            steward: None,
        }
    }

    /// The performer without private details (the legal name).
    pub fn public(&self) -> Performer {
        Performer {
            legal_name: None,
            ..self.clone()
        }
    }

    /// Checks the rules of a write.
    pub fn validate(&self, today: Date) -> Result<(), ValidationError> {
        check_version(self.version)?;
        check_not_empty("display_name", &self.display_name)?;
        for (i, p) in self.pseudonyms.iter().enumerate() {
            check_not_empty(&format!("pseudonyms[{i}]"), p)?;
        }
        if let Some(ipn) = &self.ipn {
            check_not_empty("ipn", ipn)?;
        }
        if let Some(d) = self.date_of_death {
            check_not_future("date_of_death", d, today)?;
        }
        Ok(())
    }
}

/// What an organisation is to the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// Producer of fixations (BTAP Art. 12 transferee).
    Producer,
    /// Collecting society (CMO).
    CollectingSociety,
    /// Video site, broadcaster.
    Platform,
    /// Distributor.
    Distributor,
}

/// An organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organisation {
    /// Version of this form ([`MODEL_VERSION`]).
    pub version: u32,
    /// Registry id.
    pub id: OrganisationId,
    /// What it is.
    pub kind: OrganisationKind,
    /// Name.
    pub name: String,
    /// Country of establishment, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    /// ISNI, validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isni: Option<Isni>,
}

impl Organisation {
    /// Checks the rules of a write.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_version(self.version)?;
        check_not_empty("name", &self.name)
    }
}

/// What a fixation holds (BTAP Art. 2: an audiovisual fixation may have no
/// sound).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FixationKind {
    /// Moving images with sound.
    Av,
    /// Moving images without sound.
    AvWithoutSound,
    /// Sound only (a phonogram).
    Phonogram,
}

/// A declared relation of a fixation to another, which explains a
/// fingerprint overlap between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "relation")]
pub enum Relation {
    /// An edit (cut, re-encode, version) of another fixation.
    EditOf {
        /// The source.
        of: FixationId,
    },
    /// A clip of another fixation, starting `offset_ms` into it.
    ClipOf {
        /// The source.
        of: FixationId,
        /// Where the clip starts in the source.
        offset_ms: u64,
    },
    /// A dub of another fixation.
    DubOf {
        /// The source.
        of: FixationId,
    },
}

impl Relation {
    /// The other fixation.
    pub fn target(&self) -> FixationId {
        match *self {
            Relation::EditOf { of } | Relation::ClipOf { of, .. } | Relation::DubOf { of } => of,
        }
    }
}

/// A fixation: a recording of performances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fixation {
    /// Version of this form ([`MODEL_VERSION`]).
    pub version: u32,
    /// Registry id.
    pub id: FixationId,
    /// What it holds.
    pub kind: FixationKind,
    /// Title.
    pub title: String,
    /// ISAN, validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isan: Option<Isan>,
    /// EIDR id, validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eidr: Option<Eidr>,
    /// ISRC, validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isrc: Option<Isrc>,
    /// When the performance was fixed (the start of the BTAP Art. 14 term).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixation_date: Option<Date>,
    /// When it was performed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_date: Option<Date>,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// The producer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<OrganisationId>,
    /// Who registered it.
    pub registered_by: Party,
    /// Declared relations to other fixations.
    #[serde(default)]
    pub relations: Vec<Relation>,
    /// Fixations of other registrants whose declared relation to this one
    /// its registrant accepts: a relation explains an overlap between two
    /// registrants' fixations only once the other side has accepted it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_relations: Vec<FixationId>,
}

impl Fixation {
    /// Checks the rules of a write.
    pub fn validate(&self, today: Date) -> Result<(), ValidationError> {
        check_version(self.version)?;
        check_not_empty("title", &self.title)?;
        if self.duration_ms == 0 {
            return fail("duration_ms", Reason::Zero);
        }
        if let Some(d) = self.fixation_date {
            check_not_future("fixation_date", d, today)?;
        }
        if let Some(d) = self.performance_date {
            check_not_future("performance_date", d, today)?;
        }
        if let (Some(perf), Some(fix)) = (self.performance_date, self.fixation_date) {
            // A performance is fixed while or after it is given.
            if fix < perf {
                return fail(
                    "fixation_date",
                    Reason::Before {
                        date: fix,
                        other_field: "performance_date",
                        other: perf,
                    },
                );
            }
        }
        for (i, r) in self.relations.iter().enumerate() {
            if r.target() == self.id {
                return fail(format!("relations[{i}].of"), Reason::SelfReference);
            }
        }
        Ok(())
    }

    /// Whether a declared relation explains an overlap of the two
    /// fixations: one declares a relation to the other, and either both
    /// have the same registrant or the other's registrant accepted it
    /// ([`Fixation::accepted_relations`]). A one-sided declaration about
    /// someone else's fixation explains nothing.
    pub fn related(a: &Fixation, b: &Fixation) -> bool {
        let declared = |x: &Fixation, y: &Fixation| {
            x.relations.iter().any(|r| r.target() == y.id)
                && (x.registered_by == y.registered_by || y.accepted_relations.contains(&x.id))
        };
        declared(a, b) || declared(b, a)
    }
}

/// A performer's role, from the DDEX vocabulary; other DDEX terms are kept
/// as [`Role::Other`] with their name verbatim.
///
/// Serialised as the DDEX name (`"SupportingActor"`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Actor.
    Actor,
    /// Supporting actor.
    SupportingActor,
    /// Voice actor (dubbing, animation).
    VoiceActor,
    /// Dancer.
    Dancer,
    /// Musician.
    Musician,
    /// Vocalist.
    Vocalist,
    /// Narrator.
    Narrator,
    /// Stunt performer.
    Stunts,
    /// Another DDEX role, by name.
    Other(String),
}

impl Role {
    const NAMED: [(&'static str, Role); 8] = [
        ("Actor", Role::Actor),
        ("SupportingActor", Role::SupportingActor),
        ("VoiceActor", Role::VoiceActor),
        ("Dancer", Role::Dancer),
        ("Musician", Role::Musician),
        ("Vocalist", Role::Vocalist),
        ("Narrator", Role::Narrator),
        ("Stunts", Role::Stunts),
    ];

    /// The DDEX name.
    pub fn name(&self) -> &str {
        match self {
            Role::Other(name) => name,
            known => Self::NAMED
                .iter()
                .find(|(_, r)| r == known)
                .map_or("", |(n, _)| n),
        }
    }
}

impl FromStr for Role {
    type Err = ValidationError;

    /// A known name gives its variant (so `Other("Actor")` never exists);
    /// an empty name is refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return fail("role", Reason::Empty);
        }
        Ok(Self::NAMED
            .iter()
            .find(|(n, _)| *n == s)
            .map_or_else(|| Role::Other(s.to_owned()), |(_, r)| r.clone()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The standing of a claim (BTAP Art. 17: registration is evidence, never
/// grant).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Claimed by its registrant.
    #[default]
    Asserted,
    /// Confirmed by another party.
    Corroborated,
    /// Contested by another party.
    Disputed,
    /// Withdrawn by its registrant; kept for history, ignored by queries.
    Withdrawn,
}

/// A half-open time segment `[start_ms, end_ms)` of a fixation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segment {
    /// Start, milliseconds from the start of the fixation.
    pub start_ms: u64,
    /// End (excluded).
    pub end_ms: u64,
}

impl Segment {
    /// The segment `[start_ms, end_ms)`.
    pub fn new(start_ms: u64, end_ms: u64) -> Self {
        Self { start_ms, end_ms }
    }

    /// Length in milliseconds (0 if malformed).
    pub fn len_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }

    /// Whether the segments share at least one millisecond.
    pub fn overlaps(&self, other: &Segment) -> bool {
        self.start_ms < other.end_ms && other.start_ms < self.end_ms
    }
}

/// Checks time segments against a fixation of `duration_ms`: each ends
/// after it starts and within the fixation. Fields are named
/// `{field}[i].start_ms` / `.end_ms`.
pub fn validate_segments(
    field: &str,
    segments: &[Segment],
    duration_ms: u64,
) -> Result<(), ValidationError> {
    for (i, s) in segments.iter().enumerate() {
        if s.end_ms <= s.start_ms {
            return fail(
                format!("{field}[{i}].end_ms"),
                Reason::EndNotAfterStart {
                    start: format!("{} ms", s.start_ms),
                    end: format!("{} ms", s.end_ms),
                },
            );
        }
        if s.end_ms > duration_ms {
            return fail(
                format!("{field}[{i}].end_ms"),
                Reason::OutsideFixation {
                    end_ms: s.end_ms,
                    duration_ms,
                },
            );
        }
    }
    Ok(())
}

/// A performer's credit in a fixation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credit {
    /// Version of this form ([`MODEL_VERSION`]).
    pub version: u32,
    /// Registry id.
    pub id: CreditId,
    /// The fixation.
    pub fixation: FixationId,
    /// The performer.
    pub performer: PerformerId,
    /// Role.
    pub role: Role,
    /// The character played, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub character: Option<String>,
    /// The name as credited, kept verbatim (never trimmed or normalised).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited_as: Option<String>,
    /// Featured (as opposed to non-featured) performer.
    #[serde(default)]
    pub featured: bool,
    /// An improvised performance (BTAP Art. 2 covers it).
    #[serde(default)]
    pub improvised: bool,
    /// Where the performer appears; empty = the whole fixation.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// Standing of the claim.
    #[serde(default)]
    pub status: Status,
    /// The party that asserted this claim when it is not the fixation's
    /// registrant (a third-party claim, notified to the registrant as a
    /// conflict). Set by the registry from the writing key, never by a
    /// client; absent when the registrant (or an operator) wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party: Option<Party>,
}

impl Credit {
    /// Checks the rules of a write against the fixation credited.
    pub fn validate(&self, fixation: &Fixation) -> Result<(), ValidationError> {
        check_version(self.version)?;
        if self.fixation != fixation.id {
            return fail(
                "fixation",
                Reason::Mismatch {
                    expected: fixation.id.to_string(),
                    found: self.fixation.to_string(),
                },
            );
        }
        if let Role::Other(name) = &self.role {
            check_not_empty("role", name)?;
        }
        if let Some(c) = &self.character {
            check_not_empty("character", c)?;
        }
        if let Some(c) = &self.credited_as {
            check_not_empty("credited_as", c)?;
        }
        validate_segments("segments", &self.segments, fixation.duration_ms)
    }

    /// The segments, with empty meaning the whole fixation of
    /// `duration_ms`.
    pub fn effective_segments(&self, duration_ms: u64) -> Vec<Segment> {
        if self.segments.is_empty() {
            vec![Segment::new(0, duration_ms)]
        } else {
            self.segments.clone()
        }
    }
}

/// A performer's moral rights in a fixation (BTAP Art. 5): attribution and
/// integrity. Stored apart from economic holdings; they have no holder but
/// the performer and no agreement, and nothing in the model can transfer
/// them. Re-encoding, dubbing and normal editing are not violations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoralRights {
    /// Version of this form ([`MODEL_VERSION`]).
    pub version: u32,
    /// The performer, who alone holds them.
    pub performer: PerformerId,
    /// The fixation.
    pub fixation: FixationId,
    /// The performer claims to be identified.
    pub attribution: bool,
    /// The name to be identified by, verbatim (if not the display name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution_name: Option<String>,
    /// The performer objects to prejudicial distortions.
    pub integrity: bool,
}

impl MoralRights {
    /// Checks the rules of a write.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_version(self.version)?;
        if let Some(n) = &self.attribution_name {
            check_not_empty("attribution_name", n)?;
        }
        Ok(())
    }
}

/// An economic right of BTAP Arts. 6–11.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RightKind {
    /// Art. 6(i): broadcasting of unfixed performances.
    BroadcastUnfixed,
    /// Art. 6(ii): fixation of unfixed performances.
    Fixation,
    /// Art. 7.
    Reproduction,
    /// Art. 8.
    Distribution,
    /// Art. 9.
    Rental,
    /// Art. 10.
    MakingAvailable,
    /// Art. 11: broadcasting and communication to the public.
    Broadcasting,
}

impl RightKind {
    /// Every right kind, in article order.
    pub const ALL: [RightKind; 7] = [
        RightKind::BroadcastUnfixed,
        RightKind::Fixation,
        RightKind::Reproduction,
        RightKind::Distribution,
        RightKind::Rental,
        RightKind::MakingAvailable,
        RightKind::Broadcasting,
    ];

    /// The article of the Beijing Treaty.
    pub fn article(self) -> &'static str {
        match self {
            RightKind::BroadcastUnfixed | RightKind::Fixation => "6",
            RightKind::Reproduction => "7",
            RightKind::Distribution => "8",
            RightKind::Rental => "9",
            RightKind::MakingAvailable => "10",
            RightKind::Broadcasting => "11",
        }
    }
}

/// Whether a holding is the exclusive right or a remuneration entitlement
/// (Art. 11(2), Art. 12(3)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Nature {
    /// The exclusive right to authorise.
    Exclusive,
    /// A right to remuneration; does not count toward the exclusive 100%.
    Remuneration,
}

/// How a holder came to hold a right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The performer's own right.
    Original,
    /// Transferred by contract.
    Contract,
    /// Presumed transferred to the producer by national law (Art. 12(1)).
    PresumedByLaw,
    /// Licensed.
    Licence,
}

/// A share of a right held by a party in some territories for a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Holding {
    /// Version of this form ([`MODEL_VERSION`]).
    pub version: u32,
    /// Registry id.
    pub id: HoldingId,
    /// Who holds it.
    pub holder: Party,
    /// The fixation.
    pub fixation: FixationId,
    /// The right.
    pub right: RightKind,
    /// Exclusive or remuneration.
    pub nature: Nature,
    /// Where.
    pub territories: Territories,
    /// When.
    pub period: Period,
    /// Share, parts per million (at most [`WHOLE_PPM`]).
    pub share_ppm: u32,
    /// How it is held.
    pub basis: Basis,
    /// The agreement it rests on, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<AgreementId>,
    /// Standing of the claim.
    #[serde(default)]
    pub status: Status,
    /// The party that asserted this claim when it is not the fixation's
    /// registrant (a third-party claim, notified to the registrant as a
    /// conflict). Set by the registry from the writing key, never by a
    /// client; absent when the registrant (or an operator) wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party: Option<Party>,
}

impl Holding {
    /// Checks the rules of a write.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_version(self.version)?;
        check_share("share_ppm", self.share_ppm)?;
        check_territories("territories", &self.territories)?;
        check_period("period", &self.period)
    }

    /// Whether it applies in `country` on `date` (and is not withdrawn).
    pub fn applies(&self, country: Country, date: Date) -> bool {
        self.status != Status::Withdrawn
            && self.territories.contains(country)
            && self.period.contains(date)
    }
}

/// An agreement between parties (a contract or licence that holdings rest
/// on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agreement {
    /// Version of this form ([`MODEL_VERSION`]).
    pub version: u32,
    /// Registry id.
    pub id: AgreementId,
    /// The parties (at least two).
    pub parties: Vec<Party>,
    /// Date of signature, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<Date>,
    /// The fixations it covers; empty = not limited to listed fixations.
    #[serde(default)]
    pub fixations: Vec<FixationId>,
    /// The rights it covers.
    pub rights: BTreeSet<RightKind>,
    /// Where.
    pub territories: Territories,
    /// When.
    pub period: Period,
    /// The parties' own reference for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl Agreement {
    /// Checks the rules of a write.
    pub fn validate(&self, today: Date) -> Result<(), ValidationError> {
        check_version(self.version)?;
        if self.parties.len() < 2 {
            return fail("parties", Reason::TooFewParties(2));
        }
        if let Some(d) = self.signed {
            check_not_future("signed", d, today)?;
        }
        check_territories("territories", &self.territories)?;
        check_period("period", &self.period)
    }
}

/// A performer's mandate to a collecting society.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mandate {
    /// Version of this form ([`MODEL_VERSION`]).
    pub version: u32,
    /// Registry id.
    pub id: MandateId,
    /// The performer.
    pub performer: PerformerId,
    /// The society.
    pub society: OrganisationId,
    /// The rights mandated.
    pub rights: BTreeSet<RightKind>,
    /// Where.
    pub territories: Territories,
    /// When.
    pub period: Period,
    /// Exclusive mandate.
    pub exclusive: bool,
    /// Standing of the claim.
    #[serde(default)]
    pub status: Status,
}

impl Mandate {
    /// Checks the rules of a write.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_version(self.version)?;
        if self.rights.is_empty() {
            return fail("rights", Reason::Empty);
        }
        check_territories("territories", &self.territories)?;
        check_period("period", &self.period)
    }
}

/// The kinds of conflict the registry detects (DOMAIN.md), and the
/// notice of a third-party claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Exclusive shares over 100% where territories and periods intersect.
    Overclaim,
    /// A fingerprint overlap with another registrant's fixation that no
    /// declared relation explains.
    ReferenceOverlap,
    /// Two performers claim the same character and role in the same
    /// segment, or a credit is disputed.
    CreditOverlap,
    /// Two societies hold exclusive mandates for the same performer, right,
    /// territory and period.
    MandateConflict,
    /// A credit or holding in a fixation asserted by a party that is not
    /// its registrant: the registrant is notified and may acknowledge it.
    ThirdPartyClaim,
}

/// What a conflict is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Subject {
    /// A fixation.
    Fixation(FixationId),
    /// A credit.
    Credit(CreditId),
    /// A holding.
    Holding(HoldingId),
    /// A mandate.
    Mandate(MandateId),
}

/// Where a conflict stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConflictStatus {
    /// Waiting for the parties.
    #[default]
    Open,
    /// Resolved by a later write.
    Resolved,
}

/// How the parties resolved a conflict (the registry never decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// A claim was withdrawn.
    Withdraw,
    /// The parties agreed shares.
    Share,
    /// The territories were split.
    SplitTerritory,
    /// The period was split.
    SplitPeriod,
    /// The fixations are distinct versions.
    DistinguishVersion,
    /// A segment was excluded from a claim.
    ExcludeSegment,
    /// The registrant acknowledged a third-party claim.
    Acknowledge,
}

/// A recorded conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    /// Version of this form ([`MODEL_VERSION`]).
    pub version: u32,
    /// Registry id.
    pub id: ConflictId,
    /// Kind.
    pub kind: ConflictKind,
    /// What it is about.
    pub subjects: Vec<Subject>,
    /// Who is involved.
    pub parties: Vec<Party>,
    /// When it was opened.
    pub opened: Date,
    /// When the parties should have responded.
    pub respond_by: Date,
    /// Where it stands.
    #[serde(default)]
    pub status: ConflictStatus,
    /// How it was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// The parties' responses, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<ConflictResponse>,
    /// The resolution each party agreed to (one per party, the latest):
    /// the conflict closes when every party agreed to the same one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agreements: Vec<ConflictAgreement>,
    /// An administrator's recorded ruling, which closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ruling: Option<Ruling>,
}

/// A party's agreement to resolve a conflict a certain way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConflictAgreement {
    /// Who agrees.
    pub party: Party,
    /// To what.
    pub resolution: Resolution,
    /// When.
    pub on: Date,
}

/// An administrator's ruling on a conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ruling {
    /// The key that ruled (`key:ID`, or `local`).
    pub by: String,
    /// The resolution ruled.
    pub resolution: Resolution,
    /// Why, verbatim.
    pub note: String,
    /// When.
    pub on: Date,
}

impl Conflict {
    /// The resolution every party agreed to, if they all agreed to the
    /// same one.
    pub fn agreed(&self) -> Option<Resolution> {
        let first = self.agreements.first()?.resolution;
        let all = self.parties.iter().all(|p| {
            self.agreements
                .iter()
                .any(|a| a.party == *p && a.resolution == first)
        });
        all.then_some(first)
    }
}

/// A party's response to a conflict (its position, evidence offered).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConflictResponse {
    /// Who responds.
    pub party: Party,
    /// When.
    pub on: Date,
    /// The response, verbatim.
    pub note: String,
}

impl Conflict {
    /// Checks the rules of a write.
    pub fn validate(&self, today: Date) -> Result<(), ValidationError> {
        check_version(self.version)?;
        if self.subjects.is_empty() {
            return fail("subjects", Reason::Empty);
        }
        check_not_future("opened", self.opened, today)?;
        if self.respond_by < self.opened {
            return fail(
                "respond_by",
                Reason::Before {
                    date: self.respond_by,
                    other_field: "opened",
                    other: self.opened,
                },
            );
        }
        Ok(())
    }
}

/// `Display` as the serde name (`making_available`, `reference_overlap`):
/// one vocabulary for the API, the exports and the messages, never the
/// `Debug` form.
macro_rules! display_as_serde {
    ($($t:ty),* $(,)?) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match serde_json::to_value(self) {
                    Ok(serde_json::Value::String(name)) => f.write_str(&name),
                    _ => Err(fmt::Error),
                }
            }
        }
    )*};
}

display_as_serde!(
    OrganisationKind,
    FixationKind,
    Status,
    RightKind,
    Nature,
    Basis,
    ConflictKind,
    ConflictStatus,
    Resolution,
);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
pub(crate) mod tests {
    use super::*;

    pub(crate) fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    pub(crate) fn c(s: &str) -> Country {
        s.parse().unwrap()
    }

    pub(crate) fn fixation(id: u128, duration_ms: u64) -> Fixation {
        Fixation {
            version: MODEL_VERSION,
            id: FixationId::from_u128(id),
            kind: FixationKind::Av,
            title: "Take".into(),
            isan: Some("0000-0000-D07A-0090-Q".parse().unwrap()),
            eidr: None,
            isrc: None,
            fixation_date: Some(d("2021-05-01")),
            performance_date: Some(d("2021-04-30")),
            duration_ms,
            producer: None,
            registered_by: Party::Organisation(OrganisationId::from_u128(900)),
            relations: vec![],
            accepted_relations: vec![],
        }
    }

    pub(crate) fn credit(
        id: u128,
        fixation: u128,
        performer: u128,
        segments: &[(u64, u64)],
    ) -> Credit {
        Credit {
            version: MODEL_VERSION,
            id: CreditId::from_u128(id),
            fixation: FixationId::from_u128(fixation),
            performer: PerformerId::from_u128(performer),
            role: Role::Actor,
            character: None,
            credited_as: None,
            featured: false,
            improvised: false,
            segments: segments.iter().map(|&(a, b)| Segment::new(a, b)).collect(),
            status: Status::Asserted,
            third_party: None,
        }
    }

    fn holding() -> Holding {
        Holding {
            version: MODEL_VERSION,
            id: HoldingId::from_u128(1),
            holder: Party::Performer(PerformerId::from_u128(2)),
            fixation: FixationId::from_u128(3),
            right: RightKind::MakingAvailable,
            nature: Nature::Exclusive,
            territories: Territories::worldwide(),
            period: Period::from(d("2021-01-01")),
            share_ppm: 500_000,
            basis: Basis::PresumedByLaw,
            agreement: None,
            status: Status::Asserted,
            third_party: None,
        }
    }

    #[test]
    fn fixation_rules() {
        let today = d("2025-01-01");
        let f = fixation(1, 60_000);
        f.validate(today).unwrap();
        let mut g = f.clone();
        g.fixation_date = Some(d("2026-01-01"));
        let e = g.validate(today).unwrap_err();
        assert_eq!(e.field, "fixation_date");
        assert!(matches!(e.reason, Reason::InFuture { .. }));
        assert_eq!(
            e.to_string(),
            "fixation_date: 2026-01-01 is in the future (today is 2025-01-01)"
        );
        let mut g = f.clone();
        g.fixation_date = Some(d("2021-04-01"));
        assert_eq!(g.validate(today).unwrap_err().field, "fixation_date");
        let mut g = f.clone();
        g.title = "  ".into();
        assert_eq!(g.validate(today).unwrap_err().field, "title");
        let mut g = f.clone();
        g.relations.push(Relation::DubOf { of: f.id });
        assert_eq!(g.validate(today).unwrap_err().field, "relations[0].of");
        let mut g = f.clone();
        g.version = MODEL_VERSION + 1;
        assert_eq!(g.validate(today).unwrap_err().field, "version");
    }

    #[test]
    fn fixation_wire_form_is_pinned() {
        let mut f = fixation(1, 60_000);
        f.relations.push(Relation::ClipOf {
            of: FixationId::from_u128(2),
            offset_ms: 1_500,
        });
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"version":1,"id":"00000000-0000-0000-0000-000000000001","kind":"av","#,
                r#""title":"Take","isan":"0000-0000-D07A-0090-Q","#,
                r#""fixation_date":"2021-05-01","performance_date":"2021-04-30","#,
                r#""duration_ms":60000,"registered_by":{"kind":"organisation","#,
                r#""id":"00000000-0000-0000-0000-000000000384"},"relations":[{"relation":"clip_of","#,
                r#""of":"00000000-0000-0000-0000-000000000002","offset_ms":1500}]}"#
            )
        );
        assert_eq!(serde_json::from_str::<Fixation>(&json).unwrap(), f);
        let bad = json.replace("D07A-0090-Q", "D07A-0090-R");
        assert!(serde_json::from_str::<Fixation>(&bad).is_err());
    }

    #[test]
    fn credit_segments() {
        let f = fixation(1, 60_000);
        credit(1, 1, 1, &[(0, 1000), (59_000, 60_000)])
            .validate(&f)
            .unwrap();
        credit(1, 1, 1, &[]).validate(&f).unwrap();
        let e = credit(1, 1, 1, &[(0, 1000), (5000, 5000)])
            .validate(&f)
            .unwrap_err();
        assert_eq!(e.field, "segments[1].end_ms");
        assert!(matches!(e.reason, Reason::EndNotAfterStart { .. }));
        let e = credit(1, 1, 1, &[(59_000, 60_001)])
            .validate(&f)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "segments[0].end_ms: ends at 60001 ms, after the end of the fixation (60000 ms)"
        );
        let e = credit(1, 2, 1, &[]).validate(&f).unwrap_err();
        assert_eq!(e.field, "fixation");
    }

    #[test]
    fn credited_as_is_verbatim() {
        let mut cr = credit(1, 1, 1, &[]);
        cr.credited_as = Some("  Björk  Guðmundsdóttir ".into());
        let json = serde_json::to_string(&cr).unwrap();
        let back: Credit = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back.credited_as.as_deref(),
            Some("  Björk  Guðmundsdóttir ")
        );
    }

    #[test]
    fn enums_display_as_their_serde_names() {
        assert_eq!(RightKind::MakingAvailable.to_string(), "making_available");
        assert_eq!(Nature::Remuneration.to_string(), "remuneration");
        assert_eq!(
            ConflictKind::ReferenceOverlap.to_string(),
            "reference_overlap"
        );
        assert_eq!(Resolution::SplitTerritory.to_string(), "split_territory");
        assert_eq!(Status::Corroborated.to_string(), "corroborated");
        assert_eq!(ConflictStatus::Open.to_string(), "open");
        assert_eq!(FixationKind::AvWithoutSound.to_string(), "av_without_sound");
        assert_eq!(
            OrganisationKind::CollectingSociety.to_string(),
            "collecting_society"
        );
        assert_eq!(Basis::PresumedByLaw.to_string(), "presumed_by_law");
    }

    #[test]
    fn roles() {
        assert_eq!(
            "SupportingActor".parse::<Role>().unwrap(),
            Role::SupportingActor
        );
        assert_eq!(
            "Puppeteer".parse::<Role>().unwrap(),
            Role::Other("Puppeteer".into())
        );
        assert_eq!(Role::Stunts.to_string(), "Stunts");
        assert_eq!(
            serde_json::to_string(&Role::VoiceActor).unwrap(),
            "\"VoiceActor\""
        );
        assert_eq!(
            serde_json::from_str::<Role>("\"Actor\"").unwrap(),
            Role::Actor
        );
        assert_eq!("".parse::<Role>().unwrap_err().field, "role");
    }

    #[test]
    fn holding_rules() {
        let h = holding();
        h.validate().unwrap();
        let mut g = h.clone();
        g.share_ppm = 1_000_001;
        let e = g.validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "share_ppm: 1000001 ppm is more than 100% (1000000 ppm)"
        );
        let mut g = h.clone();
        g.share_ppm = WHOLE_PPM;
        g.validate().unwrap();
        let mut g = h.clone();
        g.territories = Territories::only([]);
        assert_eq!(g.validate().unwrap_err().field, "territories");
        let mut g = h.clone();
        g.period = Period::between(d("2022-01-01"), d("2021-01-01"));
        assert_eq!(g.validate().unwrap_err().field, "period");
        assert!(h.applies(c("DE"), d("2021-01-01")));
        assert!(!h.applies(c("DE"), d("2020-12-31")));
    }

    #[test]
    fn unknown_territory_named() {
        let e = parse_countries("territories", &["DE", "XX"]).unwrap_err();
        assert_eq!(e.field, "territories[1]");
        assert_eq!(e.reason, Reason::UnknownCountry("XX".into()));
        let json = r#"{"version":1,"id":"00000000-0000-0000-0000-000000000001","holder":{"kind":"performer","id":"00000000-0000-0000-0000-000000000002"},"fixation":"00000000-0000-0000-0000-000000000003","right":"making_available","nature":"exclusive","territories":{"only":["QQ"]},"period":{"start":"2021-01-01"},"share_ppm":1,"basis":"original"}"#;
        assert!(serde_json::from_str::<Holding>(json).is_err());
        let ok = json.replace("QQ", "FR");
        let h: Holding = serde_json::from_str(&ok).unwrap();
        assert_eq!(h.status, Status::Asserted);
        assert_eq!(
            serde_json::from_str::<Holding>(&serde_json::to_string(&h).unwrap()).unwrap(),
            h
        );
    }

    #[test]
    fn performer_privacy_and_dates() {
        let p = Performer {
            version: MODEL_VERSION,
            id: PerformerId::from_u128(1),
            display_name: "Ann Example".into(),
            pseudonyms: vec![],
            legal_name: Some("Ann Q. Example".into()),
            isni: Some("0000000121032683".parse().unwrap()),
            ipn: None,
            nationalities: [c("CN")].into(),
            residences: [c("JP")].into(),
            date_of_death: Some(d("2030-01-01")),
            steward: None,
        };
        assert_eq!(
            p.validate(d("2025-01-01")).unwrap_err().field,
            "date_of_death"
        );
        assert!(p.public().legal_name.is_none());
        p.validate(d("2030-01-01")).unwrap();
    }

    #[test]
    fn conflict_and_mandate_rules() {
        let k = Conflict {
            version: MODEL_VERSION,
            id: ConflictId::from_u128(1),
            kind: ConflictKind::Overclaim,
            subjects: vec![Subject::Holding(HoldingId::from_u128(1))],
            parties: vec![],
            opened: d("2025-01-02"),
            respond_by: d("2025-01-01"),
            status: ConflictStatus::Open,
            resolution: None,
            responses: vec![],
            agreements: vec![],
            ruling: None,
        };
        assert_eq!(k.validate(d("2025-02-01")).unwrap_err().field, "respond_by");
        assert_eq!(k.validate(d("2025-01-01")).unwrap_err().field, "opened");
        let m = Mandate {
            version: MODEL_VERSION,
            id: MandateId::from_u128(1),
            performer: PerformerId::from_u128(1),
            society: OrganisationId::from_u128(2),
            rights: BTreeSet::new(),
            territories: Territories::worldwide(),
            period: Period::from(d("2020-01-01")),
            exclusive: true,
            status: Status::Asserted,
        };
        assert_eq!(m.validate().unwrap_err().field, "rights");
    }
}
