//! Query-time views for platforms' re-post edits, computed from a small
//! copy of each sampled frame ([`WorkImage`], longest side
//! [`WORK_SIDE`] pixels, square pixels) so that a reference never needs
//! re-indexing:
//!
//! - **derotated** ([`derotated_64`]): a tilted re-film (a camcorded
//!   screen, a phone held crooked) is rotated back by a few fixed angles
//!   and its centre taken at the scale of the reference's centre 80 % view:
//!   a clip rotated by θ and cropped to fill its frame shows the original's
//!   centre `k(θ)` ([`fill_scale`]); rotated back by θ and cropped again it
//!   shows its centre `0.8` when the crop is `0.8 / k(θ)`.
//! - **inset** ([`inset_rects`]): picture-in-picture (a reaction video with
//!   the original in a corner). The inset's border is an edge that stays in
//!   place while the pictures on both sides of it move: averaged over the
//!   query's frames, the columns and rows of the border stand out as lines
//!   of local gradient maxima, and a rectangle with at least two such sides
//!   is hashed on its own.
//! - **unmasked** ([`static_mask`], [`inpaint`]): a logo, a watermark or a
//!   caption band stays still while the picture moves. Pixels whose value
//!   barely changes across the query's frames (and rows that are mostly
//!   such pixels: a translucent caption band) are masked and filled from
//!   their unmasked neighbours before hashing.
//!
//! Each costs a query one more hash per frame (four for the derotated
//! views) and none of it is stored with a reference.

use super::luma::{content_rect_in, downscale_into, LumaFrame, Rect};
use super::pdq::WORK_DIM;

/// Longest side of a [`WorkImage`].
pub const WORK_SIDE: usize = 256;

/// Angles (degrees) a query is rotated back by. A clip tilted by up to
/// one degree from one of them, and any clip tilted by less than two,
/// stays within the matching distance.
pub const DEROTATIONS_DEG: [f32; 4] = [-4.5, -2.5, 2.5, 4.5];

/// Scale of the reference view a derotated query is matched with
/// ([`super::View::Centre80`]).
const DEROTATED_TARGET: f32 = 0.8;

/// A small copy of a frame's content rectangle: `w × h` luma values, row
/// major, with square pixels (the longer side is [`WORK_SIDE`]).
#[derive(Clone, Debug, PartialEq)]
pub struct WorkImage {
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
    /// Luma, row major.
    pub px: Vec<u8>,
}

impl WorkImage {
    /// The area-average downscale of `rect` of `frame`.
    pub fn of(frame: &LumaFrame<'_>, rect: Rect) -> WorkImage {
        let (w, h) = if rect.w >= rect.h {
            (WORK_SIDE, (WORK_SIDE * rect.h / rect.w.max(1)).max(8))
        } else {
            ((WORK_SIDE * rect.w / rect.h.max(1)).max(8), WORK_SIDE)
        };
        let mut f = vec![0f32; w * h];
        downscale_into(frame, rect, w, h, &mut f);
        WorkImage {
            w,
            h,
            px: f
                .iter()
                .map(|v| v.round().clamp(0.0, 255.0) as u8)
                .collect(),
        }
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        f32::from(self.px[y * self.w + x])
    }

    /// Bilinear value at (x, y) in pixel units (pixel centres at i + 0.5),
    /// clamped to the image.
    fn bilinear(&self, x: f32, y: f32) -> f32 {
        let x = (x - 0.5).clamp(0.0, (self.w - 1) as f32);
        let y = (y - 0.5).clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let top = self.at(x0, y0) * (1.0 - fx) + self.at(x1, y0) * fx;
        let bottom = self.at(x0, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// PDQ's 64×64 working square of the rectangle centred at (`cx`, `cy`)
    /// with half sides `hw`, `hh` (pixels), turned by `angle` radians: each
    /// cell the mean of 4×4 bilinear samples.
    pub fn sample_64(
        &self,
        cx: f32,
        cy: f32,
        hw: f32,
        hh: f32,
        angle: f32,
    ) -> Box<[[f32; WORK_DIM]; WORK_DIM]> {
        const SUB: usize = 4;
        let (sin, cos) = angle.sin_cos();
        let mut out = Box::new([[0f32; WORK_DIM]; WORK_DIM]);
        let n = (WORK_DIM * SUB) as f32;
        for (i, row) in out.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let mut sum = 0.0;
                for si in 0..SUB {
                    let dy = ((i * SUB + si) as f32 + 0.5) / n * 2.0 - 1.0;
                    for sj in 0..SUB {
                        let dx = ((j * SUB + sj) as f32 + 0.5) / n * 2.0 - 1.0;
                        let (lx, ly) = (dx * hw, dy * hh);
                        sum += self.bilinear(cx + lx * cos - ly * sin, cy + lx * sin + ly * cos);
                    }
                }
                *v = sum / (SUB * SUB) as f32;
            }
        }
        out
    }

