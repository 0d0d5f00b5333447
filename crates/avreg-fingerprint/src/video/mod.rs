//! The video fingerprint core, sans-IO: luma planes with timestamps in, a
//! versioned [`VideoFingerprint`] of per-frame PDQ hashes out.
//!
//! Per sampled frame: black bars are cropped ([`luma::content_rect`]), the
//! picture is box-downscaled to 64×64 ([`luma::downscale_64`]) and hashed with
//! PDQ ([`pdq`]). A reference also hashes cropped views of each sampled frame
//! (centre 90 % and 80 %, the four 90 % corners) so that a cropped clip
//! matches without any search at query time, and its middle rows
//! ([`View::Middle`]), which logos and caption bands leave clear; a query also carries the
//! mirrored hash of each frame (free from the same DCT), so a mirrored clip
//! matches, and, for a vertical frame made of a landscape picture over
//! blurred bars, the hash of the sharp band ([`luma::sharp_band`]).
//!
//! Sampling is by timestamp ([`VideoConfig::fps`] frames per second, 4 by
//! default), and a frame whose hash is within
//! [`VideoConfig::prune_distance`] bits of the last kept one is skipped,
//! unless [`VideoConfig::max_gap_ms`] has passed since (for a query, at
//! most [`QUERY_MAX_GAP_MS`]). A query also hashes [`QUERY_PHASES`] − 1
//! frames between grid times (plain views and middle rows only), so that
//! one of them lies near the instant the reference sampled. Flat frames (PDQ
//! quality below [`VideoConfig::min_quality`]: black, fades, solid colours)
//! carry no identity and are dropped.
//!
//! ```
//! use avreg_fingerprint::video::{LumaFrame, Role, VideoConfig, VideoFingerprinter};
//!
//! let (w, h) = (160, 90);
//! let mut fp = VideoFingerprinter::new(VideoConfig::default(), Role::Query);
//! for n in 0..25u64 {
//!     let t = n as usize;
//!     let y: Vec<u8> = (0..w * h)
//!         .map(|i| (((i % w) * 3 + (i / w) * 5 + t * 7) % 251) as u8)
//!         .collect();
//!     fp.push(&LumaFrame::new(&y, w, h, w).expect("valid plane"), n * 40);
//! }
//! let fingerprint = fp.finish();
//! assert_eq!(fingerprint.duration_ms, 1000);
//! ```

pub mod format;
pub mod luma;
pub mod matching;
pub mod pdq;
pub mod synth;
#[cfg(test)]
mod tests;
pub mod views;

use serde::{Deserialize, Serialize};

pub use format::FORMAT_VERSION;
pub use luma::{LumaFrame, Rect};
pub use pdq::PdqHash;

/// Name of the algorithm, for stored metadata.
pub const ALGORITHM: &str = "avreg-video-pdq";
/// Version of the algorithm and its default parameters: hashes of different
/// versions are not comparable.
pub const ALGORITHM_VERSION: u16 = 1;

/// Which picture of a sampled frame a hash describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum View {
    /// The frame without black bars.
    Full = 0,
    /// The full view mirrored left to right (queries).
    Mirrored = 1,
    /// Centre crop keeping 90 % of each side (references).
    Centre90 = 2,
    /// Centre crop keeping 80 % of each side (references).
    Centre80 = 3,
    /// Top-left 90 % crop (references).
    TopLeft90 = 4,
    /// Top-right 90 % crop (references).
    TopRight90 = 5,
    /// Bottom-left 90 % crop (references).
    BottomLeft90 = 6,
    /// Bottom-right 90 % crop (references).
    BottomRight90 = 7,
    /// The sharp band of a vertical frame over blurred bars
    /// ([`luma::sharp_band`]; queries).
    Band = 8,
    /// The centred 16:9 band of a portrait frame, when no sharp band is
    /// found (a vertical re-post whose bars are not blurred enough to tell;
    /// queries).
    PortraitCentre = 9,
    /// The frame turned back by one of [`views::DEROTATIONS_DEG`], at the
    /// scale of [`View::Centre80`] (queries).
    Derotated = 10,
    /// A picture inset in the frame ([`views::inset_rects`]; queries).
    Inset = 11,
    /// The frame with its still overlays filled in ([`views::static_mask`];
    /// queries).
    Unmasked = 12,
    /// The middle half of the frame's rows, without their side bars
    /// ([`luma::middle_band`]): what corner logos, watermarks and caption
    /// bands leave clear (references and queries).
    Middle = 13,
}

