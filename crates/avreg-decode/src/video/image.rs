//! Still pictures (JPEG, PNG, WebP): one frame at time 0.

use std::path::Path;

use avreg_fingerprint::video::LumaFrame;

use super::{load_picture, FrameSink, VideoInfo};
use crate::error::Result;

pub(super) fn picture_kind(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG") {
        Some("png")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("webp")
    } else {
        None
    }
}

/// Hands the picture at `path` (a `codec` picture) to `sink` as one frame
/// at time 0.
pub(super) fn decode_picture(
    path: &Path,
    codec: &str,
    sink: &mut dyn FrameSink,
) -> Result<VideoInfo> {
    let (w, h, luma) = load_picture(path)?;
    let frame = LumaFrame::new(&luma, w, h, w)?;
    sink.frame(&frame, 0);
    Ok(VideoInfo {
        decoded_frames: 1,
        read_frames: 1,
        ..VideoInfo::start("image", codec, w as u32, h as u32)
    })
}
