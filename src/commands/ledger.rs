//! `avreg ledger …`: write and read the registry's domain entities from the
//! command line (performers, organisations, fixations, credits, holdings,
//! agreements, mandates, conflicts).

use std::path::PathBuf;

use anyhow::Context;
use avreg_registry::domain::date::Date;
use avreg_registry::domain::ids::{ConflictId, FixationId};
use avreg_registry::domain::model::{Party, Resolution};
use avreg_registry::domain::territory::Country;
use avreg_registry::ledger::{parse_changes, Entity, EntityRef};
use serde::{Deserialize, Serialize};

use super::{file_error, open_registry};
use crate::config::Config;
use crate::output::{print_json, JSON_VERSION};
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: LedgerCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LedgerCommand {
    /// Apply a file of changes as one write (all or nothing):
    /// `{"version": 1, "changes": [{"create": {"kind": "performer", "entity": {…}}}, …]}`.
    Apply {
        /// The changes file (JSON).
        file: PathBuf,
    },
    /// Show an entity (`performer:ID`, `fixation:ID`, `credit:ID`, …) or
    /// the entity an ISAN, EIDR, ISRC or ISNI names.
    Show {
        /// `KIND:ID`, or an identifier.
        entity: String,
        /// Print every revision, oldest first.
        #[arg(long)]
        history: bool,
        /// Show the state as of this instant (ms since the Unix epoch).
        #[arg(long, value_name = "MS")]
        as_of: Option<u64>,
    },
    /// Who performs in a fixation between two offsets.
    Span {
        /// The fixation id.
        fixation: FixationId,
        /// Start of the span, ms.
        #[arg(long)]
        from: u64,
        /// End of the span, ms.
        #[arg(long)]
        to: u64,
    },
    /// Who holds each right in a fixation in a territory on a date, and the
    /// term there.
    Rights {
        /// The fixation id.
        fixation: FixationId,
        /// ISO 3166-1 alpha-2 country code.
        #[arg(long)]
        territory: Country,
        /// The date (default: today).
        #[arg(long)]
        date: Option<Date>,
    },
    /// List conflicts.
    Conflicts {
        /// Resolved ones too.
        #[arg(long)]
        all: bool,
    },
    /// Respond to an open conflict on behalf of a party.
    Respond {
        /// The conflict.
        conflict: ConflictId,
        /// The party responding, `performer:ID` or `organisation:ID`.
        #[arg(long)]
        party: String,
        /// The response.
        #[arg(long)]
        note: String,
    },
    /// Rule on an open conflict as the registry's operator: closes it with
    /// the ruling recorded (an overclaim whose exclusive shares still
    /// exceed 100 % stays open).
    Resolve {
        /// The conflict.
        conflict: ConflictId,
        /// withdraw, share, split_territory, split_period,
        /// distinguish_version or exclude_segment.
        #[arg(long)]
        resolution: String,
        /// Why (recorded with the ruling).
        #[arg(long)]
        note: String,
    },
}

/// The changes file; its changes are read one by one
/// (`avreg_registry::ledger::parse_changes`), so that an error names the
/// change and its field (`changes[1].create.entity.isan`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesDoc {
    version: u32,
    changes: Vec<serde_json::Value>,
}

#[derive(Serialize)]
struct Doc<T: Serialize> {
    version: u32,
    #[serde(flatten)]
    body: T,
}

fn print<T: Serialize>(body: T) -> Result<(), Failure> {
    print_json(&Doc {
        version: JSON_VERSION,
        body,
    })
}

/// Parses `kind:id` into an entity reference (moral rights:
/// `moral_rights:PERFORMER/FIXATION`).
fn parse_ref(text: &str) -> anyhow::Result<EntityRef> {
    text.parse::<EntityRef>()
        .with_context(|| format!("`{text}` is not an entity reference"))
}