impl View {
    /// Every view, by code.
    pub const ALL: [View; 14] = [
        View::Full,
        View::Mirrored,
        View::Centre90,
        View::Centre80,
        View::TopLeft90,
        View::TopRight90,
        View::BottomLeft90,
        View::BottomRight90,
        View::Band,
        View::PortraitCentre,
        View::Derotated,
        View::Inset,
        View::Unmasked,
        View::Middle,
    ];

    /// The view of a stored code.
    pub fn from_code(code: u8) -> Option<View> {
        View::ALL.get(usize::from(code)).copied()
    }

    /// Crop of the content rectangle (scale, horizontal and vertical
    /// position in the margin), for the cropped views.
    fn crop(self) -> Option<(f32, f32, f32)> {
        match self {
            View::Full
            | View::Mirrored
            | View::Band
            | View::PortraitCentre
            | View::Derotated
            | View::Inset
            | View::Unmasked
            | View::Middle => None,
            View::Centre90 => Some((0.9, 0.5, 0.5)),
            View::Centre80 => Some((0.8, 0.5, 0.5)),
            View::TopLeft90 => Some((0.9, 0.0, 0.0)),
            View::TopRight90 => Some((0.9, 1.0, 0.0)),
            View::BottomLeft90 => Some((0.9, 0.0, 1.0)),
            View::BottomRight90 => Some((0.9, 1.0, 1.0)),
        }
    }

    /// Whether a query looks this view up only when the cheaper views
    /// found no sure match (the re-post views of [`views`]).
    pub fn is_repost(self) -> bool {
        matches!(
            self,
            View::Derotated | View::Inset | View::Unmasked | View::Middle
        )
    }

    /// Whether this is a view a query carries.
    pub fn is_query(self) -> bool {
        // Every view but the references' crops.
        self.crop().is_none()
    }

    /// Whether a reference's hash of this view is indexed: the full frame,
    /// its middle rows and the crops.
    pub fn is_indexed(self) -> bool {
        matches!(self, View::Full | View::Middle) || self.crop().is_some()
    }
}

/// What a fingerprint is for: a reference indexes cropped views, a query
/// looks up mirrored hashes too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A registered recording: full view plus the cropped views.
    Reference,
    /// A clip to identify: full view plus its mirror.
    Query,
}

/// Parameters of video fingerprinting. The default is the registered
/// algorithm ([`ALGORITHM_VERSION`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoConfig {
    /// Frames sampled per second of video time.
    pub fps: f32,
    /// A frame within this many bits of the last kept one is skipped.
    pub prune_distance: u32,
    /// ... unless this long has passed since the last kept frame.
    pub max_gap_ms: u64,
    /// Frames whose PDQ quality is below this are dropped.
    pub min_quality: u8,
    /// Whether black bars are cropped before hashing.
    pub crop_bars: bool,
    /// Whether a query also carries the re-post views ([`views`]: turned
    /// back, inset pictures, still overlays filled in).
    #[serde(default = "yes")]
    pub repost_views: bool,
}

fn yes() -> bool {
    true
}

impl Default for VideoConfig {
    fn default() -> Self {
        Self {
            fps: 4.0,
            prune_distance: 8,
            max_gap_ms: 2_000,
            min_quality: 20,
            crop_bars: true,
            repost_views: true,
        }
    }
}

impl VideoConfig {
    /// Sets the sampling rate.
    pub fn with_fps(mut self, fps: f32) -> Self {
        self.fps = fps;
        self
    }

    /// Sets the pruning distance (0 disables pruning).
    pub fn with_prune_distance(mut self, bits: u32) -> Self {
        self.prune_distance = bits;
        self
    }

    fn interval_ms(&self) -> u64 {
        if self.fps.is_finite() && self.fps > 0.0 {
            ((1000.0 / self.fps).round() as u64).max(1)
        } else {
            250
        }
    }
}

/// One hash of one sampled frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameHash {
    /// Presentation time of the frame, ms from the start of the video.
    pub time_ms: u32,
    /// The PDQ hash.
    pub hash: PdqHash,
    /// PDQ's quality, 0..=100.
    pub quality: u8,
    /// Which picture of the frame was hashed.
    pub view: View,
}

/// A video's fingerprint: its sampled frames' hashes, in time order (views
/// of one frame together, [`View::Full`] first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoFingerprint {
    /// [`ALGORITHM_VERSION`] of the hashes.
    pub version: u16,
    /// Time of the last frame pushed plus one frame interval, ms.
    pub duration_ms: u64,
    /// The hashes.
    pub frames: Vec<FrameHash>,
}

