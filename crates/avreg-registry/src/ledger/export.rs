//! Exports for collecting societies and performers, in CSV (one row per
//! credit or item, columns documented in the README) and JSON (the same
//! rows under a versioned envelope), and the RMI manifest of a fixation.

use serde::Serialize;

use super::view::{ExpiringEntry, RepertoireEntry, StatementEntry, TermLine, View};
use crate::domain::date::Date;
use crate::domain::ids::{FixationId, PerformerId};
use crate::domain::model::{Conflict, Credit, Fixation, MoralRights, Party, Segment};
use crate::domain::territory::Country;
use crate::error::Result;

/// Version of the exported forms (CSV columns and JSON rows).
///
/// 2: CSV cells name rights, natures, conflict kinds and resolutions as
/// the API does (`making_available`, `reference_overlap`; 1 wrote
/// `MakingAvailable`, `ReferenceOverlap`); JSON rows are objects
/// throughout (1 wrote a repertoire's `mandating` and `lineup` and the
/// `expiring` rows as arrays); an RMI performer's `attribution` and
/// `integrity` are null when no moral rights are registered (1: false).
pub const EXPORT_VERSION: u32 = 2;

/// A JSON export: its kind and rows, versioned.
#[derive(Clone, Debug, Serialize)]
pub struct Export<T> {
    /// [`EXPORT_VERSION`].
    pub version: u32,
    /// `repertoire`, `statement`, `conflicts`, `expiring`.
    pub kind: &'static str,
    /// The rows.
    pub rows: Vec<T>,
}

impl<T> Export<T> {
    /// Wraps `rows`.
    pub fn new(kind: &'static str, rows: Vec<T>) -> Self {
        Self {
            version: EXPORT_VERSION,
            kind,
            rows,
        }
    }
}

/// A CSV table being written (RFC 4180: fields with commas, quotes or line
/// breaks are quoted, quotes doubled; CRLF line ends). Every cell is first
/// neutralised against spreadsheet formulas by [`neutralise`].
#[derive(Debug)]
struct Csv {
    out: String,
}

impl Csv {
    fn new(header: &[&str]) -> Self {
        let mut c = Self { out: String::new() };
        c.row(header.iter().map(|s| s.to_string()));
        c
    }

    fn row(&mut self, fields: impl IntoIterator<Item = String>) {
        for (i, f) in fields.into_iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let f = neutralise(f);
            if f.contains([',', '"', '\n', '\r']) {
                self.out.push('"');
                self.out.push_str(&f.replace('"', "\"\""));
                self.out.push('"');
            } else {
                self.out.push_str(&f);
            }
        }
        self.out.push_str("\r\n");
    }
}

