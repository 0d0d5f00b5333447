//! Ledger bodies (`POST /v1/ledger`, and each kind's create and amend)
//! sent through the service's router, with a key of each ledger role, to a
//! registry seeded with `fixtures/ledger/example.json` (one per process, in
//! `/dev/shm` when there is one: every successful write is flushed).
//!
//! Input layout (see `avreg_server::fuzzing::Harness::ledger_json`): the
//! first byte picks the key (low two bits) and the route (the rest, modulo
//! 17); the rest is the body. `fuzz/seed.sh` makes seeds from
//! `example.json` for every route.
//!
//! A crash: a panic, an abort, a timeout, running out of memory, a 500, a
//! success that added no audit event (or events that do not follow the
//! head), or a failure that added any.

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
    let _ = harness().ledger_json(data);
});
