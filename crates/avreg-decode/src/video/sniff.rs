//! Naming what a build without the `ffmpeg` feature cannot decode: the
//! container and, where the head of the file tells it, the video codec of
//! Matroska/WebM, AVI, MPEG program and transport streams, MPEG video
//! elementary streams, Ogg, IVF, FLV and ASF files. Only the first
//! [`SNIFF_BYTES`] are looked at; nothing here allocates from a number read
//! in the file.

use crate::guard::matroska_codec_ids;

/// How much of the file's head is read to name its codec.
pub(crate) const SNIFF_BYTES: usize = 1 << 20;

/// What the head of a file says about its video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// A container we know holding (or probably holding) video: its name
    /// and the video codec (`unknown` when the head does not tell).
    Video {
        container: &'static str,
        codec: String,
    },
    /// A known container whose tracks are all audio (or subtitles).
    AudioOnly,
    /// Nothing we know.
    Unknown,
}

fn video(container: &'static str, codec: impl Into<String>) -> Sniffed {
    Sniffed::Video {
        container,
        codec: codec.into(),
    }
}

/// Names the container and video codec of `head`, the first bytes of a file
/// (up to [`SNIFF_BYTES`]).
pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        matroska(head)
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"AVI " {
        avi(head)
    } else if head.starts_with(&[0, 0, 1, 0xBA]) {
        mpeg_ps(head)
    } else if head.starts_with(&[0, 0, 1, 0xB3]) {
        video("mpegvideo", mpeg_video_codec(head))
    } else if let Some(packet) = ts_packet_size(head) {
        mpeg_ts(head, packet)
    } else if head.starts_with(b"OggS") {
        ogg(head)
    } else if head.len() >= 12 && head.starts_with(b"DKIF") {
        video("ivf", ivf_codec(&head[8..12]))
    } else if head.len() >= 9 && head.starts_with(b"FLV") {
        flv(head)
    } else if head.starts_with(&ASF_HEADER) {
        asf(head)
    } else {
        Sniffed::Unknown
    }
}

/// Positions of `needle` in `hay`.
fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    hay.windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(i, _)| i)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    find_all(hay, needle).next()
}

/// Matroska and WebM: the `DocType` in the EBML header, and the `CodecID`
/// elements (ID 0x86, a one-byte size, `V_…`/`A_…`/`S_…`) of the tracks.
fn matroska(head: &[u8]) -> Sniffed {
    let header = &head[..head.len().min(64)];
    let container = if find(header, b"webm").is_some() {
        "webm"
    } else {
        "matroska"
    };
    let mut audio = false;
    for id in matroska_codec_ids(head) {
        match id[0] {
            b'V' => return video(container, matroska_codec(id)),
            b'A' | b'S' => audio = true,
            _ => {}
        }
    }
    if audio {
        Sniffed::AudioOnly
    } else {
        video(container, "unknown")
    }
}

fn matroska_codec(id: &[u8]) -> String {
    let id = String::from_utf8_lossy(id);
    let name = match id.as_ref() {
        "V_VP8" => "vp8",
        "V_VP9" => "vp9",
        "V_AV1" => "av1",
        "V_MPEG4/ISO/AVC" => "h264",
        "V_MPEGH/ISO/HEVC" => "hevc",
        "V_MPEG1" => "mpeg1video",
        "V_MPEG2" => "mpeg2video",
        "V_THEORA" => "theora",
        "V_PRORES" => "prores",
        "V_FFV1" => "ffv1",
        "V_UNCOMPRESSED" => "rawvideo",
        "V_MS/VFW/FOURCC" => "vfw",
        other if other.starts_with("V_MPEG4/ISO/") => "mpeg4",
        other => return other.trim_start_matches("V_").to_ascii_lowercase(),
    };
    name.into()
}

