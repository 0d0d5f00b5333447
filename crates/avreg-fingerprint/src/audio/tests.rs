//! Tests of the audio core on generated signals.

use super::synth::{add_noise, music, speed_up};
use super::*;
use crate::matching::{search, DocId, MatchConfig, MemoryIndex};

pub(crate) fn fingerprint(pcm: &[f32], rate: u32, chunk: usize) -> AudioFingerprint {
    let mut f = AudioFingerprinter::new(AudioConfig::default(), rate, 1).expect("valid stream");
    for c in pcm.chunks(chunk.max(1)) {
        f.consume(c);
    }
    f.finish()
}

#[test]
fn chunking_does_not_change_the_fingerprint() {
    let pcm = music(1, 44_100, 8.0);
    let whole = fingerprint(&pcm, 44_100, usize::MAX);
    assert!(whole.peaks().len() > 100, "{} peaks", whole.peaks().len());
    for chunk in [1, 7, 64, 1000, 4096] {
        assert_eq!(fingerprint(&pcm, 44_100, chunk), whole, "chunk {chunk}");
    }
}

#[test]
fn stereo_is_downmixed() {
    let mono = music(2, 22_050, 4.0);
    let stereo: Vec<f32> = mono.iter().flat_map(|&s| [s, s]).collect();
    let mut f = AudioFingerprinter::new(AudioConfig::default(), 22_050, 2).expect("valid");
    f.consume(&stereo);
    assert_eq!(f.finish(), fingerprint(&mono, 22_050, 4096));
}

#[test]
fn golden_fingerprint_is_pinned() {
    // Any change to peaks or hashes must bump ALGORITHM_VERSION and this pin.
    let fp = fingerprint(&music(42, 44_100, 6.0), 44_100, 4096);
    let digest = blake3::hash(&fp.to_bytes()).to_hex().to_string();
    let hashes = fp.reference_hashes(&AudioConfig::default());
    let mut key_sum = 0u64;
    for (k, f) in &hashes {
        key_sum = key_sum
            .wrapping_mul(31)
            .wrapping_add(u64::from(k.0) ^ u64::from(*f));
    }
    assert_eq!(
        (fp.peaks().len(), hashes.len(), &digest[..16], key_sum),
        GOLDEN,
        "fingerprint changed: bump ALGORITHM_VERSION and update GOLDEN"
    );
}

const GOLDEN: (usize, usize, &str, u64) = (192, 200, "f8dcdde6a925301a", 320218617901123418);

#[test]
fn silence_and_tiny_inputs_are_handled() {
    let silent = fingerprint(&vec![0.0; 44_100 * 3], 44_100, 4096);
    assert!(silent.is_silent());
    assert!(matches!(silent.check_query(2_000), Err(Error::Silent)));
    let tiny = fingerprint(&[0.5, -0.5, 0.25], 44_100, 4096);
    assert_eq!(tiny.duration_ms(), 0);
    assert!(matches!(
        tiny.check_query(2_000),
        Err(Error::TooShort { .. })
    ));
    // Garbage samples are sanitised, not propagated.
    let garbage: Vec<f32> = (0..44_100)
        .map(|i| if i % 3 == 0 { f32::NAN } else { f32::INFINITY })
        .collect();
    let g = fingerprint(&garbage, 44_100, 4096);
    assert_eq!(g.duration_ms(), 1000);
}

#[test]
fn rejects_unusable_streams() {
    assert!(AudioFingerprinter::new(AudioConfig::default(), 44_100, 0).is_err());
    assert!(AudioFingerprinter::new(AudioConfig::default(), 10, 1).is_err());
    assert!(AudioFingerprinter::new(AudioConfig::default(), 10_000_000, 1).is_err());
}

/// Registers five generated pieces and returns the index and the signals.
fn library() -> (MemoryIndex, Vec<Vec<f32>>, MatchConfig) {
    let config = MatchConfig::default();
    let mut index = MemoryIndex::default();
    let mut signals = Vec::new();
    for doc in 0..5u32 {
        let pcm = music(100 + u64::from(doc), 44_100, 40.0);
        index.add(DocId(doc), &fingerprint(&pcm, 44_100, 4096), &config.audio);
        signals.push(pcm);
    }
    (index, signals, config)
}

