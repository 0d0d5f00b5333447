//! PDQ: Meta's 256-bit perceptual hash of a picture's luminance, written
//! from its published description (hashing.pdf) and checked bit for bit
//! against the reference implementation (the `pdqhash` Python package, which
//! wraps Meta's C++) on committed golden vectors (`fixtures/video/`).
//!
//! The algorithm, on a float luma plane:
//!
//! 1. blur with a Jarosz filter (two passes of a box filter along rows then
//!    columns, window `ceil(dim / 128)`) and decimate to 64×64 by picking the
//!    sample at the centre of each cell; a plane already 64×64 is used as is;
//! 2. quality: the sum of absolute neighbour differences of the 64×64, scaled
//!    to 0..=100 (low values mean a flat, unreliable picture);
//! 3. the 16×16 lowest non-DC coefficients of the 2-D DCT-II of the 64×64;
//! 4. one bit per coefficient: set when it exceeds the median of the 256.
//!
//! Float operations follow the reference's order exactly (sequential `f32`
//! sums, the same DCT matrix rounding, the same median selection) so the
//! bits agree even for coefficients near the median.
//!
//! The video pipeline feeds step 3 a 64×64 box average instead of step 1
//! (faster, and a better low-pass than decimation); see
//! [`crate::video::luma`].

use serde::{Deserialize, Serialize};

/// Side of PDQ's working square.
pub const WORK_DIM: usize = 64;
/// Side of the retained DCT block.
const DCT_DIM: usize = 16;
/// Pictures smaller than this on either side hash to all zeros with quality
/// 0, as in the reference.
pub const MIN_HASHABLE_DIM: usize = 5;
/// Jarosz passes (each a box along rows then along columns).
const JAROSZ_PASSES: usize = 2;

/// A 256-bit PDQ hash. Bit `16·i + j` is DCT coefficient (row `i`, column
/// `j`), with row = vertical frequency; it lives in word `k / 64`, bit
/// `k % 64`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct PdqHash(pub [u64; 4]);

impl PdqHash {
    /// Hamming distance: bits that differ, 0..=256.
    pub fn distance(&self, other: &PdqHash) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    /// Whether bit `k` (0..256) is set.
    pub fn bit(&self, k: usize) -> bool {
        (self.0[k / 64] >> (k % 64)) & 1 == 1
    }

    /// The 16-bit word `m` (0..16): bits `16·m .. 16·m + 16`, which is DCT
    /// row `m`.
    pub fn word16(&self, m: usize) -> u16 {
        (self.0[m / 4] >> (16 * (m % 4))) as u16
    }

    /// The reference's canonical text form: 64 hex digits, word 15 first.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for w in self.0.iter().rev() {
            s.push_str(&format!("{w:016x}"));
        }
        s
    }

    /// Parses [`PdqHash::to_hex`]'s form.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut words = [0u64; 4];
        for (i, w) in words.iter_mut().rev().enumerate() {
            *w = u64::from_str_radix(&s[16 * i..16 * i + 16], 16).ok()?;
        }
        Some(Self(words))
    }

    /// The 32 bytes, little-endian words in order (the stored form).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, w) in out.chunks_exact_mut(8).zip(self.0.iter()) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Inverse of [`PdqHash::to_bytes`].
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let mut words = [0u64; 4];
        for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *w = u64::from_le_bytes(b);
        }
        Self(words)
    }
}

/// A hash with its quality (0..=100), and the 16×16 DCT it came from so
/// that the dihedral variants cost only sign flips.
#[derive(Clone, Debug, PartialEq)]
pub struct PdqResult {
    /// The hash.
    pub hash: PdqHash,
    /// PDQ's quality metric, 0..=100.
    pub quality: u8,
    dct: [[f32; DCT_DIM]; DCT_DIM],
}

impl PdqResult {
    /// The hash of the picture mirrored left to right (PDQ's "flip Y"):
    /// horizontal frequencies with an odd basis index change sign.
    pub fn mirrored(&self) -> PdqHash {
        let mut b = self.dct;
        for row in &mut b {
            for (j, v) in row.iter_mut().enumerate() {
                if j & 1 == 0 {
                    *v = -*v;
                }
            }
        }
        to_bits(&b)
    }
}

/// The DCT-II basis rows 1..=16 of size 64, rounded to `f32` as the
/// reference does (computed in `f64`, stored as `f32`).
fn dct_matrix() -> &'static [[f32; WORK_DIM]; DCT_DIM] {
    static M: std::sync::OnceLock<[[f32; WORK_DIM]; DCT_DIM]> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let mut m = [[0f32; WORK_DIM]; DCT_DIM];
        let scale = (2.0 / WORK_DIM as f64).sqrt() as f32;
        for (i, row) in m.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let c = (std::f64::consts::PI / 2.0 / WORK_DIM as f64
                    * (i + 1) as f64
                    * (2 * j + 1) as f64)
                    .cos();
                // f32 scale times f64 cosine, in f64, then stored as f32.
                *v = (f64::from(scale) * c) as f32;
            }
        }
        m
    })
}