    /// `r` without the black bars at its edges ([`super::luma::content_rect_in`]),
    /// when it has any of at least 2 pixels.
    pub fn without_bars(&self, r: WorkRect) -> Option<WorkRect> {
        let frame = LumaFrame::new(&self.px, self.w, self.h, self.w).ok()?;
        // One pixel in from each side: the inset's edge blends its border
        // (and the picture around it) into the bar's first line.
        if r.x1 < r.x0 + 16 || r.y1 < r.y0 + 16 {
            return None;
        }
        let rect = Rect {
            x: r.x0 + 1,
            y: r.y0 + 1,
            w: r.x1 - r.x0 - 2,
            h: r.y1 - r.y0 - 2,
        };
        let t = content_rect_in(&frame, rect);
        let cut = (t.x - rect.x)
            .max(t.y - rect.y)
            .max(rect.x + rect.w - (t.x + t.w))
            .max(rect.y + rect.h - (t.y + t.h));
        (cut >= 2).then_some(WorkRect {
            x0: t.x,
            y0: t.y,
            x1: t.x + t.w,
            y1: t.y + t.h,
        })
    }

    /// The working square of a rectangle of this image.
    pub fn crop_64(&self, r: WorkRect) -> Box<[[f32; WORK_DIM]; WORK_DIM]> {
        self.sample_64(
            (r.x0 + r.x1) as f32 / 2.0,
            (r.y0 + r.y1) as f32 / 2.0,
            (r.x1 - r.x0) as f32 / 2.0,
            (r.y1 - r.y0) as f32 / 2.0,
            0.0,
        )
    }
}

/// The largest centred scale of a `w × h` frame that a rotation by `angle`
/// radians keeps free of corners: what a crop-to-fill of a rotated frame
/// keeps of it.
pub fn fill_scale(w: f32, h: f32, angle: f32) -> f32 {
    let (s, c) = (angle.abs().sin(), angle.abs().cos());
    (w / (w * c + h * s)).min(h / (w * s + h * c))
}

/// The working square of `img` rotated back by `deg` degrees, at the
/// scale of the reference's centre 80 % view assuming the clip was cropped
/// to fill its frame after the rotation.
pub fn derotated_64(img: &WorkImage, deg: f32) -> Box<[[f32; WORK_DIM]; WORK_DIM]> {
    let a = deg.to_radians();
    let (w, h) = (img.w as f32, img.h as f32);
    let s = (DEROTATED_TARGET / fill_scale(w, h, a)).min(1.0);
    img.sample_64(w / 2.0, h / 2.0, w * s / 2.0, h * s / 2.0, a)
}

/// A rectangle of a [`WorkImage`]: columns `x0..x1`, rows `y0..y1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkRect {
    /// Left edge.
    pub x0: usize,
    /// Top edge.
    pub y0: usize,
    /// Right edge (exclusive).
    pub x1: usize,
    /// Bottom edge (exclusive).
    pub y1: usize,
}

impl WorkRect {
    fn area(&self) -> usize {
        (self.x1 - self.x0) * (self.y1 - self.y0)
    }

    fn overlap(&self, o: &WorkRect) -> f32 {
        let w = self.x1.min(o.x1).saturating_sub(self.x0.max(o.x0));
        let h = self.y1.min(o.y1).saturating_sub(self.y0.max(o.y0));
        (w * h) as f32 / self.area().min(o.area()).max(1) as f32
    }
}

/// A side of an inset within this many pixels of the image's edge may be
/// the edge itself rather than the inset's border (whose line was too weak
/// to find).
const EDGE_SNAP: usize = 4;
/// Aspects (width / height) an inset's missing side is restored with.
const INSET_ASPECTS: [f32; 2] = [4.0 / 3.0, 16.0 / 9.0];