#[test]
fn identifies_degraded_excerpts_with_their_offsets() {
    let (index, signals, config) = library();
    let rate = 44_100usize;
    // (doc, start s, length s, edit)
    let cases: [(usize, f32, f32, &str); 6] = [
        (0, 3.3, 5.0, "clean"),
        (1, 12.71, 5.0, "noise10"),
        (2, 20.05, 8.0, "volume-15"),
        (3, 7.5, 8.0, "speed1.04"),
        (4, 30.2, 6.0, "speed0.96"),
        (2, 1.0, 10.0, "noise0"),
    ];
    for (doc, start, len, edit) in cases {
        let a = (start * rate as f32) as usize;
        let excerpt = &signals[doc][a..a + (len * rate as f32) as usize];
        let query: Vec<f32> = match edit {
            "clean" => excerpt.to_vec(),
            "noise10" => add_noise(excerpt, 10.0, 9),
            "noise0" => add_noise(excerpt, 0.0, 10),
            "volume-15" => excerpt.iter().map(|s| s * 0.178).collect(),
            "speed1.04" => speed_up(excerpt, 1.04),
            "speed0.96" => speed_up(excerpt, 0.96),
            _ => unreachable!(),
        };
        let fp = fingerprint(&query, 44_100, 4096);
        let matches = search(&fp, &index, &config);
        let top = matches
            .first()
            .unwrap_or_else(|| panic!("{edit}: no match"));
        assert_eq!(top.doc, DocId(doc as u32), "{edit}: wrong recording");
        // The reference span starts where the query span starts, mapped.
        let expected_ms = start * 1000.0 + top.query_start_ms as f32 * top.speed;
        assert!(
            (top.ref_start_ms as f32 - expected_ms).abs() <= 100.0,
            "{edit}: reference offset {} ms, expected {expected_ms}",
            top.ref_start_ms
        );
        if let Some(speed) = edit.strip_prefix("speed") {
            let want: f32 = speed.parse().expect("speed");
            assert!(
                (top.speed - want).abs() <= 0.006,
                "{edit}: speed {}",
                top.speed
            );
        }
        assert!(top.score > 0.0 && top.score < 1.0);
    }
}

#[test]
fn unregistered_audio_finds_nothing() {
    let (index, _, config) = library();
    for seed in 900..906 {
        let fp = fingerprint(&music(seed, 44_100, 10.0), 44_100, 4096);
        let found = search(&fp, &index, &config);
        assert!(found.is_empty(), "seed {seed}: false match {found:?}");
    }
}

#[test]
fn binary_form_round_trips_and_rejects_damage() {
    let fp = fingerprint(&music(7, 16_000, 5.0), 16_000, 4096);
    let bytes = fp.to_bytes();
    assert_eq!(
        AudioFingerprint::from_bytes(&bytes).expect("round trip"),
        fp
    );
    let reference = fp.reference_only();
    assert_eq!(
        AudioFingerprint::from_bytes(&reference.to_bytes()).expect("round trip"),
        reference
    );
    assert!(reference.peaks().iter().all(|p| p.level == 2));
    // Every truncation and every single-byte change is refused.
    for len in 0..bytes.len() {
        assert!(
            AudioFingerprint::from_bytes(&bytes[..len]).is_err(),
            "truncated to {len}"
        );
    }
    for i in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[i] ^= 0x5a;
        assert!(
            AudioFingerprint::from_bytes(&damaged).is_err(),
            "byte {i} flipped"
        );
    }
    let mut future = bytes.clone();
    future[4] = 9;
    assert!(matches!(
        AudioFingerprint::from_bytes(&future),
        Err(Error::UnsupportedVersion { found: 9, .. })
    ));
}

#[test]
fn the_densest_real_audio_is_plausible_and_forged_density_is_not() {
    // White noise at full scale makes the most peaks.
    let mut rng = super::synth::Rng::new(9);
    let noise: Vec<f32> = (0..44_100 * 10).map(|_| rng.unit() * 2.0 - 1.0).collect();
    let fp = fingerprint(&noise, 44_100, 4096);
    let per_s = fp.peaks().len() as u64 / 10;
    println!("white noise: {per_s} peaks per second");
    assert!(
        per_s * 2 <= MAX_PEAKS_PER_SECOND,
        "{per_s} peaks per second"
    );
    assert_eq!(fp.implausible(), None);
    let music = fingerprint(&music(3, 44_100, 10.0), 44_100, 4096);
    assert_eq!(music.implausible(), None);
    // A client's fingerprint with more peaks than its duration allows, or
    // peaks past its end.
    let dense: Vec<Peak> = (0..(MAX_PEAKS_PER_SECOND as u32 * 2 + 1))
        .map(|i| Peak {
            time_ms: i % 1000,
            freq: (i % 4000) as u16,
            level: 2,
        })
        .collect();
    assert!(AudioFingerprint::from_parts(1000, dense)
        .implausible()
        .is_some());
    let late = vec![Peak {
        time_ms: 5000,
        freq: 10,
        level: 2,
    }];
    assert!(AudioFingerprint::from_parts(1000, late)
        .implausible()
        .is_some());
}
