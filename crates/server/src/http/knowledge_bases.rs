//! `/api/v1/knowledge-bases`: create, list, read, rename and delete a workspace's knowledge
//! bases, and `GET …/{id}/search?q=` to try what a question finds (what the assistant's
//! `search_knowledge_base` tool and the offline responder see). Documents are in
//! [`super::documents`].

use super::api_schemas::{self, ErrorBody, ValidationErrorBody};
use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::path_param::ApiPath;
use super::query::ApiQuery;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use confab_domain::knowledge::parse_knowledge_base_name;
use confab_domain::{KnowledgeBase, KnowledgeBaseId, Passage, WorkspaceId};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Passages a search returns unless `limit` says otherwise, and the most it may ask for.
const DEFAULT_SEARCH_LIMIT: u32 = 5;
const MAX_SEARCH_LIMIT: u32 = 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, rename, delete)).routes(routes!(search))
}

/// The body of `POST` and `PATCH`: the name, required by both.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct KnowledgeBaseBody {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
}

/// The body of `POST` and `PATCH`, for the document: `name` is required (the handlers check
/// that themselves).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // described only
pub(super) struct NamedKnowledgeBaseBody {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
}

/// `GET …/{id}/search`'s parameters. Read as plain strings so a bad value is a 422 with the
/// field named, not a framework error.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SearchQuery {
    /// The question or keywords to search for (required).
    #[param(required = true, min_length = 1, pattern = r"\S")]
    q: Option<String>,
    /// How many passages, 1 to 20 (default 5).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 20)]
    limit: Option<String>,
}

/// The checked name of a knowledge base; a missing one is an error (both create and rename
/// need it). Also the dashboard's knowledge page.
pub(crate) fn checked_name(name: Option<String>) -> Result<String, ApiError> {
    let mut errors = FieldErrors::default();
    let name = match name {
        Some(name) => errors.check(parse_knowledge_base_name(&name)),
        None => {
            errors.push("name", "name is required");
            None
        }
    };
    errors.finish()?;
    name.ok_or_else(|| ApiError::BadRequest("invalid knowledge base".into()))
}

/// Creates a knowledge base.
#[utoipa::path(post, path = "/knowledge-bases", tag = "knowledge bases", request_body = NamedKnowledgeBaseBody,
    responses(
        (status = 201, description = "Created", body = api_schemas::KnowledgeBase),
        (status = 422, description = "Invalid fields", body = ValidationErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<KnowledgeBaseBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = checked_name(body.name)?;
    let kb = state.store.create_knowledge_base(auth.workspace_id, &name).await?;
    Ok((StatusCode::CREATED, Json(knowledge_base_json(&kb))))
}

/// The workspace's knowledge bases.
#[utoipa::path(get, path = "/knowledge-bases", tag = "knowledge bases",
    responses((status = 200, description = "Every knowledge base", body = api_schemas::KnowledgeBaseList)))]
async fn list(State(state): State<AppState>, auth: ApiKeyAuth) -> Result<Json<Value>, ApiError> {
    let kbs = state.store.list_knowledge_bases(auth.workspace_id).await?;
    Ok(Json(json!({ "items": kbs.iter().map(knowledge_base_json).collect::<Vec<_>>() })))
}

/// One knowledge base.
#[utoipa::path(get, path = "/knowledge-bases/{id}", tag = "knowledge bases",
    params(("id" = uuid::Uuid, Path, description = "The knowledge base's id")),
    responses(
        (status = 200, description = "The knowledge base", body = api_schemas::KnowledgeBase),
        (status = 404, description = "No such knowledge base in this workspace", body = ErrorBody),
    ))]
async fn read(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_knowledge_base_id(&id)?;
    Ok(Json(knowledge_base_json(&state.store.get_knowledge_base(auth.workspace_id, id).await?)))
}

