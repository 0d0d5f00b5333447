//! The corpus: which files there are, which carry audible audio, and which are
//! registered or held out as negatives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::rng::Rng;
use super::tools::{self, Probe};

/// A media file of the corpus.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// Path relative to the corpus root, with `/` separators; the recording's
    /// title in the registry.
    pub rel: String,
    #[serde(skip)]
    pub path: PathBuf,
    /// `music`, `speech`, `video` (from the manifest or the top folder).
    pub kind: String,
    pub probe: Option<Probe>,
}

impl Item {
    /// Usable audio: an audio stream whose loudest sample is above `silence_db`.
    pub fn audible(&self, silence_db: f64) -> bool {
        self.probe
            .as_ref()
            .is_some_and(|p| p.max_db > silence_db && p.duration_s > 0.0)
    }

    pub fn duration_s(&self) -> f64 {
        self.probe.as_ref().map_or(0.0, |p| p.duration_s)
    }
}

/// List the corpus: `manifest.tsv` (columns `file`, `kind`, …) if present,
/// else every file under the top-level folders (kind = folder name).
pub fn scan(root: &Path) -> Result<Vec<Item>> {
    let manifest = root.join("manifest.tsv");
    let mut items = Vec::new();
    if manifest.is_file() {
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        items = parse_manifest(&text)?
            .into_iter()
            .map(|(rel, kind)| Item {
                path: root.join(&rel),
                rel,
                kind,
                probe: None,
            })
            .collect();
    } else {
        for dir in std::fs::read_dir(root).with_context(|| format!("listing {}", root.display()))? {
            let dir = dir?;
            if !dir.file_type()?.is_dir() {
                continue;
            }
            let kind = dir.file_name().to_string_lossy().into_owned();
            for f in std::fs::read_dir(dir.path())? {
                let f = f?;
                if f.file_type()?.is_file() {
                    let rel = format!("{kind}/{}", f.file_name().to_string_lossy());
                    items.push(Item {
                        path: f.path(),
                        rel,
                        kind: kind.clone(),
                        probe: None,
                    });
                }
            }
        }
    }
    items.retain(|i| i.path.is_file());
    items.sort_by(|a, b| a.rel.cmp(&b.rel));
    anyhow::ensure!(
        !items.is_empty(),
        "no media files found in {}",
        root.display()
    );
    Ok(items)
}

/// `(file, kind)` pairs from a manifest with a header line.
pub fn parse_manifest(text: &str) -> Result<Vec<(String, String)>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .context("empty manifest")?
        .split('\t')
        .collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let file_col = col("file").context("manifest has no `file` column")?;
    let kind_col = col("kind");
    let mut out = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let file = fields
            .get(file_col)
            .context("short manifest line")?
            .to_string();
        let kind = kind_col
            .and_then(|c| fields.get(c))
            .map(|s| s.to_string())
            .unwrap_or_else(|| file.split('/').next().unwrap_or("").to_string());
        out.push((file, kind));
    }
    Ok(out)
}

#[derive(Serialize, Deserialize)]
struct CachedProbe {
    size: u64,
    mtime_ns: u128,
    probe: Option<Probe>,
}

/// Probe every item with FFmpeg, reusing `cache` (a JSON file) for files whose
/// size and modification time have not changed.
pub fn probe_all(items: &mut [Item], cache: &Path) -> Result<()> {
    let mut cached: BTreeMap<String, CachedProbe> = std::fs::read(cache)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    for item in items.iter_mut() {
        let meta = std::fs::metadata(&item.path)?;
        let size = meta.len();
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        match cached.get(&item.rel) {
            Some(c) if c.size == size && c.mtime_ns == mtime_ns => item.probe = c.probe.clone(),
            _ => {
                item.probe = tools::probe(&item.path)
                    .with_context(|| format!("probing {}", item.path.display()))?;
                cached.insert(
                    item.rel.clone(),
                    CachedProbe {
                        size,
                        mtime_ns,
                        probe: item.probe.clone(),
                    },
                );
            }
        }
    }
    super::write_atomically(cache, &serde_json::to_vec_pretty(&cached)?)
}

