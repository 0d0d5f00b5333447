//! Tests of the audio edge: the fixtures of `fixtures/audio/` (see
//! `fixtures/audio/generate.sh`), small WAV files built here, truncated and
//! garbage input, and the private helpers.

use std::io::{Cursor, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use avreg_fingerprint::audio::synth::Rng;
use avreg_fingerprint::audio::{MAX_CHANNELS, MAX_INPUT_RATE};
use symphonia::core::codecs;
use symphonia::core::io::ReadOnlySource;

use super::probe::{codec_name, container_name, sniff_container};
use super::session::{check_channels, check_rate, fmt_duration, frames_to_ms, ms_to_frames};
use super::*;

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/audio")
        .join(name)
}

pub(crate) fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("reading fixture {name}: {e}"))
}

/// Every fixture, the ones that must fail included.
const ALL: [&str; 19] = [
    "chords.wav",
    "chords.flac",
    "chords.mp3",
    "chords.ogg",
    "chords.m4a",
    "chords-6ch.mkv",
    "chords-aac.mkv",
    "chords-video.mp4",
    "chords-video.webm",
    "video-only.mp4",
    "opus.ogg",
    "opus.webm",
    "opus.mp4",
    "opus-6ch.ogg",
    "aac-6ch.m4a",
    "he-aac.aac",
    "he-aac.m4a",
    "he-aac-v2.m4a",
    "ac3.mkv",
];

/// What a fixture with audio must decode to.
struct Expected {
    file: &'static str,
    container: &'static str,
    codec: &'static str,
    rate: u32,
    /// Channels handed to the sink (surround arrives folded to stereo).
    channels: u16,
    /// Decoded duration as observed with symphonia 0.5.5 (and opus-pure,
    /// rusty_aac for Opus and AAC).
    ms: u64,
    /// Allowed deviation from `ms` (lossy codecs pad and trim differently
    /// between decoder versions).
    tolerance_ms: u64,
}

/// The fixtures with decodable audio. Lossless ones are exact; the nominal
/// length of the signal is 3 s (wav, flac) or 4 s (the others). AAC in MP4
/// and Matroska keeps the encoder's priming and padding (symphonia 0.5 does
/// not apply the edit list), hence the extra 30–90 ms.
const AUDIO: [Expected; 17] = [
    Expected {
        file: "chords.wav",
        container: "wav",
        codec: "pcm_s16le",
        rate: 16_000,
        channels: 1,
        ms: 3000,
        tolerance_ms: 0,
    },
    Expected {
        file: "chords.flac",
        container: "flac",
        codec: "flac",
        rate: 16_000,
        channels: 1,
        ms: 3000,
        tolerance_ms: 0,
    },
    Expected {
        file: "chords.mp3",
        container: "mpeg-audio",
        codec: "mp3",
        rate: 44_100,
        channels: 2,
        ms: 4000,
        tolerance_ms: 60,
    },
    Expected {
        file: "chords.ogg",
        container: "ogg",
        codec: "vorbis",
        rate: 48_000,
        channels: 2,
        ms: 4000,
        tolerance_ms: 60,
    },
    Expected {
        file: "chords.m4a",
        container: "mp4",
        codec: "aac",
        rate: 22_050,
        channels: 1,
        ms: 4086,
        tolerance_ms: 60,
    },
    Expected {
        file: "chords-6ch.mkv",
        container: "matroska",
        codec: "vorbis",
        rate: 8_000,
        channels: 2,
        ms: 4000,
        tolerance_ms: 60,
    },
    Expected {
        file: "chords-aac.mkv",
        container: "matroska",
        codec: "aac",
        rate: 32_000,
        channels: 2,
        ms: 4032,
        tolerance_ms: 60,
    },
    Expected {
        file: "chords-video.mp4",
        container: "mp4",
        codec: "aac",
        rate: 44_100,
        channels: 2,
        ms: 4040,
        tolerance_ms: 60,
    },
    Expected {
        file: "chords-video.webm",
        container: "webm",
        codec: "vorbis",
        rate: 48_000,
        channels: 2,
        ms: 4012,
        tolerance_ms: 60,
    },
    Expected {
        file: "opus.ogg",
        container: "ogg",
        codec: "opus",
        rate: 48_000,
        channels: 2,
        ms: 2006,
        tolerance_ms: 60,
    },
    Expected {
        file: "opus.webm",
        container: "webm",
        codec: "opus",
        rate: 48_000,
        channels: 2,
        ms: 2013,
        tolerance_ms: 60,
    },
    Expected {
        file: "opus.mp4",
        container: "mp4",
        codec: "opus",
        rate: 48_000,
        channels: 2,
        ms: 2013,
        tolerance_ms: 60,
    },
    Expected {
        file: "opus-6ch.ogg",
        container: "ogg",
        codec: "opus",
        rate: 48_000,
        channels: 2,
        ms: 3006,
        tolerance_ms: 60,
    },
    Expected {
        file: "aac-6ch.m4a",
        container: "mp4",
        codec: "aac",
        rate: 48_000,
        channels: 2,
        ms: 3029,
        tolerance_ms: 60,
    },
    Expected {
        file: "he-aac.aac",
        container: "adts",
        codec: "aac",
        rate: 44_100,
        channels: 2,
        ms: 3157,
        tolerance_ms: 60,
    },
    Expected {
        file: "he-aac.m4a",
        container: "mp4",
        codec: "aac",
        rate: 44_100,
        channels: 2,
        ms: 3157,
        tolerance_ms: 60,
    },
    Expected {
        file: "he-aac-v2.m4a",
        container: "mp4",
        codec: "aac",
        rate: 44_100,
        channels: 2,
        ms: 3204,
        tolerance_ms: 60,
    },
];

