//! Matching: offset voting over an inverted index.
//!
//! A query's hashes are looked up in a [`PostingSource`]; every posting votes
//! for the pair (document, reference frame − query frame). A true match piles
//! many votes on one offset; chance coincidences scatter. Speed, tempo and
//! pitch changes are handled by re-hashing the query's peaks for a small grid
//! of [`Scale`]s (the peaks are extracted once): playback speed (time and
//! frequency scaled together, a resampled or sped-up clip), tempo alone (a
//! time stretch that keeps the pitch) and pitch alone (a pitch shift that
//! keeps the tempo), three lines through the plane of time and frequency
//! scales, each searched outward from 1.0.

use crate::audio::hashes::{pair_with, Fanout, PairHash};
use crate::audio::{AudioConfig, AudioFingerprint, FRAME_MS};
pub use crate::postings::{DocId, HashKey, Posting, PostingSource};

/// Parameters of a search.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchConfig {
    /// The fingerprint parameters (must be those the references used).
    pub audio: AudioConfig,
    /// Scales tried, in order; the first should be [`Scale::ONE`] (see
    /// [`scale_grid`]).
    pub scales: Vec<Scale>,
    /// Fewest hashes that must agree on one (recording, offset) for a match.
    /// Chosen from measured negatives (see the evaluation in the README).
    pub min_aligned: u32,
    /// Once a scale gives a match this strong, the remaining scales are
    /// skipped.
    pub strong_aligned: u32,
    /// Once a scale gives a match this sure (well above what chance gives:
    /// see the evaluation's calibration), scales farther than
    /// `settle_range` from it (on either axis) are not tried: the true
    /// scale of the clip is near it. Unmatched clips still try the whole
    /// grid.
    pub settle_aligned: u32,
    /// See `settle_aligned`.
    pub settle_range: f32,
    /// Offsets within this many frames of each other count as one.
    pub offset_tolerance: u32,
    /// Query anchors are grouped in buckets of this many frames; one bucket
    /// votes at most once per (recording, offset). A short burst of
    /// identical sound (a shared instrument sample, a sustained tone) then
    /// cannot pile up enough votes to fake a match: evidence must spread
    /// over the clip.
    pub anchor_bucket: u32,
    /// Most matches returned.
    pub max_results: usize,
    /// After the grid, the best candidates are re-voted at these offsets
    /// around their best scale, along its axis (a finer local search: the
    /// grid step leaves up to half a step of residual scale, which breaks
    /// hashes).
    pub refine_offsets: Vec<f32>,
    /// How many candidates are refined.
    pub refine_candidates: usize,
    /// A sure match found away from 1.0 is followed outward along its axis
    /// in steps of this size, while its alignment grows ...
    pub climb_step: f32,
    /// ... for at most this many steps.
    pub climb_steps: u32,
    /// Keys with more postings than this are skipped as uninformative (the
    /// "stop words" of a large index: a pair of peaks so common that it
    /// says little about which recording a clip is from, and costs the most
    /// to vote with). 0 = no limit.
    pub max_postings_per_key: usize,
    /// Before the exact count, votes are tallied in a coarse sketch of
    /// (recording, offset range) cells, and only votes in cells reaching
    /// this many (capped at `min_aligned`) are counted exactly. The sketch
    /// never undercounts, so every alignment this strong is found exactly
    /// as without it; weaker ones may be missed. 0 disables the sketch.
    pub prefilter_aligned: u32,
    /// The sketch is used only when a pass has at least this many votes
    /// (on a small index the exact count alone is faster).
    pub prefilter_min_votes: usize,
    /// Before the full search, one pass at speed 1.0 with only the pairs a
    /// reference would hold (level-2 peaks, the reference fanout): a clean
    /// excerpt of a registered recording reaches `strong_aligned` there, at
    /// a fraction of the cost, and the search ends. Otherwise the full
    /// search runs as without it, reusing the postings already read.
    pub quick_pass: bool,
    /// At the grid's other scales than the first, a quick pass (as above)
    /// screens first, and the full pass runs only where some recording
    /// reaches this many aligned hashes in it: an unregistered clip, which
    /// tries the whole grid, then costs a fraction of the full passes.
    /// 0 = every speed gets its full pass.
    pub screen_aligned: u32,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            audio: AudioConfig::default(),
            scales: scale_grid(0.06, 0.005, true),
            min_aligned: 10,
            strong_aligned: 40,
            settle_aligned: 16,
            settle_range: 0.0101,
            offset_tolerance: 1,
            anchor_bucket: 4,
            max_results: 5,
            refine_offsets: vec![-0.0025, -0.00125, 0.00125, 0.0025],
            refine_candidates: 3,
            climb_step: 0.005,
            climb_steps: 8,
            max_postings_per_key: 1_000,
            prefilter_aligned: 5,
            prefilter_min_votes: 1 << 13,
            quick_pass: true,
            screen_aligned: 4,
        }
    }
}

