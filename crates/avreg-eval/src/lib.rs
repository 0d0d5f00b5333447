//! `avreg eval`: measure identification on a corpus folder.
//!
//! Registers part of the corpus into a fresh temporary registry, holds the
//! rest out as negatives, cuts excerpts at seeded random offsets, degrades
//! them for every robustness case of FINGERPRINTING.md (FFmpeg does the
//! codecs and filters; gain and noise are mixed here so the SNR is measured
//! on each excerpt), looks every clip up, and prints recall per case and
//! length, wrong-recording rates, false matches on negatives, lookup latency,
//! extraction speed, index size, and Chromaprint's `fpcalc` speed on the same
//! files.
//!
//! This module owns only the harness: it calls the fingerprint and registry
//! crates through their public APIs and tunes nothing in them.

pub mod layouts;

mod cases;
mod corpus;
mod engine;
mod report;
mod rng;
mod stats;
mod tools;
mod video;
mod wav;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{ensure, Context, Result};

use cases::{Case, Clip, Generator};
use report::{LatencyRow, Note, Outcome, Report};
use stats::Latency;

/// Arguments of `avreg eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Corpus folder: `{music,speech,video}/<file>`, optionally with a
    /// `manifest.tsv` (columns `file`, `kind`, …).
    pub corpus: PathBuf,
    /// Cache of probes and degraded clips, reused across runs
    /// (default: a temporary directory, removed at the end).
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// Fraction of each kind's recordings held out of the registry as negatives.
    #[arg(long, default_value_t = 0.2)]
    pub holdout_fraction: f64,
    /// Seed of every random choice (split, offsets, noise).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Excerpts per registered recording, per length (every case is made
    /// from each excerpt).
    #[arg(long, default_value_t = 2)]
    pub per_case: u32,
    /// Draw enough excerpts of held-out recordings for at least this many
    /// negative queries (across cases and lengths).
    #[arg(long, default_value_t = 1000)]
    pub min_negatives: usize,
    /// Cases to run, comma-separated (default: all; see the table for names).
    #[arg(long, value_delimiter = ',')]
    pub cases: Option<Vec<String>>,
    /// Excerpt lengths in seconds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "3,5,10")]
    pub lengths: Vec<u32>,
    /// Also write the full results (every query) as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Parallel FFmpeg jobs for making clips. Timed steps always run on one
    /// thread.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Held-out speech recordings mixed into babble noise (that many speech
    /// recordings are held out at least).
    #[arg(long, default_value_t = 4)]
    pub babble_voices: usize,
    /// Files whose loudest sample is below this level (dBFS) count as silent.
    #[arg(long, default_value_t = -60.0, allow_hyphen_values = true)]
    pub silence_db: f64,
    /// Use at most this many audible files per kind (quick runs).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Decision threshold (agreeing hashes) the recall and false-match
    /// figures are judged at; the report also sweeps the values around it.
    #[arg(long, default_value_t = avreg_fingerprint::matching::MatchConfig::default().min_aligned)]
    pub min_aligned: u32,
    /// Skip the Chromaprint baseline.
    #[arg(long)]
    pub no_fpcalc: bool,
    /// Search playback speeds only, not tempo-only and pitch-only scales
    /// (the search before they were added, for a side-by-side run).
    #[arg(long)]
    pub speed_only: bool,
    #[command(flatten)]
    pub video: video::VideoEvalArgs,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let started = Instant::now();
    let mut timings: BTreeMap<String, f64> = BTreeMap::new();
    let mut load = Vec::new();
    let mut note_load = |phase: &str| {
        if let Some(l) = tools::load_average() {
            load.push((phase.to_string(), l));
        }
    };
    if args.video.video {
        let _tmp;
        let work = match &args.work {
            Some(w) => w.clone(),
            None => {
                let t = tempfile::Builder::new().prefix("avreg-eval-").tempdir()?;
                let p = t.path().to_path_buf();
                _tmp = t;
                p
            }
        };
        return video::run(&args.corpus, &work, args.seed, args.threads, &args.video);
    }
    tools::check_tools()?;
    ensure!(
        (0.0..1.0).contains(&args.holdout_fraction),
        "--holdout-fraction must be in [0, 1)"
    );
    ensure!(
        !args.lengths.is_empty() && args.lengths.iter().all(|&l| l > 0),
        "--lengths must be positive"
    );
    let cases: Vec<Case> = match &args.cases {
        Some(names) => names
            .iter()
            .map(|n| Case::parse(n.trim()))
            .collect::<Result<_>>()?,
        None => Case::ALL.to_vec(),
    };
    ensure!(!cases.is_empty(), "no cases selected");

    let _tmp_work;
    let work = match &args.work {
        Some(w) => {
            std::fs::create_dir_all(w).with_context(|| format!("creating {}", w.display()))?;
            w.clone()
        }
        None => {
            let t = tempfile::Builder::new().prefix("avreg-eval-").tempdir()?;
            let p = t.path().to_path_buf();
            _tmp_work = t;
            p
        }
    };
    let registry_dir = tempfile::Builder::new()
        .prefix("avreg-eval-registry-")
        .tempdir()?;

    // Corpus and split.
    let t = Instant::now();
    let mut items = corpus::scan(&args.corpus)?;
    eprintln!(
        "eval: {} files in {}; probing audio with ffprobe/ffmpeg",
        items.len(),
        args.corpus.display()
    );
    corpus::probe_all(&mut items, &work.join("probe.json"))?;
    if let Some(limit) = args.limit {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        items.retain(|i| {
            if !i.audible(args.silence_db) {
                return true;
            }
            let n = seen.entry(i.kind.clone()).or_default();
            *n += 1;
            *n <= limit
        });
    }
    let skipped: Vec<Note> = items
        .iter()
        .filter(|i| !i.audible(args.silence_db))
        .map(|i| Note {
            file: i.rel.clone(),
            note: match &i.probe {
                None => "no audio stream".into(),
                Some(p) => format!("silent audio (max {:.1} dBFS)", p.max_db),
            },
        })
        .collect();
    let split = corpus::split(
        &items,
        args.holdout_fraction,
        args.babble_voices,
        args.silence_db,
        args.seed,
    );
    ensure!(!split.registered.is_empty(), "nothing to register");
    if split.babble.len() < args.babble_voices
        && cases
            .iter()
            .any(|c| matches!(c, Case::Babble10 | Case::Babble0))
    {
        eprintln!(
            "eval: only {} speech recordings for babble",
            split.babble.len()
        );
    }
    timings.insert("probe".into(), t.elapsed().as_secs_f64());

    // Registration and speed.
    let t = Instant::now();
    eprintln!(
        "eval: registering {} recordings into a fresh registry",
        split.registered.len()
    );
    let registry = engine::open_registry(registry_dir.path(), args.speed_only)?;
    let ingest = engine::ingest(&registry, &items, &split.registered)?;
    let registry_figures = engine::registry_figures(&registry)?;
    timings.insert("register".into(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let speed = engine::speed_figures(&ingest, &items, &work.join("scratch"), !args.no_fpcalc)?;
    timings.insert("fpcalc".into(), t.elapsed().as_secs_f64());
    note_load("after fpcalc");

    // Excerpts.
    let registered_ok: Vec<usize> = split
        .registered
        .iter()
        .copied()
        .filter(|i| ingest.expected_title.contains_key(i))
        .collect();
    let per_index = cases::slots_per_index(&items, &split.held_out, &args.lengths) * cases.len();
    let per_negative = if per_index == 0 {
        0
    } else {
        args.per_case
            .max(args.min_negatives.div_ceil(per_index) as u32)
    };
    let slots = cases::plan_slots(
        &items,
        &registered_ok,
        &split.held_out,
        &args.lengths,
        args.per_case,
        per_negative,
        args.seed,
    );
    let t = Instant::now();
    let babble_sources: Vec<(String, PathBuf)> = split
        .babble
        .iter()
        .map(|&i| (items[i].rel.clone(), items[i].path.clone()))
        .collect();
    let generator = Generator::new(&work, args.seed, babble_sources);
    let (clips, clip_errors) = make_clips(&generator, &slots, &items, &cases, args.threads.max(1));
    timings.insert("make clips".into(), t.elapsed().as_secs_f64());

    // Lookups, one at a time.
    note_load("before lookups");
    let t = Instant::now();
    let mut queries = Vec::with_capacity(clips.len());
    let mut progress = Progress::new("lookup", clips.len());
    for clip in &clips {
        progress.tick();
        let slot = &slots[clip.slot];
        let expected = ingest.expected_title.get(&slot.item).map(String::as_str);
        let expected = if slot.positive { expected } else { None };
        queries.push(engine::query(
            &registry,
            clip,
            slot,
            &items[slot.item],
            expected,
            args.min_aligned,
        ));
    }
    timings.insert("lookups".into(), t.elapsed().as_secs_f64());
    note_load("after lookups");

    // Report.
    let latency_row = |len_s: u32| {
        let of = |f: &dyn Fn(&report::Query) -> f64| -> Vec<f64> {
            queries
                .iter()
                .filter(|q| q.error.is_none() && (len_s == 0 || q.len_s == len_s))
                .map(f)
                .collect()
        };
        LatencyRow {
            len_s,
            lookup: Latency::of(&of(&|q| q.lookup_ms)),
            extract: Latency::of(&of(&|q| q.extract_ms)),
        }
    };
    let false_matches: Vec<report::Query> = queries
        .iter()
        .filter(|q| !q.positive && matches!(q.outcome, Outcome::Correct | Outcome::Wrong))
        .cloned()
        .collect();
    timings.insert("total".into(), started.elapsed().as_secs_f64());
    let names = |v: &[usize]| v.iter().map(|&i| items[i].rel.clone()).collect::<Vec<_>>();
    let report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        corpus: args.corpus.display().to_string(),
        seed: args.seed,
        files: items.len(),
        skipped,
        registered: names(&registered_ok),
        held_out: names(&split.held_out),
        babble_voices: names(&split.babble),
        registration_failures: ingest.failures.clone(),
        per_positive: args.per_case,
        per_negative,
        lengths: args.lengths.clone(),
        cases: cases.clone(),
        registry: registry_figures,
        speed,
        cells: report::aggregate(&queries, &cases, &args.lengths),
        latency: args.lengths.iter().map(|&l| latency_row(l)).collect(),
        latency_all: Some(latency_row(0)),
        negatives: queries.iter().filter(|q| !q.positive).count(),
        false_matches,
        clip_errors,
        timings_s: timings,
        min_aligned: args.min_aligned,
        load_average: load,
        queries,
    };
    print!("{}", report::render(&report));
    if let Some(path) = &args.json {
        write_atomically(path, &serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("eval: wrote {}", path.display());
    }
    Ok(())
}

/// Make every clip of every slot on `threads` workers; slots that fail are
/// reported and left out.
fn make_clips(
    generator: &Generator,
    slots: &[cases::Slot],
    items: &[corpus::Item],
    cases: &[Case],
    threads: usize,
) -> (Vec<Clip>, Vec<Note>) {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<Vec<Clip>>)>> = Mutex::new(Vec::new());
    let progress = Mutex::new(Progress::new("make clips", slots.len()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = slots.get(k) else { break };
                let r = generator.make(k, slot, &items[slot.item], cases);
                if let Ok(mut p) = progress.lock() {
                    p.tick();
                }
                if let Ok(mut v) = results.lock() {
                    v.push((k, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(k, _)| *k);
    let mut clips = Vec::new();
    let mut errors = Vec::new();
    for (k, r) in results {
        match r {
            Ok(c) => clips.extend(c),
            Err(e) => {
                let slot = &slots[k];
                eprintln!(
                    "eval: no clips for {} at {} ms: {e:#}",
                    items[slot.item].rel, slot.start_ms
                );
                errors.push(Note {
                    file: items[slot.item].rel.clone(),
                    note: format!("{} s excerpt at {} ms: {e:#}", slot.len_s, slot.start_ms),
                });
            }
        }
    }
    (clips, errors)
}

/// Progress lines on stderr, at most every few seconds.
#[derive(Debug)]
struct Progress {
    what: &'static str,
    total: usize,
    done: usize,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(what: &'static str, total: usize) -> Self {
        let now = Instant::now();
        Self {
            what,
            total,
            done: 0,
            started: now,
            last: now,
        }
    }

    fn tick(&mut self) {
        self.done += 1;
        if self.last.elapsed().as_secs_f64() >= 5.0 || self.done == self.total {
            self.last = Instant::now();
            eprintln!(
                "eval: {} {}/{} ({:.0} s)",
                self.what,
                self.done,
                self.total,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Write through a temporary file and a rename, so an interrupted run never
/// leaves a truncated file in the cache.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut name = path
        .file_name()
        .context("path has no file name")?
        .to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}
