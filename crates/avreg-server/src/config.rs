//! How `[server]` keys deserialise into [`crate::ServerOptions`]: times
//! in milliseconds (`*_ms`), the clip limit in seconds, `0` workers for
//! one per core, an empty `temp_dir` for the binary's default.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Milliseconds into a duration.
pub fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}

/// Seconds into milliseconds.
pub fn seconds_as_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    u64::deserialize(d).map(|s| s.saturating_mul(1000))
}

/// `0`: one worker per core.
pub fn workers<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(d)?;
    Ok(if n == 0 {
        crate::ServerOptions::default().fingerprint_workers
    } else {
        n
    })
}

/// At least 1 (a page of nothing is no page).
pub fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    u64::deserialize(d).map(|n| n.max(1))
}

/// An empty path is no path.
pub fn optional_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let path = String::deserialize(d)?;
    Ok((!path.is_empty()).then(|| PathBuf::from(path)))
}
