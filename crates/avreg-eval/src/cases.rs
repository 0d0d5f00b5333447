//! The robustness cases of FINGERPRINTING.md and how each degraded clip is
//! made from a clean excerpt.
//!
//! An excerpt *slot* is a (recording, length, start) triple. For each slot the
//! harness cuts one *base* excerpt with FFmpeg, long enough for the fastest
//! speed case, and derives every case from it: gain and noise mixing are done
//! here (so the SNR is measured on the excerpt itself), codecs and filters by
//! FFmpeg. Every clip is cached under the work directory, keyed by everything
//! that determines its content.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::corpus::Item;
use super::rng::Rng;
use super::tools::{self, ffmpeg};
use super::wav::{self, Pcm, SampleFormat};

/// A degradation applied to an excerpt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Case {
    Clean,
    Mp3_128,
    Mp3_64,
    Aac96,
    Opus32,
    OpusWebm32,
    Opus51,
    Aac51,
    AacMov,
    Volume15,
    White10,
    White0,
    Babble10,
    Babble0,
    Telephone,
    Speed095,
    Speed102,
    Speed105,
    Tempo095,
    Tempo105,
    Pitch095,
    Pitch105,
}

/// Largest source-seconds-per-query-second of any case: the base excerpt is
/// cut this much longer than the query length.
pub const MAX_TIME_FACTOR: f64 = 1.05;

impl Case {
    pub const ALL: [Case; 22] = [
        Case::Clean,
        Case::Mp3_128,
        Case::Mp3_64,
        Case::Aac96,
        Case::Opus32,
        Case::OpusWebm32,
        Case::Opus51,
        Case::Aac51,
        Case::AacMov,
        Case::Volume15,
        Case::White10,
        Case::White0,
        Case::Babble10,
        Case::Babble0,
        Case::Telephone,
        Case::Speed095,
        Case::Speed102,
        Case::Speed105,
        Case::Tempo095,
        Case::Tempo105,
        Case::Pitch095,
        Case::Pitch105,
    ];

