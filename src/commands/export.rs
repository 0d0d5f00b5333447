//! `avreg export …`: the reports of collecting societies and performers, in
//! CSV or JSON (columns in the README).

use std::io::Write;

use avreg_registry::domain::date::Date;
use avreg_registry::domain::ids::{FixationId, OrganisationId, PerformerId};
use avreg_registry::domain::territory::Country;
use avreg_registry::ledger::export::{self, Export};
use avreg_registry::ledger::today;
use serde::Serialize;

use super::open_registry;
use crate::config::Config;
use crate::output::print_json;
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// csv or json.
    #[arg(long, global = true, default_value = "csv", value_parser = ["csv", "json"])]
    format: String,
    #[command(subcommand)]
    command: ExportCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ExportCommand {
    /// A society's repertoire: fixations of performers who mandated it,
    /// with line-ups and segments.
    Repertoire {
        /// The society's organisation id.
        #[arg(long)]
        society: OrganisationId,
        /// Mandates in force on this date (default: today).
        #[arg(long)]
        date: Option<Date>,
    },
    /// A performer's statement: every credit, with moral rights and
    /// holdings.
    Statement {
        /// The performer's id.
        #[arg(long)]
        performer: PerformerId,
    },
    /// Open conflicts (or all, with --all).
    Conflicts {
        /// Resolved ones too.
        #[arg(long)]
        all: bool,
    },
    /// Fixations whose term ends in a year, in a territory.
    Expiring {
        /// The year.
        #[arg(long)]
        year: i32,
        /// ISO 3166-1 alpha-2 country code.
        #[arg(long)]
        territory: Country,
    },
    /// The RMI manifest of a fixation (JSON only): performers, holders and
    /// terms per territory.
    Rmi {
        /// The fixation id.
        #[arg(long)]
        fixation: FixationId,
        /// Territories (repeat).
        #[arg(long = "territory", required = true)]
        territories: Vec<Country>,
        /// The date it speaks for (default: today).
        #[arg(long)]
        date: Option<Date>,
    },
}

fn emit<T: Serialize>(
    format: &str,
    kind: &'static str,
    rows: Vec<T>,
    csv: impl FnOnce(&[T]) -> String,
) -> Result<(), Failure> {
    if format == "json" {
        return print_json(&Export::new(kind, rows));
    }
    let mut out = std::io::stdout().lock();
    match out
        .write_all(csv(&rows).as_bytes())
        .and_then(|()| out.flush())
    {
        // The reader went away (`| head`): not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => {
            other.map_err(|e| Failure::internal(anyhow::anyhow!("cannot write the export: {e}")))
        }
    }
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let registry = open_registry(config)?;
    let view = registry.view();
    let today = today();
    let format = args.format.as_str();
    match args.command {
        ExportCommand::Repertoire { society, date } => {
            if view.organisation(society)?.is_none() {
                return Err(Failure::input(anyhow::anyhow!(
                    "organisation {society} is not registered"
                )));
            }
            let rows = view.repertoire(society, date.unwrap_or(today))?;
            emit(format, "repertoire", rows, export::repertoire_csv)?;
        }
        ExportCommand::Statement { performer } => {
            if view.performer(performer)?.is_none() {
                return Err(Failure::input(anyhow::anyhow!(
                    "performer {performer} is not registered"
                )));
            }
            let rows = view.statement(performer)?;
            emit(format, "statement", rows, export::statement_csv)?;
        }
        ExportCommand::Conflicts { all } => {
            let rows = view.conflicts(!all, None)?;
            emit(format, "conflicts", rows, export::conflicts_csv)?;
        }
        ExportCommand::Expiring { year, territory } => {
            let rows = view.expiring(year, territory, today)?;
            emit(format, "expiring", rows, export::expiring_csv)?;
        }
        ExportCommand::Rmi {
            fixation,
            territories,
            date,
        } => {
            let Some(manifest) =
                export::rmi_manifest(&view, fixation, &territories, date.unwrap_or(today))?
            else {
                return Err(Failure::input(anyhow::anyhow!(
                    "fixation {fixation} is not registered"
                )));
            };
            print_json(&manifest)?;
        }
    }
    Ok(Outcome::Success)
}
