//! The Matroska/WebM guard: where the input must appear to end, and whether
//! symphonia may follow the SeekHead.

use std::io::{Read, Seek};

use symphonia::core::io::MediaSource;

use super::{walk_headers, EbmlReader, MAX_NESTING};

/// What [`guard_matroska`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MatroskaGuard {
    /// Where the input must appear to end: at the first element (or block
    /// of laced frames) that declares more bytes than the input or its
    /// parent holds, or whose header symphonia could only get past by
    /// scanning for something that looks like an element.
    pub(crate) end: Option<u64>,
    /// Whether the SeekHead points at the elements it names. If not, the
    /// input is presented as a stream, which symphonia reads in order.
    pub(crate) follow_seek_head: bool,
}

impl Default for MatroskaGuard {
    fn default() -> Self {
        Self {
            end: None,
            follow_seek_head: true,
        }
    }
}

/// The master elements of symphonia-format-mkv 0.5.5 (`element_ids.rs`): it
/// descends into these, and reads any other known element whole.
pub(super) const MKV_MASTERS: [u32; 30] = [
    0x1A45_DFA3, // EBML
    0x1853_8067, // Segment
    0x114D_9B74, // SeekHead
    0x4DBB,      // Seek
    0x1549_A966, // Info
    0x1F43_B675, // Cluster
    0xA0,        // BlockGroup
    0x75A1,      // BlockAdditions
    0xA6,        // BlockMore
    0x1654_AE6B, // Tracks
    0xAE,        // TrackEntry
    0xE0,        // Video
    0xE1,        // Audio
    0x6D80,      // ContentEncodings
    0x6240,      // ContentEncoding
    0x5035,      // ContentEncryption
    0x47E7,      // ContentEncAesSettings
    0x55B0,      // Colour
    0x55D0,      // MasteringMetadata
    0x1C53_BB6B, // Cues
    0xBB,        // CuePoint
    0xB7,        // CueTrackPositions
    0x1043_A770, // Chapters
    0x45B9,      // EditionEntry
    0xB6,        // ChapterAtom
    0x80,        // ChapterDisplay
    0x1254_C367, // Tags
    0x7373,      // Tag
    0x63C0,      // Targets
    0x67C8,      // SimpleTag
];
const MKV_SEGMENT: u32 = 0x1853_8067;
const MKV_SEEK: u32 = 0x4DBB;
const MKV_SEEK_ID: u32 = 0x53AB;
pub(super) const MKV_SEEK_POSITION: u32 = 0x53AC;
pub(super) const MKV_SIMPLE_BLOCK: u32 = 0xA3;
const MKV_BLOCK: u32 = 0xA1;
/// What symphonia reads where the SeekHead says: Tracks, Info, Tags, Cues.
const MKV_SOUGHT: [u32; 4] = [0x1654_AE6B, 0x1549_A966, 0x1254_C367, 0x1C53_BB6B];
/// Most bytes of a block read to check its lacing.
const MKV_LACING_HEAD: u64 = 64 * 1024;

/// Walks a Matroska input's element tree the way symphonia 0.5 reads it,
/// without reading element data, and says how to present the input so
/// that symphonia never sees a length it should not trust.
///
/// symphonia-format-mkv 0.5 allocates what an element or a laced frame
/// declares before reading it (`vec![0; len]`), so three corrupt bytes can
/// request terabytes, and an allocation failure aborts the process: unlike
/// a panic, [`guarded`] cannot catch it. It also follows the SeekHead to
/// any offset, and after an unreadable element header scans the data for
/// anything that looks like one. Cutting the input before the first such
/// place makes it end there like a truncated file. symphonia 0.6 reads
/// declared lengths incrementally; this guard can go with the upgrade.
pub(crate) fn guard_matroska(
    source: &mut dyn MediaSource,
    start: u64,
) -> std::io::Result<MatroskaGuard> {
    // A closure, not the function: it must be generic over the reader's
    // borrow, which a generic fn item instantiated once is not.
    #[allow(clippy::redundant_closure)]
    walk_headers(source, start, |r, len| walk_matroska(r, len))
}

