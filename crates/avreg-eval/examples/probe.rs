//! Development probe: fingerprints raw mono f32le PCM files (44.1 kHz) and
//! prints peak densities, hash rates and extraction speed.
//! `cargo run --release -p avreg-eval --example probe -- FILE.f32...`

use avreg_fingerprint::audio::{AudioConfig, AudioFingerprinter};

fn main() {
    let cfg = AudioConfig::default();
    let (mut total_s, mut total_t) = (0.0, 0.0);
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).expect("read");
        let pcm: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let t0 = std::time::Instant::now();
        let mut fp = AudioFingerprinter::new(cfg.clone(), 44_100, 1).expect("new");
        for c in pcm.chunks(4096) {
            fp.consume(c);
        }
        let f = fp.finish();
        let el = t0.elapsed().as_secs_f64();
        let secs = f.duration_ms() as f64 / 1000.0;
        let l2 = f.peaks().iter().filter(|p| p.level == 2).count();
        let l1 = f.peaks().len() - l2;
        let rh = f.reference_hashes(&cfg).len();
        let mut qh = Vec::new();
        f.query_hashes(&cfg, 1.0, &mut qh);
        println!(
            "{:50} {:7.1}s  L2 {:5.1}/s  L1 {:5.1}/s  ref {:5.1}/s  query {:6.1}/s  bytes {:5.1}/s  {:6.0}x",
            path.rsplit('/').next().unwrap_or(&path),
            secs,
            l2 as f64 / secs,
            l1 as f64 / secs,
            rh as f64 / secs,
            qh.len() as f64 / secs,
            f.reference_only().to_bytes().len() as f64 / secs,
            secs / el
        );
        total_s += secs;
        total_t += el;
    }
    println!(
        "total {total_s:.0}s audio in {total_t:.2}s: {:.0}x real time",
        total_s / total_t
    );
}
