//! The versioned binary form of an [`AudioFingerprint`].
//!
//! ```text
//! magic "AVFA" | format version u16 LE | algorithm version u16 LE
//! | duration_ms varint | peak count varint
//! | per peak: Δtime_ms varint, (freq << 2 | level) varint
//! | checksum: first 4 bytes of blake3 over everything before it
//! ```
//! About three bytes per peak. Decoding validates everything and never
//! panics: it is fed untrusted bytes.

use super::{AudioFingerprint, Peak, ALGORITHM_VERSION, SUBDIV};
use crate::envelope;
use crate::error::{Error, Result};

/// Version of the binary encoding.
pub const FORMAT_VERSION: u16 = 1;
const MAGIC: &[u8; 4] = b"AVFA";
/// Largest frequency value (1/16 bin) a peak may carry.
const MAX_FREQ: u64 = 257 * SUBDIV as u64;

pub(crate) fn encode(fp: &AudioFingerprint) -> Vec<u8> {
    let mut out = envelope::start(
        MAGIC,
        FORMAT_VERSION,
        ALGORITHM_VERSION,
        16 + fp.peaks.len() * 3,
    );
    put_varint(&mut out, fp.duration_ms);
    put_varint(&mut out, fp.peaks.len() as u64);
    let mut prev = 0u32;
    for p in &fp.peaks {
        put_varint(&mut out, u64::from(p.time_ms - prev));
        put_varint(&mut out, (u64::from(p.freq) << 2) | u64::from(p.level));
        prev = p.time_ms;
    }
    envelope::seal(out)
}

pub(crate) fn decode(bytes: &[u8]) -> Result<AudioFingerprint> {
    let bad = |m: &str| Error::Encoding(m.to_owned());
    let mut r = envelope::open(
        bytes,
        MAGIC,
        "an audio fingerprint",
        FORMAT_VERSION,
        ALGORITHM_VERSION,
    )?;
    // Each peak takes at least two bytes.
    let (duration_ms, count) = envelope::read_counts(&mut r, "peak", 2)?;
    let mut peaks = Vec::with_capacity(count);
    let mut time = 0u64;
    for _ in 0..count {
        let dt = get_varint(&mut r).ok_or_else(|| bad("truncated peak"))?;
        let fl = get_varint(&mut r).ok_or_else(|| bad("truncated peak"))?;
        // A delta near 2^64 must not wrap (or overflow) the time.
        time = time
            .checked_add(dt)
            .filter(|&t| t <= duration_ms + 1_000)
            .ok_or_else(|| bad("peak after the end of the audio"))?;
        let (freq, level) = (fl >> 2, (fl & 3) as u8);
        if freq > MAX_FREQ || level == 0 || level > 2 {
            return Err(bad("peak out of range"));
        }
        peaks.push(Peak {
            time_ms: time as u32,
            freq: freq as u16,
            level,
        });
    }
    if !r.is_empty() {
        return Err(bad("trailing bytes"));
    }
    if peaks.windows(2).any(|w| w[0] > w[1]) {
        return Err(bad("peaks out of order"));
    }
    Ok(AudioFingerprint { duration_ms, peaks })
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn get_varint(r: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = r.split_first()?;
        *r = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}
