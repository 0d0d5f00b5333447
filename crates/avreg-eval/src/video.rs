//! `avreg eval --video`: the video robustness cases of FINGERPRINTING.md on
//! the corpus's real videos, and decode-plus-hash throughput.
//!
//! Every `video/*` file is transcoded by FFmpeg to an H.264 MP4 (the
//! embedded decoder reads MP4/H.264 only); a seeded part of them is held out
//! as negatives, the rest is registered (video fingerprints only,
//! `Role::Reference`) in a fresh temporary registry. Excerpts of each
//! length start at seeded random offsets; each is made once per case with
//! FFmpeg, fingerprinted with `Role::Query` and looked up with
//! `Registry::lookup_video`. The report gives recall per case and length
//! (with the number of queries of each cell), the wrong-recording rate,
//! offset accuracy, and every match of a held-out excerpt.
//!
//! The throughput part encodes `testsrc2` at 360p and 1080p and times
//! decode plus hash with one and two threads (one file per thread), in the
//! pipeline's own sampling (4 frames/s hashed, every frame decoded) and
//! hashing every frame; PyPI `pdqhash` hashes the same frames (decoded by
//! FFmpeg to RGB) when a Python with it is given.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use avreg_decode::video::{fingerprint_video_file, VideoDecodeOptions};
use avreg_fingerprint::audio::AudioFingerprint;
use avreg_fingerprint::video::{FrameHash, Role, VideoConfig, VideoFingerprint, ALGORITHM_VERSION};
use avreg_fingerprint::ContentHash;
use avreg_registry::{NewRecording, Registry};

use super::rng::Rng;
use super::tools;

/// A font FFmpeg's `drawtext` can use for the caption (Debian `fonts-dejavu-core`).
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// The video cases of FINGERPRINTING.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum VCase {
    Crf23,
    Crf38,
    Scale240,
    Scale1080,
    CropCentre10,
    CropCorner10,
    Letterbox,
    Vertical916,
    BrightUp20,
    BrightDown20,
    LogoCaption,
    Fps30,
    Mirror,
    Combined,
    // The re-post cases: as hard as real platform re-posts. Their seeded
    // choices (corner, margin, angle, ...) are drawn per excerpt and case.
    CoverBlur916,
    PipHalf,
    PipThird,
    RotateCrop,
    LogoCaptionHard,
}

impl VCase {
    pub const ALL: [VCase; 19] = [
        VCase::Crf23,
        VCase::Crf38,
        VCase::Scale240,
        VCase::Scale1080,
        VCase::CropCentre10,
        VCase::CropCorner10,
        VCase::Letterbox,
        VCase::Vertical916,
        VCase::BrightUp20,
        VCase::BrightDown20,
        VCase::LogoCaption,
        VCase::Fps30,
        VCase::Mirror,
        VCase::Combined,
        VCase::CoverBlur916,
        VCase::PipHalf,
        VCase::PipThird,
        VCase::RotateCrop,
        VCase::LogoCaptionHard,
    ];

