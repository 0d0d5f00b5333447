//! The parts that exercise avreg itself: registration with its speed
//! measurements, the Chromaprint baseline on the same files, and lookups.
//!
//! Everything timed here runs on one thread, one step at a time, so the
//! figures are per core.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use avreg_decode::audio::{decode_audio_file, fingerprint_audio_file, DecodeOptions};
use avreg_fingerprint::audio::{AudioConfig, AudioFingerprinter};
use avreg_registry::{NewRecording, Registration, Registry};

use super::cases::{Clip, Slot};
use super::corpus::Item;
use super::report::{Best, Note, Outcome, Query, RegistryFigures, SpeedFigures, Top};
use super::tools::{self, ffmpeg};
use super::Progress;

/// Offsets within this distance of the truth (speed-adjusted) are correct.
pub const OFFSET_TOLERANCE_MS: i64 = 500;

/// Frames handed to the fingerprinter per call when timing it on PCM in
/// memory (about what a decoder packet holds).
const CHUNK_FRAMES: usize = 4096;

fn whole_file() -> DecodeOptions {
    DecodeOptions {
        max_duration_ms: None,
        start_ms: 0,
        length_ms: None,
    }
}

/// Per-file timings of the registration pass.
#[derive(Clone, Debug, Default)]
pub struct FileTiming {
    pub item: usize,
    pub audio_s: f64,
    pub decode_s: f64,
    pub fingerprint_s: f64,
    pub ingest_s: f64,
}

/// What registration produced.
#[derive(Debug, Default)]
pub struct Ingest {
    /// For each registered item, the title a correct match carries (its own,
    /// or that of an earlier file with the same bytes).
    pub expected_title: HashMap<usize, String>,
    pub failures: Vec<Note>,
    pub timings: Vec<FileTiming>,
    pub flush_s: f64,
}

/// Register every item of `registered`, measuring for each file: our decoder
/// alone (into memory), the fingerprinter alone on that PCM, and end-to-end
/// ingest (streaming decode + fingerprint + content hash + register).
pub fn ingest(registry: &Registry, items: &[Item], registered: &[usize]) -> Result<Ingest> {
    let config = AudioConfig::default();
    let mut out = Ingest::default();
    let mut progress = Progress::new("register", registered.len());
    for &i in registered {
        let item = &items[i];
        progress.tick();
        match ingest_one(registry, &config, item) {
            Ok((timing, registration)) => {
                let rec = registration.recording();
                if !registration.is_new() {
                    out.failures.push(Note {
                        file: item.rel.clone(),
                        note: format!("same bytes as {}, registered once", rec.title),
                    });
                }
                out.expected_title.insert(i, rec.title.clone());
                out.timings.push(FileTiming { item: i, ..timing });
            }
            Err(e) => {
                eprintln!("eval: could not register {}: {e:#}", item.rel);
                out.failures.push(Note {
                    file: item.rel.clone(),
                    note: format!("not registered: {e:#}"),
                });
            }
        }
    }
    let t = Instant::now();
    registry.flush()?;
    out.flush_s = t.elapsed().as_secs_f64();
    Ok(out)
}

