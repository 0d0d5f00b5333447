//! The Beijing Treaty as data: its Contracting Parties, their dates and
//! declarations, and whether the treaty applies to a performance in a
//! territory on a date (Arts. 3, 11, 19 and 26).
//!
//! The data lives in `config/beijing-treaty.toml` (embedded here as the
//! default; an operator may load a newer copy). Every party's row cites its
//! source; a fact the sources did not give is absent, and an answer that
//! needs it says so ("unknown", with what is missing) rather than guessing.
//! Nothing here is legal advice: every answer names the rules and the data
//! edition it was computed from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::date::Date;
use super::model::Performer;
use super::territory::Country;

/// The treaty data shipped with this build (`config/beijing-treaty.toml`).
pub const DEFAULT_TREATY: &str = include_str!("../../../../config/beijing-treaty.toml");

/// The newest `format_version` of the treaty file this build reads.
pub const TREATY_FORMAT_VERSION: u32 = 1;

/// Why a treaty file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TreatyError {
    /// The file could not be read.
    #[error("cannot read treaty file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid TOML of the expected shape.
    #[error("treaty data: {0}")]
    Parse(#[from] toml::de::Error),
    /// The file was written for a newer schema.
    #[error("treaty data: format_version {found} is not supported (this build reads {TREATY_FORMAT_VERSION})")]
    Format {
        /// The version found.
        found: u32,
    },
    /// A field breaks a rule of the schema.
    #[error("treaty data: {field}: {reason}")]
    Invalid {
        /// The field, e.g. `party[3].in_force`.
        field: String,
        /// Why.
        reason: String,
    },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> TreatyError {
    TreatyError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// How a party became bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    /// Ratification, after signature.
    Ratification,
    /// Accession, without signature.
    Accession,
}

/// A party's declaration on Art. 11 (broadcasting and communication to the
/// public).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Art11Declaration {
    /// No declaration: the exclusive right of Art. 11(1).
    Exclusive,
    /// Art. 11(2): a right to equitable remuneration instead (possibly for
    /// some uses only).
    Remuneration,
    /// Art. 11(3): Art. 11(1) and (2) not applied at all.
    NotBound,
    /// Art. 11(3): applied to some uses only, or otherwise limited.
    Limited,
}

/// A party's Art. 19(2) position on fixations that existed when the treaty
/// entered into force for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreExisting {
    /// No declaration: Arts. 7–11 apply to them too (Art. 19(1)).
    Applies,
    /// Arts. 7–11 are not applied to them.
    #[serde(rename = "arts_7_11_not_applied")]
    Arts7To11NotApplied,
    /// Some of Arts. 7–11 are not applied to them (see the detail).
    SomeNotApplied,
}

/// A Contracting Party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// ISO 3166-1 alpha-2 code.
    pub code: Country,
    /// English name.
    pub name: String,
    /// Date of signature, if it signed.
    #[serde(default)]
    pub signature: Option<Date>,
    /// Ratification or accession.
    pub instrument: Instrument,
    /// Date the instrument was deposited.
    pub deposit: Date,
    /// Date the treaty entered into force for the party (Art. 26).
    pub in_force: Date,
    /// Its Art. 11 position; `None` where the sources did not give it.
    #[serde(default)]
    pub art11: Option<Art11Declaration>,
    /// The declaration's wording.
    #[serde(default)]
    pub art11_detail: Option<String>,
    /// Territories it excluded; `None` where the sources did not say.
    #[serde(default)]
    pub territories_excluded: Option<BTreeSet<Country>>,
    /// Its Art. 19(2) position; `None` where the sources did not say.
    #[serde(default)]
    pub pre_existing_fixations: Option<PreExisting>,
    /// The Art. 19(2) declaration's wording.
    #[serde(default)]
    pub pre_existing_detail: Option<String>,
    /// Other declarations, caveats.
    #[serde(default)]
    pub notes: Option<String>,
    /// Where the row's facts come from.
    pub source: String,
}