/// Speeds from `1 - range` to `1 + range` in steps of `step`, nearest to 1.0
/// first.
pub fn speed_grid(range: f32, step: f32) -> Vec<f32> {
    let n = (range / step).round() as i32;
    let mut v = vec![1.0];
    for k in 1..=n {
        v.push(1.0 + k as f32 * step);
        v.push(1.0 - k as f32 * step);
    }
    v
}

/// The scales of [`speed_grid`] as playback speeds and, with
/// `tempo_and_pitch`, also as tempo-only and pitch-only changes: nearest to
/// 1.0 first, the three axes interleaved step by step, so that a search
/// that settles early has tried every axis as far.
pub fn scale_grid(range: f32, step: f32, tempo_and_pitch: bool) -> Vec<Scale> {
    let mut v = vec![Scale::ONE];
    for s in speed_grid(range, step).into_iter().skip(1) {
        v.push(Scale::speed(s));
        if tempo_and_pitch {
            v.push(Scale::tempo(s));
            v.push(Scale::pitch(s));
        }
    }
    v
}

/// How a query's time and frequencies relate to the reference's: the query
/// plays the reference's `time × t` ms at its `t` ms, and its frequencies
/// are the reference's × `freq`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    /// Reference ms per query ms (1.05: the query is 5 % faster).
    pub time: f32,
    /// Query frequency per reference frequency (1.05: 5 % higher).
    pub freq: f32,
}

/// Which line of the scale plane a scale lies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Time and frequency together (resampling, a faster playback).
    Speed,
    /// Time alone (a time stretch keeping the pitch).
    Tempo,
    /// Frequency alone (a pitch shift keeping the tempo).
    Pitch,
}

impl Scale {
    /// No change.
    pub const ONE: Scale = Scale {
        time: 1.0,
        freq: 1.0,
    };

    /// Played `s` times faster: time and pitch together.
    pub fn speed(s: f32) -> Scale {
        Scale { time: s, freq: s }
    }

    /// Tempo changed by `s` (faster above 1), pitch kept.
    pub fn tempo(s: f32) -> Scale {
        Scale { time: s, freq: 1.0 }
    }

    /// Pitch changed by `s` (higher above 1), tempo kept.
    pub fn pitch(s: f32) -> Scale {
        Scale { time: 1.0, freq: s }
    }

    /// The scale's axis ([`Axis::Speed`] for [`Scale::ONE`]).
    pub fn axis(self) -> Axis {
        if self.time.to_bits() == self.freq.to_bits() {
            Axis::Speed
        } else if self.freq == 1.0 {
            Axis::Tempo
        } else {
            Axis::Pitch
        }
    }

    /// The scale moved by `d` along `axis`.
    pub fn moved(self, axis: Axis, d: f32) -> Scale {
        match axis {
            Axis::Speed => Scale::speed(self.time + d),
            Axis::Tempo => Scale::tempo(self.time + d),
            Axis::Pitch => Scale::pitch(self.freq + d),
        }
    }

    /// The larger of the two axes' differences.
    pub fn distance(self, other: Scale) -> f32 {
        (self.time - other.time)
            .abs()
            .max((self.freq - other.freq).abs())
    }

    fn same(self, other: Scale) -> bool {
        self.time.to_bits() == other.time.to_bits() && self.freq.to_bits() == other.freq.to_bits()
    }
}

/// One matched recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    /// The recording.
    pub doc: DocId,
    /// Confidence in 0..1, a monotonic function of `aligned`
    /// (see [`score_of`]).
    pub score: f32,
    /// Query hashes agreeing on the winning offset.
    pub aligned: u32,
    /// Reference time per query time: the query's tempo relative to the
    /// reference (its playback speed when the pitch moved with it).
    pub speed: f32,
    /// Query frequency per reference frequency: equal to `speed` for a
    /// clip played faster or slower, 1 for a tempo-only change, the pitch
    /// shift for a pitch-only one.
    pub pitch: f32,
    /// Start of the matched span in the query, ms.
    pub query_start_ms: u64,
    /// Length of the matched span in the query, ms.
    pub query_duration_ms: u64,
    /// Start of the matched span in the reference, ms.
    pub ref_start_ms: u64,
    /// Length of the matched span in the reference, ms.
    pub ref_duration_ms: u64,
}

/// Maps aligned hash counts to a score in 0..1: 0.5 at 12 aligned hashes,
/// 0.8 at 48, 0.9 at 108.
pub fn score_of(aligned: u32) -> f32 {
    aligned as f32 / (aligned as f32 + 12.0)
}

/// Best (recording, offset) of a search before thresholding.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    doc: DocId,
    aligned: u32,
    /// Reference frame − query frame (in reference time), window start.
    offset: i64,
    scale: Scale,
    /// The pairs the query was hashed into when it was found.
    pairs: Pairs,
}

/// Which pairs of peaks the query is hashed into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pairs {
    /// Only the pairs a reference holds (the reference fanout): fewer
    /// keys to read, enough when the match is clear.
    Reference,
    /// Every pair of the query fanout.
    Query,
}

