//! Operations: `/health`, `/ready`, `/metrics` and the OpenAPI document.
//! No key needed, but for `/metrics` (a `monitor` or `admin` key, unless
//! the configuration makes it public).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use crate::auth::{Action, Caller};
use crate::dto::StatusDoc;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

/// The process answers.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = StatusDoc)))]
pub async fn health() -> Json<StatusDoc> {
    Json(StatusDoc {
        status: "ok".into(),
    })
}

/// The service takes work: the store answers and the server is not
/// stopping.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = StatusDoc), (status = 503, body = StatusDoc)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<StatusDoc>) {
    // One read: an anonymous probe must not cost what the store weighs.
    let store = state.blocking(|r| r.ping()).await;
    let (code, status) = match store {
        _ if state.pool().is_closed() => (StatusCode::SERVICE_UNAVAILABLE, "stopping".into()),
        Ok(Ok(_)) => (StatusCode::OK, "ok".into()),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}")),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.message),
    };
    (code, Json(StatusDoc { status }))
}

/// Prometheus metrics (text exposition format 0.0.4). Needs a `monitor`
/// or `admin` key unless `[server] metrics_public` is set.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, content_type = "text/plain", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn metrics(
    State(state): State<AppState>,
    request: Request,
) -> Result<impl IntoResponse, ApiError> {
    if !state.options().metrics_public {
        let (mut parts, _) = request.into_parts();
        Caller::from_request_parts(&mut parts, &state)
            .await?
            .require(Action::ReadMetrics)?;
    }
    let pool = state.pool();
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(pool.queue_depth(), pool.running()),
    ))
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json")))]
pub async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json(),
    )
}
