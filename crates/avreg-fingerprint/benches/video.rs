//! Benchmarks of the video core: one frame from luma plane to PDQ hash
//! (black-bar scan, 64×64 box downscale, DCT, median), at 360p and 1080p,
//! for a query (full view + mirror) and a reference (full view + six crops).
//! Decoding plus fingerprinting of real files is measured by
//! `crates/avreg-eval/examples/video_probe.rs --bench`.
//!
//! `cargo bench -p avreg-fingerprint --bench video`

use avreg_fingerprint::video::synth::Scenes;
use avreg_fingerprint::video::{Role, VideoConfig, VideoFingerprinter};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn hash_frame(c: &mut Criterion) {
    let mut g = c.benchmark_group("video_frame");
    g.throughput(Throughput::Elements(1));
    for (w, h) in [(640usize, 360usize), (1920, 1080)] {
        let plane = Scenes::new(1).render(0, w, h);
        for role in [Role::Query, Role::Reference] {
            g.bench_with_input(
                BenchmarkId::new(format!("{role:?}"), format!("{w}x{h}")),
                &plane,
                |b, plane| {
                    b.iter(|| {
                        let mut fp = VideoFingerprinter::new(VideoConfig::default(), role);
                        fp.push(&plane.frame(), 0);
                        fp.finish()
                    })
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, hash_frame);
criterion_main!(benches);
