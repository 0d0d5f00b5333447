//! Short-time spectrum and peak picking, streaming.
//!
//! Frames arrive one hop at a time. A frame is evaluated for *dense* peaks
//! once `dense_dt` later frames exist; a dense peak gets its *level* once all
//! dense peaks within `reference_dt` frames after it are known. Every decision
//! depends only on a fixed window of frames around it, so the result does not
//! depend on how the samples were chunked.

use std::collections::VecDeque;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::{AudioConfig, Peak, FFT_SIZE, FRAME_MS, HOP_SIZE, SUBDIV};

const BINS: usize = FFT_SIZE / 2 + 1;
/// Power of a full-scale sine's bin under our Hann window, in dB
/// (10·log10((N/4)²) for N = 512).
const FULL_SCALE_DB: f32 = 42.144;

/// One analysed frame.
#[derive(Debug)]
struct Row {
    t: u32,
    /// Power in dB relative to a full-scale sine, per bin.
    db: Vec<f32>,
    /// Max of `db` over ±`dense_df` bins, per bin.
    rowmax: Vec<f32>,
    /// Bins that are local maxima of this row and pass the contrast test.
    candidates: Vec<u16>,
}

/// A dense peak awaiting its level.
#[derive(Clone, Copy, Debug)]
struct Dense {
    t: u32,
    f: u16,
    v: f32,
    time_ms: u32,
    freq: u16,
}

impl Dense {
    /// Total order used to break ties deterministically: louder wins, then
    /// earlier, then lower.
    #[inline]
    fn beats(&self, other: &Dense) -> bool {
        self.v > other.v || (self.v == other.v && (self.t, self.f) < (other.t, other.f))
    }
}

pub(crate) struct Analyzer {
    cfg: AudioConfig,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    frame_in: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    prefix: Vec<f32>,
    /// Analysis samples from `pending_pos` on belong to frames not yet computed.
    pending: Vec<f32>,
    pending_pos: usize,
    rows: VecDeque<Row>,
    spare_rows: Vec<Row>,
    next_frame: u32,
    next_eval: u32,
    dense: VecDeque<Dense>,
    /// Index in `dense` of the first peak whose level is not yet decided.
    undecided: usize,
    out: Vec<Peak>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("next_frame", &self.next_frame)
            .field("peaks", &self.out.len())
            .finish_non_exhaustive()
    }
}

