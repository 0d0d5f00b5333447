//! Placeholder, replaced next.
use super::AudioFingerprint;
use crate::error::Result;
/// Version of the binary encoding.
pub const FORMAT_VERSION: u16 = 1;
pub(crate) fn encode(_: &AudioFingerprint) -> Vec<u8> { Vec::new() }
pub(crate) fn decode(_: &[u8]) -> Result<AudioFingerprint> { Ok(AudioFingerprint::from_parts(0, Vec::new())) }