/// AVI: the `strf` after the first `strh` of type `vids` holds a
/// BITMAPINFOHEADER whose `biCompression` names the codec.
fn avi(head: &[u8]) -> Sniffed {
    for at in find_all(head, b"strh") {
        let Some(kind) = head.get(at + 8..at + 12) else {
            break;
        };
        if kind != b"vids" {
            continue;
        }
        let handler = head.get(at + 12..at + 16);
        let compression =
            find(&head[at..], b"strf").and_then(|f| head.get(at + f + 8 + 16..at + f + 8 + 20));
        let fourcc = match (compression, handler) {
            (Some(c), _) if c != [0, 0, 0, 0] => c,
            (Some(_), _) => return video("avi", "rawvideo"),
            (None, Some(h)) => h,
            (None, None) => return video("avi", "unknown"),
        };
        return video("avi", fourcc_codec(fourcc));
    }
    if find(head, b"auds").is_some() {
        Sniffed::AudioOnly
    } else {
        video("avi", "unknown")
    }
}

/// A Video for Windows / ASF compression code as FFmpeg names the codec.
fn fourcc_codec(fourcc: &[u8]) -> String {
    let code = String::from_utf8_lossy(fourcc).to_ascii_uppercase();
    let name = match code.as_str() {
        "FMP4" | "XVID" | "DIVX" | "DX50" | "MP4V" | "M4S2" => "mpeg4",
        "H264" | "AVC1" | "X264" => "h264",
        "HEVC" | "H265" | "HVC1" | "HEV1" => "hevc",
        "MJPG" => "mjpeg",
        "VP80" => "vp8",
        "VP90" => "vp9",
        "AV01" => "av1",
        "MPG1" => "mpeg1video",
        "MPG2" => "mpeg2video",
        "DIV3" | "MP43" => "msmpeg4v3",
        "WMV1" => "wmv1",
        "WMV2" => "wmv2",
        "WMV3" => "wmv3",
        "WVC1" => "vc1",
        "FFV1" => "ffv1",
        _ => {
            let trimmed = code.trim_matches(|c: char| c == '\0' || c.is_whitespace());
            if trimmed.is_empty() || !trimmed.chars().all(|c| c.is_ascii_graphic()) {
                return "unknown".into();
            }
            return trimmed.to_ascii_lowercase();
        }
    };
    name.into()
}

/// MPEG-1/2 video: a sequence header, followed by a sequence extension
/// (start code 0xB5) in MPEG-2.
fn mpeg_video_codec(head: &[u8]) -> &'static str {
    match find(head, &[0, 0, 1, 0xB3]) {
        Some(at) => {
            // The extension follows the 8 to 136 bytes of the header.
            let after = &head[at + 4..head.len().min(at + 4 + 160)];
            if find(after, &[0, 0, 1, 0xB5]).is_some() {
                "mpeg2video"
            } else {
                "mpeg1video"
            }
        }
        None => "unknown",
    }
}

/// MPEG program stream: video PES packets (stream ids 0xE0–0xEF), whose
/// codec is told by an MPEG-1/2 sequence header.
fn mpeg_ps(head: &[u8]) -> Sniffed {
    let has_stream = |ids: std::ops::RangeInclusive<u8>| {
        find_all(head, &[0, 0, 1])
            .filter_map(|i| head.get(i + 3))
            .any(|id| ids.contains(id))
    };
    if has_stream(0xE0..=0xEF) {
        video("mpeg-ps", mpeg_video_codec(head))
    } else if has_stream(0xC0..=0xDF) {
        Sniffed::AudioOnly
    } else {
        video("mpeg-ps", "unknown")
    }
}

/// The packet size of an MPEG transport stream (188, or 192 for M2TS with
/// its 4-byte time code first), from three sync bytes in a row.
fn ts_packet_size(head: &[u8]) -> Option<usize> {
    [(188, 0), (192, 4)].into_iter().find_map(|(size, off)| {
        (0..3)
            .all(|k| head.get(off + k * size) == Some(&0x47))
            .then_some(size)
    })
}

