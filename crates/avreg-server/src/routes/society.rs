//! Conflicts (`/v1/conflicts`), exports (`/v1/exports/…`), lookup by
//! identifier (`/v1/lookup/identifier/{id}`) and the audit signing key
//! (`/v1/audit/key`).

use avreg_registry::domain::date::Date;
use avreg_registry::domain::ids::{ConflictId, FixationId, OrganisationId, PerformerId};
use avreg_registry::domain::model::{Conflict, Party, Resolution};
use avreg_registry::domain::territory::Country;
use avreg_registry::ledger::export::{self, Export, RmiManifest};
use avreg_registry::ledger::{today, EntityRef, ExpiringEntry, RepertoireEntry, StatementEntry};
use axum::extract::{Path, Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Action, Caller};
use crate::body::{self, Body};
use crate::dto::EntityDoc;
use crate::dto::API_VERSION;
use crate::error::{ApiError, Code, ErrorBody};
use crate::AppState;

fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::invalid(e.body_text()))
}

fn parse<T: std::str::FromStr>(field: &str, v: Option<&str>) -> Result<Option<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    v.map(|s| {
        s.trim()
            .parse::<T>()
            .map_err(|e| ApiError::invalid(format!("{field}: {e}")).field(field))
    })
    .transpose()
}

/// Filters of the conflict list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConflictQuery {
    /// Only open conflicts (default true).
    pub open: Option<bool>,
    /// The last conflict id of the previous page.
    pub after: Option<String>,
    /// Conflicts read per page (default 100, at most the server's
    /// `max_page`); the open ones among them are listed.
    pub limit: Option<u64>,
}

/// A list of conflicts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictsDoc {
    /// 1.
    pub version: u32,
    /// The conflicts.
    pub conflicts: Vec<Conflict>,
    /// The id to pass as `after` for the next page, when there may be
    /// more.
    pub next_after: Option<String>,
}

/// One conflict.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictDoc {
    /// 1.
    pub version: u32,
    /// The conflict after the write.
    pub conflict: Conflict,
}

