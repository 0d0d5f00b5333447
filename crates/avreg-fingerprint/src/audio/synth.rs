//! Synthetic, deterministic signals and degradations for tests, benchmarks
//! and the demo: seeded music-like notes, speed change, gain, white noise,
//! and the workspace's two small generators (xorshift [`Rng`],
//! [`SplitMix64`]). Not part of the fingerprinting API.

/// Deterministic xorshift generator (xorshift64, shifts 13, 7, 17).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A stream from `seed`, mixed so that small seeds differ.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// A stream whose state is `state` as given (not mixed; must not be 0).
    pub fn from_state(state: u64) -> Self {
        Self(state)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// `next_u64() % n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, seeded, good enough for
/// test data, mutations and sampling. The state is the seed as given.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// `next_u64() % n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A music-like mono signal: notes of random pitch and length with a few
/// harmonics and decaying envelopes, over a quiet noise floor.
pub fn music(seed: u64, rate: u32, secs: f32) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let n = (rate as f32 * secs) as usize;
    let mut out = vec![0f32; n];
    let mut t = 0usize;
    while t < n {
        let len = (rate as f32 * (0.12 + 0.35 * rng.unit())) as usize;
        for _voice in 0..2 {
            let midi = 45.0 + (rng.unit() * 36.0).floor();
            let f0 = 440.0 * 2f32.powf((midi - 69.0) / 12.0);
            let amp = 0.15 + 0.2 * rng.unit();
            for k in 0..len.min(n - t) {
                let time = k as f32 / rate as f32;
                let env = amp * (-time * 4.0).exp() * (1.0 - (-time * 200.0).exp());
                let mut s = 0.0;
                for h in 1..=4 {
                    s += (2.0 * std::f32::consts::PI * f0 * h as f32 * time).sin() / h as f32;
                }
                out[t + k] += env * s;
            }
        }
        t += len;
    }
    for s in &mut out {
        *s += 0.002 * (rng.unit() - 0.5);
    }
    out
}

/// Plays `pcm` `speed` times faster (tempo and pitch together), by linear
/// interpolation.
pub fn speed_up(pcm: &[f32], speed: f32) -> Vec<f32> {
    let n = (pcm.len() as f32 / speed) as usize;
    (0..n)
        .map(|i| {
            let x = i as f32 * speed;
            let k = x as usize;
            let a = pcm[k.min(pcm.len() - 1)];
            let b = pcm[(k + 1).min(pcm.len() - 1)];
            a + (b - a) * (x - k as f32)
        })
        .collect()
}

/// `pcm` scaled by `gain_db`.
pub fn gain(pcm: &[f32], gain_db: f32) -> Vec<f32> {
    let g = 10f32.powf(gain_db / 20.0);
    pcm.iter().map(|x| g * x).collect()
}

/// `pcm` plus seeded uniform white noise at `snr_db` below its own power.
pub fn add_noise(pcm: &[f32], snr_db: f32, seed: u64) -> Vec<f32> {
    let p = pcm.iter().map(|x| x * x).sum::<f32>() / pcm.len().max(1) as f32;
    let g = (3.0 * p / 10f32.powf(snr_db / 10.0)).sqrt();
    let mut rng = Rng::new(seed);
    pcm.iter()
        .map(|x| x + g * (2.0 * rng.unit() - 1.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_gives_the_reference_values() {
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn xorshift_from_state_is_the_bare_generator() {
        let mut rng = Rng::from_state(1);
        // 1 ^ 1 << 13 = 0x2001; ^ >> 7 = 0x2041; ^ << 17 = 0x4082_2041.
        assert_eq!(rng.next_u64(), 0x4082_2041);
    }
}