fn ingest_one(
    registry: &Registry,
    config: &AudioConfig,
    item: &Item,
) -> Result<(FileTiming, Registration)> {
    // 1. Our decoder alone, into memory.
    let t = Instant::now();
    let mut pcm: Vec<f32> = Vec::new();
    let mut format: Option<(u32, u16)> = None;
    let mut format_changed = false;
    decode_audio_file(&item.path, &whole_file(), &mut |samples, rate, channels| {
        match format {
            None => format = Some((rate, channels)),
            Some(f) if f != (rate, channels) => format_changed = true,
            Some(_) => {}
        }
        pcm.extend_from_slice(samples);
    })?;
    let decode_s = t.elapsed().as_secs_f64();
    let (rate, channels) = format.context("decoder produced no audio")?;
    if format_changed {
        return Err(anyhow!("sample rate or channel count changed mid-stream"));
    }

    // 2. The fingerprinter alone, on that PCM.
    let t = Instant::now();
    let mut fingerprinter = AudioFingerprinter::new(config.clone(), rate, channels)?;
    for chunk in pcm.chunks(CHUNK_FRAMES * usize::from(channels)) {
        fingerprinter.consume(chunk);
    }
    let in_memory = fingerprinter.finish();
    let fingerprint_s = t.elapsed().as_secs_f64();
    let audio_s = pcm.len() as f64 / f64::from(channels) / f64::from(rate);
    drop(pcm);

    // 3. End to end, as `avreg register` would do it.
    let t = Instant::now();
    let (fingerprint, _info) = fingerprint_audio_file(&item.path, config, &whole_file())?;
    let content_hash = avreg_decode::hash_file(&item.path)?;
    let registration = registry.register(NewRecording {
        title: item.rel.clone(),
        content: avreg_registry::Content::Computed(content_hash),
        fingerprint,
        source_name: item
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        video: None,
        media: Vec::new(),
    })?;
    let ingest_s = t.elapsed().as_secs_f64();
    if let Registration::Registered(rec) = &registration {
        // The streaming path must give the fingerprint the in-memory path gave.
        if rec.duration_ms != in_memory.duration_ms() {
            eprintln!(
                "eval: {}: streamed duration {} ms, in-memory {} ms",
                item.rel,
                rec.duration_ms,
                in_memory.duration_ms()
            );
        }
    }
    Ok((
        FileTiming {
            item: 0,
            audio_s,
            decode_s,
            fingerprint_s,
            ingest_s,
        },
        registration,
    ))
}

pub fn registry_figures(registry: &Registry) -> Result<RegistryFigures> {
    let s = registry.stats()?;
    let audio_s = s.audio_ms as f64 / 1000.0;
    let per_s = |b: u64| {
        if audio_s > 0.0 {
            b as f64 / audio_s
        } else {
            f64::NAN
        }
    };
    Ok(RegistryFigures {
        recordings: s.recordings,
        audio_s,
        postings: s.postings,
        index_bytes: s.index_bytes,
        store_bytes: s.store_bytes,
        segments: s.segments as u64,
        index_bytes_per_s: per_s(s.index_bytes),
        store_bytes_per_s: per_s(s.store_bytes),
    })
}

/// Speed figures: ours from the registration pass, Chromaprint's `fpcalc`
/// on the same files, once on the originals and once on WAV files FFmpeg
/// decoded beforehand (made in `scratch`, deleted after timing).
pub fn speed_figures(
    ingest: &Ingest,
    items: &[Item],
    scratch: &Path,
    run_fpcalc: bool,
) -> Result<SpeedFigures> {
    let mut s = SpeedFigures {
        files: ingest.timings.len(),
        ..SpeedFigures::default()
    };
    for t in &ingest.timings {
        s.audio_s += t.audio_s;
        s.decode_s += t.decode_s;
        s.fingerprint_s += t.fingerprint_s;
        s.ingest_s += t.ingest_s;
    }
    s.ingest_s += ingest.flush_s;
    if !run_fpcalc {
        return Ok(s);
    }
    std::fs::create_dir_all(scratch)?;
    let wav = scratch.join("fpcalc-input.wav");
    let mut progress = Progress::new("fpcalc", ingest.timings.len());
    for t in &ingest.timings {
        progress.tick();
        let item = &items[t.item];
        let measured = (|| -> Result<(f64, f64)> {
            let on_file = tools::time_fpcalc(&item.path)?.as_secs_f64();
            tools::run(
                ffmpeg()
                    .arg("-i")
                    .arg(&item.path)
                    .args(["-map", "0:a:0", "-vn", "-c:a", "pcm_s16le", "-f", "wav"])
                    .arg(&wav),
            )?;
            let on_wav = tools::time_fpcalc(&wav)?.as_secs_f64();
            Ok((on_file, on_wav))
        })();
        let _ = std::fs::remove_file(&wav);
        match measured {
            Ok((on_file, on_wav)) => {
                s.fpcalc_files += 1;
                s.fpcalc_audio_s += t.audio_s;
                s.fpcalc_file_s += on_file;
                s.fpcalc_wav_s += on_wav;
                s.ours_fingerprint_on_fpcalc_files_s += t.fingerprint_s;
                s.ours_ingest_on_fpcalc_files_s += t.ingest_s;
            }
            Err(e) => eprintln!("eval: fpcalc failed on {}: {e:#}", item.rel),
        }
    }
    Ok(s)
}

