//! Load on `/v1/lookup`: a registry with about 1,000 hours of audio and 100
//! hours of video, the real `avreg serve` binary, and `wrk` sending 10 s
//! fingerprint lookups, then 10 s clip uploads, at 1, 8 and 64 concurrent
//! connections. Prints a table for each: requests/s, p50/p99 latency,
//! errors; and the server's peak memory.
//!
//! The audio is real: every recording of the corpus folder
//! (`AVREG_LOAD_CORPUS`, default `/work/corpus`, made by
//! `../shared/corpus/build-dev-corpus.sh`) fingerprinted once, then
//! registered many times with distinct edits (its peaks transposed and time
//! stretched, so every copy has its own hash keys with the statistics of
//! real sound). The video is synthetic: random PDQ frame hashes at the
//! density the video fingerprinter keeps (2 sampled frames a second, each
//! with every view a reference indexes: its six crops and its middle rows). Queries are 10 s excerpts of registered
//! copies at the query density, fingerprint JSON as `avreg fingerprint
//! --json` prints it.
//!
//! `cargo bench -p avreg-eval --bench lookup_load` (needs `wrk`, from
//! Debian, on the PATH, and the corpus: without either it fails, naming what
//! is missing). The server is the `avreg` binary of this workspace, built
//! first with `cargo build --release -p avreg` (the bench cannot name
//! another package's binary), or `AVREG_BIN` if set.
//! `AVREG_LOAD_AUDIO_HOURS` / `AVREG_LOAD_VIDEO_HOURS` /
//! `AVREG_LOAD_SECONDS` change the sizes and the run length (0: only the
//! in-process latency of the search, printed before the HTTP runs);
//! `AVREG_LOAD_WARMUP` runs that many seconds of lookups first, not
//! counted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use avreg_decode::audio::{decode_audio_file, fingerprint_audio_file, DecodeOptions};
use avreg_fingerprint::audio::{AudioFingerprint, Peak};
use avreg_fingerprint::video::{FrameHash, PdqHash, VideoFingerprint, View, ALGORITHM_VERSION};
use avreg_fingerprint::ContentHash;
use avreg_registry::accounts::{Binding, NewKey, Role};
use avreg_registry::{NewRecording, Registry, RegistryOptions};
use avreg_testkit::server::{Launch, Server};
use avreg_testkit::signal::excerpt;
use base64::Engine;

/// Largest frequency value a peak may carry (1/16 bin).
const MAX_FREQ: i32 = 257 * 16;

/// The testkit's xorshift64 from its bare state; `below(0)` is 0.
struct Rng(avreg_testkit::XorShift);

impl Rng {
    fn new(state: u64) -> Self {
        Self(avreg_testkit::XorShift::from_state(state))
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0.below(n.max(1))
    }
}

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Copy `v` of a fingerprint: transposed by a whole number of bins and
/// stretched in time, so its hash keys differ from every other copy's.
fn edited(fp: &AudioFingerprint, v: u64) -> AudioFingerprint {
    let shift = ((v % 41) as i32 - 20) * 16;
    let stretch = 1.0 + ((v / 41) % 21) as f64 * 0.011 - 0.11;
    let peaks = fp
        .peaks()
        .iter()
        .filter_map(|p| {
            let freq = i32::from(p.freq) + shift;
            (16..MAX_FREQ).contains(&freq).then(|| Peak {
                time_ms: (f64::from(p.time_ms) * stretch) as u32,
                freq: freq as u16,
                level: p.level,
            })
        })
        .collect();
    AudioFingerprint::from_parts((fp.duration_ms() as f64 * stretch) as u64, peaks)
}

/// `fp` played backwards: the statistics of real sound, but pairs no
/// registered recording holds (a stand-in for an unregistered clip).
fn reversed(fp: &AudioFingerprint) -> AudioFingerprint {
    let end = fp.duration_ms() as u32;
    let mut peaks: Vec<Peak> = fp
        .peaks()
        .iter()
        .map(|p| Peak {
            time_ms: end.saturating_sub(1 + p.time_ms),
            ..*p
        })
        .collect();
    peaks.sort_by_key(|p| (p.time_ms, p.freq));
    AudioFingerprint::from_parts(fp.duration_ms(), peaks)
}

