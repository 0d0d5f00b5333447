//! 16-bit PCM mono WAV, the files the end-to-end tests and the load bench
//! upload.

use std::path::Path;

/// `pcm` in [-1, 1] at `rate` as a 16-bit mono WAV file.
pub fn wav_bytes(rate: u32, pcm: &[f32]) -> Vec<u8> {
    let data_len = (pcm.len() * 2) as u32;
    let mut b = Vec::with_capacity(44 + pcm.len() * 2);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for s in pcm {
        b.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
    }
    b
}

/// Writes 16-bit PCM mono WAV.
pub fn write_wav(path: &Path, rate: u32, pcm: &[f32]) {
    std::fs::write(path, wav_bytes(rate, pcm)).expect("write wav");
}