impl Analyzer {
    pub(crate) fn new(cfg: AudioConfig) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT_SIZE);
        let window = (0..FFT_SIZE)
            .map(|n| {
                let x = std::f64::consts::PI * 2.0 * n as f64 / FFT_SIZE as f64;
                (0.5 - 0.5 * x.cos()) as f32
            })
            .collect();
        let spectrum = fft.make_output_vec();
        let fft_scratch = fft.make_scratch_vec();
        Self {
            cfg,
            frame_in: vec![0.0; FFT_SIZE],
            fft,
            window,
            spectrum,
            fft_scratch,
            prefix: vec![0.0; BINS + 1],
            pending: Vec::with_capacity(FFT_SIZE * 8),
            pending_pos: 0,
            rows: VecDeque::new(),
            spare_rows: Vec::new(),
            next_frame: 0,
            next_eval: 0,
            dense: VecDeque::new(),
            undecided: 0,
            out: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, samples: &[f32]) {
        self.pending.extend_from_slice(samples);
        while self.pending.len() - self.pending_pos >= FFT_SIZE {
            self.compute_frame();
            self.pending_pos += HOP_SIZE;
            self.evaluate_ready();
        }
        if self.pending_pos >= 4 * FFT_SIZE {
            self.pending.drain(..self.pending_pos);
            self.pending_pos = 0;
        }
    }

    pub(crate) fn finish(&mut self) -> Vec<Peak> {
        // Zero-pad so the last partial window is analysed too.
        let remaining = self.pending.len() - self.pending_pos;
        if remaining > 0 {
            let pad = FFT_SIZE - HOP_SIZE;
            self.pending.extend(std::iter::repeat_n(0.0, pad));
            while self.pending.len() - self.pending_pos >= FFT_SIZE {
                self.compute_frame();
                self.pending_pos += HOP_SIZE;
                self.evaluate_ready();
            }
        }
        // Evaluate the trailing frames with whatever neighbours exist.
        while self.next_eval < self.next_frame {
            self.evaluate(self.next_eval);
            self.next_eval += 1;
        }
        self.decide_levels(u32::MAX);
        std::mem::take(&mut self.out)
    }

    fn compute_frame(&mut self) {
        let frame = &self.pending[self.pending_pos..self.pending_pos + FFT_SIZE];
        for ((dst, &s), &w) in self.frame_in.iter_mut().zip(frame).zip(&self.window) {
            *dst = s * w;
        }
        // The lengths are fixed at construction, so the transform cannot fail.
        if self
            .fft
            .process_with_scratch(
                &mut self.frame_in,
                &mut self.spectrum,
                &mut self.fft_scratch,
            )
            .is_err()
        {
            self.spectrum.fill(Complex::new(0.0, 0.0));
        }
        let mut row = self.spare_rows.pop().unwrap_or_else(|| Row {
            t: 0,
            db: vec![0.0; BINS],
            rowmax: vec![0.0; BINS],
            candidates: Vec::new(),
        });
        row.t = self.next_frame;
        for (d, c) in row.db.iter_mut().zip(&self.spectrum) {
            let p = c.re * c.re + c.im * c.im + 1e-20;
            *d = 3.010_3 * fast_log2(p) - FULL_SCALE_DB;
        }
        self.row_features(&mut row);
        self.rows.push_back(row);
        self.next_frame += 1;
    }

    /// Row maxima and candidate bins of one frame.
    fn row_features(&mut self, row: &mut Row) {
        let cfg = &self.cfg;
        let db = &row.db;
        let df = cfg.dense_df;
        for f in 0..BINS {
            let lo = f.saturating_sub(df);
            let hi = (f + df).min(BINS - 1);
            row.rowmax[f] = db[lo..=hi]
                .iter()
                .copied()
                .fold(f32::NEG_INFINITY, f32::max);
        }
        self.prefix[0] = 0.0;
        for (f, &v) in db.iter().enumerate() {
            self.prefix[f + 1] = self.prefix[f] + v;
        }
        row.candidates.clear();
        let max_bin = cfg.max_bin.min(BINS - 2);
        for f in cfg.min_bin.max(1)..=max_bin {
            let v = db[f];
            if v < cfg.floor_db || v < row.rowmax[f] {
                continue;
            }
            // Strict local maximum with ties going to the lower bin.
            let lo = f.saturating_sub(df);
            let hi = (f + df).min(BINS - 1);
            if db[lo..f].iter().any(|&x| x >= v) {
                continue;
            }
            let clo = f.saturating_sub(cfg.contrast_df);
            let chi = (f + cfg.contrast_df).min(BINS - 1);
            let mean = (self.prefix[chi + 1] - self.prefix[clo]) / (chi + 1 - clo) as f32;
            if v - mean < cfg.contrast_db {
                continue;
            }
            debug_assert!(db[f + 1..=hi].iter().all(|&x| x <= v));
            row.candidates.push(f as u16);
        }
    }

    fn evaluate_ready(&mut self) {
        let dt = self.cfg.dense_dt as u32;
        while self.next_eval + dt < self.next_frame {
            self.evaluate(self.next_eval);
            self.next_eval += 1;
        }
        // Rows older than the evaluation window (and one for interpolation)
        // are no longer needed.
        let keep_from = self.next_eval.saturating_sub(dt + 1);
        while self.rows.front().is_some_and(|r| r.t < keep_from) {
            if let Some(r) = self.rows.pop_front() {
                self.spare_rows.push(r);
            }
        }
    }

    fn row(&self, t: u32) -> Option<&Row> {
        let first = self.rows.front()?.t;
        self.rows.get(t.checked_sub(first)? as usize)
    }

    /// Finds the dense peaks of frame `e`.
    fn evaluate(&mut self, e: u32) {
        let dt = self.cfg.dense_dt as u32;
        let Some(row) = self.row(e) else { return };
        let mut found = Vec::new();
        'cand: for &f in &row.candidates {
            let fi = usize::from(f);
            let v = row.db[fi];
            for t in e.saturating_sub(dt)..=e + dt {
                if t == e {
                    continue;
                }
                let Some(other) = self.row(t) else { continue };
                let m = other.rowmax[fi];
                // Earlier frames win ties.
                if m > v || (m == v && t < e) {
                    continue 'cand;
                }
            }
            let df = parabolic(row.db[fi - 1], v, row.db[fi + 1]);
            let dtime = match (e.checked_sub(1).and_then(|p| self.row(p)), self.row(e + 1)) {
                (Some(a), Some(c)) => parabolic(a.db[fi], v, c.db[fi]),
                _ => 0.0,
            };
            let time_ms = ((e as f32 + dtime) * FRAME_MS as f32).round().max(0.0) as u32;
            let freq = ((fi as f32 + df) * SUBDIV as f32).round() as u16;
            found.push(Dense {
                t: e,
                f,
                v,
                time_ms,
                freq,
            });
        }
        self.dense.extend(found);
        let rt = self.cfg.reference_dt.max(self.cfg.query_dt);
        if let Some(decidable) = e.checked_sub(rt) {
            self.decide_levels(decidable + 1);
        }
    }

    /// Decides the level of every undecided dense peak with `t < until`, then
    /// forgets peaks no longer needed as context.
    fn decide_levels(&mut self, until: u32) {
        let cfg = &self.cfg;
        let (rt, rf) = (cfg.reference_dt, u32::from(cfg.reference_df as u16));
        let (qt, qf) = (cfg.query_dt, u32::from(cfg.query_df as u16));
        let span = rt.max(qt);
        while let Some(&p) = self.dense.get(self.undecided) {
            if p.t >= until {
                break;
            }
            let (mut ref_ok, mut query_ok) = (true, true);
            // Scan neighbours in both directions; `dense` is ordered by t.
            let idx = self.undecided;
            let mut check = |q: &Dense| {
                if q.beats(&p) {
                    let (dtq, dfq) = (q.t.abs_diff(p.t), u32::from(q.f.abs_diff(p.f)));
                    if dtq <= rt && dfq <= rf {
                        ref_ok = false;
                    }
                    if dtq <= qt && dfq <= qf {
                        query_ok = false;
                    }
                }
            };
            for q in self.dense.range(..idx).rev() {
                if p.t - q.t > span {
                    break;
                }
                check(q);
            }
            for q in self.dense.range(idx + 1..) {
                if q.t - p.t > span {
                    break;
                }
                check(q);
            }
            let level = if ref_ok {
                2
            } else if query_ok {
                1
            } else {
                0
            };
            if level > 0 {
                self.out.push(Peak {
                    time_ms: p.time_ms,
                    freq: p.freq,
                    level,
                });
            }
            self.undecided += 1;
        }
        // Keep decided peaks only while an undecided one may still look back
        // at them.
        let horizon = self
            .dense
            .get(self.undecided)
            .map_or(u32::MAX, |p| p.t)
            .saturating_sub(span);
        while self.undecided > 0 && self.dense.front().is_some_and(|q| q.t < horizon) {
            self.dense.pop_front();
            self.undecided -= 1;
        }
    }
}