/// `r` first, then, for each side of `r` at the image's edge, `r` with that
/// side placed from the opposite one at the common picture aspects: an
/// inset two of whose borders were found against the frame's edge keeps
/// the found ones.
pub fn aspect_variants(r: WorkRect, w: usize, h: usize) -> Vec<WorkRect> {
    let mut out = vec![r];
    let (rw, rh) = ((r.x1 - r.x0) as f32, (r.y1 - r.y0) as f32);
    for a in INSET_ASPECTS {
        let want_w = (rh * a).round() as usize;
        let want_h = (rw / a).round() as usize;
        let mut push = |v: WorkRect| {
            let ok = v.x1 > v.x0 + 8 && v.y1 > v.y0 + 8 && v.x1 <= w && v.y1 <= h;
            let differs = v.x0.abs_diff(r.x0)
                + v.x1.abs_diff(r.x1)
                + v.y0.abs_diff(r.y0)
                + v.y1.abs_diff(r.y1)
                >= 3;
            if ok && differs && !out.contains(&v) {
                out.push(v);
            }
        };
        if r.x0 <= EDGE_SNAP && r.x1 >= want_w {
            push(WorkRect {
                x0: r.x1 - want_w,
                ..r
            });
        }
        if r.x1 + EDGE_SNAP >= w {
            push(WorkRect {
                x1: r.x0 + want_w,
                ..r
            });
        }
        if r.y0 <= EDGE_SNAP && r.y1 >= want_h {
            push(WorkRect {
                y0: r.y1 - want_h,
                ..r
            });
        }
        if r.y1 + EDGE_SNAP >= h {
            push(WorkRect {
                y1: r.y0 + want_h,
                ..r
            });
        }
    }
    out
}

/// Fewest frames an inset or a static overlay is looked for in.
pub const MIN_WINDOW: usize = 3;
/// Two-pixel luma step a border must make.
const EDGE_MIN: f32 = 10.0;
/// A border's step is this many times the steps three pixels either side
/// of it: a cut between two pictures, not a ramp within one.
const EDGE_SHARPNESS: f32 = 1.3;
/// Fraction of the frames in which a border pixel must be on a step.
const EDGE_FRAMES: f32 = 0.5;
/// Most candidate lines per direction.
const MAX_LINES: usize = 12;
/// Smallest inset side, as a fraction of the frame's.
const INSET_MIN: f32 = 0.2;
/// Largest inset area, as a fraction of the frame's.
const INSET_MAX_AREA: f32 = 0.7;
/// Fraction of an inner side's length that must lie on the border line.
const SIDE_EVIDENCE: f32 = 0.45;
/// ... for an inset with a single inner side (the rest on the frame edge).
const LONE_SIDE_EVIDENCE: f32 = 0.8;
/// Most insets proposed per window.
const MAX_INSETS: usize = 2;

