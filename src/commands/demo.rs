//! `avreg demo`: registers the bundled fixtures in the store and identifies
//! a degraded excerpt of one of them (sped up, quieter, noisy), showing the
//! whole path a platform's lookup takes.

use avreg_fingerprint::video::Role;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use avreg_decode::audio::{decode_audio_file, DecodeOptions};
use avreg_fingerprint::audio::synth::{add_noise, gain, speed_up};
use avreg_fingerprint::audio::AudioFingerprinter;
use avreg_registry::{NewRecording, Registration};

use crate::config::Config;
use crate::output::clock;
use crate::{media, Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of media to register (default: the bundled fixtures/demo).
    #[arg(long)]
    fixtures: Option<PathBuf>,
}

/// Edits applied to the excerpt.
const SPEED: f32 = 1.03;
const GAIN_DB: f32 = -9.0;
const SNR_DB: f32 = 10.0;
const EXCERPT_MS: u64 = 6_000;

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let dir = args.fixtures.unwrap_or_else(default_fixtures);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| super::file_error(&dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| media::is_media(p))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(super::file_error(&dir, "no media files"));
    }
    let registry = super::open_registry(config)?;
    outln!(
        "1. registering {} recordings from {} into {}",
        files.len(),
        dir.display(),
        config.store.data_dir.display()
    );
    let mut registered = Vec::new();
    for path in &files {
        let a = media::analyse(path, config, Role::Reference)
            .map_err(|e| super::file_error(path, e))?;
        let title = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let r = registry.register(NewRecording {
            title,
            content: avreg_registry::Content::Computed(a.content_hash),
            fingerprint: a.fingerprint,
            source_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            video: a.video,
            media: a.tracks,
        })?;
        let what = if let Registration::Registered(_) = r {
            "registered"
        } else {
            "already registered"
        };
        let rec = r.recording();
        outln!(
            "   {what:18} {} \"{}\" {}",
            rec.id,
            rec.title,
            clock(rec.duration_ms)
        );
        registered.push(rec.clone());
    }
    registry.flush()?;

    // Cut an excerpt out of the middle of the first recording and degrade it.
    let source = &files[0];
    let (pcm, rate) = decode_mono(source)?;
    let total_ms = pcm.len() as u64 * 1000 / u64::from(rate);
    let start_ms = (total_ms / 3).min(total_ms.saturating_sub(EXCERPT_MS));
    let a = (start_ms * u64::from(rate) / 1000) as usize;
    let b = (a + (EXCERPT_MS * u64::from(rate) / 1000) as usize).min(pcm.len());
    let clip = degrade(&pcm[a..b]);
    outln!(
        "2. a platform's clip: {} of \"{}\" from {}, sped up ×{SPEED}, {GAIN_DB} dB, white noise at {SNR_DB} dB SNR",
        clock(EXCERPT_MS),
        registered[0].title,
        clock(start_ms)
    );
    let audio = config.registry_options().matching.audio;
    let mut fp = AudioFingerprinter::new(audio, rate, 1).map_err(Failure::internal)?;
    fp.consume(&clip);
    let query = fp.finish();
    let matches = registry.lookup(&query)?;
    outln!("3. lookup:");
    for m in &matches {
        outln!(
            "   {} \"{}\" score {:.2}: clip {}+{} is recording {}+{} at speed ×{:.3}",
            m.recording.id,
            m.recording.title,
            m.score,
            clock(m.query_start_ms),
            clock(m.query_duration_ms),
            clock(m.ref_start_ms),
            clock(m.ref_duration_ms),
            m.speed
        );
    }
    match matches.first() {
        Some(m) if m.recording.id == registered[0].id => {
            outln!(
                "   identified; the excerpt really starts at {}",
                clock(start_ms)
            );
            Ok(Outcome::Success)
        }
        _ => Err(Failure::internal(anyhow!(
            "the demo excerpt was not identified"
        ))),
    }
}

fn default_fixtures() -> PathBuf {
    let local = Path::new("fixtures/demo");
    if local.is_dir() {
        local.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
    }
}

/// Decodes a (small) file to mono PCM in memory.
fn decode_mono(path: &Path) -> Result<(Vec<f32>, u32), Failure> {
    let mut pcm = Vec::new();
    let mut rate = 0;
    decode_audio_file(
        path,
        &DecodeOptions::default(),
        &mut |samples, r, channels| {
            rate = r;
            let ch = usize::from(channels.max(1));
            pcm.extend(
                samples
                    .chunks_exact(ch)
                    .map(|f| f.iter().sum::<f32>() / ch as f32),
            );
        },
    )
    .map_err(|e| super::file_error(path, e))?;
    Ok((pcm, rate))
}

/// Speed change, gain, then seeded white noise.
fn degrade(pcm: &[f32]) -> Vec<f32> {
    add_noise(&gain(&speed_up(pcm, SPEED), GAIN_DB), SNR_DB, 7)
}