impl VideoFingerprint {
    /// Serialises to the versioned binary form (see [`format`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        format::encode(self)
    }

    /// Parses the versioned binary form, validating everything.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        format::decode(bytes)
    }

    /// Number of distinct sampled frames (times).
    pub fn sampled_frames(&self) -> usize {
        self.frames.iter().filter(|f| f.view == View::Full).count()
    }

    /// Why this fingerprint cannot have come from the fingerprinter (a
    /// frame past its duration, or more hashes than [`MAX_SAMPLED_FPS`]
    /// sampled times a second with every view), if it cannot: what a service checks before indexing or searching a
    /// fingerprint a client sent, whose cost and memory grow with its
    /// frames.
    pub fn implausible(&self) -> Option<String> {
        let last = self.frames.iter().map(|f| u64::from(f.time_ms)).max()?;
        if last >= self.duration_ms {
            return Some(format!(
                "a frame at {last} ms lies past the video fingerprint's duration ({} ms)",
                self.duration_ms
            ));
        }
        let seconds = self.duration_ms.div_ceil(1000).max(1);
        let most = seconds * MAX_SAMPLED_FPS * View::ALL.len() as u64;
        if self.frames.len() as u64 > most {
            return Some(format!(
                "{} frame hashes in {} ms: more than the fingerprinter makes \
                 ({MAX_SAMPLED_FPS} sampled frames a second, {} views each)",
                self.frames.len(),
                self.duration_ms,
                View::ALL.len()
            ));
        }
        None
    }
}

/// Frames a query samples per grid interval: on the grid and at each
/// third between (12 a second by default), the between ones with their
/// plain views only.
pub const QUERY_PHASES: u64 = 3;

/// Longest gap between a query's kept frames in a still shot, ms: three
/// frames agree within 1.5 s, the width of the offset vote's window.
pub const QUERY_MAX_GAP_MS: u64 = 500;

/// Most sampled times a second a video fingerprint may hold: a reference
/// samples 4 by default, a query 12 ([`QUERY_PHASES`] per grid interval,
/// those between grid times with a few views only); a fingerprint sent to
/// a service may hold up to this many times every view.
pub const MAX_SAMPLED_FPS: u64 = 12;

/// Streaming video fingerprinter: push luma frames in presentation order,
/// then [`VideoFingerprinter::finish`].
#[derive(Debug)]
pub struct VideoFingerprinter {
    config: VideoConfig,
    role: Role,
    interval: u64,
    /// Next time on the sampling grid.
    next_ms: u64,
    /// Next time a query samples between grid times (see
    /// [`QUERY_PHASES`]).
    next_between_ms: u64,
    last_kept: Option<(u64, PdqHash)>,
    /// The last hash a query kept, on the grid or between.
    last_between: Option<PdqHash>,
    last_ms: Option<u64>,
    frame_ms: u64,
    frames: Vec<FrameHash>,
    /// Work images of the last kept query frames, for the views that need
    /// several frames (insets, still overlays).
    window: Vec<(u32, views::WorkImage)>,
}

/// Kept query frames an inset or a still overlay is looked for over (10 s
/// at the default sampling): bounds a query's memory whatever its length.
const WINDOW_FRAMES: usize = 40;

impl VideoFingerprinter {
    /// A fingerprinter for one video.
    pub fn new(config: VideoConfig, role: Role) -> Self {
        let interval = config.interval_ms();
        Self {
            config,
            role,
            interval,
            next_ms: 0,
            next_between_ms: 0,
            last_kept: None,
            last_between: None,
            last_ms: None,
            frame_ms: 0,
            frames: Vec::new(),
            window: Vec::new(),
        }
    }

    /// Whether a frame at `time_ms` would be sampled: a decoder can skip
    /// reading the frames that are not.
    pub fn wants(&self, time_ms: u64) -> bool {
        time_ms >= self.next_ms || (self.role == Role::Query && time_ms >= self.next_between_ms)
    }

    /// Notes a frame's time without its picture (a frame the decoder did not
    /// read because [`VideoFingerprinter::wants`] said no).
    pub fn skip(&mut self, time_ms: u64) {
        self.note_time(time_ms);
    }

    fn note_time(&mut self, time_ms: u64) {
        if let Some(last) = self.last_ms {
            if time_ms > last {
                let d = time_ms - last;
                self.frame_ms = if self.frame_ms == 0 {
                    d
                } else {
                    self.frame_ms.min(d)
                };
            }
        }
        self.last_ms = Some(self.last_ms.map_or(time_ms, |l| l.max(time_ms)));
    }

