//! Tests of the segment file format and a model-based property test of the
//! segment index against a `BTreeMap`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use avreg_fingerprint::matching::{DocId, HashKey, Posting, PostingSource};
use proptest::prelude::*;

use super::segment::{Segment, SegmentWriter};
use super::segmented::SegmentIndex;
use super::{IndexOptions, Manifest};
use crate::error::Error;
use crate::store::Store;

fn p(doc: u32, frame: u32) -> Posting {
    Posting {
        doc: DocId(doc),
        frame,
    }
}

fn write_small(dir: &Path) -> Segment {
    let mut w = SegmentWriter::create(dir, 1, 3).expect("create");
    w.add(5, &mut [p(2, 7), p(0, 300)]).expect("add");
    w.add(0x00ab_cdef, &mut [p(2, 1)]).expect("add");
    w.finish(1, &[2, 0]).expect("finish")
}

/// The segment format, pinned byte for byte: changing it needs a new
/// `SEGMENT_VERSION` and a reader for the old one.
#[test]
fn segment_golden_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seg = write_small(dir.path());
    let bytes = std::fs::read(seg.path()).expect("read");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, GOLDEN_SEGMENT);
    let mut out = Vec::new();
    seg.postings_of(5, &mut out);
    assert_eq!(out, vec![p(0, 300), p(2, 7)]);
    out.clear();
    seg.postings_of(0x00ab_cdef, &mut out);
    seg.postings_of(6, &mut out);
    seg.postings_of(1 << 24, &mut out);
    assert_eq!(out, vec![p(2, 1)]);
    assert_eq!(seg.docs(), &[0, 2]);
    seg.verify_data().expect("checksum");
}

/// `write_small`'s file: header, 14 data bytes (key 5: delta 5, 2
/// postings in 5 bytes, doc 0 frame 300, doc +2 frame 7; key 0xabcdef: delta 0xbcdef
/// from its bucket's base, 1 posting, doc +2 frame 1), 17 bucket offsets,
/// the doc list [0, 2], the trailer.
const GOLDEN_SEGMENT: &str = concat!(
    "4156534702000000",
    "05020500ac020207ef9b2f010201",
    "000000000800000008000000080000000800000008000000080000000800000008000000",
    "08000000080000000e0000000e0000000e0000000e0000000e0000000e000000",
    "020001",
    "0300000000000000020000000000000002000000000000000e00000000000000440000000000000003000000000000000400000000000000",
    "413ebd51bdc1567b3ef40e1299c35ccb575fa50c5edb7abf32b1775f24aeeaea41565347",
);

#[test]
fn damaged_segments_are_refused_or_detected_without_panics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seg = write_small(dir.path());
    let path = seg.path().to_path_buf();
    let good = std::fs::read(&path).expect("read");
    drop(seg);
    // Any flipped byte outside the data section fails the open.
    let data_end = 8 + 14; // header + the data of the two keys
    for i in (0..good.len()).filter(|&i| !(8..data_end).contains(&i)) {
        let mut bad = good.clone();
        bad[i] ^= 0x40;
        std::fs::write(&path, &bad).expect("write");
        assert!(
            Segment::open(&path, 1).is_err(),
            "byte {i} flipped went unnoticed"
        );
    }
    // A flipped data byte opens, looks up without panicking and fails the
    // data checksum.
    for i in 8..data_end {
        let mut bad = good.clone();
        bad[i] ^= 0xff;
        std::fs::write(&path, &bad).expect("write");
        let seg = Segment::open(&path, 1).expect("metadata intact");
        let mut out = Vec::new();
        for key in [0, 5, 6, 0x00ab_cdef, 0x00ff_ffff] {
            seg.postings_of(key, &mut out);
        }
        let mut c = seg.cursor();
        while c.next_into(&mut out).is_some() {}
        assert!(matches!(seg.verify_data(), Err(Error::Corrupt(_))));
    }
    std::fs::write(&path, &good[..good.len() - 1]).expect("write");
    assert!(Segment::open(&path, 1).is_err());
}

#[test]
fn keys_out_of_range_are_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest: Arc<dyn Manifest> =
        Arc::new(Store::open(&dir.path().join("m"), 64 << 20).expect("store"));
    let index =
        SegmentIndex::open(&dir.path().join("i"), manifest, IndexOptions::default()).expect("open");
    assert!(matches!(
        index.add(DocId(0), &[(HashKey(1 << 24), 0)]),
        Err(Error::KeyOutOfRange(_))
    ));
    index.add(DocId(0), &[(HashKey(3), 0)]).expect("add");
    assert!(matches!(
        index.add(DocId(0), &[(HashKey(3), 0)]),
        Err(Error::DuplicateDoc(0))
    ));
}