/// One voting pass over the query rehashed at a scale.
#[derive(Clone, Copy, Debug)]
enum Pass {
    /// The reference pairs, every recording votes: a quick look.
    Screen(Scale),
    /// Every query pair, every recording votes.
    Full(Scale),
    /// Every query pair, only this recording votes: refining a candidate.
    Refine(Scale, DocId),
}

impl Pass {
    fn scale(self) -> Scale {
        match self {
            Pass::Screen(scale) | Pass::Full(scale) | Pass::Refine(scale, _) => scale,
        }
    }

    fn pairs(self) -> Pairs {
        match self {
            Pass::Screen(_) => Pairs::Reference,
            Pass::Full(_) | Pass::Refine(..) => Pairs::Query,
        }
    }

    fn only(self) -> Option<DocId> {
        match self {
            Pass::Refine(_, doc) => Some(doc),
            Pass::Screen(_) | Pass::Full(_) => None,
        }
    }
}

/// Searches `source` for `query`: every scale of the grid, offset voting,
/// then the spans of the best few. Returns matches above
/// [`MatchConfig::min_aligned`], best first.
pub fn search(
    query: &AudioFingerprint,
    source: &impl PostingSource,
    config: &MatchConfig,
) -> Vec<Match> {
    run(query, source, config, config.min_aligned)
}

/// Like [`search`] but without the decision threshold: the best candidates
/// whatever their strength. For calibrating thresholds on negatives.
pub fn candidates(
    query: &AudioFingerprint,
    source: &impl PostingSource,
    config: &MatchConfig,
) -> Vec<Match> {
    run(query, source, config, 0)
}

/// The search, describing the best candidates of at least `floor` aligned
/// hashes.
fn run(
    query: &AudioFingerprint,
    source: &impl PostingSource,
    config: &MatchConfig,
    floor: u32,
) -> Vec<Match> {
    let mut s = Searcher {
        query,
        config,
        cache: PostingCache::new(source, config.max_postings_per_key),
        hashes: Vec::new(),
        votes: Vec::new(),
        sketch: VoteSketch::default(),
    };
    let mut best: Vec<Candidate> = Vec::new();
    // Scale of the strongest candidate so far that reached
    // `settle_aligned`.
    let mut settled: Option<(u32, Scale)> = None;
    if config.quick_pass {
        if s.vote(Pass::Screen(Scale::ONE), &mut best) >= config.strong_aligned {
            return s.finish(best, floor);
        }
        best.clear();
    }
    let mut screened: Vec<Candidate> = Vec::new();
    for (k, &scale) in config.scales.iter().enumerate() {
        // The grid alternates sides of 1.0 and axes: a scale out of the
        // settled range may be followed by one in it.
        if settled.is_some_and(|(_, at)| scale.distance(at) > config.settle_range) {
            continue;
        }
        if k > 0 && config.screen_aligned > 0 {
            screened.clear();
            if s.vote(Pass::Screen(scale), &mut screened) < config.screen_aligned {
                continue;
            }
        }
        let strongest = s.vote(Pass::Full(scale), &mut best);
        // Keep the candidate list short.
        if best.len() > MAX_CANDIDATES {
            best.sort_by_key(|c| std::cmp::Reverse(c.aligned));
            best.truncate(MAX_CANDIDATES / 2);
        }
        if strongest >= config.strong_aligned {
            break;
        }
        if strongest >= config.settle_aligned && settled.is_none_or(|(a, _)| strongest > a) {
            settled = Some((strongest, scale));
        }
    }
    best.sort_by(|a, b| b.aligned.cmp(&a.aligned).then(a.doc.cmp(&b.doc)));
    // A strong match away from 1.0 ended the grid at the first scale strong
    // enough, which may be short of the clip's: short pairs of peaks still
    // agree a step or two off. Climb outward along its axis while the
    // alignment grows (only that recording votes), then refine finely.
    if let Some(&top) = best.first() {
        if top.aligned >= config.settle_aligned && !top.scale.same(Scale::ONE) {
            let axis = top.scale.axis();
            let along = match axis {
                Axis::Pitch => top.scale.freq,
                Axis::Speed | Axis::Tempo => top.scale.time,
            };
            let step = config.climb_step.copysign(along - 1.0);
            let mut at = top;
            for _ in 0..config.climb_steps {
                let next = at.scale.moved(axis, step);
                s.vote(Pass::Refine(next, top.doc), &mut best);
                match best.iter().find(|c| c.doc == top.doc) {
                    Some(c) if c.aligned > at.aligned => at = *c,
                    _ => break,
                }
            }
            if at.aligned >= config.strong_aligned {
                for &d in &config.refine_offsets {
                    s.vote(Pass::Refine(at.scale.moved(axis, d), at.doc), &mut best);
                }
                return s.finish(best, floor);
            }
            best.sort_by(|a, b| b.aligned.cmp(&a.aligned).then(a.doc.cmp(&b.doc)));
        }
    }
    // Once one recording matches strongly the answer is clear: nothing is
    // refined. Once one matches surely, only it is. Each refining pass
    // reads keys no pass has read yet.
    let refine: Vec<Candidate> = match best.first() {
        Some(c) if c.aligned >= config.strong_aligned => Vec::new(),
        Some(c) if c.aligned >= config.settle_aligned => vec![*c],
        _ => best
            .iter()
            .take(config.refine_candidates)
            .copied()
            .collect(),
    };
    for c in refine {
        if c.aligned * 2 < config.min_aligned {
            continue;
        }
        let axis = c.scale.axis();
        for &d in &config.refine_offsets {
            s.vote(Pass::Refine(c.scale.moved(axis, d), c.doc), &mut best);
        }
    }
    s.finish(best, floor)
}

