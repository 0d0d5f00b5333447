//! Video matching, sans-IO: band lookup, Hamming verification, temporal
//! voting.
//!
//! 1. **Candidates.** Each 256-bit hash is cut into [`BANDS`] bands of
//!    [`BAND_BITS`] bits (band `m` is DCT row `m`, i.e. [`PdqHash::word16`]).
//!    A reference frame is indexed under each of its bands
//!    ([`band_key`]); a query hash looks up its own bands and so finds every
//!    reference frame that agrees exactly on at least one band. Measured on
//!    synthetic edits (`crates/avreg-eval/examples/video_bands.rs`, 240 true pairs, 1,056
//!    unrelated): 16 bands of 16 bits find 216 of the 216 true pairs within
//!    40 bits, with 0.016 identical bands per unrelated pair; 8 bands of 32
//!    bits miss 17 of them; 32 bands of 8 bits find them all but load 19
//!    times more unrelated candidates.
//! 2. **Verification.** The full reference hash (from the forward store,
//!    [`VideoPostingSource::frame_hash`]) must be within
//!    [`VideoMatchConfig::max_distance`] bits (56) of the query hash.
//!    Unrelated PDQ hashes sit around 128 bits apart (the closest unrelated
//!    pair measured was 98 bits; FINGERPRINTING.md reports none under 86 in
//!    8.7 M pairs of real frames). Rescale, letterbox and brightness edits
//!    stay within 40; an opaque logo plus a caption band does not: at 40
//!    bits the corpus evaluation found 5 of 9 such clips, at 56 all 9 (and
//!    the combined edit 7 of 9 → 9 of 9), with no false match on the
//!    negatives either way.
//! 3. **Temporal voting.** Each verified pair votes for (recording, reference
//!    time − query time); one query frame votes once per (recording, offset
//!    bin). A match needs [`VideoMatchConfig::min_aligned`] distinct query
//!    frames agreeing on one offset (± one bin), so a single coincidental
//!    frame (a title card, a logo screen) cannot make a match.

use std::collections::HashMap;

use super::{FrameHash, PdqHash, VideoFingerprint, View};
use crate::postings::{DocId, HashKey};

/// Bands a hash is cut into.
pub const BANDS: usize = 16;
/// Bits per band.
pub const BAND_BITS: usize = 16;

/// The index key of band `band` (0..16) holding `value`: the band number in
/// bits 16..20, the value in bits 0..16. Keys of video bands never exceed
/// 2^20, so a registry may keep them beside other keys by tagging the high
/// bits.
pub fn band_key(band: usize, value: u16) -> HashKey {
    HashKey(((band as u32) << 16) | u32::from(value))
}

/// The [`BANDS`] keys of a hash.
pub fn band_keys(hash: &PdqHash) -> [HashKey; BANDS] {
    std::array::from_fn(|m| band_key(m, hash.word16(m)))
}

/// One indexed reference hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VideoPosting {
    /// The recording.
    pub doc: DocId,
    /// Index of the hash in the recording's fingerprint (its
    /// [`VideoFingerprint::frames`]), the key of the forward store.
    pub frame: u32,
    /// Presentation time of the frame in the recording, ms.
    pub time_ms: u32,
}

/// What matching needs from an index: the postings of a band key, and the
/// full hash of a posting for verification (the registry keeps the frame
/// hashes of each recording in a forward store).
pub trait VideoPostingSource {
    /// Appends every posting of `key` to `out` (in any order).
    fn postings(&self, key: HashKey, out: &mut Vec<VideoPosting>);
    /// The full hash of frame `frame` of `doc`, if known.
    fn frame_hash(&self, doc: DocId, frame: u32) -> Option<PdqHash>;
}

/// The (key, posting) pairs under which a reference fingerprint is indexed:
/// every band of every hash with quality ≥ `min_quality`.
pub fn reference_postings(
    doc: DocId,
    fingerprint: &VideoFingerprint,
    min_quality: u8,
) -> Vec<(HashKey, VideoPosting)> {
    let mut out = Vec::with_capacity(fingerprint.frames.len() * BANDS);
    for (i, f) in fingerprint.frames.iter().enumerate() {
        if f.quality < min_quality || !f.view.is_indexed() {
            continue;
        }
        let posting = VideoPosting {
            doc,
            frame: i as u32,
            time_ms: f.time_ms,
        };
        for key in band_keys(&f.hash) {
            out.push((key, posting));
        }
    }
    out
}

