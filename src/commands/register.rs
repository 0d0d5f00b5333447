//! `avreg register FILE --title T [--json]`.

use avreg_fingerprint::video::Role;
use std::path::PathBuf;

use avreg_registry::NewRecording;

use crate::config::Config;
use avreg_wire::RegisterDoc;

use crate::output::print_json;
use crate::{media, Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The media file.
    file: PathBuf,
    /// Title of the recording.
    #[arg(long)]
    title: String,
    /// Register it as the media of this fixation (see `avreg ledger`): its
    /// fingerprint is then checked against every other fixation's media,
    /// and overlaps with other registrants' fixations that no declared
    /// relation explains are recorded as conflicts.
    #[arg(long, value_name = "FIXATION_ID")]
    fixation: Option<avreg_registry::domain::ids::FixationId>,
    /// Print JSON (documented in the README) instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    if args.title.trim().is_empty() {
        return Err(Failure::input(anyhow::anyhow!("--title must not be empty")));
    }
    // Analyse before opening the store: bad media never touches it.
    let a = media::analyse(&args.file, config, Role::Reference)
        .map_err(|e| super::file_error(&args.file, e))?;
    let registry = super::open_registry(config)?;
    let new = NewRecording {
        title: args.title.trim().to_string(),
        content: avreg_registry::Content::Computed(a.content_hash),
        fingerprint: a.fingerprint,
        source_name: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        video: a.video,
        media: a.tracks,
    };
    let actor = config.registry.actor.as_str();
    let result = match args.fixation {
        Some(f) => registry
            .attach_media(actor, f, new)
            .map(|(r, applied)| (r, applied.opened)),
        None => registry.register_as(actor, new).map(|r| (r, Vec::new())),
    };
    let (registration, conflicts_opened) = result.map_err(|e| match Failure::from(e) {
        Failure::Input(e) => super::file_error(&args.file, e),
        other => other,
    })?;
    registry.flush()?;
    let recording = registration.recording();
    if args.json {
        print_json(&RegisterDoc::new(
            &registration,
            args.fixation.map(|f| (f, conflicts_opened)),
        ))?;
    } else if registration.is_new() {
        outln!(
            "registered {} \"{}\" ({})",
            recording.id,
            recording.title,
            crate::output::clock(recording.duration_ms)
        );
        if let Some(f) = args.fixation {
            outln!("as the media of fixation {f}");
        }
        for c in &conflicts_opened {
            outln!(
                "conflict {} opened: {} with {} (respond by {})",
                c.id,
                c.kind,
                c.subjects
                    .iter()
                    .map(|&s| avreg_registry::ledger::EntityRef::from(s).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                c.respond_by
            );
        }
    } else {
        outln!(
            "already registered as {} \"{}\": same content hash, nothing written",
            recording.id,
            recording.title
        );
    }
    Ok(Outcome::Success)
}
