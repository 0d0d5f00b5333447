//! `avreg fingerprint FILE [--for register|lookup] [--json]`.

use std::path::PathBuf;

use avreg_fingerprint::video::Role;

use crate::config::Config;
use crate::output::{print_json, FingerprintDoc, FingerprintJson, VideoJson, JSON_VERSION};
use crate::{media, Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The media file (audio, video, or a picture).
    file: PathBuf,
    /// What the fingerprint is for: `lookup` (a clip to identify; the
    /// picture is also hashed mirrored) or `register` (a recording; cropped
    /// views of each frame are hashed too).
    #[arg(long = "for", default_value = "lookup", value_parser = ["lookup", "register"])]
    purpose: String,
    /// Print JSON (documented in the README) instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let role = if args.purpose == "register" {
        Role::Reference
    } else {
        Role::Query
    };
    let a =
        media::analyse(&args.file, config, role).map_err(|e| super::file_error(&args.file, e))?;
    let audio = config.registry_options().matching.audio;
    let fp = FingerprintJson::new(&a.fingerprint, &audio);
    if args.json {
        print_json(&FingerprintDoc {
            version: JSON_VERSION,
            file: args.file.display().to_string(),
            content_hash: a.content_hash.to_hex(),
            duration_ms: a.duration_ms(),
            medium: a.medium(),
            video: match (&a.video, &a.video_info) {
                (Some(v), Some(i)) => Some(VideoJson::new(v, i.clone(), role)),
                _ => None,
            },
            audio: a.info,
            fingerprint: fp,
            tracks: a.tracks,
        })?;
    } else {
        let sound = match &a.info {
            Some(i) => format!(
                "{} {} Hz {} ch, {} peaks ({} reference), {} index hashes",
                i.codec,
                i.sample_rate,
                i.channels,
                fp.peaks,
                fp.reference_peaks,
                fp.reference_hashes
            ),
            None => "no sound".to_owned(),
        };
        let picture = match (&a.video, &a.video_info) {
            (Some(v), Some(i)) => format!(
                "{} {}x{}, {} frames sampled, {} hashes",
                i.codec,
                i.width,
                i.height,
                v.sampled_frames(),
                v.frames.len()
            ),
            _ => "no picture".to_owned(),
        };
        outln!(
            "{}: {}; {}; {}, blake3 {}",
            args.file.display(),
            sound,
            picture,
            crate::output::clock(a.duration_ms()),
            a.content_hash
        );
    }
    Ok(Outcome::Success)
}