/// One search's query, configuration, postings read so far and scratch
/// buffers.
struct Searcher<'a, S> {
    query: &'a AudioFingerprint,
    config: &'a MatchConfig,
    cache: PostingCache<'a, S>,
    hashes: Vec<PairHash>,
    votes: Vec<(u64, u32)>,
    sketch: VoteSketch,
}

impl<S: PostingSource> Searcher<'_, S> {
    /// One voting pass: votes at the pass's scale (for its one recording,
    /// if it refines) and raises the per-recording best candidates in
    /// `best`. Returns the strongest alignment seen.
    fn vote(&mut self, pass: Pass, best: &mut Vec<Candidate>) -> u32 {
        let Searcher {
            query,
            config,
            cache,
            hashes,
            votes,
            sketch,
        } = self;
        let (scale, only) = (pass.scale(), pass.only());
        let tol = i64::from(config.offset_tolerance);
        let bucket = config.anchor_bucket.max(1);
        query_hashes(query, &config.audio, pass.pairs(), scale, hashes);
        votes.clear();
        for h in hashes.iter() {
            let b = h.time_ms / (FRAME_MS * bucket);
            for p in cache.get(h.key) {
                if only.is_none_or(|d| d == p.doc) {
                    let offset = i64::from(p.frame) - i64::from(h.frame);
                    votes.push(((u64::from(p.doc.0) << 32) | u64::from(bias(offset)), b));
                }
            }
        }
        // On a large index most votes are chance: drop those no window of
        // `floor` votes can hold before the sort.
        let floor = config.prefilter_aligned.min(config.min_aligned);
        if only.is_none()
            && floor > 1
            && tol <= i64::from(SKETCH_MAX_TOLERANCE)
            && votes.len() >= config.prefilter_min_votes
        {
            sketch.reset(votes.len());
            for v in votes.iter() {
                sketch.add(v.0);
            }
            votes.retain(|v| sketch.reaches(v.0, floor));
        }
        votes.sort_unstable();
        votes.dedup();
        // Per doc (votes are grouped by doc), the window of 2·tol + 1 frames
        // holding the most votes.
        let mut found: Vec<Candidate> = Vec::new();
        let mut i = 0;
        while i < votes.len() {
            let doc = votes[i].0 >> 32;
            let end = i + votes[i..].partition_point(|v| v.0 >> 32 == doc);
            let (mut top, mut top_at) = (0usize, i);
            let mut j = i;
            for k in i..end {
                if j < k {
                    j = k;
                }
                while j + 1 < end && votes[j + 1].0 - votes[k].0 <= (2 * tol) as u64 {
                    j += 1;
                }
                if j - k + 1 > top {
                    (top, top_at) = (j - k + 1, k);
                }
            }
            found.push(Candidate {
                doc: DocId(doc as u32),
                aligned: top as u32,
                offset: unbias(votes[top_at].0 as u32) + tol,
                scale,
                pairs: pass.pairs(),
            });
            i = end;
        }
        // Only the strongest few can stay among the candidates (see `run`):
        // merging the rest one by one would cost a scan of `best` each.
        if found.len() > MAX_CANDIDATES {
            found.select_nth_unstable_by_key(MAX_CANDIDATES - 1, |c| {
                (std::cmp::Reverse(c.aligned), c.doc)
            });
            found.truncate(MAX_CANDIDATES);
        }
        let mut strongest = 0;
        for c in found {
            strongest = strongest.max(c.aligned);
            match best.iter_mut().find(|b| b.doc == c.doc) {
                Some(b) if b.aligned >= c.aligned => {}
                Some(b) => *b = c,
                None => best.push(c),
            }
        }
        strongest
    }

    /// The best candidates of at least `floor` aligned hashes, described.
    fn finish(mut self, mut best: Vec<Candidate>, floor: u32) -> Vec<Match> {
        best.sort_by(|a, b| b.aligned.cmp(&a.aligned).then(a.doc.cmp(&b.doc)));
        best.retain(|c| c.aligned >= floor);
        best.truncate(self.config.max_results);
        self.describe(&best)
    }

    /// Recomputes the winning alignments of the chosen candidates to find
    /// their spans: one pass over the query's hashes per distinct scale.
    fn describe(&mut self, chosen: &[Candidate]) -> Vec<Match> {
        let Searcher {
            query,
            config,
            cache,
            hashes,
            ..
        } = self;
        let tol = i64::from(config.offset_tolerance);
        // (first, last) query time of a hash agreeing with each candidate.
        let mut spans = vec![(u32::MAX, 0u32); chosen.len()];
        let mut done = vec![false; chosen.len()];
        for i in 0..chosen.len() {
            if done[i] {
                continue;
            }
            let (scale, pairs) = (chosen[i].scale, chosen[i].pairs);
            let group: Vec<usize> = (i..chosen.len())
                .filter(|&k| chosen[k].scale.same(scale) && chosen[k].pairs == pairs)
                .collect();
            query_hashes(query, &config.audio, pairs, scale, hashes);
            for h in hashes.iter() {
                for p in cache.get(h.key) {
                    let off = i64::from(p.frame) - i64::from(h.frame);
                    for &k in &group {
                        let c = &chosen[k];
                        if p.doc == c.doc && (off - c.offset).abs() <= tol {
                            let s = &mut spans[k];
                            s.0 = s.0.min(h.time_ms);
                            s.1 = s.1.max(h.time_ms);
                        }
                    }
                }
            }
            for k in group {
                done[k] = true;
            }
        }
        chosen
            .iter()
            .zip(spans)
            .map(|(c, (mut first, mut last))| {
                if first > last {
                    (first, last) = (0, 0);
                }
                let query_start_ms = u64::from(first);
                let query_duration_ms = u64::from(last - first) + u64::from(FRAME_MS);
                let speed = f64::from(c.scale.time);
                let ref_start =
                    (f64::from(first) * speed / f64::from(FRAME_MS)).round() as i64 + c.offset;
                Match {
                    doc: c.doc,
                    score: score_of(c.aligned),
                    aligned: c.aligned,
                    speed: c.scale.time,
                    pitch: c.scale.freq,
                    query_start_ms,
                    query_duration_ms,
                    ref_start_ms: (ref_start.max(0) as u64) * u64::from(FRAME_MS),
                    ref_duration_ms: (query_duration_ms as f64 * speed).round() as u64,
                }
            })
            .collect()
    }
}