/// Percentiles of `times` (ms) as printed in the reports.
fn percentiles(mut times: Vec<f64>) -> String {
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    )
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in ["music", "speech"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            out.extend(rd.filter_map(|e| e.ok().map(|e| e.path())));
        }
    }
    out.sort();
    out
}

fn random_video(rng: &mut Rng, hours: u64) -> VideoFingerprint {
    // Every view a reference indexes: the frame, its crops, its middle rows.
    let crops: Vec<View> = View::ALL.into_iter().filter(|v| v.is_indexed()).collect();
    let mut frames = Vec::new();
    let mut t = 0u32;
    while u64::from(t) < hours * 3_600_000 {
        for &view in &crops {
            frames.push(FrameHash {
                time_ms: t,
                hash: PdqHash([rng.next(), rng.next(), rng.next(), rng.next()]),
                quality: 90,
                view,
            });
        }
        t += 500;
    }
    VideoFingerprint {
        version: ALGORITHM_VERSION,
        duration_ms: hours * 3_600_000,
        frames,
    }
}

/// `wrk`'s latency line value (`1.23ms`, `456.00us`, `1.02s`) in ms.
fn wrk_ms(v: &str) -> Option<f64> {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic())?);
    let x: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => x / 1000.0,
        "ms" => x,
        "s" => x * 1000.0,
        "m" => x * 60_000.0,
        _ => return None,
    })
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Ends the bench with a failure: a load run that cannot run must not pass.
fn fail(message: &str) -> ! {
    eprintln!("lookup_load: {message}");
    std::process::exit(1)
}