/// Offset of the vertex of the parabola through (-1, a), (0, b), (1, c),
/// clamped to ±0.5.
#[inline]
fn parabolic(a: f32, b: f32, c: f32) -> f32 {
    let den = a - 2.0 * b + c;
    if den >= -1e-6 {
        return 0.0;
    }
    (0.5 * (a - c) / den).clamp(-0.5, 0.5)
}

/// log2 for positive normal floats: the exponent plus
/// `2·atanh((m − 1)/(m + 1)) / ln 2` for the mantissa `m` in [1, 2), by its
/// series to z⁷ (max error ≈ 2e-5). Pure arithmetic, so deterministic.
#[inline]
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let series = z * (1.0 + z2 * (1.0 / 3.0 + z2 * (1.0 / 5.0 + z2 * (1.0 / 7.0))));
    e as f32 + std::f32::consts::LOG2_E * 2.0 * series
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_log2_is_close() {
        for x in [1e-12f32, 1e-3, 0.5, 1.0, 2.0, 3.7, 1e4, 1e9] {
            assert!((fast_log2(x) - x.log2()).abs() < 1e-4, "{x}");
        }
    }

    #[test]
    fn parabolic_finds_the_vertex() {
        // Samples of -(x - 0.25)² at -1, 0, 1.
        let f = |x: f32| -(x - 0.25) * (x - 0.25);
        assert!((parabolic(f(-1.0), f(0.0), f(1.0)) - 0.25).abs() < 1e-5);
        assert_eq!(parabolic(1.0, 1.0, 1.0), 0.0);
    }
}
