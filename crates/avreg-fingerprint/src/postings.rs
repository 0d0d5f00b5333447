//! The postings vocabulary: what an inverted index of fingerprint hashes
//! holds. The audio analysis makes [`HashKey`]s, the index stores
//! [`Posting`]s under them, and matching reads them from any
//! [`PostingSource`]; this module depends on neither, so neither depends
//! on the other for it.

/// A fingerprint hash: the index key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HashKey(pub u32);

/// The index's dense internal number for a registered recording. The registry
/// maps it to the public recording id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocId(pub u32);

/// One occurrence of a hash in a registered recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Posting {
    /// The recording.
    pub doc: DocId,
    /// Analysis frame of the hash's anchor peak in that recording.
    pub frame: u32,
}

/// Anything that can list the postings of a hash key: the registry's index,
/// or an in-memory map in tests.
pub trait PostingSource {
    /// Appends every posting of `key` to `out` (in any order).
    fn postings(&self, key: HashKey, out: &mut Vec<Posting>);
}