/// Everything one decode delivered to the sink.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) info: AudioInfo,
    pub(crate) pcm: Vec<f32>,
    /// `(frames, sample_rate, channels)` of every sink call.
    pub(crate) chunks: Vec<(usize, u32, u16)>,
}

impl Decoded {
    fn frames(&self) -> usize {
        self.pcm.len() / usize::from(self.info.channels)
    }
}

fn collect(
    run: impl FnOnce(&mut dyn FnMut(&[f32], u32, u16)) -> Result<AudioInfo>,
) -> Result<Decoded> {
    let mut pcm = Vec::new();
    let mut chunks = Vec::new();
    let info = run(&mut |s, rate, ch| {
        pcm.extend_from_slice(s);
        chunks.push((s.len() / usize::from(ch.max(1)), rate, ch));
        assert_eq!(s.len() % usize::from(ch), 0, "a chunk ends mid-frame");
    })?;
    Ok(Decoded { info, pcm, chunks })
}

fn decode_file(name: &str, opts: &DecodeOptions) -> Result<Decoded> {
    collect(|sink| decode_audio_file(&fixture(name), opts, sink))
}

pub(crate) fn decode_bytes(
    bytes: &[u8],
    hint: Option<&str>,
    opts: &DecodeOptions,
) -> Result<Decoded> {
    let source = Box::new(Cursor::new(bytes.to_vec()));
    collect(|sink| decode_audio(source, hint, opts, sink))
}

/// Decodes `bytes` presented as a non-seekable stream.
fn decode_stream(bytes: &[u8], hint: Option<&str>) -> Result<Decoded> {
    let source = Box::new(ReadOnlySource::new(Cursor::new(bytes.to_vec())));
    collect(|sink| decode_audio(source, hint, &DecodeOptions::default(), sink))
}

pub(crate) fn ok<T>(r: Result<T>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: unexpected error: {e:?}"))
}

pub(crate) fn assert_corrupt<T: std::fmt::Debug>(r: Result<T>, what: &str) -> String {
    match r {
        Err(Error::Corrupt(msg)) => msg,
        other => panic!("{what}: expected a Corrupt error, got {other:?}"),
    }
}

fn extension(name: &str) -> Option<&str> {
    Path::new(name).extension().and_then(|e| e.to_str())
}

// ---------------------------------------------------------------------------
// WAV files built in memory