/// Renames a knowledge base.
#[utoipa::path(patch, path = "/knowledge-bases/{id}", tag = "knowledge bases", request_body = NamedKnowledgeBaseBody,
    params(("id" = uuid::Uuid, Path, description = "The knowledge base's id")),
    responses(
        (status = 200, description = "The renamed knowledge base", body = api_schemas::KnowledgeBase),
        (status = 404, description = "No such knowledge base in this workspace", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationErrorBody),
    ))]
async fn rename(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<KnowledgeBaseBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_knowledge_base_id(&id)?;
    let name = checked_name(body.name)?;
    Ok(Json(knowledge_base_json(&state.store.rename_knowledge_base(auth.workspace_id, id, &name).await?)))
}

/// Deletes the knowledge base with its documents, and detaches it from the assistants.
#[utoipa::path(delete, path = "/knowledge-bases/{id}", tag = "knowledge bases",
    params(("id" = uuid::Uuid, Path, description = "The knowledge base's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such knowledge base in this workspace", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_knowledge_base_id(&id)?;
    state.store.delete_knowledge_base(auth.workspace_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a question finds in one knowledge base: the passages the assistant's
/// `search_knowledge_base` tool and the offline responder would see, best first.
#[utoipa::path(get, path = "/knowledge-bases/{id}/search", tag = "knowledge bases",
    params(("id" = uuid::Uuid, Path, description = "The knowledge base's id"), SearchQuery),
    responses(
        (status = 200, description = "The passages found, best first", body = api_schemas::PassageList),
        (status = 404, description = "No such knowledge base in this workspace", body = ErrorBody),
        (status = 422, description = "Invalid parameters", body = ValidationErrorBody),
    ))]
async fn search(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_knowledge_base_id(&id)?;
    let passages = search_in(&state, auth.workspace_id, id, params.q, params.limit).await?;
    Ok(Json(json!({ "items": passages.iter().map(passage_json).collect::<Vec<_>>() })))
}

/// Checks a search's question and limit (both as given) and runs it on one knowledge base of
/// `workspace_id` (also the dashboard's search box).
pub(crate) async fn search_in(
    state: &AppState,
    workspace_id: WorkspaceId,
    id: KnowledgeBaseId,
    q: Option<String>,
    limit: Option<String>,
) -> Result<Vec<Passage>, ApiError> {
    let mut errors = FieldErrors::default();
    let query = q.map(|q| q.trim().to_string()).filter(|q| !q.is_empty());
    if query.is_none() {
        errors.push("q", "q is required: the question or keywords to search for");
    }
    let limit = match limit {
        None => Some(DEFAULT_SEARCH_LIMIT),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_SEARCH_LIMIT).contains(&n) => Some(n),
            _ => {
                errors.push("limit", format!("limit must be a whole number from 1 to {MAX_SEARCH_LIMIT}"));
                None
            }
        },
    };
    // not found before validation errors: the id is the first thing a caller gets wrong
    state.store.get_knowledge_base(workspace_id, id).await?;
    errors.finish()?;
    let (Some(query), Some(limit)) = (query, limit) else {
        return Err(ApiError::BadRequest("invalid search".into()));
    };
    Ok(state.store.search_knowledge(workspace_id, &[id], &query, limit).await?)
}

pub(crate) fn parse_knowledge_base_id(id: &str) -> Result<KnowledgeBaseId, ApiError> {
    super::path_param::resource_id(id, "knowledge base")
}

pub fn knowledge_base_json(kb: &KnowledgeBase) -> Value {
    json!({
        "id": kb.id,
        "name": kb.name,
        "created_at": kb.created_at.format(&Rfc3339).unwrap_or_default(),
    })
}

pub fn passage_json(p: &Passage) -> Value {
    json!({
        "knowledge_base_id": p.knowledge_base_id,
        "document_id": p.document_id,
        "document_title": p.document_title,
        "heading": p.heading,
        "text": p.text,
        "score": p.score,
    })
}
