//! Probing: what symphonia's probe makes of the input, what the first
//! bytes announce, and the names of containers and codecs.

use std::io::{Read, SeekFrom};

use symphonia::core::codecs::{self, CodecType};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::session::{map_error, StreamError};
use crate::error::{Error, Result};
use crate::guard::guarded;

/// Probes the container and instantiates its reader.
pub(super) fn probe_format(
    mss: MediaSourceStream,
    hint: &Hint,
    sniffed: Option<&'static str>,
    io_error: &StreamError<'_>,
) -> Result<Box<dyn FormatReader>> {
    let format_opts = FormatOptions {
        // Lets the MP3 decoder drop encoder delay and padding, so durations
        // and offsets match the original signal.
        enable_gapless: true,
        ..FormatOptions::default()
    };
    let probed = guarded("probing the container", || {
        symphonia::default::get_probe().format(hint, mss, &format_opts, &MetadataOptions::default())
    })?;
    match probed {
        Ok(p) => Ok(p.format),
        Err(SymError::Unsupported(_)) => Err(Error::UnknownFormat),
        Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(match sniffed {
                Some("id3") => Error::Corrupt("truncated inside the ID3 tag".into()),
                Some(c) => Error::Corrupt(format!("{c} headers cut short")),
                None => Error::UnknownFormat,
            })
        }
        Err(e) => Err(map_error(e, "reading the container headers", io_error)),
    }
}

/// The container the first bytes announce, if they announce one.
pub(super) fn sniff_container(head: &[u8]) -> Option<&'static str> {
    let at = |i: usize, m: &[u8]| head.get(i..i + m.len()) == Some(m);
    if at(0, b"RIFF") && (at(8, b"WAVE") || head.len() < 12) {
        Some("wav")
    } else if at(0, b"fLaC") {
        Some("flac")
    } else if at(0, b"OggS") {
        Some("ogg")
    } else if at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
        Some(if head.windows(4).any(|w| w == b"webm") {
            "webm"
        } else {
            "matroska"
        })
    } else if [&b"ftyp"[..], b"moov", b"mdat", b"free", b"wide"]
        .iter()
        .any(|m| at(4, m))
    {
        Some("mp4")
    } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        Some("aiff")
    } else if at(0, b"caff") {
        Some("caf")
    } else if at(0, b"ID3") {
        // A tag, not a container: the codec tells what follows.
        Some("id3")
    } else if head.len() >= 2 && head[0] == 0xff && head[1] & 0xf6 == 0xf0 {
        Some("adts")
    } else if head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0 {
        Some("mpeg-audio")
    } else {
        None
    }
}

pub(super) fn container_name(sniffed: Option<&'static str>, codec: CodecType) -> &'static str {
    match sniffed {
        Some("id3") | None => match codec {
            codecs::CODEC_TYPE_MP1 | codecs::CODEC_TYPE_MP2 | codecs::CODEC_TYPE_MP3 => {
                "mpeg-audio"
            }
            codecs::CODEC_TYPE_AAC => "adts",
            codecs::CODEC_TYPE_FLAC => "flac",
            _ => "unknown",
        },
        Some(c) => c,
    }
}

/// A codec's short name: symphonia's for the codecs it decodes, ours for the
/// ones it only recognises.
pub(super) fn codec_name(codec: CodecType) -> String {
    if let Some(d) = super::codecs::registry().get_codec(codec) {
        return d.short_name.to_owned();
    }
    let name = match codec {
        codecs::CODEC_TYPE_OPUS => "opus",
        codecs::CODEC_TYPE_SPEEX => "speex",
        codecs::CODEC_TYPE_MUSEPACK => "musepack",
        codecs::CODEC_TYPE_ATRAC1 => "atrac1",
        codecs::CODEC_TYPE_ATRAC3 => "atrac3",
        codecs::CODEC_TYPE_ATRAC3PLUS => "atrac3plus",
        codecs::CODEC_TYPE_ATRAC9 => "atrac9",
        codecs::CODEC_TYPE_EAC3 => "eac3",
        codecs::CODEC_TYPE_AC4 => "ac4",
        codecs::CODEC_TYPE_DCA => "dts",
        codecs::CODEC_TYPE_WMA => "wma",
        codecs::CODEC_TYPE_WAVPACK => "wavpack",
        codecs::CODEC_TYPE_MONKEYS_AUDIO => "ape",
        codecs::CODEC_TYPE_TTA => "tta",
        codecs::CODEC_TYPE_ADPCM_G722 => "adpcm_g722",
        codecs::CODEC_TYPE_ADPCM_G726 | codecs::CODEC_TYPE_ADPCM_G726LE => "adpcm_g726",
        _ => return format!("codec {codec}"),
    };
    name.to_owned()
}

/// Where `marker` occurs in the bytes symphonia's probe searches from
/// `start` (1 MiB, `Probe::PROBE_SEARCH_LIMIT`, plus its 16-byte window).
pub(super) fn find_ahead(
    source: &mut dyn MediaSource,
    start: u64,
    marker: &[u8],
) -> std::io::Result<Vec<u64>> {
    const PROBE_SEARCH_LIMIT: u64 = 1024 * 1024 + 16;
    let head = read_at(source, start, PROBE_SEARCH_LIMIT)?;
    Ok(head
        .windows(marker.len())
        .enumerate()
        .filter(|(_, w)| *w == marker)
        .map(|(i, _)| start + i as u64)
        .collect())
}

/// Up to `limit` bytes of `source` from `start`, its position left where
/// it was.
fn read_at(source: &mut dyn MediaSource, start: u64, limit: u64) -> std::io::Result<Vec<u8>> {
    let entry = source.stream_position()?;
    source.seek(SeekFrom::Start(start))?;
    let mut head = Vec::new();
    (&mut *source).take(limit).read_to_end(&mut head)?;
    source.seek(SeekFrom::Start(entry))?;
    Ok(head)
}

/// The first audio codec a Matroska file's track entries name (`A_AC3`
/// → `ac3`, `A_MS/ACM` → `ms_acm`), read from its first 256 KiB: said
/// when symphonia's reader knows none of its audio tracks, which it then
/// does not list.
pub(super) fn matroska_audio_codec(
    source: &mut dyn MediaSource,
    start: u64,
) -> std::io::Result<Option<String>> {
    let head = read_at(source, start, 256 * 1024)?;
    let found = crate::guard::matroska_codec_ids(&head).find(|id| id.starts_with(b"A_"));
    Ok(found.map(|id| {
        String::from_utf8_lossy(&id[2..])
            .to_ascii_lowercase()
            .replace('/', "_")
    }))
}