/// MPEG transport stream: the stream types of the programs' PMTs, found
/// through the PAT.
fn mpeg_ts(head: &[u8], packet: usize) -> Sniffed {
    let off = packet - 188;
    // Payloads that start a section: (pid, section).
    let sections = || {
        head.chunks_exact(packet).filter_map(move |p| {
            let p = &p[off..];
            if p[0] != 0x47 || p[1] & 0x40 == 0 {
                return None;
            }
            let pid = (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]);
            let payload = match (p[3] >> 4) & 3 {
                1 => &p[4..],
                3 => p.get(5 + usize::from(p[4])..)?,
                _ => return None,
            };
            let pointer = usize::from(*payload.first()?);
            Some((pid, payload.get(1 + pointer..)?))
        })
    };
    let mut pmt_pids = Vec::new();
    for (pid, s) in sections() {
        if pid != 0 || s.len() < 8 || s[0] != 0 {
            continue;
        }
        let len = ((usize::from(s[1] & 0x0f) << 8) | usize::from(s[2])).min(s.len() - 3);
        // Program entries run from byte 8 to the CRC.
        let entries = s.get(8..(3 + len).saturating_sub(4)).unwrap_or(&[]);
        for e in entries.chunks_exact(4) {
            let program = u16::from_be_bytes([e[0], e[1]]);
            if program != 0 {
                pmt_pids.push((u16::from(e[2] & 0x1f) << 8) | u16::from(e[3]));
            }
        }
        break;
    }
    let mut audio = false;
    for (pid, s) in sections() {
        if !pmt_pids.contains(&pid) || s.len() < 12 || s[0] != 2 {
            continue;
        }
        let len = ((usize::from(s[1] & 0x0f) << 8) | usize::from(s[2])).min(s.len() - 3);
        let end = (3 + len).saturating_sub(4);
        let info = (usize::from(s[10] & 0x0f) << 8) | usize::from(s[11]);
        let mut i = 12 + info;
        while i + 5 <= end {
            let kind = s[i];
            let es_info = (usize::from(s[i + 3] & 0x0f) << 8) | usize::from(s[i + 4]);
            let codec = match kind {
                0x01 => Some("mpeg1video"),
                0x02 => Some("mpeg2video"),
                0x10 => Some("mpeg4"),
                0x1B => Some("h264"),
                0x24 => Some("hevc"),
                0x33 => Some("vvc"),
                0x42 => Some("cavs"),
                0xD1 => Some("dirac"),
                0xEA => Some("vc1"),
                0x03 | 0x04 | 0x0F | 0x11 | 0x81 | 0x87 => {
                    audio = true;
                    None
                }
                _ => None,
            };
            if let Some(codec) = codec {
                return video("mpeg-ts", codec);
            }
            i += 5 + es_info;
        }
    }
    if audio {
        Sniffed::AudioOnly
    } else {
        video("mpeg-ts", "unknown")
    }
}

/// Ogg: the identification header of a Theora stream; Ogg with only
/// Vorbis, Opus, FLAC or Speex is audio (the audio edge reads it).
fn ogg(head: &[u8]) -> Sniffed {
    let head = &head[..head.len().min(64 << 10)];
    if find(head, b"\x80theora").is_some() {
        video("ogg", "theora")
    } else if find(head, b"\x01video\0\0\0").is_some() {
        video("ogg", "unknown")
    } else if [&b"\x01vorbis"[..], b"OpusHead", b"\x7fFLAC", b"Speex   "]
        .iter()
        .any(|m| find(head, m).is_some())
    {
        Sniffed::AudioOnly
    } else {
        Sniffed::Unknown
    }
}

fn ivf_codec(fourcc: &[u8]) -> String {
    fourcc_codec(fourcc)
}