/// A RIFF/WAVE file from a `fmt ` chunk body and the data; `data_len`
/// overrides the data chunk's declared size (streaming writers put
/// 0xFFFFFFFF there).
fn wav(fmt: &[u8], data: &[u8], data_len: Option<u32>) -> Vec<u8> {
    let len32 = |n: usize| u32::try_from(n).expect("small test file");
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    let riff_len = match data_len {
        Some(_) => u32::MAX,
        None => len32(4 + 8 + fmt.len() + 8 + data.len()),
    };
    out.extend_from_slice(&riff_len.to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&len32(fmt.len()).to_le_bytes());
    out.extend_from_slice(fmt);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.unwrap_or(len32(data.len())).to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// A 16-bit PCM `fmt ` chunk body.
fn fmt_pcm16(rate: u32, channels: u16) -> Vec<u8> {
    let block_align = 2 * channels;
    let mut f = Vec::new();
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    f.extend_from_slice(&block_align.to_le_bytes());
    f.extend_from_slice(&16u16.to_le_bytes());
    f
}

/// `frames` frames of a 16-bit mono tone at 440 Hz.
fn tone_pcm16(rate: u32, frames: usize) -> Vec<u8> {
    (0..frames)
        .flat_map(|n| {
            let t = n as f32 / rate as f32;
            let s = (0.5 * (2.0 * std::f32::consts::PI * 440.0 * t).sin() * 32767.0) as i16;
            s.to_le_bytes()
        })
        .collect()
}

fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

// ---------------------------------------------------------------------------
// What each fixture decodes to

#[test]
fn each_fixture_reports_its_container_codec_rate_channels_and_duration() {
    for e in &AUDIO {
        let d = ok(decode_file(e.file, &DecodeOptions::default()), e.file);
        let info = &d.info;
        assert_eq!(info.container, e.container, "{}", e.file);
        assert_eq!(info.codec, e.codec, "{}", e.file);
        assert_eq!(info.sample_rate, e.rate, "{}", e.file);
        assert_eq!(info.channels, e.channels, "{}", e.file);
        assert!(
            info.decoded_ms.abs_diff(e.ms) <= e.tolerance_ms,
            "{}: decoded {} ms, expected {} ± {}",
            e.file,
            info.decoded_ms,
            e.ms,
            e.tolerance_ms
        );
        assert_eq!(info.skipped_packets, 0, "{}", e.file);
        // decoded_ms is the audio actually delivered.
        assert_eq!(
            info.decoded_ms,
            frames_to_ms(d.frames() as u64, e.rate),
            "{}",
            e.file
        );
    }
}

#[test]
fn the_extension_hint_does_not_override_the_content() {
    for e in &AUDIO {
        let bytes = fixture_bytes(e.file);
        for hint in [None, Some("mp3"), Some("wav"), Some("bin")] {
            let d = ok(
                decode_bytes(&bytes, hint, &DecodeOptions::default()),
                &format!("{} with hint {hint:?}", e.file),
            );
            assert_eq!(d.info.container, e.container, "{} hint {hint:?}", e.file);
            assert_eq!(d.info.codec, e.codec, "{} hint {hint:?}", e.file);
        }
    }
}

#[test]
fn in_memory_bytes_decode_like_the_file() {
    for e in &AUDIO {
        let from_file = ok(decode_file(e.file, &DecodeOptions::default()), e.file);
        let from_bytes = ok(
            decode_bytes(
                &fixture_bytes(e.file),
                extension(e.file),
                &DecodeOptions::default(),
            ),
            e.file,
        );
        assert_eq!(from_file.info, from_bytes.info, "{}", e.file);
        assert!(
            from_file.pcm == from_bytes.pcm,
            "{}: samples differ",
            e.file
        );
    }
}

#[test]
fn wav_and_flac_decode_to_identical_samples() {
    let wav = ok(decode_file("chords.wav", &DecodeOptions::default()), "wav");
    let flac = ok(
        decode_file("chords.flac", &DecodeOptions::default()),
        "flac",
    );
    assert_eq!(wav.frames(), 48_000);
    assert_eq!(wav.pcm.len(), flac.pcm.len());
    assert!(wav.pcm == flac.pcm, "flac is not the lossless twin of wav");
    // Not trivially equal: the signal is there.
    let peak = wav.pcm.iter().fold(0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.3, "peak {peak}");
}

#[test]
fn samples_are_finite_and_in_range() {
    for e in &AUDIO {
        let d = ok(decode_file(e.file, &DecodeOptions::default()), e.file);
        let peak = d.pcm.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(d.pcm.iter().all(|s| s.is_finite()), "{}", e.file);
        assert!(peak <= 1.0, "{}: peak {peak}", e.file);
        assert!(peak > 0.1, "{}: peak {peak}, the signal is missing", e.file);
    }
}

#[test]
fn the_sink_gets_bounded_whole_frame_chunks_in_one_format() {
    for e in &AUDIO {
        let d = ok(decode_file(e.file, &DecodeOptions::default()), e.file);
        assert!(!d.chunks.is_empty(), "{}", e.file);
        for &(frames, rate, ch) in &d.chunks {
            assert!(frames > 0, "{}: empty chunk", e.file);
            assert!(frames <= MAX_CHUNK_FRAMES, "{}: {frames} frames", e.file);
            assert_eq!((rate, ch), (e.rate, e.channels), "{}", e.file);
        }
        let total: usize = d.chunks.iter().map(|c| c.0).sum();
        assert_eq!(total, d.frames(), "{}", e.file);
    }
}

/// IMA ADPCM with 4 KiB blocks: 8185 frames per packet, more than a chunk,
/// so the packet is split.
#[test]
fn packets_longer_than_a_chunk_are_split() {
    const BLOCK: u16 = 4096;
    const FRAMES_PER_BLOCK: u16 = (BLOCK - 4) * 2 + 1;
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&0x11u16.to_le_bytes()); // IMA ADPCM
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&8_000u32.to_le_bytes());
    fmt.extend_from_slice(&4_000u32.to_le_bytes());
    fmt.extend_from_slice(&BLOCK.to_le_bytes());
    fmt.extend_from_slice(&4u16.to_le_bytes());
    fmt.extend_from_slice(&2u16.to_le_bytes()); // extra size
    fmt.extend_from_slice(&FRAMES_PER_BLOCK.to_le_bytes());
    let blocks = 3;
    let mut data = random_bytes(7, usize::from(BLOCK) * blocks);
    for b in data.chunks_mut(usize::from(BLOCK)) {
        // Block header: initial sample 0, step index 40, reserved.
        b[..4].copy_from_slice(&[0, 0, 40, 0]);
    }
    let file = wav(&fmt, &data, None);
    let d = ok(
        decode_bytes(&file, Some("wav"), &DecodeOptions::default()),
        "adpcm",
    );
    assert_eq!(d.info.codec, "adpcm_ima_wav");
    assert_eq!(d.frames(), usize::from(FRAMES_PER_BLOCK) * blocks);
    let sizes: Vec<usize> = d.chunks.iter().map(|c| c.0).collect();
    let tail = usize::from(FRAMES_PER_BLOCK) - MAX_CHUNK_FRAMES;
    assert!(tail > 0 && tail < MAX_CHUNK_FRAMES);
    assert_eq!(sizes, [MAX_CHUNK_FRAMES, tail].repeat(blocks));
    assert!(d.pcm.iter().any(|&s| s != 0.0));
}

// ---------------------------------------------------------------------------
// Fingerprints

#[test]
fn wav_and_flac_give_identical_fingerprints() {
    let config = AudioConfig::default();
    let opts = DecodeOptions::default();
    let (wav, wav_info) = ok(
        fingerprint_audio_file(&fixture("chords.wav"), &config, &opts),
        "wav",
    );
    let (flac, flac_info) = ok(
        fingerprint_audio_file(&fixture("chords.flac"), &config, &opts),
        "flac",
    );
    assert_eq!(wav_info.decoded_ms, 3000);
    assert_eq!(flac_info.decoded_ms, 3000);
    assert!(!wav.is_silent());
    assert_eq!(wav.duration_ms(), 3000);
    assert_eq!(wav, flac);
}

#[test]
fn fingerprinting_equals_decoding_then_fingerprinting() {
    let config = AudioConfig::default();
    for e in &AUDIO {
        let d = ok(decode_file(e.file, &DecodeOptions::default()), e.file);
        let mut by_hand = ok(
            AudioFingerprinter::new(config.clone(), e.rate, e.channels).map_err(Error::from),
            e.file,
        );
        by_hand.consume(&d.pcm);
        let by_hand = by_hand.finish();
        let (fp, info) = ok(
            fingerprint_audio(
                Box::new(Cursor::new(fixture_bytes(e.file))),
                extension(e.file),
                &config,
                &DecodeOptions::default(),
            ),
            e.file,
        );
        assert_eq!(info, d.info, "{}", e.file);
        assert_eq!(fp, by_hand, "{}", e.file);
    }
}