/// The `avreg` binary to serve with: `AVREG_BIN`, or this workspace's
/// release build, brought up to date by cargo first.
fn avreg_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("AVREG_BIN") {
        return PathBuf::from(bin);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "avreg", "--bin", "avreg"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status();
    if !status.is_ok_and(|s| s.success()) {
        fail("could not build the avreg binary (cargo build --release -p avreg); set AVREG_BIN to use another");
    }
    // This bench runs from `<target>/release/deps/`; the binary is in
    // `<target>/release/`.
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(&format!("own path: {e}")));
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|release| release.join(format!("avreg{}", std::env::consts::EXE_SUFFIX)))
        .unwrap_or_else(|| fail("no target folder above the bench"));
    if !bin.is_file() {
        fail(&format!(
            "no avreg binary at {}; set AVREG_BIN",
            bin.display()
        ));
    }
    bin
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        fail("needs wrk on the PATH to drive the HTTP service; install it (apt-get install wrk) and retry");
    }
    let corpus =
        PathBuf::from(std::env::var("AVREG_LOAD_CORPUS").unwrap_or_else(|_| "/work/corpus".into()));
    let files = corpus_files(&corpus);
    if files.is_empty() {
        fail(&format!(
            "no corpus at {} (music/, speech/); build it with ../shared/corpus/build-dev-corpus.sh or set AVREG_LOAD_CORPUS",
            corpus.display()
        ));
    }
    let audio_hours = env_f64("AVREG_LOAD_AUDIO_HOURS", 1000.0);
    let video_hours = env_f64("AVREG_LOAD_VIDEO_HOURS", 100.0) as u64;
    let seconds = env_f64("AVREG_LOAD_SECONDS", 20.0) as u64;
    // Before the long registration, so a missing binary fails at once.
    let avreg = (seconds > 0).then(avreg_binary);

    // 1. Fingerprint the corpus once.
    let options = RegistryOptions::default();
    let config = options.matching.audio.clone();
    let mut sources = Vec::new();
    let mut sources_files = Vec::new();
    for f in &files {
        if let Ok((fp, _)) = fingerprint_audio_file(f, &config, &DecodeOptions::default()) {
            if fp.duration_ms() >= 20_000 {
                sources.push(fp);
                sources_files.push(f.clone());
            }
        }
    }
    let corpus_ms: u64 = sources.iter().map(AudioFingerprint::duration_ms).sum();
    eprintln!(
        "{} corpus recordings, {:.2} h",
        sources.len(),
        corpus_ms as f64 / 3.6e6
    );

    // 2. Register edited copies up to the hours asked, and the video.
    let dir = tempfile::tempdir().expect("temp dir");
    // AVREG_LOAD_DATA keeps the registry there and reuses it next time.
    let data = std::env::var("AVREG_LOAD_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("data"));
    let reuse = data.join("store").exists();
    let t = Instant::now();
    let mut registered = Vec::new(); // (source, copy)
    let n_bodies = 200;
    let mut queries = Vec::with_capacity(n_bodies);
    let mut expected = Vec::with_capacity(n_bodies); // title of the right answer
    let key;
    {
        let reg = Registry::open(&data, options.clone()).expect("open");
        let video_hours = if reuse { 0 } else { video_hours };
        if reuse {
            // The copies a kept registry holds, from their titles, in the
            // order they were registered.
            for r in reg.recordings().expect("recordings") {
                let n: Vec<u64> = r
                    .title
                    .strip_prefix("copy ")
                    .map(|t| t.split(" of ").filter_map(|w| w.parse().ok()).collect())
                    .unwrap_or_default();
                if let [v, i] = n[..] {
                    registered.push((i as usize, v));
                }
            }
            registered.sort_unstable_by_key(|&(i, v)| (v, i));
        } else {
            let (mut ms, mut v) = (0u64, 0u64);
            'outer: loop {
                for (i, src) in sources.iter().enumerate() {
                    if ms as f64 >= audio_hours * 3.6e6 {
                        break 'outer;
                    }
                    let copy = edited(&src.reference_only(), v);
                    ms += copy.duration_ms();
                    reg.register(NewRecording {
                        title: format!("copy {v} of {i}"),
                        content: avreg_registry::Content::Computed(ContentHash::of(
                            format!("{i}/{v}").as_bytes(),
                        )),
                        fingerprint: copy,
                        source_name: None,
                        video: None,
                        media: Vec::new(),
                    })
                    .expect("register");
                    registered.push((i, v));
                }
                v += 1;
                eprintln!("{:.0} h of audio registered", ms as f64 / 3.6e6);
            }
        }
        let mut rng = Rng::new(0x5eed);
        for h in 0..video_hours {
            let video = random_video(&mut rng, 1);
            reg.register(NewRecording {
                title: format!("video {h}"),
                content: avreg_registry::Content::Computed(ContentHash::of(
                    format!("video {h}").as_bytes(),
                )),
                fingerprint: AudioFingerprint::from_parts(video.duration_ms, vec![]),
                source_name: None,
                video: Some(video),
                media: Vec::new(),
            })
            .expect("register video");
        }
        reg.flush().expect("flush");
        if std::env::var_os("AVREG_LOAD_COMPACT").is_some() {
            let t = Instant::now();
            reg.compact().expect("compact");
            eprintln!("compacted in {:.1} s", t.elapsed().as_secs_f64());
        }
        let stats = reg.stats().expect("stats");
        eprintln!(
            "registered in {:.0} s: {} recordings, {:.0} h audio, {} video postings, index {:.0} MiB, store {:.0} MiB",
            t.elapsed().as_secs_f64(),
            stats.recordings,
            stats.audio_ms as f64 / 3.6e6,
            stats.video_postings,
            stats.index_bytes as f64 / f64::from(1 << 20),
            stats.store_bytes as f64 / f64::from(1 << 20)
        );
        // 3. Queries: 10 s excerpts of registered copies, query density.
        let mut rng = Rng::new(0xb0d1e5);
        for _ in 0..n_bodies {
            let (i, v) = registered[rng.below(registered.len() as u64) as usize];
            let copy = edited(&sources[i], v);
            let start = rng.below(copy.duration_ms().saturating_sub(10_000)) as u32;
            queries.push(excerpt(&copy, start, 10_000));
            expected.push(format!("copy {v} of {i}"));
        }
        // In-process latency, one lookup at a time: the cost of the search
        // itself, without HTTP, JSON or concurrency. Twice: the first round
        // also maps the index's pages in.
        let mut found_right = 0;
        for round in ["first", "second"] {
            found_right = 0;
            let times: Vec<f64> = queries
                .iter()
                .zip(&expected)
                .map(|(q, title)| {
                    let t = Instant::now();
                    let found = reg.lookup(q).expect("lookup");
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    found_right +=
                        usize::from(found.first().is_some_and(|m| &m.recording.title == title));
                    ms
                })
                .collect();
            eprintln!(
                "in-process lookups, one at a time, {round} round: {}",
                percentiles(times)
            );
        }
        eprintln!(
            "right recording first: {found_right} of {} queries",
            queries.len()
        );
        // Unregistered clips try the whole speed grid: the slow path.
        let mut false_matches = 0;
        let times: Vec<f64> = queries
            .iter()
            .map(|q| {
                let q = reversed(q);
                let t = Instant::now();
                let found = reg.lookup(&q).expect("lookup");
                let ms = t.elapsed().as_secs_f64() * 1e3;
                false_matches += usize::from(!found.is_empty());
                ms
            })
            .collect();
        eprintln!(
            "in-process lookups of unregistered clips (the same excerpts reversed): {}; {false_matches} of {} matched something",
            percentiles(times),
            queries.len()
        );
        key = reg
            .create_key(
                "bench",
                NewKey {
                    role: Role::Platform,
                    bound_to: Binding::None,
                    label: "load".into(),
                },
            )
            .expect("key")
            .secret
            .expose();
    }

    if seconds == 0 {
        return; // AVREG_LOAD_SECONDS=0: the in-process figures only
    }
    let bodies_dir = dir.path().join("bodies");
    std::fs::create_dir_all(&bodies_dir).expect("bodies dir");
    for (b, q) in queries.iter().enumerate() {
        let body = serde_json::json!({
            "version": 1,
            "fingerprint": {
                "data": base64::engine::general_purpose::STANDARD.encode(q.to_bytes())
            }
        });
        std::fs::write(bodies_dir.join(format!("{b}.json")), body.to_string()).expect("body");
    }
    let script = lua_script(
        dir.path(),
        "lookup",
        &bodies_dir,
        "json",
        n_bodies,
        &key,
        "application/json",
    );

    // 3b. Clip uploads: 10 s of the unedited corpus recordings (the copy
    // with neither transposition nor stretch), as 16-bit mono WAV in a
    // multipart form.
    let clips_dir = dir.path().join("clips");
    std::fs::create_dir_all(&clips_dir).expect("clips dir");
    let unedited = 41 * 10 + 20;
    let mut n_clips = 0;
    let mut rng = Rng::new(0xc1195);
    let candidates: Vec<usize> = (0..sources.len())
        .filter(|&i| registered.contains(&(i, unedited)))
        .collect();
    while n_clips < 50 && !candidates.is_empty() {
        let i = candidates[rng.below(candidates.len() as u64) as usize];
        let start_ms = rng.below(sources[i].duration_ms().saturating_sub(10_000));
        let mut pcm = Vec::new();
        let mut rate = 0;
        let opts = DecodeOptions {
            start_ms,
            length_ms: Some(10_000),
            ..DecodeOptions::default()
        };
        if decode_audio_file(&sources_files[i], &opts, &mut |s, r, c| {
            rate = r;
            pcm.extend(
                s.chunks(usize::from(c))
                    .map(|f| f.iter().sum::<f32>() / f32::from(c)),
            );
        })
        .is_err()
        {
            continue;
        }
        std::fs::write(
            clips_dir.join(format!("{n_clips}.form")),
            multipart_wav(rate, &pcm),
        )
        .expect("clip");
        n_clips += 1;
    }
    let upload_script = (n_clips > 0).then(|| {
        lua_script(
            dir.path(),
            "upload",
            &clips_dir,
            "form",
            n_clips,
            &key,
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
    });

    // 4. The real server (the testkit's harness; it waits for the
    // `listening on` line).
    let mut server = Server::start(
        Launch {
            bin: avreg.clone().expect("built when seconds > 0"),
            cwd: std::env::current_dir().expect("working directory"),
            data: data.clone(),
        },
        // A kept store (`AVREG_LOAD_DATA`) prints no first admin key.
        Some(key.clone()),
        &[
            ("AVREG_SERVER__RATE_PER_S", "0"),
            ("AVREG_SERVER__FINGERPRINT_QUEUE", "256"),
            // One key drives every connection: the per-key cap on bodies
            // in flight (4 by default) would answer most of them 429.
            ("AVREG_SERVER__MAX_UPLOADS_PER_KEY", "256"),
            ("AVREG_SERVER__MAX_UPLOADS", "256"),
        ],
    );
    let pid = server.pid();
    let url = server.base.clone();
    let rss_idle = peak_rss_mb(pid).unwrap_or(0.0);

    let mut out = std::io::stdout().lock();
    // AVREG_LOAD_WARMUP=S: S seconds of lookups at 8 clients first, not
    // counted (the fresh process maps the index's pages in as it goes).
    let warmup = env_f64("AVREG_LOAD_WARMUP", 0.0) as u64;
    if warmup > 0 {
        Command::new("wrk")
            .args(["-t", "2", "-c", "8", "-d", &format!("{warmup}s"), "-s"])
            .arg(&script)
            .arg(&url)
            .output()
            .expect("wrk");
        writeln!(
            out,
            "(after {warmup} s of lookups at 8 clients, not counted)\n"
        )
        .ok();
    }
    writeln!(out, "fingerprint lookups (10 s, JSON):\n").ok();
    drive(&mut out, &script, &url, seconds);
    match &upload_script {
        Some(upload) => {
            writeln!(out, "\nclip uploads (10 s WAV, multipart):\n").ok();
            drive(&mut out, upload, &url, seconds);
        }
        None => {
            writeln!(
                out,
                "\nclip uploads: no unedited copy registered (too few hours)"
            )
            .ok();
        }
    }
    let rss_peak = peak_rss_mb(pid).unwrap_or(0.0);
    writeln!(
        out,
        "\nserver memory: {rss_idle:.0} MiB after start (indexes mapped, video hashes loaded), peak {rss_peak:.0} MiB"
    )
    .ok();
    server.terminate();
}

