//! Measures the three posting layouts on the same synthetic postings:
//! bytes on disk per second of audio, ingest rate, lookup latency.
//!
//! `cargo bench -p avreg-eval --bench index_layouts`
//! (`AVREG_BENCH_HOURS`, default 20, sets the amount of audio indexed).
//!
//! Postings come from the real hashing (`reference_hashes`) of synthetic
//! peaks: 4-minute recordings with about 7.5 reference peaks per second at
//! random times and frequencies, which gives about 30 hashes per second,
//! keys spread over 2^23 as the real key layout spreads them, frames
//! increasing per document. A query looks up 5,000 keys: 2,500 from a span
//! of one indexed recording and 2,500 random ones.

use std::time::{Duration, Instant};

use avreg_eval::layouts::{dir_bytes, Layout, LayoutIndex};
use avreg_fingerprint::audio::{AudioConfig, AudioFingerprint, Peak};
use avreg_fingerprint::matching::{DocId, HashKey};
use avreg_registry::IndexOptions;

const DOC_SECONDS: u64 = 240;
const PEAKS_PER_SECOND: f64 = 7.5;
const QUERY_KEYS: usize = 5_000;
const QUERIES: usize = 200;

/// The testkit's SplitMix64: small, seeded, good enough for synthetic data.
use avreg_testkit::Rng;

fn synthetic_doc(rng: &mut Rng, config: &AudioConfig) -> Vec<(HashKey, u32)> {
    let n = (DOC_SECONDS as f64 * PEAKS_PER_SECOND) as usize;
    let peaks = (0..n)
        .map(|_| Peak {
            time_ms: rng.below(DOC_SECONDS * 1000) as u32,
            freq: (4 * 16 + rng.below(236 * 16)) as u16,
            level: 2,
        })
        .collect();
    AudioFingerprint::from_parts(DOC_SECONDS * 1000, peaks).reference_hashes(config)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let hours: f64 = std::env::var("AVREG_BENCH_HOURS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20.0);
    let config = AudioConfig::default();
    let ndocs = ((hours * 3600.0) / DOC_SECONDS as f64).ceil() as usize;
    let audio_s = (ndocs as u64 * DOC_SECONDS) as f64;
    let mut rng = Rng::new(0x5eed);
    let docs: Vec<Vec<(HashKey, u32)>> = (0..ndocs)
        .map(|_| synthetic_doc(&mut rng, &config))
        .collect();
    let postings: usize = docs.iter().map(Vec::len).sum();
    let queries: Vec<Vec<HashKey>> = (0..QUERIES)
        .map(|_| {
            let doc = &docs[rng.below(ndocs as u64) as usize];
            let start = rng.below((doc.len() - QUERY_KEYS / 2) as u64) as usize;
            let mut keys: Vec<HashKey> = doc[start..start + QUERY_KEYS / 2]
                .iter()
                .map(|h| h.0)
                .collect();
            keys.extend((0..QUERY_KEYS / 2).map(|_| HashKey(rng.below(1 << 23) as u32)));
            keys
        })
        .collect();
    println!(
        "{hours} h of audio: {ndocs} recordings of {DOC_SECONDS} s, {postings} postings ({:.1} per second of audio)",
        postings as f64 / audio_s
    );
    println!(
        "query: {QUERY_KEYS} keys (half from one indexed span, half random), {QUERIES} queries\n"
    );
    println!(
        "| layout | bytes/s of audio | bytes/posting | ingest (s of audio / s) | lookup p50 | lookup p99 | postings/query |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let only: Option<String> = std::env::var("AVREG_BENCH_LAYOUT").ok();
    for layout in Layout::ALL {
        if only
            .as_ref()
            .is_some_and(|o| !format!("{layout:?}").eq_ignore_ascii_case(o))
        {
            continue;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let index =
            LayoutIndex::open(dir.path(), layout, IndexOptions::default()).expect("open layout");
        let t0 = Instant::now();
        for (i, hashes) in docs.iter().enumerate() {
            index.add(DocId(i as u32), hashes).expect("add");
        }
        index.flush().expect("flush");
        let ingest = t0.elapsed().as_secs_f64();
        let bytes = dir_bytes(dir.path()).expect("size");
        let mut out = Vec::new();
        let mut found = 0usize;
        let mut lat: Vec<Duration> = queries
            .iter()
            .map(|keys| {
                let t = Instant::now();
                out.clear();
                for &k in keys {
                    index.postings(k, &mut out).expect("lookup");
                }
                found += out.len();
                t.elapsed()
            })
            .collect();
        lat.sort();
        println!(
            "| {} | {:.0} | {:.1} | {:.0} | {:.2} ms | {:.2} ms | {} |",
            index.name(),
            bytes as f64 / audio_s,
            bytes as f64 / postings as f64,
            audio_s / ingest,
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
            found / QUERIES,
        );
    }
}