    pub fn name(self) -> &'static str {
        match self {
            VCase::Crf23 => "crf23",
            VCase::Crf38 => "crf38",
            VCase::Scale240 => "scale-240p",
            VCase::Scale1080 => "scale-1080p",
            VCase::CropCentre10 => "crop10-centre",
            VCase::CropCorner10 => "crop10-corner",
            VCase::Letterbox => "letterbox",
            VCase::Vertical916 => "vertical-9x16-blur",
            VCase::BrightUp20 => "bright+20%",
            VCase::BrightDown20 => "bright-20%",
            VCase::LogoCaption => "logo+caption",
            VCase::Fps30 => "fps30",
            VCase::Mirror => "mirror",
            VCase::Combined => "combined",
            VCase::CoverBlur916 => "vertical-9x16-cover-blur",
            VCase::PipHalf => "pip-half",
            VCase::PipThird => "pip-third",
            VCase::RotateCrop => "rotate-crop",
            VCase::LogoCaptionHard => "logo-caption-hard",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            VCase::Crf23 => "x264 CRF 23",
            VCase::Crf38 => "x264 CRF 38",
            VCase::Scale240 => "scaled to 240 lines",
            VCase::Scale1080 => "scaled to 1080 lines",
            VCase::CropCentre10 => "centre 90 % of width and height",
            VCase::CropCorner10 => "top-left 90 % of width and height",
            VCase::Letterbox => "black bars to 4:3 (wider sources) or 16:9 (narrower)",
            VCase::Vertical916 => "360×640 canvas, picture fit to width over a blurred copy",
            VCase::BrightUp20 => "luma ×1.2",
            VCase::BrightDown20 => "luma ×0.8",
            VCase::LogoCaption => "opaque logo box top-left, caption band with text at the bottom",
            VCase::Fps30 => "resampled to 30 frames/s",
            VCase::Mirror => "horizontal flip",
            VCase::Combined => "crop 10 % + 240p + luma ×1.1 + logo + CRF 32",
            VCase::CoverBlur916 => {
                "1080×1920 canvas: picture fit to width over a blurred, darkened copy \
                 covering the canvas; CRF 26"
            }
            VCase::PipHalf => {
                "inset at ½ canvas width in a seeded corner (margin 0–4 %, 50 % white border) \
                 over another (held-out) video at 1280×720"
            }
            VCase::PipThird => "as pip-half, inset at ⅓ canvas width",
            VCase::RotateCrop => {
                "rotated ±2–5° (seeded), cropped to the largest same-aspect rectangle without \
                 black corners, scaled back"
            }
            VCase::LogoCaptionHard => {
                "opaque 22 %×18 % logo in a top corner, @handle watermark opposite, 18 % caption \
                 band with two text lines, luma ×1.15 or ×0.85 (seeded); CRF 26"
            }
        }
    }

    /// Recall target of the re-post cases (every excerpt length), if any.
    fn target(self) -> Option<f64> {
        match self {
            VCase::CoverBlur916 => Some(0.90),
            VCase::PipHalf => Some(0.80),
            VCase::RotateCrop => Some(0.85),
            VCase::LogoCaptionHard => Some(0.95),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Result<VCase> {
        VCase::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .with_context(|| {
                let names: Vec<_> = VCase::ALL.iter().map(|c| c.name()).collect();
                format!("unknown video case {s:?}; known: {}", names.join(", "))
            })
    }

    /// FFmpeg video filter and CRF of the fixed cases (`None` for the
    /// re-post cases, whose edit is seeded per excerpt: see [`VCase::edit`]).
    fn filter(self) -> Option<(String, u32)> {
        let logo = "drawbox=x=iw*0.04:y=ih*0.04:w=iw*0.16:h=ih*0.12:color=white@1:t=fill";
        Some(match self {
            VCase::Crf23 => ("null".into(), 23),
            VCase::Crf38 => ("null".into(), 38),
            VCase::Scale240 => ("scale=-2:240".into(), 23),
            VCase::Scale1080 => ("scale=-2:1080".into(), 23),
            VCase::CropCentre10 => ("crop=trunc(iw*0.45)*2:trunc(ih*0.45)*2".into(), 23),
            VCase::CropCorner10 => ("crop=trunc(iw*0.45)*2:trunc(ih*0.45)*2:0:0".into(), 23),
            VCase::Letterbox => (
                "pad=w='if(gt(iw/ih,1.4),iw,ceil(ih*16/9/2)*2)':\
                 h='if(gt(iw/ih,1.4),ceil(iw*3/4/2)*2,ih)':x=(ow-iw)/2:y=(oh-ih)/2:color=black"
                    .into(),
                23,
            ),
            VCase::Vertical916 => (
                "split[a][b];[a]scale=360:640,boxblur=20:2[bg];[b]scale=360:-2[fg];\
                 [bg][fg]overlay=0:(H-h)/2"
                    .into(),
                23,
            ),
            VCase::BrightUp20 => ("lutyuv=y='clip(val*1.2,0,255)'".into(), 23),
            VCase::BrightDown20 => ("lutyuv=y='val*0.8'".into(), 23),
            VCase::LogoCaption => {
                let caption = if Path::new(FONT).exists() {
                    format!(
                        ",drawtext=fontfile={FONT}:text='avreg eval caption':\
                         fontcolor=white:fontsize=h/14:x=(w-tw)/2:y=h*0.86"
                    )
                } else {
                    String::new()
                };
                (
                    format!(
                        "{logo},drawbox=x=0:y=ih*0.84:w=iw:h=ih*0.12:color=black@0.6:t=fill{caption}"
                    ),
                    23,
                )
            }
            VCase::Fps30 => ("fps=30".into(), 23),
            VCase::Mirror => ("hflip".into(), 23),
            VCase::Combined => (
                format!(
                    "crop=trunc(iw*0.45)*2:trunc(ih*0.45)*2,scale=-2:240,\
                     lutyuv=y='clip(val*1.1,0,255)',{logo}"
                ),
                32,
            ),
            VCase::CoverBlur916
            | VCase::PipHalf
            | VCase::PipThird
            | VCase::RotateCrop
            | VCase::LogoCaptionHard => return None,
        })
    }

    /// The edit of one excerpt: the fixed filter, or the re-post cases'
    /// graph from the choices drawn from `ctx.rng`.
    fn edit(self, ctx: &mut EditCtx) -> Result<Edit> {
        if let Some((graph, crf)) = self.filter() {
            return Ok(Edit {
                graph,
                crf,
                background: None,
                tag: String::new(),
            });
        }
        let (w, h) = (f64::from(ctx.width), f64::from(ctx.height));
        let rng = &mut ctx.rng;
        Ok(match self {
            VCase::CoverBlur916 => Edit {
                graph: "split[a][b];\
                        [a]scale=1080:1920:force_original_aspect_ratio=increase,crop=1080:1920,\
                        setsar=1,gblur=sigma=30,lutyuv=y='val*0.85'[bg];\
                        [b]scale=1080:1920:force_original_aspect_ratio=decrease:\
                        force_divisible_by=2,setsar=1[fg];\
                        [bg][fg]overlay=(W-w)/2:(H-h)/2"
                    .into(),
                crf: 26,
                background: None,
                tag: "v1".into(),
            },
            VCase::PipHalf | VCase::PipThird => {
                let bg = ctx
                    .background
                    .context("no other video for the picture-in-picture canvas")?;
                let (cw, ch) = (1280.0, 720.0);
                let frac = if self == VCase::PipHalf {
                    0.5
                } else {
                    1.0 / 3.0
                };
                let corner = rng.below(4);
                let margin = rng.uniform() * 0.04;
                let border = if rng.below(2) == 0 {
                    2 + rng.below(3) as u32
                } else {
                    0
                };
                let bg_start_s =
                    (rng.uniform() * (bg.duration_s - f64::from(ctx.len_s)).max(0.0) * 10.0)
                        .floor()
                        / 10.0;
                // The inset keeps the excerpt's aspect; a tall one is capped
                // at 80 % of the canvas height.
                let mut iw = even(cw * frac);
                let mut ih = even(f64::from(iw) * h / w);
                if f64::from(ih) > ch * 0.8 {
                    ih = even(ch * 0.8);
                    iw = even(f64::from(ih) * w / h);
                }
                let (mx, my) = ((margin * cw).round() as u32, (margin * ch).round() as u32);
                let (ow, oh) = (iw + 2 * border, ih + 2 * border);
                let x = if corner.is_multiple_of(2) {
                    mx
                } else {
                    1280 - ow - mx
                };
                let y = if corner < 2 { my } else { 720 - oh - my };
                let pad = if border > 0 {
                    format!(
                        ",pad=iw+{b2}:ih+{b2}:{border}:{border}:color=white",
                        b2 = 2 * border
                    )
                } else {
                    String::new()
                };
                let stem = bg.mp4.file_stem().and_then(|s| s.to_str()).unwrap_or("bg");
                Edit {
                    graph: format!(
                        "[1:v]scale=1280:720:force_original_aspect_ratio=increase,crop=1280:720,\
                         setsar=1[bg];[0:v]scale={iw}:{ih},setsar=1{pad}[fg];\
                         [bg][fg]overlay={x}:{y}:shortest=1"
                    ),
                    crf: 23,
                    background: Some((bg.mp4.clone(), bg_start_s)),
                    tag: format!(
                        "v1-c{corner}-m{:03}-b{border}-{stem}-{:.0}ds",
                        (margin * 1000.0).round(),
                        bg_start_s * 10.0
                    ),
                }
            }
            VCase::RotateCrop => {
                let sign = if rng.below(2) == 0 { 1.0 } else { -1.0 };
                // Hundredths of a degree, so the cache name is exact.
                let centideg = 200 + rng.below(301) as i64;
                let a = (centideg as f64 / 100.0).to_radians();
                // Largest centred rectangle of the same aspect inside the
                // rotated picture: k = 1 / (cos a + max(w/h, h/w) sin a);
                // 2 px less for the interpolated edge.
                let k = 1.0 / (a.cos() + (w / h).max(h / w) * a.sin());
                let cropw = (even(w * k) - 2).max(2);
                let croph = (even(h * k) - 2).max(2);
                Edit {
                    graph: format!(
                        "rotate={:.6}:c=black,crop={cropw}:{croph},scale={}:{},setsar=1",
                        sign * a,
                        ctx.width,
                        ctx.height
                    ),
                    crf: 23,
                    background: None,
                    tag: format!("v1-a{}{centideg}", if sign > 0.0 { "p" } else { "m" }),
                }
            }
            VCase::LogoCaptionHard => {
                ensure!(
                    Path::new(FONT).exists(),
                    "no font at {FONT} for the caption"
                );
                let left = rng.below(2) == 0;
                let bright = if rng.below(2) == 0 { 1.15 } else { 0.85 };
                const CAPTIONS: [(&str, &str); 3] = [
                    ("wait for the end", "follow for part 2"),
                    ("nobody expected this", "watch till the end"),
                    ("this is so real", "tag someone who needs it"),
                ];
                let pick = rng.below(CAPTIONS.len() as u64) as usize;
                let (l1, l2) = CAPTIONS[pick];
                let (lx, tx, wx) = if left {
                    ("iw*0.04", "w*0.04+(w*0.22-tw)/2", "w*0.96-tw")
                } else {
                    ("iw*0.74", "w*0.74+(w*0.22-tw)/2", "w*0.04")
                };
                let text = |t: &str, colour: &str, size: &str, x: &str, y: &str| {
                    format!(
                        ",drawtext=fontfile={FONT}:text='{t}':fontcolor={colour}:\
                         fontsize={size}:x={x}:y={y}"
                    )
                };
                let mut graph = format!(
                    "lutyuv=y='clip(val*{bright},0,255)',\
                     drawbox=x={lx}:y=ih*0.04:w=iw*0.22:h=ih*0.18:color=0xD02848@1:t=fill"
                );
                graph += &text("CHANNEL", "white", "h/22", tx, "h*0.13-th/2");
                graph += &text("@avreg_reposts", "white@0.5", "h/24", wx, "h*0.06");
                graph += ",drawbox=x=0:y=ih*0.78:w=iw:h=ih*0.18:color=black@0.8:t=fill";
                graph += &text(l1, "white", "h/16", "(w-tw)/2", "h*0.80");
                graph += &text(l2, "white", "h/16", "(w-tw)/2", "h*0.80+h/16*1.3");
                Edit {
                    graph,
                    crf: 26,
                    background: None,
                    tag: format!(
                        "v1-{}-y{:.0}-t{pick}",
                        if left { "l" } else { "r" },
                        bright * 100.0
                    ),
                }
            }
            _ => unreachable!("fixed cases return above"),
        })
    }
}

/// Even, at least 2, rounded to the nearest.
fn even(x: f64) -> u32 {
    ((x / 2.0).round() as u32).max(1) * 2
}

/// What determines an edit beside the case: the excerpt's picture size,
/// its seeded stream and the picture-in-picture canvas video.
struct EditCtx<'a> {
    width: u32,
    height: u32,
    len_s: u32,
    rng: Rng,
    background: Option<&'a Video>,
}

