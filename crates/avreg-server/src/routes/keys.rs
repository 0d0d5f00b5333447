//! `/v1/keys`: API key management for admins (the `avreg key` commands
//! need the store to themselves, so a running server manages keys here).

use avreg_registry::accounts::{ApiKeyId, Binding, NewKey, Role};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::Json;

use crate::auth::{Action, Caller};
use crate::body::{self, Body};
use crate::dto::{CreatedKeyDoc, KeyDoc, KeysDoc, NewKeyJson, API_VERSION};
use crate::error::{ApiError, Code, ErrorBody};
use crate::AppState;

/// Creates a key; its secret is in this answer only.
#[utoipa::path(
    post,
    path = "/v1/keys",
    tag = "keys",
    request_body(content((NewKeyJson = "application/json"))),
    responses(
        (status = 201, body = CreatedKeyDoc),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<(StatusCode, Json<CreatedKeyDoc>), ApiError> {
    caller.require(Action::ManageKeys)?;
    let Body::Json(bytes) =
        body::read(req, &state, None, state.options().json_body_limit, &[]).await?
    else {
        return Err(ApiError::new(
            Code::UnsupportedMedia,
            "send application/json",
        ));
    };
    let j: NewKeyJson = body::parse_json(&bytes)?;
    let role: Role = j
        .role
        .parse()
        .map_err(|e: avreg_registry::accounts::AccountError| {
            ApiError::invalid(e.to_string()).field("role")
        })?;
    let bound_to = if let Some(o) = &j.organisation {
        Binding::Organisation(
            o.parse()
                .map_err(|_| ApiError::invalid("not an organisation id").field("organisation"))?,
        )
    } else if j.performers.is_empty() {
        Binding::None
    } else {
        Binding::Performers(
            j.performers
                .iter()
                .map(|p| p.parse())
                .collect::<Result<_, _>>()
                .map_err(|_| ApiError::invalid("not a performer id").field("performers"))?,
        )
    };
    let actor = caller.actor();
    let new = NewKey {
        role,
        bound_to,
        label: j.label,
    };
    let gate = caller.gate().clone();
    let created = state
        .blocking(move |r| r.gated(&gate).create_key(&actor, new))
        .await??;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyDoc {
            version: API_VERSION,
            key: (&created.record).into(),
            secret: created.secret.expose(),
        }),
    ))
}

/// Every key, revoked ones too (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/keys",
    tag = "keys",
    responses(
        (status = 200, body = KeysDoc),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<KeysDoc>, ApiError> {
    caller.require(Action::ManageKeys)?;
    let keys = state.blocking(|r| r.list_keys()).await??;
    Ok(Json(KeysDoc {
        version: API_VERSION,
        keys: keys.iter().map(Into::into).collect(),
    }))
}

/// Revokes a key (revoking twice changes nothing).
#[utoipa::path(
    delete,
    path = "/v1/keys/{id}",
    tag = "keys",
    params(("id" = String, Path, description = "key id")),
    responses(
        (status = 200, body = KeyDoc),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<KeyDoc>, ApiError> {
    caller.require(Action::ManageKeys)?;
    let id: ApiKeyId = id.parse().map_err(|_| ApiError::not_found("no such key"))?;
    let actor = caller.actor();
    let gate = caller.gate().clone();
    let key = state
        .blocking(move |r| r.gated(&gate).revoke_key(&actor, id))
        .await??
        .ok_or_else(|| ApiError::not_found("no such key"))?;
    Ok(Json(KeyDoc {
        version: API_VERSION,
        key: (&key).into(),
    }))
}