/// Most candidates one voting pass adds; `run` keeps half as many between
/// passes.
const MAX_CANDIDATES: usize = 64;

/// Widest offset tolerance the sketch covers: a window of `2·tol + 1`
/// offsets must fit in one cell of one of its two staggered grids.
const SKETCH_MAX_TOLERANCE: u32 = (SKETCH_CELL / 2 - 1) / 2;
/// Offsets per sketch cell.
const SKETCH_CELL: u32 = 32;

/// Coarse vote counts per (recording, range of [`SKETCH_CELL`] offsets),
/// in two grids staggered by half a cell so that any window of offsets the
/// exact count considers lies whole in one cell of one grid. Cells are
/// hashed into a fixed table of saturating counters: collisions only add,
/// so a cell's count is never below the votes of any window inside it.
#[derive(Default)]
struct VoteSketch {
    /// Two tables of `1 << bits` counters, one per grid.
    counts: Vec<u8>,
    bits: u32,
}

impl VoteSketch {
    /// Clears the sketch for about `votes` votes: a table of about four
    /// cells per vote (few collisions), between 2^16 and 2^22 cells a grid.
    fn reset(&mut self, votes: usize) {
        self.bits = (votes.max(1) * 4)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(16, 22);
        let len = 2usize << self.bits;
        self.counts.clear();
        self.counts.resize(len, 0);
    }

    /// The cells of `key` (doc << 32 | biased offset) in the two grids.
    #[inline]
    fn cells(&self, key: u64) -> [usize; 2] {
        let doc = key >> 32;
        let off = key & 0xffff_ffff;
        let cell = |grid: u64, range: u64| {
            let h = ((doc << 33) ^ (range << 1) ^ grid).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            ((grid as usize) << self.bits) | (h >> (64 - self.bits)) as usize
        };
        let cell_len = u64::from(SKETCH_CELL);
        [
            cell(0, off / cell_len),
            cell(1, (off + cell_len / 2) / cell_len),
        ]
    }

    #[inline]
    fn add(&mut self, key: u64) {
        for c in self.cells(key) {
            self.counts[c] = self.counts[c].saturating_add(1);
        }
    }

    /// Whether a vote could belong to a window of at least `floor` votes.
    #[inline]
    fn reaches(&self, key: u64, floor: u32) -> bool {
        let [a, b] = self.cells(key);
        u32::from(self.counts[a].max(self.counts[b])) >= floor
    }
}

/// The postings of every key one search has asked for. Neighbouring scales
/// of the grid, and repeated anchors, hash to many of the same keys: each is
/// read from the index once per search.
struct PostingCache<'a, S> {
    source: &'a S,
    /// Longer posting lists are dropped (0 = none is).
    max_len: usize,
    /// Key → (start, len) in `arena`.
    seen: std::collections::HashMap<u32, (u32, u32), BuildKeyHasher>,
    arena: Vec<Posting>,
}

impl<'a, S: PostingSource> PostingCache<'a, S> {
    fn new(source: &'a S, max_len: usize) -> Self {
        Self {
            source,
            max_len,
            seen: std::collections::HashMap::with_capacity_and_hasher(1 << 14, BuildKeyHasher),
            arena: Vec::new(),
        }
    }

