//! Luma planes: validation, black-bar detection and the box downscale to
//! PDQ's 64×64 working square. Frames are never converted to RGB and never
//! go through a generic resizer: the decoder's Y plane is read in place.

use super::pdq::WORK_DIM;
use crate::error::{Error, Result};

/// Widest or tallest frame accepted.
pub const MAX_DIM: usize = 8192;
/// Most pixels in one frame accepted (8K UHD).
pub const MAX_PIXELS: usize = 7680 * 4320;

/// A borrowed luma (Y) plane: `height` rows of `width` bytes, each row
/// starting `stride` bytes after the previous one.
#[derive(Clone, Copy, Debug)]
pub struct LumaFrame<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
}

impl<'a> LumaFrame<'a> {
    /// Checks the geometry against the buffer and the size limits.
    pub fn new(data: &'a [u8], width: usize, height: usize, stride: usize) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::InvalidStream(format!(
                "empty frame {width}x{height}"
            )));
        }
        if width > MAX_DIM || height > MAX_DIM || width * height > MAX_PIXELS {
            return Err(Error::Limit(format!(
                "frame {width}x{height} exceeds {MAX_DIM}x{MAX_DIM} or {MAX_PIXELS} pixels"
            )));
        }
        if stride < width || data.len() < stride * (height - 1) + width {
            return Err(Error::InvalidStream(format!(
                "luma buffer of {} bytes too small for {width}x{height} with stride {stride}",
                data.len()
            )));
        }
        Ok(Self {
            data,
            width,
            height,
            stride,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The whole frame as a rectangle.
    pub fn full(&self) -> Rect {
        Rect {
            x: 0,
            y: 0,
            w: self.width,
            h: self.height,
        }
    }

    /// Row `y` (without padding).
    pub fn row(&self, y: usize) -> &'a [u8] {
        &self.data[y * self.stride..y * self.stride + self.width]
    }
}

/// A rectangle of a frame, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: usize,
    /// Top edge.
    pub y: usize,
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
}

impl Rect {
    /// The sub-rectangle of relative size `scale` (0..=1) whose position
    /// within the free margin is given by `fx`, `fy` in 0..=1 (0.5, 0.5 is
    /// the centre crop, 0, 0 the top-left corner).
    pub fn crop(&self, scale: f32, fx: f32, fy: f32) -> Rect {
        let w = ((self.w as f32 * scale).round() as usize).clamp(1, self.w);
        let h = ((self.h as f32 * scale).round() as usize).clamp(1, self.h);
        let x = self.x + (((self.w - w) as f32) * fx).round() as usize;
        let y = self.y + (((self.h - h) as f32) * fy).round() as usize;
        Rect { x, y, w, h }
    }

    /// The middle half of the rows (from a quarter to three quarters of the
    /// height), at full width.
    pub fn middle_rows(&self) -> Rect {
        let top = self.h / 4;
        let h = (self.h - 2 * top).max(1);
        Rect {
            x: self.x,
            y: self.y + top,
            w: self.w,
            h,
        }
    }
}

/// Mean luma at or below which a row or column counts as a black bar.
const BAR_MEAN: u32 = 24;
/// Brightest pixel tolerated in a bar (compression noise, a thin logo
/// excepted by the mean).
const BAR_PEAK: u8 = 60;
/// Bars are removed only while at least this fraction of each dimension
/// remains: an all-dark frame is not a frame of bars.
const MIN_CONTENT: f32 = 0.4;

/// The frame without its letterbox or pillarbox bars: rows and columns from
/// each edge whose mean luma is near black are dropped.
pub fn content_rect(frame: &LumaFrame<'_>) -> Rect {
    content_rect_in(frame, frame.full())
}

/// The middle half of the frame's rows without their own black bars: the
/// region that corner logos, watermarks and caption bands, which keep to
/// the edges of a picture, leave clear. The rows are the frame's, not those
/// of its [`content_rect`]: an overlay over a bar hides where the bar ends,
/// while the middle rows' side bars are measured past the overlays.
pub fn middle_band(frame: &LumaFrame<'_>, crop_bars: bool) -> Rect {
    let band = frame.full().middle_rows();
    if crop_bars {
        content_rect_in(frame, band)
    } else {
        band
    }
}

