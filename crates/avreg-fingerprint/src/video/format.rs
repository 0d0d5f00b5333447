//! The versioned binary form of a [`VideoFingerprint`].
//!
//! ```text
//! magic "AVFV" | format version u16 LE | algorithm version u16 LE
//! | duration_ms varint | frame-hash count varint
//! | per hash: Δtime_ms varint, view u8, quality u8, PDQ hash 32 bytes
//!   (four u64 LE words, bit 16·row + column of the DCT)
//! | checksum: first 4 bytes of blake3 over everything before it
//! ```
//! About 35 bytes per hash. Decoding validates everything and never panics:
//! it is fed untrusted bytes.

use super::{FrameHash, PdqHash, VideoFingerprint, View, ALGORITHM_VERSION};
use crate::audio::format::{get_varint, put_varint};
use crate::envelope;
use crate::error::{Error, Result};

/// Version of the binary encoding.
pub const FORMAT_VERSION: u16 = 1;
const MAGIC: &[u8; 4] = b"AVFV";
/// Smallest encoded hash: one-byte delta, view, quality, 32 hash bytes.
const MIN_HASH_BYTES: usize = 35;

pub(crate) fn encode(fp: &VideoFingerprint) -> Vec<u8> {
    let mut out = envelope::start(
        MAGIC,
        FORMAT_VERSION,
        fp.version,
        16 + fp.frames.len() * MIN_HASH_BYTES,
    );
    put_varint(&mut out, fp.duration_ms);
    put_varint(&mut out, fp.frames.len() as u64);
    let mut prev = 0u32;
    for f in &fp.frames {
        put_varint(&mut out, u64::from(f.time_ms.saturating_sub(prev)));
        out.push(f.view as u8);
        out.push(f.quality);
        out.extend_from_slice(&f.hash.to_bytes());
        prev = prev.max(f.time_ms);
    }
    envelope::seal(out)
}

pub(crate) fn decode(bytes: &[u8]) -> Result<VideoFingerprint> {
    let bad = |m: &str| Error::Encoding(m.to_owned());
    let mut r = envelope::open(
        bytes,
        MAGIC,
        "a video fingerprint",
        FORMAT_VERSION,
        ALGORITHM_VERSION,
    )?;
    let (duration_ms, count) = envelope::read_counts(&mut r, "hash", MIN_HASH_BYTES)?;
    let mut frames = Vec::with_capacity(count);
    let mut time = 0u64;
    for _ in 0..count {
        let dt = get_varint(&mut r).ok_or_else(|| bad("truncated hash"))?;
        // A delta near 2^64 must not wrap (or overflow) the time.
        time = time
            .checked_add(dt)
            .filter(|&t| t <= duration_ms)
            .ok_or_else(|| bad("frame after the end of the video"))?;
        if r.len() < 34 {
            return Err(bad("truncated hash"));
        }
        let view = View::from_code(r[0]).ok_or_else(|| bad("unknown view"))?;
        let quality = r[1];
        if quality > 100 {
            return Err(bad("quality out of range"));
        }
        let mut h = [0u8; 32];
        h.copy_from_slice(&r[2..34]);
        r = &r[34..];
        frames.push(FrameHash {
            time_ms: time as u32,
            hash: PdqHash::from_bytes(&h),
            quality,
            view,
        });
    }
    if !r.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(VideoFingerprint {
        version: ALGORITHM_VERSION,
        duration_ms,
        frames,
    })
}
