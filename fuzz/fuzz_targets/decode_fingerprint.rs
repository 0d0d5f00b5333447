//! Arbitrary bytes through the decoding edge and the fingerprint core.
//!
//! Input layout: the first byte picks the extension hint (see [`HINTS`]),
//! the rest is the media. `fuzz/seed.sh` builds a seed corpus from
//! `fixtures/audio/` in that layout.
//!
//! What counts as a bug: an unwind out of `fingerprint_audio`, a panic in
//! avreg's own code, an abort (allocation failure), a timeout, or an `Ok`
//! result that breaks the documented invariants. Panics inside symphonia are
//! caught by avreg-decode's panic guard and become `Error::Corrupt` by
//! design; they are let through silently unless
//! `AVREG_FUZZ_SYMPHONIA_PANICS=1` is set, which turns them into crashes too
//! (to collect them for upstream reports).

#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;

use avreg_decode::audio::{fingerprint_audio, DecodeOptions, MIN_SAMPLE_RATE};
use avreg_decode::{Error, PANIC_MARKER};
use avreg_fingerprint::audio::{AudioConfig, AudioFingerprint, MAX_CHANNELS, MAX_INPUT_RATE};
use libfuzzer_sys::fuzz_target;

/// Extension hints, indexed by the first input byte modulo their number.
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

/// Ten minutes: the service's kind of limit, and a bound on the work one
/// input can cause.
const MAX_DURATION_MS: u64 = 10 * 60 * 1000;

fn symphonia_panics_are_crashes() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT
        .get_or_init(|| std::env::var_os("AVREG_FUZZ_SYMPHONIA_PANICS").is_some_and(|v| v == "1"))
}

fuzz_target!(
    init: {
        // libfuzzer-sys installs a hook that aborts on every panic, before
        // any unwinding, so even the panics avreg-decode catches would count
        // as crashes. Let symphonia's unwind to avreg-decode's catch_unwind
        // (quietly: the fuzzer hits thousands); anything else still aborts.
        if !symphonia_panics_are_crashes() {
            let abort_hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let in_symphonia = info
                    .location()
                    .is_some_and(|l| l.file().contains("symphonia"));
                if !in_symphonia {
                    abort_hook(info);
                }
            }));
        }
    },
    |data: &[u8]| {
        let Some((&selector, media)) = data.split_first() else {
            return;
        };
        let hint = HINTS[usize::from(selector) % HINTS.len()];
        let config = AudioConfig::default();
        let opts = DecodeOptions {
            max_duration_ms: Some(MAX_DURATION_MS),
            ..DecodeOptions::default()
        };
        let source = Box::new(Cursor::new(media.to_vec()));
        match fingerprint_audio(source, hint, &config, &opts) {
            Ok((fp, info)) => {
                assert!((MIN_SAMPLE_RATE..=MAX_INPUT_RATE).contains(&info.sample_rate), "{info:?}");
                assert!((1..=MAX_CHANNELS).contains(&info.channels), "{info:?}");
                assert!(info.decoded_ms <= MAX_DURATION_MS, "{info:?}");
                assert_eq!(fp.duration_ms(), info.decoded_ms, "{info:?}");
                let bytes = fp.to_bytes();
                let back = AudioFingerprint::from_bytes(&bytes).expect("own encoding parses");
                assert_eq!(back, fp);
            }
            Err(Error::Corrupt(msg)) if msg.starts_with(PANIC_MARKER) => {
                assert!(!symphonia_panics_are_crashes(), "{msg}");
            }
            // In-memory input cannot fail to read.
            Err(e @ Error::Io { .. }) => panic!("{e}"),
            Err(_) => {}
        }
    }
);