/// One clip's edit.
struct Edit {
    /// Filter graph; with a background it reads `[0:v]` (the excerpt) and
    /// `[1:v]` (the canvas video).
    graph: String,
    crf: u32,
    /// Second input, looped from this start (s): the picture-in-picture
    /// canvas.
    background: Option<(PathBuf, f64)>,
    /// The seeded choices, in the clip's cache name (empty for the fixed
    /// cases, whose cache names stay as they were).
    tag: String,
}

/// Arguments of the video evaluation (part of `avreg eval`).
#[derive(Debug, Clone, clap::Args)]
pub struct VideoEvalArgs {
    /// Run the video evaluation instead of the audio one.
    #[arg(long)]
    pub video: bool,
    /// Video excerpt lengths in seconds.
    #[arg(long, value_delimiter = ',', default_value = "5,10")]
    pub video_lengths: Vec<u32>,
    /// Excerpts per registered video and length (every case is made from
    /// each); held-out videos get as many.
    #[arg(long, default_value_t = 2)]
    pub video_offsets: u32,
    /// Videos held out of the registry as negatives.
    #[arg(long, default_value_t = 3)]
    pub video_holdout: usize,
    /// Video cases, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub video_cases: Option<Vec<String>>,
    /// Use only clips already in the work folder's cache (make none); the
    /// report's n per cell then tells what was measured.
    #[arg(long)]
    pub video_cached_only: bool,
    /// Skip the throughput measurement.
    #[arg(long)]
    pub no_throughput: bool,
    /// Python interpreter with PyPI `pdqhash` and `numpy`, for the baseline.
    #[arg(long)]
    pub pdqhash_python: Option<PathBuf>,
    /// A further corpus folder whose `video/*` files join the corpus's
    /// (repeatable; file stems must be unique across the folders). The
    /// `video/` folders may also hold symlinks: they are followed.
    #[arg(long)]
    pub video_corpus: Vec<PathBuf>,
    /// Fingerprint the queries without the re-post views (derotated, inset,
    /// unmasked, portrait centre), to measure what they add.
    #[arg(long)]
    pub video_no_repost_views: bool,
}