/// Rectangles of the window's frames that look like an inset picture:
/// bounded by lines where the picture steps sharply in every frame. At most
/// [`MAX_INSETS`], best first; none when the window has fewer than
/// [`MIN_WINDOW`] frames or frames of different sizes.
pub fn inset_rects(window: &[&WorkImage]) -> Vec<WorkRect> {
    let Some(first) = window.first() else {
        return Vec::new();
    };
    let (w, h) = (first.w, first.h);
    if window.len() < MIN_WINDOW || window.iter().any(|i| i.w != w || i.h != h) || w < 16 || h < 16
    {
        return Vec::new();
    }
    // Per pixel, the frames in which it is on a strong two-pixel step that
    // is a local maximum across the line (within two pixels): a border is
    // one in nearly every frame, the picture's own edges move.
    let mut cv = vec![0u16; w * h];
    let mut ch = vec![0u16; w * h];
    let mut d = vec![0f32; w * h];
    for img in window {
        for y in 0..h {
            for x in 1..w - 1 {
                d[y * w + x] = (img.at(x + 1, y) - img.at(x - 1, y)).abs();
            }
            for x in 3..w - 3 {
                let v = d[y * w + x];
                let near = d[y * w + x - 2].max(d[y * w + x + 2]);
                let far = d[y * w + x - 3].max(d[y * w + x + 3]);
                if v >= EDGE_MIN && v >= near && v >= far * EDGE_SHARPNESS {
                    cv[y * w + x] += 1;
                }
            }
        }
        for y in 1..h - 1 {
            for x in 0..w {
                d[y * w + x] = (img.at(x, y + 1) - img.at(x, y - 1)).abs();
            }
        }
        for y in 3..h - 3 {
            for x in 0..w {
                let v = d[y * w + x];
                let near = d[(y - 2) * w + x].max(d[(y + 2) * w + x]);
                let far = d[(y - 3) * w + x].max(d[(y + 3) * w + x]);
                if v >= EDGE_MIN && v >= near && v >= far * EDGE_SHARPNESS {
                    ch[y * w + x] += 1;
                }
            }
        }
    }
    let steady = ((window.len() as f32 * EDGE_FRAMES).ceil() as u16).max(2);
    let ev: Vec<bool> = cv.iter().map(|&c| c >= steady).collect();
    let eh: Vec<bool> = ch.iter().map(|&c| c >= steady).collect();
    // Per column, prefix counts down the rows of "an edge within one
    // column"; per row, across the columns.
    let mut pv = vec![0u32; w * (h + 1)];
    for x in 0..w {
        for y in 0..h {
            let hit = (x.saturating_sub(1)..=(x + 1).min(w - 1)).any(|c| ev[y * w + c]);
            pv[x * (h + 1) + y + 1] = pv[x * (h + 1) + y] + u32::from(hit);
        }
    }
    let mut ph = vec![0u32; h * (w + 1)];
    for y in 0..h {
        for x in 0..w {
            let hit = (y.saturating_sub(1)..=(y + 1).min(h - 1)).any(|r| eh[r * w + x]);
            ph[y * (w + 1) + x + 1] = ph[y * (w + 1) + x] + u32::from(hit);
        }
    }
    // Candidate lines: a border is one long run of edge pixels; the
    // picture's own edges are short and scattered.
    let col_run =
        |x: usize| longest_run((0..h).map(|y| pv[x * (h + 1) + y + 1] > pv[x * (h + 1) + y]));
    let row_run =
        |y: usize| longest_run((0..w).map(|x| ph[y * (w + 1) + x + 1] > ph[y * (w + 1) + x]));
    // A step between pixels p and p + 1 lights both: the border is at the
    // second of the two lit lines.
    let col_edges = |x: usize| (0..h).filter(|&y| ev[y * w + x]).count();
    let row_edges = |y: usize| (0..w).filter(|&x| eh[y * w + x]).count();
    let refine = |c: usize, n: usize, count: &dyn Fn(usize) -> usize| {
        (c.saturating_sub(2).max(1)..=(c + 2).min(n - 1))
            .max_by_key(|&p| (count(p - 1) + count(p), std::cmp::Reverse(p.abs_diff(c))))
            .unwrap_or(c)
    };
    let xs: Vec<usize> = strongest_lines(w, (h as f32 * INSET_MIN) as u32, col_run)
        .into_iter()
        .map(|c| refine(c, w, &col_edges))
        .collect();
    let ys: Vec<usize> = strongest_lines(h, (w as f32 * INSET_MIN) as u32, row_run)
        .into_iter()
        .map(|c| refine(c, h, &row_edges))
        .collect();
    if xs.is_empty() && ys.is_empty() {
        return Vec::new();
    }
    let xs: Vec<usize> = [0].into_iter().chain(xs).chain([w]).collect();
    let ys: Vec<usize> = [0].into_iter().chain(ys).chain([h]).collect();
    let vertical = |x: usize, y0: usize, y1: usize| {
        (pv[x * (h + 1) + y1] - pv[x * (h + 1) + y0]) as f32 / (y1 - y0) as f32
    };
    let horizontal = |y: usize, x0: usize, x1: usize| {
        (ph[y * (w + 1) + x1] - ph[y * (w + 1) + x0]) as f32 / (x1 - x0) as f32
    };
    let mut found: Vec<(f32, WorkRect)> = Vec::new();
    for (i, &x0) in xs.iter().enumerate() {
        for &x1 in &xs[i + 1..] {
            for (j, &y0) in ys.iter().enumerate() {
                for &y1 in &ys[j + 1..] {
                    let (rw, rh) = (x1 - x0, y1 - y0);
                    if (rw as f32) < w as f32 * INSET_MIN
                        || (rh as f32) < h as f32 * INSET_MIN
                        || (rw * rh) as f32 > (w * h) as f32 * INSET_MAX_AREA
                        || !(0.45..=2.6).contains(&(rw as f32 / rh as f32))
                    {
                        continue;
                    }
                    let mut sides = Vec::with_capacity(4);
                    if x0 > 0 {
                        sides.push(vertical(x0, y0, y1));
                    }
                    if x1 < w {
                        sides.push(vertical(x1, y0, y1));
                    }
                    if y0 > 0 {
                        sides.push(horizontal(y0, x0, x1));
                    }
                    if y1 < h {
                        sides.push(horizontal(y1, x0, x1));
                    }
                    let weakest = sides.iter().copied().fold(f32::INFINITY, f32::min);
                    let mean = sides.iter().sum::<f32>() / sides.len().max(1) as f32;
                    let ok = match sides.len() {
                        0 => false,
                        1 => weakest >= LONE_SIDE_EVIDENCE,
                        _ => weakest >= SIDE_EVIDENCE,
                    };
                    if ok {
                        let r = WorkRect { x0, y0, x1, y1 };
                        found.push((mean + 0.05 * sides.len() as f32, r));
                    }
                }
            }
        }
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.area().cmp(&a.1.area())));
    let mut out: Vec<WorkRect> = Vec::new();
    for (_, r) in found {
        if out.iter().all(|o| o.overlap(&r) < 0.5) {
            out.push(r);
            if out.len() == MAX_INSETS {
                break;
            }
        }
    }
    out
}

