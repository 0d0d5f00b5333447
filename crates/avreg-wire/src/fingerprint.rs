//! The fingerprint document (`avreg fingerprint --json`) as clients send
//! it back: to register or look up media fingerprinted elsewhere. Both
//! edges parse it here, with the same checks and the same errors.

use avreg_fingerprint::audio::AudioFingerprint;
use avreg_fingerprint::track::TrackReport;
use avreg_fingerprint::video::VideoFingerprint;
use avreg_fingerprint::ContentHash;
use avreg_registry::domain::date::Date;
use avreg_registry::domain::territory::Country;
use avreg_registry::ledger::RightsQuery;
use avreg_registry::Medium;
use base64::Engine;
use serde::Deserialize;
use utoipa::ToSchema;

/// A document that cannot be used, naming the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DocError {
    /// The field, as a JSON path (`fingerprint.data`, `territory`).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl DocError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// The fingerprint document printed by `avreg fingerprint --json` (other
/// fields are ignored).
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct FingerprintDoc {
    /// Must be 1.
    pub version: u32,
    /// blake3 of the fingerprinted file, hex: the sender's claim, kept with
    /// a registration but never verified, never deduplicating.
    #[serde(default)]
    pub content_hash: Option<String>,
    /// The sound's fingerprint.
    pub fingerprint: FingerprintData,
    /// The picture's fingerprint, when the file had one.
    #[serde(default)]
    pub video: Option<FingerprintData>,
    /// Lookup only: the territory (ISO 3166-1 alpha-2) whose holders and
    /// term to report.
    #[serde(default)]
    pub territory: Option<String>,
    /// Lookup only: the date of the rights asked (YYYY-MM-DD, default
    /// today).
    #[serde(default)]
    pub date: Option<String>,
}

/// A fingerprint, in the document.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct FingerprintData {
    /// Base64 of the versioned binary fingerprint.
    pub data: String,
}

/// The fingerprints of one clip or file: the sound's (empty, without
/// peaks, when it has no audio) and the picture's when it has one.
#[derive(Clone, Debug)]
pub struct Fingerprints {
    /// The sound.
    pub audio: AudioFingerprint,
    /// The picture.
    pub video: Option<VideoFingerprint>,
    /// The file's tracks, when the fingerprints were made from a file.
    pub tracks: Vec<TrackReport>,
}

impl Fingerprints {
    /// Whether the sound can be looked up.
    pub fn has_sound(&self) -> bool {
        !self.audio.is_silent()
    }

    /// What the fingerprints can be identified by.
    pub fn medium(&self) -> Medium {
        Medium::of(&self.audio, self.video.as_ref())
    }

    /// Duration of the longer track, ms.
    pub fn duration_ms(&self) -> u64 {
        self.audio
            .duration_ms()
            .max(self.video.as_ref().map_or(0, |v| v.duration_ms))
    }

    /// Refuses a query too short to look up: the sound must be long enough
    /// unless the picture carries the query.
    pub fn check_query(&self, min_ms: u64) -> avreg_fingerprint::Result<()> {
        if self.has_sound() || self.video.is_none() {
            self.audio.check_query(min_ms)?;
        }
        Ok(())
    }
}

fn base64(field: &'static str, data: &str) -> Result<Vec<u8>, DocError> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| DocError::new(field, "not base64"))
}

impl FingerprintDoc {
    /// The fingerprints, and the content hash the sender claims (a claim:
    /// it never makes an exact content match).
    pub fn decode(&self) -> Result<(Fingerprints, Option<ContentHash>), DocError> {
        if self.version != crate::WIRE_VERSION {
            return Err(DocError::new(
                "version",
                format!("unsupported document version {}", self.version),
            ));
        }
        let field = "fingerprint.data";
        let audio = AudioFingerprint::from_bytes(&base64(field, &self.fingerprint.data)?)
            .map_err(|e| DocError::new(field, e.to_string()))?;
        // A search costs more than linearly in peaks: a fingerprint the
        // analysis could not have made is refused before any search.
        if let Some(why) = audio.implausible() {
            return Err(DocError::new(field, why));
        }
        let video = match &self.video {
            Some(v) => {
                let field = "video.data";
                let v = VideoFingerprint::from_bytes(&base64(field, &v.data)?)
                    .map_err(|e| DocError::new(field, e.to_string()))?;
                if let Some(why) = v.implausible() {
                    return Err(DocError::new(field, why));
                }
                Some(v)
            }
            None => None,
        };
        let hash = match self.content_hash.as_deref() {
            Some(h) if !h.is_empty() => Some(
                h.parse::<ContentHash>()
                    .map_err(|_| DocError::new("content_hash", "content_hash is 64 hex digits"))?,
            ),
            _ => None,
        };
        Ok((
            Fingerprints {
                audio,
                video,
                tracks: Vec::new(),
            },
            hash,
        ))
    }

    /// The rights the document asks about (lookup only).
    pub fn rights(&self) -> Result<RightsQuery, DocError> {
        parse_rights(self.territory.as_deref(), self.date.as_deref())
    }
}

/// Parses the optional `territory` (ISO 3166-1 alpha-2) and `date`
/// (YYYY-MM-DD, default today) of a lookup; blank means absent.
pub fn parse_rights(territory: Option<&str>, date: Option<&str>) -> Result<RightsQuery, DocError> {
    let territory = match territory.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(
            t.parse::<Country>()
                .map_err(|e| DocError::new("territory", format!("territory: {e}")))?,
        ),
        None => None,
    };
    let date = match date.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => d
            .parse::<Date>()
            .map_err(|e| DocError::new("date", format!("date: {e}")))?,
        None => avreg_registry::ledger::today(),
    };
    Ok(RightsQuery { territory, date })
}
