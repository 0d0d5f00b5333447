//! Generated sound: the fingerprint core's synthetic music and
//! degradations (re-exported, not copied), and the cuts the tests make.

use std::path::Path;

pub use avreg_fingerprint::audio::synth::{add_noise, gain, music, speed_up};

/// Cuts `[start_s, start_s + len_s)` and applies speed (linear
/// interpolation), gain and seeded white noise at `snr_db`.
pub fn degrade(
    pcm: &[f32],
    rate: u32,
    start_s: f32,
    len_s: f32,
    speed: f32,
    gain_db: f32,
    snr_db: f32,
) -> Vec<f32> {
    let a = (start_s * rate as f32) as usize;
    let b = (a + (len_s * speed * rate as f32) as usize).min(pcm.len());
    add_noise(&gain(&speed_up(&pcm[a..b], speed), gain_db), snr_db, 9)
}

/// `secs` of generated music (seed `seed`) at 22,050 Hz written to `path`
/// as WAV; the samples.
pub fn song(path: &Path, seed: u64, secs: f32) -> Vec<f32> {
    let rate = 22_050;
    let pcm = music(seed, rate, secs);
    crate::wav::write_wav(path, rate, &pcm);
    pcm
}

/// The part of `fp` in `[start_ms, start_ms + len_ms)`, re-timed from 0 (as
/// a clip cut from the recording would be). `start_ms` should be a multiple
/// of 16 (one frame) for exact hashes.
pub fn excerpt(
    fp: &avreg_fingerprint::audio::AudioFingerprint,
    start_ms: u32,
    len_ms: u32,
) -> avreg_fingerprint::audio::AudioFingerprint {
    let peaks = fp
        .peaks()
        .iter()
        .filter(|p| p.time_ms >= start_ms && p.time_ms < start_ms + len_ms)
        .map(|p| avreg_fingerprint::audio::Peak {
            time_ms: p.time_ms - start_ms,
            ..*p
        })
        .collect();
    avreg_fingerprint::audio::AudioFingerprint::from_parts(u64::from(len_ms), peaks)
}
