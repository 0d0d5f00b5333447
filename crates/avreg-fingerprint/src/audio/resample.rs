//! Streaming windowed-sinc resampler.
//!
//! Output sample `n` sits at input position `n · in / out`; its integer part
//! and phase are computed exactly from `n` (integer arithmetic), and each
//! output is one dot product of a fixed number of input samples with a
//! precomputed kernel row. Nothing depends on how the input was chunked, so
//! the output is bit-identical for any chunking.

use std::f64::consts::PI;

/// Zero crossings of the sinc kernel on each side of its centre.
const ZERO_CROSSINGS: f64 = 6.0;
/// Cut-off as a fraction of the lower of the two Nyquist frequencies × 2.
const CUTOFF: f64 = 0.45;
/// Largest number of exact phases before we fall back to quantised phases.
const MAX_EXACT_PHASES: u64 = 1024;
/// Phases of the quantised fallback table.
const QUANTISED_PHASES: u64 = 512;

#[derive(Debug)]
pub(crate) struct Resampler {
    /// `in / g` and `out / g`.
    step_num: u64,
    den: u64,
    /// Number of phases in `table`; equals `den` when exact.
    phases: u64,
    exact: bool,
    /// Kernel taps on each side.
    half: usize,
    /// `phases` rows of `2 * half` taps.
    table: Vec<f32>,
    /// Input samples, in padded coordinates: padded index `buf_start + k`
    /// holds input sample `buf_start + k - half` (negative indices are zero).
    buf: Vec<f32>,
    buf_start: u64,
    /// Real input samples received.
    received: u64,
    /// Next output index.
    next: u64,
    out: Vec<f32>,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Resampler {
    pub(crate) fn new(input_rate: u32, output_rate: u32) -> Self {
        let (inr, outr) = (u64::from(input_rate), u64::from(output_rate));
        let g = gcd(inr, outr);
        let (step_num, den) = (inr / g, outr / g);
        let exact = den <= MAX_EXACT_PHASES;
        let phases = if exact { den } else { QUANTISED_PHASES };
        // Cut-off in cycles per input sample.
        let wc = CUTOFF * (inr.min(outr) as f64) / inr as f64;
        let half = (ZERO_CROSSINGS / (2.0 * wc)).ceil() as usize;
        let taps = 2 * half;
        let mut table = vec![0f32; phases as usize * taps];
        for p in 0..phases as usize {
            let frac = p as f64 / phases as f64;
            let row = &mut table[p * taps..(p + 1) * taps];
            let mut sum = 0.0f64;
            let mut w = vec![0f64; taps];
            for (j, wj) in w.iter_mut().enumerate() {
                // Tap j weighs input sample i + 1 + j - half; t is its distance
                // from the output position i + frac.
                let t = (j as f64 + 1.0 - half as f64) - frac;
                let x = 2.0 * wc * t;
                let sinc = if x.abs() < 1e-12 {
                    1.0
                } else {
                    (PI * x).sin() / (PI * x)
                };
                let u = t / half as f64;
                let window = if u.abs() >= 1.0 {
                    0.0
                } else {
                    0.42 + 0.5 * (PI * u).cos() + 0.08 * (2.0 * PI * u).cos()
                };
                *wj = sinc * window;
                sum += *wj;
            }
            for (r, wj) in row.iter_mut().zip(&w) {
                *r = (wj / sum) as f32;
            }
        }
        Self {
            step_num,
            den,
            phases,
            exact,
            half,
            table,
            buf: vec![0.0; half],
            buf_start: 0,
            received: 0,
            next: 0,
            out: Vec::with_capacity(4096),
        }
    }

    /// Integer input index and phase row of output `n`.
    #[inline]
    fn position(&self, n: u64) -> (u64, usize) {
        let num = n * self.step_num;
        let i = num / self.den;
        let rem = num % self.den;
        if self.exact {
            (i, rem as usize)
        } else {
            let p = (rem * self.phases + self.den / 2) / self.den;
            if p == self.phases {
                (i + 1, 0)
            } else {
                (i, p as usize)
            }
        }
    }

    fn produce(&mut self, limit: u64, emit: &mut impl FnMut(&[f32])) {
        let taps = 2 * self.half;
        let end = self.buf_start + self.buf.len() as u64;
        while self.next < limit {
            let (i, p) = self.position(self.next);
            // Needs padded indices i + 1 ..= i + taps.
            if i + taps as u64 >= end {
                break;
            }
            let from = (i + 1 - self.buf_start) as usize;
            let x = &self.buf[from..from + taps];
            let h = &self.table[p * taps..(p + 1) * taps];
            self.out.push(dot(x, h));
            self.next += 1;
            if self.out.len() == self.out.capacity() {
                emit(&self.out);
                self.out.clear();
            }
        }
        if !self.out.is_empty() {
            emit(&self.out);
            self.out.clear();
        }
        // Drop input no future output needs.
        let (i, _) = self.position(self.next);
        let keep_from = (i + 1).max(self.buf_start);
        let drop = (keep_from - self.buf_start) as usize;
        if drop > 0 {
            self.buf.drain(..drop.min(self.buf.len()));
            self.buf_start += drop as u64;
        }
    }

    pub(crate) fn process(&mut self, input: &[f32], mut emit: impl FnMut(&[f32])) {
        // Bound the buffer: feed large inputs in slices.
        for chunk in input.chunks(16_384) {
            self.buf.extend_from_slice(chunk);
            self.received += chunk.len() as u64;
            self.produce(u64::MAX, &mut emit);
        }
    }

    pub(crate) fn finish(&mut self, mut emit: impl FnMut(&[f32])) {
        // Total outputs: ceil(received · out / in).
        let total = (self.received * self.den).div_ceil(self.step_num);
        let pad = 2 * self.half + 2;
        self.buf.extend(std::iter::repeat_n(0.0, pad));
        while self.next < total {
            let before = self.next;
            self.produce(total, &mut emit);
            if self.next == before {
                self.buf.extend(std::iter::repeat_n(0.0, pad));
            }
        }
    }
}

/// Dot product in a fixed evaluation order (eight lanes, then a fixed
/// reduction) so it vectorises and stays deterministic.
#[inline]
fn dot(x: &[f32], h: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let xc = x.chunks_exact(8);
    let hc = h.chunks_exact(8);
    let (xr, hr) = (xc.remainder(), hc.remainder());
    for (a, b) in xc.zip(hc) {
        for k in 0..8 {
            acc[k] += a[k] * b[k];
        }
    }
    let mut tail = 0f32;
    for (a, b) in xr.iter().zip(hr) {
        tail += a * b;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input_rate: u32, input: &[f32], chunk: usize) -> Vec<f32> {
        let mut r = Resampler::new(input_rate, 8_000);
        let mut out = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            r.process(c, |o| out.extend_from_slice(o));
        }
        r.finish(|o| out.extend_from_slice(o));
        out
    }

