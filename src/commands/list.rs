//! `avreg list [--json]`: the registered recordings.

use crate::config::Config;
use avreg_wire::RecordingJson;

use crate::output::{clock, print_json, JSON_VERSION};
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON (documented in the README) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, serde::Serialize)]
struct ListDoc {
    version: u32,
    recordings: Vec<RecordingJson>,
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let registry = super::open_registry(config)?;
    let mut recordings = registry.recordings()?;
    recordings.sort_by_key(|r| r.registered_at_ms);
    if args.json {
        print_json(&ListDoc {
            version: JSON_VERSION,
            recordings: recordings.iter().map(RecordingJson::from).collect(),
        })?;
    } else {
        for r in &recordings {
            outln!(
                "{} {} \"{}\" {}",
                r.id,
                clock(r.duration_ms),
                r.title,
                r.content_hash
            );
        }
    }
    Ok(Outcome::Success)
}