    fn get(&mut self, key: HashKey) -> &[Posting] {
        let (start, len) = match self.seen.get(&key.0) {
            Some(&range) => range,
            None => {
                let start = self.arena.len();
                self.source.postings(key, &mut self.arena);
                if self.max_len > 0 && self.arena.len() - start > self.max_len {
                    self.arena.truncate(start);
                }
                let range = (start as u32, (self.arena.len() - start) as u32);
                self.seen.insert(key.0, range);
                range
            }
        };
        &self.arena[start as usize..(start + len) as usize]
    }
}

/// Hash keys are already well mixed in their low bits; one multiply spreads
/// them over the table (SipHash would cost more than the lookup it guards).
#[derive(Clone, Copy, Default)]
struct BuildKeyHasher;

impl std::hash::BuildHasher for BuildKeyHasher {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

#[derive(Clone, Copy, Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// The query's hashes at `scale`, of the `pairs` asked.
fn query_hashes(
    query: &AudioFingerprint,
    cfg: &AudioConfig,
    pairs: Pairs,
    scale: Scale,
    out: &mut Vec<PairHash>,
) {
    out.clear();
    let fanout = match pairs {
        Pairs::Reference => Fanout::reference(cfg),
        Pairs::Query => Fanout::query(cfg),
    };
    pair_with(query.peaks(), fanout, scale, cfg, |h| out.push(h));
}

#[inline]
fn bias(offset: i64) -> u32 {
    (offset + (1 << 31)).clamp(0, i64::from(u32::MAX)) as u32
}

#[inline]
fn unbias(v: u32) -> i64 {
    i64::from(v) - (1 << 31)
}

/// A posting source over an in-memory map, for tests and small tools.
#[derive(Debug, Default, Clone)]
pub struct MemoryIndex {
    map: std::collections::HashMap<u32, Vec<Posting>>,
}

impl MemoryIndex {
    /// Indexes a reference fingerprint under `doc`.
    pub fn add(&mut self, doc: DocId, fingerprint: &AudioFingerprint, config: &AudioConfig) {
        for (key, frame) in fingerprint.reference_hashes(config) {
            self.map
                .entry(key.0)
                .or_default()
                .push(Posting { doc, frame });
        }
    }

    /// Number of postings held.
    pub fn len(&self) -> usize {
        self.map.values().map(Vec::len).sum()
    }