/// The conflicts (open ones by default), a page at a time in id order.
/// Performer and producer keys see those where they are a party; admin and
/// society keys see all.
#[utoipa::path(get, path = "/v1/conflicts", tag = "ledger", params(ConflictQuery),
    responses((status = 200, body = ConflictsDoc), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn conflicts(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ConflictQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ConflictsDoc>, ApiError> {
    caller.require(Action::ReadLedger)?;
    let q = query(q)?;
    let open = q.open.unwrap_or(true);
    let after = match q.after.as_deref() {
        Some(a) => Some(
            conflict_id(a)
                .map_err(|_| ApiError::invalid("after is a conflict id").field("after"))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(100).clamp(1, state.options().max_page) as usize;
    // Admin and society keys page through every conflict; the others
    // through their own parties' only (read from those parties' links).
    let parties = (!matches!(
        caller.0.role,
        avreg_registry::accounts::Role::Admin | avreg_registry::accounts::Role::Society
    ))
    .then(|| caller.parties());
    let (list, next) = state
        .blocking(move |r| {
            r.view()
                .conflicts_page(open, parties.as_deref(), after, limit)
        })
        .await??;
    Ok(Json(ConflictsDoc {
        version: API_VERSION,
        conflicts: list,
        next_after: next.map(|id| id.to_string()),
    }))
}

fn acts_for(caller: &Caller, p: &Party) -> bool {
    match p {
        Party::Performer(id) => caller.acts_for_performer(id),
        Party::Organisation(id) => caller.acts_for_organisation(id),
    }
}

/// A party's response to a conflict.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RespondJson {
    /// The party responding: `performer:ID` or `organisation:ID`.
    pub party: String,
    /// What it says.
    pub note: String,
}

/// A party's agreement to resolve a conflict, or an admin's ruling.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResolveJson {
    /// `withdraw`, `share`, `split_territory`, `split_period`,
    /// `distinguish_version`, `exclude_segment` or `acknowledge`.
    pub resolution: Resolution,
    /// The party agreeing (`performer:ID` or `organisation:ID`), one the
    /// key acts for. Absent for an admin's ruling.
    #[serde(default)]
    pub party: Option<String>,
    /// Why: required for an admin's ruling, which is recorded with it.
    #[serde(default)]
    pub note: Option<String>,
}

fn parse_party(s: &str) -> Result<Party, ApiError> {
    match s.parse::<EntityRef>() {
        Ok(EntityRef::Performer(id)) => Ok(Party::Performer(id)),
        Ok(EntityRef::Organisation(id)) => Ok(Party::Organisation(id)),
        _ => Err(ApiError::invalid("party is performer:ID or organisation:ID").field("party")),
    }
}

fn conflict_id(id: &str) -> Result<ConflictId, ApiError> {
    id.parse()
        .map_err(|_| ApiError::not_found("no such conflict"))
}

async fn json_body(state: &AppState, req: Request) -> Result<Vec<u8>, ApiError> {
    match body::read(req, state, None, state.options().json_body_limit, &[]).await? {
        Body::Json(b) => Ok(b.to_vec()),
        Body::Media { .. } => Err(ApiError::new(
            Code::UnsupportedMedia,
            "send application/json",
        )),
    }
}

/// Responds to a conflict for a party the key acts for.
#[utoipa::path(post, path = "/v1/conflicts/{id}/respond", tag = "ledger",
    params(("id" = String, Path, description = "conflict id")),
    request_body(content((RespondJson = "application/json"))),
    responses((status = 200, body = ConflictDoc), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn respond(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<ConflictDoc>, ApiError> {
    caller.require(Action::RespondConflict)?;
    let id = conflict_id(&id)?;
    let body: RespondJson = body::parse_json(&json_body(&state, req).await?)?;
    let party = parse_party(&body.party)?;
    if !acts_for(&caller, &party) {
        return Err(
            ApiError::new(Code::Forbidden, "this key does not act for that party").field("party"),
        );
    }
    let actor = caller.actor();
    let gate = caller.gate().clone();
    let c = state
        .blocking(move |r| {
            r.gated(&gate)
                .respond_to_conflict(&actor, id, party, &body.note)
        })
        .await??;
    Ok(Json(ConflictDoc {
        version: API_VERSION,
        conflict: c,
    }))
}

/// Agrees to resolve a conflict (for a party of it the key acts for), or,
/// with an admin key and no party, rules on it with a note. A conflict
/// closes when every party has agreed to the same resolution, or by a
/// ruling; never while an overclaim's exclusive shares exceed 100 % (409).
#[utoipa::path(post, path = "/v1/conflicts/{id}/resolve", tag = "ledger",
    params(("id" = String, Path, description = "conflict id")),
    request_body(content((ResolveJson = "application/json"))),
    responses((status = 200, body = ConflictDoc), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<ConflictDoc>, ApiError> {
    caller.require(Action::RespondConflict)?;
    let id = conflict_id(&id)?;
    let body: ResolveJson = body::parse_json(&json_body(&state, req).await?)?;
    let actor = caller.actor();
    let gate = caller.gate().clone();
    let resolution = body.resolution;
    let c = match body.party {
        Some(party) => {
            let party = parse_party(&party)?;
            if !acts_for(&caller, &party) {
                return Err(
                    ApiError::new(Code::Forbidden, "this key does not act for that party")
                        .field("party"),
                );
            }
            state
                .blocking(move |r| {
                    r.gated(&gate)
                        .agree_to_resolve(&actor, id, party, resolution)
                })
                .await??
        }
        None if caller.is_admin() => {
            let note = body.note.unwrap_or_default();
            state
                .blocking(move |r| {
                    r.gated(&gate)
                        .rule_on_conflict(&actor, id, resolution, &note)
                })
                .await??
        }
        None => {
            return Err(ApiError::invalid(
                "name the party (performer:ID or organisation:ID) that agrees",
            )
            .field("party"))
        }
    };
    Ok(Json(ConflictDoc {
        version: API_VERSION,
        conflict: c,
    }))
}

/// Parameters of the exports.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `json`.
    pub format: Option<String>,
    /// repertoire: the society's organisation id.
    pub society: Option<String>,
    /// statement: the performer's id.
    pub performer: Option<String>,
    /// rmi: the fixation's id.
    pub fixation: Option<String>,
    /// repertoire, rmi: the date (default today).
    pub date: Option<String>,
    /// expiring: the year.
    pub year: Option<i32>,
    /// expiring, rmi: territories, comma-separated ISO codes.
    pub territory: Option<String>,
    /// conflicts: resolved ones too.
    pub all: Option<bool>,
}

fn emit<T: Serialize + Send + 'static>(
    format: &str,
    kind: &'static str,
    rows: Vec<T>,
    csv: fn(&[T]) -> String,
) -> Result<Response, ApiError> {
    if format == "json" {
        Ok(Json(Export::new(kind, rows)).into_response())
    } else {
        Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            csv(&rows),
        )
            .into_response())
    }
}

/// Exports (society and admin keys; a performer's or agent's key reads its
/// performers' own statement): `repertoire` (`society`, `date`),
/// `statement` (`performer`), `conflicts` (`all`), `expiring` (`year`,
/// `territory`), `rmi` (`fixation`, `territory`, `date`; JSON only), as CSV
/// (`text/csv`) or JSON, like `avreg export`.
#[utoipa::path(get, path = "/v1/exports/{kind}", tag = "ledger",
    params(("kind" = String, Path, description = "repertoire, statement, conflicts, expiring or rmi"), ExportQuery),
    responses((status = 200, description = "CSV (`text/csv`, columns in the README) or JSON",
            content((String = "text/csv"), (ExportJson = "application/json"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn exports(
    State(state): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
    q: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    // A performer (or its agent) reads its own statement; every other
    // export is a society's or an admin's.
    let own_statement = kind == "statement"
        && parse::<PerformerId>("performer", q.performer.as_deref())
            .ok()
            .flatten()
            .is_some_and(|p| caller.acts_for_performer(&p));
    if own_statement {
        caller.require(Action::ReadOwnStatement)?;
    } else {
        caller.require(Action::Export)?;
    }
    let format = q.format.clone().unwrap_or_else(|| "csv".into());
    if format != "csv" && format != "json" {
        return Err(ApiError::invalid("format is csv or json").field("format"));
    }
    let date: Date = parse("date", q.date.as_deref())?.unwrap_or_else(today);
    let territories: Vec<Country> = q
        .territory
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse::<Country>()
                .map_err(|e| ApiError::invalid(format!("territory: {e}")).field("territory"))
        })
        .collect::<Result<_, _>>()?;
    let required = |field: &str| ApiError::invalid(format!("{field} is required")).field(field);
    match kind.as_str() {
        "repertoire" => {
            let society: OrganisationId =
                parse("society", q.society.as_deref())?.ok_or_else(|| required("society"))?;
            let rows = state
                .heavy(move |r| {
                    let v = r.view();
                    if v.organisation(society)?.is_none() {
                        return Ok(None);
                    }
                    v.repertoire(society, date).map(Some)
                })
                .await??
                .ok_or_else(|| ApiError::not_found("no such organisation"))?;
            emit(&format, "repertoire", rows, export::repertoire_csv)
        }
        "statement" => {
            let performer: PerformerId =
                parse("performer", q.performer.as_deref())?.ok_or_else(|| required("performer"))?;
            let rows = state
                .heavy(move |r| {
                    let v = r.view();
                    if v.performer(performer)?.is_none() {
                        return Ok(None);
                    }
                    v.statement(performer).map(Some)
                })
                .await??
                .ok_or_else(|| ApiError::not_found("no such performer"))?;
            emit(&format, "statement", rows, export::statement_csv)
        }
        "conflicts" => {
            let open = !q.all.unwrap_or(false);
            let rows = state
                .heavy(move |r| r.view().conflicts(open, None))
                .await??;
            emit(&format, "conflicts", rows, export::conflicts_csv)
        }
        "expiring" => {
            let year = q.year.ok_or_else(|| required("year"))?;
            let territory = *territories.first().ok_or_else(|| required("territory"))?;
            let rows = state
                .heavy(move |r| r.view().expiring(year, territory, today()))
                .await??;
            emit(&format, "expiring", rows, export::expiring_csv)
        }
        "rmi" => {
            let fixation: FixationId =
                parse("fixation", q.fixation.as_deref())?.ok_or_else(|| required("fixation"))?;
            if territories.is_empty() {
                return Err(required("territory"));
            }
            let manifest = state
                .heavy(move |r| export::rmi_manifest(&r.view(), fixation, &territories, date))
                .await??
                .ok_or_else(|| ApiError::not_found("no such fixation"))?;
            Ok(Json(manifest).into_response())
        }
        _ => Err(ApiError::not_found(
            "exports are repertoire, statement, conflicts, expiring and rmi",
        )),
    }
}

/// A JSON export (`format=json`): `{"version", "kind", "rows"}`, or the RMI
/// manifest of a fixation. For the OpenAPI document only.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum ExportJson {
    /// `repertoire`.
    Repertoire(RepertoireExport),
    /// `statement`.
    Statement(StatementExport),
    /// `conflicts`.
    Conflicts(ConflictsExport),
    /// `expiring`.
    Expiring(ExpiringExport),
    /// `rmi`.
    Rmi(Box<RmiManifest>),
}

macro_rules! export_doc {
    ($name:ident, $kind:literal, $row:ty) => {
        #[doc = concat!("The `", $kind, "` export as JSON.")]
        #[derive(ToSchema)]
        #[allow(dead_code)]
        pub struct $name {
            /// The export format's version (`EXPORT_VERSION`).
            version: u32,
            #[doc = concat!("`", $kind, "`.")]
            #[schema(pattern = $kind)]
            kind: String,
            /// The rows.
            rows: Vec<$row>,
        }
    };
}

export_doc!(RepertoireExport, "^repertoire$", RepertoireEntry);
export_doc!(StatementExport, "^statement$", StatementEntry);
export_doc!(ConflictsExport, "^conflicts$", Conflict);
export_doc!(ExpiringExport, "^expiring$", ExpiringEntry);

/// The entity an identifier (ISAN, EIDR, ISRC or ISNI, in any accepted
/// spelling) names. A malformed identifier is 400.
#[utoipa::path(get, path = "/v1/lookup/identifier/{id}", tag = "lookup",
    params(("id" = String, Path, description = "ISAN, EIDR, ISRC or ISNI")),
    responses((status = 200, body = EntityDoc), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn by_identifier(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EntityDoc>, ApiError> {
    caller.require(Action::Lookup)?;
    use avreg_registry::domain::ids::{Eidr, Isan, Isni, Isrc};
    if id.parse::<Isan>().is_err()
        && id.parse::<Eidr>().is_err()
        && id.parse::<Isrc>().is_err()
        && id.parse::<Isni>().is_err()
    {
        return Err(ApiError::invalid(
            "not a valid ISAN, EIDR, ISRC or ISNI (check character included)",
        )
        .field("id"));
    }
    let text = id.clone();
    let (entity, rev) = state
        .blocking(move |r| -> Result<_, ApiError> {
            let v = r.view();
            match v.by_identifier(&text)? {
                Some(e) => {
                    let rev = v.revision(&e.reference())?;
                    Ok((Some(e), rev))
                }
                None => Ok((None, None)),
            }
        })
        .await??;
    let (Some(entity), Some(mut rev)) = (entity, rev) else {
        return Err(ApiError::not_found(format!("no entity carries {id}")));
    };
    if let avreg_registry::ledger::Entity::Performer(p) = &entity {
        if !caller.acts_for_performer(&p.id) {
            rev.entity = avreg_registry::ledger::Entity::Performer(p.public());
        }
    }
    Ok(Json(EntityDoc {
        version: API_VERSION,
        revision: rev,
    }))
}

/// The registry's audit public key (Ed25519, hex), which signs heads.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditKeyDoc {
    /// 1.
    pub version: u32,
    /// Hex of the Ed25519 public key.
    pub public_key: String,
}

/// The key that signs audit heads, for auditors to pin.
#[utoipa::path(get, path = "/v1/audit/key", tag = "audit",
    responses((status = 200, body = AuditKeyDoc), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn audit_key(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AuditKeyDoc>, ApiError> {
    caller.require(Action::Audit)?;
    Ok(Json(AuditKeyDoc {
        version: API_VERSION,
        public_key: state.registry().audit_public_key(),
    }))
}
