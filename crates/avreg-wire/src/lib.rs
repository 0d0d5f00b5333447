//! The JSON shapes of avreg, shared by its two edges: the CLI's `--json`
//! output and the HTTP API's bodies (each with a component schema in the
//! OpenAPI document). One shape per document, so `avreg lookup --json` and
//! `POST /v1/lookup` answer the same thing in the same words.
//!
//! Conventions: every top-level document carries `"version": 1`
//! ([`WIRE_VERSION`]); times are milliseconds, ids UUID strings, hashes
//! lowercase hex, enums snake_case; a value that is not known is absent or
//! `null`, never a made-up default.
//!
//! This crate builds shapes from the registry's values and parses the
//! documents clients send; it does no I/O and knows no transport.

mod fingerprint;
mod lookup;
mod recording;

pub use fingerprint::{parse_rights, DocError, FingerprintData, FingerprintDoc, Fingerprints};
pub use lookup::{LookupDoc, LookupResult, LookupStatus, MatchJson, QueryJson, SpanJson};
pub use recording::{RecordingDoc, RecordingJson, RecordingPage, RegisterDoc, RegistrationStatus};

/// Version of every JSON document either edge prints or answers.
pub const WIRE_VERSION: u32 = 1;