/// The longest run of `true`, bridging gaps of up to two.
fn longest_run(bits: impl Iterator<Item = bool>) -> u32 {
    let (mut best, mut run, mut gap) = (0u32, 0u32, 0u32);
    for b in bits {
        if b {
            run += gap + 1;
            gap = 0;
            best = best.max(run);
        } else if run > 0 && gap < 2 {
            gap += 1;
        } else {
            run = 0;
            gap = 0;
        }
    }
    best
}

/// Up to [`MAX_LINES`] positions in `2..n-2` with the largest `total`, at
/// least `min`, at least three apart.
fn strongest_lines(n: usize, min: u32, total: impl Fn(usize) -> u32) -> Vec<usize> {
    let mut all: Vec<(u32, usize)> = (2..n.saturating_sub(2))
        .map(|i| (total(i), i))
        .filter(|&(t, _)| t >= min.max(1))
        .collect();
    all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<usize> = Vec::new();
    for (_, i) in all {
        if out.iter().all(|&o| o.abs_diff(i) >= 3) {
            out.push(i);
            if out.len() == MAX_LINES {
                break;
            }
        }
    }
    out.sort_unstable();
    out
}

/// A pixel whose range over the window is at most this fraction of the
/// frame's median range is still.
const STILL_RATIO: f32 = 0.2;
/// ... and at least this range (compression noise) is always still.
const STILL_MIN: f32 = 5.0;
/// A row whose pixels are mostly (this fraction) at most
/// [`BAND_STILL_RATIO`] of the median range belongs to a band overlay.
const BAND_ROW_FRACTION: f32 = 0.7;
/// See [`BAND_ROW_FRACTION`]: a translucent band keeps a fraction of the
/// picture's motion.
const BAND_STILL_RATIO: f32 = 0.45;
/// The picture must move this much (median range over the window) for
/// stillness to say anything.
const MOVING_MIN: f32 = 12.0;
/// Masked fraction of the frame accepted: below it there is nothing to
/// remove, above it the picture itself is still.
const MASK_FRACTION: std::ops::RangeInclusive<f32> = 0.005..=0.5;