struct Video {
    rel: String,
    /// The H.264 MP4 transcode.
    mp4: PathBuf,
    duration_s: f64,
    /// Picture size of the transcode.
    width: u32,
    height: u32,
    registered: bool,
}

struct Slot {
    video: usize,
    len_s: u32,
    start_ms: u64,
}

#[derive(Default, Clone)]
struct Cell {
    n: usize,
    correct: usize,
    offset_ok: usize,
    wrong: usize,
    errors: usize,
    offset_err_ms: Vec<f64>,
}

/// Title of the chained reference.
const CHAIN_TITLE: &str = "all registered videos, chained";

/// Runs the video evaluation on `corpus/video/*` and prints its report.
pub fn run(
    corpus: &Path,
    work: &Path,
    seed: u64,
    threads: usize,
    args: &VideoEvalArgs,
) -> Result<()> {
    let started = Instant::now();
    let cases: Vec<VCase> = match &args.video_cases {
        Some(names) => names
            .iter()
            .map(|n| VCase::parse(n.trim()))
            .collect::<Result<_>>()?,
        None => VCase::ALL.to_vec(),
    };
    let work = work.join("video");
    std::fs::create_dir_all(work.join("refs"))?;
    std::fs::create_dir_all(work.join("clips"))?;

    // Corpus, transcodes, split. `is_file` follows symlinks, so a corpus's
    // `video/` may be a union of symlinks to other folders' files.
    let folders: Vec<&Path> = std::iter::once(corpus)
        .chain(args.video_corpus.iter().map(PathBuf::as_path))
        .collect();
    let corpus_names = folders
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let mut files: Vec<PathBuf> = Vec::new();
    for folder in &folders {
        files.extend(
            std::fs::read_dir(folder.join("video"))
                .with_context(|| format!("listing {}/video", folder.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file()),
        );
    }
    // Sorted by file name (not folder), so the split does not depend on
    // which folder a file came from.
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()).then(a.cmp(b)));
    {
        // The transcode cache and the titles are named by stem.
        let mut stems = std::collections::BTreeSet::new();
        for f in &files {
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("video");
            ensure!(
                stems.insert(stem.to_string()),
                "two corpus videos share the stem {stem:?} ({})",
                f.display()
            );
        }
    }
    ensure!(
        files.len() > args.video_holdout,
        "need more than {} videos in {corpus_names} (video/)",
        args.video_holdout,
    );
    let mut order: Vec<usize> = (0..files.len()).collect();
    Rng::derive(seed, "video-split").shuffle(&mut order);
    let held: Vec<usize> = order[..args.video_holdout].to_vec();
    let mut videos = Vec::new();
    let mut notes = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let stem = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("video")
            .to_string();
        let mp4 = work.join("refs").join(format!("{stem}.mp4"));
        if !mp4.exists() {
            eprintln!("eval: transcoding {} to H.264 MP4", f.display());
            let tmp = work.join("refs").join(format!("{stem}.tmp.mp4"));
            if let Err(e) = tools::run(
                tools::ffmpeg()
                    .arg("-i")
                    .arg(f)
                    .args(["-an", "-map", "0:v:0", "-c:v", "libx264", "-preset"])
                    .args(["veryfast", "-crf", "18", "-pix_fmt", "yuv420p"])
                    .args(["-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2"])
                    .arg(&tmp),
            ) {
                notes.push(format!("{}: transcode failed: {e:#}", f.display()));
                continue;
            }
            std::fs::rename(&tmp, &mp4)?;
        }
        let duration_s = probe_duration(&mp4)?;
        let (width, height) = probe_size(&mp4)?;
        videos.push(Video {
            rel: format!(
                "video/{}",
                f.file_name().and_then(|s| s.to_str()).unwrap_or("")
            ),
            mp4,
            duration_s,
            width,
            height,
            registered: !held.contains(&i),
        });
    }

    // Registration.
    let registry_dir = tempfile::Builder::new()
        .prefix("avreg-eval-video-registry-")
        .tempdir()?;
    let registry = Registry::open(registry_dir.path(), Default::default())
        .context("opening the evaluation registry")?;
    let opts = VideoDecodeOptions::default();
    let config = VideoConfig {
        repost_views: !args.video_no_repost_views,
        ..VideoConfig::default()
    };
    let mut titles: BTreeMap<usize, String> = BTreeMap::new();
    let t = Instant::now();
    let mut ref_frames = 0usize;
    let mut chain = VideoFingerprint {
        version: ALGORITHM_VERSION,
        duration_ms: 0,
        frames: Vec::new(),
    };
    let mut chain_start: BTreeMap<usize, u64> = BTreeMap::new();
    for (i, v) in videos.iter().enumerate().filter(|(_, v)| v.registered) {
        let (fp, _info) = match fingerprint_video_file(&v.mp4, &config, Role::Reference, &opts) {
            Ok(x) => x,
            Err(e) => {
                notes.push(format!("{}: not registered: {e}", v.rel));
                continue;
            }
        };
        ref_frames += fp.frames.len();
        // The chained reference: this video's frames after all before it.
        let start = chain.duration_ms;
        chain_start.insert(i, start);
        chain.frames.extend(fp.frames.iter().map(|f| FrameHash {
            time_ms: f.time_ms.saturating_add(start as u32),
            ..*f
        }));
        chain.duration_ms += fp.duration_ms;
        registry
            .register(NewRecording {
                title: v.rel.clone(),
                content: avreg_registry::Content::Computed(avreg_decode::hash_file(&v.mp4)?),
                fingerprint: AudioFingerprint::from_parts(fp.duration_ms, Vec::new()),
                source_name: None,
                video: Some(fp),
                media: Vec::new(),
            })
            .with_context(|| format!("registering {}", v.rel))?;
        titles.insert(i, v.rel.clone());
    }
    registry.flush()?;
    // For scale, a second registry holds every registered video chained
    // into one long recording (their reference fingerprints concatenated in
    // time, as decoding the concatenated files would give them, without
    // re-encoding): each excerpt must then be found at its place in it.
    let chain_dir = tempfile::Builder::new()
        .prefix("avreg-eval-video-chain-")
        .tempdir()?;
    let chain_registry = Registry::open(chain_dir.path(), Default::default())
        .context("opening the chained-reference registry")?;
    let chain_ms = chain.duration_ms;
    chain_registry
        .register(NewRecording {
            title: CHAIN_TITLE.into(),
            content: avreg_registry::Content::Computed(ContentHash::of(b"avreg eval video chain")),
            fingerprint: AudioFingerprint::from_parts(chain.duration_ms, Vec::new()),
            source_name: None,
            video: Some(chain),
            media: Vec::new(),
        })
        .context("registering the chained reference")?;
    chain_registry.flush()?;
    let register_s = t.elapsed().as_secs_f64();

    // Excerpts.
    let mut slots = Vec::new();
    for (i, v) in videos.iter().enumerate() {
        if v.registered && !titles.contains_key(&i) {
            continue;
        }
        for &len in &args.video_lengths {
            let room_ms = ((v.duration_s - f64::from(len)) * 1000.0).floor();
            if room_ms < 0.0 {
                continue;
            }
            // Evenly spaced over the room left by the excerpt (k+1)/(n+1):
            // with so few, short videos, random offsets would bunch up.
            let n = u64::from(args.video_offsets);
            for k in 0..n {
                slots.push(Slot {
                    video: i,
                    len_s: len,
                    start_ms: room_ms as u64 * (k + 1) / (n + 1),
                });
            }
        }
    }
    let jobs: Vec<(usize, VCase)> = (0..slots.len())
        .flat_map(|s| cases.iter().map(move |&c| (s, c)))
        .collect();
    eprintln!(
        "eval: {} registered, {} held out; {} excerpts × {} cases = {} clips",
        titles.len(),
        videos.iter().filter(|v| !v.registered).count(),
        slots.len(),
        cases.len(),
        jobs.len()
    );
    let t = Instant::now();
    let next = AtomicUsize::new(0);
    let made: Mutex<Vec<(usize, Result<PathBuf>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(slot, case)) = jobs.get(k) else {
                    break;
                };
                let r = make_clip(
                    &work,
                    &videos,
                    &slots[slot],
                    case,
                    seed,
                    args.video_cached_only,
                );
                if k.is_multiple_of(100) {
                    eprintln!("eval: clips {k}/{}", jobs.len());
                }
                if let Ok(mut m) = made.lock() {
                    m.push((k, r));
                }
            });
        }
    });
    let mut made = made.into_inner().unwrap_or_default();
    made.sort_by_key(|(k, _)| *k);
    let clips_s = t.elapsed().as_secs_f64();

    // Lookups.
    let t = Instant::now();
    let mut cells: BTreeMap<(VCase, u32), Cell> = BTreeMap::new();
    let mut neg: BTreeMap<(VCase, u32), (usize, usize)> = BTreeMap::new();
    let mut false_matches = Vec::new();
    let mut lookup_ms = Vec::new();
    let mut fingerprint_ms = Vec::new();
    let mut uncached = 0usize;
    let mut chain_cells: BTreeMap<(VCase, u32), Cell> = BTreeMap::new();
    let mut chain_neg: BTreeMap<(VCase, u32), usize> = BTreeMap::new();
    for (k, r) in made {
        let (slot_i, case) = jobs[k];
        let slot = &slots[slot_i];
        let v = &videos[slot.video];
        let expected = titles.get(&slot.video);
        let path = match r {
            Ok(p) => p,
            Err(_) if args.video_cached_only => {
                uncached += 1;
                continue;
            }
            Err(e) => {
                notes.push(format!(
                    "{} {} s at {} ms, {}: clip failed: {e:#}",
                    v.rel,
                    slot.len_s,
                    slot.start_ms,
                    case.name()
                ));
                continue;
            }
        };
        let ft = Instant::now();
        let q = fingerprint_video_file(&path, &config, Role::Query, &opts);
        fingerprint_ms.push(ft.elapsed().as_secs_f64() * 1000.0);
        let lt = Instant::now();
        let found = match &q {
            Ok((fp, _)) => registry.lookup_video(fp).map_err(anyhow::Error::from),
            Err(e) => Err(anyhow::anyhow!("{e}")),
        };
        lookup_ms.push(lt.elapsed().as_secs_f64() * 1000.0);
        if let (Some(start), Some(_)) = (chain_start.get(&slot.video), expected) {
            let c = chain_cells.entry((case, slot.len_s)).or_default();
            c.n += 1;
            let found = match &q {
                Ok((fp, _)) => chain_registry.lookup_video(fp).map_err(anyhow::Error::from),
                Err(e) => Err(anyhow::anyhow!("{e}")),
            };
            match found {
                Err(_) => c.errors += 1,
                Ok(ms) => {
                    if let Some(m) = ms.first() {
                        c.correct += 1;
                        let err = m.ref_start_ms as f64
                            - m.query_start_ms as f64
                            - (start + slot.start_ms) as f64;
                        c.offset_err_ms.push(err.abs());
                        if err.abs() <= 500.0 {
                            c.offset_ok += 1;
                        }
                    }
                }
            }
        } else if let (Ok((fp, _)), None) = (&q, expected) {
            // Held-out excerpts must not match the chain either.
            let e = chain_neg.entry((case, slot.len_s)).or_insert(0);
            if chain_registry
                .lookup_video(fp)
                .is_ok_and(|ms| !ms.is_empty())
            {
                *e += 1;
            }
        }
        match expected {
            Some(title) => {
                let c = cells.entry((case, slot.len_s)).or_default();
                c.n += 1;
                match found {
                    Err(_) => c.errors += 1,
                    Ok(ms) => match ms.first() {
                        None => notes.push(format!(
                            "{} {} s at {} ms, {}: missed",
                            v.rel,
                            slot.len_s,
                            slot.start_ms,
                            case.name()
                        )),
                        Some(m) if &m.recording.title == title => {
                            c.correct += 1;
                            // The clip's time 0 is the reference's start_ms.
                            let err = m.ref_start_ms as f64
                                - m.query_start_ms as f64
                                - slot.start_ms as f64;
                            c.offset_err_ms.push(err.abs());
                            if err.abs() <= 500.0 {
                                c.offset_ok += 1;
                            } else {
                                notes.push(format!(
                                    "{} {} s at {} ms, {}: right recording, offset off by {:+.0} ms",
                                    v.rel,
                                    slot.len_s,
                                    slot.start_ms,
                                    case.name(),
                                    err
                                ));
                            }
                        }
                        Some(_) => c.wrong += 1,
                    },
                }
            }
            None => {
                let e = neg.entry((case, slot.len_s)).or_default();
                e.0 += 1;
                if let Ok(ms) = found {
                    if let Some(m) = ms.first() {
                        e.1 += 1;
                        false_matches.push(format!(
                            "{} {} s at {} ms, {} → {} (score {:.3}, {} frames, {:.1} bits)",
                            v.rel,
                            slot.len_s,
                            slot.start_ms,
                            case.name(),
                            m.recording.title,
                            m.score,
                            m.video.map_or(0, |e| e.aligned_frames),
                            m.video.map_or(0.0, |e| e.mean_distance)
                        ));
                    }
                }
            }
        }
    }
    let lookups_s = t.elapsed().as_secs_f64();

    // Report.
    let mut out = String::new();
    let _ = writeln!(out, "# avreg video evaluation\n");
    let _ = writeln!(
        out,
        "Command: `{}`  \nCorpus: {} ({} videos; {} registered, {} held out as negatives), seed {seed}.  \n\
         References: each corpus video transcoded to H.264 MP4 (x264 CRF 18), registered with \
         `Role::Reference` video fingerprints ({ref_frames} sampled frames in all). Queries: \
         excerpts at {} evenly spaced offsets per video and length, one per case, fingerprinted with \
         `Role::Query` and looked up with `Registry::lookup_video`; the top match counts.\n",
        std::env::args().collect::<Vec<_>>().join(" "),
        corpus_names,
        videos.len(),
        titles.len(),
        videos.iter().filter(|v| !v.registered).count(),
        args.video_offsets,
    );
    let _ = writeln!(
        out,
        "Registered: {}  ",
        titles.values().cloned().collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(
        out,
        "Held out: {}\n",
        videos
            .iter()
            .filter(|v| !v.registered)
            .map(|v| v.rel.clone())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "Recall = top match is the right recording; offset = and its offset is within 0.5 s; \
         wrong = top match is another recording; n = queries in the cell.\n"
    );
    let mut header = String::from("| case | edit | target |");
    let mut rule = String::from("|---|---|---:|");
    for &l in &args.video_lengths {
        let _ = write!(header, " recall {l} s (n) | offset {l} s | wrong {l} s |");
        rule.push_str("---:|---:|---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for &case in &cases {
        let target = case
            .target()
            .map_or_else(|| "–".to_string(), |t| format!("{t:.2}"));
        let mut row = format!("| {} | {} | {target} |", case.name(), case.describe());
        for &l in &args.video_lengths {
            match cells.get(&(case, l)) {
                Some(c) if c.n > 0 => {
                    let _ = write!(
                        row,
                        " {:.3} ({}) | {:.3} | {:.3} |",
                        c.correct as f64 / c.n as f64,
                        c.n,
                        c.offset_ok as f64 / c.n as f64,
                        c.wrong as f64 / c.n as f64
                    );
                }
                _ => row.push_str(" – (0) | – | – |"),
            }
        }
        let _ = writeln!(out, "{row}");
    }
    let all_err: Vec<f64> = cells
        .values()
        .flat_map(|c| c.offset_err_ms.clone())
        .collect();
    let errors: usize = cells.values().map(|c| c.errors).sum();
    let _ = writeln!(
        out,
        "\nOffset error of correct matches: median {:.0} ms, p95 {:.0} ms, max {:.0} ms \
         ({} matches). Queries that failed to fingerprint or look up: {errors}.",
        super::stats::percentile(&all_err, 50.0).unwrap_or(f64::NAN),
        super::stats::percentile(&all_err, 95.0).unwrap_or(f64::NAN),
        all_err.iter().copied().fold(0.0, f64::max),
        all_err.len()
    );
    let _ = writeln!(
        out,
        "\n**Chained reference.** The {} registered videos chained into one recording of \
         {:.1} min (their reference fingerprints concatenated in time), alone in a second \
         registry; the same excerpts must be found at their place in it (recall = found, \
         offset = within 0.5 s of the excerpt's place in the chain).\n",
        chain_start.len(),
        chain_ms as f64 / 60_000.0
    );
    let mut header = String::from("| case |");
    let mut rule = String::from("|---|");
    for &l in &args.video_lengths {
        let _ = write!(header, " recall {l} s (n) | offset {l} s |");
        rule.push_str("---:|---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for &case in &cases {
        let mut row = format!("| {} |", case.name());
        for &l in &args.video_lengths {
            match chain_cells.get(&(case, l)) {
                Some(c) if c.n > 0 => {
                    let _ = write!(
                        row,
                        " {:.3} ({}) | {:.3} |",
                        c.correct as f64 / c.n as f64,
                        c.n,
                        c.offset_ok as f64 / c.n as f64
                    );
                }
                _ => row.push_str(" – (0) | – |"),
            }
        }
        let _ = writeln!(out, "{row}");
    }
    let _ = writeln!(
        out,
        "\nHeld-out excerpts matching the chained reference: {} of {}.",
        chain_neg.values().sum::<usize>(),
        neg.values().map(|e| e.0).sum::<usize>()
    );
    let negs: usize = neg.values().map(|e| e.0).sum();
    let _ = writeln!(
        out,
        "\nNegatives: {negs} queries (excerpts of held-out videos, same cases and lengths), \
         {} false matches.",
        false_matches.len()
    );
    for f in &false_matches {
        let _ = writeln!(out, "- {f}");
    }
    let _ = writeln!(
        out,
        "\nLookup latency (lookup_video only): p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms over {} \
         queries.",
        super::stats::percentile(&lookup_ms, 50.0).unwrap_or(f64::NAN),
        super::stats::percentile(&lookup_ms, 95.0).unwrap_or(f64::NAN),
        super::stats::percentile(&lookup_ms, 99.0).unwrap_or(f64::NAN),
        lookup_ms.len()
    );
    let _ = writeln!(
        out,
        "Query fingerprinting (decode + fingerprint of the clip, re-post views {}): \
         p50 {:.0} ms, p99 {:.0} ms.",
        if config.repost_views { "on" } else { "off" },
        super::stats::percentile(&fingerprint_ms, 50.0).unwrap_or(f64::NAN),
        super::stats::percentile(&fingerprint_ms, 99.0).unwrap_or(f64::NAN),
    );
    let _ = writeln!(
        out,
        "Timings: register {register_s:.1} s, make clips {clips_s:.1} s ({threads} FFmpeg jobs), \
         fingerprint + lookups {lookups_s:.1} s."
    );
    if uncached > 0 {
        notes.push(format!(
            "{uncached} of {} planned clips were not in the cache and were left out \
             (--video-cached-only)",
            jobs.len()
        ));
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "\nNotes:");
        for n in &notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    print!("{out}");

    if !args.no_throughput {
        let t = throughput(&work, args.pdqhash_python.as_deref())?;
        print!("{t}");
    }
    eprintln!(
        "eval: video done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn probe_duration(path: &Path) -> Result<f64> {
    let out = tools::run(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "csv=p=0",
            ])
            .arg(path),
    )?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .with_context(|| format!("ffprobe duration of {}", path.display()))
}

fn probe_size(path: &Path) -> Result<(u32, u32)> {
    let out = tools::run(
        Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0"])
            .args(["-show_entries", "stream=width,height", "-of", "csv=p=0"])
            .arg(path),
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.trim().split(',');
    let w: u32 = it.next().unwrap_or("").parse()?;
    let h: u32 = it.next().unwrap_or("").parse()?;
    ensure!(w > 0 && h > 0, "ffprobe size of {}", path.display());
    Ok((w, h))
}

/// The picture-in-picture canvas of an excerpt of `videos[own]`: another
/// video that is not registered (a held-out one), so that a match of the
/// canvas never counts as a wrong recording nor, for held-out excerpts, as
/// a false match; a seeded pick among them. `None` when there is no other
/// held-out video.
fn background<'a>(videos: &'a [Video], own: usize, rng: &mut Rng) -> Option<&'a Video> {
    let others: Vec<&Video> = videos
        .iter()
        .enumerate()
        .filter(|&(j, v)| j != own && !v.registered)
        .map(|(_, v)| v)
        .collect();
    if others.is_empty() {
        return None;
    }
    Some(others[rng.below(others.len() as u64) as usize])
}

