//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading and decoding media. What the
/// fingerprint core refuses in what was decoded (too short, silent, a
/// picture or stream it cannot take) arrives as [`Error::Fingerprint`],
/// its message unchanged.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the input failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The container format is not one we can read.
    #[error("unsupported or unrecognised media format")]
    UnknownFormat,
    /// The container holds no audio track we can decode.
    #[error("no decodable audio track")]
    NoAudioTrack,
    /// The audio codec is not supported by the embedded decoders.
    #[error("unsupported audio codec: {0}")]
    UnsupportedCodec(String),
    /// The container holds no video track (and is not a picture).
    #[error("no decodable video track")]
    NoVideoTrack,
    /// The video codec is not supported by the decoders of this build
    /// (without the `ffmpeg` feature: H.264 in MP4/MOV; with it: whatever the
    /// system's FFmpeg decodes).
    #[error("unsupported video codec: {0}")]
    UnsupportedVideoCodec(String),
    /// Video in a container or codec that only a build with the optional
    /// `ffmpeg` feature decodes (this one decodes H.264 in MP4/MOV only).
    #[error(
        "unsupported video: {codec} in {container} (this build decodes only H.264 in \
         MP4/MOV; build with the `ffmpeg` feature for other formats)"
    )]
    VideoNeedsFfmpeg {
        /// The container, as sniffed (`webm`, `matroska`, `avi`, `mpeg-ps`,
        /// `mpeg-ts`, `ogg`, `ivf`, `flv`, `asf`, `mp4`, …).
        container: String,
        /// The video codec when it could be told from the file's head
        /// (`vp9`, `av1`, `hevc`, `mpeg2video`, `theora`, …), else `unknown`.
        codec: String,
    },
    /// The media is damaged: truncated, corrupt headers or packets.
    #[error("corrupt or truncated media: {0}")]
    Corrupt(String),
    /// The stream parameters are unusable (zero channels, absurd sample
    /// rate, an empty or unreadable picture).
    #[error("invalid stream parameters: {0}")]
    InvalidStream(String),
    /// The input exceeds a configured limit (duration, picture size).
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The fingerprint core refused what was decoded.
    #[error(transparent)]
    Fingerprint(#[from] avreg_fingerprint::Error),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
