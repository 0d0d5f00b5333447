//! The record store: recordings, the content-hash dedup map, document
//! numbers, forward fingerprints, the index manifest and the store's
//! metadata.
//!
//! This facade is what the rest of the crate sees; [`sled`] is its only
//! backend and the only module that touches sled, so another engine can
//! replace it behind the same methods. Stored values are versioned here,
//! independently of the backend.

pub(crate) mod sled;

use avreg_fingerprint::matching::DocId;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Recording, RecordingId};

pub(crate) use self::sled::Pending;
pub(crate) use self::sled::SledStore as Store;
pub(crate) use self::sled::STORE_MARKER;

/// Version of the store layout (trees, keys, value encodings). A store
/// written with a newer version is refused.
pub(crate) const STORE_FORMAT_VERSION: u32 = 1;

/// Version of the stored recording value.
const RECORD_VERSION: u8 = 1;

/// The outcome of an insert.
#[derive(Debug)]
pub(crate) enum Insert {
    /// Inserted under this document number.
    New(DocId),
    /// The content hash was registered before.
    Existing(Box<Recording>),
}

/// A recording as stored: with its document number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredRecording {
    pub doc: u32,
    pub recording: Recording,
}

/// Stored form: version u8 | JSON.
pub(crate) fn encode_record(doc: DocId, recording: &Recording) -> Result<Vec<u8>> {
    let mut v = vec![RECORD_VERSION];
    serde_json::to_writer(
        &mut v,
        &StoredRecording {
            doc: doc.0,
            recording: recording.clone(),
        },
    )
    .map_err(|e| Error::Corrupt(format!("cannot encode a recording: {e}")))?;
    Ok(v)
}

pub(crate) fn decode_record(bytes: &[u8]) -> Result<StoredRecording> {
    match bytes.split_first() {
        Some((&RECORD_VERSION, json)) => serde_json::from_slice(json)
            .map_err(|e| Error::Corrupt(format!("malformed recording: {e}"))),
        Some((&v, _)) => Err(Error::UnsupportedVersion {
            what: "recording",
            found: u32::from(v),
            supported: u32::from(RECORD_VERSION),
        }),
        None => Err(Error::Corrupt("empty recording value".into())),
    }
}

pub(crate) fn id_from(bytes: &[u8]) -> Result<RecordingId> {
    <[u8; 16]>::try_from(bytes)
        .map(RecordingId::from_bytes)
        .map_err(|_| Error::Corrupt("malformed recording id".into()))
}

#[cfg(test)]
mod tests {
    use avreg_fingerprint::ContentHash;

    use super::*;

    /// The stored form of a recording, pinned: changing it needs a new
    /// [`RECORD_VERSION`] and a reader for the old one.
    #[test]
    fn record_golden_bytes() {
        let r = Recording {
            id: "01890a5d-ac96-774b-bcce-b302099a8057"
                .parse()
                .expect("uuid"),
            title: "Take 1".into(),
            duration_ms: 1234,
            content_hash: ContentHash::from_bytes([7; 32]),
            content_hash_verified: false,
            registrant: None,
            fingerprint_algorithm: "avreg-audio-landmark".into(),
            fingerprint_version: 1,
            registered_at_ms: 1_700_000_000_000,
            source_name: Some("take1.wav".into()),
            video: None,
            media: Vec::new(),
        };
        let bytes = encode_record(DocId(5), &r).expect("encode");
        let golden = concat!(
            "\u{1}{\"doc\":5,\"recording\":{\"id\":\"01890a5d-ac96-774b-bcce-b302099a8057\",",
            "\"title\":\"Take 1\",\"duration_ms\":1234,\"content_hash\":\"",
            "0707070707070707070707070707070707070707070707070707070707070707\",",
            "\"content_hash_verified\":false,",
            "\"fingerprint_algorithm\":\"avreg-audio-landmark\",\"fingerprint_version\":1,",
            "\"registered_at_ms\":1700000000000,\"source_name\":\"take1.wav\"}}"
        );
        assert_eq!(std::str::from_utf8(&bytes).expect("utf-8"), golden);
        let back = decode_record(&bytes).expect("decode");
        assert_eq!((back.doc, back.recording), (5, r.clone()));
        // A record written before registrants and verified hashes reads as
        // an unverified hash with no registrant.
        let old = golden.replace("\"content_hash_verified\":false,", "");
        let back = decode_record(old.as_bytes()).expect("decode the old form");
        assert!(!back.recording.content_hash_verified);
        assert_eq!(back.recording.registrant, None);
        let verified = Recording {
            content_hash_verified: true,
            registrant: Some("organisation:x".into()),
            ..r
        };
        let back =
            decode_record(&encode_record(DocId(5), &verified).expect("encode")).expect("decode");
        assert_eq!(back.recording, verified);
        // The track reports, pinned too (a field added without a new
        // version: records without it read as having none, above).
        let with_media = Recording {
            media: vec![avreg_fingerprint::track::TrackReport {
                kind: avreg_fingerprint::track::TrackKind::Sound,
                container: "mp4".into(),
                codec: "aac".into(),
                fingerprinted: true,
                duration_ms: Some(1234),
                declared_ms: Some(1240),
                skipped_packets: 0,
                note: None,
            }],
            ..verified
        };
        let bytes = encode_record(DocId(5), &with_media).expect("encode");
        let json = std::str::from_utf8(&bytes).expect("utf-8");
        assert!(
            json.ends_with(
                "\"media\":[{\"kind\":\"sound\",\"container\":\"mp4\",\"codec\":\"aac\",\
                 \"fingerprinted\":true,\"duration_ms\":1234,\"declared_ms\":1240,\
                 \"skipped_packets\":0}]}}"
            ),
            "{json}"
        );
        assert_eq!(decode_record(&bytes).expect("decode").recording, with_media);
        assert!(matches!(
            decode_record(b"\x02{}"),
            Err(Error::UnsupportedVersion { found: 2, .. })
        ));
    }
}