fn make_clip(
    work: &Path,
    videos: &[Video],
    slot: &Slot,
    case: VCase,
    seed: u64,
    cached_only: bool,
) -> Result<PathBuf> {
    let v = &videos[slot.video];
    let stem = v.mp4.file_stem().and_then(|s| s.to_str()).unwrap_or("v");
    // Every seeded choice comes from this excerpt's and case's own stream.
    let mut rng = Rng::derive(
        seed,
        &format!(
            "video-edit/{}/{}/{}/{}",
            v.rel,
            slot.len_s,
            slot.start_ms,
            case.name()
        ),
    );
    let bg = match case {
        VCase::PipHalf | VCase::PipThird => background(videos, slot.video, &mut rng),
        _ => None,
    };
    let edit = case.edit(&mut EditCtx {
        width: v.width,
        height: v.height,
        len_s: slot.len_s,
        rng,
        background: bg,
    })?;
    // The cache name holds everything that determines the clip: source,
    // length, start, case and (re-post cases) the seeded choices.
    let tag = if edit.tag.is_empty() {
        String::new()
    } else {
        format!("-{}", edit.tag)
    };
    let out = work.join("clips").join(format!(
        "{stem}-{}s-{}ms-{}{tag}.mp4",
        slot.len_s,
        slot.start_ms,
        case.name().replace(['%', '+'], "p")
    ));
    if out.exists() {
        return Ok(out);
    }
    if cached_only {
        bail!("not in the cache (--video-cached-only)");
    }
    let tmp = out.with_extension("tmp.mp4");
    let mut cmd = tools::ffmpeg();
    cmd.args(["-ss", &format!("{:.3}", slot.start_ms as f64 / 1000.0)])
        .arg("-i")
        .arg(&v.mp4);
    let graph = format!(
        "{},scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p",
        edit.graph
    );
    match &edit.background {
        Some((bg, start_s)) => {
            cmd.args(["-stream_loop", "-1", "-ss", &format!("{start_s:.1}")])
                .arg("-i")
                .arg(bg)
                .args(["-t", &slot.len_s.to_string(), "-an", "-filter_complex"])
                .arg(graph);
        }
        None => {
            cmd.args(["-t", &slot.len_s.to_string(), "-an", "-vf"])
                .arg(graph);
        }
    }
    tools::run(
        cmd.args([
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            &edit.crf.to_string(),
        ])
        .args(["-threads", "1"])
        .arg(&tmp),
    )?;
    std::fs::rename(&tmp, &out)?;
    Ok(out)
}

