//! Mutation smoke test of the decoding edge, on stable Rust.
//!
//! Every fixture of `fixtures/audio/` is mutated by a seeded generator (bit
//! flips, byte overwrites, chunk deletions and duplications, truncations)
//! and fed to [`fingerprint_audio`], which must return (`Ok` or `Err`),
//! never unwind, and keep its invariants. This is the poor man's version
//! of the `decode_fingerprint` cargo-fuzz target (`fuzz/`), cheap enough
//! for every `cargo test`. The inputs the fuzzer found are replayed too.
//!
//! `AVREG_MUTANTS=N` sets the mutants per fixture (default 40) and
//! `AVREG_MUTATION_SEED=S` shifts the seeds, for longer local runs; a
//! failure prints the fixture, seed and mutations to replay it
//! (`AVREG_MUTATION_TRACE=1` prints every mutant before it runs and writes
//! it to `last-mutant.bin` in cargo's test temp dir, in the fuzz target's
//! layout, for failures that abort the process).

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use avreg_decode::audio::{fingerprint_audio, DecodeOptions, MIN_SAMPLE_RATE};
use avreg_decode::Error;
use avreg_fingerprint::audio::{AudioConfig, MAX_CHANNELS, MAX_INPUT_RATE};

const DEFAULT_MUTANTS: u64 = 40;
/// The limit a service would set; also bounds the work per mutant.
const MAX_DURATION_MS: u64 = 10 * 60 * 1000;
/// Mutations land in the first bytes half of the time: that is where the
/// headers are, and where a mutation changes the most code paths.
const HEADER_BYTES: usize = 512;

/// The fuzz target's extension hints, selected by the first input byte
/// (see `fuzz/fuzz_targets/decode_fingerprint.rs`).
const HINTS: [Option<&str>; 8] = [
    Some("wav"),
    Some("flac"),
    Some("mp3"),
    Some("ogg"),
    Some("m4a"),
    Some("mkv"),
    Some("webm"),
    None,
];

/// `media` in the fuzz target's layout: the hint's selector byte first.
fn fuzz_input(hint: Option<&str>, media: &[u8]) -> Vec<u8> {
    let hint = hint.map(|h| if h == "mp4" { "m4a" } else { h });
    let selector = HINTS
        .iter()
        .position(|&h| h == hint)
        .unwrap_or(HINTS.len() - 1);
    let mut out = vec![selector as u8];
    out.extend_from_slice(media);
    out
}

/// The testkit's SplitMix64 (Steele, Lea & Flood 2014), drawn in `usize`.
struct SplitMix64(avreg_testkit::Rng);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self(avreg_testkit::Rng::new(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }

    /// A position in `0..len`, in the header region half of the time.
    fn position(&mut self, len: usize) -> usize {
        if self.next() & 1 == 0 {
            self.below(len.min(HEADER_BYTES))
        } else {
            self.below(len)
        }
    }
}

/// Applies one random mutation to `bytes` (non-empty) and describes it.
fn mutate_once(rng: &mut SplitMix64, bytes: &mut Vec<u8>) -> String {
    let len = bytes.len();
    match rng.below(6) {
        0 => {
            let n = 1 + rng.below(8);
            for _ in 0..n {
                let at = rng.position(len);
                bytes[at] ^= 1 << rng.below(8);
            }
            format!("flip {n} bits")
        }
        1 => {
            let at = rng.position(len);
            let n = (1 + rng.below(16)).min(len - at);
            // Boundary values break length fields more often than noise.
            let fill = match rng.below(4) {
                0 => Some(0x00),
                1 => Some(0xff),
                2 => Some(0x7f),
                _ => None,
            };
            for b in &mut bytes[at..at + n] {
                *b = fill.unwrap_or(rng.next() as u8);
            }
            format!("overwrite {n} bytes at {at} with {fill:?}")
        }
        2 => {
            let at = rng.position(len);
            let n = (1 + rng.below(len / 8 + 1)).min(len - at);
            bytes.drain(at..at + n);
            format!("delete {n} bytes at {at}")
        }
        3 => {
            let from = rng.position(len);
            let n = (1 + rng.below(len / 8 + 1)).min(len - from);
            let to = rng.position(len);
            let chunk = bytes[from..from + n].to_vec();
            bytes.splice(to..to, chunk);
            format!("duplicate {n} bytes from {from} at {to}")
        }
        4 => {
            let at = rng.below(len);
            bytes.truncate(at);
            format!("truncate at {at}")
        }
        _ => {
            let at = rng.position(len);
            let n = (2 + rng.below(4)).min(len - at);
            bytes[at..at + n].reverse();
            format!("reverse {n} bytes at {at}")
        }
    }
}