    /// Stable name (command line, file names, JSON).
    pub fn name(self) -> &'static str {
        match self {
            Case::Clean => "clean",
            Case::Mp3_128 => "mp3-128k",
            Case::Mp3_64 => "mp3-64k",
            Case::Aac96 => "aac-96k",
            Case::Opus32 => "opus-32k",
            Case::OpusWebm32 => "webm-opus-32k",
            Case::Opus51 => "opus-5.1",
            Case::Aac51 => "aac-5.1",
            Case::AacMov => "mov-aac",
            Case::Volume15 => "volume-15db",
            Case::White10 => "white-10db",
            Case::White0 => "white-0db",
            Case::Babble10 => "babble-10db",
            Case::Babble0 => "babble-0db",
            Case::Telephone => "telephone",
            Case::Speed095 => "speed-0.95",
            Case::Speed102 => "speed-1.02",
            Case::Speed105 => "speed-1.05",
            Case::Tempo095 => "tempo-0.95",
            Case::Tempo105 => "tempo-1.05",
            Case::Pitch095 => "pitch-0.95",
            Case::Pitch105 => "pitch-1.05",
        }
    }

    /// Row label of the table.
    pub fn label(self) -> &'static str {
        match self {
            Case::Clean => "original excerpt (decoded WAV)",
            Case::Mp3_128 => "MP3 128k",
            Case::Mp3_64 => "MP3 64k",
            Case::Aac96 => "AAC 96k (M4A)",
            Case::Opus32 => "Opus 32k (Ogg)",
            Case::OpusWebm32 => "Opus 32k (WebM)",
            Case::Opus51 => "Opus 5.1 192k (Ogg, upmixed)",
            Case::Aac51 => "AAC 5.1 256k (M4A, upmixed)",
            Case::AacMov => "AAC 96k beside H.264 (QuickTime .mov)",
            Case::Volume15 => "volume −15 dB",
            Case::White10 => "white noise 10 dB SNR",
            Case::White0 => "white noise 0 dB SNR",
            Case::Babble10 => "babble 10 dB SNR",
            Case::Babble0 => "babble 0 dB SNR",
            Case::Telephone => "telephone 300–3400 Hz, 8 kHz",
            Case::Speed095 => "speed ×0.95 (resampled)",
            Case::Speed102 => "speed ×1.02 (resampled)",
            Case::Speed105 => "speed ×1.05 (resampled)",
            Case::Tempo095 => "tempo-only ×0.95",
            Case::Tempo105 => "tempo-only ×1.05",
            Case::Pitch095 => "pitch-only ×0.95",
            Case::Pitch105 => "pitch-only ×1.05",
        }
    }

    pub fn parse(name: &str) -> Result<Case> {
        Case::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .with_context(|| {
                let names: Vec<&str> = Case::ALL.iter().map(|c| c.name()).collect();
                format!("unknown case `{name}` (known: {})", names.join(", "))
            })
    }

    /// Seconds of the original per second of the query: a query that starts
    /// at `q` s lines up with `start + q × factor` s of the recording.
    pub fn time_factor(self) -> f64 {
        match self {
            Case::Speed095 | Case::Tempo095 => 0.95,
            Case::Speed102 => 1.02,
            Case::Speed105 | Case::Tempo105 => 1.05,
            _ => 1.0,
        }
    }

    /// Recall target from the issue, for a query length (None: no target).
    pub fn target(self, len_s: u32) -> Option<f64> {
        match (self, len_s) {
            (_, 0..=4) => None,
            (
                Case::Clean
                | Case::Mp3_128
                | Case::Mp3_64
                | Case::Aac96
                | Case::Opus32
                | Case::OpusWebm32
                | Case::Opus51
                | Case::Aac51
                | Case::AacMov
                | Case::Volume15,
                _,
            ) => Some(0.99),
            (Case::White10 | Case::Babble10, 5..=9) => Some(0.95),
            (Case::White10 | Case::Babble10, _) => Some(0.97),
            (Case::White0 | Case::Babble0, 5..=9) => Some(0.70),
            (Case::White0 | Case::Babble0, _) => Some(0.85),
            (Case::Speed102 | Case::Speed105, _) => Some(0.98),
            (Case::Tempo095 | Case::Tempo105 | Case::Pitch095 | Case::Pitch105, 8..) => Some(0.95),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Case::Mp3_128 | Case::Mp3_64 => "mp3",
            Case::Aac96 => "m4a",
            Case::Opus32 | Case::Opus51 => "opus",
            Case::OpusWebm32 => "webm",
            Case::Aac51 => "m4a",
            Case::AacMov => "mov",
            _ => "wav",
        }
    }
}

/// A (recording, length, start) triple from which every case is derived.
#[derive(Clone, Debug, Serialize)]
pub struct Slot {
    /// Index into the corpus items.
    pub item: usize,
    pub len_s: u32,
    /// Excerpt number for this recording and length.
    pub index: u32,
    /// Start of the excerpt in the recording.
    pub start_ms: u64,
    /// From a registered recording (else a negative).
    pub positive: bool,
}

/// Draw excerpt slots: `per_positive` per registered recording and length,
/// `per_negative` per held-out one, at seeded random offsets. Lengths whose
/// base excerpt (length × [`MAX_TIME_FACTOR`]) does not fit are skipped.
pub fn plan_slots(
    items: &[Item],
    registered: &[usize],
    held_out: &[usize],
    lengths: &[u32],
    per_positive: u32,
    per_negative: u32,
    seed: u64,
) -> Vec<Slot> {
    let mut slots = Vec::new();
    for (set, per, positive) in [
        (registered, per_positive, true),
        (held_out, per_negative, false),
    ] {
        for &i in set {
            let dur_ms = (items[i].duration_s() * 1000.0).floor() as u64;
            for &len in lengths {
                let span_ms = base_span_ms(len);
                if span_ms > dur_ms {
                    continue;
                }
                for index in 0..per {
                    let label = format!("offset/{}/{len}/{index}", items[i].rel);
                    let start_ms = Rng::derive(seed, &label).below(dur_ms - span_ms + 1);
                    slots.push(Slot {
                        item: i,
                        len_s: len,
                        index,
                        start_ms,
                        positive,
                    });
                }
            }
        }
    }
    slots
}

