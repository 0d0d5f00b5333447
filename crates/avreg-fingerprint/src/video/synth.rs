//! Synthetic, deterministic video for tests, benchmarks and examples:
//! scenes of moving soft blobs over a textured background, changing every
//! few seconds, rendered at any resolution from continuous coordinates (so a
//! "rescaled" copy is the same picture), and the edits platforms apply
//! (crop, letterbox, brightness, logo, mirror). Not part of the
//! fingerprinting API.

use crate::audio::synth::Rng;

/// Length of one synthetic scene.
pub const SCENE_MS: u64 = 2_500;

/// An owned luma plane without padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plane {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width × height` bytes, row-major.
    pub data: Vec<u8>,
}

impl Plane {
    /// Borrowed as a [`super::LumaFrame`].
    pub fn frame(&self) -> super::LumaFrame<'_> {
        super::LumaFrame::new(&self.data, self.width, self.height, self.width)
            .expect("synthetic planes are valid")
    }

    /// The rectangle `x, y, w, h` as a new plane.
    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Plane {
        let mut data = Vec::with_capacity(w * h);
        for r in y..y + h {
            data.extend_from_slice(&self.data[r * self.width + x..r * self.width + x + w]);
        }
        Plane {
            width: w,
            height: h,
            data,
        }
    }

    /// Bilinear resize (a test edit, not used by the fingerprinter).
    pub fn resize(&self, w: usize, h: usize) -> Plane {
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            let sy = ((y as f32 + 0.5) * self.height as f32 / h as f32 - 0.5).max(0.0);
            let y0 = (sy as usize).min(self.height - 1);
            let y1 = (y0 + 1).min(self.height - 1);
            let fy = sy - y0 as f32;
            for x in 0..w {
                let sx = ((x as f32 + 0.5) * self.width as f32 / w as f32 - 0.5).max(0.0);
                let x0 = (sx as usize).min(self.width - 1);
                let x1 = (x0 + 1).min(self.width - 1);
                let fx = sx - x0 as f32;
                let p = |yy: usize, xx: usize| f32::from(self.data[yy * self.width + xx]);
                let v = (p(y0, x0) * (1.0 - fx) + p(y0, x1) * fx) * (1.0 - fy)
                    + (p(y1, x0) * (1.0 - fx) + p(y1, x1) * fx) * fy;
                data.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
        Plane {
            width: w,
            height: h,
            data,
        }
    }

    /// Multiplies every pixel by `gain` (brightness change).
    pub fn brightness(&self, gain: f32) -> Plane {
        let data = self
            .data
            .iter()
            .map(|&p| (f32::from(p) * gain).round().clamp(0.0, 255.0) as u8)
            .collect();
        Plane { data, ..*self }
    }

    /// Mirrored left to right.
    pub fn mirror(&self) -> Plane {
        let mut data = Vec::with_capacity(self.data.len());
        for row in self.data.chunks_exact(self.width) {
            data.extend(row.iter().rev());
        }
        Plane { data, ..*self }
    }

    /// Centred in a black canvas of `w × h` (letterbox or pillarbox).
    pub fn boxed(&self, w: usize, h: usize) -> Plane {
        let mut data = vec![0u8; w * h];
        let (x0, y0) = ((w - self.width) / 2, (h - self.height) / 2);
        for (r, row) in self.data.chunks_exact(self.width).enumerate() {
            data[(y0 + r) * w + x0..(y0 + r) * w + x0 + self.width].copy_from_slice(row);
        }
        Plane {
            width: w,
            height: h,
            data,
        }
    }

    /// Turned by `deg` degrees about its centre, then cropped to the
    /// largest centred rectangle of its aspect free of corners and scaled
    /// back to its size (a tilted re-film).
    pub fn rotate_fill(&self, deg: f32) -> Plane {
        let (w, h) = (self.width as f32, self.height as f32);
        let a = deg.to_radians();
        let k = super::views::fill_scale(w, h, a);
        let (sin, cos) = a.sin_cos();
        let mut data = Vec::with_capacity(self.data.len());
        for y in 0..self.height {
            for x in 0..self.width {
                let dx = (x as f32 + 0.5 - w / 2.0) * k;
                let dy = (y as f32 + 0.5 - h / 2.0) * k;
                // The output shows the source turned by `a`: sample the
                // source at the point turned back.
                let sx = (w / 2.0 + dx * cos + dy * sin).clamp(0.0, w - 1.0);
                let sy = (h / 2.0 - dx * sin + dy * cos).clamp(0.0, h - 1.0);
                data.push(self.data[sy as usize * self.width + sx as usize]);
            }
        }
        Plane { data, ..*self }
    }

    /// `self` pasted over `background` with its top-left corner at (x, y)
    /// (picture-in-picture).
    pub fn inset_into(&self, background: &Plane, x: usize, y: usize) -> Plane {
        let mut out = background.clone();
        for (r, row) in self.data.chunks_exact(self.width).enumerate() {
            let at = (y + r) * out.width + x;
            out.data[at..at + self.width].copy_from_slice(row);
        }
        out
    }

    /// A broadcaster-style overlay: a bright logo box with a dark border in
    /// the top-right corner, `frac` of the width wide, and a line of
    /// caption-like text (sparse bright strokes) near the bottom.
    pub fn logo(&self, frac: f32) -> Plane {
        let mut out = self.clone();
        let lw = ((self.width as f32 * frac) as usize).max(4);
        let lh = (lw / 2).max(4);
        let (x0, y0) = (self.width - lw - self.width / 40, self.height / 30);
        for y in y0..y0 + lh {
            for x in x0..x0 + lw {
                let edge = y < y0 + 2 || y + 2 >= y0 + lh || x < x0 + 2 || x + 2 >= x0 + lw;
                out.data[y * self.width + x] = if edge { 20 } else { 235 };
            }
        }
        let ch = (self.height / 20).max(2);
        let cy = self.height - 2 * ch;
        for y in cy..cy + ch {
            for x in self.width / 4..self.width * 3 / 4 {
                // Glyph-like strokes: about a fifth of the pixels.
                if (x * 7 / ch + y * 3 / ch + (x / ch) * (x / ch)).is_multiple_of(5) {
                    out.data[y * self.width + x] = 240;
                }
            }
        }
        out
    }
}

