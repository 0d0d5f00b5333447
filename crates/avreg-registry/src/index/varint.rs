//! LEB128 varints, as in the fingerprint format and Lucene's postings.
//! Decoding is bounds-checked and never panics: segment bytes are mapped
//! from disk.

/// Appends `v` as a LEB128 varint.
pub(crate) fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint at `*pos`, advancing it. `None` on truncated or overlong
/// input.
#[inline(always)]
pub(crate) fn get(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    // Most varints in a segment are one byte.
    if let Some(&b) = bytes.get(*pos) {
        if b < 0x80 {
            *pos += 1;
            return Some(u64::from(b));
        }
    }
    get_slow(bytes, pos)
}

#[inline]
fn get_slow(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0u32;
    loop {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        if shift == 63 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// Advances past one varint without decoding it. `None` if truncated.
#[inline(always)]
pub(crate) fn skip(bytes: &[u8], pos: &mut usize) -> Option<()> {
    let rest = bytes.get(*pos..)?;
    let n = rest.iter().position(|&b| b < 0x80)?;
    *pos += n + 1;
    Some(())
}

/// Reads a varint that must fit a `u32`.
#[inline]
pub(crate) fn get_u32(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    get(bytes, pos).and_then(|v| u32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pins_bytes() {
        let mut out = Vec::new();
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            put(&mut out, v);
        }
        assert_eq!(&out[..6], &[0, 1, 0x7f, 0x80, 0x01, 0xac]);
        let mut pos = 0;
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(get(&out, &mut pos), Some(v));
        }
        assert_eq!(pos, out.len());
        assert_eq!(get(&out, &mut pos), None);
        let mut skipped = 0;
        for _ in 0..7 {
            skip(&out, &mut skipped).expect("skip");
        }
        assert_eq!(skipped, out.len());
        assert_eq!(skip(&out, &mut skipped), None);
        assert_eq!(skip(&[0x80, 0x80], &mut 0), None);
    }

    #[test]
    fn rejects_truncated_and_overlong() {
        assert_eq!(get(&[0x80], &mut 0), None);
        assert_eq!(get(&[0xff; 11], &mut 0), None);
        assert_eq!(get_u32(&[0x80, 0x80, 0x80, 0x80, 0x10], &mut 0), None);
    }
}