/// `wrk` with `script` at 1, 8 and 64 connections: one table row each.
fn drive(out: &mut impl Write, script: &Path, url: &str, seconds: u64) {
    writeln!(
        out,
        "| clients | requests/s | p50 | p99 | non-200 / errors |"
    )
    .ok();
    writeln!(out, "|---:|---:|---:|---:|---|").ok();
    for clients in [1u32, 8, 64] {
        let threads = clients.min(2);
        let run = Command::new("wrk")
            .args([
                "-t",
                &threads.to_string(),
                "-c",
                &clients.to_string(),
                "-d",
                &format!("{seconds}s"),
                "--latency",
                "--timeout",
                "10s",
                "-s",
            ])
            .arg(script)
            .arg(url)
            .output()
            .expect("wrk");
        let text = String::from_utf8_lossy(&run.stdout);
        let field = |prefix: &str| {
            text.lines()
                .map(str::trim)
                .find(|l| l.starts_with(prefix))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(wrk_ms)
        };
        let rps = text
            .lines()
            .find(|l| l.starts_with("Requests/sec:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        let not_ok: Vec<&str> = text
            .lines()
            .filter(|l| {
                (l.starts_with("status ") && !l.starts_with("status 200 "))
                    || l.contains("Socket errors")
                    || l.contains("Non-2xx")
            })
            .collect();
        writeln!(
            out,
            "| {clients} | {rps:.0} | {:.2} ms | {:.2} ms | {} |",
            field("50%").unwrap_or(f64::NAN),
            field("99%").unwrap_or(f64::NAN),
            if not_ok.is_empty() {
                "none".to_owned()
            } else {
                not_ok.join("; ")
            }
        )
        .ok();
    }
}

const BOUNDARY: &str = "avreg-load-boundary-7f3a";

/// A multipart form with one `media` field: `pcm` as a 16-bit mono WAV.
fn multipart_wav(rate: u32, pcm: &[f32]) -> Vec<u8> {
    let mut b = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"clip.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(&avreg_testkit::wav::wav_bytes(rate, pcm));
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

/// A `wrk` script posting the bodies `0.EXT` … in `dir` in turn to
/// `/v1/lookup`, counting response statuses.
fn lua_script(
    dir: &Path,
    name: &str,
    bodies: &Path,
    ext: &str,
    n: usize,
    key: &str,
    content_type: &str,
) -> PathBuf {
    let script = dir.join(format!("{name}.lua"));
    std::fs::write(
        &script,
        format!(
            r#"
bodies = {{}}
for i = 0, {last} do
  local f = io.open("{dir}/" .. i .. ".{ext}", "rb")
  bodies[i + 1] = f:read("*a")
  f:close()
end
n = 0
request = function()
  n = n + 1
  local body = bodies[(n % #bodies) + 1]
  return wrk.format("POST", "/v1/lookup", {{
    ["Authorization"] = "Bearer {key}",
    ["Content-Type"] = "{content_type}"
  }}, body)
end
statuses = {{}}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  for s, c in pairs(statuses) do
    io.write("status ", s, " ", c, "\n")
  end
end
"#,
            last = n - 1,
            dir = bodies.display(),
        ),
    )
    .expect("script");
    script
}
