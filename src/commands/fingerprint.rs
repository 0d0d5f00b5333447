//! `avreg fingerprint FILE [--json]`.

use std::path::PathBuf;

use crate::config::Config;
use crate::output::{print_json, FingerprintDoc, FingerprintJson, JSON_VERSION};
use crate::{media, Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The media file.
    file: PathBuf,
    /// Print JSON (documented in the README) instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let a = media::analyse(&args.file, config).map_err(|e| super::file_error(&args.file, e))?;
    let audio = config.registry_options().matching.audio;
    let fp = FingerprintJson::new(&a.fingerprint, &audio);
    if args.json {
        print_json(&FingerprintDoc {
            version: JSON_VERSION,
            file: args.file.display().to_string(),
            content_hash: a.content_hash.to_hex(),
            duration_ms: a.fingerprint.duration_ms(),
            audio: a.info,
            fingerprint: fp,
        })?;
    } else {
        outln!(
            "{}: {} {} Hz {} ch, {}, {} peaks ({} reference), {} index hashes, blake3 {}",
            args.file.display(),
            a.info.codec,
            a.info.sample_rate,
            a.info.channels,
            crate::output::clock(a.fingerprint.duration_ms()),
            fp.peaks,
            fp.reference_peaks,
            fp.reference_hashes,
            a.content_hash
        );
    }
    Ok(Outcome::Success)
}