    /// Whether no posting is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl PostingSource for MemoryIndex {
    fn postings(&self, key: HashKey, out: &mut Vec<Posting>) {
        if let Some(v) = self.map.get(&key.0) {
            out.extend_from_slice(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Peak;

    use crate::audio::synth::Rng;

    /// Random peaks in a narrow band, so that keys collide across
    /// recordings as they do in a large index of real sound.
    fn random_fp(rng: &mut Rng, ms: u32) -> AudioFingerprint {
        random_peaks(rng, ms, 16, 40)
    }

    /// Random peaks over the whole band (few chance collisions).
    fn wideband_fp(rng: &mut Rng, ms: u32) -> AudioFingerprint {
        random_peaks(rng, ms, 32, 220)
    }

    /// Random peaks every 8–32 ms in `bins` bins from `lowest` (1/16 bin).
    fn random_peaks(rng: &mut Rng, ms: u32, lowest: u64, bins: u64) -> AudioFingerprint {
        let mut peaks = Vec::new();
        let mut t = 0;
        while t < ms {
            peaks.push(Peak {
                time_ms: t,
                freq: (lowest + rng.below(bins) * 16) as u16,
                level: if rng.below(3) == 0 { 1 } else { 2 },
            });
            t += 8 * (1 + rng.below(4) as u32);
        }
        AudioFingerprint::from_parts(u64::from(ms), peaks)
    }

    /// An index of `docs` as references, doc ids in order.
    fn index_of(docs: &[AudioFingerprint], cfg: &AudioConfig) -> MemoryIndex {
        let mut index = MemoryIndex::default();
        for (i, d) in docs.iter().enumerate() {
            index.add(DocId(i as u32), &d.reference_only(), cfg);
        }
        index
    }

    fn excerpt(fp: &AudioFingerprint, start: u32, len: u32) -> AudioFingerprint {
        let peaks = fp
            .peaks()
            .iter()
            .filter(|p| p.time_ms >= start && p.time_ms < start + len)
            .map(|p| Peak {
                time_ms: p.time_ms - start,
                ..*p
            })
            .collect();
        AudioFingerprint::from_parts(u64::from(len), peaks)
    }

    #[test]
    fn the_vote_sketch_keeps_every_alignment_above_its_floor() {
        let mut rng = Rng::from_state(0x5ca1ab1e);
        let cfg = AudioConfig::default();
        let docs: Vec<AudioFingerprint> = (0..120).map(|_| random_fp(&mut rng, 60_000)).collect();
        let index = index_of(&docs, &cfg);
        let exact = MatchConfig {
            prefilter_aligned: 0,
            scales: scale_grid(0.01, 0.005, false),
            ..MatchConfig::default()
        };
        let sketched = MatchConfig {
            prefilter_min_votes: 0,
            ..exact.clone()
        };
        let mut sketch_used = false;
        let mut matched = 0;
        for q in 0..24u32 {
            let query = if q % 3 == 2 {
                random_fp(&mut rng, 8_000)
            } else {
                let d = &docs[rng.below(docs.len() as u64) as usize];
                excerpt(d, rng.below(50_000) as u32, 8_000 + q * 50)
            };
            // The sketch must really take part: with this many votes most
            // of them fall below its floor.
            let mut hashes = Vec::new();
            query_hashes(&query, &cfg, Pairs::Query, Scale::ONE, &mut hashes);
            let mut out = Vec::new();
            for h in &hashes {
                index.postings(h.key, &mut out);
            }
            sketch_used |= out.len() > 50_000;
            let a = search(&query, &index, &exact);
            let b = search(&query, &index, &sketched);
            matched += usize::from(!a.is_empty());
            assert_eq!(a, b, "query {q}");
        }
        assert!(sketch_used, "the index is too small to exercise the sketch");
        assert!(matched >= 16, "only {matched} queries matched");
    }

    /// Counts the keys read.
    struct Counting<'a>(&'a MemoryIndex, std::cell::Cell<usize>);

    impl PostingSource for Counting<'_> {
        fn postings(&self, key: HashKey, out: &mut Vec<Posting>) {
            self.1.set(self.1.get() + 1);
            self.0.postings(key, out);
        }
    }

    #[test]
    fn the_quick_pass_finds_what_the_full_search_finds() {
        let mut rng = Rng::from_state(0x9e1f);
        let cfg = AudioConfig::default();
        let docs: Vec<AudioFingerprint> = (0..40).map(|_| random_fp(&mut rng, 60_000)).collect();
        let index = index_of(&docs, &cfg);
        let quick = MatchConfig::default();
        let full = MatchConfig {
            quick_pass: false,
            ..MatchConfig::default()
        };
        for q in 0..30u32 {
            let doc = rng.below(docs.len() as u64) as usize;
            let start = rng.below(50_000) as u32;
            let query = excerpt(&docs[doc], start, 3_000 + q * 200);
            let (a_src, b_src) = (Counting(&index, 0.into()), Counting(&index, 0.into()));
            let a = search(&query, &a_src, &quick);
            let b = search(&query, &b_src, &full);
            // The same recording, place and strength (one vote per anchor
            // bucket: the reference's own pairs fill the same buckets).
            assert_eq!(
                a.first().map(|m| m.doc),
                Some(DocId(doc as u32)),
                "query {q}"
            );
            assert_eq!(
                b.first().map(|m| m.doc),
                Some(DocId(doc as u32)),
                "query {q}"
            );
            let (a, b) = (&a[0], &b[0]);
            assert!(
                a.ref_start_ms.abs_diff(b.ref_start_ms) <= 2 * u64::from(FRAME_MS),
                "query {q}"
            );
            assert!(a.aligned * 10 >= b.aligned * 9, "query {q}: {a:?} {b:?}");
            assert_eq!(a.speed, 1.0);
            // For a fraction of the keys.
            let (ka, kb) = (a_src.1.get(), b_src.1.get());
            assert!(
                ka * 2 < kb,
                "query {q}: {ka} keys read, {kb} without the quick pass"
            );
        }
    }

    /// `fp` played `speed` times faster (pitch shifted with it).
    fn sped_up(fp: &AudioFingerprint, speed: f64) -> AudioFingerprint {
        let peaks = fp
            .peaks()
            .iter()
            .map(|p| Peak {
                time_ms: (f64::from(p.time_ms) / speed).round() as u32,
                freq: (f64::from(p.freq) * speed).round() as u16,
                ..*p
            })
            .collect();
        AudioFingerprint::from_parts((fp.duration_ms() as f64 / speed) as u64, peaks)
    }

    #[test]
    fn screening_finds_sped_up_clips_and_spares_unregistered_ones() {
        let mut rng = Rng::from_state(0x5c4ee);
        let cfg = AudioConfig::default();
        let docs: Vec<AudioFingerprint> = (0..60).map(|_| wideband_fp(&mut rng, 60_000)).collect();
        let index = index_of(&docs, &cfg);
        let screened = MatchConfig::default();
        let full = MatchConfig {
            screen_aligned: 0,
            ..MatchConfig::default()
        };
        let (mut keys_screened, mut keys_full) = (0, 0);
        for q in 0..12u32 {
            let doc = rng.below(docs.len() as u64) as usize;
            let start = rng.below(50_000) as u32;
            let speed = [0.97, 1.03, 1.045, 0.955][q as usize % 4];
            let query = sped_up(&excerpt(&docs[doc], start, 5_000), speed);
            let a = search(&query, &index, &screened);
            let b = search(&query, &index, &full);
            assert_eq!(
                a.first().map(|m| m.doc),
                Some(DocId(doc as u32)),
                "query {q}"
            );
            assert_eq!(a.first().map(|m| m.doc), b.first().map(|m| m.doc));
            // Within a step of the grid (a strong match ends the search).
            assert!(
                (f64::from(a[0].speed) - speed).abs() < 0.0051,
                "query {q}: {:?}",
                a[0]
            );
            // A clip of nothing registered tries the whole grid.
            let unregistered = wideband_fp(&mut rng, 5_000);
            let (a_src, b_src) = (Counting(&index, 0.into()), Counting(&index, 0.into()));
            assert!(search(&unregistered, &a_src, &screened).is_empty());
            assert!(search(&unregistered, &b_src, &full).is_empty());
            keys_screened += a_src.1.get();
            keys_full += b_src.1.get();
        }
        assert!(
            keys_screened * 3 < keys_full,
            "{keys_screened} keys read with screening, {keys_full} without"
        );
    }

    /// `fp` with its time stretched by `tempo` (faster above 1) and its
    /// frequencies by `pitch`, independently.
    fn rescaled(fp: &AudioFingerprint, tempo: f64, pitch: f64) -> AudioFingerprint {
        let peaks = fp
            .peaks()
            .iter()
            .map(|p| Peak {
                time_ms: (f64::from(p.time_ms) / tempo).round() as u32,
                freq: (f64::from(p.freq) * pitch).round() as u16,
                ..*p
            })
            .collect();
        AudioFingerprint::from_parts((fp.duration_ms() as f64 / tempo) as u64, peaks)
    }

    #[test]
    fn tempo_only_and_pitch_only_changes_are_found_on_their_own_axis() {
        let mut rng = Rng::from_state(0x7e3b0);
        let cfg = AudioConfig::default();
        let docs: Vec<AudioFingerprint> = (0..40).map(|_| wideband_fp(&mut rng, 60_000)).collect();
        let index = index_of(&docs, &cfg);
        let with_axes = MatchConfig::default();
        let speed_only = MatchConfig {
            scales: scale_grid(0.06, 0.005, false),
            ..MatchConfig::default()
        };
        let (mut found_speed_only, mut n) = (0, 0);
        for (q, (tempo, pitch)) in [
            (1.05, 1.0),
            (0.95, 1.0),
            (1.0, 1.05),
            (1.0, 0.95),
            (1.04, 1.0),
        ]
        .into_iter()
        .enumerate()
        {
            let doc = rng.below(docs.len() as u64) as usize;
            let start = rng.below(50_000) as u32;
            let query = rescaled(&excerpt(&docs[doc], start, 8_000), tempo, pitch);
            let m = search(&query, &index, &with_axes);
            let top = m.first().unwrap_or_else(|| panic!("query {q} not found"));
            assert_eq!(top.doc, DocId(doc as u32), "query {q}");
            assert!(
                (f64::from(top.speed) - tempo).abs() < 0.004,
                "query {q}: {top:?}"
            );
            assert!(
                (f64::from(top.pitch) - pitch).abs() < 0.004,
                "query {q}: {top:?}"
            );
            let want_ms = f64::from(start);
            let got_ms = top.ref_start_ms as f64 - top.query_start_ms as f64 * f64::from(top.speed);
            assert!(
                (got_ms - want_ms).abs() < 100.0,
                "query {q}: {got_ms} vs {want_ms}"
            );
            n += 1;
            if search(&query, &index, &speed_only)
                .first()
                .is_some_and(|m| m.doc == DocId(doc as u32) && m.aligned >= 40)
            {
                found_speed_only += 1;
            }
        }
        // The speed axis alone does not find them strongly: the axes are
        // what finds them.
        assert!(
            found_speed_only < n,
            "{found_speed_only} of {n} found strongly without the axes"
        );
    }

    #[test]
    fn scales_have_one_axis_each_and_the_grid_interleaves_them() {
        assert_eq!(Scale::ONE.axis(), Axis::Speed);
        assert_eq!(Scale::speed(1.03).axis(), Axis::Speed);
        assert_eq!(Scale::tempo(1.03).axis(), Axis::Tempo);
        assert_eq!(Scale::pitch(0.97).axis(), Axis::Pitch);
        assert_eq!(
            Scale::tempo(1.03).moved(Axis::Tempo, 0.01),
            Scale::tempo(1.04)
        );
        let g = scale_grid(0.01, 0.005, true);
        assert_eq!(g.len(), 13);
        assert_eq!(g[0], Scale::ONE);
        assert_eq!(
            &g[1..4],
            &[
                Scale::speed(1.005),
                Scale::tempo(1.005),
                Scale::pitch(1.005)
            ]
        );
        assert_eq!(scale_grid(0.01, 0.005, false).len(), 5);
    }

    #[test]
    fn sketch_cells_cover_every_window() {
        let mut s = VoteSketch::default();
        s.reset(1000);
        let tol = u64::from(SKETCH_MAX_TOLERANCE);
        for start in 0..200u64 {
            s.counts.fill(0);
            let window: Vec<u64> = (start..=start + 2 * tol).map(|o| (7 << 32) | o).collect();
            for &k in &window {
                s.add(k);
            }
            let n = window.len() as u32;
            assert!(window.iter().all(|&k| s.reaches(k, n)), "window at {start}");
        }
    }
}
