//! The MP4/MOV guard: every box symphonia or the `mp4` crate descends into
//! fits in its parent, and no sample table declares more than its box holds.

use std::io::{Read, Seek};

use symphonia::core::io::MediaSource;

use super::{walk_headers, EbmlReader, MAX_NESTING};

/// ISO-BMFF boxes that symphonia 0.5 reads as lists of boxes, with the
/// bytes before their first child (`meta` is a full box).
const MP4_CONTAINERS: [(&[u8; 4], u64); 12] = [
    (b"moov", 0),
    (b"trak", 0),
    (b"mdia", 0),
    (b"minf", 0),
    (b"stbl", 0),
    (b"edts", 0),
    (b"mvex", 0),
    (b"moof", 0),
    (b"traf", 0),
    (b"udta", 0),
    (b"meta", 4),
    (b"ilst", 0),
];

/// The top-level boxes symphonia 0.5 reads the children of.
const MP4_TOP_LEVEL: [&[u8; 4]; 3] = [b"moov", b"moof", b"meta"];

/// Checks an MP4/MOV input's box tree the way symphonia 0.5 reads it: that
/// every box it descends into fits in its parent, and that no sample table
/// declares more entries than its box holds, or samples larger than the
/// input. symphonia sizes allocations from those numbers before reading
/// (`Vec::with_capacity` of up to 4 G table entries, 64 GB, or a buffer per
/// sample), and a failed allocation aborts the process. Returns what is
/// wrong, if anything. symphonia 0.6 bounds these; this can go with it.
pub(crate) fn check_mp4(
    source: &mut dyn MediaSource,
    start: u64,
) -> std::io::Result<Option<String>> {
    // A closure for the same reason as in `guard_matroska`.
    #[allow(clippy::redundant_closure)]
    walk_headers(source, start, |r, len| walk_mp4(r, len))
}

fn walk_mp4<R: Read + Seek>(r: &mut EbmlReader<R>, len: u64) -> std::io::Result<Option<String>> {
    let fail = |what: &str, at: u64| Ok(Some(format!("mp4 {what} at byte {at}")));
    // The open containers: (type, end).
    let mut parents: Vec<([u8; 4], u64)> = Vec::new();
    loop {
        while parents.last().is_some_and(|p| r.pos >= p.1) {
            parents.pop();
        }
        if r.pos >= len {
            return Ok(None);
        }
        let at = r.pos;
        let parent = parents.last().copied();
        let parent_end = parent.map_or(len, |p| p.1);
        let (Some(size), Some(kind)) = (r.be_u32()?, r.fourcc()?) else {
            return Ok(None);
        };
        let end = match size {
            0 => Some(parent_end),
            1 => match r.be_u64()? {
                None => return Ok(None),
                Some(size) if size < 16 => None,
                Some(size) => at.checked_add(size),
            },
            size if size < 8 => None,
            size => at.checked_add(u64::from(size)),
        };
        // At the top level an unreadable box ends what symphonia reads (and
        // what follows an MP4 found in other data is not MP4).
        let end = match (end, parent) {
            (Some(end), None) => end,
            (Some(end), Some(_)) if end <= parent_end => end,
            (_, None) => return Ok(None),
            (Some(_), Some(_)) => return fail("box larger than its parent", at),
            (None, Some(_)) => return fail("box with an invalid size", at),
        };
        let in_ilst = parent.is_some_and(|p| &p.0 == b"ilst");
        let container = MP4_CONTAINERS
            .iter()
            .find(|c| c.0 == &kind && (parent.is_some() || MP4_TOP_LEVEL.contains(&c.0)))
            .map(|c| c.1);
        if let Some(skip) = container.or(in_ilst.then_some(0)) {
            if parents.len() >= MAX_NESTING {
                return fail("boxes nested too deep", at);
            }
            if &kind == b"meta" {
                // ISO `meta` is a full box (version and flags before its
                // children); QuickTime's, inside a `trak` or `udta`, is not:
                // its first child (`hdlr`) starts at once.
                let head = r.read_up_to(8)?;
                let quicktime = head.get(4..8) == Some(&b"hdlr"[..]);
                r.rewind(head.len() as u64)?;
                if !quicktime {
                    r.read_up_to(skip)?;
                }
            } else {
                r.read_up_to(skip)?;
            }
            parents.push((kind, end));
            continue;
        }
        if parent.is_some_and(|p| &p.0 == b"stbl") {
            let entry: u64 = match &kind {
                b"stts" | b"co64" => 8,
                b"stsc" => 12,
                b"stco" => 4,
                b"stsz" => 4,
                _ => 0,
            };
            if entry > 0 {
                let Some(_version) = r.be_u32()? else {
                    return Ok(None);
                };
                let constant = if &kind == b"stsz" {
                    r.be_u32()?
                } else {
                    Some(0)
                };
                let (Some(constant), Some(count)) = (constant, r.be_u32()?) else {
                    return Ok(None);
                };
                let entries = if constant == 0 { u64::from(count) } else { 0 };
                if entries * entry > end.saturating_sub(r.pos) {
                    return fail("sample table larger than its box", at);
                }
                if u64::from(constant) > len {
                    return fail("sample larger than the input", at);
                }
                if &kind == b"stsz" {
                    for _ in 0..entries {
                        match r.be_u32()? {
                            None => return Ok(None),
                            Some(size) if u64::from(size) > len => {
                                return fail("sample larger than the input", at)
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
        }
        if end > len {
            return Ok(None);
        }
        r.skip_to(end)?;
    }
}
