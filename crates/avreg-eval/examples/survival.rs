//! Development probe: what fraction of a reference's hashes inside an
//! excerpt does the excerpt's query reproduce, by sample shift.
use std::collections::HashSet;

use avreg_fingerprint::audio::{AudioConfig, AudioFingerprinter};

fn main() {
    let path = std::env::args().nth(1).expect("file");
    let bytes = std::fs::read(path).expect("read");
    let pcm: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let cfg = AudioConfig::default();
    let fp = |x: &[f32]| {
        let mut f = AudioFingerprinter::new(cfg.clone(), 44_100, 1).expect("new");
        f.consume(x);
        f.finish()
    };
    let whole = fp(&pcm);
    let rh = whole.reference_hashes(&cfg);
    for shift in [0usize, 50, 176, 353, 529] {
        let (mut found, mut total, mut peaks_found, mut peaks_total) = (0, 0, 0, 0);
        for k in 1..12 {
            let start = 88_200 * 4 * k + shift;
            let len = 44_100 * 5;
            if start + len > pcm.len() {
                break;
            }
            let q = fp(&pcm[start..start + len]);
            let mut qh = Vec::new();
            q.query_hashes(&cfg, 1.0, &mut qh);
            let start_frame = (start as f64 / 44_100.0 * 125.0).round() as i64;
            let qset: HashSet<(u32, i64)> = qh
                .iter()
                .map(|(k, f)| (k.0, i64::from(*f) + start_frame))
                .collect();
            // Reference hashes well inside the excerpt.
            let lo = start_frame + 40;
            let hi = start_frame + 625 - 160;
            for (key, f) in &rh {
                let f = i64::from(*f);
                if f >= lo && f < hi {
                    total += 1;
                    if (-1..=1).any(|d| qset.contains(&(key.0, f + d))) {
                        found += 1;
                    }
                }
            }
            let start_ms = (start as f64 / 44.1) as i64;
            let qp: Vec<_> = q
                .peaks()
                .iter()
                .map(|p| (i64::from(p.time_ms) + start_ms, i64::from(p.freq)))
                .collect();
            for p in whole.peaks().iter().filter(|p| p.level == 2) {
                let t = i64::from(p.time_ms);
                if t >= lo * 8 && t < hi * 8 {
                    peaks_total += 1;
                    if qp
                        .iter()
                        .any(|&(qt, qf)| (qt - t).abs() <= 4 && (qf - i64::from(p.freq)).abs() <= 4)
                    {
                        peaks_found += 1;
                    }
                }
            }
        }
        println!(
            "shift {shift:4} samples: hashes {found}/{total} = {:.2}, L2 peaks present (±4ms, ±1/4 bin) {peaks_found}/{peaks_total} = {:.2}",
            found as f64 / total as f64,
            peaks_found as f64 / peaks_total as f64
        );
    }
}
