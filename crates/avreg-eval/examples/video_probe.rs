//! Decodes a video and prints, per picture read, its time and the sum of
//! its luma (to compare against another decoder), or with `--bench`, the
//! throughput of decoding alone and of decoding plus fingerprinting.
//!
//! `cargo run --release -p avreg-eval --example video_probe -- FILE [--bench]`

use std::path::Path;
use std::time::Instant;

use avreg_decode::video::{
    decode_video_file, fingerprint_video_file, FrameSink, VideoDecodeOptions,
};
use avreg_fingerprint::video::{LumaFrame, Role, VideoConfig};

struct Sums {
    all: bool,
    frames: u64,
}

impl FrameSink for Sums {
    fn wants(&self, _: u64) -> bool {
        self.all
    }
    fn frame(&mut self, frame: &LumaFrame<'_>, time_ms: u64) {
        self.frames += 1;
        if self.all {
            let sum: u64 = (0..frame.height())
                .map(|y| frame.row(y).iter().map(|&v| u64::from(v)).sum::<u64>())
                .sum();
            println!("{time_ms} {sum}");
        }
    }
    fn skipped(&mut self, _: u64) {
        self.frames += 1;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = Path::new(args.first().ok_or("usage: video_probe FILE [--bench]")?);
    let opts = VideoDecodeOptions::default();
    if args.iter().any(|a| a == "--bench") {
        let t = Instant::now();
        let mut s = Sums {
            all: false,
            frames: 0,
        };
        let info = decode_video_file(path, &opts, &mut s)?;
        let dt = t.elapsed().as_secs_f64();
        println!(
            "decode only: {} frames {}x{} in {dt:.2} s = {:.0} frames/s",
            info.decoded_frames,
            info.width,
            info.height,
            info.decoded_frames as f64 / dt
        );
        for role in [Role::Query, Role::Reference] {
            let t = Instant::now();
            let (fp, info) = fingerprint_video_file(path, &VideoConfig::default(), role, &opts)?;
            let dt = t.elapsed().as_secs_f64();
            println!(
                "decode + fingerprint ({role:?}, 4 fps): {} frames in {dt:.2} s = {:.0} frames/s, {} hashes",
                info.decoded_frames,
                info.decoded_frames as f64 / dt,
                fp.frames.len()
            );
        }
    } else {
        let mut s = Sums {
            all: true,
            frames: 0,
        };
        decode_video_file(path, &opts, &mut s)?;
    }
    Ok(())
}