/// FLV: the header's video flag and the codec id of the first video tag.
fn flv(head: &[u8]) -> Sniffed {
    if head[4] & 0x01 == 0 {
        return Sniffed::AudioOnly;
    }
    let mut pos = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) as usize + 4;
    // Tags: type, 24-bit size, timestamp (4), stream id (3), data.
    for _ in 0..64 {
        let Some(tag) = head.get(pos..pos + 12) else {
            break;
        };
        let size = (usize::from(tag[1]) << 16) | (usize::from(tag[2]) << 8) | usize::from(tag[3]);
        if tag[0] & 0x1f == 9 {
            let codec = match tag[11] & 0x0f {
                2 => "flv1",
                3 => "flashsv",
                4 | 5 => "vp6f",
                6 => "flashsv2",
                7 => "h264",
                12 => "hevc",
                _ => "unknown",
            };
            return video("flv", codec);
        }
        pos += 11 + size + 4;
    }
    video("flv", "unknown")
}

const ASF_HEADER: [u8; 16] = [
    0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
];
const ASF_VIDEO_MEDIA: [u8; 16] = [
    0xC0, 0xEF, 0x19, 0xBC, 0x4D, 0x5B, 0xCF, 0x11, 0xA8, 0xFD, 0x00, 0x80, 0x5F, 0x5C, 0x44, 0x2B,
];
const ASF_AUDIO_MEDIA: [u8; 16] = [
    0x40, 0x9E, 0x69, 0xF8, 0x4D, 0x5B, 0xCF, 0x11, 0xA8, 0xFD, 0x00, 0x80, 0x5F, 0x5C, 0x44, 0x2B,
];