/// Parameters of a video search.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoMatchConfig {
    /// Largest Hamming distance (of 256) accepted between a query and a
    /// reference hash.
    pub max_distance: u32,
    /// Fewest distinct query frames agreeing on one (recording, offset).
    pub min_aligned: u32,
    /// Width of an offset bin, ms. Sampling puts up to one sampling interval
    /// between a query frame and the nearest reference frame.
    pub offset_bin_ms: u32,
    /// Query hashes below this quality are not looked up.
    pub min_quality: u8,
    /// Whether mirrored query hashes are looked up.
    pub mirrored: bool,
    /// Most matches returned.
    pub max_results: usize,
    /// Postings per band key above which the key is skipped as
    /// uninformative (a band shared by most flat frames).
    pub max_postings_per_key: usize,
    /// Whether the query's re-post views ([`View::is_repost`]) are looked
    /// up when its other views found no match of
    /// [`VideoMatchConfig::sure_aligned`] frames.
    pub repost_views: bool,
    /// See `repost_views`.
    pub sure_aligned: u32,
    /// Query frames vote once per slot of this many ms (the sampling
    /// interval): the frames a query samples between grid times
    /// ([`super::QUERY_PHASES`]) find the reference's instant, and do not
    /// count as more frames.
    pub query_slot_ms: u32,
}

impl Default for VideoMatchConfig {
    fn default() -> Self {
        Self {
            max_distance: 56,
            min_aligned: 3,
            offset_bin_ms: 500,
            min_quality: 20,
            mirrored: true,
            max_results: 5,
            max_postings_per_key: 50_000,
            repost_views: true,
            sure_aligned: 6,
            query_slot_ms: 250,
        }
    }
}

/// One matched recording.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoMatch {
    /// The recording.
    pub doc: DocId,
    /// Confidence in 0..1: grows with the aligned frames and with their
    /// closeness ([`video_score`]).
    pub score: f32,
    /// Distinct query slots ([`VideoMatchConfig::query_slot_ms`]) agreeing
    /// on the offset.
    pub aligned: u32,
    /// Mean Hamming distance of the aligned frames' best pairs.
    pub mean_distance: f32,
    /// Whether the query is a mirrored copy.
    pub mirrored: bool,
    /// Reference time − query time, ms: the median over the aligned frames.
    pub offset_ms: i64,
    /// Start of the matched span in the query, ms.
    pub query_start_ms: u64,
    /// Length of the matched span in the query, ms.
    pub query_duration_ms: u64,
    /// Start of the matched span in the reference, ms.
    pub ref_start_ms: u64,
    /// Length of the matched span in the reference, ms.
    pub ref_duration_ms: u64,
}

/// Score of `aligned` frames at mean distance `mean_distance`: 0.5 at 4
/// exact frames, lowered as the distance approaches 64 bits.
pub fn video_score(aligned: u32, mean_distance: f32) -> f32 {
    let a = aligned as f32;
    let closeness = (1.0 - mean_distance / 64.0).clamp(0.0, 1.0);
    a / (a + 4.0) * closeness
}

/// A verified pair: one query frame, one reference frame.
#[derive(Clone, Copy, Debug)]
struct Hit {
    doc: DocId,
    mirrored: bool,
    /// Reference time − query time, ms.
    offset: i64,
    query_ms: u32,
    distance: u32,
}

/// Searches `source` for `query`. Returns matches with at least
/// [`VideoMatchConfig::min_aligned`] aligned frames, best first.
pub fn search_video(
    query: &VideoFingerprint,
    source: &impl VideoPostingSource,
    config: &VideoMatchConfig,
) -> Vec<VideoMatch> {
    let mut hits = verified_hits(query, source, config, Pass::Plain);
    let mut all = vote(&hits, config);
    if config.repost_views && all.first().is_none_or(|m| m.aligned < config.sure_aligned) {
        hits.extend(verified_hits(query, source, config, Pass::Repost));
        all = vote(&hits, config);
    }
    all.retain(|m| m.aligned >= config.min_aligned);
    all
}