/// Decode-plus-hash throughput at 360p and 1080p, 1 and 2 threads, and the
/// `pdqhash` baseline on the same frames.
fn throughput(work: &Path, python: Option<&Path>) -> Result<String> {
    let dir = work.join("throughput");
    std::fs::create_dir_all(&dir)?;
    let mut out = String::from("\n## Decode plus hash throughput\n\n");
    let sizes = [("360p", "640x360", 10u32), ("1080p", "1920x1080", 4)];
    let mut rows = Vec::new();
    for (name, size, secs) in sizes {
        let files: Vec<PathBuf> = (0..2)
            .map(|k| dir.join(format!("testsrc2-{name}-{k}.mp4")))
            .collect();
        for (k, f) in files.iter().enumerate() {
            if !f.exists() {
                // Two different clips (different start), so the threads do
                // not share a file.
                tools::run(
                    tools::ffmpeg()
                        .args(["-f", "lavfi", "-i"])
                        .arg(format!(
                            "testsrc2=size={size}:rate=30:duration={}",
                            secs + k as u32
                        ))
                        .args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "23"])
                        .args(["-pix_fmt", "yuv420p"])
                        .arg(f),
                )?;
            }
        }
        for (mode, config) in [
            ("pipeline (4 frames/s hashed)", VideoConfig::default()),
            (
                "every frame hashed",
                VideoConfig::default()
                    .with_fps(1000.0)
                    .with_prune_distance(0),
            ),
        ] {
            for threads in [1usize, 2] {
                // Best of two runs.
                let mut best = 0.0f64;
                for _ in 0..2 {
                    let t = Instant::now();
                    let frames: u64 = std::thread::scope(|s| {
                        let hs: Vec<_> = files[..threads]
                            .iter()
                            .map(|f| {
                                let config = config.clone();
                                s.spawn(move || {
                                    fingerprint_video_file(
                                        f,
                                        &config,
                                        Role::Query,
                                        &VideoDecodeOptions::default(),
                                    )
                                    .map(|(_, i)| i.decoded_frames)
                                })
                            })
                            .collect();
                        hs.into_iter()
                            .map(|h| h.join().ok().and_then(|r| r.ok()).unwrap_or(0))
                            .sum()
                    });
                    best = best.max(frames as f64 / t.elapsed().as_secs_f64());
                }
                rows.push((name, format!("avreg, {mode}"), threads, best));
            }
        }
        if let Some(py) = python {
            for threads in [1usize, 2] {
                let fps = pdqhash_fps(py, &files[..threads], &dir)?;
                rows.push((
                    name,
                    "PyPI pdqhash (frames decoded by FFmpeg beforehand, hash only)".into(),
                    threads,
                    fps,
                ));
            }
        }
    }
    let _ = writeln!(
        out,
        "| size | what | threads | frames/s |\n|---|---|---:|---:|"
    );
    for (size, what, threads, fps) in &rows {
        let _ = writeln!(out, "| {size} | {what} | {threads} | {fps:.0} |");
    }
    let _ = writeln!(
        out,
        "\nInputs: FFmpeg `testsrc2` encoded with x264 (veryfast, CRF 23, 30 frames/s); with 2 \
         threads each thread decodes its own file. avreg decodes every frame with OpenH264; \
         frames/s counts decoded frames. pdqhash is timed on frames already decoded to RGB \
         by FFmpeg (its own decode not counted), one process per thread.\n"
    );
    Ok(out)
}

