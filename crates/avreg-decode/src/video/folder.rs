//! A folder of pictures: sorted by file name, at
//! [`VideoDecodeOptions::folder_fps`].

use std::path::Path;

use avreg_fingerprint::video::LumaFrame;

use super::{load_picture, FrameSink, VideoDecodeOptions, VideoInfo};
use crate::error::{Error, Result};

pub(super) fn decode_folder(
    dir: &Path,
    opts: &VideoDecodeOptions,
    sink: &mut dyn FrameSink,
) -> Result<VideoInfo> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(
                    e.to_ascii_lowercase().as_str(),
                    "png" | "jpg" | "jpeg" | "webp"
                )
            })
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Corrupt("folder holds no pictures".into()));
    }
    let fps = if opts.folder_fps.is_finite() && opts.folder_fps > 0.0 {
        f64::from(opts.folder_fps)
    } else {
        25.0
    };
    let mut info = VideoInfo::start("folder", "image", 0, 0);
    for (i, f) in files.iter().enumerate() {
        let t = (i as f64 * 1000.0 / fps).round() as u64;
        if let Some(max) = opts.max_duration_ms {
            if t > max {
                return Err(Error::Limit(format!("folder longer than {max} ms")));
            }
        }
        info.duration_ms = ((i + 1) as f64 * 1000.0 / fps).round() as u64;
        if !sink.wants(t) {
            sink.skipped(t);
            continue;
        }
        let (w, h, luma) = load_picture(f)?;
        if info.decoded_frames == 0 {
            (info.width, info.height) = (w as u32, h as u32);
        }
        info.decoded_frames += 1;
        info.read_frames += 1;
        sink.frame(&LumaFrame::new(&luma, w, h, w)?, t);
    }
    Ok(info)
}
