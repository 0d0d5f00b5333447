//! The ledger over HTTP: performers, organisations, fixations, credits,
//! moral rights, holdings, agreements and mandates (create, read with
//! `?as_of=MS`, amend, withdraw, list with `?after=ID&limit=` and one of
//! `?fixation=`, `?performer=`, `?organisation=`), the batch
//! `POST /v1/ledger`, and `POST /v1/fixations/{id}/media`. Every write goes
//! through `Registry::apply` as the calling key, after [`authorise`]
//! checked each change, and answers the write's `Applied`.
//!
//! [`authorise`]: crate::ownership::authorise

use avreg_registry::domain::ids::FixationId;
use avreg_registry::domain::model::{self as m, Conflict};
use avreg_registry::jobs::JobOutcome;
use avreg_registry::ledger::{
    self, Applied, Change, Entity, EntityKind, EntityRef, ParseError, Revision,
};
use avreg_registry::Registration;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Action, Caller};
use crate::body::{self, Body};
use crate::dto::{EntityDoc, RegisterDoc, RegisterFingerprint, API_VERSION};
use crate::error::{ApiError, ErrorBody};
use crate::jobs;
use crate::AppState;

/// The answer of a ledger write: the revisions written, the conflicts
/// opened and resolved (see `avreg ledger apply --json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedDoc {
    /// 1.
    pub version: u32,
    /// Revisions written, in the order of the changes.
    pub revisions: Vec<Revision>,
    /// Conflicts the write opened.
    pub opened: Vec<Conflict>,
    /// Conflicts the write resolved.
    pub resolved: Vec<Conflict>,
}

impl AppliedDoc {
    fn new(a: Applied) -> Self {
        Self {
            version: API_VERSION,
            revisions: a.revisions,
            opened: a.opened,
            resolved: a.resolved,
        }
    }
}

/// A batch of changes, as `avreg ledger apply` reads them:
/// `{"version": 1, "changes": [{"create": {"kind": "credit", "entity":
/// {…}}}, {"amend": …}, {"withdraw": {"kind": …, "id": …}}]}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangesDoc {
    /// Must be 1.
    pub version: u32,
    /// The changes, applied all or none. Read one by one
    /// ([`avreg_registry::ledger::parse_changes`]), so that an error names
    /// the change and its field.
    #[schema(value_type = Vec<Change>)]
    pub changes: Vec<serde_json::Value>,
}

/// A page of entities.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityPage {
    /// 1.
    pub version: u32,
    /// Live entities in id order.
    pub items: Vec<Entity>,
    /// The id to pass as `after` for the next page, if the page is full.
    pub next_after: Option<String>,
}

/// `?as_of=MS`: the ledger as it was at that time (ms since the epoch).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOf {
    /// Read the state at this time, ms since the epoch (default now).
    pub as_of: Option<u64>,
}

/// Paging and filtering of an entity list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct After {
    /// The last id of the previous page.
    pub after: Option<String>,
    /// Items per page (default 100, at most the server's `max_page`).
    pub limit: Option<u64>,
    /// Read the state at this time, ms since the epoch (default now).
    pub as_of: Option<u64>,
    /// Only the entities referring to this fixation.
    pub fixation: Option<String>,
    /// Only the entities referring to this performer.
    pub performer: Option<String>,
    /// Only the entities referring to this organisation.
    pub organisation: Option<String>,
}

fn parse_error(e: ParseError) -> ApiError {
    let error = ApiError::invalid(e.to_string());
    if e.path.is_empty() {
        error
    } else {
        error.field(e.path)
    }
}

fn parse_entity(kind: EntityKind, bytes: &[u8]) -> Result<Entity, ApiError> {
    let value: serde_json::Value = body::parse_json(bytes)?;
    ledger::parse_entity(kind, value).map_err(parse_error)
}

/// Parses a path id of `kind` (moral rights: `PERFORMER:FIXATION`).
pub(crate) fn parse_ref(kind: EntityKind, id: &str) -> Result<EntityRef, ApiError> {
    EntityRef::parse_id(kind, id)
        .map_err(|_| ApiError::not_found(format!("no such {}: {id}", kind.name())))
}

async fn write(
    state: &AppState,
    caller: &Caller,
    changes: Vec<Change>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    caller.require(Action::WriteLedger)?;
    let c = caller.clone();
    let actor = caller.actor();
    let applied = state
        .blocking(move |r| -> Result<Applied, ApiError> {
            r.gated(c.gate())
                .apply_authorised(&actor, changes, |view, changes| {
                    crate::ownership::authorise(&c, view, changes)
                })
        })
        .await??;
    Ok((status, Json(AppliedDoc::new(applied))).into_response())
}