/// A signatory that has deposited no instrument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatory {
    /// ISO 3166-1 alpha-2 code, or `EU` for the European Union.
    pub code: String,
    /// English name.
    pub name: String,
    /// Date of signature.
    pub signature: Date,
    /// Caveats.
    #[serde(default)]
    pub notes: Option<String>,
    /// The source.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TreatyFile {
    format_version: u32,
    data_version: String,
    treaty: String,
    adopted: Date,
    entry_into_force: Date,
    source: String,
    #[serde(default)]
    party: Vec<Party>,
    #[serde(default)]
    signatory: Vec<Signatory>,
}

/// The treaty's parties and signatories, validated.
#[derive(Clone, Debug)]
pub struct Treaty {
    data_version: String,
    entry_into_force: Date,
    parties: BTreeMap<Country, Party>,
    signatories: Vec<Signatory>,
    /// Territory → the party that excluded it.
    excluded_by: BTreeMap<Country, Country>,
}

impl Treaty {
    /// The data shipped with this build.
    pub fn embedded() -> Result<Self, TreatyError> {
        Self::from_toml_str(DEFAULT_TREATY)
    }

    /// The data of the file at `path` if given, else the embedded data.
    pub fn load(path: Option<&Path>) -> Result<Self, TreatyError> {
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| TreatyError::Io {
                    path: p.to_owned(),
                    source,
                })?;
                Self::from_toml_str(&text)
            }
            None => Self::embedded(),
        }
    }

    /// Parses and validates treaty data from TOML text: one row per party,
    /// every row sourced, dates in order (signature ≤ deposit ≤ entry into
    /// force, none before the treaty's own), signature for a ratification
    /// and none for an accession.
    pub fn from_toml_str(text: &str) -> Result<Self, TreatyError> {
        let file: TreatyFile = toml::from_str(text)?;
        if file.format_version != TREATY_FORMAT_VERSION {
            return Err(TreatyError::Format {
                found: file.format_version,
            });
        }
        for (field, value) in [
            ("data_version", &file.data_version),
            ("treaty", &file.treaty),
            ("source", &file.source),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(field, "must not be empty"));
            }
        }
        if file.entry_into_force < file.adopted {
            return Err(invalid("entry_into_force", "before the treaty's adoption"));
        }
        let mut parties = BTreeMap::new();
        let mut excluded_by = BTreeMap::new();
        for (i, p) in file.party.into_iter().enumerate() {
            let at = format!("party[{i}] ({})", p.code);
            if p.source.trim().is_empty() {
                return Err(invalid(format!("{at}.source"), "must not be empty"));
            }
            match (p.instrument, p.signature) {
                (Instrument::Ratification, None) => {
                    return Err(invalid(
                        format!("{at}.signature"),
                        "a ratification follows a signature",
                    ))
                }
                (Instrument::Accession, Some(_)) => {
                    return Err(invalid(
                        format!("{at}.signature"),
                        "a signatory ratifies; it does not accede",
                    ))
                }
                _ => {}
            }
            if let Some(s) = p.signature {
                if s < file.adopted || s > p.deposit {
                    return Err(invalid(
                        format!("{at}.signature"),
                        "must lie between the adoption and the deposit",
                    ));
                }
            }
            if p.in_force < p.deposit || p.in_force < file.entry_into_force {
                return Err(invalid(
                    format!("{at}.in_force"),
                    "must not precede the deposit or the treaty's entry into force",
                ));
            }
            for &t in p.territories_excluded.iter().flatten() {
                if t == p.code {
                    return Err(invalid(
                        format!("{at}.territories_excluded"),
                        "a party cannot exclude itself",
                    ));
                }
                excluded_by.insert(t, p.code);
            }
            let code = p.code;
            if parties.insert(code, p).is_some() {
                return Err(invalid(at, "appears twice"));
            }
        }
        for (i, s) in file.signatory.iter().enumerate() {
            let at = format!("signatory[{i}] ({})", s.code);
            let country = s.code.parse::<Country>().ok();
            if s.code != "EU" && country.is_none() {
                return Err(invalid(
                    format!("{at}.code"),
                    "not an ISO 3166-1 alpha-2 code (nor EU)",
                ));
            }
            if s.source.trim().is_empty() {
                return Err(invalid(format!("{at}.source"), "must not be empty"));
            }
            if s.signature < file.adopted {
                return Err(invalid(format!("{at}.signature"), "before the adoption"));
            }
            if country.is_some_and(|c| parties.contains_key(&c)) {
                return Err(invalid(at, "is also listed as a party"));
            }
        }
        if let Some((t, _)) = excluded_by.iter().find(|(t, _)| parties.contains_key(t)) {
            return Err(invalid(
                "territories_excluded",
                format!("{t} is itself a party"),
            ));
        }
        Ok(Self {
            data_version: file.data_version,
            entry_into_force: file.entry_into_force,
            parties,
            signatories: file.signatory,
            excluded_by,
        })
    }

    /// The edition of the data.
    pub fn data_version(&self) -> &str {
        &self.data_version
    }

    /// The treaty's entry into force.
    pub fn entry_into_force(&self) -> Date {
        self.entry_into_force
    }

    /// Every party, by code.
    pub fn parties(&self) -> impl Iterator<Item = &Party> {
        self.parties.values()
    }

    /// The signatories without an instrument.
    pub fn signatories(&self) -> &[Signatory] {
        &self.signatories
    }

    /// The party `code`, whenever it became bound.
    pub fn party(&self, code: Country) -> Option<&Party> {
        self.parties.get(&code)
    }

    /// The party bound in `territory` on `date`, or why none is.
    fn bound(&self, territory: Country, date: Date) -> Result<&Party, String> {
        if let Some(by) = self.excluded_by.get(&territory) {
            let name = self
                .parties
                .get(by)
                .map_or(by.as_str(), |p| p.name.as_str());
            return Err(format!(
                "{territory} is excluded from the treaty by {name}'s territorial declaration"
            ));
        }
        match self.parties.get(&territory) {
            Some(p) if p.in_force <= date => Ok(p),
            Some(p) => Err(format!(
                "the treaty enters into force for {} on {} (Art. 26), after {date}",
                p.name, p.in_force
            )),
            None => Err(
                match self
                    .signatories
                    .iter()
                    .find(|s| s.code == territory.as_str())
                {
                    Some(s) => format!(
                        "{} signed the treaty on {} but is not a Contracting Party",
                        s.name, s.signature
                    ),
                    None => format!("{territory} is not a Contracting Party"),
                },
            ),
        }
    }

    /// What the treaty grants for broadcasting and communication to the
    /// public (Art. 11) in `territory` on `date`: the party's declaration,
    /// or nothing where the treaty does not bind the territory.
    pub fn broadcasting_in(&self, territory: Country, date: Date) -> Broadcasting {
        match self.bound(territory, date) {
            Ok(party) => broadcasting(party),
            Err(why) => not_granted(&why),
        }
    }

    /// Whether the treaty applies to the performances of `performers` in
    /// `fixation_date`'s fixation, in `territory` on `date`, and how
    /// `territory` treats the broadcasting right (Art. 11).
    ///
    /// - Art. 26: the territory must be a Contracting Party, in force on
    ///   `date`, and not excluded by a territorial declaration;
    /// - Art. 3: a performer is eligible when a national or a habitual
    ///   resident of a Contracting Party (in force on `date`); the
    ///   performance is within the treaty when one of its credited
    ///   performers is; a performer with neither fact recorded is unknown;
    /// - Art. 19: the treaty covers fixations made before its entry into
    ///   force, unless the territory declared under Art. 19(2) that Arts.
    ///   7–11 are not applied to them.
    pub fn eligibility(
        &self,
        performers: &[&Performer],
        fixation_date: Option<Date>,
        territory: Country,
        date: Date,
    ) -> Eligibility {
        let mut out = Eligibility {
            status: Applicability::Unknown,
            territory,
            date,
            territory_bound: false,
            in_force: None,
            performers: Vec::new(),
            in_time: None,
            broadcasting: not_granted("the treaty does not apply"),
            reasons: Vec::new(),
            missing: Vec::new(),
            rules: vec![
                "BTAP Art. 26 (entry into force)".into(),
                "BTAP Art. 3 (beneficiaries)".into(),
            ],
            data_version: self.data_version.clone(),
        };
        // Where the territory is not bound the answer is sure whatever the
        // performers' facts: nothing is missing then.
        let bound = self.bound(territory, date);
        // Art. 3: the performers.
        let mut any_eligible = false;
        let mut any_unknown = performers.is_empty();
        if performers.is_empty() && bound.is_ok() {
            out.missing
                .push("no credited performer: eligibility under Art. 3 cannot be judged".into());
        }
        for p in performers {
            let via = |countries: &BTreeSet<Country>| {
                countries.iter().any(|c| self.bound(*c, date).is_ok())
            };
            let basis = if via(&p.nationalities) {
                Some(Basis::Nationality)
            } else if via(&p.residences) {
                Some(Basis::HabitualResidence)
            } else {
                None
            };
            let known = !(p.nationalities.is_empty() && p.residences.is_empty());
            let eligible = match (basis, known) {
                (Some(_), _) => Some(true),
                (None, true) => Some(false),
                (None, false) => None,
            };
            if eligible.is_none() {
                any_unknown = true;
            }
            if eligible.is_none() && bound.is_ok() {
                out.missing.push(format!(
                    "performer {}: neither nationality nor habitual residence recorded",
                    p.id
                ));
            }
            any_eligible |= eligible == Some(true);
            out.performers.push(PerformerEligibility {
                performer: p.id,
                eligible,
                basis,
            });
        }

        let party = match bound {
            Ok(p) => p,
            Err(why) => {
                out.status = Applicability::NotApplicable;
                out.broadcasting = not_granted(&why);
                out.reasons.push(why);
                return out;
            }
        };
        out.territory_bound = true;
        out.in_force = Some(party.in_force);
        out.reasons.push(format!(
            "{} has been bound since {} ({} deposited {})",
            party.name,
            party.in_force,
            match party.instrument {
                Instrument::Ratification => "ratification",
                Instrument::Accession => "accession",
            },
            party.deposit
        ));
        out.broadcasting = broadcasting(party);

        // Art. 19: the fixation in time.
        out.rules.push("BTAP Art. 19 (application in time)".into());
        let in_time = match (fixation_date, party.pre_existing_fixations) {
            (Some(f), _) if f >= party.in_force => Some(true),
            (_, Some(PreExisting::Applies)) => Some(true),
            (Some(_), Some(PreExisting::Arts7To11NotApplied)) => {
                out.reasons.push(format!(
                    "{} declared under Art. 19(2) that the rights of Arts. 7–11 are not \
                     granted in fixations existing on {}",
                    party.name, party.in_force
                ));
                Some(false)
            }
            (Some(_), Some(PreExisting::SomeNotApplied)) => {
                out.missing.push(format!(
                    "which rights {}'s Art. 19(2) declaration withholds from fixations existing \
                     on {}: {}",
                    party.name,
                    party.in_force,
                    party
                        .pre_existing_detail
                        .as_deref()
                        .unwrap_or("its wording is not in the data")
                ));
                None
            }
            (None, Some(_)) => {
                out.missing.push(
                    "fixation date: needed for the territory's Art. 19(2) declaration".into(),
                );
                None
            }
            (Some(_), None) => {
                // No Art. 19(2) declaration is recorded; Art. 19(1) is the rule.
                out.reasons.push(format!(
                    "the fixation predates the treaty's entry into force for {}; Art. 19(1) \
                     covers it (no Art. 19(2) declaration is recorded for {})",
                    party.name, party.code
                ));
                Some(true)
            }
            (None, None) => Some(true),
        };
        out.in_time = in_time;

        out.status = if in_time == Some(false) {
            Applicability::NotApplicable
        } else if any_eligible && in_time == Some(true) {
            Applicability::Applies
        } else if any_unknown || in_time.is_none() {
            Applicability::Unknown
        } else {
            Applicability::NotApplicable
        };
        match out.status {
            Applicability::Applies => out.reasons.push(
                "at least one credited performer is a national or habitual resident of a \
                 Contracting Party"
                    .into(),
            ),
            Applicability::NotApplicable if in_time != Some(false) => out.reasons.push(
                "no credited performer is a national or habitual resident of a Contracting Party"
                    .into(),
            ),
            _ => {}
        }
        if out.status == Applicability::NotApplicable {
            out.broadcasting = not_granted("the treaty does not apply to this performance there");
        }
        out
    }
}