/// Number of slots a held-out set yields per excerpt number.
pub fn slots_per_index(items: &[Item], set: &[usize], lengths: &[u32]) -> usize {
    set.iter()
        .map(|&i| {
            let dur_ms = (items[i].duration_s() * 1000.0).floor() as u64;
            lengths
                .iter()
                .filter(|&&l| base_span_ms(l) <= dur_ms)
                .count()
        })
        .sum()
}

fn base_span_ms(len_s: u32) -> u64 {
    (f64::from(len_s) * MAX_TIME_FACTOR * 1000.0).ceil() as u64 + 50
}

/// A degraded clip ready for lookup.
#[derive(Clone, Debug, Serialize)]
pub struct Clip {
    pub slot: usize,
    pub case: Case,
    pub path: PathBuf,
    /// Measured SNR of the mix, for the noise cases.
    pub snr_db: Option<f64>,
}

/// Makes (or finds cached) clips. Shared between worker threads.
#[derive(Debug)]
pub struct Generator {
    work: PathBuf,
    seed: u64,
    /// Paths of the speech recordings mixed into babble.
    babble_sources: Vec<(String, PathBuf)>,
    babble: Mutex<HashMap<u32, Arc<Vec<f32>>>>,
}

/// Length of the babble loop, in seconds.
const BABBLE_S: u32 = 120;

impl Generator {
    pub fn new(work: &Path, seed: u64, babble_sources: Vec<(String, PathBuf)>) -> Self {
        Self {
            work: work.to_path_buf(),
            seed,
            babble_sources,
            babble: Mutex::new(HashMap::new()),
        }
    }

