//! Mutation smoke test of the video decoding edge, on stable Rust.
//!
//! Every `fixtures/video/*.mp4` is mutated by a seeded generator (bit flips,
//! byte overwrites, chunk deletions, truncations), written to a temporary
//! `.mp4` file and fed to [`fingerprint_video_file`] with both roles; it must
//! return (`Ok` or `Err`), never unwind, and an `Ok` must round-trip its own
//! encoding. The stable companion of the `decode_video` cargo-fuzz target
//! (`fuzz/`); inputs that target finds go to `fuzz/regressions/decode_video/`
//! and are replayed here.
//!
//! `AVREG_VIDEO_MUTANTS=N` sets the mutants per fixture (default 24).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use avreg_decode::video::{fingerprint_video_file, VideoDecodeOptions};
use avreg_decode::Error;
use avreg_fingerprint::video::{Role, VideoConfig, VideoFingerprint};

const DEFAULT_MUTANTS: u64 = 24;
const HEADER_BYTES: usize = 4096;

/// The testkit's SplitMix64 (Steele, Lea & Flood 2014), drawn in `usize`.
struct SplitMix64(avreg_testkit::Rng);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self(avreg_testkit::Rng::new(seed))
    }
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n.max(1) as u64) as usize
    }
}

/// A position, in the headers (`moov` usually comes first in the fixtures)
/// half of the time.
fn position(rng: &mut SplitMix64, len: usize) -> usize {
    if rng.next().is_multiple_of(2) {
        rng.below(len.min(HEADER_BYTES))
    } else {
        rng.below(len)
    }
}

fn mutate(rng: &mut SplitMix64, bytes: &mut Vec<u8>) -> String {
    if bytes.is_empty() {
        bytes.push(0);
        return "grow".into();
    }
    let len = bytes.len();
    match rng.next() % 5 {
        0 => {
            let p = position(rng, len);
            let bit = rng.below(8);
            bytes[p] ^= 1 << bit;
            format!("flip {p}:{bit}")
        }
        1 => {
            let p = position(rng, len);
            let v = [0x00, 0xff, 0x7f, 0x80, 0x01][rng.below(5)];
            let n = (1 + rng.below(4)).min(len - p);
            bytes[p..p + n].fill(v);
            format!("fill {p}+{n}={v:#x}")
        }
        2 => {
            let p = position(rng, len);
            let n = (1 + rng.below(64)).min(len - p);
            bytes.drain(p..p + n);
            format!("delete {p}+{n}")
        }
        3 => {
            let p = rng.below(len);
            bytes.truncate(p);
            format!("truncate {p}")
        }
        _ => {
            let p = position(rng, len);
            let v = rng.next().to_be_bytes();
            let n = 4.min(len - p);
            bytes[p..p + n].copy_from_slice(&v[..n]);
            format!("word {p}={:#x}", rng.next())
        }
    }
}

fn check(path: &Path) -> Result<(), String> {
    let opts = VideoDecodeOptions {
        max_duration_ms: Some(10 * 60 * 1000),
        ..VideoDecodeOptions::default()
    };
    for role in [Role::Query, Role::Reference] {
        let r = catch_unwind(AssertUnwindSafe(|| {
            fingerprint_video_file(path, &VideoConfig::default(), role, &opts)
        }))
        .map_err(|_| "unwound out of fingerprint_video_file".to_string())?;
        match r {
            Ok((fp, info)) => {
                if info.read_frames > info.decoded_frames {
                    return Err(format!("read more than decoded: {info:?}"));
                }
                let back = VideoFingerprint::from_bytes(&fp.to_bytes())
                    .map_err(|e| format!("own encoding does not parse: {e}"))?;
                if back != fp {
                    return Err("encoding does not round-trip".into());
                }
            }
            Err(e @ Error::Io { .. }) => return Err(format!("I/O error on a readable file: {e}")),
            Err(_) => {}
        }
    }
    Ok(())
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file());
    v.sort();
    v
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn mutated_video_fixtures_never_unwind() {
    let mutants = std::env::var("AVREG_VIDEO_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MUTANTS);
    let dir = tempfile::tempdir().expect("temp dir");
    let fixtures: Vec<PathBuf> = files(&root().join("fixtures/video"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    assert!(!fixtures.is_empty(), "no video fixtures");
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let original = std::fs::read(fixture).expect("read fixture");
        for seed in 0..mutants {
            let mut rng = SplitMix64::new(seed.wrapping_mul(0x1000_0001) ^ original.len() as u64);
            let mut bytes = original.clone();
            let steps: Vec<String> = (0..1 + rng.below(4))
                .map(|_| mutate(&mut rng, &mut bytes))
                .collect();
            let path = dir.path().join("mutant.mp4");
            std::fs::write(&path, &bytes).expect("write mutant");
            if let Err(e) = check(&path) {
                failures.push(format!("{} seed {seed} {steps:?}: {e}", fixture.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn video_fuzz_regressions_stay_fixed() {
    for f in files(&root().join("fuzz/regressions/decode_video")) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("input.mp4");
        std::fs::copy(&f, &path).expect("copy regression");
        if let Err(e) = check(&path) {
            panic!("{}: {e}", f.display());
        }
    }
}