async fn json_body(state: &AppState, req: Request) -> Result<Vec<u8>, ApiError> {
    match body::read(req, state, None, state.options().json_body_limit, &[]).await? {
        Body::Json(b) => Ok(b.to_vec()),
        Body::Media { .. } => Err(ApiError::new(
            crate::error::Code::UnsupportedMedia,
            "send application/json",
        )),
    }
}

/// Applies a batch of ledger changes, all or none (as `avreg ledger
/// apply`), each change authorised for the key.
#[utoipa::path(
    post,
    path = "/v1/ledger",
    tag = "ledger",
    request_body(content((ChangesDoc = "application/json"))),
    responses(
        (status = 200, body = AppliedDoc),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require(Action::WriteLedger)?;
    let bytes = json_body(&state, req).await?;
    let doc: ChangesDoc = body::parse_json(&bytes)?;
    if doc.version != 1 {
        return Err(ApiError::invalid("changes version 1 is supported").field("version"));
    }
    let most = state.options().max_changes;
    if doc.changes.len() > most {
        return Err(ApiError::new(
            crate::error::Code::PayloadTooLarge,
            format!("at most {most} changes per write"),
        )
        .field("changes"));
    }
    let changes = ledger::parse_changes(doc.changes).map_err(parse_error)?;
    write(&state, &caller, changes, StatusCode::OK).await
}

async fn create(
    state: AppState,
    caller: Caller,
    kind: EntityKind,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require(Action::WriteLedger)?;
    let bytes = json_body(&state, req).await?;
    let entity = parse_entity(kind, &bytes)?;
    write(
        &state,
        &caller,
        vec![Change::Create(entity)],
        StatusCode::CREATED,
    )
    .await
}

async fn amend(
    state: AppState,
    caller: Caller,
    kind: EntityKind,
    id: String,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require(Action::WriteLedger)?;
    let r = parse_ref(kind, &id)?;
    let bytes = json_body(&state, req).await?;
    let entity = parse_entity(kind, &bytes)?;
    if entity.reference() != r {
        return Err(ApiError::invalid("the body's id is not the path's").field("id"));
    }
    write(&state, &caller, vec![Change::Amend(entity)], StatusCode::OK).await
}

async fn withdraw(
    state: AppState,
    caller: Caller,
    kind: EntityKind,
    id: String,
) -> Result<Response, ApiError> {
    caller.require(Action::WriteLedger)?;
    let r = parse_ref(kind, &id)?;
    write(&state, &caller, vec![Change::Withdraw(r)], StatusCode::OK).await
}

fn private_fields(caller: &Caller, e: Entity) -> Entity {
    match e {
        Entity::Performer(p) if !caller.acts_for_performer(&p.id) => Entity::Performer(p.public()),
        other => other,
    }
}

async fn read(
    state: AppState,
    caller: Caller,
    kind: EntityKind,
    id: String,
    as_of: Option<u64>,
) -> Result<Json<EntityDoc>, ApiError> {
    caller.require(Action::ReadLedger)?;
    let r = parse_ref(kind, &id)?;
    let rev = state
        .blocking(move |reg| match as_of {
            Some(ms) => reg.view_as_of(ms)?.revision(&r),
            None => reg.view().revision(&r),
        })
        .await??
        .ok_or_else(|| ApiError::not_found(format!("no such {}: {id}", kind.name())))?;
    let mut rev = rev;
    rev.entity = private_fields(&caller, rev.entity);
    Ok(Json(EntityDoc {
        version: API_VERSION,
        revision: rev,
    }))
}