    /// Every requested case of one slot.
    pub fn make(
        &self,
        slot_no: usize,
        slot: &Slot,
        item: &Item,
        cases: &[Case],
    ) -> Result<Vec<Clip>> {
        let probe = item.probe.as_ref().context("no audio")?;
        let dir = self.work.join("clips").join(slug(&item.rel)).join(format!(
            "{}s-{}-{}ms-seed{}",
            slot.len_s, slot.index, slot.start_ms, self.seed
        ));
        std::fs::create_dir_all(&dir)?;

        let base_path = dir.join("base.wav");
        if !base_path.is_file() {
            let tmp = tmp_path(&base_path);
            let mut cmd = ffmpeg();
            cmd.args(["-ss", &secs(slot.start_ms as f64 / 1000.0)])
                .args(["-t", &secs(base_span_ms(slot.len_s) as f64 / 1000.0)])
                .arg("-i")
                .arg(&item.path)
                .args(["-map", "0:a:0", "-vn"]);
            if probe.channels > 2 {
                cmd.args(["-ac", "2"]);
            }
            cmd.args(["-c:a", "pcm_f32le", "-f", "wav"]).arg(&tmp);
            tools::run(&mut cmd)?;
            std::fs::rename(&tmp, &base_path)?;
        }
        let base = wav::read(&base_path)?;
        let rate = base.rate;
        let frames_for =
            |factor: f64| (f64::from(slot.len_s) * factor * f64::from(rate)).round() as usize;
        if base.frames() < frames_for(MAX_TIME_FACTOR) {
            bail!(
                "base excerpt of {} is {:.2} s, shorter than {:.2} s",
                item.rel,
                base.duration_s(),
                f64::from(slot.len_s) * MAX_TIME_FACTOR
            );
        }
        let clean = base.truncated(frames_for(1.0));
        let clean_path = dir.join("clean.wav");
        if !clean_path.is_file() {
            wav::write(&clean_path, &clean, SampleFormat::S16)?;
        }

        let mut clips = Vec::with_capacity(cases.len());
        for &case in cases {
            let path = dir.join(format!("{}.{}", case.name(), case.extension()));
            let mut snr_db = None;
            let in_rust = matches!(
                case,
                Case::Clean
                    | Case::Volume15
                    | Case::White10
                    | Case::White0
                    | Case::Babble10
                    | Case::Babble0
            );
            if in_rust {
                // Cheap to redo, and redoing gives the measured SNR.
                let label = format!("{}/{}/{}/{}", case.name(), item.rel, slot.len_s, slot.index);
                let mut rng = Rng::derive(self.seed, &label);
                let out = match case {
                    Case::Clean => None,
                    Case::Volume15 => Some(gain(&clean, -15.0)),
                    Case::White10 | Case::White0 => {
                        let noise: Vec<f32> = (0..clean.frames())
                            .flat_map(|_| {
                                (0..clean.channels)
                                    .map(|_| rng.gaussian() as f32)
                                    .collect::<Vec<_>>()
                            })
                            .collect();
                        let snr = if case == Case::White10 { 10.0 } else { 0.0 };
                        let (mix, measured) =
                            mix_at_snr(&clean, &noise, usize::from(clean.channels), snr);
                        snr_db = Some(measured);
                        Some(mix)
                    }
                    _ => {
                        let babble = self.babble(rate)?;
                        let n = clean.frames();
                        let off = rng.below((babble.len() - n) as u64) as usize;
                        let snr = if case == Case::Babble10 { 10.0 } else { 0.0 };
                        let (mix, measured) = mix_at_snr(&clean, &babble[off..off + n], 1, snr);
                        snr_db = Some(measured);
                        Some(mix)
                    }
                };
                if let Some(pcm) = out {
                    if !path.is_file() {
                        wav::write(&path, &pcm, SampleFormat::S16)?;
                    }
                }
            } else if !path.is_file() {
                self.ffmpeg_case(
                    case,
                    &base_path,
                    &clean_path,
                    &path,
                    rate,
                    frames_for(case.time_factor()),
                )
                .with_context(|| format!("making {} of {}", case.name(), item.rel))?;
            }
            clips.push(Clip {
                slot: slot_no,
                case,
                path,
                snr_db,
            });
        }
        Ok(clips)
    }

