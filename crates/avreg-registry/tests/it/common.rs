//! Synthetic fingerprints and registry helpers.

use std::path::Path;

use avreg_fingerprint::audio::{AudioFingerprint, Peak};
use avreg_fingerprint::ContentHash;
use avreg_registry::{IndexOptions, NewRecording, Registry, RegistryOptions};

/// The testkit's SplitMix64.
pub use avreg_testkit::Rng;

/// A fingerprint with random peaks: about 7.5 reference peaks and 10
/// query-only peaks per second, frequencies within the analysed band.
pub fn fingerprint(seed: u64, duration_ms: u64) -> AudioFingerprint {
    let mut rng = Rng::new(seed);
    let secs = duration_ms as f64 / 1000.0;
    let mut peaks = Vec::new();
    for (level, rate) in [(2u8, 7.5), (1u8, 10.0)] {
        for _ in 0..(secs * rate) as usize {
            peaks.push(Peak {
                time_ms: rng.below(duration_ms) as u32,
                freq: (4 * 16 + rng.below(236 * 16)) as u16,
                level,
            });
        }
    }
    AudioFingerprint::from_parts(duration_ms, peaks)
}

pub use avreg_testkit::signal::excerpt;

/// A new recording whose "file" and fingerprint derive from `seed`.
pub fn new_recording(seed: u64, duration_ms: u64) -> NewRecording {
    NewRecording {
        title: format!("recording {seed}"),
        content: avreg_registry::Content::Computed(ContentHash::of(&seed.to_le_bytes())),
        fingerprint: fingerprint(seed, duration_ms),
        source_name: Some(format!("{seed}.wav")),
        video: None,
        media: Vec::new(),
    }
}

/// Options with a small index buffer, so tests write and merge segments.
pub fn small_options() -> RegistryOptions {
    RegistryOptions {
        index: IndexOptions::default()
            .with_buffer_postings(4_000)
            .with_merge_factor(2),
        ..RegistryOptions::default()
    }
}

pub fn open(dir: &Path) -> Registry {
    Registry::open(dir, small_options()).expect("open registry")
}
