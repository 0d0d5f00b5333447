//! `avreg import DIR`: registers every media file under a folder, in
//! parallel, continuing past bad files and reporting them at the end.

use avreg_fingerprint::video::Role;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use avreg_registry::{NewRecording, Registration, Registry};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::output::{print_json, ImportDoc, ImportFailure, JSON_VERSION};
use crate::{media, Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder; searched recursively.
    dir: PathBuf,
    /// Print JSON (documented in the README) instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Per-file result.
enum Done {
    Registered(u64),
    Existing,
    Failed(String),
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let mut files = Vec::new();
    collect(&args.dir, &mut files).map_err(|e| super::file_error(&args.dir, e))?;
    files.sort();
    let registry = super::open_registry(config)?;
    let started = Instant::now();
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let threads = match config.import.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Done)>> = Mutex::new(Vec::with_capacity(files.len()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                bar.set_message(path.display().to_string());
                let done = import_one(path, config, &registry);
                bar.inc(1);
                if let Ok(mut r) = results.lock() {
                    r.push((i, done));
                }
            });
        }
    });
    bar.finish_and_clear();
    registry.flush()?;
    let results = results
        .into_inner()
        .map_err(|_| Failure::internal(anyhow::anyhow!("a worker panicked")))?;
    let (mut registered, mut existing, mut audio_ms) = (0, 0, 0);
    let mut failed = Vec::new();
    for (i, done) in results {
        match done {
            Done::Registered(ms) => {
                registered += 1;
                audio_ms += ms;
            }
            Done::Existing => existing += 1,
            Done::Failed(error) => failed.push(ImportFailure {
                file: files[i].display().to_string(),
                error,
            }),
        }
    }
    failed.sort_by(|a, b| a.file.cmp(&b.file));
    let elapsed = started.elapsed();
    if args.json {
        print_json(&ImportDoc {
            version: JSON_VERSION,
            files: files.len(),
            registered,
            existing,
            failed: failed
                .iter()
                .map(|f| ImportFailure {
                    file: f.file.clone(),
                    error: f.error.clone(),
                })
                .collect(),
            audio_ms,
            elapsed_ms: elapsed.as_millis() as u64,
        })?;
    } else {
        outln!(
            "{} files: {registered} registered, {existing} already registered, {} failed ({:.0} s of audio in {:.1} s)",
            files.len(),
            failed.len(),
            audio_ms as f64 / 1000.0,
            elapsed.as_secs_f64()
        );
    }
    for f in &failed {
        eprintln!("avreg: {}: {}", f.file, f.error);
    }
    if failed.is_empty() {
        Ok(Outcome::Success)
    } else {
        Err(Failure::input(anyhow::anyhow!(
            "{} of {} files could not be imported",
            failed.len(),
            files.len()
        )))
    }
}

fn import_one(path: &Path, config: &Config, registry: &Registry) -> Done {
    let a = match media::analyse(path, config, Role::Reference) {
        Ok(a) => a,
        Err(e) => return Done::Failed(e.to_string()),
    };
    let title = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let new = NewRecording {
        title,
        content: avreg_registry::Content::Computed(a.content_hash),
        fingerprint: a.fingerprint,
        source_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        video: a.video,
        media: a.tracks,
    };
    match registry.register(new) {
        Ok(Registration::Registered(r)) => Done::Registered(r.duration_ms),
        Ok(Registration::Existing(_)) => Done::Existing,
        Err(e) => Done::Failed(e.to_string()),
    }
}

/// Media files under `dir`, recursively; hidden entries are skipped.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(&path, out)?;
        } else if kind.is_file() && media::is_media(&path) {
            out.push(path);
        }
    }
    Ok(())
}
