//! Request bodies read by the server's `body::read` as the media routes
//! call it (registration and lookup fields and limits, and each with a
//! 64-byte limit), behind the router's `DefaultBodyLimit::disable()`, then
//! handed to what the route does before fingerprinting.
//!
//! Input layout (see `avreg_server::fuzzing::Harness::multipart`): the
//! first byte picks whether the `Content-Type` is
//! `multipart/form-data; boundary=avreg-fuzz-boundary` (even) or the
//! input's first line (odd), the route, whether `Content-Length` is sent,
//! and the size of the chunks the body arrives in; the rest is the body.
//!
//! A crash: a panic, an abort, a timeout, running out of memory, an upload
//! whose file is not its bytes, a form over its limits, or an upload file
//! left in the upload folder after the call.

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
    let _ = harness().multipart(data);
});
