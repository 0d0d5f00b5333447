//! `avreg lookup CLIP [--json]`: exit status 0 with matches, 1 without.

use std::path::{Path, PathBuf};

use anyhow::Context;
use avreg_fingerprint::audio::AudioFingerprint;
use avreg_fingerprint::video::{Role, VideoFingerprint};
use avreg_fingerprint::ContentHash;
use base64::Engine;

use crate::config::Config;
use crate::output::{clock, print_json, LookupDoc, MatchJson, QueryJson, JSON_VERSION};
use crate::{media, Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The clip: a media file (audio, video or a picture), or the JSON printed by
    /// `avreg fingerprint --json` (for parties who fingerprint locally).
    clip: PathBuf,
    /// Print JSON (documented in the README) instead of a summary.
    #[arg(long)]
    json: bool,
}

/// A query: its fingerprints, and the clip's content hash when known.
struct Query {
    audio: AudioFingerprint,
    video: Option<VideoFingerprint>,
    content_hash: Option<ContentHash>,
    medium: &'static str,
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let query = if args.clip.extension().is_some_and(|e| e == "json") {
        read_fingerprint_json(&args.clip)
            .map_err(|e| super::file_error(&args.clip, format!("{e:#}")))?
    } else {
        let a = media::analyse(&args.clip, config, Role::Query)
            .map_err(|e| super::file_error(&args.clip, e))?;
        Query {
            medium: a.medium(),
            audio: a.fingerprint,
            video: a.video,
            content_hash: Some(a.content_hash),
        }
    };
    let has_sound = !query.audio.is_silent();
    let duration_ms = query
        .audio
        .duration_ms()
        .max(query.video.as_ref().map_or(0, |v| v.duration_ms));
    if has_sound || query.video.is_none() {
        query
            .audio
            .check_query(config.lookup.min_query_ms)
            .map_err(|e| super::file_error(&args.clip, e))?;
    }
    let registry = super::open_registry(config)?;
    let matches = registry.lookup_media(has_sound.then_some(&query.audio), query.video.as_ref())?;
    let content_hash = query.content_hash;
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
                duration_ms,
                content_hash: content_hash.map(|h| h.to_hex()).unwrap_or_default(),
                medium: query.medium,
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
            let evidence = match (m.medium, &m.video) {
                (avreg_registry::Medium::Audio, _) | (_, None) => {
                    format!("{} hashes, speed ×{:.3}", m.aligned, m.speed)
                }
                (medium, Some(v)) => format!(
                    "{medium:?}: {} hashes, {} frames at {:.1} bits{}",
                    m.aligned,
                    v.aligned_frames,
                    v.mean_distance,
                    if v.mirrored { ", mirrored" } else { "" }
                ),
            };
            outln!(
                "{} \"{}\": score {:.2} ({}), clip {}+{} = recording {}+{}{}",
                m.recording.id,
                m.recording.title,
                m.score,
                evidence,
                clock(m.query_start_ms),
                clock(m.query_duration_ms),
                clock(m.ref_start_ms),
                clock(m.ref_duration_ms),
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

/// Reads the fingerprints out of `avreg fingerprint --json` output.
fn read_fingerprint_json(path: &Path) -> anyhow::Result<Query> {
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
    let audio = AudioFingerprint::from_bytes(&bytes)?;
    let video = match doc
        .pointer("/video/data")
        .and_then(serde_json::Value::as_str)
    {
        Some(data) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .context("video.data is not base64")?;
            Some(VideoFingerprint::from_bytes(&bytes)?)
        }
        None => None,
    };
    let content_hash = doc
        .get("content_hash")
        .and_then(serde_json::Value::as_str)
        .and_then(|h| h.parse().ok());
    let medium = match (audio.is_silent(), video.is_some()) {
        (false, true) => "both",
        (true, true) => "video",
        _ => "audio",
    };
    Ok(Query {
        audio,
        video,
        content_hash,
        medium,
    })
}
