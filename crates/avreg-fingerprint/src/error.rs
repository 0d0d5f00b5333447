//! The crate's one error type.

/// Everything that can go wrong while fingerprinting what was given to the
/// core or parsing a stored fingerprint.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stream parameters are unusable (zero channels, absurd sample rate).
    #[error("invalid stream parameters: {0}")]
    InvalidStream(String),
    /// The input decodes but is too short to identify.
    #[error("too short: {got_ms} ms of audio, at least {min_ms} ms needed")]
    TooShort {
        /// Duration decoded.
        got_ms: u64,
        /// Minimum required.
        min_ms: u64,
    },
    /// The input decodes but carries nothing to fingerprint (silence).
    #[error("no audible content (silence)")]
    Silent,
    /// The input exceeds a configured limit.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// A serialised fingerprint could not be parsed.
    #[error("invalid fingerprint encoding: {0}")]
    Encoding(String),
    /// A serialised fingerprint has a version this build cannot read.
    #[error("unsupported fingerprint version {found} (this build reads up to {supported})")]
    UnsupportedVersion {
        /// Version found in the data.
        found: u16,
        /// Newest version this build understands.
        supported: u16,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
