//! Development tuning loop: registers raw mono f32le 44.1 kHz references in
//! a memory index and looks up query files named `DOC@START@LEN@CASE.f32`.
//! `cargo run --release -p avreg-eval --example tune -- REFDIR QDIR HOLDOUT...`

use std::collections::BTreeMap;
use std::time::Instant;

use avreg_fingerprint::audio::{AudioConfig, AudioFingerprint, AudioFingerprinter};
use avreg_fingerprint::matching::{candidates, DocId, MatchConfig, MemoryIndex};

fn read(path: &std::path::Path) -> Vec<f32> {
    let bytes = std::fs::read(path).expect("read");
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn fp(cfg: &AudioConfig, pcm: &[f32]) -> AudioFingerprint {
    let mut f = AudioFingerprinter::new(cfg.clone(), 44_100, 1).expect("new");
    f.consume(pcm);
    f.finish()
}

/// xorshift noise, uniform → roughly white.
fn noisy(pcm: &[f32], snr_db: f32, seed: u64) -> Vec<f32> {
    let p = pcm.iter().map(|x| x * x).sum::<f32>() / pcm.len() as f32;
    let mut rng = avreg_fingerprint::audio::synth::Rng::from_state(seed | 1);
    let mut next = || (rng.next_u64() >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0;
    // Uniform in [-1,1] has power 1/3.
    let g = (p / 10f32.powf(snr_db / 10.0) * 3.0).sqrt();
    pcm.iter().map(|x| x + g * next()).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (refdir, qdir) = (&args[0], &args[1]);
    let holdout: Vec<&str> = args[2..].iter().map(String::as_str).collect();
    let mut cfg = MatchConfig::default();
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    if let Some(v) = env("RDT") {
        cfg.audio.reference_dt = v as u32;
    }
    if let Some(v) = env("RDF") {
        cfg.audio.reference_df = v as u32;
    }
    if let Some(v) = env("QDT") {
        cfg.audio.query_dt = v as u32;
    }
    if let Some(v) = env("QDF") {
        cfg.audio.query_df = v as u32;
    }
    if let Some(v) = env("RFAN") {
        cfg.audio.reference_fanout = v as usize;
    }
    if let Some(v) = env("QFAN") {
        cfg.audio.query_fanout = v as usize;
    }
    if let Some(v) = env("QFAN1") {
        cfg.audio.query_fanout_level1 = v as usize;
    }
    if let Some(v) = env("PDT") {
        cfg.audio.pair_max_dt = v as u32;
    }
    if let Some(v) = env("PDF") {
        cfg.audio.pair_max_df = v as u32;
    }
    if let Some(v) = env("MAXBIN") {
        cfg.audio.max_bin = v as usize;
    }
    if let Some(v) = env("CONTRAST") {
        cfg.audio.contrast_db = v as f32;
    }
    if let Some(v) = env("BUCKET") {
        cfg.anchor_bucket = v as u32;
    }
    if let Some(v) = env("MINAL") {
        cfg.min_aligned = v as u32;
    }
    if let Some(v) = env("DDT") {
        cfg.audio.dense_dt = v as usize;
    }
    if let Some(v) = env("DDF") {
        cfg.audio.dense_df = v as usize;
    }
    eprintln!("{cfg:?}");
    let mut index = MemoryIndex::default();
    let mut names = Vec::new();
    let mut secs = 0.0;
    for e in std::fs::read_dir(refdir).expect("dir") {
        let path = e.expect("entry").path();
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .to_string();
        if holdout.contains(&name.as_str()) {
            continue;
        }
        let f = fp(&cfg.audio, &read(&path));
        secs += f.duration_ms() as f64 / 1000.0;
        index.add(DocId(names.len() as u32), &f, &cfg.audio);
        names.push(name);
    }
    eprintln!(
        "indexed {} docs, {secs:.0} s, {} postings ({:.1}/s)",
        names.len(),
        index.len(),
        index.len() as f64 / secs
    );
    // case -> (n, correct, top aligned of the right doc list, negatives top aligned)
    let mut stats: BTreeMap<String, (u32, u32, Vec<u32>, Vec<u32>)> = BTreeMap::new();
    let mut times = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(qdir)
        .expect("qdir")
        .map(|e| e.expect("e").path())
        .collect();
    files.sort();
    for path in files {
        let stem = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .to_string();
        let parts: Vec<&str> = stem.split('@').collect();
        let (doc, len, case) = (parts[0], parts[2], parts[3]);
        let pcm = read(&path);
        let mut variants = vec![(case.to_string(), pcm.clone())];
        if case == "clean" {
            variants.push(("white10".into(), noisy(&pcm, 10.0, 42)));
            variants.push(("white0".into(), noisy(&pcm, 0.0, 43)));
        }
        let neg = holdout.contains(&doc);
        for (case, pcm) in variants {
            let q = fp(&cfg.audio, &pcm);
            let t0 = Instant::now();
            let ms = candidates(&q, &index, &cfg);
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
            let key = format!("{case}@{len}");
            let st = stats.entry(key).or_default();
            if neg {
                st.3.push(ms.first().map_or(0, |m| m.aligned));
                if let Some(m) = ms.first().filter(|m| m.aligned >= 7) {
                    eprintln!(
                        "NEG {stem} {case} -> {} aligned {} speed {} q {}+{} r {}",
                        names[m.doc.0 as usize],
                        m.aligned,
                        m.speed,
                        m.query_start_ms,
                        m.query_duration_ms,
                        m.ref_start_ms
                    );
                }
            } else {
                st.0 += 1;
                let top = ms.first();
                let ok = top.is_some_and(|m| {
                    names[m.doc.0 as usize] == doc && m.aligned >= cfg.min_aligned
                });
                if ok {
                    st.1 += 1;
                } else if std::env::var("MISSES").is_ok() {
                    eprintln!(
                        "MISS {stem} {case} top {:?}",
                        top.map(|m| (names[m.doc.0 as usize].clone(), m.aligned, m.speed))
                    );
                }
                st.2.push(
                    top.filter(|m| names[m.doc.0 as usize] == doc)
                        .map_or(0, |m| m.aligned),
                );
            }
        }
    }
    println!(
        "{:14} {:>4} {:>7} {:>6} {:>6} {:>6} | neg n  max  p99",
        "case", "n", "recall", "p10", "p50", "p90"
    );
    for (k, (n, ok, mut al, mut neg)) in stats {
        al.sort_unstable();
        neg.sort_unstable();
        let pct = |v: &[u32], q: f64| {
            if v.is_empty() {
                0
            } else {
                v[((v.len() - 1) as f64 * q) as usize]
            }
        };
        println!(
            "{k:14} {n:4} {:7.3} {:6} {:6} {:6} | {:5} {:4} {:4}",
            ok as f64 / n.max(1) as f64,
            pct(&al, 0.1),
            pct(&al, 0.5),
            pct(&al, 0.9),
            neg.len(),
            neg.last().copied().unwrap_or(0),
            pct(&neg, 0.99)
        );
    }
    times.sort_by(f64::total_cmp);
    println!(
        "lookup ms p50 {:.2} p99 {:.2} max {:.2}",
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        times[times.len() - 1]
    );
}
