//! The guards between untrusted bytes and the decoders.
//!
//! - [`panic`]: every call into symphonia, OpenH264, the `image` crate and
//!   (with the `ffmpeg` feature) `ffmpeg-next` runs behind `catch_unwind`,
//!   so a decoder's panic on malformed data becomes [`crate::Error::Corrupt`].
//! - [`matroska`] and [`mp4`]: walks of a container's headers the way
//!   symphonia 0.5 (and the `mp4` crate) read them, before they read them,
//!   so that no length in the file makes them allocate more than the input
//!   holds (an allocation failure aborts the process, which no
//!   `catch_unwind` catches).
//!
//! The container walks share [`EbmlReader`] and [`walk_headers`] here.

pub(crate) mod matroska;
pub(crate) mod mp4;
pub(crate) mod panic;

use std::io::{Read, Seek, SeekFrom};

pub(crate) use matroska::{codec_ids as matroska_codec_ids, guard_matroska, MatroskaGuard};
pub(crate) use mp4::check_mp4;
pub(crate) use panic::guarded;
pub use panic::PANIC_MARKER;

/// Far deeper than Matroska's or MP4's trees go; bounds the walks' stacks.
const MAX_NESTING: usize = 16;

/// Runs `walk` over the source from `start` (with the source's length),
/// then puts the source back where it was.
fn walk_headers<S: Read + Seek + ?Sized, T>(
    source: &mut S,
    start: u64,
    walk: impl FnOnce(&mut EbmlReader<&mut S>, u64) -> std::io::Result<T>,
) -> std::io::Result<T> {
    let entry = source.stream_position()?;
    let len = source.seek(SeekFrom::End(0))?;
    source.seek(SeekFrom::Start(start))?;
    let mut reader = EbmlReader {
        inner: std::io::BufReader::new(&mut *source),
        pos: start,
    };
    let walked = walk(&mut reader, len);
    drop(reader);
    source.seek(SeekFrom::Start(entry))?;
    walked
}

/// Reads EBML element and ISO-BMFF box headers, tracking the position.
struct EbmlReader<R> {
    inner: std::io::BufReader<R>,
    pos: u64,
}

impl<R: Read + Seek> EbmlReader<R> {
    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        let mut b = [0u8; 1];
        match self.inner.read(&mut b)? {
            0 => Ok(None),
            _ => {
                self.pos += 1;
                Ok(Some(b[0]))
            }
        }
    }

    /// An element's ID and size (`None` for "unknown"), or `None` where
    /// symphonia could not read one (the end of the input, or an ID byte
    /// that makes it scan ahead).
    #[allow(clippy::type_complexity)]
    fn element_header(&mut self) -> std::io::Result<Option<(u32, Option<u64>)>> {
        let Some(first) = self.byte()? else {
            return Ok(None);
        };
        if first.leading_zeros() > 3 {
            return Ok(None);
        }
        let mut id = u32::from(first);
        for _ in 0..first.leading_zeros() {
            let Some(b) = self.byte()? else {
                return Ok(None);
            };
            id = id << 8 | u32::from(b);
        }
        let Some(first) = self.byte()? else {
            return Ok(None);
        };
        if first == 0xFF {
            return Ok(Some((id, None)));
        }
        if first == 0 {
            return Ok(None);
        }
        let width = first.leading_zeros();
        let mut size = u64::from(first ^ (0x80 >> width));
        for _ in 0..width {
            let Some(b) = self.byte()? else {
                return Ok(None);
            };
            size = size << 8 | u64::from(b);
        }
        Ok(Some((id, Some(size))))
    }

    fn be_u32(&mut self) -> std::io::Result<Option<u32>> {
        let b = self.read_up_to(4)?;
        Ok(b.try_into().ok().map(u32::from_be_bytes))
    }

    fn be_u64(&mut self) -> std::io::Result<Option<u64>> {
        let b = self.read_up_to(8)?;
        Ok(b.try_into().ok().map(u64::from_be_bytes))
    }

    fn fourcc(&mut self) -> std::io::Result<Option<[u8; 4]>> {
        Ok(self.read_up_to(4)?.try_into().ok())
    }

    fn read_up_to(&mut self, n: u64) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        (&mut self.inner).take(n).read_to_end(&mut out)?;
        self.pos += out.len() as u64;
        Ok(out)
    }

    /// Steps back over the last `n` bytes read.
    fn rewind(&mut self, n: u64) -> std::io::Result<()> {
        let delta = i64::try_from(n).map_err(std::io::Error::other)?;
        self.inner.seek_relative(-delta)?;
        self.pos -= n;
        Ok(())
    }

    /// Moves to `pos`, forward or (when a box ends before what its
    /// fields took, in a damaged file) back.
    fn skip_to(&mut self, pos: u64) -> std::io::Result<()> {
        let delta =
            i64::try_from(i128::from(pos) - i128::from(self.pos)).map_err(std::io::Error::other)?;
        self.inner.seek_relative(delta)?;
        self.pos = pos;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