/// The lossy fixtures are stereo at other rates (or the mono signal through
/// AAC), so their peaks differ from the wav's; they must still give a real
/// fingerprint of the whole decoded duration.
#[test]
fn lossy_fixtures_give_non_empty_fingerprints() {
    let config = AudioConfig::default();
    for e in AUDIO.iter().skip(2) {
        let (fp, info) = ok(
            fingerprint_audio_file(&fixture(e.file), &config, &DecodeOptions::default()),
            e.file,
        );
        assert!(!fp.is_silent(), "{}: silent fingerprint", e.file);
        assert!(
            fp.peaks().len() >= 20,
            "{}: {} peaks",
            e.file,
            fp.peaks().len()
        );
        assert!(!fp.reference_hashes(&config).is_empty(), "{}", e.file);
        assert_eq!(fp.duration_ms(), info.decoded_ms, "{}", e.file);
    }
}

#[test]
fn fingerprinting_reports_the_decoders_errors() {
    let config = AudioConfig::default();
    let opts = DecodeOptions::default();
    let fp = |name: &str| fingerprint_audio_file(&fixture(name), &config, &opts);
    assert!(matches!(fp("video-only.mp4"), Err(Error::NoAudioTrack)));
    assert!(matches!(fp("ac3.mkv"), Err(Error::UnsupportedCodec(c)) if c == "ac3"));
    let empty = fingerprint_audio(Box::new(Cursor::new(Vec::new())), None, &config, &opts);
    assert_corrupt(empty, "empty input");
    let limited = DecodeOptions {
        max_duration_ms: Some(1000),
        ..DecodeOptions::default()
    };
    assert!(matches!(
        fingerprint_audio_file(&fixture("chords.wav"), &config, &limited),
        Err(Error::Limit(_))
    ));
}

// ---------------------------------------------------------------------------
// Windows and limits

#[test]
fn start_and_length_cut_at_exact_frames() {
    for e in &AUDIO {
        let full = ok(decode_file(e.file, &DecodeOptions::default()), e.file);
        let ch = usize::from(e.channels);
        let total = full.frames() as u64;
        let windows: [(u64, Option<u64>); 6] = [
            (0, Some(1000)),
            (250, Some(1500)),
            (1, Some(7)),
            (1000, None),
            (2900, Some(5000)),
            (10_000, None),
        ];
        for (start_ms, length_ms) in windows {
            let what = format!("{} from {start_ms} ms for {length_ms:?} ms", e.file);
            let opts = DecodeOptions {
                start_ms,
                length_ms,
                ..DecodeOptions::default()
            };
            let cut = ok(decode_file(e.file, &opts), &what);
            let from = ms_to_frames(start_ms, e.rate).min(total);
            let to = length_ms
                .map_or(total, |len| ms_to_frames(start_ms + len, e.rate))
                .min(total);
            assert_eq!(cut.frames() as u64, to - from, "{what}");
            assert!(
                cut.pcm[..] == full.pcm[from as usize * ch..to as usize * ch],
                "{what}: not the same samples as the full decode"
            );
            assert_eq!(
                cut.info.decoded_ms,
                frames_to_ms(to - from, e.rate),
                "{what}"
            );
            assert_eq!(
                (cut.info.sample_rate, cut.info.channels),
                (e.rate, e.channels)
            );
        }
    }
}

#[test]
fn one_second_of_wav_is_sixteen_thousand_frames() {
    let opts = DecodeOptions {
        start_ms: 500,
        length_ms: Some(1000),
        ..DecodeOptions::default()
    };
    for name in ["chords.wav", "chords.flac"] {
        let d = ok(decode_file(name, &opts), name);
        assert_eq!(d.frames(), 16_000, "{name}");
        assert_eq!(d.info.decoded_ms, 1000, "{name}");
    }
    let (fp, _) = ok(
        fingerprint_audio_file(&fixture("chords.wav"), &AudioConfig::default(), &opts),
        "fingerprint",
    );
    assert_eq!(fp.duration_ms(), 1000);
}

/// A source that counts the bytes read through it.
struct Counting {
    inner: Cursor<Vec<u8>>,
    read: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Seek for Counting {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl MediaSource for Counting {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.inner.get_ref().len() as u64)
    }
}

#[test]
fn decoding_stops_once_the_window_is_delivered() {
    // Ten seconds of 48 kHz mono: 960 kB.
    let file = wav(&fmt_pcm16(48_000, 1), &tone_pcm16(48_000, 480_000), None);
    let len = file.len() as u64;
    let read = Arc::new(AtomicU64::new(0));
    let source = Counting {
        inner: Cursor::new(file),
        read: Arc::clone(&read),
    };
    let opts = DecodeOptions {
        start_ms: 0,
        length_ms: Some(100),
        ..DecodeOptions::default()
    };
    let d = ok(
        collect(|sink| decode_audio(Box::new(source), Some("wav"), &opts, sink)),
        "window",
    );
    assert_eq!(d.frames(), 4800);
    let read = read.load(Ordering::Relaxed);
    assert!(read < len / 4, "read {read} of {len} bytes for 100 ms");
}