/// [`content_rect`] inside `rect`: the bars of a picture that is itself
/// part of a frame (the band of a vertical re-post).
pub fn content_rect_in(frame: &LumaFrame<'_>, rect: Rect) -> Rect {
    let (x0, y0, w, h) = (rect.x, rect.y, rect.w, rect.h);
    if w == 0 || h == 0 {
        return rect;
    }
    let min_h = ((h as f32 * MIN_CONTENT) as usize).max(1);
    let min_w = ((w as f32 * MIN_CONTENT) as usize).max(1);
    let row_black = |y: usize| is_black(frame.row(y0 + y)[x0..x0 + w].iter().copied(), w);
    let mut top = 0;
    while top + min_h < h && row_black(top) {
        top += 1;
    }
    let mut bottom = h;
    while bottom - top > min_h && row_black(bottom - 1) {
        bottom -= 1;
    }
    let col_black = |x: usize| {
        is_black(
            (top..bottom).map(|y| frame.row(y0 + y)[x0 + x]),
            bottom - top,
        )
    };
    let mut left = 0;
    while left + min_w < w && col_black(left) {
        left += 1;
    }
    let mut right = w;
    while right - left > min_w && col_black(right - 1) {
        right -= 1;
    }
    // Bars reaching the limit mean a dark picture, not bars.
    if bottom - top <= min_h || right - left <= min_w {
        return rect;
    }
    Rect {
        x: x0 + left,
        y: y0 + top,
        w: right - left,
        h: bottom - top,
    }
}

fn is_black(pixels: impl Iterator<Item = u8>, n: usize) -> bool {
    let mut sum = 0u32;
    for p in pixels {
        if p > BAR_PEAK {
            return false;
        }
        sum += u32::from(p);
    }
    sum <= BAR_MEAN * n as u32
}

/// Box (area-average) downscale of `rect` to 64×64: each output cell is the
/// mean of the source pixels in its cell (cells of a rectangle smaller than
/// 64 repeat pixels). One pass over the pixels with integer sums.
pub fn downscale_64(frame: &LumaFrame<'_>, rect: Rect) -> Box<[[f32; WORK_DIM]; WORK_DIM]> {
    let mut flat = vec![0f32; WORK_DIM * WORK_DIM];
    downscale_into(frame, rect, WORK_DIM, WORK_DIM, &mut flat);
    let mut out = Box::new([[0f32; WORK_DIM]; WORK_DIM]);
    for (row, src) in out.iter_mut().zip(flat.chunks_exact(WORK_DIM)) {
        row.copy_from_slice(src);
    }
    out
}

/// Box downscale of `rect` to `out_w × out_h` cells into `out` (row major,
/// at least `out_w × out_h` long), as [`downscale_64`].
pub fn downscale_into(
    frame: &LumaFrame<'_>,
    rect: Rect,
    out_w: usize,
    out_h: usize,
    out: &mut [f32],
) {
    let cols = cell_edges(rect.w, out_w);
    let rows = cell_edges(rect.h, out_h);
    let mut colsum = vec![0u32; rect.w];
    for (oi, orow) in out.chunks_exact_mut(out_w).take(out_h).enumerate() {
        let (y0, y1) = (rows[oi], rows[oi + 1].max(rows[oi] + 1));
        colsum.iter_mut().for_each(|c| *c = 0);
        for y in y0..y1 {
            let src = &frame.row(rect.y + y)[rect.x..rect.x + rect.w];
            for (c, &p) in colsum.iter_mut().zip(src) {
                *c += u32::from(p);
            }
        }
        for (oj, v) in orow.iter_mut().enumerate() {
            let (x0, x1) = (cols[oj], cols[oj + 1].max(cols[oj] + 1));
            let s: u32 = colsum[x0..x1].iter().sum();
            *v = s as f32 / ((x1 - x0) * (y1 - y0)) as f32;
        }
    }
}