const PDQ_SCRIPT: &str = r#"
import sys, time, numpy as np, pdqhash
w, h, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
data = np.memmap(path, dtype=np.uint8, mode="r")
n = data.size // (w * h * 3)
frames = data[: n * w * h * 3].reshape(n, h, w, 3)
for f in frames:
    np.asarray(f).sum()  # warm the page cache
t = time.perf_counter()
for f in frames:
    pdqhash.compute(np.ascontiguousarray(f))
print(n, time.perf_counter() - t)
"#;

/// Frames per second of `pdqhash.compute` on the frames of `files`, one
/// Python process per file, run at the same time.
fn pdqhash_fps(python: &Path, files: &[PathBuf], dir: &Path) -> Result<f64> {
    let script = dir.join("pdq_bench.py");
    std::fs::write(&script, PDQ_SCRIPT)?;
    let mut raws = Vec::new();
    for f in files {
        let raw = f.with_extension("rgb");
        if !raw.exists() {
            tools::run(
                tools::ffmpeg()
                    .arg("-i")
                    .arg(f)
                    .args(["-f", "rawvideo", "-pix_fmt", "rgb24"])
                    .arg(&raw),
            )?;
        }
        let (w, h) = probe_size(f)?;
        raws.push((raw, w, h));
    }
    let t = Instant::now();
    let children: Vec<_> = raws
        .iter()
        .map(|(raw, w, h)| {
            Command::new(python)
                .arg(&script)
                .arg(w.to_string())
                .arg(h.to_string())
                .arg(raw)
                .stdout(std::process::Stdio::piped())
                .spawn()
        })
        .collect::<std::io::Result<_>>()?;
    let mut frames = 0u64;
    let mut slowest = 0.0f64;
    for c in children {
        let o = c.wait_with_output()?;
        if !o.status.success() {
            bail!("pdqhash script failed");
        }
        let s = String::from_utf8_lossy(&o.stdout);
        let mut it = s.split_whitespace();
        frames += it.next().unwrap_or("0").parse::<u64>()?;
        slowest = slowest.max(it.next().unwrap_or("0").parse::<f64>()?);
    }
    let _ = t;
    ensure!(slowest > 0.0, "pdqhash timed nothing");
    Ok(frames as f64 / slowest)
}
