//! What became of each track of a media file: the decoding edge reports
//! it, the registry keeps it with a registration, both edges show it.
//! Plain data, no decoding here.

use serde::{Deserialize, Serialize};

/// Sound or picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    /// An audio track.
    Sound,
    /// A video track or a picture.
    Picture,
}

impl TrackKind {
    /// `sound` or `picture`, as serialised.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sound => "sound",
            Self::Picture => "picture",
        }
    }
}

/// What became of one track of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackReport {
    /// `sound` or `picture`.
    pub kind: TrackKind,
    /// The container, as the decoder named it (`mp4`, `webm`, `ogg`, …).
    pub container: String,
    /// The codec (`aac`, `opus`, `h264`, `vp9`, …; `unknown` when the
    /// file does not tell).
    pub codec: String,
    /// Whether the track was fingerprinted.
    pub fingerprinted: bool,
    /// Duration decoded, ms (fingerprinted tracks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Duration the container declares, ms, when it declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_ms: Option<u64>,
    /// Packets that failed to decode and were skipped.
    #[serde(default)]
    pub skipped_packets: u64,
    /// Why the track was not fingerprinted, or the damage found in one
    /// that was (a lookup goes ahead on what decodes; a registration is
    /// refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