#[test]
fn max_duration_refuses_longer_media() {
    for e in &AUDIO {
        let full = ok(decode_file(e.file, &DecodeOptions::default()), e.file);
        let short = DecodeOptions {
            max_duration_ms: Some(e.ms - 500),
            ..DecodeOptions::default()
        };
        match decode_file(e.file, &short) {
            Err(Error::Limit(msg)) => assert!(msg.contains("more than the"), "{msg}"),
            other => panic!("{}: expected Limit, got {other:?}", e.file),
        }
        let enough = DecodeOptions {
            max_duration_ms: Some(full.info.decoded_ms + 100),
            ..DecodeOptions::default()
        };
        ok(decode_file(e.file, &enough), e.file);
    }
    // The bound is inclusive.
    for (max, is_ok) in [(3000, true), (2999, false)] {
        let opts = DecodeOptions {
            max_duration_ms: Some(max),
            ..DecodeOptions::default()
        };
        for name in ["chords.wav", "chords.flac"] {
            let r = decode_file(name, &opts);
            assert_eq!(r.is_ok(), is_ok, "{name} at {max} ms: {r:?}");
        }
    }
}

#[test]
fn flac_is_refused_on_its_declared_length_before_decoding() {
    let opts = DecodeOptions {
        max_duration_ms: Some(1000),
        ..DecodeOptions::default()
    };
    let mut calls = 0;
    let r = decode_audio_file(&fixture("chords.flac"), &opts, &mut |_, _, _| calls += 1);
    match r {
        Err(Error::Limit(msg)) => assert!(msg.contains("declares 0:00:03.000"), "{msg}"),
        other => panic!("expected Limit, got {other:?}"),
    }
    assert_eq!(calls, 0, "audio was delivered before the limit");
}

