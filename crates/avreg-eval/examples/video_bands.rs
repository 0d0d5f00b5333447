//! Measures the band layout and the verification threshold of video
//! matching on synthetic scenes: for true pairs (a reference frame and an
//! edited copy: rescale, brightness, letterbox, 10 % crop against the best
//! reference view, logo) and unrelated pairs (frames of other videos), the
//! Hamming distances, and for 8 bands of 32 bits, 16 of 16 and 32 of 8 the
//! share of true pairs with at least one identical band (recall of the
//! candidate step) and the mean identical bands per unrelated pair (its
//! load).
//!
//! `cargo run --release -p avreg-eval --example video_bands`

use avreg_fingerprint::video::luma::{content_rect, downscale_64};
use avreg_fingerprint::video::pdq::{hash_64, PdqHash};
use avreg_fingerprint::video::synth::{Plane, Scenes};
use avreg_fingerprint::video::{Role, VideoConfig, VideoFingerprinter};

fn full(p: &Plane) -> PdqHash {
    let f = p.frame();
    hash_64(&downscale_64(&f, content_rect(&f))).hash
}

fn views(p: &Plane) -> Vec<PdqHash> {
    let mut fp = VideoFingerprinter::new(VideoConfig::default(), Role::Reference);
    fp.push(&p.frame(), 0);
    fp.finish().frames.iter().map(|f| f.hash).collect()
}

/// Identical bands of `bits` bits between two hashes.
fn same_bands(a: &PdqHash, b: &PdqHash, bits: usize) -> usize {
    let mut n = 0;
    for band in 0..256 / bits {
        let same = (band * bits..(band + 1) * bits).all(|k| a.bit(k) == b.bit(k));
        n += usize::from(same);
    }
    n
}

/// A named picture edit.
type Edit = Box<dyn Fn(&Plane) -> Plane>;

fn main() {
    let edits: Vec<(&str, Edit)> = vec![
        ("rescale 240p", Box::new(|p: &Plane| p.resize(426, 240))),
        ("brightness +20%", Box::new(|p: &Plane| p.brightness(1.2))),
        (
            "letterbox",
            Box::new(|p: &Plane| p.resize(480, 270).boxed(480, 360)),
        ),
        ("crop 10%", Box::new(|p: &Plane| p.crop(32, 18, 576, 324))),
        ("logo 6%", Box::new(|p: &Plane| p.logo(0.06))),
    ];
    let layouts = [32usize, 16, 8];
    let mut true_pairs: Vec<(String, u32, Vec<usize>)> = Vec::new();
    let mut refs = Vec::new();
    for seed in 0..12u64 {
        for t in [300u64, 1_700, 3_100, 4_400] {
            let src = Scenes::new(seed).render(t, 640, 360);
            let rv = views(&src);
            for (name, edit) in &edits {
                let q = full(&edit(&src));
                let (d, best) = rv
                    .iter()
                    .map(|r| (q.distance(r), *r))
                    .min_by_key(|x| x.0)
                    .expect("views");
                let bands = layouts.iter().map(|&b| same_bands(&q, &best, b)).collect();
                true_pairs.push(((*name).to_owned(), d, bands));
            }
            refs.push((seed, full(&src)));
        }
    }
    println!("true pairs: {}", true_pairs.len());
    for (name, _) in &edits {
        let ds: Vec<u32> = true_pairs
            .iter()
            .filter(|p| p.0 == *name)
            .map(|p| p.1)
            .collect();
        let mean = ds.iter().sum::<u32>() as f32 / ds.len() as f32;
        println!(
            "  {name:16} distance mean {mean:5.1} max {:3}",
            ds.iter().max().copied().unwrap_or(0)
        );
    }
    let mut unrelated = Vec::new();
    for (i, (sa, a)) in refs.iter().enumerate() {
        for (sb, b) in &refs[i + 1..] {
            if sa != sb {
                unrelated.push((a.distance(b), layouts.map(|l| same_bands(a, b, l))));
            }
        }
    }
    let min_unrelated = unrelated.iter().map(|u| u.0).min().unwrap_or(0);
    println!(
        "unrelated pairs: {}, distance min {min_unrelated}, under 40: {}",
        unrelated.len(),
        unrelated.iter().filter(|u| u.0 <= 40).count()
    );
    for (li, bits) in layouts.iter().enumerate() {
        let ok = |max: u32| {
            let v: Vec<_> = true_pairs.iter().filter(|p| p.1 <= max).collect();
            let hit = v.iter().filter(|p| p.2[li] > 0).count();
            (hit, v.len())
        };
        let (h40, n40) = ok(40);
        let (hall, nall) = ok(256);
        let load = unrelated.iter().map(|u| u.1[li]).sum::<usize>() as f64 / unrelated.len() as f64;
        println!(
            "  {:2} bands of {bits:2} bits: candidate recall {h40}/{n40} of pairs within 40 bits, {hall}/{nall} of all; \
             identical bands per unrelated pair {load:.4}",
            256 / bits
        );
    }
}