async fn list(
    state: AppState,
    caller: Caller,
    kind: EntityKind,
    q: After,
) -> Result<Json<EntityPage>, ApiError> {
    caller.require(Action::ReadLedger)?;
    let after = match &q.after {
        Some(a) => Some(
            parse_ref(kind, a)
                .map_err(|_| ApiError::invalid("after is an id of this kind").field("after"))?,
        ),
        None => None,
    };
    let filters = [
        ("fixation", EntityKind::Fixation, &q.fixation),
        ("performer", EntityKind::Performer, &q.performer),
        ("organisation", EntityKind::Organisation, &q.organisation),
    ];
    let mut parent = None;
    for (field, parent_kind, id) in filters {
        let Some(id) = id else { continue };
        if parent.is_some() {
            return Err(
                ApiError::invalid("filter by one of fixation, performer, organisation")
                    .field(field),
            );
        }
        parent = Some(parse_ref(parent_kind, id).map_err(|_| {
            ApiError::invalid(format!("{field} is a {} id", parent_kind.name())).field(field)
        })?);
    }
    let limit = q.limit.unwrap_or(100).clamp(1, state.options().max_page) as usize;
    let as_of = q.as_of;
    let items = state
        .blocking(move |reg| {
            let view = match as_of {
                Some(ms) => reg.view_as_of(ms)?,
                None => reg.view(),
            };
            match &parent {
                Some(p) => view.list_referring(kind, p, after.as_ref(), limit),
                None => view.list(kind, after.as_ref(), limit),
            }
        })
        .await??;
    let next_after = (items.len() == limit)
        .then(|| items.last().map(|e| e.reference().id_text()))
        .flatten();
    let items: Vec<Entity> = items
        .into_iter()
        .map(|e| private_fields(&caller, e))
        .collect();
    Ok(Json(EntityPage {
        version: API_VERSION,
        items,
        next_after,
    }))
}

fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::invalid(e.body_text()))
}

/// One module of five handlers per kind of entity.
macro_rules! entity_routes {
    ($module:ident, $kind:expr, $body:ty, $name:literal, $collection:literal, $item:literal) => {
        #[doc = concat!("`", $collection, "` and `", $item, "`.")]
        pub mod $module {
            use super::*;

            #[doc = concat!("Creates a ", $name, " (its JSON form, as in `avreg ledger apply`).")]
            #[utoipa::path(post, path = $collection, tag = "ledger",
                        request_body(content(($body = "application/json"))),
                        responses((status = 201, body = AppliedDoc),
                            (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                            (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
                        security(("bearer" = [])))]
            pub async fn create(
                State(state): State<AppState>,
                caller: Caller,
                req: Request,
            ) -> Result<Response, ApiError> {
                super::create(state, caller, $kind, req).await
            }

            #[doc = concat!("Lists live ", $name, " entities in id order, a page at a time.")]
            #[utoipa::path(get, path = $collection, tag = "ledger", params(After),
                        responses((status = 200, body = EntityPage),
                            (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                            (status = 403, body = ErrorBody)),
                        security(("bearer" = [])))]
            pub async fn list(
                State(state): State<AppState>,
                caller: Caller,
                q: Result<Query<After>, axum::extract::rejection::QueryRejection>,
            ) -> Result<Json<EntityPage>, ApiError> {
                super::list(state, caller, $kind, super::query(q)?).await
            }

            #[doc = concat!("One ", $name, "'s latest revision (or as of `as_of`).")]
            #[utoipa::path(get, path = $item, tag = "ledger",
                        params(("id" = String, Path, description = "id"), AsOf),
                        responses((status = 200, body = EntityDoc),
                            (status = 400, body = ErrorBody),
                            (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
                            (status = 404, body = ErrorBody)),
                        security(("bearer" = [])))]
            pub async fn get(
                State(state): State<AppState>,
                caller: Caller,
                Path(id): Path<String>,
                q: Result<Query<AsOf>, axum::extract::rejection::QueryRejection>,
            ) -> Result<Json<EntityDoc>, ApiError> {
                let as_of = super::query(q)?.as_of;
                super::read(state, caller, $kind, id, as_of).await
            }

            #[doc = concat!("Amends a ", $name, " (the whole new state; its links cannot change).")]
            #[utoipa::path(put, path = $item, tag = "ledger",
                        params(("id" = String, Path, description = "id")),
                        request_body(content(($body = "application/json"))),
                        responses((status = 200, body = AppliedDoc),
                            (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                            (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
                            (status = 409, body = ErrorBody)),
                        security(("bearer" = [])))]
            pub async fn amend(
                State(state): State<AppState>,
                caller: Caller,
                Path(id): Path<String>,
                req: Request,
            ) -> Result<Response, ApiError> {
                super::amend(state, caller, $kind, id, req).await
            }

            #[doc = concat!("Withdraws a ", $name, " (kept for history).")]
            #[utoipa::path(delete, path = $item, tag = "ledger",
                        params(("id" = String, Path, description = "id")),
                        responses((status = 200, body = AppliedDoc),
                            (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                            (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
                            (status = 409, body = ErrorBody)),
                        security(("bearer" = [])))]
            pub async fn withdraw(
                State(state): State<AppState>,
                caller: Caller,
                Path(id): Path<String>,
            ) -> Result<Response, ApiError> {
                super::withdraw(state, caller, $kind, id).await
            }
        }
    };
}

