//! Reading request bodies within limits: multipart media streamed to a
//! temporary file (hashed on the way, never held in memory), JSON read into
//! memory up to a small limit. Both stop a client that sends nothing for
//! `body_idle_timeout` (408) and refuse a body over its limit (413), from
//! `Content-Length` when the client declares one, else as bytes arrive.
//!
//! Uploads are files named [`UPLOAD_PREFIX`]`*` in the upload folder
//! (`ServerOptions::temp_dir`), deleted when dropped; [`prepare_upload_dir`]
//! makes that folder private and deletes what a crashed run left in it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use avreg_fingerprint::ContentHash;
use axum::body::{Bytes, HttpBody};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use crate::error::{ApiError, Code};
use crate::AppState;

/// The multipart field that carries the media.
pub const MEDIA_FIELD: &str = "media";

/// Longest text field of a multipart form.
const MAX_TEXT_FIELD: usize = 64 * 1024;

/// How the name of every upload's temporary file starts.
pub const UPLOAD_PREFIX: &str = "avreg-upload-";

/// Makes the upload folder `dir` ready at the start of the service: creates
/// it private to its owner (mode 0o700 on unix, see
/// [`avreg_registry::private_dir::create_private_dir`]) and deletes the
/// uploads left in it, which belong to a run that ended without dropping
/// them (a crash). Only files named [`UPLOAD_PREFIX`]`*` directly in `dir`
/// are deleted, so a folder shared with other programs keeps their files;
/// two running services must not share an upload folder. Returns how many
/// files were deleted; a file that cannot be deleted is logged and left.
///
/// # Errors
///
/// The error of creating `dir` or of listing it.
pub fn prepare_upload_dir(dir: &Path) -> std::io::Result<usize> {
    avreg_registry::private_dir::create_private_dir(dir)?;
    let mut swept = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let leftover = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(UPLOAD_PREFIX))
            && entry.file_type().is_ok_and(|t| t.is_file());
        if !leftover {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => swept += 1,
            Err(e) => tracing::warn!(
                file = %entry.path().display(),
                error = %e,
                "cannot delete a leftover upload"
            ),
        }
    }
    Ok(swept)
}

/// An uploaded file, deleted when dropped.
#[derive(Debug)]
pub struct Upload {
    file: tempfile::NamedTempFile,
    /// blake3 of its bytes.
    pub content_hash: ContentHash,
    /// Its size.
    pub bytes: u64,
    /// The file name the client gave, if any.
    pub file_name: Option<String>,
}

impl Upload {
    /// Where it is on disk (with the client's extension, a decoder hint).
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

/// A request body.
#[derive(Debug)]
pub enum Body {
    /// A multipart form: the media and the text fields.
    Media {
        /// The media (the `media` field); `None` if the form had none.
        upload: Option<Upload>,
        /// The other fields.
        fields: HashMap<String, String>,
    },
    /// A JSON document's bytes.
    Json(Vec<u8>),
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        Code::PayloadTooLarge,
        format!("the body is larger than this route's limit of {limit} bytes"),
    )
}

fn timed_out() -> ApiError {
    ApiError::new(Code::Timeout, "the request body did not arrive in time")
}

/// Reads a body that may be media (`multipart/form-data`, up to
/// `media_limit`) or JSON (`application/json`, up to `json_limit`), with
/// the text fields `fields` allowed beside the media. `media_limit` `None`
/// refuses multipart.
pub async fn read(
    req: Request,
    state: &AppState,
    media_limit: Option<u64>,
    json_limit: u64,
    fields: &[&str],
) -> Result<Body, ApiError> {
    let o = state.options();
    let deadline = Instant::now() + o.upload_timeout;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if content_type.starts_with("application/json") {
        if declared.is_some_and(|n| n > json_limit) {
            return Err(too_large(json_limit));
        }
        let deadline = deadline.min(Instant::now() + o.request_timeout);
        return read_json(req, json_limit, deadline, o.body_idle_timeout).await;
    }
    match media_limit {
        Some(limit) if content_type.starts_with("multipart/form-data") => {
            if declared.is_some_and(|n| n > limit) {
                return Err(too_large(limit));
            }
            let multipart = Multipart::from_request(req, &())
                .await
                .map_err(|e| ApiError::invalid(e.body_text()))?;
            read_multipart(multipart, limit, deadline, state, fields).await
        }
        _ => Err(ApiError::new(
            Code::UnsupportedMedia,
            if media_limit.is_some() {
                "send multipart/form-data (a media field) or application/json"
            } else {
                "send application/json"
            },
        )),
    }
}

/// The next piece of something, within the idle timeout and the deadline.
async fn within<T>(
    deadline: Instant,
    idle: std::time::Duration,
    f: impl std::future::Future<Output = T>,
) -> Result<T, ApiError> {
    tokio::time::timeout_at(deadline.min(Instant::now() + idle), f)
        .await
        .map_err(|_| timed_out())
}

