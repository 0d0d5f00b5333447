//! The caller's media source: its first bytes for sniffing, and a shared
//! handle so that a failed probe can rewind it and try again.

use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use symphonia::core::io::{MediaSource, ReadOnlySource};

/// Reads the first bytes of `source` for format sniffing and returns them
/// with a source positioned at the same place as before.
/// Reads the first bytes of `source` for format sniffing and returns them,
/// the position they start at, and a source positioned there again.
#[allow(clippy::type_complexity)]
pub(super) fn sniff(
    mut source: Box<dyn MediaSource>,
) -> std::io::Result<(Vec<u8>, u64, Box<dyn MediaSource>)> {
    const HEAD: usize = 64;
    let mut head = Vec::with_capacity(HEAD);
    if source.is_seekable() {
        let pos = source.stream_position()?;
        (&mut source).take(HEAD as u64).read_to_end(&mut head)?;
        source.seek(SeekFrom::Start(pos))?;
        Ok((head, pos, source))
    } else {
        (&mut source).take(HEAD as u64).read_to_end(&mut head)?;
        let replay = std::io::Cursor::new(head.clone()).chain(source);
        Ok((head, 0, Box::new(ReadOnlySource::new(replay))))
    }
}

/// The caller's source behind a lock, so that a failed probe can rewind it
/// and try again, optionally presenting it as not seekable.
pub(super) struct SharedSource {
    pub(super) inner: Arc<Mutex<Box<dyn MediaSource>>>,
    pub(super) seekable: bool,
    /// Set once a read or seek of the caller's source fails.
    pub(super) failed: Arc<AtomicBool>,
    /// Where the input appears to end, if before its real end (see
    /// [`MatroskaGuard::end`]).
    pub(super) end: Option<u64>,
}

impl SharedSource {
    fn note<T>(&self, r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r {
            if e.kind() != std::io::ErrorKind::Interrupted {
                self.failed.store(true, Ordering::Relaxed);
            }
        }
        r
    }
}

/// Locks the shared source. A panic inside symphonia never happens while
/// the lock is held (it is held only inside `read` and `seek` of the
/// caller's source), and the source holds no invariant a panic could break,
/// so a poisoned lock is still usable.
pub(super) fn lock(
    source: &Mutex<Box<dyn MediaSource>>,
) -> std::sync::MutexGuard<'_, Box<dyn MediaSource>> {
    source
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(super) fn is_seekable(source: &Mutex<Box<dyn MediaSource>>) -> bool {
    lock(source).is_seekable()
}

impl Read for SharedSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut source = lock(&self.inner);
        let r = match self.end {
            None => source.read(buf),
            Some(end) => source.stream_position().and_then(|pos| {
                let room = usize::try_from(end.saturating_sub(pos)).unwrap_or(usize::MAX);
                let n = buf.len().min(room);
                source.read(&mut buf[..n])
            }),
        };
        drop(source);
        self.note(r)
    }
}

impl Seek for SharedSource {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let r = lock(&self.inner).seek(pos);
        self.note(r)
    }
}

impl MediaSource for SharedSource {
    fn is_seekable(&self) -> bool {
        self.seekable && lock(&self.inner).is_seekable()
    }

    fn byte_len(&self) -> Option<u64> {
        let len = lock(&self.inner).byte_len()?;
        Some(self.end.map_or(len, |end| len.min(end)))
    }
}
