//! Benchmarks of the fingerprint core (PCM to fingerprint) and of lookup
//! (offset voting with the speed grid) against an in-memory index.
//!
//! `cargo bench -p avreg-fingerprint --bench fingerprint`

use avreg_fingerprint::audio::synth::music;
use avreg_fingerprint::audio::{AudioConfig, AudioFingerprint, AudioFingerprinter};
use avreg_fingerprint::matching::{search, DocId, MatchConfig, MemoryIndex};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn fingerprint(pcm: &[f32], rate: u32) -> AudioFingerprint {
    let mut f = AudioFingerprinter::new(AudioConfig::default(), rate, 1).expect("valid stream");
    for c in pcm.chunks(4096) {
        f.consume(c);
    }
    f.finish()
}

fn extraction(c: &mut Criterion) {
    let mut g = c.benchmark_group("extract");
    for rate in [44_100u32, 16_000] {
        let pcm = music(1, rate, 30.0);
        // Throughput in input samples; × real time = samples/s ÷ rate.
        g.throughput(Throughput::Elements(pcm.len() as u64));
        g.bench_with_input(BenchmarkId::new("30s_mono", rate), &pcm, |b, pcm| {
            b.iter(|| fingerprint(pcm, rate))
        });
    }
    g.finish();
}

fn lookup(c: &mut Criterion) {
    // 120 generated pieces of 90 s: 3 hours indexed.
    let config = MatchConfig::default();
    let mut index = MemoryIndex::default();
    let mut pieces = Vec::new();
    for doc in 0..120u32 {
        let pcm = music(1000 + u64::from(doc), 16_000, 90.0);
        index.add(DocId(doc), &fingerprint(&pcm, 16_000), &config.audio);
        if doc < 4 {
            pieces.push(pcm);
        }
    }
    let ten = |pcm: &[f32], at: usize| fingerprint(&pcm[at * 16_000..(at + 10) * 16_000], 16_000);
    let registered = ten(&pieces[2], 31);
    let unregistered = ten(&music(99_999, 16_000, 40.0), 12);
    let mut g = c.benchmark_group("lookup_10s");
    g.bench_function("registered", |b| {
        b.iter(|| search(&registered, &index, &config))
    });
    g.bench_function("unregistered_full_speed_grid", |b| {
        b.iter(|| search(&unregistered, &index, &config))
    });
    g.finish();
}

criterion_group!(benches, extraction, lookup);
criterion_main!(benches);
