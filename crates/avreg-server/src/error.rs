//! The one error shape of the API:
//! `{"error": {"code": "stable_code", "message": "…", "field": "…"?}}`.
//!
//! Every failure a client can see goes through [`ApiError`]: the
//! registry's and the fingerprint crate's typed errors are mapped here, and
//! so are body, JSON and multipart rejections. Codes are stable; messages
//! are for people and may change.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The stable error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// 401: no key, or an unknown or revoked one.
    Unauthorized,
    /// 403: the key's role or binding does not allow this.
    Forbidden,
    /// 404: no such resource (or route).
    NotFound,
    /// 400: the request is malformed or a value is refused.
    Invalid,
    /// 413: the body, the media or the work asked for is over a limit.
    PayloadTooLarge,
    /// 408: the request took longer than allowed (a slow client).
    Timeout,
    /// 503: the fingerprinting pool is full, or the server is stopping.
    Busy,
    /// 429: this key's rate limit is exhausted.
    RateLimited,
    /// 415: a content type or media format the service cannot read.
    UnsupportedMedia,
    /// 409: the request conflicts with the registry's state.
    Conflict,
    /// 507: the store's disk is full; nothing was written (retry once
    /// the operator has freed space).
    InsufficientStorage,
    /// 500: something failed on our side.
    Internal,
}

impl Code {
    /// The HTTP status of the code.
    pub fn status(self) -> StatusCode {
        match self {
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Forbidden => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::Invalid => StatusCode::BAD_REQUEST,
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::Timeout => StatusCode::REQUEST_TIMEOUT,
            Code::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::Conflict => StatusCode::CONFLICT,
            Code::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The JSON body of every error response.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code.
    pub code: Code,
    /// For people; may change.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answered to a client.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    /// Stable code.
    pub code: Code,
    /// For people.
    pub message: String,
    /// The field at fault.
    pub field: Option<String>,
    /// Seconds for a `Retry-After` header (busy, rate limited).
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after_s: None,
        }
    }

    /// Names the field at fault.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Adds a `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    /// 400 `invalid`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::Invalid, message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    /// 500 `internal`, logging the cause (which the client does not see).
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Code::Internal, "internal error")
    }

    /// A failed read or write of a local file: 507 when the disk is full,
    /// else 500 `internal` (logged).
    pub fn io(e: &std::io::Error) -> Self {
        // ENOSPC and EDQUOT on Linux.
        if e.kind() == std::io::ErrorKind::StorageFull || matches!(e.raw_os_error(), Some(28 | 122))
        {
            tracing::warn!(error = %e, "an upload was refused: the disk is full");
            return Self::new(
                Code::InsufficientStorage,
                "the registry's disk is full: nothing was written; retry later",
            )
            .retry_after(60);
        }
        Self::internal(e)
    }

    /// The body of this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.code.status(), axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response
    }
}

/// The code of each kind of registry failure (`Error::kind`, the same
/// classification the CLI's exit statuses follow).
impl From<avreg_registry::Error> for ApiError {
    fn from(e: avreg_registry::Error) -> Self {
        use avreg_registry::ErrorKind as K;
        let code = match e.kind() {
            K::Invalid => Code::Invalid,
            // A duplicate, or a write against the state (an entity that
            // exists already, a conflict whose cause remains).
            K::Conflict => Code::Conflict,
            K::Abandoned => {
                return ApiError::new(
                    Code::Timeout,
                    "the request took too long; nothing was written",
                )
            }
            K::StorageFull => {
                tracing::warn!(error = %e, "a write was refused: the disk is full");
                return ApiError::new(
                    Code::InsufficientStorage,
                    "the registry's disk is full: nothing was written; retry later",
                )
                .retry_after(60);
            }
            K::Unavailable => {
                return ApiError::new(Code::Busy, "the store is locked by another process")
                    .retry_after(5)
            }
            K::Corrupt | K::Internal => return ApiError::internal(&e),
        };
        let error = ApiError::new(code, e.to_string());
        match e.field() {
            Some(field) => error.field(field),
            None => error,
        }
    }
}

impl From<avreg_fingerprint::Error> for ApiError {
    fn from(e: avreg_fingerprint::Error) -> Self {
        use avreg_fingerprint::Error as E;
        match e {
            E::InvalidStream(_)
            | E::TooShort { .. }
            | E::Silent
            | E::Encoding(_)
            | E::UnsupportedVersion { .. } => ApiError::invalid(e.to_string()),
            E::Limit(_) => ApiError::new(Code::PayloadTooLarge, e.to_string()),
        }
    }
}

impl From<avreg_decode::Error> for ApiError {
    fn from(e: avreg_decode::Error) -> Self {
        use avreg_decode::Error as E;
        match e {
            E::UnknownFormat
            | E::NoAudioTrack
            | E::NoVideoTrack
            | E::UnsupportedCodec(_)
            | E::UnsupportedVideoCodec(_)
            | E::VideoNeedsFfmpeg { .. } => ApiError::new(Code::UnsupportedMedia, e.to_string()),
            E::Corrupt(_) | E::InvalidStream(_) => ApiError::invalid(e.to_string()),
            E::Limit(_) => ApiError::new(Code::PayloadTooLarge, e.to_string()),
            E::Io { .. } => ApiError::internal(&e),
            E::Fingerprint(f) => ApiError::from(f),
        }
    }
}

impl From<avreg_wire::DocError> for ApiError {
    fn from(e: avreg_wire::DocError) -> Self {
        ApiError::invalid(e.message).field(e.field)
    }
}

/// The answer of a route that does not exist.
pub async fn no_route() -> ApiError {
    ApiError::not_found("no such route")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_stably() {
        let all = [
            (Code::Unauthorized, "unauthorized", 401),
            (Code::Forbidden, "forbidden", 403),
            (Code::NotFound, "not_found", 404),
            (Code::Invalid, "invalid", 400),
            (Code::PayloadTooLarge, "payload_too_large", 413),
            (Code::Timeout, "timeout", 408),
            (Code::Busy, "busy", 503),
            (Code::RateLimited, "rate_limited", 429),
            (Code::UnsupportedMedia, "unsupported_media", 415),
            (Code::Conflict, "conflict", 409),
            (Code::InsufficientStorage, "insufficient_storage", 507),
            (Code::Internal, "internal", 500),
        ];
        for (code, name, status) in all {
            assert_eq!(serde_json::to_value(code).expect("json"), name);
            assert_eq!(code.status().as_u16(), status);
        }
        let body =
            serde_json::to_value(ApiError::invalid("bad").field("title").body()).expect("json");
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "invalid", "message": "bad", "field": "title"}})
        );
    }
}
