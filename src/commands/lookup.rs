//! `avreg lookup CLIP [--json]`: exit status 0 with matches, 1 without.

use std::path::{Path, PathBuf};

use anyhow::Context;
use avreg_fingerprint::audio::AudioFingerprint;
use avreg_fingerprint::ContentHash;
use base64::Engine;

use crate::config::Config;
use crate::output::{clock, print_json, LookupDoc, MatchJson, QueryJson, JSON_VERSION};
use crate::{media, Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The clip: a media file, or the JSON printed by
    /// `avreg fingerprint --json` (for parties who fingerprint locally).
    clip: PathBuf,
    /// Print JSON (documented in the README) instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let (fingerprint, content_hash) = if args.clip.extension().is_some_and(|e| e == "json") {
        read_fingerprint_json(&args.clip)
            .map_err(|e| super::file_error(&args.clip, format!("{e:#}")))?
    } else {
        let a = media::analyse(&args.clip, config).map_err(|e| super::file_error(&args.clip, e))?;
        (a.fingerprint, Some(a.content_hash))
    };
    fingerprint
        .check_query(config.lookup.min_query_ms)
        .map_err(|e| super::file_error(&args.clip, e))?;
    let registry = super::open_registry(config)?;
    let matches = registry.lookup(&fingerprint)?;
    let exact = |m: &avreg_registry::LookupMatch| {
        content_hash.is_some_and(|h| h == m.recording.content_hash)
    };
    if args.json {
        print_json(&LookupDoc {
            version: JSON_VERSION,
            status: if matches.is_empty() {
                "no_match"
            } else {
                "match"
            },
            query: QueryJson {
                file: args.clip.display().to_string(),
                duration_ms: fingerprint.duration_ms(),
                content_hash: content_hash.map(|h| h.to_hex()).unwrap_or_default(),
            },
            matches: matches
                .iter()
                .map(|m| MatchJson::new(m, exact(m)))
                .collect(),
        })?;
    } else if matches.is_empty() {
        outln!("{}: no match", args.clip.display());
    } else {
        for m in &matches {
            outln!(
                "{} \"{}\": score {:.2} ({} hashes), clip {}+{} = recording {}+{}, speed ×{:.3}{}",
                m.recording.id,
                m.recording.title,
                m.score,
                m.aligned,
                clock(m.query_start_ms),
                clock(m.query_duration_ms),
                clock(m.ref_start_ms),
                clock(m.ref_duration_ms),
                m.speed,
                if exact(m) { ", identical file" } else { "" }
            );
        }
    }
    Ok(if matches.is_empty() {
        Outcome::NoMatch
    } else {
        Outcome::Success
    })
}

/// Reads the fingerprint out of `avreg fingerprint --json` output.
fn read_fingerprint_json(path: &Path) -> anyhow::Result<(AudioFingerprint, Option<ContentHash>)> {
    let text = std::fs::read_to_string(path).context("cannot read")?;
    let doc: serde_json::Value = serde_json::from_str(&text).context("not JSON")?;
    let version = doc.get("version").and_then(serde_json::Value::as_u64);
    anyhow::ensure!(
        version == Some(u64::from(JSON_VERSION)),
        "unsupported JSON version {version:?}"
    );
    let data = doc
        .pointer("/fingerprint/data")
        .and_then(serde_json::Value::as_str)
        .context("no fingerprint.data field")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .context("fingerprint.data is not base64")?;
    let fingerprint = AudioFingerprint::from_bytes(&bytes)?;
    let hash = doc
        .get("content_hash")
        .and_then(serde_json::Value::as_str)
        .and_then(|h| h.parse().ok());
    Ok((fingerprint, hash))
}