/// First characters that make a spreadsheet evaluate a cell as a formula
/// (OWASP, CSV injection).
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell` made inert for spreadsheets: a cell whose first character is `=`,
/// `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP
/// CSV-injection guidance); the CSV quoting is applied afterwards.
///
/// Every cell goes through [`Csv::row`], so the rule applies to all of
/// them, not only to text: the values the exporter itself writes (ids,
/// dates of years 1..=9999, unsigned milliseconds and ppm shares, enum
/// names) never start with one of these characters and are unchanged,
/// while a text cell that looks like a number (a title `-5`) is quoted
/// like any other, since the exporter cannot tell it was meant as one.
fn neutralise(cell: String) -> String {
    if cell.starts_with(FORMULA_TRIGGERS) {
        format!("'{cell}")
    } else {
        cell
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

fn segments(s: &[Segment]) -> String {
    s.iter()
        .map(|s| format!("{}-{}", s.start_ms, s.end_ms))
        .collect::<Vec<_>>()
        .join(";")
}

fn party(p: Party) -> String {
    super::EntityRef::from(p).to_string()
}

fn fixation_fields(f: &Fixation) -> [String; 6] {
    [
        f.id.to_string(),
        f.title.clone(),
        opt(&f.isan),
        opt(&f.eidr),
        opt(&f.isrc),
        opt(&f.fixation_date),
    ]
}

/// Who asserted a claim when it is a third party's (`performer:ID`), else
/// empty.
fn third_party(p: Option<crate::domain::model::Party>) -> String {
    p.map(|p| crate::ledger::EntityRef::from(p).to_string())
        .unwrap_or_default()
}

fn credit_fields(c: &Credit, name: Option<&str>) -> [String; 9] {
    [
        c.performer.to_string(),
        name.unwrap_or_default().to_owned(),
        c.role.to_string(),
        opt(&c.character),
        opt(&c.credited_as),
        c.featured.to_string(),
        segments(&c.segments),
        c.status.to_string(),
        third_party(c.third_party),
    ]
}

/// Columns of [`repertoire_csv`].
pub const REPERTOIRE_COLUMNS: [&str; 17] = [
    "fixation_id",
    "title",
    "isan",
    "eidr",
    "isrc",
    "fixation_date",
    "duration_ms",
    "performer_id",
    "performer_name",
    "role",
    "character",
    "credited_as",
    "featured",
    "segments",
    "status",
    "third_party",
    "mandated_rights",
];

/// A society's repertoire: one row per credit of each fixation (its whole
/// line-up); `mandated_rights` lists the rights the performer mandated the
/// society for (empty for performers who did not).
pub fn repertoire_csv(entries: &[RepertoireEntry]) -> String {
    let mut csv = Csv::new(&REPERTOIRE_COLUMNS);
    for e in entries {
        for line in &e.lineup {
            let c = &line.credit;
            let rights = e
                .mandating
                .iter()
                .find(|m| m.performer == c.performer)
                .map(|m| {
                    m.rights
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(";")
                })
                .unwrap_or_default();
            let [id, title, isan, eidr, isrc, date] = fixation_fields(&e.fixation);
            let mut row = vec![
                id,
                title,
                isan,
                eidr,
                isrc,
                date,
                e.fixation.duration_ms.to_string(),
            ];
            row.extend(credit_fields(
                c,
                line.performer.as_ref().map(|p| p.display_name.as_str()),
            ));
            row.push(rights);
            csv.row(row);
        }
    }
    csv.out
}

/// Columns of [`statement_csv`].
pub const STATEMENT_COLUMNS: [&str; 16] = [
    "fixation_id",
    "title",
    "isan",
    "eidr",
    "isrc",
    "fixation_date",
    "credit_id",
    "role",
    "character",
    "credited_as",
    "featured",
    "segments",
    "status",
    "third_party",
    "attribution",
    "holdings",
];

/// A performer's statement: one row per credit; `holdings` lists the
/// performer's own holdings there as `right/nature/share_ppm`.
pub fn statement_csv(entries: &[StatementEntry]) -> String {
    let mut csv = Csv::new(&STATEMENT_COLUMNS);
    for e in entries {
        let [id, title, isan, eidr, isrc, date] = fixation_fields(&e.fixation);
        let c = &e.credit;
        let attribution = match &e.moral_rights {
            Some(MoralRights {
                attribution: true,
                attribution_name,
                ..
            }) => attribution_name.clone().unwrap_or_else(|| "yes".into()),
            Some(_) => "no".into(),
            None => String::new(),
        };
        let holdings = e
            .holdings
            .iter()
            .map(|h| format!("{}/{}/{}", h.right, h.nature, h.share_ppm))
            .collect::<Vec<_>>()
            .join(";");
        csv.row([
            id,
            title,
            isan,
            eidr,
            isrc,
            date,
            c.id.to_string(),
            c.role.to_string(),
            opt(&c.character),
            opt(&c.credited_as),
            c.featured.to_string(),
            segments(&c.segments),
            c.status.to_string(),
            third_party(c.third_party),
            attribution,
            holdings,
        ]);
    }
    csv.out
}

/// Columns of [`conflicts_csv`].
pub const CONFLICT_COLUMNS: [&str; 8] = [
    "conflict_id",
    "kind",
    "status",
    "opened",
    "respond_by",
    "subjects",
    "parties",
    "resolution",
];

/// Conflicts, one row each; subjects and parties as `kind:id` lists.
pub fn conflicts_csv(conflicts: &[Conflict]) -> String {
    let mut csv = Csv::new(&CONFLICT_COLUMNS);
    for c in conflicts {
        csv.row([
            c.id.to_string(),
            c.kind.to_string(),
            c.status.to_string(),
            c.opened.to_string(),
            c.respond_by.to_string(),
            c.subjects
                .iter()
                .map(|&s| super::EntityRef::from(s).to_string())
                .collect::<Vec<_>>()
                .join(";"),
            c.parties
                .iter()
                .map(|&p| party(p))
                .collect::<Vec<_>>()
                .join(";"),
            opt(&c.resolution),
        ]);
    }
    csv.out
}

/// Columns of [`expiring_csv`].
pub const EXPIRING_COLUMNS: [&str; 9] = [
    "fixation_id",
    "title",
    "isan",
    "eidr",
    "isrc",
    "fixation_date",
    "territory",
    "term_ends",
    "rule",
];

/// Terms ending in a year: one row per fixation, with the rule (as
/// `jurisdiction/rule (source)`).
pub fn expiring_csv(rows: &[ExpiringEntry]) -> String {
    let mut csv = Csv::new(&EXPIRING_COLUMNS);
    for ExpiringEntry {
        fixation: f,
        term: t,
    } in rows
    {
        let [id, title, isan, eidr, isrc, date] = fixation_fields(f);
        let (ends, rule) = match &t.term {
            Some(term) => (
                opt(&term.ends),
                format!(
                    "{}/{} ({})",
                    term.rule.jurisdiction,
                    term.rule.rule.clone().unwrap_or_default(),
                    term.rule.source
                ),
            ),
            None => (String::new(), t.error.clone().unwrap_or_default()),
        };
        csv.row([
            id,
            title,
            isan,
            eidr,
            isrc,
            date,
            t.territory.to_string(),
            ends,
            rule,
        ]);
    }
    csv.out
}

/// A performer in an RMI manifest.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RmiPerformer {
    /// The performer's id.
    pub performer: PerformerId,
    /// The name to attribute (the moral-rights attribution name, else the
    /// credited-as name, else the display name).
    pub attribute_as: Option<String>,
    /// Role.
    pub role: String,
    /// Character.
    pub character: Option<String>,
    /// Featured.
    pub featured: bool,
    /// Where they appear.
    pub segments: Vec<Segment>,
    /// They claim attribution (BTAP Art. 5); null when the registry holds
    /// no moral rights of theirs in the fixation (unknown, not a refusal).
    pub attribution: Option<bool>,
    /// They object to prejudicial distortions (BTAP Art. 5); null when
    /// unknown, as `attribution`.
    pub integrity: Option<bool>,
}

/// The rights-management information of a fixation (BTAP Art. 16):
/// identifiers, performers, holders and terms, versioned.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RmiManifest {
    /// [`EXPORT_VERSION`].
    pub version: u32,
    /// The fixation.
    pub fixation: Fixation,
    /// Its performers.
    pub performers: Vec<RmiPerformer>,
    /// Per territory: who holds which right on `date`, and the term.
    pub territories: Vec<RmiTerritory>,
    /// The date the manifest speaks for.
    pub date: Date,
}

