//! Immutable, memory-mapped segment files of delta-encoded postings.
//!
//! ```text
//! header   "AVSG" | version u16 LE | 0u16
//! data     per bucket (keys >> (24 − bits)), per key in ascending order:
//!            key delta varint (from the previous key of the bucket, the
//!            first from the bucket's base) | posting count varint |
//!            when the count is 2 or more, the byte length of the postings
//!            varint (so a lookup skips a popular key in O(1)) |
//!            per posting, sorted by (doc, frame):
//!              doc delta varint | frame varint (delta from the previous
//!              frame when the doc delta is 0, else absolute)
//! table    2^bits + 1 bucket start offsets into data, u32 LE
//! docs     doc count varint | doc deltas varint (strictly increasing)
//! trailer  postings u64 | keys u64 | docs u64 | data len u64 | table len u64
//!          | docs len u64 | bits u32 | 0u32 | data checksum [16]
//!          | meta checksum [16] | "AVSG"          (all integers LE)
//! ```
//! The meta checksum (blake3, first 16 bytes) covers everything but the
//! data and is checked on open; the data checksum is checked by
//! [`Segment::verify_data`]. A file is written under a temporary name,
//! fsynced and renamed, so a segment file is never seen half-written, and it
//! is never modified afterwards. Decoding is bounds-checked: a damaged file
//! yields wrong postings at worst, never a panic.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use avreg_fingerprint::matching::{DocId, Posting};

use super::varint;
use crate::error::{Error, Result};

/// Version of the segment file format. 2 added the byte length of
/// multi-posting keys; older segments are dropped and rebuilt on open.
pub(crate) const SEGMENT_VERSION: u16 = 2;
/// Hash keys use at most this many bits.
pub(crate) const KEY_BITS: u32 = 24;
const MAGIC: &[u8; 4] = b"AVSG";
const HEADER_LEN: usize = 8;
const TRAILER_LEN: usize = 6 * 8 + 8 + 16 + 16 + 4;
/// Postings per bucket the directory aims at.
const POSTINGS_PER_BUCKET: u64 = 8;

/// File name of segment `id`.
pub(crate) fn file_name(id: u64) -> String {
    format!("seg-{id:016x}.avseg")
}

/// Bucket bits for a segment of `postings` postings.
fn bucket_bits(postings: u64) -> u32 {
    let buckets = postings.div_ceil(POSTINGS_PER_BUCKET).max(1);
    (u64::BITS - (buckets - 1).leading_zeros()).clamp(4, KEY_BITS)
}

/// Writes one segment file, keys in ascending order.
pub(crate) struct SegmentWriter {
    out: BufWriter<File>,
    tmp_path: PathBuf,
    path: PathBuf,
    bits: u32,
    table: Vec<u32>,
    /// Next bucket whose start offset is not yet known.
    next_bucket: usize,
    prev_key: Option<u32>,
    data_len: u64,
    data_hash: blake3::Hasher,
    scratch: Vec<u8>,
    postings: u64,
    keys: u64,
}

impl std::fmt::Debug for SegmentWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentWriter")
            .field("path", &self.path)
            .finish()
    }
}