/// Streaming WAV writers leave the data size at 0xFFFFFFFF: the declared
/// length is meaningless, the running check applies instead.
#[test]
fn wav_with_unknown_length_is_limited_while_decoding() {
    let one_second = wav(
        &fmt_pcm16(8_000, 1),
        &tone_pcm16(8_000, 8_000),
        Some(u32::MAX),
    );
    let opts = |max| DecodeOptions {
        max_duration_ms: Some(max),
        ..DecodeOptions::default()
    };
    let d = ok(
        decode_bytes(&one_second, None, &opts(2000)),
        "1 s under 2 s",
    );
    assert_eq!(d.info.decoded_ms, 1000);
    assert_eq!(d.info.container, "wav");
    match decode_bytes(&one_second, None, &opts(500)) {
        Err(Error::Limit(msg)) => assert!(msg.contains("is longer than"), "{msg}"),
        other => panic!("expected Limit, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The error policy

#[test]
fn a_video_without_audio_has_no_audio_track() {
    let r = decode_file("video-only.mp4", &DecodeOptions::default());
    assert!(matches!(r, Err(Error::NoAudioTrack)), "{r:?}");
}

/// Opus decodes in the three containers the web uses, to the same
/// signal: the pre-skip trimmed once whichever demuxer read it.
#[test]
fn opus_decodes_alike_in_ogg_webm_and_mp4() {
    let ogg = ok(decode_file("opus.ogg", &DecodeOptions::default()), "ogg");
    for name in ["opus.webm", "opus.mp4"] {
        let other = ok(decode_file(name, &DecodeOptions::default()), name);
        assert_eq!(other.info.codec, "opus", "{name}");
        // Ogg also trims the encoder's end padding (its last granule).
        let n = ogg.pcm.len().min(other.pcm.len());
        assert!(other.pcm.len() >= ogg.pcm.len(), "{name}");
        let diff = ogg.pcm[..n]
            .iter()
            .zip(&other.pcm[..n])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-6, "{name}: differs from the Ogg decode by {diff}");
    }
}

/// A codec this build lacks, in Matroska (whose reader leaves such tracks
/// out), is named, not taken for the absence of sound.
#[test]
fn an_unsupported_codec_in_matroska_is_named() {
    let r = decode_file("ac3.mkv", &DecodeOptions::default());
    match r {
        Err(e @ Error::UnsupportedCodec(_)) => {
            assert_eq!(e.to_string(), "unsupported audio codec: ac3");
        }
        other => panic!("expected UnsupportedCodec, got {:?}", other.map(|d| d.info)),
    }
}

/// Surround is folded to stereo, the stream's channel count kept.
#[test]
fn surround_is_folded_to_stereo() {
    for name in ["chords-6ch.mkv", "opus-6ch.ogg", "aac-6ch.m4a"] {
        let d = ok(decode_file(name, &DecodeOptions::default()), name);
        assert_eq!((d.info.channels, d.info.stream_channels), (2, 6), "{name}");
        let peak = d.pcm.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.05 && peak <= 1.05, "{name}: peak {peak}");
    }
}

/// HE-AAC comes out at the full rate with its high band (SBR), v2 in
/// stereo (parametric stereo), as a real encoder (FDK) wrote them.
#[test]
fn he_aac_decodes_at_the_full_rate() {
    for name in ["he-aac.aac", "he-aac.m4a", "he-aac-v2.m4a"] {
        let d = ok(decode_file(name, &DecodeOptions::default()), name);
        assert_eq!((d.info.sample_rate, d.info.channels), (44_100, 2), "{name}");
        // The core codes up to 11 kHz; energy above it is SBR's.
        let left: Vec<f32> = d.pcm.iter().step_by(2).copied().collect();
        let high = high_band_share(&left, 44_100.0, 12_000.0);
        assert!(high > 1e-4, "{name}: no high band ({high})");
    }
}

/// Energy at 12–16 kHz relative to 1–5 kHz (Goertzel at 500 Hz steps).
fn high_band_share(x: &[f32], rate: f32, cutoff: f32) -> f64 {
    let power = |f: f32| {
        let w = 2.0 * std::f64::consts::PI * f64::from(f / rate);
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in x {
            let s0 = f64::from(v) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2
    };
    let band = |from: f32| (0..9).map(|k| power(from + 500.0 * k as f32)).sum::<f64>();
    band(cutoff) / band(1_000.0).max(1e-12)
}

#[test]
fn sample_rates_and_channel_counts_out_of_range_are_invalid() {
    let tone = tone_pcm16(8_000, 8_000);
    for rate in [500, MAX_INPUT_RATE + 1] {
        let r = decode_bytes(
            &wav(&fmt_pcm16(rate, 1), &tone, None),
            None,
            &Default::default(),
        );
        assert!(
            matches!(r, Err(Error::InvalidStream(_))),
            "{rate} Hz: {r:?}"
        );
    }
    for rate in [MIN_SAMPLE_RATE, MAX_INPUT_RATE] {
        let r = decode_bytes(
            &wav(&fmt_pcm16(rate, 1), &tone, None),
            None,
            &Default::default(),
        );
        assert_eq!(ok(r, "rate in range").info.sample_rate, rate);
    }
}

#[test]
fn empty_input_is_corrupt() {
    let opts = DecodeOptions::default();
    let msg = assert_corrupt(decode_bytes(&[], None, &opts), "empty cursor");
    assert!(msg.contains("empty input"), "{msg}");
    let msg = assert_corrupt(decode_stream(&[], Some("wav")), "empty stream");
    assert!(msg.contains("empty input"), "{msg}");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("empty.mp3");
    std::fs::write(&path, b"").expect("write");
    let msg = assert_corrupt(
        collect(|sink| decode_audio_file(&path, &opts, sink)),
        "empty file",
    );
    assert!(msg.contains("empty input"), "{msg}");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let path = fixture("no-such-file.wav");
    match collect(|sink| decode_audio_file(&path, &DecodeOptions::default(), sink)) {
        Err(Error::Io { path: p, source }) => {
            assert_eq!(p, path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Io, got {other:?}"),
    }
    let r = fingerprint_audio_file(&path, &AudioConfig::default(), &DecodeOptions::default());
    assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
}

/// A source whose reads fail after `ok_bytes` bytes.
struct Failing {
    inner: Cursor<Vec<u8>>,
    ok_bytes: u64,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.ok_bytes.saturating_sub(self.inner.position());
        if left == 0 {
            return Err(std::io::Error::other("disk on fire"));
        }
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        self.inner.read(&mut buf[..n])
    }
}

impl Seek for Failing {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl MediaSource for Failing {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.inner.get_ref().len() as u64)
    }
}

#[test]
fn a_read_failure_mid_stream_is_an_io_error() {
    let source = Failing {
        inner: Cursor::new(fixture_bytes("chords.wav")),
        ok_bytes: 20_000,
    };
    let r = collect(|sink| decode_audio(Box::new(source), None, &Default::default(), sink));
    match r {
        Err(Error::Io { path, source }) => {
            assert_eq!(path, Path::new("<stream>"));
            assert_eq!(source.to_string(), "disk on fire");
        }
        other => panic!("expected Io, got {other:?}"),
    }
}

/// chords-aac.mkv with its AudioSpecificConfig (the 5-byte CodecPrivate)
/// replaced by one that promises more bits than it has: SBR, then an
/// explicit 20-bit extension rate and an object type, 42 bits in 40.
fn aac_mkv_with_overlong_config() -> Vec<u8> {
    let mut bytes = fixture_bytes("chords-aac.mkv");
    let at = bytes
        .windows(3)
        .position(|w| w == [0x63, 0xa2, 0x85])
        .expect("CodecPrivate of 5 bytes")
        + 3;
    bytes[at..at + 5].copy_from_slice(&[0x29, 0x97, 0x80, 0x00, 0x00]);
    bytes
}

/// symphonia's bit readers report running off the end of a header as an
/// `IoError` ("unexpected end of bitstream"); that is corrupt data, not a
/// failure to read. Found by the `decode_fingerprint` fuzz target (a Vorbis
/// setup header in WebM); regression test.
#[test]
fn a_bitstream_overrun_in_the_codec_config_is_corrupt_not_io() {
    let bytes = aac_mkv_with_overlong_config();
    for hint in [None, Some("mkv")] {
        let r = decode_bytes(&bytes, hint, &DecodeOptions::default());
        let msg = assert_corrupt(r, "overlong AudioSpecificConfig");
        assert_eq!(
            msg,
            "reading the codec parameters: aac: malformed AudioSpecificConfig"
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad-asc.mkv");
    std::fs::write(&path, &bytes).expect("write");
    let r = fingerprint_audio_file(&path, &AudioConfig::default(), &DecodeOptions::default());
    assert!(matches!(r, Err(Error::Corrupt(_))), "{r:?}");
}

/// The first bytes of each fixture: the container is recognised, its
/// headers are not complete.
#[test]
fn byte_prefixes_are_headers_cut_short() {
    let expected_10 = [
        ("chords.wav", "wav headers cut short"),
        ("chords.flac", "flac headers cut short"),
        ("chords.mp3", "truncated inside the ID3 tag"),
        ("chords.ogg", "ogg headers cut short"),
        ("chords.m4a", "mp4 headers cut short"),
        // Ten bytes do not reach the DocType, so webm is not told apart.
        ("chords-video.webm", "matroska headers cut short"),
        ("chords-6ch.mkv", "matroska headers cut short"),
        ("video-only.mp4", "mp4 headers cut short"),
    ];
    for (name, message) in expected_10 {
        let bytes = fixture_bytes(name);
        let got = assert_corrupt(
            decode_bytes(&bytes[..10], None, &DecodeOptions::default()),
            name,
        );
        assert_eq!(got, message, "{name}, 10 bytes");
    }
    for name in ALL {
        let bytes = fixture_bytes(name);
        match decode_bytes(&bytes[..100], None, &DecodeOptions::default()) {
            // 100 bytes of a WAV reach a few samples into the data.
            Ok(d) if name == "chords.wav" => assert!(d.info.decoded_ms < 5),
            r => {
                let msg = assert_corrupt(r, &format!("{name}, 100 bytes"));
                // ADTS has no headers but each frame's: its prefix is a
                // stream cut inside the first frame.
                let adts = name.ends_with(".aac") && msg.starts_with("no decodable audio");
                assert!(
                    msg.ends_with("headers cut short") || msg.contains("ID3") || adts,
                    "{name}: {msg}"
                );
            }
        }
    }
}

#[test]
fn half_a_file_decodes_about_half_the_audio() {
    for e in &AUDIO {
        let bytes = fixture_bytes(e.file);
        let r = decode_bytes(&bytes[..bytes.len() / 2], None, &DecodeOptions::default());
        if e.container == "mp4" {
            // The moov box (the index) is at the end.
            let msg = assert_corrupt(r, e.file);
            assert_eq!(msg, "mp4 headers cut short");
            continue;
        }
        let d = ok(r, e.file);
        let fraction = d.info.decoded_ms as f64 / e.ms as f64;
        // Ogg pages hold about a second each here, hence the wide range.
        assert!(
            (0.2..=0.6).contains(&fraction),
            "{}: {} of {} ms",
            e.file,
            d.info.decoded_ms,
            e.ms
        );
        assert_eq!((d.info.sample_rate, d.info.channels), (e.rate, e.channels));
    }
}

/// Every 1/16 of every fixture: an error of the expected kind or a shorter
/// decode in the same format, never an unwind (truncated Matroska makes
/// symphonia panic; the panic must be caught).
#[test]
fn truncations_at_every_sixteenth_are_ok_or_corrupt() {
    for name in ALL {
        let bytes = fixture_bytes(name);
        let expected = AUDIO.iter().find(|e| e.file == name);
        for k in 1..16 {
            let cut = bytes.len() * k / 16;
            let what = format!("{name} cut at {k}/16 ({cut} bytes)");
            let r = decode_bytes(&bytes[..cut], extension(name), &DecodeOptions::default());
            match (r, expected) {
                (Ok(d), Some(e)) => {
                    assert!(d.info.decoded_ms <= e.ms, "{what}: {:?}", d.info);
                    assert_eq!((d.info.sample_rate, d.info.channels), (e.rate, e.channels));
                    assert_eq!(d.info.decoded_ms, frames_to_ms(d.frames() as u64, e.rate));
                }
                (Err(Error::Corrupt(_)), _) => {}
                (Err(Error::UnsupportedCodec(c)), None) if name == "ac3.mkv" => {
                    assert_eq!(c, "ac3", "{what}");
                }
                (Err(Error::NoAudioTrack), None) if name == "ac3.mkv" => {}
                (other, _) => panic!("{what}: {:?}", other.map(|d| d.info)),
            }
        }
    }
}

#[test]
fn truncated_lossless_files_deliver_a_prefix_of_the_samples() {
    let full = ok(decode_file("chords.wav", &DecodeOptions::default()), "wav");
    let bytes = fixture_bytes("chords.wav");
    let data_start = bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("data chunk")
        + 8;
    for k in 1..16 {
        let cut = bytes.len() * k / 16;
        let d = ok(
            decode_bytes(&bytes[..cut], None, &DecodeOptions::default()),
            "wav",
        );
        assert_eq!(d.frames(), (cut - data_start) / 2, "wav cut at {cut}");
        assert!(d.pcm[..] == full.pcm[..d.pcm.len()], "wav cut at {cut}");
    }
    let bytes = fixture_bytes("chords.flac");
    for k in 5..16 {
        let cut = bytes.len() * k / 16;
        let d = ok(
            decode_bytes(&bytes[..cut], None, &DecodeOptions::default()),
            "flac",
        );
        assert!(d.frames() > 0);
        assert!(d.pcm[..] == full.pcm[..d.pcm.len()], "flac cut at {cut}");
    }
}

/// A cut Matroska download lacks the Cues and Tags its SeekHead points
/// to (symphonia fails, or panics, following it): it is read in order and
/// still decodes up to the cut.
#[test]
fn truncated_matroska_still_decodes() {
    for (name, min_ms) in [
        ("chords-6ch.mkv", 1000),
        ("chords-aac.mkv", 1500),
        ("chords-video.webm", 1000),
    ] {
        let bytes = fixture_bytes(name);
        let d = ok(
            decode_bytes(&bytes[..bytes.len() / 2], None, &DecodeOptions::default()),
            name,
        );
        assert!(d.info.decoded_ms >= min_ms, "{name}: {:?}", d.info);
        assert_eq!(d.info.skipped_packets, 0, "{name}");
    }
}

#[test]
fn random_garbage_is_unknown_or_corrupt() {
    let hints = [
        None,
        Some("wav"),
        Some("mp3"),
        Some("flac"),
        Some("ogg"),
        Some("mkv"),
        Some("m4a"),
    ];
    let lengths = [1, 2, 3, 11, 63, 64, 65, 1000, 4096, 65_536];
    let mut seed = 0;
    for len in lengths {
        for hint in hints {
            seed += 1;
            let bytes = random_bytes(seed, len);
            let r = decode_bytes(&bytes, hint, &DecodeOptions::default());
            assert!(
                matches!(r, Err(Error::UnknownFormat | Error::Corrupt(_))),
                "{len} random bytes (seed {seed}) with hint {hint:?}: {:?}",
                r.map(|d| d.info)
            );
        }
    }
}

#[test]
fn text_is_an_unknown_format() {
    let text = b"This is not audio. ".repeat(100);
    let r = decode_bytes(&text, Some("mp3"), &DecodeOptions::default());
    assert!(
        matches!(r, Err(Error::UnknownFormat)),
        "{:?}",
        r.map(|d| d.info)
    );
}

#[test]
fn non_seekable_streams_decode_like_seekable_ones() {
    for e in &AUDIO {
        let bytes = fixture_bytes(e.file);
        let seekable = ok(
            decode_bytes(&bytes, None, &DecodeOptions::default()),
            e.file,
        );
        let streamed = decode_stream(&bytes, None);
        match e.container {
            // The moov box sits after the data: MP4 needs seeking. (It is
            // then not recognised at all.)
            "mp4" => assert!(
                streamed.is_err(),
                "{}: {:?}",
                e.file,
                streamed.map(|d| d.info)
            ),
            // Without the last page's granule position the final packet is
            // not trimmed: a few ms more, the same samples before.
            "ogg" => {
                let streamed = ok(streamed, e.file);
                assert!(streamed.pcm.len() >= seekable.pcm.len());
                assert!(streamed.info.decoded_ms <= seekable.info.decoded_ms + 50);
                assert!(streamed.pcm[..seekable.pcm.len()] == seekable.pcm[..]);
            }
            _ => {
                let streamed = ok(streamed, e.file);
                assert_eq!(streamed.info, seekable.info, "{}", e.file);
                assert!(streamed.pcm == seekable.pcm, "{}", e.file);
            }
        }
    }
}

#[test]
fn containers_are_sniffed_from_their_magic_bytes() {
    let mut mp4 = vec![0, 0, 0, 0x20];
    mp4.extend_from_slice(b"ftypisom");
    let mut webm = vec![0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84];
    webm.extend_from_slice(b"webm");
    let cases: [(&[u8], Option<&str>); 16] = [
        (b"RIFF\x24\0\0\0WAVEfmt ", Some("wav")),
        (b"RIFF", Some("wav")),
        (b"RIFF\x24\0\0\0AVI LIST", None),
        (b"fLaC\0\0\0\x22", Some("flac")),
        (b"OggS\0\x02", Some("ogg")),
        (&[0x1a, 0x45, 0xdf, 0xa3, 0x01], Some("matroska")),
        (&webm, Some("webm")),
        (&mp4, Some("mp4")),
        (b"FORM\0\0\0\0AIFF", Some("aiff")),
        (b"FORM\0\0\0\0AIFC", Some("aiff")),
        (b"caff\0\x01", Some("caf")),
        (b"ID3\x04\0", Some("id3")),
        (&[0xff, 0xf1, 0x50], Some("adts")),
        (&[0xff, 0xfb, 0x90], Some("mpeg-audio")),
        (b"", None),
        (b"hello world", None),
    ];
    for (head, expected) in cases {
        assert_eq!(sniff_container(head), expected, "{head:?}");
    }
}

#[test]
fn container_names_fall_back_on_the_codec() {
    assert_eq!(
        container_name(Some("ogg"), codecs::CODEC_TYPE_VORBIS),
        "ogg"
    );
    assert_eq!(
        container_name(Some("id3"), codecs::CODEC_TYPE_MP3),
        "mpeg-audio"
    );
    assert_eq!(container_name(None, codecs::CODEC_TYPE_AAC), "adts");
    assert_eq!(container_name(Some("id3"), codecs::CODEC_TYPE_FLAC), "flac");
    assert_eq!(container_name(None, codecs::CODEC_TYPE_VORBIS), "unknown");
}

#[test]
fn codec_names() {
    assert_eq!(codec_name(codecs::CODEC_TYPE_MP3), "mp3");
    assert_eq!(codec_name(codecs::CODEC_TYPE_PCM_S16LE), "pcm_s16le");
    assert_eq!(codec_name(codecs::CODEC_TYPE_OPUS), "opus");
    assert_eq!(codec_name(codecs::CODEC_TYPE_EAC3), "eac3");
    assert!(codec_name(codecs::decl_codec_type(b"zzzz")).starts_with("codec "));
}

#[test]
fn durations_and_frame_counts() {
    assert_eq!(fmt_duration(0), "0:00:00.000");
    assert_eq!(fmt_duration(3_723_004), "1:02:03.004");
    assert_eq!(frames_to_ms(44_100, 44_100), 1000);
    assert_eq!(frames_to_ms(44_099, 44_100), 999);
    assert_eq!(frames_to_ms(10, 0), 10_000);
    assert_eq!(frames_to_ms(u64::MAX, 1000), u64::MAX);
    assert_eq!(ms_to_frames(1000, 22_050), 22_050);
    assert_eq!(ms_to_frames(1, 22_050), 22);
    assert_eq!(ms_to_frames(u64::MAX, MAX_INPUT_RATE), u64::MAX);
}

#[test]
fn rate_and_channel_ranges() {
    assert!(check_rate(MIN_SAMPLE_RATE - 1).is_err());
    assert!(check_rate(MIN_SAMPLE_RATE).is_ok());
    assert!(check_rate(MAX_INPUT_RATE).is_ok());
    assert!(check_rate(MAX_INPUT_RATE + 1).is_err());
    assert!(check_channels(0).is_err());
    assert!(check_channels(1).is_ok());
    assert!(check_channels(usize::from(MAX_CHANNELS)).is_ok());
    assert!(check_channels(usize::from(MAX_CHANNELS) + 1).is_err());
}
