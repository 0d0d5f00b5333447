//! The envelope every binary fingerprint form shares: a four-byte magic,
//! the format version and the algorithm version (u16 LE each), the body,
//! then a checksum (the first four bytes of blake3 over everything before
//! it). Opening checks all of it before the body is parsed.

use crate::error::{Error, Result};

/// Length of the header: magic and the two versions.
const HEADER: usize = 4 + 2 + 2;
/// Length of the checksum.
const CHECKSUM: usize = 4;

/// The header of a new fingerprint, ready for its body.
pub(crate) fn start(magic: &[u8; 4], format: u16, algorithm: u16, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + capacity + CHECKSUM);
    out.extend_from_slice(magic);
    out.extend_from_slice(&format.to_le_bytes());
    out.extend_from_slice(&algorithm.to_le_bytes());
    out
}

/// Appends the checksum.
pub(crate) fn seal(mut out: Vec<u8>) -> Vec<u8> {
    let sum = blake3::hash(&out);
    out.extend_from_slice(&sum.as_bytes()[..CHECKSUM]);
    out
}

/// Checks the header (`what` names the kind in errors) and the checksum,
/// and returns the body.
pub(crate) fn open<'a>(
    bytes: &'a [u8],
    magic: &[u8; 4],
    what: &str,
    format: u16,
    algorithm: u16,
) -> Result<&'a [u8]> {
    let bad = |m: String| Error::Encoding(m);
    if bytes.len() < HEADER + 2 + CHECKSUM {
        return Err(bad("too short".into()));
    }
    let (all, sum) = bytes.split_at(bytes.len() - CHECKSUM);
    if &all[..4] != magic {
        return Err(bad(format!("not {what} (bad magic)")));
    }
    for (found, supported) in [
        (u16::from_le_bytes([all[4], all[5]]), format),
        (u16::from_le_bytes([all[6], all[7]]), algorithm),
    ] {
        if found != supported {
            return Err(Error::UnsupportedVersion { found, supported });
        }
    }
    if blake3::hash(all).as_bytes()[..CHECKSUM] != *sum {
        return Err(bad("checksum mismatch".into()));
    }
    Ok(&all[HEADER..])
}

/// Upper bound on a declared duration: 100 hours.
const MAX_DURATION_MS: u64 = 100 * 3_600_000;

/// Reads the duration and the item count that start a body, refusing a
/// duration beyond 100 hours and a count the rest of the body cannot hold
/// at `min_item_bytes` each (before anything is allocated). `items` names
/// them in errors.
pub(crate) fn read_counts(
    r: &mut &[u8],
    items: &str,
    min_item_bytes: usize,
) -> Result<(u64, usize)> {
    let bad = |m: String| Error::Encoding(m);
    let duration_ms =
        crate::audio::format::get_varint(r).ok_or_else(|| bad("truncated duration".into()))?;
    if duration_ms > MAX_DURATION_MS {
        return Err(bad("duration out of range".into()));
    }
    let count = crate::audio::format::get_varint(r)
        .ok_or_else(|| bad(format!("truncated {items} count")))?;
    if count > (r.len() / min_item_bytes.max(1)) as u64 {
        return Err(bad(format!("{items} count exceeds the data")));
    }
    Ok((duration_ms, count as usize))
}
