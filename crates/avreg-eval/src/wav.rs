//! Minimal WAV reading and writing for the clips the harness makes.
//!
//! The harness only reads files it asked FFmpeg to write (`pcm_f32le` or
//! `pcm_s16le`, plain or `WAVE_FORMAT_EXTENSIBLE`) and files it wrote itself
//! (IEEE float, 32 bit), so this is not a general WAV parser.

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};

/// Interleaved PCM held in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Pcm {
    pub rate: u32,
    pub channels: u16,
    /// Interleaved samples, nominally in [-1, 1].
    pub samples: Vec<f32>,
}

impl Pcm {
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / f64::from(self.rate)
    }

    /// The first `frames` frames (or all of them if there are fewer).
    pub fn truncated(&self, frames: usize) -> Pcm {
        let n = frames.min(self.frames()) * usize::from(self.channels);
        Pcm {
            rate: self.rate,
            channels: self.channels,
            samples: self.samples[..n].to_vec(),
        }
    }

    /// Mean power (mean of squared samples over every channel).
    pub fn power(&self) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        self.samples
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum::<f64>()
            / self.samples.len() as f64
    }

    pub fn peak(&self) -> f32 {
        self.samples.iter().fold(0.0f32, |m, &s| m.max(s.abs()))
    }
}

pub fn read(path: &Path) -> Result<Pcm> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&bytes).with_context(|| format!("parsing WAV {}", path.display()))
}

pub fn parse(bytes: &[u8]) -> Result<Pcm> {
    ensure!(bytes.len() >= 12, "too short");
    ensure!(
        &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE",
        "not RIFF/WAVE"
    );
    let mut pos = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let declared = u32_at(bytes, pos + 4) as usize;
        let body = pos + 8;
        // FFmpeg writes 0xFFFFFFFF (or 0) as the data size when it cannot seek back.
        let size = if id == b"data" && (declared == 0 || body + declared > bytes.len()) {
            bytes.len() - body
        } else {
            declared
        };
        ensure!(body + size <= bytes.len(), "truncated chunk");
        let chunk = &bytes[body..body + size];
        match id {
            b"fmt " => {
                ensure!(size >= 16, "short fmt chunk");
                let mut tag = u16_at(chunk, 0);
                let channels = u16_at(chunk, 2);
                let rate = u32_at(chunk, 4);
                let bits = u16_at(chunk, 14);
                if tag == 0xFFFE {
                    ensure!(size >= 26, "short extensible fmt chunk");
                    tag = u16_at(chunk, 24);
                }
                fmt = Some((tag, channels, rate, bits));
            }
            b"data" => {
                let (tag, channels, rate, bits) = fmt.context("data before fmt")?;
                ensure!(channels > 0 && rate > 0, "bad format");
                let samples = match (tag, bits) {
                    (3, 32) => chunk
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                    (1, 16) => chunk
                        .chunks_exact(2)
                        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
                        .collect(),
                    _ => bail!("unsupported WAV format tag {tag} with {bits} bits"),
                };
                return Ok(Pcm {
                    rate,
                    channels,
                    samples,
                });
            }
            _ => {}
        }
        pos = body + size + (size & 1);
    }
    bail!("no data chunk")
}

/// Sample encoding of a written WAV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleFormat {
    /// 16-bit PCM (format tag 1), rounded and clamped.
    S16,
    /// 32-bit IEEE float (format tag 3 with an empty extension and a `fact`
    /// chunk, as the specification asks for non-PCM formats).
    F32,
}

pub fn write(path: &Path, pcm: &Pcm, format: SampleFormat) -> Result<()> {
    let width: u16 = match format {
        SampleFormat::S16 => 2,
        SampleFormat::F32 => 4,
    };
    let data_len =
        u32::try_from(pcm.samples.len() * usize::from(width)).context("clip too long for WAV")?;
    let frames = u32::try_from(pcm.frames()).context("clip too long for WAV")?;
    let (tag, fmt_len, fact_len) = match format {
        SampleFormat::S16 => (1u16, 16u32, 0u32),
        SampleFormat::F32 => (3, 18, 12),
    };
    let mut out = Vec::with_capacity(data_len as usize + 64);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(4 + 8 + fmt_len + fact_len + 8 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&fmt_len.to_le_bytes());
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&pcm.channels.to_le_bytes());
    out.extend_from_slice(&pcm.rate.to_le_bytes());
    let block = pcm.channels * width;
    out.extend_from_slice(&(pcm.rate * u32::from(block)).to_le_bytes());
    out.extend_from_slice(&block.to_le_bytes());
    out.extend_from_slice(&(width * 8).to_le_bytes());
    if format == SampleFormat::F32 {
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(b"fact");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&frames.to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for &s in &pcm.samples {
        match format {
            SampleFormat::S16 => {
                let v = (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                out.extend_from_slice(&v.to_le_bytes());
            }
            SampleFormat::F32 => out.extend_from_slice(&s.to_le_bytes()),
        }
    }
    super::write_atomically(path, &out)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.wav");
        let pcm = Pcm {
            rate: 22_050,
            channels: 2,
            samples: (0..1000).map(|i| (i as f32 / 500.0) - 1.0).collect(),
        };
        write(&path, &pcm, SampleFormat::F32).expect("write");
        assert_eq!(read(&path).expect("read"), pcm);
        write(&path, &pcm, SampleFormat::S16).expect("write");
        let back = read(&path).expect("read");
        assert_eq!((back.rate, back.channels), (pcm.rate, pcm.channels));
        assert!(back
            .samples
            .iter()
            .zip(&pcm.samples)
            .all(|(a, b)| (a - b).abs() <= 1.0 / 32768.0));
    }

    #[test]
    fn reads_pcm16_and_skips_unknown_chunks() {
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF\0\0\0\0WAVE");
        b.extend_from_slice(b"LIST\x03\0\0\0abc\0"); // odd size, padded
        b.extend_from_slice(b"fmt \x10\0\0\0");
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&8000u32.to_le_bytes());
        b.extend_from_slice(&16000u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&16u16.to_le_bytes());
        b.extend_from_slice(b"data\x04\0\0\0");
        b.extend_from_slice(&16384i16.to_le_bytes());
        b.extend_from_slice(&(-32768i16).to_le_bytes());
        let pcm = parse(&b).expect("parse");
        assert_eq!((pcm.rate, pcm.channels), (8000, 1));
        assert_eq!(pcm.samples, vec![0.5, -1.0]);
    }

    #[test]
    fn power_and_truncation() {
        let pcm = Pcm {
            rate: 4,
            channels: 2,
            samples: vec![1.0, -1.0, 0.5, 0.5, 0.0, 0.0],
        };
        assert_eq!(pcm.frames(), 3);
        assert!((pcm.power() - 2.5 / 6.0).abs() < 1e-12);
        assert_eq!(pcm.truncated(2).samples, vec![1.0, -1.0, 0.5, 0.5]);
        assert_eq!(pcm.peak(), 1.0);
    }
}