entity_routes!(
    performers,
    EntityKind::Performer,
    m::Performer,
    "performer",
    "/v1/performers",
    "/v1/performers/{id}"
);
entity_routes!(
    organisations,
    EntityKind::Organisation,
    m::Organisation,
    "organisation",
    "/v1/organisations",
    "/v1/organisations/{id}"
);
entity_routes!(
    fixations,
    EntityKind::Fixation,
    m::Fixation,
    "fixation",
    "/v1/fixations",
    "/v1/fixations/{id}"
);
entity_routes!(
    credits,
    EntityKind::Credit,
    m::Credit,
    "credit",
    "/v1/credits",
    "/v1/credits/{id}"
);
entity_routes!(
    moral_rights,
    EntityKind::MoralRights,
    m::MoralRights,
    "moral rights entry (id PERFORMER:FIXATION)",
    "/v1/moral-rights",
    "/v1/moral-rights/{id}"
);
entity_routes!(
    holdings,
    EntityKind::Holding,
    m::Holding,
    "holding",
    "/v1/holdings",
    "/v1/holdings/{id}"
);
entity_routes!(
    agreements,
    EntityKind::Agreement,
    m::Agreement,
    "agreement",
    "/v1/agreements",
    "/v1/agreements/{id}"
);
entity_routes!(
    mandates,
    EntityKind::Mandate,
    m::Mandate,
    "mandate",
    "/v1/mandates",
    "/v1/mandates/{id}"
);

/// Attaches media to a fixation: a multipart upload (`media`, optional
/// `title`) fingerprinted as a reference (sound and picture), or the JSON
/// of a fingerprint registration. Reference overlaps with other
/// registrants' fixations open conflicts.
#[utoipa::path(
    post,
    path = "/v1/fixations/{id}/media",
    tag = "ledger",
    params(("id" = String, Path, description = "fixation id")),
    request_body(content(
        (crate::media::RegisterForm = "multipart/form-data"),
        (RegisterFingerprint = "application/json"),
    )),
    responses(
        (status = 201, body = RegisterDoc), (status = 200, description = "the same bytes were registered before", body = RegisterDoc), (status = 202, body = crate::dto::JobAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn attach_media(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require(Action::WriteLedger)?;
    let fixation: FixationId = id
        .parse()
        .map_err(|_| ApiError::not_found("no such fixation"))?;
    let f = state
        .blocking(move |r| r.view().fixation(fixation))
        .await??
        .ok_or_else(|| ApiError::not_found("no such fixation"))?;
    if !caller.is_admin()
        && crate::ownership::authorise(
            &caller,
            &state.registry().view(),
            &mut [Change::Amend(Entity::Fixation(f.clone()))],
        )
        .is_err()
    {
        return Err(ApiError::new(
            crate::error::Code::Forbidden,
            "this key may not attach media to this fixation",
        ));
    }
    let upload = state.uploads().admit(caller.id())?;
    let o = state.options();
    let body = body::read(
        req,
        &state,
        Some(o.media_body_limit),
        o.fingerprint_body_limit,
        &["title"],
    )
    .await?;
    // The fingerprinting slot once the body has arrived: slow
    // uploads hold only their own upload places.
    let slot = state.pool().admit()?;
    let registry = state.registry_arc();
    let actor = caller.actor();
    let recording = crate::media::recording_from(body, &state, Some(f.title.clone()))?;
    let work = move || -> Result<_, ApiError> {
        Ok(registry.attach_media(&actor, fixation, recording()?)?)
    };
    jobs::run(
        &state,
        caller.id(),
        (slot, upload),
        work,
        move |(registration, applied): &(Registration, Applied)| JobOutcome::Done {
            recording: registration.recording().id,
            new: registration.is_new(),
            fixation: Some(fixation),
            opened: applied.opened.iter().map(|c| c.id).collect(),
        },
        |(registration, applied)| {
            let status = if registration.is_new() {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((
                status,
                Json(RegisterDoc::new(
                    &registration,
                    Some((fixation, applied.opened.clone())),
                )),
            )
                .into_response())
        },
    )
    .await
}