/// A deterministic synthetic video: `render(t)` is the frame at `t` ms.
#[derive(Clone, Debug)]
pub struct Scenes {
    seed: u64,
}

impl Scenes {
    /// The video of `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// The frame at `time_ms`, rendered at `w × h`.
    pub fn render(&self, time_ms: u64, w: usize, h: usize) -> Plane {
        let scene = time_ms / SCENE_MS;
        let t = (time_ms % SCENE_MS) as f32 / 1000.0;
        let mut rng = Rng::new(self.seed.wrapping_mul(1_000_003).wrapping_add(scene));
        let blobs: Vec<[f32; 7]> = (0..7)
            .map(|_| {
                [
                    rng.unit(),
                    rng.unit(),
                    0.05 + 0.2 * rng.unit(),
                    (rng.unit() - 0.5) * 200.0,
                    (rng.unit() - 0.5) * 0.06,
                    (rng.unit() - 0.5) * 0.06,
                    0.0,
                ]
            })
            .collect();
        // Gratings from 2 to 22 cycles per picture: the mid-frequency
        // texture real footage has and smooth blobs lack.
        let gratings: Vec<[f32; 4]> = (0..6)
            .map(|_| {
                [
                    (2.0 + 20.0 * rng.unit()) * std::f32::consts::TAU,
                    (2.0 + 20.0 * rng.unit())
                        * std::f32::consts::TAU
                        * if rng.unit() < 0.5 { -1.0 } else { 1.0 },
                    std::f32::consts::TAU * rng.unit(),
                    8.0 + 14.0 * rng.unit(),
                ]
            })
            .collect();
        let base = 70.0 + 100.0 * rng.unit();
        let mut data = Vec::with_capacity(w * h);
        let aspect = w as f32 / h as f32;
        for y in 0..h {
            let v = (y as f32 + 0.5) / h as f32;
            for x in 0..w {
                let u = (x as f32 + 0.5) / w as f32;
                let mut s = base;
                for g in &gratings {
                    s += g[3] * (g[0] * u + g[1] * v + g[2] + t).sin();
                }
                for b in &blobs {
                    let du = (u - b[0] - b[4] * t) * aspect;
                    let dv = v - b[1] - b[5] * t;
                    s += b[3] * (-(du * du + dv * dv) / (b[2] * b[2])).exp();
                }
                data.push(s.round().clamp(0.0, 255.0) as u8);
            }
        }
        Plane {
            width: w,
            height: h,
            data,
        }
    }
}