/// Which of a query's views a pass looks up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The frame, its mirror, a vertical frame's band.
    Plain,
    /// The re-post views.
    Repost,
    /// Both.
    All,
}

/// Like [`search_video`] but without the decision threshold, for
/// calibration on negatives.
pub fn video_candidates(
    query: &VideoFingerprint,
    source: &impl VideoPostingSource,
    config: &VideoMatchConfig,
) -> Vec<VideoMatch> {
    let pass = if config.repost_views {
        Pass::All
    } else {
        Pass::Plain
    };
    let hits = verified_hits(query, source, config, pass);
    vote(&hits, config)
}

fn verified_hits(
    query: &VideoFingerprint,
    source: &impl VideoPostingSource,
    config: &VideoMatchConfig,
    pass: Pass,
) -> Vec<Hit> {
    let mut postings: HashMap<HashKey, Vec<VideoPosting>> = HashMap::new();
    let mut full: HashMap<(DocId, u32), Option<PdqHash>> = HashMap::new();
    let mut hits = Vec::new();
    let mut seen: Vec<VideoPosting> = Vec::new();
    let wanted = |f: &FrameHash| {
        f.quality >= config.min_quality
            && f.view.is_query()
            && (f.view != View::Mirrored || config.mirrored)
            && match pass {
                Pass::Plain => !f.view.is_repost(),
                Pass::Repost => f.view.is_repost(),
                Pass::All => true,
            }
    };
    for q in query.frames.iter().filter(|f| wanted(f)) {
        seen.clear();
        for key in band_keys(&q.hash) {
            let list = postings.entry(key).or_insert_with(|| {
                let mut v = Vec::new();
                source.postings(key, &mut v);
                v
            });
            if list.len() <= config.max_postings_per_key {
                seen.extend_from_slice(list);
            }
        }
        seen.sort_unstable();
        seen.dedup();
        for p in &seen {
            let Some(r) = *full
                .entry((p.doc, p.frame))
                .or_insert_with(|| source.frame_hash(p.doc, p.frame))
            else {
                continue;
            };
            let distance = q.hash.distance(&r);
            if distance <= config.max_distance {
                hits.push(Hit {
                    doc: p.doc,
                    mirrored: q.view == View::Mirrored,
                    offset: i64::from(p.time_ms) - i64::from(q.time_ms),
                    query_ms: q.time_ms,
                    distance,
                });
            }
        }
    }
    hits
}