fn not_granted(why: &str) -> Broadcasting {
    Broadcasting {
        treatment: Art11Treatment::NotGranted,
        detail: None,
        rule: format!("BTAP Art. 11: not granted by the treaty: {why}"),
    }
}

fn broadcasting(party: &Party) -> Broadcasting {
    let (treatment, rule) = match party.art11 {
        Some(Art11Declaration::Exclusive) => (
            Art11Treatment::Exclusive,
            "BTAP Art. 11(1): exclusive right (no declaration)",
        ),
        Some(Art11Declaration::Remuneration) => (
            Art11Treatment::Remuneration,
            "BTAP Art. 11(2): equitable remuneration instead of the exclusive right",
        ),
        Some(Art11Declaration::NotBound) => (
            Art11Treatment::NotGranted,
            "BTAP Art. 11(3): Art. 11(1) and (2) not applied",
        ),
        Some(Art11Declaration::Limited) => (
            Art11Treatment::Limited,
            "BTAP Art. 11(3): applied to some uses only",
        ),
        None => (
            Art11Treatment::Unknown,
            "BTAP Art. 11: the party's declarations are not in the data (without one the \
             right is exclusive, Art. 11(1))",
        ),
    };
    Broadcasting {
        treatment,
        detail: party.art11_detail.clone(),
        rule: format!("{rule}; {}", party.source),
    }
}

