//! Helpers: running the binary, decoding fixtures (the WAV and signal
//! helpers are avreg-testkit's, re-exported).

use std::path::{Path, PathBuf};
use std::process::Output;

use avreg_decode::audio::{decode_audio_file, DecodeOptions};
pub use avreg_testkit::signal::degrade;
pub use avreg_testkit::wav::write_wav;

/// A temporary store plus the binary.
pub struct Avreg {
    pub dir: tempfile::TempDir,
}

impl Avreg {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `avreg --data <tmp>/data ARGS…` from the repository root.
    pub fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_avreg"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("--data")
            .arg(self.data())
            .args(args)
            .env_remove("AVREG_LOG")
            .output()
            .expect("run avreg")
    }

    /// Runs and parses stdout as JSON.
    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let out = self.run(args);
        let code = out.status.code().expect("exit code");
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: stdout is not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, v)
    }

    /// A path in the temporary folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Decodes a fixture to mono.
pub fn decode_mono(path: &Path) -> (Vec<f32>, u32) {
    let mut pcm = Vec::new();
    let mut rate = 0;
    decode_audio_file(path, &DecodeOptions::default(), &mut |samples, r, ch| {
        rate = r;
        let ch = usize::from(ch);
        pcm.extend(
            samples
                .chunks_exact(ch)
                .map(|f| f.iter().sum::<f32>() / ch as f32),
        );
    })
    .expect("fixture decodes");
    (pcm, rate)
}
