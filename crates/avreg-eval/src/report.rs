//! Results of an evaluation run: per-query outcomes, their aggregation per
//! case and length, and the markdown table printed on stdout.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::cases::Case;
use super::stats::{ratio, Latency};

/// What happened to one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Top match is the excerpt's recording.
    Correct,
    /// Top match is another recording.
    Wrong,
    /// No match.
    NoMatch,
    /// The clip could not be fingerprinted or looked up.
    Error,
}

/// The top match of a query.
#[derive(Clone, Debug, Serialize)]
pub struct Top {
    pub title: String,
    pub score: f32,
    pub aligned: u32,
    pub speed: f32,
    pub query_start_ms: u64,
    pub ref_start_ms: u64,
    /// Reported reference start minus the true one (speed-adjusted), for a
    /// correct match.
    pub offset_error_ms: Option<i64>,
}

/// The strongest candidate of a query whatever the threshold (down to
/// `engine::CALIBRATION_FLOOR`), for calibrating the threshold.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Best {
    pub aligned: u32,
    /// It is the recording the clip came from.
    pub correct: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Query {
    pub recording: String,
    pub case: Case,
    pub len_s: u32,
    pub start_ms: u64,
    pub positive: bool,
    pub outcome: Outcome,
    pub offset_ok: bool,
    pub top: Option<Top>,
    pub best: Option<Best>,
    /// Matches returned in all.
    pub matches: usize,
    pub extract_ms: f64,
    pub lookup_ms: f64,
    pub snr_db: Option<f64>,
    pub clip: String,
    pub error: Option<String>,
}

/// Counts for one case and length.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cell {
    pub case: Option<Case>,
    pub len_s: u32,
    pub n: usize,
    pub correct: usize,
    pub offset_ok: usize,
    pub wrong: usize,
    pub no_match: usize,
    pub errors: usize,
    pub neg_n: usize,
    pub neg_false_matches: usize,
    pub neg_errors: usize,
}

impl Cell {
    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.n)
    }
    pub fn offset_recall(&self) -> f64 {
        ratio(self.offset_ok, self.n)
    }
    pub fn wrong_rate(&self) -> f64 {
        ratio(self.wrong, self.n)
    }
}

/// Cells for every (case, length), in the order given.
pub fn aggregate(queries: &[Query], cases: &[Case], lengths: &[u32]) -> Vec<Cell> {
    let mut map: BTreeMap<(Case, u32), Cell> = BTreeMap::new();
    for q in queries {
        let c = map.entry((q.case, q.len_s)).or_default();
        if q.positive {
            c.n += 1;
            match q.outcome {
                Outcome::Correct => c.correct += 1,
                Outcome::Wrong => c.wrong += 1,
                Outcome::NoMatch => c.no_match += 1,
                Outcome::Error => c.errors += 1,
            }
            c.offset_ok += usize::from(q.offset_ok);
        } else {
            c.neg_n += 1;
            match q.outcome {
                Outcome::Error => c.neg_errors += 1,
                Outcome::NoMatch => {}
                _ => c.neg_false_matches += 1,
            }
        }
    }
    let mut out = Vec::new();
    for &case in cases {
        for &len_s in lengths {
            let mut c = map.remove(&(case, len_s)).unwrap_or_default();
            c.case = Some(case);
            c.len_s = len_s;
            out.push(c);
        }
    }
    out
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct RegistryFigures {
    pub recordings: u64,
    pub audio_s: f64,
    pub postings: u64,
    pub index_bytes: u64,
    pub store_bytes: u64,
    pub segments: u64,
    pub index_bytes_per_s: f64,
    pub store_bytes_per_s: f64,
}

/// Wall-clock seconds of each single-threaded measurement, over the
/// registered files.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SpeedFigures {
    pub files: usize,
    /// Seconds of audio in the registered files (as decoded by us).
    pub audio_s: f64,
    /// Our decoder alone, into memory.
    pub decode_s: f64,
    /// `AudioFingerprinter` alone on the in-memory PCM.
    pub fingerprint_s: f64,
    /// Streaming decode + fingerprint + content hash + register, then flush.
    pub ingest_s: f64,
    pub fpcalc_files: usize,
    /// Audio seconds in the files fpcalc ran on (the same files).
    pub fpcalc_audio_s: f64,
    /// `fpcalc -length 0 -raw` on the original files.
    pub fpcalc_file_s: f64,
    /// The same on WAV files FFmpeg decoded beforehand.
    pub fpcalc_wav_s: f64,
    /// Ours, fingerprinting only, on the same files as fpcalc.
    pub ours_fingerprint_on_fpcalc_files_s: f64,
    /// Ours, end-to-end ingest, on the same files as fpcalc.
    pub ours_ingest_on_fpcalc_files_s: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct LatencyRow {
    pub len_s: u32,
    /// `Registry::lookup` alone.
    pub lookup: Latency,
    /// Decode + fingerprint of the clip file.
    pub extract: Latency,
}

#[derive(Clone, Debug, Serialize)]
pub struct Note {
    pub file: String,
    pub note: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub command: String,
    pub corpus: String,
    pub seed: u64,
    pub files: usize,
    pub skipped: Vec<Note>,
    pub registered: Vec<String>,
    pub held_out: Vec<String>,
    pub babble_voices: Vec<String>,
    pub registration_failures: Vec<Note>,
    pub per_positive: u32,
    pub per_negative: u32,
    pub lengths: Vec<u32>,
    pub cases: Vec<Case>,
    pub registry: RegistryFigures,
    pub speed: SpeedFigures,
    pub cells: Vec<Cell>,
    pub latency: Vec<LatencyRow>,
    pub latency_all: Option<LatencyRow>,
    pub negatives: usize,
    pub false_matches: Vec<Query>,
    pub clip_errors: Vec<Note>,
    pub timings_s: BTreeMap<String, f64>,
    /// The decision threshold applied (`--min-aligned`).
    pub min_aligned: u32,
    /// 1-minute load average when each timed phase started and ended.
    pub load_average: Vec<(String, f64)>,
    pub queries: Vec<Query>,
}

fn f3(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:.3}")
    }
}