/// Whether the treaty applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Applicability {
    /// It applies: the territory is bound and a credited performer is
    /// eligible.
    Applies,
    /// It does not (the reasons say why).
    NotApplicable,
    /// A fact is missing (`missing` says which).
    Unknown,
}

/// How a performer is connected to a Contracting Party (Art. 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Basis {
    /// Art. 3(1): a national of a Contracting Party.
    Nationality,
    /// Art. 3(2): habitually resident in a Contracting Party.
    HabitualResidence,
}

/// One credited performer's eligibility; which country connects them is
/// not disclosed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerformerEligibility {
    /// The performer.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub performer: super::ids::PerformerId,
    /// Eligible under Art. 3; `null` when neither nationality nor
    /// residence is recorded.
    pub eligible: Option<bool>,
    /// The connection, when eligible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<Basis>,
}

/// What the treaty grants for broadcasting and communication to the
/// public (Art. 11) in a territory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Art11Treatment {
    /// The exclusive right of authorisation.
    Exclusive,
    /// A right to equitable remuneration instead.
    Remuneration,
    /// Granted for some uses only.
    Limited,
    /// Not granted by the treaty there.
    NotGranted,
    /// The territory's declarations are not in the data.
    Unknown,
}

/// The broadcasting right in a territory, with the rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Broadcasting {
    /// What the treaty grants.
    pub treatment: Art11Treatment,
    /// The declaration's wording, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The rule and its source.
    pub rule: String,
}

/// Whether the treaty applies to a fixation's performances in a territory
/// on a date, why, and what shapes the broadcasting right there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Eligibility {
    /// The answer.
    pub status: Applicability,
    /// The territory.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "KE"))]
    pub territory: Country,
    /// The date asked.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: Date,
    /// The territory is a Contracting Party in force on the date.
    pub territory_bound: bool,
    /// When the treaty entered into force there.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub in_force: Option<Date>,
    /// Each credited performer (Art. 3).
    pub performers: Vec<PerformerEligibility>,
    /// The fixation is within the treaty's application in time (Art. 19);
    /// `null` when unknown or when the territory is not bound.
    pub in_time: Option<bool>,
    /// The broadcasting right (Art. 11) there.
    pub broadcasting: Broadcasting,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// What is missing for a sure answer.
    pub missing: Vec<String>,
    /// The articles applied.
    pub rules: Vec<String>,
    /// The edition of the treaty data.
    pub data_version: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests;