    /// The longest a near-duplicate frame is skipped for: a query keeps
    /// one at least every [`QUERY_MAX_GAP_MS`], so that a clip of a still
    /// shot still has frames enough to agree on its reference.
    fn max_gap_ms(&self) -> u64 {
        match self.role {
            Role::Reference => self.config.max_gap_ms,
            Role::Query => self.config.max_gap_ms.min(QUERY_MAX_GAP_MS),
        }
    }

    /// Offers a frame at `time_ms`. Returns whether it was kept.
    pub fn push(&mut self, frame: &LumaFrame<'_>, time_ms: u64) -> bool {
        self.note_time(time_ms);
        if !self.wants(time_ms) {
            return false;
        }
        if time_ms < self.next_ms {
            return self.push_between(frame, time_ms);
        }
        self.next_ms = (time_ms / self.interval + 1) * self.interval;
        self.next_between_ms = time_ms + self.between_ms();
        let (rect, full) = self.hash_frame(frame);
        if full.quality < self.config.min_quality {
            return false;
        }
        if let Some((t, h)) = self.last_kept {
            if full.hash.distance(&h) <= self.config.prune_distance
                && time_ms.saturating_sub(t) < self.max_gap_ms()
            {
                return false;
            }
        }
        self.last_kept = Some((time_ms, full.hash));
        self.last_between = Some(full.hash);
        let time = time_ms.min(u64::from(u32::MAX)) as u32;
        match self.role {
            Role::Query => {
                self.push_plain(frame, rect, time, &full);
                if self.config.repost_views {
                    let work = views::WorkImage::of(frame, rect);
                    for deg in views::DEROTATIONS_DEG {
                        let r = pdq::hash_64(&views::derotated_64(&work, deg));
                        self.push_view(time, &r, View::Derotated);
                    }
                    if self
                        .window
                        .first()
                        .is_some_and(|(_, w)| (w.w, w.h) != (work.w, work.h))
                        || self.window.len() == WINDOW_FRAMES
                    {
                        self.flush_window();
                    }
                    self.window.push((time, work));
                }
            }
            Role::Reference => {
                self.frames.push(FrameHash {
                    time_ms: time,
                    hash: full.hash,
                    quality: full.quality,
                    view: View::Full,
                });
                let middle = (
                    View::Middle,
                    luma::middle_band(frame, self.config.crop_bars),
                );
                let crops = View::ALL.into_iter().filter_map(|v| {
                    v.crop()
                        .map(|(scale, fx, fy)| (v, rect.crop(scale, fx, fy)))
                });
                for (view, region) in crops.chain([middle]) {
                    let r = pdq::hash_64(&luma::downscale_64(frame, region));
                    self.frames.push(FrameHash {
                        time_ms: time,
                        hash: r.hash,
                        quality: r.quality,
                        view,
                    });
                }
            }
        }
        true
    }

    /// The frame's content rectangle (without black bars, if configured)
    /// and the PDQ hash of it.
    fn hash_frame(&self, frame: &LumaFrame<'_>) -> (Rect, pdq::PdqResult) {
        let rect = if self.config.crop_bars {
            luma::content_rect(frame)
        } else {
            frame.full()
        };
        (rect, pdq::hash_64(&luma::downscale_64(frame, rect)))
    }

    /// A query's sampling step between grid times.
    fn between_ms(&self) -> u64 {
        (self.interval / QUERY_PHASES).max(1)
    }

    /// A query frame between two grid times: its plain views (the frame,
    /// its mirror, a portrait frame's bands) and its middle rows, so that
    /// one of a grid slot's frames lies near the instant the reference
    /// sampled (a cartoon at 12 frames/s, panning, changes whole pictures
    /// between frames). The other re-post views stay on the grid.
    fn push_between(&mut self, frame: &LumaFrame<'_>, time_ms: u64) -> bool {
        self.next_between_ms = time_ms + self.between_ms();
        let (rect, full) = self.hash_frame(frame);
        if full.quality < self.config.min_quality
            || self
                .last_between
                .is_some_and(|h| full.hash.distance(&h) <= self.config.prune_distance)
        {
            return false;
        }
        self.last_between = Some(full.hash);
        let time = time_ms.min(u64::from(u32::MAX)) as u32;
        self.push_plain(frame, rect, time, &full);
        true
    }

    /// A query frame's plain views, and its middle rows with the re-post
    /// views on.
    fn push_plain(&mut self, frame: &LumaFrame<'_>, rect: Rect, time: u32, full: &pdq::PdqResult) {
        self.frames.push(FrameHash {
            time_ms: time,
            hash: full.hash,
            quality: full.quality,
            view: View::Full,
        });
        self.frames.push(FrameHash {
            time_ms: time,
            hash: full.mirrored(),
            quality: full.quality,
            view: View::Mirrored,
        });
        for (band, view) in portrait_bands(frame, rect) {
            let b = pdq::hash_64(&luma::downscale_64(frame, band));
            self.push_view(time, &b, view);
        }
        if self.config.repost_views {
            let middle = luma::middle_band(frame, self.config.crop_bars);
            let m = pdq::hash_64(&luma::downscale_64(frame, middle));
            self.push_view(time, &m, View::Middle);
        }
    }