fn xrt(audio_s: f64, wall_s: f64) -> String {
    if wall_s <= 0.0 || audio_s <= 0.0 {
        return "–".into();
    }
    format!("{:.0}×", audio_s / wall_s)
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "✗"
    }
}

/// The markdown report.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "# avreg eval\n");
    let _ = writeln!(w, "`{}`\n", r.command);
    let reg_s = r.registry.audio_s;
    let _ = writeln!(
        w,
        "Corpus `{}`: {} files; {} registered ({:.1} h), {} held out as negatives, {} skipped (no or silent audio). \
         Babble = mix of {} held-out speech recordings. Seed {}; {} excerpt(s) per registered recording, {} per held-out one, per length; \
         every case made from the same excerpts.\n",
        r.corpus,
        r.files,
        r.registered.len(),
        reg_s / 3600.0,
        r.held_out.len(),
        r.skipped.len(),
        r.babble_voices.len(),
        r.seed,
        r.per_positive,
        r.per_negative,
    );

    // Recall table.
    let lens = &r.lengths;
    let cell = |case: Case, len: u32| {
        r.cells
            .iter()
            .find(|c| c.case == Some(case) && c.len_s == len)
    };
    let join = |f: &dyn Fn(&Cell) -> String, case: Case| -> String {
        lens.iter()
            .map(|&l| cell(case, l).map_or("–".into(), f))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let _ = write!(w, "| case |");
    for l in lens {
        let _ = write!(w, " recall {l} s |");
    }
    let len_list = lens
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("/");
    let _ = writeln!(
        w,
        " recall + offset ±0.5 s ({len_list} s) | wrong recording ({len_list} s) | negatives: false matches | target ≥ (5 s / 10 s) |"
    );
    let _ = writeln!(w, "|---|{}---|---|---|---|", "---:|".repeat(lens.len()));
    for &case in &r.cases {
        let _ = write!(w, "| {} |", case.label());
        let mut all_ok = true;
        let mut any_target = false;
        for &l in lens {
            match cell(case, l) {
                Some(c) if c.n > 0 => {
                    let t = case.target(l);
                    let flag = match t {
                        Some(t) => {
                            any_target = true;
                            let ok = c.recall() >= t;
                            all_ok &= ok;
                            if ok {
                                ""
                            } else {
                                " ✗"
                            }
                        }
                        None => "",
                    };
                    let _ = write!(w, " {}{} |", f3(c.recall()), flag);
                }
                _ => {
                    let _ = write!(w, " – |");
                }
            }
        }
        let neg_n: usize = lens
            .iter()
            .filter_map(|&l| cell(case, l))
            .map(|c| c.neg_n)
            .sum();
        let neg_fm: usize = lens
            .iter()
            .filter_map(|&l| cell(case, l))
            .map(|c| c.neg_false_matches)
            .sum();
        let targets: Vec<String> = [5, 10]
            .iter()
            .map(|&l| case.target(l).map_or("–".into(), |t| format!("{t:.2}")))
            .collect();
        let target = if any_target {
            format!("{} {}", targets.join(" / "), mark(all_ok))
        } else {
            "–".into()
        };
        let _ = writeln!(
            w,
            " {} | {} | {neg_fm} / {neg_n} | {target} |",
            join(&|c| f3(c.offset_recall()), case),
            join(&|c| f3(c.wrong_rate()), case),
        );
    }
    let _ = write!(w, "| *positives per cell* |");
    for &l in lens {
        let n: Vec<usize> = r
            .cases
            .iter()
            .filter_map(|&c| cell(c, l))
            .map(|c| c.n)
            .collect();
        let (lo, hi) = (
            n.iter().min().copied().unwrap_or(0),
            n.iter().max().copied().unwrap_or(0),
        );
        let _ = write!(
            w,
            " {} |",
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}–{hi}")
            }
        );
    }
    let _ = writeln!(w, " | | | |");
    let total_fm: usize = r.cells.iter().map(|c| c.neg_false_matches).sum();
    let errors: usize = r.cells.iter().map(|c| c.errors + c.neg_errors).sum();
    let _ = writeln!(
        w,
        "\nNoise SNR is measured against each excerpt's own power. ✗ = below the issue's target.\n"
    );
    let _ = writeln!(
        w,
        "**Negatives:** {} queries from held-out recordings, {} false match(es) (target 0). Query errors: {}.\n",
        r.negatives, total_fm, errors
    );

    threshold_sweep(w, r);

    // Performance table.
    let sp = &r.speed;
    let _ = writeln!(w, "| measure (1 thread) | value | target / note |");
    let _ = writeln!(w, "|---|---:|---|");
    let fp_ok = sp.fingerprint_s > 0.0 && sp.audio_s / sp.fingerprint_s >= 1000.0;
    let _ = writeln!(
        w,
        "| fingerprint extraction on decoded PCM (ours) | {} | ≥ 1000× {} |",
        xrt(sp.audio_s, sp.fingerprint_s),
        mark(fp_ok)
    );
    let _ = writeln!(
        w,
        "| decoding alone (ours, symphonia) | {} | |",
        xrt(sp.audio_s, sp.decode_s)
    );
    let ingest_ok = sp.ingest_s > 0.0 && sp.audio_s / sp.ingest_s >= 300.0;
    let _ = writeln!(
        w,
        "| end-to-end ingest: decode + fingerprint + hash + register (+ flush) | {} | ≥ 300× {} |",
        xrt(sp.audio_s, sp.ingest_s),
        mark(ingest_ok)
    );
    let rel = |ours: f64, theirs: f64| -> String {
        if ours > 0.0 && theirs > 0.0 {
            format!("ours is {:.2}× fpcalc's speed", theirs / ours)
        } else {
            "–".into()
        }
    };
    let _ = writeln!(
        w,
        "| fpcalc on pre-decoded WAV ({} files, wall incl. process start) | {} | {} (fingerprinting on PCM) |",
        sp.fpcalc_files,
        xrt(sp.fpcalc_audio_s, sp.fpcalc_wav_s),
        rel(sp.ours_fingerprint_on_fpcalc_files_s, sp.fpcalc_wav_s)
    );
    let _ = writeln!(
        w,
        "| fpcalc on the original files (decode + fingerprint) | {} | {} (our end-to-end ingest) |",
        xrt(sp.fpcalc_audio_s, sp.fpcalc_file_s),
        rel(sp.ours_ingest_on_fpcalc_files_s, sp.fpcalc_file_s)
    );
    let rg = &r.registry;
    let _ = writeln!(
        w,
        "| index size | {:.1} B per s of audio | ≤ 150 {} ({} postings, {} index bytes; whole store {:.1} B/s) |",
        rg.index_bytes_per_s,
        mark(rg.index_bytes_per_s <= 150.0),
        rg.postings,
        rg.index_bytes,
        rg.store_bytes_per_s
    );
    for row in r.latency.iter().chain(&r.latency_all) {
        let what = if row.len_s == 0 {
            "all clips".to_string()
        } else {
            format!("{} s clips", row.len_s)
        };
        let target = if row.len_s == 10 {
            format!(
                "p50 ≤ 20 ms {}, p99 ≤ 50 ms {}",
                mark(row.lookup.p50_ms <= 20.0),
                mark(row.lookup.p99_ms <= 50.0)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            w,
            "| lookup latency, {what} (p50 / p99, n={}) | {:.2} / {:.2} ms | {target} |",
            row.lookup.n, row.lookup.p50_ms, row.lookup.p99_ms
        );
        let _ = writeln!(
            w,
            "| clip extraction (decode + fingerprint), {what} (p50 / p99) | {:.2} / {:.2} ms | |",
            row.extract.p50_ms, row.extract.p99_ms
        );
    }
    let _ = writeln!(w);

    if !r.false_matches.is_empty() {
        let _ = writeln!(w, "### False matches on negatives\n");
        let _ = writeln!(
            w,
            "| query recording | case | len | start | matched | score | aligned | offset |"
        );
        let _ = writeln!(w, "|---|---|---:|---:|---|---:|---:|---:|");
        for q in &r.false_matches {
            if let Some(t) = &q.top {
                let _ = writeln!(
                    w,
                    "| {} | {} | {} s | {:.1} s | {} | {:.3} | {} | {:.1} s |",
                    q.recording,
                    q.case.name(),
                    q.len_s,
                    q.start_ms as f64 / 1000.0,
                    t.title,
                    t.score,
                    t.aligned,
                    t.ref_start_ms as f64 / 1000.0
                );
            }
        }
        let _ = writeln!(w);
    }

    // Where the misses are.
    let mut misses: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for q in r.queries.iter().filter(|q| q.positive) {
        let e = misses.entry(&q.recording).or_default();
        e.1 += 1;
        if q.outcome != Outcome::Correct {
            e.0 += 1;
        }
    }
    let mut worst: Vec<_> = misses.into_iter().filter(|(_, (m, _))| *m > 0).collect();
    worst.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    if !worst.is_empty() {
        let _ = writeln!(
            w,
            "### Recordings with the most missed queries (all cases)\n"
        );
        for (rec, (m, n)) in worst.iter().take(10) {
            let _ = writeln!(w, "- {rec}: {m} of {n}");
        }
        let _ = writeln!(w);
    }
    if !r.registration_failures.is_empty() || !r.clip_errors.is_empty() {
        let _ = writeln!(w, "### Errors\n");
        for n in r.registration_failures.iter().chain(&r.clip_errors) {
            let _ = writeln!(w, "- {}: {}", n.file, n.note);
        }
        let _ = writeln!(w);
    }
    if !r.load_average.is_empty() {
        let parts: Vec<String> = r
            .load_average
            .iter()
            .map(|(k, v)| format!("{k} {v:.1}"))
            .collect();
        let _ = writeln!(
            w,
            "Load average (1 min, {} cores) around the timed phases: {}. Timings are wall clock on a shared machine.\n",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            parts.join(", ")
        );
    }
    if !r.timings_s.is_empty() {
        let parts: Vec<String> = r
            .timings_s
            .iter()
            .map(|(k, v)| format!("{k} {v:.1} s"))
            .collect();
        let _ = writeln!(w, "Run time: {}.", parts.join(", "));
    }
    s
}