async fn read_json(
    req: Request,
    limit: u64,
    deadline: Instant,
    idle: std::time::Duration,
) -> Result<Body, ApiError> {
    let mut stream = req.into_body().into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = within(deadline, idle, stream.next()).await? {
        let chunk = chunk.map_err(|e| ApiError::invalid(format!("reading the body: {e}")))?;
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(too_large(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Body::Json(out))
}

/// Keeps a short, plain extension of the client's file name (a decoder
/// hint), nothing else of it touches the disk.
fn extension(name: Option<&str>) -> String {
    let ext = name
        .and_then(|n| Path::new(n).extension())
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(str::to_ascii_lowercase);
    ext.map(|e| format!(".{e}")).unwrap_or_default()
}

async fn read_multipart(
    mut multipart: Multipart,
    limit: u64,
    deadline: Instant,
    state: &AppState,
    allowed: &[&str],
) -> Result<Body, ApiError> {
    let idle = state.options().body_idle_timeout;
    let mut upload = None;
    let mut fields = HashMap::new();
    let mut total = 0u64;
    let bad = |e: axum::extract::multipart::MultipartError| ApiError::invalid(e.body_text());
    while let Some(mut field) = within(deadline, idle, multipart.next_field())
        .await?
        .map_err(bad)?
    {
        let name = field.name().unwrap_or("").to_owned();
        if name == MEDIA_FIELD {
            if upload.is_some() {
                return Err(ApiError::invalid("more than one media field").field(MEDIA_FIELD));
            }
            let file_name = field.file_name().map(str::to_owned);
            let dir: PathBuf = state
                .options()
                .temp_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir);
            let tmp = tempfile::Builder::new()
                .prefix(UPLOAD_PREFIX)
                .suffix(&extension(file_name.as_deref()))
                .tempfile_in(&dir)
                .map_err(|e| ApiError::io(&e))?;
            let mut out = tokio::fs::File::from_std(tmp.reopen().map_err(|e| ApiError::io(&e))?);
            let mut hasher = blake3::Hasher::new();
            let mut bytes = 0u64;
            let mut checked = 0u64;
            while let Some(chunk) = within(deadline, idle, field.chunk()).await?.map_err(bad)? {
                total += chunk.len() as u64;
                if total > limit {
                    return Err(too_large(limit));
                }
                bytes += chunk.len() as u64;
                // The upload shares the store's disk: each MiB, the store's
                // reserve must still be free (507 otherwise, and the file
                // goes), so that an upload never fills the disk under it.
                if bytes - checked >= 1 << 20 {
                    state.registry().ensure_space()?;
                    checked = bytes;
                }
                hasher.update(&chunk);
                out.write_all(&chunk).await.map_err(|e| ApiError::io(&e))?;
            }
            out.flush().await.map_err(|e| ApiError::io(&e))?;
            upload = Some(Upload {
                file: tmp,
                content_hash: ContentHash::from_bytes(*hasher.finalize().as_bytes()),
                bytes,
                file_name,
            });
        } else if allowed.contains(&name.as_str()) {
            let mut text = Vec::new();
            while let Some(chunk) = within(deadline, idle, field.chunk()).await?.map_err(bad)? {
                total += chunk.len() as u64;
                if total > limit {
                    return Err(too_large(limit));
                }
                if text.len() + chunk.len() > MAX_TEXT_FIELD {
                    return Err(ApiError::new(Code::PayloadTooLarge, "field too long").field(name));
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text)
                .map_err(|_| ApiError::invalid("not UTF-8").field(name.clone()))?;
            fields.insert(name, text);
        } else {
            return Err(ApiError::invalid(format!("unexpected form field {name:?}")).field(name));
        }
    }
    Ok(Body::Media { upload, fields })
}

/// Parses JSON bytes, naming the problem (and its place) on failure.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid(format!("malformed JSON: {e}")))
}

/// A request body that says whether it was read to its end.
///
/// A handler may answer without reading the body it was sent (a `DELETE`
/// with `{}`, a refusal before the upload is read). The unread bytes are
/// still on the connection, so hyper cannot reuse it and closes it after
/// the answer, and a client that pooled the connection meets the close on
/// its next request. [`Watched::wrap`] lets `observe` tell: an answer to
/// a request whose body was left unread says `Connection: close`.
pub struct Watched {
    inner: axum::body::Body,
    done: Arc<AtomicBool>,
}

/// Set once a [`Watched`] body has been read to its end.
#[derive(Clone, Debug)]
pub struct ReadToEnd(Arc<AtomicBool>);

impl ReadToEnd {
    /// Whether the body was read to its end.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl Watched {
    /// `req` with its body watched, and the flag its end sets; `None` when
    /// the request has no body to leave unread.
    pub fn wrap(req: Request) -> (Request, Option<ReadToEnd>) {
        if req.body().is_end_stream() {
            return (req, None);
        }
        let done = Arc::new(AtomicBool::new(false));
        let flag = ReadToEnd(done.clone());
        let req = req.map(|inner| axum::body::Body::new(Watched { inner, done }));
        (req, Some(flag))
    }
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.done.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_folder_is_swept_of_leftover_uploads() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("uploads");
        // A first start creates the folder, empty.
        assert_eq!(prepare_upload_dir(&dir).expect("create"), 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        // A crashed run leaves its uploads behind.
        let leftover = tempfile::Builder::new()
            .prefix(UPLOAD_PREFIX)
            .suffix(".wav")
            .tempfile_in(&dir)
            .expect("upload");
        let (_, leftover) = leftover.keep().expect("keep");
        let other = dir.join("not-an-upload.txt");
        std::fs::write(&other, b"kept").expect("write");
        std::fs::create_dir(dir.join(format!("{UPLOAD_PREFIX}dir"))).expect("mkdir");

        assert_eq!(prepare_upload_dir(&dir).expect("sweep"), 1);
        assert!(!leftover.exists());
        assert!(other.exists());
        assert!(dir.join(format!("{UPLOAD_PREFIX}dir")).exists());
    }
}