/// Look up one clip: time the clip's decode + fingerprint, then
/// `Registry::lookup` alone, and judge the answer.
pub fn query(
    registry: &Registry,
    clip: &Clip,
    slot: &Slot,
    item: &Item,
    expected_title: Option<&str>,
    min_aligned: u32,
) -> Query {
    let mut q = Query {
        recording: item.rel.clone(),
        case: clip.case,
        len_s: slot.len_s,
        start_ms: slot.start_ms,
        positive: slot.positive,
        outcome: Outcome::Error,
        offset_ok: false,
        top: None,
        best: None,
        matches: 0,
        extract_ms: f64::NAN,
        lookup_ms: f64::NAN,
        snr_db: clip.snr_db,
        clip: clip.path.display().to_string(),
        error: None,
    };
    let config = AudioConfig::default();
    let t = Instant::now();
    let fingerprint = match fingerprint_audio_file(&clip.path, &config, &whole_file()) {
        Ok((fp, _)) => fp,
        Err(e) => {
            q.error = Some(format!("fingerprint: {e}"));
            return q;
        }
    };
    q.extract_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let matches = match registry.lookup(&fingerprint) {
        Ok(m) => m,
        Err(e) => {
            q.error = Some(format!("lookup: {e}"));
            return q;
        }
    };
    q.lookup_ms = t.elapsed().as_secs_f64() * 1000.0;
    q.best = matches.first().map(|m| Best {
        aligned: m.aligned,
        correct: expected_title.is_some_and(|t| t == m.recording.title),
    });
    let mut matches = matches;
    matches.retain(|m| m.aligned >= min_aligned);
    q.matches = matches.len();
    let Some(m) = matches.first() else {
        q.outcome = Outcome::NoMatch;
        return q;
    };
    let correct = expected_title.is_some_and(|t| t == m.recording.title);
    let offset_error_ms = correct.then(|| {
        let truth = slot.start_ms as f64 + m.query_start_ms as f64 * clip.case.time_factor();
        (m.ref_start_ms as f64 - truth).round() as i64
    });
    q.outcome = if correct {
        Outcome::Correct
    } else {
        Outcome::Wrong
    };
    q.offset_ok = offset_error_ms.is_some_and(|e| e.abs() <= OFFSET_TOLERANCE_MS);
    q.top = Some(Top {
        title: m.recording.title.clone(),
        score: m.score,
        aligned: m.aligned,
        speed: m.speed,
        query_start_ms: m.query_start_ms,
        ref_start_ms: m.ref_start_ms,
        offset_error_ms,
    });
    q
}

/// The registry answers down to this many agreeing hashes, so that the
/// strength of every query's best candidate is known and thresholds can be
/// calibrated; [`query`] applies the real threshold itself. The search does
/// the same work whatever the threshold (it only filters at the end).
pub const CALIBRATION_FLOOR: u32 = 4;

/// Open a fresh registry in `dir`; `speed_only` searches playback speeds
/// without the tempo-only and pitch-only scales.
pub fn open_registry(dir: &Path, speed_only: bool) -> Result<Registry> {
    let mut options = avreg_registry::RegistryOptions::default();
    options.matching.min_aligned = CALIBRATION_FLOOR;
    if speed_only {
        // The default grid's speeds, without its tempo and pitch scales.
        options
            .matching
            .scales
            .retain(|s| s.axis() == avreg_fingerprint::matching::Axis::Speed);
    }
    Registry::open(dir, options).with_context(|| format!("opening a registry in {}", dir.display()))
}
