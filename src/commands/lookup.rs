//! `avreg lookup CLIP [--territory T] [--date D] [--json]`: exit status 0
//! with matches, 1 without. The answer is the API's (`POST /v1/lookup`):
//! the matches with their spans and, for a fixation's media, who performs
//! in the matched span and who holds which right in the territory.

use std::path::{Path, PathBuf};

use anyhow::Context;
use avreg_fingerprint::video::Role;
use avreg_registry::domain::treaty::Applicability;
use avreg_registry::ledger::MatchRights;
use avreg_registry::Medium;
use avreg_wire::{parse_rights, FingerprintDoc, Fingerprints, LookupDoc, LookupResult, QueryJson};

use crate::config::Config;
use crate::output::{clock, print_json};
use crate::{media, Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The clip: a media file (audio, video or a picture), or the JSON printed by
    /// `avreg fingerprint --json` (for parties who fingerprint locally).
    clip: PathBuf,
    /// The territory (ISO 3166-1 alpha-2) whose right holders and term to
    /// report for each match (default: those the fingerprint JSON asks, if any).
    #[arg(long, value_name = "COUNTRY")]
    territory: Option<String>,
    /// The date the rights are asked for (YYYY-MM-DD, default today).
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Print JSON (documented in the README) instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    // The content hash is the registry's own only for a file it read: a
    // hash in a fingerprint JSON is a claim and never an exact match.
    let (fp, content_hash, asked) = if args.clip.extension().is_some_and(|e| e == "json") {
        let doc = read_fingerprint_json(&args.clip)
            .map_err(|e| super::file_error(&args.clip, format!("{e:#}")))?;
        let (fp, _claimed) = doc.decode().map_err(|e| super::file_error(&args.clip, e))?;
        (fp, None, (doc.territory, doc.date))
    } else {
        let a = media::analyse(&args.clip, config, Role::Query)
            .map_err(|e| super::file_error(&args.clip, e))?;
        let fp = Fingerprints {
            audio: a.fingerprint,
            video: a.video,
            tracks: a.tracks,
        };
        (fp, Some(a.content_hash), (None, None))
    };
    let rights = parse_rights(
        args.territory.as_deref().or(asked.0.as_deref()),
        args.date.as_deref().or(asked.1.as_deref()),
    )
    .map_err(|e| Failure::input(anyhow::anyhow!("--{e}")))?;
    fp.check_query(config.lookup.min_query_ms)
        .map_err(|e| super::file_error(&args.clip, e))?;
    let registry = super::open_registry(config)?;
    let found = registry.identify(
        fp.has_sound().then_some(&fp.audio),
        fp.video.as_ref(),
        &rights,
    )?;
    let query = QueryJson {
        file: Some(args.clip.display().to_string()),
        duration_ms: fp.duration_ms(),
        content_hash: content_hash.map(|h| h.to_hex()).unwrap_or_default(),
        medium: fp.medium(),
        tracks: fp.tracks,
    };
    let result = LookupResult::new(query, found, content_hash.as_ref());
    let matched = !result.matches.is_empty();
    if args.json {
        print_json(&LookupDoc::from(result))?;
    } else if !matched {
        outln!("{}: no match", args.clip.display());
    } else {
        print_summary(&result);
    }
    Ok(if matched {
        Outcome::Success
    } else {
        Outcome::NoMatch
    })
}

/// One line per match, then what the ledger says of its span.
fn print_summary(result: &LookupResult) {
    for m in &result.matches {
        let evidence = match (m.medium, &m.video) {
            (Medium::Audio, _) | (_, None) => {
                if (m.pitch - m.speed).abs() < 1e-4 {
                    format!("{} hashes, speed ×{:.3}", m.aligned_hashes, m.speed)
                } else {
                    format!(
                        "{} hashes, tempo ×{:.3}, pitch ×{:.3}",
                        m.aligned_hashes, m.speed, m.pitch
                    )
                }
            }
            (medium, Some(v)) => format!(
                "{medium}: {} hashes, {} frames at {:.1} bits{}",
                m.aligned_hashes,
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
            clock(m.query.start_ms),
            clock(m.query.duration_ms),
            clock(m.reference.start_ms),
            clock(m.reference.duration_ms),
            if m.exact_content_match {
                ", identical file"
            } else {
                ""
            }
        );
        if let Some(f) = &m.fixation {
            print_rights(f);
        }
    }
}

fn print_rights(f: &MatchRights) {
    outln!("  fixation {} \"{}\"", f.id, f.title);
    for p in &f.performers {
        let name = p.display_name.as_deref().unwrap_or("(unnamed)");
        let character = p
            .credit
            .character
            .as_deref()
            .map(|c| format!(" as {c}"))
            .unwrap_or_default();
        outln!(
            "  performer {} {name} ({}){character}: {:.0}% of the span",
            p.performer_id,
            p.credit.role,
            p.fraction * 100.0
        );
    }
    let Some(territory) = f.territory else {
        return;
    };
    for r in f.rights.iter().flatten() {
        let names = |lines: &[avreg_registry::ledger::HolderLine]| {
            lines
                .iter()
                .map(|h| {
                    h.holder_name.clone().unwrap_or_else(|| {
                        avreg_registry::ledger::EntityRef::from(h.holding.holder).to_string()
                    })
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let exclusive = names(&r.exclusive);
        let remuneration = names(&r.remuneration);
        outln!(
            "  {} in {territory} on {}: {}{}",
            r.right,
            f.date,
            if exclusive.is_empty() {
                "no exclusive holder"
            } else {
                &exclusive
            },
            if remuneration.is_empty() {
                String::new()
            } else {
                format!("; remuneration: {remuneration}")
            }
        );
    }
    if let Some(t) = &f.term {
        match (&t.term, &t.error) {
            (Some(term), _) => match term.ends {
                Some(ends) => outln!(
                    "  term in {territory}: until {ends}{}",
                    if t.expired == Some(true) {
                        " (expired)"
                    } else {
                        ""
                    }
                ),
                None => outln!("  term in {territory}: no rule gives one"),
            },
            (None, Some(why)) => outln!("  term in {territory}: unknown ({why})"),
            (None, None) => {}
        }
    }
    if let Some(e) = &f.eligibility {
        let status = match e.status {
            Applicability::Applies => "applies",
            Applicability::NotApplicable => "does not apply",
            Applicability::Unknown => "unknown",
        };
        outln!(
            "  Beijing Treaty in {territory}: {status} ({})",
            e.reasons.join("; ")
        );
        for m in &e.missing {
            outln!("    missing: {m}");
        }
        outln!("  broadcasting (Art. 11): {}", e.broadcasting.rule);
    }
}

/// Reads `avreg fingerprint --json` output.
fn read_fingerprint_json(path: &Path) -> anyhow::Result<FingerprintDoc> {
    let text = std::fs::read_to_string(path).context("cannot read")?;
    serde_json::from_str(&text).context("not a fingerprint document")
}