    fn ffmpeg_case(
        &self,
        case: Case,
        base: &Path,
        clean: &Path,
        out: &Path,
        rate: u32,
        source_frames: usize,
    ) -> Result<()> {
        let tmp = tmp_path(out);
        let mut cmd = ffmpeg();
        let format = match case {
            Case::Mp3_128 | Case::Mp3_64 => {
                let rate = if case == Case::Mp3_128 { "128k" } else { "64k" };
                cmd.arg("-i")
                    .arg(clean)
                    .args(["-c:a", "libmp3lame", "-b:a", rate]);
                "mp3"
            }
            Case::Aac96 => {
                cmd.arg("-i")
                    .arg(clean)
                    .args(["-c:a", "aac", "-b:a", "96k"]);
                "ipod"
            }
            Case::Opus32 => {
                // Looked up as Ogg Opus, decoded by our own decoder.
                cmd.arg("-i")
                    .arg(clean)
                    .args(["-c:a", "libopus", "-b:a", "32k"]);
                "ogg"
            }
            Case::OpusWebm32 => {
                cmd.arg("-i")
                    .arg(clean)
                    .args(["-c:a", "libopus", "-b:a", "32k"]);
                "webm"
            }
            Case::Opus51 | Case::Aac51 => {
                // A film master's layout: the stereo excerpt upmixed to 5.1
                // (centre and LFE from both sides, surrounds attenuated),
                // which our decoder must downmix again.
                let upmix = "aformat=channel_layouts=stereo,\
                             pan=5.1|FL=FL|FR=FR|FC=0.5*FL+0.5*FR|LFE=0.5*FL+0.5*FR|\
                             BL=0.7*FL|BR=0.7*FR";
                cmd.arg("-i").arg(clean).args(["-af", upmix]);
                if case == Case::Opus51 {
                    cmd.args(["-c:a", "libopus", "-mapping_family", "1", "-b:a", "192k"]);
                    "ogg"
                } else {
                    cmd.args(["-c:a", "aac", "-b:a", "256k"]);
                    "ipod"
                }
            }
            Case::AacMov => {
                // A phone's file: H.264 picture and AAC sound in QuickTime.
                cmd.args(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30"])
                    .arg("-i")
                    .arg(clean)
                    .args(["-shortest", "-c:v", "libx264", "-preset", "veryfast"])
                    .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k"]);
                "mov"
            }
            Case::Telephone => {
                // Two 2-pole sections each side: 24 dB/octave outside the band.
                cmd.arg("-i").arg(clean).args([
                    "-af",
                    "highpass=f=300,highpass=f=300,lowpass=f=3400,lowpass=f=3400,aresample=8000",
                    "-ac",
                    "1",
                    "-c:a",
                    "pcm_s16le",
                ]);
                "wav"
            }
            Case::Speed095 | Case::Speed102 | Case::Speed105 => {
                let new_rate = (f64::from(rate) * case.time_factor()).round() as u32;
                let filter = format!(
                    "atrim=end_sample={source_frames},asetrate={new_rate},aresample={rate}"
                );
                cmd.arg("-i")
                    .arg(base)
                    .args(["-af", &filter, "-c:a", "pcm_s16le"]);
                "wav"
            }
            Case::Tempo095 | Case::Tempo105 => {
                let filter = format!(
                    "atrim=end_sample={source_frames},atempo={}",
                    case.time_factor()
                );
                cmd.arg("-i")
                    .arg(base)
                    .args(["-af", &filter, "-c:a", "pcm_s16le"]);
                "wav"
            }
            Case::Pitch095 | Case::Pitch105 => {
                // Resampled to the new pitch, then stretched back to the
                // original tempo.
                let pitch = if case == Case::Pitch095 { 0.95 } else { 1.05 };
                let new_rate = (f64::from(rate) * pitch).round() as u32;
                let filter = format!(
                    "atrim=end_sample={source_frames},asetrate={new_rate},aresample={rate},atempo={}",
                    1.0 / pitch
                );
                cmd.arg("-i")
                    .arg(base)
                    .args(["-af", &filter, "-c:a", "pcm_s16le"]);
                "wav"
            }
            _ => bail!("case {} is not made by FFmpeg", case.name()),
        };
        cmd.args(["-f", format]).arg(&tmp);
        tools::run(&mut cmd)?;
        std::fs::rename(&tmp, out)?;
        Ok(())
    }

    /// The babble loop at `rate`: every babble voice, decoded to mono at that
    /// rate, normalised to unit RMS, looped from a seeded offset, summed.
    fn babble(&self, rate: u32) -> Result<Arc<Vec<f32>>> {
        let mut cache = self
            .babble
            .lock()
            .map_err(|_| anyhow::anyhow!("babble cache poisoned"))?;
        if let Some(b) = cache.get(&rate) {
            return Ok(Arc::clone(b));
        }
        if self.babble_sources.is_empty() {
            bail!("no held-out speech recordings to make babble from");
        }
        let dir = self.work.join("babble");
        std::fs::create_dir_all(&dir)?;
        let n = (BABBLE_S * rate) as usize;
        let mut sum = vec![0.0f32; n];
        for (rel, path) in &self.babble_sources {
            let out = dir.join(format!("{}-{rate}.wav", slug(rel)));
            if !out.is_file() {
                let tmp = tmp_path(&out);
                tools::run(
                    ffmpeg()
                        .arg("-i")
                        .arg(path)
                        .args(["-map", "0:a:0", "-ac", "1", "-ar", &rate.to_string()])
                        .args(["-c:a", "pcm_f32le", "-f", "wav"])
                        .arg(&tmp),
                )?;
                std::fs::rename(&tmp, &out)?;
            }
            let voice = wav::read(&out)?;
            let rms = voice.power().sqrt() as f32;
            if voice.samples.is_empty() || rms <= 0.0 {
                continue;
            }
            let off = Rng::derive(self.seed, &format!("babble/{rel}"))
                .below(voice.samples.len() as u64) as usize;
            for (k, s) in sum.iter_mut().enumerate() {
                *s += voice.samples[(off + k) % voice.samples.len()] / rms;
            }
        }
        let b = Arc::new(sum);
        cache.insert(rate, Arc::clone(&b));
        Ok(b)
    }
}

/// `pcm` scaled by `db` decibels.
pub fn gain(pcm: &Pcm, db: f64) -> Pcm {
    let g = 10f64.powf(db / 20.0) as f32;
    Pcm {
        rate: pcm.rate,
        channels: pcm.channels,
        samples: pcm.samples.iter().map(|s| s * g).collect(),
    }
}

/// Add `noise` (interleaved with `noise_channels` channels: 1 = the same
/// noise on every channel, or as many channels as `signal`) scaled so that
/// signal power / noise power is `snr_db`, both measured over this excerpt.
/// If the mix would clip, signal and noise are scaled down together (the SNR
/// is unchanged). Returns the mix and the SNR measured after mixing.
pub fn mix_at_snr(signal: &Pcm, noise: &[f32], noise_channels: usize, snr_db: f64) -> (Pcm, f64) {
    let ch = usize::from(signal.channels);
    let frames = signal.frames();
    let noise_at = |f: usize, c: usize| -> f32 {
        if noise_channels == 1 {
            noise[f]
        } else {
            noise[f * noise_channels + c]
        }
    };
    let ps = signal.power();
    let pn: f64 = (0..frames)
        .flat_map(|f| (0..ch).map(move |c| (f, c)))
        .map(|(f, c)| f64::from(noise_at(f, c)).powi(2))
        .sum::<f64>()
        / (frames * ch).max(1) as f64;
    let k = if pn > 0.0 {
        (ps / pn / 10f64.powf(snr_db / 10.0)).sqrt()
    } else {
        0.0
    };
    let mut samples = Vec::with_capacity(frames * ch);
    let mut added = 0.0f64;
    for f in 0..frames {
        for c in 0..ch {
            let n = k * f64::from(noise_at(f, c));
            added += n * n;
            samples.push((f64::from(signal.samples[f * ch + c]) + n) as f32);
        }
    }
    let measured = 10.0 * (ps / (added / (frames * ch).max(1) as f64)).log10();
    let mut mix = Pcm {
        rate: signal.rate,
        channels: signal.channels,
        samples,
    };
    let peak = mix.peak();
    if peak > 0.999 {
        let g = 0.999 / peak;
        mix.samples.iter_mut().for_each(|s| *s *= g);
    }
    (mix, measured)
}

/// A file-system-safe name for a corpus path.
pub fn slug(rel: &str) -> String {
    rel.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

fn secs(s: f64) -> String {
    format!("{s:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::Probe;

    #[test]
    fn names_round_trip_and_targets_follow_the_issue() {
        for c in Case::ALL {
            assert_eq!(Case::parse(c.name()).expect("parse"), c);
        }
        assert!(Case::parse("mp3-320k").is_err());
        assert_eq!(Case::Mp3_64.target(5), Some(0.99));
        assert_eq!(Case::White10.target(5), Some(0.95));
        assert_eq!(Case::Babble10.target(10), Some(0.97));
        assert_eq!(Case::White0.target(5), Some(0.70));
        assert_eq!(Case::Babble0.target(10), Some(0.85));
        assert_eq!(Case::Speed105.target(10), Some(0.98));
        assert_eq!(Case::Speed095.target(10), None);
        assert_eq!(Case::Clean.target(3), None);
    }

    #[test]
    fn white_mix_hits_the_snr_and_never_clips() {
        let mut rng = Rng::new(5);
        let signal = Pcm {
            rate: 8000,
            channels: 2,
            samples: (0..16_000)
                .map(|i| 0.9 * ((i / 2) as f32 * 0.05).sin())
                .collect(),
        };
        let noise: Vec<f32> = (0..16_000).map(|_| rng.gaussian() as f32).collect();
        for snr in [10.0, 0.0, -5.0] {
            let (mix, measured) = mix_at_snr(&signal, &noise, 2, snr);
            assert!((measured - snr).abs() < 1e-6, "{measured} vs {snr}");
            assert!(mix.peak() <= 0.999 + 1e-6);
            assert_eq!(mix.samples.len(), signal.samples.len());
        }
    }

    #[test]
    fn mono_noise_goes_to_every_channel() {
        let signal = Pcm {
            rate: 10,
            channels: 2,
            samples: vec![0.1, -0.1, 0.1, -0.1],
        };
        let (mix, measured) = mix_at_snr(&signal, &[0.5, -0.5], 1, 0.0);
        assert!((measured).abs() < 1e-6);
        // Noise power equals signal power (0.01): amplitude 0.1, same on both channels.
        let d: Vec<f32> = mix
            .samples
            .iter()
            .zip(&signal.samples)
            .map(|(m, s)| m - s)
            .collect();
        assert!((d[0] - 0.1).abs() < 1e-6 && (d[1] - 0.1).abs() < 1e-6);
        assert!((d[2] + 0.1).abs() < 1e-6 && (d[3] + 0.1).abs() < 1e-6);
    }

    #[test]
    fn gain_is_in_decibels() {
        let p = Pcm {
            rate: 1,
            channels: 1,
            samples: vec![1.0],
        };
        assert!((gain(&p, -20.0).samples[0] - 0.1).abs() < 1e-6);
    }

    fn item(rel: &str, duration_s: f64) -> Item {
        Item {
            rel: rel.into(),
            path: rel.into(),
            kind: "music".into(),
            probe: Some(Probe {
                rate: 8000,
                channels: 1,
                duration_s,
                mean_db: -20.0,
                max_db: -1.0,
            }),
        }
    }

    #[test]
    fn slots_fit_inside_recordings_and_are_seeded() {
        let items = vec![item("a", 60.0), item("b", 7.0), item("c", 10.4)];
        let slots = plan_slots(&items, &[0, 1], &[2], &[3, 5, 10], 2, 3, 11);
        // a: 3 lengths × 2; b: 3 s and 5 s × 2; c: 3 s and 5 s × 3 (10 s needs 10.55 s).
        assert_eq!(slots.len(), 6 + 4 + 6);
        assert_eq!(slots_per_index(&items, &[2], &[3, 5, 10]), 2);
        for s in &slots {
            let end = s.start_ms + base_span_ms(s.len_s);
            assert!(end as f64 <= items[s.item].duration_s() * 1000.0);
            assert_eq!(s.positive, s.item != 2);
        }
        let again = plan_slots(&items, &[0, 1], &[2], &[3, 5, 10], 2, 3, 11);
        assert!(slots
            .iter()
            .zip(&again)
            .all(|(a, b)| a.start_ms == b.start_ms));
        let other = plan_slots(&items, &[0, 1], &[2], &[3, 5, 10], 2, 3, 12);
        assert!(slots
            .iter()
            .zip(&other)
            .any(|(a, b)| a.start_ms != b.start_ms));
    }

    #[test]
    fn slugs_are_flat() {
        assert_eq!(slug("music/a b/c.ogg"), "music_a_b_c.ogg");
    }
}