impl SegmentWriter {
    /// Starts `dir/seg-{id}.avseg` (under a temporary name), sized for about
    /// `expected_postings`.
    pub(crate) fn create(dir: &Path, id: u64, expected_postings: u64) -> Result<Self> {
        let path = dir.join(file_name(id));
        let tmp_path = dir.join(format!("{}.tmp", file_name(id)));
        let file = File::create(&tmp_path).map_err(Error::io(&tmp_path))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&SEGMENT_VERSION.to_le_bytes());
        header.extend_from_slice(&0u16.to_le_bytes());
        out.write_all(&header).map_err(Error::io(&tmp_path))?;
        let bits = bucket_bits(expected_postings);
        Ok(Self {
            out,
            tmp_path,
            path,
            bits,
            table: vec![0; (1usize << bits) + 1],
            next_bucket: 0,
            prev_key: None,
            data_len: 0,
            data_hash: blake3::Hasher::new(),
            scratch: Vec::new(),
            postings: 0,
            keys: 0,
        })
    }

    fn shift(&self) -> u32 {
        KEY_BITS - self.bits
    }

    /// Appends the postings of `key`, which must exceed every key added
    /// before. `postings` is sorted in place.
    pub(crate) fn add(&mut self, key: u32, postings: &mut [Posting]) -> Result<()> {
        if key >> KEY_BITS != 0 {
            return Err(Error::KeyOutOfRange(key));
        }
        if postings.is_empty() {
            return Ok(());
        }
        if self.prev_key.is_some_and(|p| p >= key) {
            return Err(Error::Corrupt(format!(
                "segment keys out of order at {key:#x}"
            )));
        }
        postings.sort_unstable();
        let bucket = (key >> self.shift()) as usize;
        let data_len = self.offset()?;
        let first_in_bucket = bucket >= self.next_bucket;
        while self.next_bucket <= bucket {
            self.table[self.next_bucket] = data_len;
            self.next_bucket += 1;
        }
        let base = if first_in_bucket {
            (bucket as u32) << self.shift()
        } else {
            self.prev_key.unwrap_or(0)
        };
        let s = &mut self.scratch;
        s.clear();
        let (mut doc, mut frame) = (0u32, 0u32);
        for p in postings.iter() {
            let dd = p.doc.0 - doc;
            varint::put(s, u64::from(dd));
            if dd == 0 {
                varint::put(s, u64::from(p.frame - frame));
            } else {
                varint::put(s, u64::from(p.frame));
            }
            (doc, frame) = (p.doc.0, p.frame);
        }
        let mut head = Vec::with_capacity(15);
        varint::put(&mut head, u64::from(key - base));
        varint::put(&mut head, postings.len() as u64);
        if postings.len() >= 2 {
            varint::put(&mut head, s.len() as u64);
        }
        for part in [&head[..], &s[..]] {
            self.out
                .write_all(part)
                .map_err(Error::io(&self.tmp_path))?;
            self.data_hash.update(part);
            self.data_len += part.len() as u64;
        }
        self.prev_key = Some(key);
        self.postings += postings.len() as u64;
        self.keys += 1;
        Ok(())
    }

    fn offset(&self) -> Result<u32> {
        u32::try_from(self.data_len).map_err(|_| Error::SegmentTooLarge)
    }

    /// Writes the directory and trailer, fsyncs, renames into place and
    /// opens the finished segment. `docs` lists the documents it covers.
    pub(crate) fn finish(mut self, id: u64, docs: &[u32]) -> Result<Segment> {
        let data_len = self.offset()?;
        while self.next_bucket < self.table.len() {
            self.table[self.next_bucket] = data_len;
            self.next_bucket += 1;
        }
        let mut meta = Vec::with_capacity(self.table.len() * 4 + docs.len() * 2 + TRAILER_LEN);
        for t in &self.table {
            meta.extend_from_slice(&t.to_le_bytes());
        }
        let table_len = meta.len() as u64;
        let mut sorted = docs.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        varint::put(&mut meta, sorted.len() as u64);
        let mut prev = None;
        for &d in &sorted {
            varint::put(&mut meta, u64::from(d - prev.map_or(0, |p: u32| p + 1)));
            prev = Some(d);
        }
        let docs_len = meta.len() as u64 - table_len;
        for v in [
            self.postings,
            self.keys,
            sorted.len() as u64,
            u64::from(data_len),
            table_len,
            docs_len,
        ] {
            meta.extend_from_slice(&v.to_le_bytes());
        }
        meta.extend_from_slice(&self.bits.to_le_bytes());
        meta.extend_from_slice(&0u32.to_le_bytes());
        meta.extend_from_slice(&self.data_hash.finalize().as_bytes()[..16]);
        let sum = meta_checksum(&header_bytes(), &meta);
        meta.extend_from_slice(&sum);
        meta.extend_from_slice(MAGIC);
        let io = Error::io(&self.tmp_path);
        self.out
            .write_all(&meta)
            .map_err(Error::io(&self.tmp_path))?;
        let file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(Error::io(&self.tmp_path))?;
        drop(file);
        std::fs::rename(&self.tmp_path, &self.path).map_err(Error::io(&self.path))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        sync_dir(dir)?;
        Segment::open(&self.path, id)
    }
}

fn header_bytes() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(MAGIC);
    h[4..6].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    h
}

/// blake3 over the header and the non-data sections up to the data checksum.
fn meta_checksum(header: &[u8], meta: &[u8]) -> [u8; 16] {
    let mut h = blake3::Hasher::new();
    h.update(header);
    h.update(meta);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}

/// fsyncs a directory so a rename or creation in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))
}