/// Cell boundaries: `cells + 1` source positions splitting `n` into
/// `cells` cells.
fn cell_edges(n: usize, cells: usize) -> Vec<usize> {
    (0..=cells).map(|i| i * n / cells).collect()
}

/// A portrait frame is searched for a sharp band only when its content is
/// at least this much taller than wide.
const BAND_MIN_PORTRAIT: f32 = 1.2;
/// A row belongs to the picture when its detail (mean absolute difference
/// of horizontal neighbours) is at least this fraction of the centre rows'.
const BAND_DETAIL_RATIO: f32 = 0.3;
/// Blurred bars must hold at most this fraction of the centre rows' detail.
const BAR_DETAIL_RATIO: f32 = 0.15;

/// Whether `rect` is tall enough (and wide enough) to hold a landscape
/// picture between bars.
fn is_portrait(rect: Rect) -> bool {
    rect.h as f32 >= rect.w as f32 * BAND_MIN_PORTRAIT && rect.w >= 16
}

/// The picture of a vertical (9:16) frame made from a landscape one: a
/// sharp band across the middle, over a blurred and enlarged copy of
/// itself (the "blurred bars" of phone re-posts). Black-bar removal does
/// not see such bars, and the whole canvas hashes nothing like the
/// original. Returns the band when `rect` is portrait, its middle rows are
/// detailed, and the rows above and below are blurred, at most a fraction
/// as detailed, and each at least a twentieth of the height; `None`
/// otherwise.
pub fn sharp_band(frame: &LumaFrame<'_>, rect: Rect) -> Option<Rect> {
    if !is_portrait(rect) || rect.h < 32 {
        return None;
    }
    let detail = |y: usize| -> f32 {
        let row = &frame.row(y)[rect.x..rect.x + rect.w];
        let sum: u32 = row.windows(2).map(|p| u32::from(p[0].abs_diff(p[1]))).sum();
        sum as f32 / (rect.w - 1) as f32
    };
    let rows: Vec<f32> = (rect.y..rect.y + rect.h).map(detail).collect();
    let n = rows.len();
    // Smooth over 5 rows so one flat line inside the picture does not cut it.
    let smooth: Vec<f32> = (0..n)
        .map(|i| {
            let (a, b) = (i.saturating_sub(2), (i + 3).min(n));
            rows[a..b].iter().sum::<f32>() / (b - a) as f32
        })
        .collect();
    let mut centre: Vec<f32> = smooth[n * 2 / 5..n * 3 / 5].to_vec();
    centre.sort_by(f32::total_cmp);
    let reference = centre[centre.len() / 2];
    if reference < 2.0 {
        return None; // a flat middle: nothing to tell bars from picture
    }
    let sharp = |i: usize| smooth[i] >= reference * BAND_DETAIL_RATIO;
    let mut top = n / 2;
    while top > 0 && sharp(top - 1) {
        top -= 1;
    }
    let mut bottom = n / 2;
    while bottom < n && sharp(bottom) {
        bottom += 1;
    }
    let margin = n / 20;
    if top < margin.max(1) || n - bottom < margin.max(1) {
        return None;
    }
    let bar_detail = |r: std::ops::Range<usize>| {
        let len = r.len().max(1) as f32;
        rows[r].iter().sum::<f32>() / len
    };
    // The bars, away from their edge with the band, must be blurred.
    let inner = margin.min(top / 2);
    if bar_detail(0..top - inner) > reference * BAR_DETAIL_RATIO
        || bar_detail(bottom + inner.min(n - bottom)..n) > reference * BAR_DETAIL_RATIO
    {
        return None;
    }
    if ((bottom - top) as f32) < n as f32 * 0.2 {
        return None;
    }
    Some(Rect {
        x: rect.x,
        y: rect.y + top,
        w: rect.w,
        h: bottom - top,
    })
}

