//! Content hashes of files: the file-opening side of
//! [`ContentHash::of_reader`].

use std::path::Path;

use avreg_fingerprint::ContentHash;

use crate::error::{Error, Result};

/// Hashes a file's bytes (blake3, streamed in bounded memory).
pub fn hash_file(path: &Path) -> Result<ContentHash> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    ContentHash::of_reader(std::io::BufReader::new(file)).map_err(io)
}
