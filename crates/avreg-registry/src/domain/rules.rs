//! Jurisdictions and term rules, as versioned data.
//!
//! The rules live in `config/jurisdictions.toml` (embedded here as the
//! default; an operator may load another copy). [`Jurisdictions::term_of`]
//! computes when the economic rights in a fixation end in a territory and
//! names the rule that produced the answer: the term is an estimate, never
//! legal advice (DOMAIN.md).
//!
//! Under BTAP Art. 14 a term runs to 31 December of (the year counted from
//! + the term's years); every rule here is computed that way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::date::Date;
use super::model::{Fixation, FixationKind};
use super::territory::Country;

/// The default rules, as shipped in `config/jurisdictions.toml`.
pub const DEFAULT_JURISDICTIONS: &str = include_str!("../../../../config/jurisdictions.toml");

/// The newest `format_version` of the rules file this build reads.
pub const RULES_FORMAT_VERSION: u32 = 1;

/// Why a rules file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file could not be read.
    #[error("cannot read jurisdictions file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid TOML of the expected shape.
    #[error("jurisdictions: {0}")]
    Parse(#[from] toml::de::Error),
    /// The file was written for a newer schema.
    #[error("jurisdictions: format_version {found} is not supported (this build reads {RULES_FORMAT_VERSION})")]
    Format {
        /// The version found.
        found: u32,
    },
    /// A field breaks a rule of the schema.
    #[error("jurisdictions: {field}: {reason}")]
    Invalid {
        /// The field, e.g. `jurisdiction[2].term[0].years`.
        field: String,
        /// Why.
        reason: String,
    },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> RulesError {
    RulesError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The date a term is counted from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountFrom {
    /// The year of fixation.
    Fixation,
    /// The year of the performance.
    Performance,
}

/// How a jurisdiction treats BTAP Art. 11 (broadcasting and communication
/// to the public).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Art11 {
    /// An exclusive right.
    Exclusive,
    /// A right to remuneration instead (Art. 11(2)).
    Remuneration,
    /// Not bound by Art. 11(1)–(2) (Art. 11(3) reservation).
    NotBound,
}

/// One term rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermRule {
    /// Rule id, unique within its jurisdiction.
    pub id: String,
    /// The fixation kinds it applies to.
    pub kinds: BTreeSet<FixationKind>,
    /// Term in years.
    pub years: u16,
    /// The date counted from.
    pub from: CountFrom,
    /// The law, as cited.
    pub source: String,
}

/// A jurisdiction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jurisdiction {
    /// Short stable id.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Whether it is a Contracting Party of the Beijing Treaty; `None`
    /// where the data does not say.
    #[serde(default)]
    pub party: Option<bool>,
    /// The countries it governs; empty for the treaty fallback.
    #[serde(default)]
    pub territories: BTreeSet<Country>,
    /// Superseded by the treaty data ([`super::treaty`]), which holds the
    /// Art. 11 declarations with their sources: read from older copies of
    /// the file, and used by nothing.
    #[serde(default)]
    pub art11: Option<Art11>,
    /// Reservations, moral-rights terms.
    #[serde(default)]
    pub notes: Option<String>,
    /// The law, as cited.
    pub source: String,
    /// Its term rules.
    #[serde(default)]
    pub term: Vec<TermRule>,
}

impl Jurisdiction {
    fn rule_for(&self, kind: FixationKind) -> Option<&TermRule> {
        self.term.iter().find(|r| r.kinds.contains(&kind))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    format_version: u32,
    data_version: String,
    #[serde(default)]
    jurisdiction: Vec<Jurisdiction>,
}

/// A validated set of jurisdictions.
#[derive(Clone, Debug)]
pub struct Jurisdictions {
    data_version: String,
    list: Vec<Jurisdiction>,
    /// Index into `list` of the treaty fallback.
    fallback: usize,
    /// Country → index into `list`.
    by_country: BTreeMap<Country, usize>,
}

/// Which date a term was counted from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CountedFrom {
    /// The fixation's `fixation_date`.
    FixationDate,
    /// The fixation's `performance_date`.
    PerformanceDate,
}

/// The rule behind a term answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedRule {
    /// The jurisdiction's id.
    pub jurisdiction: String,
    /// The term rule's id; `None` when no rule gives a term.
    pub rule: Option<String>,
    /// The law, as cited.
    pub source: String,
    /// The territory's own jurisdiction has no rule for this fixation (or
    /// the territory is not listed), so the treaty minimum was applied.
    pub fallback: bool,
    /// The date the term was counted from.
    pub counted_from: Option<CountedFrom>,
    /// The edition of the rules data.
    pub data_version: String,
}