/// ASF (WMV): the stream properties object of a video stream; its
/// type-specific data holds a BITMAPINFOHEADER 11 bytes in.
fn asf(head: &[u8]) -> Sniffed {
    if let Some(at) = find(head, &ASF_VIDEO_MEDIA) {
        // Stream type (16), error correction type (16), time offset (8),
        // two lengths (4 + 4), flags (2), reserved (4): type-specific data.
        let data = at + 54;
        let codec = head
            .get(data + 11 + 16..data + 11 + 20)
            .map_or_else(|| "unknown".into(), fourcc_codec);
        video("asf", codec)
    } else if find(head, &ASF_AUDIO_MEDIA).is_some() {
        Sniffed::AudioOnly
    } else {
        video("asf", "unknown")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A WebM head as libwebm writes it: the EBML header with its DocType,
    /// a Segment, and a track entry with a CodecID.
    pub(crate) fn webm_head(codec_id: &[u8]) -> Vec<u8> {
        let mut v = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F];
        v.extend_from_slice(&[0x42, 0x86, 0x81, 0x01]); // EBMLVersion 1
        v.extend_from_slice(&[0x42, 0xF7, 0x81, 0x01]); // EBMLReadVersion 1
        v.extend_from_slice(&[0x42, 0xF2, 0x81, 0x04]); // EBMLMaxIDLength 4
        v.extend_from_slice(&[0x42, 0xF3, 0x81, 0x08]); // EBMLMaxSizeLength 8
        v.extend_from_slice(&[0x42, 0x82, 0x84]); // DocType "webm"
        v.extend_from_slice(b"webm");
        v.extend_from_slice(&[0x42, 0x87, 0x81, 0x04]); // DocTypeVersion 4
        v.extend_from_slice(&[0x42, 0x85, 0x81, 0x02]); // DocTypeReadVersion 2
                                                        // Segment of unknown size, Tracks, TrackEntry, TrackNumber 1.
        v.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF]);
        v.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        let entry_len = 3 + 2 + codec_id.len();
        v.extend_from_slice(&[0x16, 0x54, 0xAE, 0x6B, 0x80 | (entry_len as u8 + 2)]);
        v.extend_from_slice(&[0xAE, 0x80 | entry_len as u8]);
        v.extend_from_slice(&[0xD7, 0x81, 0x01]);
        v.extend_from_slice(&[0x86, 0x80 | codec_id.len() as u8]);
        v.extend_from_slice(codec_id);
        v
    }

    #[test]
    fn matroska_codec_ids_are_named() {
        assert_eq!(
            sniff(&webm_head(b"V_VP9")),
            video("webm", "vp9"),
            "{:?}",
            webm_head(b"V_VP9")
        );
        assert_eq!(sniff(&webm_head(b"V_AV1")), video("webm", "av1"));
        let mut mkv = webm_head(b"V_MPEGH/ISO/HEVC");
        mkv[24..28].copy_from_slice(b"mkvx");
        assert_eq!(sniff(&mkv), video("matroska", "hevc"));
        assert_eq!(sniff(&webm_head(b"A_OPUS")), Sniffed::AudioOnly);
        // The EBML magic and then nothing we can read.
        let mut junk = vec![0x1A, 0x45, 0xDF, 0xA3];
        junk.extend((0..4096u32).map(|i| (i * 7919 % 251) as u8 & 0x7f));
        assert_eq!(sniff(&junk), video("matroska", "unknown"));
    }

    #[test]
    fn avi_names_its_compression() {
        let mut avi = b"RIFF\0\0\0\0AVI LIST\0\0\0\0hdrlavih".to_vec();
        avi.extend_from_slice(&[0; 56]);
        avi.extend_from_slice(b"LIST\0\0\0\0strlstrh\x38\0\0\0vidsFMP4");
        avi.extend_from_slice(&[0; 48]);
        avi.extend_from_slice(b"strf\x28\0\0\0\x28\0\0\0");
        avi.extend_from_slice(&[0; 12]);
        avi.extend_from_slice(b"XVID");
        avi.extend_from_slice(&[0; 20]);
        assert_eq!(sniff(&avi), video("avi", "mpeg4"));
    }

    #[test]
    fn mpeg_streams_are_named() {
        let mut ps = vec![0, 0, 1, 0xBA, 0x44, 0, 4, 0, 4, 1, 1, 0x89, 0xC3, 0xF8];
        ps.extend_from_slice(&[0, 0, 1, 0xE0, 0, 20, 0x80, 0, 0]);
        ps.extend_from_slice(&[0, 0, 1, 0xB3, 0x0A, 0, 0x78, 0x13, 0xFF, 0xFF, 0xE0, 0x18]);
        ps.extend_from_slice(&[0, 0, 1, 0xB5, 0x14, 0x8A, 0, 1, 0, 0]);
        assert_eq!(sniff(&ps), video("mpeg-ps", "mpeg2video"));

        // A transport stream: PAT (program 1 at PID 0x1000), then a PMT
        // with an AAC track and an HEVC track.
        let mut ts = Vec::new();
        let mut packet = |pid: u16, section: &[u8]| {
            let mut p = vec![0x47, 0x40 | (pid >> 8) as u8, pid as u8, 0x10, 0];
            p.extend_from_slice(section);
            p.resize(188, 0xFF);
            ts.extend_from_slice(&p);
        };
        packet(
            0,
            &[0, 0xB0, 13, 0, 1, 0xC1, 0, 0, 0, 1, 0xF0, 0, 0, 0, 0, 0],
        );
        packet(
            0x1000,
            &[
                2, 0xB0, 23, 0, 1, 0xC1, 0, 0, 0xE1, 0, 0xF0, 0, 0x0F, 0xE1, 1, 0xF0, 0, 0x24,
                0xE1, 0, 0xF0, 0, 0, 0, 0, 0,
            ],
        );
        packet(0x100, &[]);
        assert_eq!(sniff(&ts), video("mpeg-ts", "hevc"));
    }

    #[test]
    fn ogg_ivf_and_unknown_heads() {
        let mut ogg = b"OggS\0\x02".to_vec();
        ogg.extend_from_slice(&[0; 22]);
        ogg.extend_from_slice(b"\x80theora\x03\x02\x01");
        assert_eq!(sniff(&ogg), video("ogg", "theora"));
        let mut vorbis = b"OggS\0\x02".to_vec();
        vorbis.extend_from_slice(&[0; 22]);
        vorbis.extend_from_slice(b"\x01vorbis\0\0\0\0");
        assert_eq!(sniff(&vorbis), Sniffed::AudioOnly);
        assert_eq!(sniff(b"DKIF\0\0\x20\0AV01\x40\x01"), video("ivf", "av1"));
        assert_eq!(sniff(&[0x5a; 4096]), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
    }
}
