//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while opening, writing or reading the
/// registry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key-value store (records, dedup keys, manifest) failed.
    #[error("store error")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Reading or writing an index file failed.
    #[error("i/o error on {path}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another process has the store open (sled locks it for one process).
    #[error(
        "the store in {0} is in use by another process (an `avreg serve` or a running import?)"
    )]
    Locked(PathBuf),
    /// The store was written by a newer version of avreg.
    #[error(
        "store format version {found} is newer than this build supports ({supported}); upgrade avreg"
    )]
    StoreTooNew {
        /// Version found in the store.
        found: u32,
        /// Newest version this build understands.
        supported: u32,
    },
    /// The store's disk has less free space than the registry keeps in
    /// reserve (or is full): the write was refused, nothing was written.
    /// Writes succeed again once space is freed.
    #[error("the disk of the store in {dir} is full ({free} bytes free, {reserve} kept in reserve): nothing was written")]
    StorageFull {
        /// The store's folder.
        dir: PathBuf,
        /// Bytes free for the store's user.
        free: u64,
        /// Bytes kept free (the reserve).
        reserve: u64,
    },
    /// The disk filled up under a write (the store or an index file): the
    /// write failed as a whole.
    #[error("the disk is full")]
    DiskFull(#[source] std::io::Error),
    /// The write's caller gave up on it (its request ran out of time)
    /// before it could commit: nothing was written.
    #[error("the write was abandoned before it committed: nothing was written")]
    Abandoned,
    /// Stored data is malformed or inconsistent.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// A fingerprint to register carries an algorithm version this build
    /// does not read (the caller's input, unlike [`Error::UnsupportedVersion`]).
    #[error("unsupported {what} version {found} (this build reads up to {supported})")]
    FingerprintVersion {
        /// What kind of fingerprint.
        what: &'static str,
        /// Version found.
        found: u32,
        /// Newest version this build understands.
        supported: u32,
    },
    /// A stored value carries a version this build cannot read.
    #[error("unsupported {what} version {found} (this build reads up to {supported})")]
    UnsupportedVersion {
        /// What kind of value.
        what: &'static str,
        /// Version found.
        found: u32,
        /// Newest version this build understands.
        supported: u32,
    },
    /// The fingerprint to register has no audible content.
    #[error("the fingerprint is silent: nothing to register")]
    SilentFingerprint,
    /// The fingerprint to register yields no index hashes (empty or too
    /// short to pair peaks).
    #[error("the fingerprint is empty: it yields no index hashes")]
    EmptyFingerprint,
    /// The title of a new recording is empty.
    #[error("the title is empty")]
    EmptyTitle,
    /// A fingerprint hash key does not fit the index's 24 key bits.
    #[error("hash key {0:#x} exceeds 24 bits")]
    KeyOutOfRange(u32),
    /// A segment would exceed the 4 GiB its directory can address.
    #[error("index segment too large")]
    SegmentTooLarge,
    /// Every document number has been used.
    #[error("the index is full: no document number left")]
    DocsExhausted,
    /// A document is already in the index (an internal invariant broke).
    #[error("document {0} is already indexed")]
    DuplicateDoc(u32),
    /// The audit log does not verify.
    #[error("the audit log does not verify: {0}")]
    AuditChain(#[from] crate::domain::audit::ChainError),
    /// A write breaks a rule of the domain: the field and the reason.
    /// Nothing was written.
    #[error("invalid {0}")]
    Invalid(crate::domain::model::ValidationError),
    /// An API key value was refused (role, binding, secret).
    #[error(transparent)]
    Account(#[from] crate::accounts::AccountError),
    /// A stored fingerprint could not be decoded.
    #[error("stored fingerprint: {0}")]
    Fingerprint(#[from] avreg_fingerprint::Error),
}

/// What kind of failure an [`Error`] is, for the edges: the CLI's exit
/// status and the API's code both follow from it (and only from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller's input is refused (a rule of the domain, an empty
    /// title, a silent or empty fingerprint, a key value, a fingerprint
    /// version this build does not read). Nothing was written.
    Invalid,
    /// The write contradicts the stored state: an identifier already
    /// registered, an entity created twice or amended before it exists, a
    /// conflict closed while its cause remains, the last admin key revoked.
    /// Nothing was written.
    Conflict,
    /// The store is in use by another process: retry once it is free.
    Unavailable,
    /// The disk is full, or below the reserve: nothing was written; writes
    /// succeed again once space is freed.
    StorageFull,
    /// The caller gave up on the write before it committed (its deadline
    /// passed): nothing was written.
    Abandoned,
    /// Stored data is malformed, inconsistent, or in a version this build
    /// does not read (a store, a value, an audit log that does not verify).
    Corrupt,
    /// Anything else on the registry's side (the store or a file failed,
    /// an index limit, a broken invariant).
    Internal,
}

impl Error {
    /// The kind of failure. Every variant is named: a new one must be
    /// classified here rather than fall into a default.
    pub fn kind(&self) -> ErrorKind {
        use crate::domain::model::Reason;
        match self {
            Error::Invalid(v) => match v.reason {
                Reason::Duplicate { .. } | Reason::Existence(_) | Reason::CauseRemains(_) => {
                    ErrorKind::Conflict
                }
                _ => ErrorKind::Invalid,
            },
            Error::Account(crate::accounts::AccountError::LastAdmin) => ErrorKind::Conflict,
            Error::Account(_)
            | Error::SilentFingerprint
            | Error::EmptyFingerprint
            | Error::EmptyTitle
            | Error::FingerprintVersion { .. } => ErrorKind::Invalid,
            Error::Locked(_) => ErrorKind::Unavailable,
            Error::StorageFull { .. } | Error::DiskFull(_) => ErrorKind::StorageFull,
            Error::Abandoned => ErrorKind::Abandoned,
            Error::Corrupt(_)
            | Error::StoreTooNew { .. }
            | Error::UnsupportedVersion { .. }
            | Error::AuditChain(_)
            | Error::Fingerprint(_) => ErrorKind::Corrupt,
            Error::Store(_)
            | Error::Io { .. }
            | Error::KeyOutOfRange(_)
            | Error::SegmentTooLarge
            | Error::DocsExhausted
            | Error::DuplicateDoc(_) => ErrorKind::Internal,
        }
    }

    /// The field of the caller's input at fault, when the error names one
    /// (`segments[1].end_ms`, `title`).
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid(v) => Some(&v.field),
            Error::EmptyTitle => Some("title"),
            _ => None,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

// Not `#[from]`: that would also make the validation error the source,
// and reports that print the chain would say it twice.
impl From<crate::domain::model::ValidationError> for Error {
    fn from(e: crate::domain::model::ValidationError) -> Self {
        Error::Invalid(e)
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| {
            if disk_full(&source) {
                Error::DiskFull(source)
            } else {
                Error::Io { path, source }
            }
        }
    }
}

/// Whether an I/O error says the disk (or the user's quota) is full.
pub(crate) fn disk_full(e: &std::io::Error) -> bool {
    // ENOSPC and EDQUOT on Linux.
    e.kind() == std::io::ErrorKind::StorageFull || matches!(e.raw_os_error(), Some(28 | 122))
}
