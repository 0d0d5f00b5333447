//! `/v1/audit`: the tamper-evident log, its verification and its head.

use avreg_registry::domain::audit::{ChainHash, Head};
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Action, Caller};
use crate::dto::{AuditEventJson, AuditLogDoc, HeadDoc, HeadJson, VerifyDoc, API_VERSION};
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

/// A page of the log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// First sequence number (default 0).
    #[serde(default)]
    pub since: u64,
    /// Events per page (default 100, at most the server's `max_page`).
    pub limit: Option<u64>,
}

fn head_json(h: Head) -> HeadJson {
    HeadJson {
        seq: h.seq,
        hash: h.hash.to_string(),
    }
}

/// Audit events from `since` on, in order.
#[utoipa::path(
    get,
    path = "/v1/audit/log",
    tag = "audit",
    params(LogParams),
    responses(
        (status = 200, body = AuditLogDoc),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn log(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<LogParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditLogDoc>, ApiError> {
    caller.require(Action::Audit)?;
    let Query(p) = params.map_err(|e| ApiError::invalid(e.body_text()))?;
    let limit = p.limit.unwrap_or(100).clamp(1, state.options().max_page);
    // One more than the page, to tell whether there is a next one.
    let take = usize::try_from(limit + 1).unwrap_or(usize::MAX);
    let events = state
        .blocking(move |r| r.audit_page(p.since, take))
        .await??;
    let more = events.len() as u64 > limit;
    let page: Vec<AuditEventJson> = events.iter().take(limit as usize).map(Into::into).collect();
    Ok(Json(AuditLogDoc {
        version: API_VERSION,
        next_since: more.then(|| p.since + limit),
        events: page,
    }))
}

/// A head to check.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyParams {
    /// `SEQ:HASH` kept from an earlier verification: the log must still
    /// hold it.
    pub head: Option<String>,
}

fn parse_head(s: &str) -> Option<Head> {
    let (seq, hex) = s.split_once(':')?;
    let seq = seq.parse().ok()?;
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, b) in hash.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(Head {
        seq,
        hash: ChainHash(hash),
    })
}

/// Verifies the chain: `ok` and its head, or the first event that does
/// not fit. The server walks the whole chain once, then the events
/// appended since (auditors walk it themselves from `/v1/audit/log`).
#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    tag = "audit",
    params(VerifyParams),
    responses(
        (status = 200, body = VerifyDoc),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<VerifyParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<VerifyDoc>, ApiError> {
    caller.require(Action::Audit)?;
    let Query(p) = params.map_err(|e| ApiError::invalid(e.body_text()))?;
    let held = match p.head.as_deref() {
        Some(h) => Some(
            parse_head(h)
                .ok_or_else(|| ApiError::invalid("head is SEQ:HASH (64 hex)").field("head"))?,
        ),
        None => None,
    };
    let doc = match state.blocking(move |r| r.verify_audit(held)).await? {
        Ok(head) => VerifyDoc {
            version: API_VERSION,
            ok: true,
            head: head.map(head_json),
            error: None,
        },
        Err(avreg_registry::Error::AuditChain(e)) => VerifyDoc {
            version: API_VERSION,
            ok: false,
            head: None,
            error: Some(e.to_string()),
        },
        Err(e) => return Err(e.into()),
    };
    Ok(Json(doc))
}

/// The head of the chain (what an auditor keeps), verified and signed with
/// the registry's Ed25519 key.
#[utoipa::path(
    get,
    path = "/v1/audit/head",
    tag = "audit",
    responses(
        (status = 200, body = HeadDoc),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn head(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<HeadDoc>, ApiError> {
    caller.require(Action::Audit)?;
    // `signed_head` verifies the chain before signing its head.
    let signed = state.blocking(|r| r.signed_head()).await??;
    Ok(Json(HeadDoc {
        version: API_VERSION,
        head: signed.as_ref().map(|s| head_json(s.head)),
        signed,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn heads_parse() {
        let h = super::parse_head(&format!("3:{}", "ab".repeat(32))).expect("parses");
        assert_eq!((h.seq, h.hash.0[0]), (3, 0xab));
        assert!(super::parse_head("3").is_none());
        assert!(super::parse_head("x:00").is_none());
    }
}
