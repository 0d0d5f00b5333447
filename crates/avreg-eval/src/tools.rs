//! The external tools the evaluation drives: `ffmpeg` and `ffprobe` make and
//! measure degraded clips, `fpcalc` (Chromaprint) is the speed baseline.
//!
//! They are needed by `avreg eval` only, never by the build or the tests.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Check that every tool runs; fail with one message naming all missing ones.
pub fn check_tools() -> Result<()> {
    let mut missing = Vec::new();
    for (tool, flag, package) in [
        ("ffmpeg", "-version", "ffmpeg"),
        ("ffprobe", "-version", "ffmpeg"),
        ("fpcalc", "-version", "libchromaprint-tools"),
    ] {
        let ok = Command::new(tool)
            .arg(flag)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            missing.push(format!("`{tool}` (Debian package {package})"));
        }
    }
    if !missing.is_empty() {
        bail!(
            "avreg eval needs {} on the PATH to make degraded clips and to run the \
             Chromaprint baseline; install them (e.g. `apt-get install ffmpeg \
             libchromaprint-tools`) and retry",
            missing.join(", ")
        );
    }
    Ok(())
}

/// Run a command to completion, failing with its stderr if it fails.
pub fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("spawning {cmd:?}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        bail!(
            "{:?} failed ({}): {}",
            cmd,
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        );
    }
    Ok(out)
}

/// `ffmpeg` with the options every invocation shares.
pub fn ffmpeg() -> Command {
    let mut c = Command::new("ffmpeg");
    c.args([
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "error",
        "-y",
    ]);
    c
}

/// Audio stream facts of a media file, from `ffprobe` and one decoding pass
/// through FFmpeg's `volumedetect`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Probe {
    pub rate: u32,
    pub channels: u16,
    /// Decoded duration (samples counted by `volumedetect`).
    pub duration_s: f64,
    pub mean_db: f64,
    pub max_db: f64,
}

/// Probe the first audio stream; `Ok(None)` if the file has none.
pub fn probe(path: &Path) -> Result<Option<Probe>> {
    let out = run(Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0"])
        .args([
            "-show_entries",
            "stream=sample_rate,channels",
            "-of",
            "csv=p=0",
        ])
        .arg(path))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(line) = text.lines().find(|l| !l.trim().is_empty()) else {
        return Ok(None);
    };
    let mut fields = line.trim().trim_end_matches(',').split(',');
    let rate: u32 = fields
        .next()
        .unwrap_or_default()
        .parse()
        .context("ffprobe sample_rate")?;
    let channels: u16 = fields
        .next()
        .unwrap_or_default()
        .parse()
        .context("ffprobe channels")?;

    // volumedetect logs at info level.
    let out = run(Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-nostats", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-af", "volumedetect", "-f", "null", "-"]))?;
    let log = String::from_utf8_lossy(&out.stderr);
    let (n_samples, mean_db, max_db) = parse_volumedetect(&log)
        .with_context(|| format!("no volumedetect result for {}", path.display()))?;
    Ok(Some(Probe {
        rate,
        channels,
        duration_s: n_samples as f64 / f64::from(channels.max(1)) / f64::from(rate.max(1)),
        mean_db,
        max_db,
    }))
}

/// `(n_samples, mean_volume dB, max_volume dB)` from FFmpeg's log.
pub fn parse_volumedetect(log: &str) -> Option<(u64, f64, f64)> {
    let field = |name: &str| -> Option<&str> {
        log.lines()
            .filter(|l| l.contains("volumedetect"))
            .find_map(|l| l.split_once(name).map(|(_, rest)| rest.trim()))
    };
    let n = field("n_samples:")?.parse().ok()?;
    let db = |s: &str| s.trim_end_matches("dB").trim().parse::<f64>().ok();
    Some((n, db(field("mean_volume:")?)?, db(field("max_volume:")?)?))
}

/// Wall time of `fpcalc -length 0 -raw FILE` (whole file, raw output).
///
/// fpcalc exits with status 3 when FFmpeg reports an error at the very end of
/// a file (several corpus WAV files have a ragged tail) after it has printed
/// the fingerprint; a printed fingerprint counts as success.
pub fn time_fpcalc(path: &Path) -> Result<Duration> {
    let t = Instant::now();
    let out = Command::new("fpcalc")
        .args(["-length", "0", "-raw"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .context("spawning fpcalc")?;
    let elapsed = t.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.contains("FINGERPRINT=") {
        bail!(
            "fpcalc printed no fingerprint for {} ({}): {}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(elapsed)
}

/// The 1-minute load average (Linux), to qualify timings on a shared machine.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_volumedetect_log() {
        let log = "Stream mapping:\n\
            [Parsed_volumedetect_0 @ 0x5612eab1da40] n_samples: 108358\n\
            [Parsed_volumedetect_0 @ 0x5612eab1da40] mean_volume: -25.8 dB\n\
            [Parsed_volumedetect_0 @ 0x5612eab1da40] max_volume: -9.2 dB\n\
            [Parsed_volumedetect_0 @ 0x5612eab1da40] histogram_9db: 14\n";
        assert_eq!(parse_volumedetect(log), Some((108_358, -25.8, -9.2)));
        assert_eq!(parse_volumedetect("nothing"), None);
    }

    /// ARCHITECTURE.md: no library but avreg-eval spawns a process, and
    /// neither does the binary (its tests may, and avreg-testkit, their
    /// dev-only harness, which starts `avreg serve`).
    #[test]
    fn no_other_product_code_spawns_a_process() {
        fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("listing sources") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    rust_files(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut dirs = vec![root.join("src")];
        for entry in std::fs::read_dir(root.join("crates")).expect("listing crates") {
            let krate = entry.expect("entry").path();
            if krate
                .file_name()
                .is_some_and(|n| n != "avreg-eval" && n != "avreg-testkit")
            {
                dirs.push(krate.join("src"));
            }
        }
        let mut files = Vec::new();
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            rust_files(dir, &mut files);
        }
        assert!(files.len() > 10, "found the sources");
        let spawning: Vec<String> = files
            .iter()
            .filter(|f| {
                let text = std::fs::read_to_string(f).expect("source");
                text.contains("process::Command") || text.contains("Command::new(")
            })
            .map(|f| f.display().to_string())
            .collect();
        assert!(
            spawning.is_empty(),
            "only avreg-eval runs programs: {spawning:?}"
        );
    }
}