/// The terms of use of a fixation in one territory.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RmiTerritory {
    /// The territory.
    pub territory: Country,
    /// Holders of each right.
    pub rights: Vec<super::RightHoldersOwned>,
    /// The term there.
    pub term: TermLine,
    /// Whether the Beijing Treaty applies there on the date, and why.
    pub eligibility: crate::domain::treaty::Eligibility,
}

/// The RMI manifest of `fixation` for `territories` on `date`.
pub fn rmi_manifest(
    view: &View<'_>,
    fixation: FixationId,
    territories: &[Country],
    date: Date,
) -> Result<Option<RmiManifest>> {
    let Some(f) = view.fixation(fixation)? else {
        return Ok(None);
    };
    let moral = view.moral_rights_of(fixation)?;
    let mut performers = Vec::new();
    for c in view.credits_of(fixation)? {
        let m = moral.iter().find(|m| m.performer == c.performer);
        let display = view.performer(c.performer)?.map(|p| p.display_name);
        performers.push(RmiPerformer {
            performer: c.performer,
            attribute_as: m
                .and_then(|m| m.attribution_name.clone())
                .or_else(|| c.credited_as.clone())
                .or(display),
            role: c.role.to_string(),
            character: c.character.clone(),
            featured: c.featured,
            segments: c.segments.clone(),
            attribution: m.map(|m| m.attribution),
            integrity: m.map(|m| m.integrity),
        });
    }
    let mut out = Vec::with_capacity(territories.len());
    for &t in territories {
        out.push(RmiTerritory {
            territory: t,
            rights: view.holders(fixation, t, date)?,
            term: view.term(&f, t, date),
            eligibility: view.eligibility(&f, t, date)?,
        });
    }
    Ok(Some(RmiManifest {
        version: EXPORT_VERSION,
        fixation: f,
        performers,
        territories: out,
        date,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut c = Csv::new(&["a", "b"]);
        c.row(["x,y".to_string(), "say \"hi\"\nthere".to_string()]);
        c.row(["plain".to_string(), String::new()]);
        assert_eq!(
            c.out,
            "a,b\r\n\"x,y\",\"say \"\"hi\"\"\nthere\"\r\nplain,\r\n"
        );
    }

    #[test]
    fn csv_neutralises_formulas() {
        let mut c = Csv::new(&["a", "b", "c", "d"]);
        c.row([
            "=HYPERLINK(\"http://x\",\"y\")".to_string(),
            "@SUM(A1)".to_string(),
            "+1".to_string(),
            "-2+3".to_string(),
        ]);
        c.row([
            "\tx".to_string(),
            "\r=1".to_string(),
            "a=b".to_string(),
            "2024-01-31".to_string(),
        ]);
        assert_eq!(
            c.out,
            "a,b,c,d\r\n\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'@SUM(A1),'+1,'-2+3\r\n\
             '\tx,\"'\r=1\",a=b,2024-01-31\r\n"
        );
    }
}
