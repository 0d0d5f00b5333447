//! The registry of recordings and their audio fingerprints.
//!
//! - [`Registry`]: the facade. Registration (atomic, deduplicated by content
//!   hash, durable on return), lookup by fingerprint, statistics.
//! - `store`: the record store; its `sled` module is the only code in avreg
//!   that touches sled.
//! - `index`: the fingerprint posting index, immutable memory-mapped
//!   segment files with an in-memory buffer, derived from the store and
//!   rebuilt from it when needed. `INDEX_LAYOUT.md` records why this layout
//!   was chosen over two sled layouts; [`StandaloneIndex`] is the same index
//!   outside a registry, for measuring it.
//!
//! ```
//! use avreg_fingerprint::audio::{AudioFingerprint, Peak};
//! use avreg_fingerprint::ContentHash;
//! use avreg_registry::{Content, NewRecording, Registration, Registry, RegistryOptions};
//!
//! # fn main() -> Result<(), avreg_registry::Error> {
//! let dir = tempfile::tempdir().expect("temp dir");
//! let registry = Registry::open(dir.path(), RegistryOptions::default())?;
//! // Peaks would come from `AudioFingerprinter`; these are made up.
//! let peaks = (0..400u32)
//!     .map(|i| Peak { time_ms: i * 97, freq: ((i * 37 % 200 + 20) * 16) as u16, level: 2 })
//!     .collect();
//! let fingerprint = AudioFingerprint::from_parts(40_000, peaks);
//! let new = NewRecording {
//!     title: "Rehearsal, take 3".into(),
//!     content: Content::Computed(ContentHash::of(b"the file's bytes")),
//!     fingerprint: fingerprint.clone(),
//!     source_name: Some("take3.wav".into()),
//!     video: None,
//!     media: Vec::new(),
//! };
//! let Registration::Registered(recording) = registry.register(new.clone())? else {
//!     unreachable!("first registration")
//! };
//! assert!(matches!(registry.register(new)?, Registration::Existing(r) if r.id == recording.id));
//! let matches = registry.lookup(&fingerprint)?;
//! assert_eq!(matches[0].recording.id, recording.id);
//! # Ok(()) }
//! ```

#[macro_use]
mod uuid_id;

pub mod accounts;
pub mod domain;
mod error;
mod index;
pub mod jobs;
pub mod ledger;
mod model;
pub mod private_dir;
mod registry;
mod store;

pub use error::{Error, ErrorKind, Result};
pub use index::standalone::StandaloneIndex;
pub use index::IndexOptions;
pub use model::{
    Content, LookupMatch, Medium, NewRecording, ParseRecordingIdError, Recording, RecordingId,
    Registration, RegistryStats, VideoEvidence, VideoSummary,
};
pub use registry::{
    Registry, RegistryOptions, DEFAULT_STORE_CACHE_BYTES, DEFAULT_VIDEO_CACHE_BYTES,
    JOB_RETENTION_MS, LOCAL_ACTOR,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn registry_is_send_and_sync() {
        assert_send_sync::<Registry>();
    }
}