    fn tone(rate: u32, hz: f32, secs: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn output_length_follows_the_ratio() {
        for rate in [
            8_000, 11_025, 16_000, 22_050, 44_100, 48_000, 44_056, 96_000,
        ] {
            let input = tone(rate, 440.0, 1.0);
            let out = run(rate, &input, 4096);
            let expected = (input.len() as u64 * 8_000).div_ceil(u64::from(rate));
            assert!(
                out.len() as u64 >= expected && out.len() as u64 <= expected + 1,
                "{rate} Hz: {} outputs, expected {expected}",
                out.len()
            );
        }
    }

    #[test]
    fn chunking_does_not_change_a_bit() {
        let input = tone(44_100, 997.0, 0.7);
        let whole = run(44_100, &input, usize::MAX);
        for chunk in [1, 3, 441, 1000, 4097] {
            assert_eq!(run(44_100, &input, chunk), whole, "chunk {chunk}");
        }
        let odd = tone(44_056, 300.0, 0.3);
        assert_eq!(run(44_056, &odd, 7), run(44_056, &odd, 100_000));
    }

    #[test]
    fn passes_the_band_and_rejects_aliases() {
        let rms = |v: &[f32]| (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
        // 1 kHz passes at unit gain (a sine's RMS is 0.707).
        let pass = run(44_100, &tone(44_100, 1_000.0, 1.0), 4096);
        let mid = &pass[1000..7000];
        assert!((rms(mid) - 0.707).abs() < 0.01, "passband rms {}", rms(mid));
        // 6 kHz would alias to 2 kHz; it must be attenuated by > 40 dB.
        let stop = run(44_100, &tone(44_100, 6_000.0, 1.0), 4096);
        assert!(
            rms(&stop[1000..7000]) < 0.007,
            "alias rms {}",
            rms(&stop[1000..7000])
        );
    }
}
