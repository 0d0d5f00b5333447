//! The panic guard: decoder panics on malformed data become errors.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, Result};

/// Runs a symphonia call, turning a panic into [`Error::Corrupt`].
///
/// symphonia 0.5 panics on some malformed inputs (index and arithmetic
/// overflow in demuxers and decoders). This is the crate's boundary with
/// untrusted bytes, so a panic there must become an error, never reach the
/// user. The state touched by the closure (reader, decoder) is dropped
/// without further use once an error is returned. The panic message still
/// goes through the process's panic hook (stderr by default).
pub(crate) fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Error::Corrupt(format!("{PANIC_MARKER} while {what}: {msg}"))
    })
}

/// Start of the message of a [`Error::Corrupt`] that comes from a caught
/// decoder panic (the fuzz target looks for it).
pub const PANIC_MARKER: &str = "decoder panicked on malformed data";