/// Offset voting over the verified hits: per (recording, orientation), the
/// window of three offset bins holding the most distinct query frames.
fn vote(hits: &[Hit], config: &VideoMatchConfig) -> Vec<VideoMatch> {
    let bin = i64::from(config.offset_bin_ms.max(1));
    let slot_ms = config.query_slot_ms.max(1);
    // (doc, mirrored, bin) → per query slot, its best (distance, hit).
    let mut bins: HashMap<(DocId, bool, i64), HashMap<u32, Hit>> = HashMap::new();
    for h in hits {
        let slot = bins
            .entry((h.doc, h.mirrored, h.offset.div_euclid(bin)))
            .or_default()
            .entry(h.query_ms / slot_ms)
            .or_insert(*h);
        if h.distance < slot.distance {
            *slot = *h;
        }
    }
    let mut keys: Vec<(DocId, bool, i64)> = bins.keys().copied().collect();
    keys.sort_unstable();
    let mut best: HashMap<(DocId, bool), (u32, u32, Vec<Hit>)> = HashMap::new();
    for &(doc, mirrored, b) in &keys {
        // Slots voting in bins b-1, b, b+1; each query slot once (its
        // closest pair).
        let mut frames: HashMap<u32, Hit> = HashMap::new();
        for nb in [b - 1, b, b + 1] {
            if let Some(m) = bins.get(&(doc, mirrored, nb)) {
                for (&qt, h) in m {
                    let slot = frames.entry(qt).or_insert(*h);
                    if h.distance < slot.distance {
                        *slot = *h;
                    }
                }
            }
        }
        let aligned = frames.len() as u32;
        let distance: u32 = frames.values().map(|h| h.distance).sum();
        let entry = best
            .entry((doc, mirrored))
            .or_insert((0, u32::MAX, Vec::new()));
        // More frames first; among equally many, the closer pairs. In a
        // still scene every kept reference frame looks alike and the query
        // agrees with several offsets: the true one has the nearest frames,
        // where the earliest would otherwise win.
        if (aligned, std::cmp::Reverse(distance)) > (entry.0, std::cmp::Reverse(entry.1)) {
            *entry = (aligned, distance, frames.into_values().collect());
        }
    }
    let mut out: Vec<VideoMatch> = best
        .into_iter()
        .map(|((doc, mirrored), (aligned, _, hits))| describe(doc, mirrored, aligned, &hits))
        .collect();
    // One answer per recording: its better orientation.
    out.sort_by(|a, b| {
        b.aligned
            .cmp(&a.aligned)
            .then(b.score.total_cmp(&a.score))
            .then(a.doc.cmp(&b.doc))
    });
    let mut seen_docs = Vec::new();
    out.retain(|m| {
        if seen_docs.contains(&m.doc) {
            false
        } else {
            seen_docs.push(m.doc);
            true
        }
    });
    out.truncate(config.max_results);
    out
}

fn describe(doc: DocId, mirrored: bool, aligned: u32, hits: &[Hit]) -> VideoMatch {
    let mean_distance = if hits.is_empty() {
        0.0
    } else {
        hits.iter().map(|h| h.distance as f32).sum::<f32>() / hits.len() as f32
    };
    let q0 = hits.iter().map(|h| h.query_ms).min().unwrap_or(0);
    let q1 = hits.iter().map(|h| h.query_ms).max().unwrap_or(0);
    let mut offsets: Vec<i64> = hits.iter().map(|h| h.offset).collect();
    offsets.sort_unstable();
    let offset_ms = offsets.get(offsets.len() / 2).copied().unwrap_or(0);
    VideoMatch {
        doc,
        score: video_score(aligned, mean_distance),
        aligned,
        mean_distance,
        mirrored,
        offset_ms,
        query_start_ms: u64::from(q0),
        query_duration_ms: u64::from(q1 - q0),
        ref_start_ms: (i64::from(q0) + offset_ms).max(0) as u64,
        ref_duration_ms: u64::from(q1 - q0),
    }
}

/// An in-memory video index (postings and forward store), for tests and
/// small tools.
#[derive(Debug, Default, Clone)]
pub struct MemoryVideoIndex {
    postings: HashMap<HashKey, Vec<VideoPosting>>,
    forward: HashMap<DocId, Vec<PdqHash>>,
}

impl MemoryVideoIndex {
    /// Indexes a reference fingerprint under `doc`.
    pub fn add(&mut self, doc: DocId, fingerprint: &VideoFingerprint, min_quality: u8) {
        for (key, p) in reference_postings(doc, fingerprint, min_quality) {
            self.postings.entry(key).or_default().push(p);
        }
        self.forward
            .insert(doc, fingerprint.frames.iter().map(|f| f.hash).collect());
    }

    /// Number of postings held.
    pub fn len(&self) -> usize {
        self.postings.values().map(Vec::len).sum()
    }

    /// Whether no posting is held.
    pub fn is_empty(&self) -> bool {
        self.postings.is_empty()
    }
}

impl VideoPostingSource for MemoryVideoIndex {
    fn postings(&self, key: HashKey, out: &mut Vec<VideoPosting>) {
        if let Some(v) = self.postings.get(&key) {
            out.extend_from_slice(v);
        }
    }

    fn frame_hash(&self, doc: DocId, frame: u32) -> Option<PdqHash> {
        self.forward.get(&doc)?.get(frame as usize).copied()
    }
}