/// Which items are registered, which are held out, and which held-out speech
/// recordings make the babble noise.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Split {
    pub registered: Vec<usize>,
    pub held_out: Vec<usize>,
    /// Held-out speech used as babble (a subset of `held_out`).
    pub babble: Vec<usize>,
}

/// Split the audible items, per kind, holding out `round(fraction × n)` of
/// each kind (at least one when the kind has two or more), and at least
/// `babble_voices` speech recordings so that the babble is made only of
/// unregistered speech. Deterministic in `seed`.
pub fn split(
    items: &[Item],
    fraction: f64,
    babble_voices: usize,
    silence_db: f64,
    seed: u64,
) -> Split {
    let mut by_kind: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        if item.audible(silence_db) {
            by_kind.entry(item.kind.as_str()).or_default().push(i);
        }
    }
    let mut out = Split::default();
    for (kind, mut idx) in by_kind {
        let n = idx.len();
        let mut k = (fraction * n as f64).round() as usize;
        if fraction > 0.0 && n >= 2 {
            k = k.max(1);
        }
        if kind == "speech" {
            k = k.max(babble_voices);
        }
        let k = k.min(n);
        Rng::derive(seed, &format!("split/{kind}")).shuffle(&mut idx);
        let (held, reg) = idx.split_at(k);
        let mut held = held.to_vec();
        held.sort_unstable();
        if kind == "speech" {
            out.babble = held.iter().copied().take(babble_voices).collect();
        }
        out.held_out.extend(held);
        out.registered.extend_from_slice(reg);
    }
    out.registered.sort_unstable();
    out.held_out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(rel: &str, kind: &str, max_db: f64) -> Item {
        Item {
            rel: rel.into(),
            path: PathBuf::from(rel),
            kind: kind.into(),
            probe: Some(Probe {
                rate: 8000,
                channels: 1,
                duration_s: 20.0,
                mean_db: -20.0,
                max_db,
            }),
        }
    }

    fn corpus() -> Vec<Item> {
        let mut v = Vec::new();
        for i in 0..20 {
            v.push(item(&format!("music/m{i:02}.ogg"), "music", -1.0));
        }
        for i in 0..8 {
            v.push(item(&format!("speech/s{i}.wav"), "speech", -3.0));
        }
        v.push(item("video/silent.mp4", "video", -91.0));
        v.push(item("video/a.mov", "video", -4.0));
        v.push(item("video/b.mov", "video", -4.0));
        let mut none = item("video/noaudio.avi", "video", 0.0);
        none.probe = None;
        v.push(none);
        v
    }

    #[test]
    fn manifest_columns_by_name() {
        let m = "file\tkind\tsource\nmusic/a.ogg\tmusic\tx\nspeech/b.wav\tspeech\ty\n\n";
        assert_eq!(
            parse_manifest(m).expect("parse"),
            vec![
                ("music/a.ogg".into(), "music".into()),
                ("speech/b.wav".into(), "speech".into())
            ]
        );
    }

    #[test]
    fn split_is_stratified_deterministic_and_skips_silence() {
        let items = corpus();
        let s = split(&items, 0.2, 4, -60.0, 9);
        assert_eq!(s, split(&items, 0.2, 4, -60.0, 9));
        assert_ne!(s, split(&items, 0.2, 4, -60.0, 10));
        let count = |v: &[usize], kind: &str| v.iter().filter(|&&i| items[i].kind == kind).count();
        assert_eq!(count(&s.held_out, "music"), 4);
        assert_eq!(count(&s.held_out, "speech"), 4); // round(1.6) = 2, raised to 4 voices
        assert_eq!(count(&s.held_out, "video"), 1);
        assert_eq!(s.registered.len() + s.held_out.len(), 30);
        assert!(s
            .registered
            .iter()
            .chain(&s.held_out)
            .all(|&i| items[i].audible(-60.0)));
        assert!(s.registered.iter().all(|i| !s.held_out.contains(i)));
        assert_eq!(s.babble.len(), 4);
        assert!(s
            .babble
            .iter()
            .all(|i| s.held_out.contains(i) && items[*i].kind == "speech"));
    }
}