/// A mutant of `original`: one to four stacked mutations.
fn mutant(rng: &mut SplitMix64, original: &[u8]) -> (Vec<u8>, Vec<String>) {
    let mut bytes = original.to_vec();
    let mut steps = Vec::new();
    for _ in 0..1 + rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        steps.push(mutate_once(rng, &mut bytes));
    }
    (bytes, steps)
}

/// Runs `bytes` through the fingerprinter: whether it refused them, or
/// what went wrong.
fn check(bytes: Vec<u8>, hint: Option<&str>) -> Result<bool, String> {
    let opts = DecodeOptions {
        max_duration_ms: Some(MAX_DURATION_MS),
        ..DecodeOptions::default()
    };
    let run = catch_unwind(AssertUnwindSafe(|| {
        fingerprint_audio(
            Box::new(Cursor::new(bytes)),
            hint,
            &AudioConfig::default(),
            &opts,
        )
    }));
    match run {
        Err(_) => Err("unwound out of fingerprint_audio".into()),
        Ok(Ok((fp, info))) => {
            let sane = (MIN_SAMPLE_RATE..=MAX_INPUT_RATE).contains(&info.sample_rate)
                && (1..=MAX_CHANNELS).contains(&info.channels)
                && info.decoded_ms <= MAX_DURATION_MS
                && fp.duration_ms() == info.decoded_ms;
            if sane {
                Ok(false)
            } else {
                Err(format!(
                    "Ok with broken invariants: {info:?}, {} ms",
                    fp.duration_ms()
                ))
            }
        }
        // In-memory bytes cannot fail to read: an I/O error here is
        // malformed data misreported.
        Ok(Err(e @ Error::Io { .. })) => Err(format!("I/O error on in-memory input: {e}")),
        Ok(Err(_)) => Ok(true),
    }
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio")
}

/// The media files of `dir`, sorted (the generator script excluded).
fn media_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e != "sh"))
        .collect();
    files.sort();
    files
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value}: not a number")),
    )
}

/// FNV-1a, to give each fixture its own seed stream.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn mutated_fixtures_never_unwind() {
    let mutants = env_u64("AVREG_MUTANTS").unwrap_or(DEFAULT_MUTANTS);
    let base_seed = env_u64("AVREG_MUTATION_SEED").unwrap_or(0);
    let trace = env_u64("AVREG_MUTATION_TRACE").is_some_and(|t| t != 0);
    let last = Path::new(env!("CARGO_TARGET_TMPDIR")).join("last-mutant.bin");
    let files = media_files(&fixtures_dir());
    assert!(files.len() >= 12, "fixtures missing: {files:?}");
    let mut failures = Vec::new();
    let mut errors = 0u32;
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        let ext = path.extension().and_then(|e| e.to_str());
        let original = std::fs::read(path).expect("read fixture");
        for i in 0..mutants {
            let seed = fnv1a(name) ^ base_seed.wrapping_add(i);
            let mut rng = SplitMix64::new(seed);
            let (bytes, steps) = mutant(&mut rng, &original);
            // Half the mutants carry their extension, half nothing.
            let hint = if i % 2 == 0 { ext } else { None };
            if trace {
                // An abort (allocation failure) kills the process before
                // any report: the last line names the culprit.
                eprintln!("{name} seed {seed:#x} hint {hint:?} {steps:?}");
                std::fs::write(&last, fuzz_input(hint, &bytes)).expect("write the mutant");
            }
            match check(bytes, hint) {
                Ok(refused) => errors += u32::from(refused),
                Err(problem) => failures.push(format!(
                    "{name} seed {seed:#x} hint {hint:?} {steps:?}: {problem}"
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Of hundreds of mutants of headers and payloads, some must be refused.
    assert!(
        errors > 0,
        "no mutant was refused: the mutations do nothing"
    );
    eprintln!(
        "{} fixtures × {mutants} mutants: {errors} refused",
        files.len()
    );
}

/// Inputs the fuzz target found, in its layout: the first byte selects the
/// extension hint (see `fuzz/fuzz_targets/decode_fingerprint.rs`).
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/decode_fingerprint");
    let files = media_files(&dir);
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    for path in files {
        let data = std::fs::read(&path).expect("read regression input");
        let Some((&selector, media)) = data.split_first() else {
            continue;
        };
        let hint = HINTS[usize::from(selector) % HINTS.len()];
        if let Err(problem) = check(media.to_vec(), hint) {
            panic!("{}: {problem}", path.display());
        }
    }
}

#[test]
fn the_generator_is_splitmix64() {
    // Reference values of splitmix64 seeded with 0.
    let mut rng = SplitMix64::new(0);
    assert_eq!(rng.next(), 0xe220_a839_7b1d_cdaf);
    assert_eq!(rng.next(), 0x6e78_9e6a_a1b9_65f4);
}