    /// Adds a query view's hash when it is not flat.
    fn push_view(&mut self, time_ms: u32, r: &pdq::PdqResult, view: View) {
        if r.quality >= self.config.min_quality {
            self.frames.push(FrameHash {
                time_ms,
                hash: r.hash,
                quality: r.quality,
                view,
            });
        }
    }

    /// The views of the window's frames that need all of them: inset
    /// pictures and the frames with still overlays filled in.
    fn flush_window(&mut self) {
        let window = std::mem::take(&mut self.window);
        let images: Vec<&views::WorkImage> = window.iter().map(|(_, w)| w).collect();
        // A window's images share one size (it is flushed when it changes).
        let insets: Vec<views::WorkRect> = match images.first() {
            Some(first) => views::inset_rects(&images)
                .into_iter()
                .flat_map(|r| views::aspect_variants(r, first.w, first.h))
                .collect(),
            None => Vec::new(),
        };
        let mask = views::static_mask(&images);
        for (time, img) in &window {
            for &r in &insets {
                let h = pdq::hash_64(&img.crop_64(r));
                self.push_view(*time, &h, View::Inset);
                // A letterboxed original keeps its bars inside the inset,
                // where the reference had them removed.
                if let Some(t) = img.without_bars(r) {
                    let h = pdq::hash_64(&img.crop_64(t));
                    self.push_view(*time, &h, View::Inset);
                }
            }
            if let Some(mask) = &mask {
                let filled = views::inpaint(img, mask);
                let (w, h) = (img.w as f32, img.h as f32);
                let r = pdq::hash_64(&filled.sample_64(w / 2.0, h / 2.0, w / 2.0, h / 2.0, 0.0));
                self.push_view(*time, &r, View::Unmasked);
            }
        }
    }

    /// Hashes kept so far (the views over several frames come at
    /// [`VideoFingerprinter::finish`]).
    pub fn frames(&self) -> &[FrameHash] {
        &self.frames
    }

    /// The fingerprint.
    pub fn finish(mut self) -> VideoFingerprint {
        self.flush_window();
        // Window views come after the frames they belong to: back in time
        // order, each frame's views together and its full view first.
        self.frames.sort_by_key(|f| f.time_ms);
        let frame = if self.frame_ms == 0 {
            self.interval
        } else {
            self.frame_ms
        };
        VideoFingerprint {
            version: ALGORITHM_VERSION,
            duration_ms: self.last_ms.map_or(0, |l| l + frame),
            frames: self.frames,
        }
    }
}

/// The pictures a portrait frame may hold, each without its own black bars:
/// the band found by its detail or by its edges ([`View::Band`]), and the
/// centred 16:9 and 4:3 bands ([`View::PortraitCentre`]) where they differ
/// from it by more than a fiftieth of the height. Empty for a landscape
/// frame.
fn portrait_bands(frame: &LumaFrame<'_>, rect: Rect) -> Vec<(Rect, View)> {
    let mut out: Vec<(Rect, View)> = Vec::new();
    let near = |a: &Rect, b: &Rect| {
        let tol = rect.h / 50;
        a.y.abs_diff(b.y) <= tol && (a.y + a.h).abs_diff(b.y + b.h) <= tol
    };
    // The canvas is centred on the whole frame, which black-bar removal
    // may have cut unevenly (a dark blurred bar at the top only).
    let full = frame.full();
    let mut found = vec![luma::sharp_band(frame, rect), luma::edge_band(frame, full)];
    let mut frames = vec![full];
    if rect != full {
        found.push(luma::edge_band(frame, rect));
        frames.push(rect);
    }
    for band in found.into_iter().flatten() {
        if !out.iter().any(|(b, _)| near(b, &band)) {
            out.push((band, View::Band));
        }
    }
    for r in frames {
        for (num, den) in [(16, 9), (4, 3)] {
            if let Some(band) = luma::portrait_centre(r, num, den) {
                if !out.iter().any(|(b, _)| near(b, &band)) {
                    out.push((band, View::PortraitCentre));
                }
            }
        }
    }
    for (band, _) in &mut out {
        *band = luma::content_rect_in(frame, *band);
    }
    out
}