/// When the economic rights in a fixation end in a territory, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Term {
    /// The last day of protection; `None` when no rule gives a term there
    /// (a non-party such as the United States).
    pub ends: Option<Date>,
    /// The rule that produced the answer.
    pub rule: AppliedRule,
}

impl Term {
    /// Whether the term has run out by `today` (false when unknown).
    pub fn expired(&self, today: Date) -> bool {
        self.ends.is_some_and(|e| e < today)
    }
}

/// Why a term cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermError {
    /// The fixation lacks the date the rule counts from.
    #[error("{field}: needed to compute the term under {jurisdiction}/{rule}, but missing")]
    MissingDate {
        /// The missing field.
        field: &'static str,
        /// The jurisdiction's id.
        jurisdiction: String,
        /// The rule's id.
        rule: String,
    },
    /// The end would fall after year 9999.
    #[error("the term ends after year 9999")]
    OutOfRange,
}

impl Jurisdictions {
    /// The rules shipped with this build.
    pub fn embedded() -> Result<Self, RulesError> {
        Self::from_toml_str(DEFAULT_JURISDICTIONS)
    }

    /// The rules in the file at `path` (the operator's override).
    pub fn from_path(path: &Path) -> Result<Self, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// The rules of `path` if given, else the embedded ones.
    pub fn load(path: Option<&Path>) -> Result<Self, RulesError> {
        match path {
            Some(p) => Self::from_path(p),
            None => Self::embedded(),
        }
    }