fn parse_party(text: &str) -> anyhow::Result<Party> {
    match parse_ref(text)? {
        EntityRef::Performer(id) => Ok(Party::Performer(id)),
        EntityRef::Organisation(id) => Ok(Party::Organisation(id)),
        other => anyhow::bail!("{other} is not a party (a performer or an organisation)"),
    }
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let actor = config.registry.actor.as_str();
    match args.command {
        LedgerCommand::Apply { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| file_error(&file, e))?;
            let doc: ChangesDoc = serde_json::from_str(&text).map_err(|e| file_error(&file, e))?;
            if doc.version != 1 {
                return Err(file_error(
                    &file,
                    format!("changes version {} is not supported (1 is)", doc.version),
                ));
            }
            let changes = parse_changes(doc.changes).map_err(|e| file_error(&file, e))?;
            let registry = open_registry(config)?;
            let applied = registry.apply(actor, changes)?;
            print(applied)?;
            Ok(Outcome::Success)
        }
        LedgerCommand::Show {
            entity,
            history,
            as_of,
        } => {
            let registry = open_registry(config)?;
            let view = match as_of {
                Some(ms) => registry.view_as_of(ms)?,
                None => registry.view(),
            };
            let r = match parse_ref(&entity) {
                Ok(r) => r,
                Err(e) => match view.by_identifier(&entity)? {
                    Some(found) => found.reference(),
                    None => return Err(Failure::input(e)),
                },
            };
            if history {
                let revisions = view.history(&r)?;
                if revisions.is_empty() {
                    return Err(Failure::input(anyhow::anyhow!("{r} is not registered")));
                }
                print(serde_json::json!({ "entity": r.to_string(), "revisions": revisions }))?;
            } else {
                let Some(rev) = view.revision(&r)? else {
                    return Err(Failure::input(anyhow::anyhow!("{r} is not registered")));
                };
                let entity: Entity = match rev.entity {
                    Entity::Performer(p) => Entity::Performer(p.public()),
                    e => e,
                };
                print(serde_json::json!({
                    "entity": entity,
                    "withdrawn": rev.op == avreg_registry::ledger::Op::Withdraw,
                    "seq": rev.seq,
                    "at_ms": rev.at_ms,
                }))?;
            }
            Ok(Outcome::Success)
        }
        LedgerCommand::Span { fixation, from, to } => {
            let registry = open_registry(config)?;
            let on = registry.view().performers_between(fixation, from, to)?;
            print(
                serde_json::json!({ "fixation": fixation, "from_ms": from, "to_ms": to, "performers": on }),
            )?;
            Ok(Outcome::Success)
        }
        LedgerCommand::Rights {
            fixation,
            territory,
            date,
        } => {
            let registry = open_registry(config)?;
            let view = registry.view();
            let today = avreg_registry::ledger::today();
            let date = date.unwrap_or(today);
            let Some(f) = view.fixation(fixation)? else {
                return Err(Failure::input(anyhow::anyhow!(
                    "fixation {fixation} is not registered"
                )));
            };
            let rights = view.holders(fixation, territory, date)?;
            let term = view.term(&f, territory, date);
            let eligibility = view.eligibility(&f, territory, date)?;
            print(serde_json::json!({
                "fixation": fixation, "territory": territory, "date": date,
                "rights": rights, "term": term, "eligibility": eligibility,
            }))?;
            Ok(Outcome::Success)
        }
        LedgerCommand::Conflicts { all } => {
            let registry = open_registry(config)?;
            let conflicts = registry.view().conflicts(!all, None)?;
            print(serde_json::json!({ "conflicts": conflicts }))?;
            Ok(Outcome::Success)
        }
        LedgerCommand::Respond {
            conflict,
            party,
            note,
        } => {
            let party = parse_party(&party).map_err(Failure::input)?;
            let registry = open_registry(config)?;
            let c = registry.respond_to_conflict(actor, conflict, party, &note)?;
            print(serde_json::json!({ "conflict": c }))?;
            Ok(Outcome::Success)
        }
        LedgerCommand::Resolve {
            conflict,
            resolution,
            note,
        } => {
            let resolution: Resolution = serde_json::from_value(serde_json::Value::String(
                resolution.clone(),
            ))
            .map_err(|_| Failure::input(anyhow::anyhow!("unknown resolution `{resolution}`")))?;
            let registry = open_registry(config)?;
            let c = registry.rule_on_conflict(actor, conflict, resolution, &note)?;
            print(serde_json::json!({ "conflict": c }))?;
            Ok(Outcome::Success)
        }
    }
}