/// The reference pipeline on a float luma plane (row-major, `rows × cols`,
/// no padding). `plane` is used as scratch and left blurred.
pub fn hash_float_luma(plane: &mut [f32], rows: usize, cols: usize) -> PdqResult {
    if rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM || plane.len() < rows * cols {
        return PdqResult {
            hash: PdqHash::default(),
            quality: 0,
            dct: [[0.0; DCT_DIM]; DCT_DIM],
        };
    }
    let mut work = [[0f32; WORK_DIM]; WORK_DIM];
    if rows == WORK_DIM && cols == WORK_DIM {
        for (i, row) in work.iter_mut().enumerate() {
            row.copy_from_slice(&plane[i * WORK_DIM..(i + 1) * WORK_DIM]);
        }
    } else {
        let plane = &mut plane[..rows * cols];
        let mut scratch = vec![0f32; rows * cols];
        jarosz(plane, &mut scratch, rows, cols);
        for (oi, row) in work.iter_mut().enumerate() {
            let ii = (((oi as f64 + 0.5) * rows as f64) / WORK_DIM as f64) as usize;
            for (oj, v) in row.iter_mut().enumerate() {
                let ij = (((oj as f64 + 0.5) * cols as f64) / WORK_DIM as f64) as usize;
                *v = plane[ii * cols + ij];
            }
        }
    }
    hash_64(&work)
}

/// Steps 2–4 on a 64×64 working square.
pub fn hash_64(work: &[[f32; WORK_DIM]; WORK_DIM]) -> PdqResult {
    let quality = quality(work);
    let dct = dct_64_to_16(work);
    PdqResult {
        hash: to_bits(&dct),
        quality,
        dct,
    }
}

fn window(old: usize, new: usize) -> usize {
    old.div_ceil(2 * new)
}

fn jarosz(a: &mut [f32], b: &mut [f32], rows: usize, cols: usize) {
    let wr = window(cols, WORK_DIM);
    let wc = window(rows, WORK_DIM);
    for _ in 0..JAROSZ_PASSES {
        for i in 0..rows {
            box_1d(&a[i * cols..], &mut b[i * cols..], cols, 1, wr);
        }
        for j in 0..cols {
            box_1d(&b[j..], &mut a[j..], rows, cols, wc);
        }
    }
}

/// The reference's running box filter, with its shrinking windows at both
/// ends, and its exact order of additions and subtractions.
fn box_1d(input: &[f32], out: &mut [f32], len: usize, stride: usize, full: usize) {
    let half = (full + 2) / 2;
    let phase1 = half - 1;
    let phase2 = full - half + 1;
    let phase3 = len.saturating_sub(full);
    let phase4 = half - 1;
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut sum = 0f32;
    let mut size = 0usize;
    for _ in 0..phase1 {
        sum += input[ri];
        size += 1;
        ri += stride;
    }
    for _ in 0..phase2 {
        sum += input[ri];
        size += 1;
        out[oi] = sum / size as f32;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase3 {
        sum += input[ri];
        sum -= input[li];
        out[oi] = sum / size as f32;
        li += stride;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase4 {
        sum -= input[li];
        size -= 1;
        out[oi] = sum / size as f32;
        li += stride;
        oi += stride;
    }
}

fn quality(w: &[[f32; WORK_DIM]; WORK_DIM]) -> u8 {
    let mut sum: i64 = 0;
    for pair in w.windows(2) {
        for (u, v) in pair[0].iter().zip(pair[1].iter()) {
            let d = ((u - v) * 100.0) / 255.0;
            sum += i64::from((d as i32).abs());
        }
    }
    for row in w.iter() {
        for j in 0..WORK_DIM - 1 {
            let d = ((row[j] - row[j + 1]) * 100.0) / 255.0;
            sum += i64::from((d as i32).abs());
        }
    }
    (sum / 90).min(100) as u8
}

fn dct_64_to_16(a: &[[f32; WORK_DIM]; WORK_DIM]) -> [[f32; DCT_DIM]; DCT_DIM] {
    let d = dct_matrix();
    let mut t = [[0f32; WORK_DIM]; DCT_DIM];
    for (i, trow) in t.iter_mut().enumerate() {
        for (j, tv) in trow.iter_mut().enumerate() {
            let mut s = 0f32;
            for (k, dk) in d[i].iter().enumerate() {
                s += dk * a[k][j];
            }
            *tv = s;
        }
    }
    let mut b = [[0f32; DCT_DIM]; DCT_DIM];
    for (i, brow) in b.iter_mut().enumerate() {
        for (j, bv) in brow.iter_mut().enumerate() {
            let mut s = 0f32;
            for (tk, dk) in t[i].iter().zip(d[j].iter()) {
                s += tk * dk;
            }
            *bv = s;
        }
    }
    b
}

fn to_bits(b: &[[f32; DCT_DIM]; DCT_DIM]) -> PdqHash {
    let flat: Vec<f32> = b.iter().flatten().copied().collect();
    let median = torben(&flat);
    let mut words = [0u64; 4];
    for (k, &v) in flat.iter().enumerate() {
        if v > median {
            words[k / 64] |= 1 << (k % 64);
        }
    }
    PdqHash(words)
}

/// Torben's median selection, as the reference computes it (its result can
/// differ from a sorted median by which neighbour it returns, which decides
/// ties at the threshold).
fn torben(m: &[f32]) -> f32 {
    let n = m.len();
    let (mut min, mut max) = (m[0], m[0]);
    for &v in &m[1..] {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    let half = n.div_ceil(2);
    loop {
        let guess = (min + max) / 2.0;
        let (mut less, mut greater, mut equal) = (0usize, 0usize, 0usize);
        let (mut max_lt, mut min_gt) = (min, max);
        for &v in m {
            if v < guess {
                less += 1;
                if v > max_lt {
                    max_lt = v;
                }
            } else if v > guess {
                greater += 1;
                if v < min_gt {
                    min_gt = v;
                }
            } else {
                equal += 1;
            }
        }
        if less <= half && greater <= half {
            return if less >= half {
                max_lt
            } else if less + equal >= half {
                guess
            } else {
                min_gt
            };
        }
        if less > greater {
            max = max_lt;
        } else {
            min = min_gt;
        }
    }
}