/// Recall over all positives per length, and false matches on negatives,
/// had the decision threshold been each of a range of values.
fn threshold_sweep(w: &mut String, r: &Report) {
    let negatives: Vec<u32> = r
        .queries
        .iter()
        .filter(|q| !q.positive)
        .map(|q| q.best.map_or(0, |b| b.aligned))
        .collect();
    let max_negative = negatives.iter().copied().max().unwrap_or(0);
    let _ = writeln!(
        w,
        "**Threshold calibration** (applied: `min_aligned = {}`). Strongest candidate of any negative: {} agreeing hashes.\n",
        r.min_aligned, max_negative
    );
    let mut head = String::from("| min_aligned | false matches on negatives |");
    let mut rule = String::from("|---:|---:|");
    for l in &r.lengths {
        head.push_str(&format!(" recall {l} s (all positives) |"));
        rule.push_str("---:|");
    }
    let _ = writeln!(w, "{head}\n{rule}");
    let low = crate::engine::CALIBRATION_FLOOR.max(max_negative.saturating_sub(2));
    for th in low..=(r.min_aligned + 4).max(low + 6) {
        let fm = negatives.iter().filter(|&&a| a >= th).count();
        let mut row = format!("| {th} | {fm} / {} |", negatives.len());
        for &l in &r.lengths {
            let pos: Vec<&Query> = r
                .queries
                .iter()
                .filter(|q| q.positive && q.len_s == l)
                .collect();
            let hit = pos
                .iter()
                .filter(|q| q.best.is_some_and(|b| b.correct && b.aligned >= th))
                .count();
            let recall = if pos.is_empty() {
                0.0
            } else {
                hit as f64 / pos.len() as f64
            };
            row.push_str(&format!(" {recall:.3} |"));
        }
        let _ = writeln!(w, "{row}");
    }
    let _ = writeln!(w);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(case: Case, len_s: u32, positive: bool, outcome: Outcome, offset_ok: bool) -> Query {
        Query {
            recording: "music/a.ogg".into(),
            case,
            len_s,
            start_ms: 0,
            positive,
            outcome,
            offset_ok,
            top: (outcome == Outcome::Correct || outcome == Outcome::Wrong).then(|| Top {
                title: "music/b.ogg".into(),
                score: 0.5,
                aligned: 12,
                speed: 1.0,
                query_start_ms: 0,
                ref_start_ms: 1000,
                offset_error_ms: None,
            }),
            best: (outcome == Outcome::Correct || outcome == Outcome::Wrong).then_some(Best {
                aligned: 12,
                correct: outcome == Outcome::Correct,
            }),
            matches: 1,
            extract_ms: 1.0,
            lookup_ms: 2.0,
            snr_db: None,
            clip: String::new(),
            error: None,
        }
    }

    fn queries() -> Vec<Query> {
        vec![
            q(Case::Clean, 5, true, Outcome::Correct, true),
            q(Case::Clean, 5, true, Outcome::Correct, false),
            q(Case::Clean, 5, true, Outcome::Wrong, false),
            q(Case::Clean, 5, true, Outcome::NoMatch, false),
            q(Case::Clean, 5, false, Outcome::NoMatch, false),
            q(Case::Clean, 5, false, Outcome::Wrong, false),
            q(Case::Mp3_64, 10, true, Outcome::Error, false),
        ]
    }

    #[test]
    fn aggregation_counts_each_outcome() {
        let cells = aggregate(&queries(), &[Case::Clean, Case::Mp3_64], &[5, 10]);
        assert_eq!(cells.len(), 4);
        let c = &cells[0];
        assert_eq!((c.case, c.len_s), (Some(Case::Clean), 5));
        assert_eq!(
            (c.n, c.correct, c.offset_ok, c.wrong, c.no_match),
            (4, 2, 1, 1, 1)
        );
        assert_eq!((c.neg_n, c.neg_false_matches), (2, 1));
        assert_eq!(c.recall(), 0.5);
        assert!(cells[1].recall().is_nan());
        assert_eq!(cells[3].errors, 1);
    }

    #[test]
    fn table_has_a_row_per_case_and_lists_false_matches() {
        let queries = queries();
        let mut r = Report {
            lengths: vec![5, 10],
            cases: vec![Case::Clean, Case::Mp3_64],
            negatives: 2,
            min_aligned: 10,
            ..Report::default()
        };
        r.cells = aggregate(&queries, &r.cases, &r.lengths);
        r.false_matches = queries
            .iter()
            .filter(|q| !q.positive && q.top.is_some())
            .cloned()
            .collect();
        r.queries = queries;
        let md = render(&r);
        assert!(md.contains("| original excerpt (decoded WAV) | 0.500 ✗ | – | 0.250 / – | 0.250 / – | 1 / 2 | 0.99 / 0.99 ✗ |"), "{md}");
        assert!(md.contains("| MP3 64k | – | 0.000 ✗ |"), "{md}");
        assert!(
            md.contains("| music/a.ogg | clean | 5 s | 0.0 s | music/b.ogg | 0.500 | 12 | 1.0 s |"),
            "{md}"
        );
        assert!(md.contains("- music/a.ogg: 3 of 5"), "{md}");
        // The sweep: the Wrong negative's candidate (12 hashes) is a false
        // match up to a threshold of 12 and not above.
        assert!(
            md.contains("Strongest candidate of any negative: 12"),
            "{md}"
        );
        assert!(md.contains("| 12 | 1 / 2 | 0.500 | 0.000 |"), "{md}");
        assert!(md.contains("| 13 | 0 / 2 | 0.000 | 0.000 |"), "{md}");
    }
}
