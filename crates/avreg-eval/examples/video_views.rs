//! For one query clip of a known reference span, prints per sampled query
//! frame and view the Hamming distance to the nearest reference frame
//! (any view) within ±1 s of where the frame belongs: which views of a
//! re-post come close enough to match (the verification distance is 56).
//!
//! `cargo run --release -p avreg-eval --example video_views -- REF CLIP START_MS`

use std::collections::BTreeMap;
use std::path::Path;

use avreg_decode::video::{fingerprint_video_file, VideoDecodeOptions};
use avreg_fingerprint::video::{Role, VideoConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [reference, clip, start] = args.as_slice() else {
        return Err("usage: video_views REF CLIP START_MS".into());
    };
    let start: i64 = start.parse()?;
    let config = VideoConfig::default();
    let opts = VideoDecodeOptions::default();
    let (r, _) = fingerprint_video_file(Path::new(reference), &config, Role::Reference, &opts)?;
    let (q, _) = fingerprint_video_file(Path::new(clip), &config, Role::Query, &opts)?;
    let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for f in &q.frames {
        let at = start + i64::from(f.time_ms);
        let best = r
            .frames
            .iter()
            .filter(|g| (i64::from(g.time_ms) - at).abs() <= 1000)
            .map(|g| (f.hash.distance(&g.hash), g.view))
            .min_by_key(|&(d, _)| d);
        let cell = match best {
            Some((d, v)) => format!("{:?}={d}({:?})", f.view, v),
            None => format!("{:?}=–", f.view),
        };
        rows.entry(f.time_ms).or_default().push(cell);
    }
    for (t, cells) in rows {
        println!("{t:>6} ms  {}", cells.join("  "));
    }
    Ok(())
}
