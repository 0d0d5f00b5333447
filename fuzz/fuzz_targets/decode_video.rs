//! Arbitrary bytes through the video decoding edge: the MP4 box and
//! sample-table guard, the `mp4` demuxer, AVCC→Annex B conversion, OpenH264
//! and the video fingerprinter, via `fingerprint_video_file` on a temporary
//! `.mp4` file (the video edge reads paths, not streams).
//!
//! Input layout: the whole input is the file. `fuzz/seed.sh` seeds it with
//! `fixtures/video/*.mp4`.
//!
//! What counts as a bug: a panic out of `fingerprint_video_file`, an abort
//! (allocation failure), a timeout, or an `Ok` whose fingerprint breaks the
//! documented invariants (dimensions, round trip of its own encoding).

#![no_main]

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use avreg_decode::video::{fingerprint_video_file, VideoDecodeOptions};
use avreg_decode::Error;
use avreg_fingerprint::video::{Role, VideoConfig, VideoFingerprint};
use libfuzzer_sys::fuzz_target;

/// Ten minutes, as in the audio target.
const MAX_DURATION_MS: u64 = 10 * 60 * 1000;

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("avreg-fuzz-video-{}.mp4", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    {
        let mut f = std::fs::File::create(path).expect("temp file");
        f.write_all(data).expect("write temp file");
    }
    let opts = VideoDecodeOptions {
        max_duration_ms: Some(MAX_DURATION_MS),
        ..VideoDecodeOptions::default()
    };
    for role in [Role::Query, Role::Reference] {
        match fingerprint_video_file(path, &VideoConfig::default(), role, &opts) {
            Ok((fp, info)) => {
                assert!(info.width > 0 && info.height > 0, "{info:?}");
                assert!(info.read_frames <= info.decoded_frames, "{info:?}");
                let bytes = fp.to_bytes();
                let back = VideoFingerprint::from_bytes(&bytes).expect("own encoding parses");
                assert_eq!(back, fp);
            }
            // The temp file was just written: reading it cannot fail.
            Err(e @ Error::Io { .. }) => panic!("{e}"),
            Err(_) => {}
        }
    }
});