/// Which pixels of the window's frames stay still while the picture moves
/// (overlays: a logo, a watermark, a caption band), row major, or `None`
/// when the window is too short, its picture too still, or the still part
/// too small or too large to be an overlay.
pub fn static_mask(window: &[&WorkImage]) -> Option<Vec<bool>> {
    let first = window.first()?;
    let (w, h) = (first.w, first.h);
    if window.len() < MIN_WINDOW || window.iter().any(|i| i.w != w || i.h != h) {
        return None;
    }
    let mut lo = first.px.clone();
    let mut hi = first.px.clone();
    for img in &window[1..] {
        for ((l, u), &p) in lo.iter_mut().zip(hi.iter_mut()).zip(&img.px) {
            *l = (*l).min(p);
            *u = (*u).max(p);
        }
    }
    let range: Vec<f32> = lo
        .iter()
        .zip(&hi)
        .map(|(&l, &u)| f32::from(u - l))
        .collect();
    let mut sorted = range.clone();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    if median < MOVING_MIN {
        return None;
    }
    let still = (median * STILL_RATIO).max(STILL_MIN);
    let mut mask: Vec<bool> = range.iter().map(|&r| r <= still).collect();
    for y in 0..h {
        let row = &range[y * w..(y + 1) * w];
        let quiet = row
            .iter()
            .filter(|&&r| r <= median * BAND_STILL_RATIO)
            .count();
        if quiet as f32 >= w as f32 * BAND_ROW_FRACTION {
            mask[y * w..(y + 1) * w].iter_mut().for_each(|m| *m = true);
        }
    }
    // Lone still pixels are flat picture, not overlay: keep a pixel only
    // when most of its 5×5 neighbourhood is still; then widen by one pixel
    // for the overlay's anti-aliased edge.
    let mut solid = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            if !mask[y * w + x] {
                continue;
            }
            let (ya, yb) = (y.saturating_sub(2), (y + 3).min(h));
            let (xa, xb) = (x.saturating_sub(2), (x + 3).min(w));
            let count = (ya..yb)
                .flat_map(|yy| (xa..xb).map(move |xx| (yy, xx)))
                .filter(|&(yy, xx)| mask[yy * w + xx])
                .count();
            solid[y * w + x] = count * 3 >= (yb - ya) * (xb - xa) * 2;
        }
    }
    let mut grown = solid.clone();
    for y in 0..h {
        for x in 0..w {
            if solid[y * w + x] {
                for yy in y.saturating_sub(1)..(y + 2).min(h) {
                    for xx in x.saturating_sub(1)..(x + 2).min(w) {
                        grown[yy * w + xx] = true;
                    }
                }
            }
        }
    }
    let fraction = grown.iter().filter(|&&m| m).count() as f32 / (w * h) as f32;
    MASK_FRACTION.contains(&fraction).then_some(grown)
}

/// `img` with its masked pixels filled from the nearest unmasked pixels to
/// the left, right, above and below, each weighted by the inverse of its
/// distance.
pub fn inpaint(img: &WorkImage, mask: &[bool]) -> WorkImage {
    let (w, h) = (img.w, img.h);
    let mut sum = vec![0f32; w * h];
    let mut weight = vec![0f32; w * h];
    let mut add = |i: usize, v: f32, d: usize| {
        let k = 1.0 / d as f32;
        sum[i] += v * k;
        weight[i] += k;
    };
    for y in 0..h {
        let mut last: Option<(usize, f32)> = None;
        for x in 0..w {
            let i = y * w + x;
            if !mask[i] {
                last = Some((x, img.at(x, y)));
            } else if let Some((lx, v)) = last {
                add(i, v, x - lx);
            }
        }
        let mut last: Option<(usize, f32)> = None;
        for x in (0..w).rev() {
            let i = y * w + x;
            if !mask[i] {
                last = Some((x, img.at(x, y)));
            } else if let Some((lx, v)) = last {
                add(i, v, lx - x);
            }
        }
    }
    for x in 0..w {
        let mut last: Option<(usize, f32)> = None;
        for y in 0..h {
            let i = y * w + x;
            if !mask[i] {
                last = Some((y, img.at(x, y)));
            } else if let Some((ly, v)) = last {
                add(i, v, y - ly);
            }
        }
        let mut last: Option<(usize, f32)> = None;
        for y in (0..h).rev() {
            let i = y * w + x;
            if !mask[i] {
                last = Some((y, img.at(x, y)));
            } else if let Some((ly, v)) = last {
                add(i, v, ly - y);
            }
        }
    }
    let px = img
        .px
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            if mask[i] && weight[i] > 0.0 {
                (sum[i] / weight[i]).round().clamp(0.0, 255.0) as u8
            } else {
                p
            }
        })
        .collect();
    WorkImage { w, h, px }
}