    /// Parses and validates rules from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, RulesError> {
        let file: RulesFile = toml::from_str(text)?;
        if file.format_version != RULES_FORMAT_VERSION {
            return Err(RulesError::Format {
                found: file.format_version,
            });
        }
        if file.data_version.trim().is_empty() {
            return Err(invalid("data_version", "must not be empty"));
        }
        let mut ids = BTreeSet::new();
        let mut fallback = None;
        let mut by_country = BTreeMap::new();
        for (i, j) in file.jurisdiction.iter().enumerate() {
            let at = format!("jurisdiction[{i}]");
            if j.id.trim().is_empty() {
                return Err(invalid(format!("{at}.id"), "must not be empty"));
            }
            if !ids.insert(j.id.as_str()) {
                return Err(invalid(
                    format!("{at}.id"),
                    format!("{:?} appears twice", j.id),
                ));
            }
            if j.source.trim().is_empty() {
                return Err(invalid(format!("{at}.source"), "must not be empty"));
            }
            if j.territories.is_empty() && fallback.replace(i).is_some() {
                return Err(invalid(
                    format!("{at}.territories"),
                    "only one jurisdiction (the treaty minimum) may have no territories",
                ));
            }
            for &c in &j.territories {
                if let Some(prev) = by_country.insert(c, i) {
                    return Err(invalid(
                        format!("{at}.territories"),
                        format!("{c} is already governed by {}", file.jurisdiction[prev].id),
                    ));
                }
            }
            let mut rule_ids = BTreeSet::new();
            let mut kinds = BTreeSet::new();
            for (k, r) in j.term.iter().enumerate() {
                let at = format!("{at}.term[{k}]");
                if !rule_ids.insert(r.id.as_str()) {
                    return Err(invalid(
                        format!("{at}.id"),
                        format!("{:?} appears twice", r.id),
                    ));
                }
                if r.years == 0 {
                    return Err(invalid(format!("{at}.years"), "must be greater than zero"));
                }
                if r.kinds.is_empty() {
                    return Err(invalid(format!("{at}.kinds"), "must not be empty"));
                }
                if r.source.trim().is_empty() {
                    return Err(invalid(format!("{at}.source"), "must not be empty"));
                }
                for kind in &r.kinds {
                    if !kinds.insert(*kind) {
                        return Err(invalid(
                            format!("{at}.kinds"),
                            format!("{kind} is covered by two rules"),
                        ));
                    }
                }
            }
        }
        let Some(fallback) = fallback else {
            return Err(invalid(
                "jurisdiction",
                "the treaty minimum (a jurisdiction with no territories) is missing",
            ));
        };
        let fb = &file.jurisdiction[fallback];
        for kind in [
            FixationKind::Av,
            FixationKind::AvWithoutSound,
            FixationKind::Phonogram,
        ] {
            if fb.rule_for(kind).is_none() {
                return Err(invalid(
                    format!("jurisdiction[{fallback}].term"),
                    format!("the treaty minimum has no rule for {kind}"),
                ));
            }
        }
        Ok(Self {
            data_version: file.data_version,
            list: file.jurisdiction,
            fallback,
            by_country,
        })
    }

    /// The edition of the data.
    pub fn data_version(&self) -> &str {
        &self.data_version
    }

    /// Every jurisdiction, in file order.
    pub fn all(&self) -> &[Jurisdiction] {
        &self.list
    }

    /// The jurisdiction that governs `country`, if one is listed.
    pub fn of(&self, country: Country) -> Option<&Jurisdiction> {
        self.by_country.get(&country).map(|&i| &self.list[i])
    }

    /// The treaty minimum.
    pub fn treaty(&self) -> &Jurisdiction {
        &self.list[self.fallback]
    }

    /// When the economic rights of the performers in `fixation` end in
    /// `territory`, with the rule used.
    ///
    /// The territory's own rule for the fixation's kind applies; a
    /// territory that is listed as a non-party and has no rule gets no
    /// term (`ends: None`); any other gap falls back to the treaty minimum
    /// (`fallback: true`). A rule counted from the performance uses the
    /// fixation date when the performance date is unknown (the answer says
    /// which date was used).
    pub fn term_of(&self, fixation: &Fixation, territory: Country) -> Result<Term, TermError> {
        let own = self.of(territory);
        let own_rule = own.and_then(|j| j.rule_for(fixation.kind).map(|r| (j, r)));
        let (jurisdiction, rule, fallback) = match (own, own_rule) {
            (_, Some((j, r))) => (j, r, false),
            (Some(j), None) if j.party == Some(false) => {
                return Ok(Term {
                    ends: None,
                    rule: AppliedRule {
                        jurisdiction: j.id.clone(),
                        rule: None,
                        source: j.source.clone(),
                        fallback: false,
                        counted_from: None,
                        data_version: self.data_version.clone(),
                    },
                });
            }
            _ => {
                let t = self.treaty();
                match t.rule_for(fixation.kind) {
                    Some(r) => (t, r, true),
                    // Validation guarantees a treaty rule for every kind.
                    None => return Err(TermError::OutOfRange),
                }
            }
        };
        let (date, counted_from) = match rule.from {
            CountFrom::Performance => match (fixation.performance_date, fixation.fixation_date) {
                (Some(d), _) => (Some(d), CountedFrom::PerformanceDate),
                (None, d) => (d, CountedFrom::FixationDate),
            },
            CountFrom::Fixation => (fixation.fixation_date, CountedFrom::FixationDate),
        };
        let Some(date) = date else {
            return Err(TermError::MissingDate {
                field: match rule.from {
                    CountFrom::Performance => "performance_date",
                    CountFrom::Fixation => "fixation_date",
                },
                jurisdiction: jurisdiction.id.clone(),
                rule: rule.id.clone(),
            });
        };
        let ends = Date::end_of_year(date.year() + i32::from(rule.years))
            .map_err(|_| TermError::OutOfRange)?;
        Ok(Term {
            ends: Some(ends),
            rule: AppliedRule {
                jurisdiction: jurisdiction.id.clone(),
                rule: Some(rule.id.clone()),
                source: rule.source.clone(),
                fallback,
                counted_from: Some(counted_from),
                data_version: self.data_version.clone(),
            },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;
    use crate::domain::model::tests::{c, d, fixation};

    fn rules() -> Jurisdictions {
        Jurisdictions::embedded().unwrap()
    }

    fn check(
        kind: FixationKind,
        country: &str,
        ends: Option<&str>,
        jurisdiction: &str,
        fallback: bool,
    ) {
        let mut f = fixation(1, 1000);
        f.kind = kind;
        f.performance_date = Some(d("2019-12-31"));
        f.fixation_date = Some(d("2020-01-02"));
        let t = rules().term_of(&f, c(country)).unwrap();
        assert_eq!(t.ends, ends.map(d), "{country} {kind:?}");
        assert_eq!(t.rule.jurisdiction, jurisdiction);
        assert_eq!(t.rule.fallback, fallback);
        assert!(!t.rule.source.is_empty());
    }

    #[test]
    fn embedded_rules_load() {
        let r = rules();
        assert_eq!(r.data_version(), "2026-12-1");
        assert_eq!(r.treaty().id, "BTAP");
        assert_eq!(r.of(c("FR")).unwrap().id, "EU");
        assert_eq!(r.of(c("US")).unwrap().party, Some(false));
        assert_eq!(r.of(c("JP")).unwrap().party, Some(true));
        // The Art. 11 declarations moved to the treaty data.
        assert!(r.all().iter().all(|j| j.art11.is_none()));
        // An older copy that still carries them is read.
        let old = DEFAULT_JURISDICTIONS.replace(
            "territories = [\"CH\"]",
            "territories = [\"CH\"]\nart11 = \"remuneration\"",
        );
        let r = Jurisdictions::from_toml_str(&old).unwrap();
        assert_eq!(r.of(c("CH")).unwrap().art11, Some(Art11::Remuneration));
        assert!(r.of(c("BR")).is_none());
    }

    #[test]
    fn terms() {
        use FixationKind::{Av, AvWithoutSound, Phonogram};
        // Treaty minimum: 50 years from the end of the year of fixation.
        check(Av, "BR", Some("2070-12-31"), "BTAP", true);
        // EU: audiovisual 50, phonogram 70.
        check(Av, "DE", Some("2070-12-31"), "EU", false);
        check(AvWithoutSound, "FR", Some("2070-12-31"), "EU", false);
        check(Phonogram, "DE", Some("2090-12-31"), "EU", false);
        // China 50 and Japan 70 years from the performance (2019).
        check(Av, "CN", Some("2069-12-31"), "CN", false);
        check(Av, "JP", Some("2089-12-31"), "JP", false);
        // Switzerland 70 years from the performance (URG Art. 39, 2020).
        check(Av, "CH", Some("2089-12-31"), "CH", false);
        // Korea 70 from the performance, Mexico 75 (audiovisual from the
        // performance, phonogram from the fixation), Indonesia and Russia
        // 50 from the fixation.
        check(Av, "KR", Some("2089-12-31"), "KR", false);
        check(Av, "MX", Some("2094-12-31"), "MX", false);
        check(Phonogram, "MX", Some("2095-12-31"), "MX", false);
        check(Av, "ID", Some("2070-12-31"), "ID", false);
        check(Av, "RU", Some("2070-12-31"), "RU", false);
        // Kenya: no figure in the data, treaty minimum.
        check(Av, "KE", Some("2070-12-31"), "BTAP", true);
        // United States: not a party, no term.
        check(Av, "US", None, "US", false);
    }

    #[test]
    fn term_dates() {
        let r = rules();
        let mut f = fixation(1, 1000);
        f.fixation_date = None;
        let e = r.term_of(&f, c("DE")).unwrap_err();
        assert!(matches!(
            e,
            TermError::MissingDate {
                field: "fixation_date",
                ..
            }
        ));
        f.fixation_date = Some(d("2001-06-01"));
        f.performance_date = None;
        let t = r.term_of(&f, c("JP")).unwrap();
        assert_eq!(t.rule.counted_from, Some(CountedFrom::FixationDate));
        assert_eq!(t.ends, Some(d("2071-12-31")));
        assert!(!t.expired(d("2071-12-31")));
        assert!(t.expired(d("2072-01-01")));
    }

    #[test]
    fn bad_files_are_refused() {
        let base = DEFAULT_JURISDICTIONS;
        let e =
            Jurisdictions::from_toml_str(&base.replace("format_version = 1", "format_version = 2"));
        assert!(matches!(e, Err(RulesError::Format { found: 2 })));
        let e = Jurisdictions::from_toml_str(&base.replace("years = 70", "years = 0")).unwrap_err();
        assert!(e.to_string().contains("term[1].years"), "{e}");
        let e = Jurisdictions::from_toml_str(
            &base.replace("territories = [\"JP\"]", "territories = [\"DE\"]"),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("DE is already governed by EU"),
            "{e}"
        );
        let e = Jurisdictions::from_toml_str(
            &base.replace("territories = [\"JP\"]", "territories = [\"XJ\"]"),
        );
        assert!(matches!(e, Err(RulesError::Parse(_))));
        let e = Jurisdictions::from_toml_str(
            &base.replace("territories = []", "territories = [\"BR\"]"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("treaty minimum"), "{e}");
        let e =
            Jurisdictions::load(Some(Path::new("/nonexistent/jurisdictions.toml"))).unwrap_err();
        assert!(matches!(e, RulesError::Io { .. }));
    }

    #[test]
    fn override_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.toml");
        std::fs::write(
            &path,
            DEFAULT_JURISDICTIONS
                .replace("data_version = \"2026-12-1\"", "data_version = \"local\""),
        )
        .unwrap();
        assert_eq!(
            Jurisdictions::load(Some(&path)).unwrap().data_version(),
            "local"
        );
    }
}
