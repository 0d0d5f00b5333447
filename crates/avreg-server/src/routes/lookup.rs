//! `/v1/lookup` and `/v1/lookup/batch`: identifying clips and fingerprints.

use avreg_fingerprint::video::Role;
use axum::extract::{Request, State};
use axum::Json;
use utoipa::ToSchema;

use crate::auth::{Action, Caller};
use crate::body::{self, Body, MEDIA_FIELD};
use avreg_registry::ledger::RightsQuery;
use avreg_wire::{parse_rights, Fingerprints, QueryJson};

use crate::dto::{
    BatchDoc, BatchEntry, BatchRequest, FingerprintDoc, LookupDoc, LookupResult, API_VERSION,
};
use crate::error::{ApiError, Code, ErrorBody};
use crate::media;
use crate::AppState;

/// The multipart form of a lookup.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct LookupForm {
    /// The clip (any format `avreg fingerprint` reads), at most the
    /// server's `max_clip_ms` long.
    #[schema(value_type = String, format = Binary)]
    media: Vec<u8>,
    /// Territory (ISO 3166-1 alpha-2) whose holders and term to report.
    territory: Option<String>,
    /// Date of the rights asked (YYYY-MM-DD, default today).
    date: Option<String>,
}

/// What to identify.
enum Query {
    Clip(body::Upload),
    /// A hash sent with a fingerprint is the sender's claim: a lookup
    /// never uses it.
    Fingerprint(Fingerprints),
}

/// Checks and identifies one query (on a pool thread).
fn identify(
    state: &AppState,
    query: Query,
    rights: &RightsQuery,
) -> Result<LookupResult, ApiError> {
    let o = state.options();
    // A hash sent with a fingerprint is the sender's claim: it never makes
    // an exact content match.
    let (fp, hash) = match query {
        Query::Clip(upload) => {
            let fp = media::analyse(upload.path(), &o.audio, Role::Query, o.max_clip_ms)?;
            (fp, Some(upload.content_hash))
        }
        Query::Fingerprint(fp) => (fp, None),
    };
    if fp.duration_ms() > o.max_clip_ms {
        return Err(ApiError::new(
            Code::PayloadTooLarge,
            format!("the clip is longer than {} ms", o.max_clip_ms),
        ));
    }
    fp.check_query(o.min_query_ms)?;
    let found = state.registry().identify(
        fp.has_sound().then_some(&fp.audio),
        fp.video.as_ref(),
        rights,
    )?;
    state.metrics().lookup(if found.is_empty() {
        "no_match"
    } else {
        "match"
    });
    let query = QueryJson {
        file: None,
        duration_ms: fp.duration_ms(),
        content_hash: hash.map(|h| h.to_hex()).unwrap_or_default(),
        medium: fp.medium(),
        tracks: fp.tracks,
    };
    Ok(LookupResult::new(query, found, hash.as_ref()))
}

/// Identifies a clip (multipart `media`) or a fingerprint (the JSON of
/// `avreg fingerprint --json`): matches best first, each with its score and
/// the matched span in the query and in the recording.
#[utoipa::path(
    post,
    path = "/v1/lookup",
    tag = "lookup",
    request_body(content(
        (LookupForm = "multipart/form-data"),
        (FingerprintDoc = "application/json"),
    )),
    responses(
        (status = 200, body = LookupDoc),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 408, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Json<LookupDoc>, ApiError> {
    caller.require(Action::Lookup)?;
    let _upload = state.uploads().admit(caller.id())?;
    let o = state.options();
    // A clip's bytes at CD quality are ~10 MB a minute; allow the clip
    // limit's worth of uncompressed stereo 48 kHz, bounded by the media limit.
    let clip_bytes = (o.max_clip_ms / 1000 + 1)
        .saturating_mul(48_000 * 2 * 4)
        .min(o.media_body_limit);
    let (query, rights) = match body::read(
        req,
        &state,
        Some(clip_bytes),
        o.fingerprint_body_limit,
        &["territory", "date"],
    )
    .await?
    {
        Body::Media { upload, fields } => {
            let rights = parse_rights(
                fields.get("territory").map(String::as_str),
                fields.get("date").map(String::as_str),
            )?;
            let upload =
                upload.ok_or_else(|| ApiError::invalid("no media field").field(MEDIA_FIELD))?;
            (Query::Clip(upload), rights)
        }
        Body::Json(bytes) => {
            let doc: FingerprintDoc = body::parse_json(&bytes)?;
            let rights = doc.rights()?;
            let (fp, _claimed) = doc.decode()?;
            (Query::Fingerprint(fp), rights)
        }
    };
    // The fingerprinting slot once the body has arrived: slow
    // uploads hold only their own upload places.
    let slot = state.pool().admit()?;
    let st = state.clone();
    let result = state
        .pool()
        .run(slot, move || identify(&st, query, &rights))
        .await??;
    Ok(Json(LookupDoc {
        version: API_VERSION,
        result,
    }))
}

/// Identifies several fingerprints (at most the server's `max_batch`) in
/// one request; each gets its result, or its own error.
#[utoipa::path(
    post,
    path = "/v1/lookup/batch",
    tag = "lookup",
    request_body(content((BatchRequest = "application/json"))),
    responses(
        (status = 200, body = BatchDoc),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 408, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn batch(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Json<BatchDoc>, ApiError> {
    caller.require(Action::Lookup)?;
    let _upload = state.uploads().admit(caller.id())?;
    let o = state.options();
    let Body::Json(bytes) = body::read(req, &state, None, o.fingerprint_body_limit, &[]).await?
    else {
        return Err(ApiError::new(
            Code::UnsupportedMedia,
            "send application/json",
        ));
    };
    // The fingerprinting slot once the body has arrived: slow
    // uploads hold only their own upload places.
    let slot = state.pool().admit()?;
    let req: BatchRequest = body::parse_json(&bytes)?;
    if req.fingerprints.len() > o.max_batch {
        return Err(ApiError::new(
            Code::PayloadTooLarge,
            format!("at most {} fingerprints per batch", o.max_batch),
        )
        .field("fingerprints"));
    }
    let rights = parse_rights(req.territory.as_deref(), req.date.as_deref())?;
    let st = state.clone();
    let results = state
        .pool()
        .run(slot, move || {
            req.fingerprints
                .iter()
                .map(|doc| {
                    match doc
                        .decode()
                        .map_err(ApiError::from)
                        .and_then(|(fp, _claimed)| identify(&st, Query::Fingerprint(fp), &rights))
                    {
                        Ok(r) => BatchEntry::Ok(r),
                        Err(e) => BatchEntry::Err(e.body()),
                    }
                })
                .collect()
        })
        .await?;
    Ok(Json(BatchDoc {
        version: API_VERSION,
        results,
    }))
}