/// The centred band of aspect `num:den` (width to height) of a portrait
/// `rect` (at least [`BAND_MIN_PORTRAIT`] times taller than wide): where a
/// vertical re-post puts a landscape picture fit to its width.
pub fn portrait_centre(rect: Rect, num: usize, den: usize) -> Option<Rect> {
    if !is_portrait(rect) {
        return None;
    }
    let h = (rect.w * den / num).clamp(1, rect.h);
    Some(Rect {
        x: rect.x,
        y: rect.y + (rect.h - h) / 2,
        w: rect.w,
        h,
    })
}

/// An edge row must step at least this much (mean absolute luma difference
/// from the row above, over the width).
const EDGE_MIN_STEP: f32 = 1.5;
/// ... and this many times the rows' steps on its outer (bar) side.
const EDGE_MIN_RATIO: f32 = 3.0;
/// Rows of the bar side an edge is compared with.
const EDGE_SIDE_ROWS: usize = 4;

/// The picture of a vertical frame fit to its width over bars of any kind
/// (blurred, darkened, a zoom of itself, or detailed content of the
/// picture's own flat areas, where [`sharp_band`] cannot tell them apart):
/// the pair of horizontal edges, symmetric about the middle, where most
/// columns step at once and the bar side beyond is smooth. `None` when
/// `rect` is not portrait or no pair stands out.
pub fn edge_band(frame: &LumaFrame<'_>, rect: Rect) -> Option<Rect> {
    if !is_portrait(rect) || rect.h < 64 {
        return None;
    }
    let (x0, y0, w, h) = (rect.x, rect.y, rect.w, rect.h);
    // step[y]: mean |row y − row y−1| over every other column.
    let mut step = vec![0.0f32; h];
    for (y, s) in step.iter_mut().enumerate().skip(1) {
        let a = &frame.row(y0 + y - 1)[x0..x0 + w];
        let b = &frame.row(y0 + y)[x0..x0 + w];
        let sum: u32 = a
            .iter()
            .zip(b)
            .step_by(2)
            .map(|(p, q)| u32::from(p.abs_diff(*q)))
            .sum();
        *s = sum as f32 / w.div_ceil(2) as f32;
    }
    let side = |r: std::ops::Range<usize>| {
        let len = r.len().max(1) as f32;
        step[r].iter().sum::<f32>() / len
    };
    // How much an edge at row y stands out from its bar side.
    let top_score = |y: usize| {
        if y <= EDGE_SIDE_ROWS || step[y] < EDGE_MIN_STEP {
            return 0.0;
        }
        step[y] / (side(y - EDGE_SIDE_ROWS..y) + 0.5)
    };
    let bottom_score = |y: usize| {
        if y + 1 + EDGE_SIDE_ROWS > h || step[y] < EDGE_MIN_STEP {
            return 0.0;
        }
        step[y] / (side(y + 1..y + 1 + EDGE_SIDE_ROWS) + 0.5)
    };
    // The band keeps at least a fifth of the height; bars at least a
    // fortieth each.
    let (lo, hi) = (h / 40 + EDGE_SIDE_ROWS + 1, h * 2 / 5);
    let mut best: Option<(f32, usize, usize)> = None;
    for top in lo..=hi {
        let t = top_score(top);
        if t < EDGE_MIN_RATIO {
            continue;
        }
        // The bottom edge (first row below the picture) mirrors the top,
        // within the rounding of scaling and even sizes.
        let mirror = h - top;
        let (b, bottom) = (mirror.saturating_sub(3)..(mirror + 4).min(h))
            .map(|y| (bottom_score(y), y))
            .fold((0.0f32, mirror), |acc, x| if x.0 > acc.0 { x } else { acc });
        let score = t.min(b);
        if score >= EDGE_MIN_RATIO && best.is_none_or(|(s, _, _)| score > s) {
            best = Some((score, top, bottom));
        }
    }
    let (_, top, bottom) = best?;
    Some(Rect {
        x: x0,
        y: y0 + top,
        w,
        h: bottom - top,
    })
}