fn walk_matroska<R: Read + Seek>(
    r: &mut EbmlReader<R>,
    len: u64,
) -> std::io::Result<MatroskaGuard> {
    // The open masters: (id, data start, end).
    let mut parents: Vec<(u32, u64, u64)> = Vec::new();
    // Data start of the first Segment, and (id, position) of its children.
    let mut segment: Option<u64> = None;
    let mut children: Vec<(u32, u64)> = Vec::new();
    // (SeekID, SeekPosition) of each Seek.
    let mut seeks: Vec<(Option<u64>, Option<u64>)> = Vec::new();
    let mut end = None;
    loop {
        while parents.last().is_some_and(|p| r.pos >= p.2) {
            parents.pop();
        }
        if r.pos >= len {
            break;
        }
        let at = r.pos;
        let parent_end = parents.last().map_or(u64::MAX, |p| p.2);
        let Some((id, size)) = r.element_header()? else {
            end = Some(at);
            break;
        };
        let master = MKV_MASTERS.contains(&id);
        let data = r.pos;
        let element_end = match size {
            Some(size) => data.checked_add(size),
            // Unknown size: up to the parent's end, for masters only.
            None if master => Some(parent_end),
            None => None,
        };
        let Some(element_end) =
            element_end.filter(|&e| e <= parent_end && parents.len() < MAX_NESTING)
        else {
            end = Some(at);
            break;
        };
        if master {
            if parents.len() == 1 && segment == Some(parents[0].1) {
                children.push((id, at));
            }
            if id == MKV_SEGMENT && parents.is_empty() && segment.is_none() {
                segment = Some(data);
            }
            if id == MKV_SEEK {
                seeks.push((None, None));
            }
            parents.push((id, data, element_end));
            continue;
        }
        // A leaf: symphonia reads it whole (or skips it).
        if element_end > len {
            end = Some(at);
            break;
        }
        let size = element_end - data;
        match id {
            MKV_SIMPLE_BLOCK | MKV_BLOCK => {
                let head = r.read_up_to(size.min(MKV_LACING_HEAD))?;
                if !laced_frames_fit(&head, size, head.len() as u64 == size) {
                    end = Some(at);
                    break;
                }
            }
            MKV_SEEK_ID | MKV_SEEK_POSITION
                if parents.last().is_some_and(|p| p.0 == MKV_SEEK) && size <= 8 =>
            {
                let bytes = r.read_up_to(size)?;
                let value = bytes.iter().fold(0u64, |v, &b| v << 8 | u64::from(b));
                if let Some(seek) = seeks.last_mut() {
                    if id == MKV_SEEK_ID {
                        seek.0 = Some(value);
                    } else {
                        seek.1 = Some(value);
                    }
                }
            }
            _ => {}
        }
        r.skip_to(element_end)?;
    }
    let follow_seek_head = seeks.iter().all(|&(id, position)| match (id, position) {
        (Some(id), Some(position)) if MKV_SOUGHT.contains(&(id as u32)) => {
            let target = segment.and_then(|s| s.checked_add(position));
            target.is_some_and(|t| children.contains(&(id as u32, t)))
        }
        // symphonia skips unknown targets and rejects incomplete entries.
        _ => true,
    });
    Ok(MatroskaGuard {
        end,
        follow_seek_head,
    })
}

/// Whether every frame size the lacing of a (Simple)Block declares fits in
/// the block, computed as symphonia 0.5's `extract_frames` computes it.
/// `head` is the start of the block's `size` bytes (`complete` if all).
/// Running out of a complete block makes symphonia fail cleanly: that fits.
pub(super) fn laced_frames_fit(head: &[u8], size: u64, complete: bool) -> bool {
    let mut bytes = head.iter().copied();
    let mut parse = || -> Option<bool> {
        // Track number (EBML varint), timecode, flags.
        let first = bytes.next()?;
        let extra = if first == 0xFF {
            0
        } else {
            first.leading_zeros()
        };
        for _ in 0..extra + 2 {
            bytes.next()?;
        }
        let flags = bytes.next()?;
        let laced = bytes.next();
        match (flags >> 1) & 0b11 {
            // Xiph: runs of 255 then a byte.
            0b01 => {
                let frames = laced?;
                for _ in 0..frames {
                    let mut frame = 0u64;
                    loop {
                        let b = bytes.next()?;
                        frame += u64::from(b);
                        if b != 255 {
                            break;
                        }
                    }
                    if frame > size {
                        return Some(false);
                    }
                }
                Some(true)
            }
            // EBML: a varint, then signed varint differences.
            0b11 => {
                let frames = laced?;
                let mut last: Option<u64> = None;
                for _ in 0..frames {
                    let first = bytes.next()?;
                    let (mut value, width) = match first {
                        0xFF => (u64::MAX, 0),
                        // symphonia misreads a zero first byte.
                        0 => return Some(false),
                        _ => {
                            let w = first.leading_zeros();
                            (u64::from(first ^ (0x80 >> w)), w)
                        }
                    };
                    for _ in 0..width {
                        value = value << 8 | u64::from(bytes.next()?);
                    }
                    let frame = match last {
                        None => value,
                        Some(last) => {
                            let half_range = (1i64 << (7 * (width + 1) - 1)) - 1;
                            let delta = (value as i64).wrapping_sub(half_range);
                            (last as i64).wrapping_add(delta) as u64
                        }
                    };
                    if frame > size {
                        return Some(false);
                    }
                    last = Some(frame);
                }
                Some(true)
            }
            // Unlaced, or fixed-size lacing (sizes derived from the block).
            _ => Some(true),
        }
    };
    parse().unwrap_or(complete)
}

/// The `CodecID`s (`V_VP9`, `A_AC3`, `S_TEXT/UTF8`, …) the track entries
/// in `head`, a file's first bytes, name, in file order: each an element
/// 0x86 with a one-byte size and a printable `X_…` id. The audio edge and
/// the video sniffer name what they cannot decode from these.
pub(crate) fn codec_ids(head: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    (0..head.len().saturating_sub(4)).filter_map(move |i| {
        if head[i] != 0x86 || head[i + 1] & 0x80 == 0 {
            return None;
        }
        let len = usize::from(head[i + 1] & 0x7f);
        let id = head.get(i + 2..i + 2 + len)?;
        (len >= 3 && id[1] == b'_' && id.iter().all(u8::is_ascii_graphic)).then_some(id)
    })
}