/// An open, memory-mapped segment.
pub(crate) struct Segment {
    id: u64,
    path: PathBuf,
    map: memmap2::Mmap,
    bits: u32,
    data_len: usize,
    table_at: usize,
    postings: u64,
    keys: u64,
    docs: Vec<u32>,
    data_checksum: [u8; 16],
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("id", &self.id)
            .field("postings", &self.postings)
            .field("keys", &self.keys)
            .field("docs", &self.docs.len())
            .finish()
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl Segment {
    /// Maps and validates a segment file.
    pub(crate) fn open(path: &Path, id: u64) -> Result<Self> {
        let file = File::open(path).map_err(Error::io(path))?;
        // SAFETY: segment files are immutable once renamed into place: they
        // are never written, truncated or renamed over while referenced, and
        // only deleted after they leave the manifest (unlinking keeps an
        // existing mapping valid). Every read through the map is
        // bounds-checked against lengths validated below.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(Error::io(path))?;
        let corrupt = |what: &str| Error::Corrupt(format!("segment {}: {what}", path.display()));
        let b: &[u8] = &map;
        if b.len() < HEADER_LEN + TRAILER_LEN || &b[..4] != MAGIC || &b[b.len() - 4..] != MAGIC {
            return Err(corrupt("not a segment file"));
        }
        let version = u16::from_le_bytes([b[4], b[5]]);
        if version != SEGMENT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "segment",
                found: u32::from(version),
                supported: u32::from(SEGMENT_VERSION),
            });
        }
        let t = b.len() - TRAILER_LEN;
        let postings = u64_at(b, t);
        let keys = u64_at(b, t + 8);
        let ndocs = u64_at(b, t + 16);
        let data_len = u64_at(b, t + 24);
        let table_len = u64_at(b, t + 32);
        let docs_len = u64_at(b, t + 40);
        let bits = u32::from_le_bytes([b[t + 48], b[t + 49], b[t + 50], b[t + 51]]);
        let mut data_checksum = [0u8; 16];
        data_checksum.copy_from_slice(&b[t + 56..t + 72]);
        let sum = &b[t + 72..t + 88];
        if !(4..=KEY_BITS).contains(&bits) || table_len != ((1u64 << bits) + 1) * 4 {
            return Err(corrupt("bad bucket table size"));
        }
        let total = (HEADER_LEN as u64)
            .checked_add(data_len)
            .and_then(|v| v.checked_add(table_len))
            .and_then(|v| v.checked_add(docs_len))
            .and_then(|v| v.checked_add(TRAILER_LEN as u64));
        if total != Some(b.len() as u64) {
            return Err(corrupt("section lengths do not add up"));
        }
        let data_len = data_len as usize;
        let table_at = HEADER_LEN + data_len;
        let docs_at = table_at + table_len as usize;
        if meta_checksum(&b[..HEADER_LEN], &b[table_at..t + 72]) != sum {
            return Err(corrupt("checksum mismatch"));
        }
        let seg = Self {
            id,
            path: path.to_path_buf(),
            bits,
            data_len,
            table_at,
            postings,
            keys,
            docs: Vec::new(),
            data_checksum,
            map,
        };
        let mut prev = 0u32;
        for i in 0..=(1usize << bits) {
            let v = seg.table(i);
            if v < prev || v as usize > data_len || (i == 0 && v != 0) {
                return Err(corrupt("bucket table not monotonic"));
            }
            prev = v;
        }
        if prev as usize != data_len {
            return Err(corrupt("bucket table does not end at the data end"));
        }
        let docs_bytes = &seg.map[docs_at..t];
        let mut pos = 0;
        let n = varint::get(docs_bytes, &mut pos).ok_or_else(|| corrupt("doc list"))?;
        if n != ndocs {
            return Err(corrupt("doc count"));
        }
        let mut docs = Vec::with_capacity(n.min(1 << 24) as usize);
        let mut next = 0u64;
        for _ in 0..n {
            let d = varint::get(docs_bytes, &mut pos).ok_or_else(|| corrupt("doc list"))?;
            let doc = next
                .checked_add(d)
                .filter(|&d| d <= u64::from(u32::MAX))
                .ok_or_else(|| corrupt("doc list"))?;
            docs.push(doc as u32);
            next = doc + 1;
        }
        if pos != docs_bytes.len() {
            return Err(corrupt("doc list length"));
        }
        Ok(Self { docs, ..seg })
    }

    #[inline]
    fn table(&self, bucket: usize) -> u32 {
        let at = self.table_at + bucket * 4;
        let b = &self.map[at..at + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    fn data(&self) -> &[u8] {
        &self.map[HEADER_LEN..HEADER_LEN + self.data_len]
    }

    /// The segment's id (its manifest key).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Its file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Postings held.
    pub(crate) fn postings(&self) -> u64 {
        self.postings
    }

    /// File size in bytes.
    pub(crate) fn bytes(&self) -> u64 {
        self.map.len() as u64
    }

    /// The documents covered, ascending.
    pub(crate) fn docs(&self) -> &[u32] {
        &self.docs
    }

    /// Checks the data checksum (reads the whole file).
    pub(crate) fn verify_data(&self) -> Result<()> {
        if blake3::hash(self.data()).as_bytes()[..16] != self.data_checksum {
            return Err(Error::Corrupt(format!(
                "segment {}: data checksum mismatch",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// Appends the postings of `key`.
    #[inline]
    pub(crate) fn postings_of(&self, key: u32, out: &mut Vec<Posting>) {
        if key >> KEY_BITS != 0 {
            return;
        }
        let shift = KEY_BITS - self.bits;
        let bucket = (key >> shift) as usize;
        let (start, end) = (self.table(bucket) as usize, self.table(bucket + 1) as usize);
        let data = &self.data()[start..end];
        let mut pos = 0;
        let mut cur = (bucket as u32) << shift;
        while pos < data.len() {
            let Some(delta) = varint::get_u32(data, &mut pos) else {
                return;
            };
            let Some(count) = varint::get(data, &mut pos) else {
                return;
            };
            let len = if count >= 2 {
                let Some(len) = varint::get(data, &mut pos) else {
                    return;
                };
                Some(len)
            } else {
                None
            };
            cur = cur.wrapping_add(delta);
            if cur > key {
                return;
            }
            if cur == key {
                decode_postings(data, &mut pos, count, out);
                return;
            }
            match len {
                Some(len) => match usize::try_from(len).ok().and_then(|l| pos.checked_add(l)) {
                    Some(next) => pos = next,
                    None => return,
                },
                None => {
                    // One posting: two varints.
                    if varint::skip(data, &mut pos).is_none()
                        || varint::skip(data, &mut pos).is_none()
                    {
                        return;
                    }
                }
            }
        }
    }

    /// Iterates the segment's keys in ascending order.
    pub(crate) fn cursor(&self) -> Cursor<'_> {
        Cursor {
            seg: self,
            bucket: 0,
            pos: 0,
            key: 0,
        }
    }
}

fn decode_postings(data: &[u8], pos: &mut usize, count: u64, out: &mut Vec<Posting>) {
    let (mut doc, mut frame) = (0u32, 0u32);
    for _ in 0..count {
        let (Some(dd), Some(f)) = (varint::get_u32(data, pos), varint::get_u32(data, pos)) else {
            return;
        };
        doc = doc.wrapping_add(dd);
        frame = if dd == 0 { frame.wrapping_add(f) } else { f };
        out.push(Posting {
            doc: DocId(doc),
            frame,
        });
    }
}

/// Sequential reader over a segment's (key, postings) groups.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    seg: &'a Segment,
    bucket: usize,
    /// Position in data.
    pos: usize,
    key: u32,
}

impl Cursor<'_> {
    /// Reads the next key, appending its postings to `out`. `None` at the
    /// end (or on damaged data).
    pub(crate) fn next_into(&mut self, out: &mut Vec<Posting>) -> Option<u32> {
        let shift = KEY_BITS - self.seg.bits;
        let nbuckets = 1usize << self.seg.bits;
        let data = self.seg.data();
        while self.bucket < nbuckets {
            let end = self.seg.table(self.bucket + 1) as usize;
            if self.pos < end {
                if self.pos == self.seg.table(self.bucket) as usize {
                    self.key = (self.bucket as u32) << shift;
                }
                let data = &data[..end];
                let delta = varint::get_u32(data, &mut self.pos)?;
                let count = varint::get(data, &mut self.pos)?;
                if count >= 2 {
                    varint::get(data, &mut self.pos)?;
                }
                self.key = self.key.wrapping_add(delta);
                decode_postings(data, &mut self.pos, count, out);
                return Some(self.key);
            }
            self.bucket += 1;
            self.pos = self.pos.max(self.seg.table(self.bucket) as usize);
        }
        None
    }
}
