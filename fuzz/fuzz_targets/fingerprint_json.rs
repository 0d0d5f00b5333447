//! The JSON bodies that carry fingerprints (`POST /v1/lookup`,
//! `/v1/lookup/batch`, `/v1/recordings`, `/v1/fixations/{id}/media`),
//! parsed and checked as their handlers do before any search or
//! registration, and every accepted fingerprint re-encoded.
//!
//! Input layout (see `avreg_server::fuzzing::Harness::fingerprint_json`):
//! a body starting with `{` or whitespace is sent to every route as is;
//! any other first byte builds the bodies from binary fingerprints whose
//! checksums the harness appends (odd: a u16 LE audio length, the audio,
//! then the video fingerprint). `fuzz/seed.sh` makes seeds of both kinds.
//!
//! A crash: a panic (in the server, the fingerprint crate, or an invariant
//! of the harness), an abort, a timeout or running out of memory.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use avreg_server::fuzzing::Harness;
use libfuzzer_sys::fuzz_target;

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| Harness::new(Some(Path::new("/dev/shm")).filter(|p| p.is_dir())))
}

fuzz_target!(|data: &[u8]| {
    let _ = harness().fingerprint_json(data);
});