#[derive(Clone, Debug)]
enum Op {
    /// A new document with these (key, frame) hashes.
    Add(Vec<(u32, u32)>),
    Flush,
    Compact,
    Reopen,
}

fn key() -> impl Strategy<Value = u32> {
    // Mostly a few hot keys, so postings lists grow and buckets share keys.
    prop_oneof![3 => 0u32..40, 1 => 0u32..(1 << 24), 1 => (1u32 << 24) - 40..(1 << 24)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((key(), 0u32..100_000), 0..60).prop_map(Op::Add),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

struct Harness {
    dir: tempfile::TempDir,
    options: IndexOptions,
    index: Option<SegmentIndex>,
    /// The forward store of the model: each document's hashes.
    docs: Vec<Vec<(u32, u32)>>,
    model: BTreeMap<u32, Vec<Posting>>,
}

impl Harness {
    fn open_index(&self) -> SegmentIndex {
        let manifest: Arc<dyn Manifest> =
            Arc::new(Store::open(&self.dir.path().join("manifest"), 64 << 20).expect("store"));
        let index = SegmentIndex::open(
            &self.dir.path().join("index"),
            manifest,
            self.options.clone(),
        )
        .expect("open index");
        for (doc, hashes) in self.docs.iter().enumerate() {
            let doc = DocId(doc as u32);
            if !index.contains(doc).expect("contains") {
                index.add(doc, &to_keys(hashes)).expect("re-add");
            }
        }
        index
    }

    fn index(&self) -> &SegmentIndex {
        self.index.as_ref().expect("open")
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Add(hashes) => {
                let doc = self.docs.len() as u32;
                self.index().add(DocId(doc), &to_keys(hashes)).expect("add");
                self.index().maybe_flush().expect("flush");
                for &(k, frame) in hashes {
                    self.model.entry(k).or_default().push(Posting {
                        doc: DocId(doc),
                        frame,
                    });
                }
                self.docs.push(hashes.clone());
            }
            Op::Flush => self.index().flush().expect("flush"),
            Op::Compact => self.index().compact().expect("compact"),
            Op::Reopen => {
                self.index = None;
                self.index = Some(self.open_index());
            }
        }
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let snap = self.index().snapshot();
        let mut expected: Vec<(u32, Posting)> = self
            .model
            .iter()
            .flat_map(|(&k, ps)| ps.iter().map(move |&p| (k, p)))
            .collect();
        expected.sort_unstable();
        prop_assert_eq!(&snap.dump(), &expected);
        for (&k, ps) in &self.model {
            let mut got = Vec::new();
            snap.postings(HashKey(k), &mut got);
            got.sort_unstable();
            let mut want = ps.clone();
            want.sort_unstable();
            prop_assert_eq!(got, want, "key {:#x}", k);
        }
        let mut none = Vec::new();
        snap.postings(HashKey(0x00aa_aaaa), &mut none);
        prop_assert_eq!(none.len(), self.model.get(&0x00aa_aaaa).map_or(0, Vec::len));
        snap.verify()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        Ok(())
    }
}

fn to_keys(hashes: &[(u32, u32)]) -> Vec<(HashKey, u32)> {
    hashes.iter().map(|&(k, f)| (HashKey(k), f)).collect()
}

fn run_ops(ops: &[Op], options: IndexOptions) -> Result<(), TestCaseError> {
    let mut h = Harness {
        dir: tempfile::tempdir().expect("temp dir"),
        options,
        index: None,
        docs: Vec::new(),
        model: BTreeMap::new(),
    };
    h.index = Some(h.open_index());
    for op in ops {
        h.apply(op);
        h.check()?;
    }
    // Files on disk are exactly the manifest's segments.
    let files = std::fs::read_dir(h.dir.path().join("index"))
        .expect("read dir")
        .count();
    prop_assert_eq!(files, h.index().snapshot().segment_count());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn segment_index_matches_model(
        ops in prop::collection::vec(op(), 1..40),
        buffer in 1usize..200,
        factor in 2usize..5,
    ) {
        run_ops(&ops, IndexOptions::default().with_buffer_postings(buffer).with_merge_factor(factor))?;
    }
}
