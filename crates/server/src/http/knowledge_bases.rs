//! `/api/v1/knowledge-bases`: create, list, read, rename and delete a workspace's knowledge
//! bases, and `GET …/{id}/search?q=` to try what a question finds (what the assistant's
//! `search_knowledge_base` tool and the offline responder see). Documents are in
//! [`super::documents`].

use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use confab_domain::knowledge::parse_knowledge_base_name;
use confab_domain::{KnowledgeBase, KnowledgeBaseId, Passage};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;

/// Passages a search returns unless `limit` says otherwise, and the most it may ask for.
const DEFAULT_SEARCH_LIMIT: u32 = 5;
const MAX_SEARCH_LIMIT: u32 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/knowledge-bases", get(list).post(create))
        .route("/knowledge-bases/{id}", get(read).patch(rename).delete(delete))
        .route("/knowledge-bases/{id}/search", get(search))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KnowledgeBaseBody {
    name: Option<String>,
}

impl KnowledgeBaseBody {
    /// The checked name; a missing one is an error (both create and rename need it).
    fn name(self, errors: &mut FieldErrors) -> Option<String> {
        match self.name {
            Some(name) => errors.check(parse_knowledge_base_name(&name)),
            None => {
                errors.push("name", "name is required");
                None
            }
        }
    }
}

async fn create(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<KnowledgeBaseBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut errors = FieldErrors::default();
    let name = body.name(&mut errors);
    errors.finish()?;
    let name = name.ok_or_else(|| ApiError::BadRequest("invalid knowledge base".into()))?;
    let kb = state.store.create_knowledge_base(auth.workspace_id, &name).await?;
    Ok((StatusCode::CREATED, Json(knowledge_base_json(&kb))))
}

async fn list(State(state): State<AppState>, auth: ApiKeyAuth) -> Result<Json<Value>, ApiError> {
    let kbs = state.store.list_knowledge_bases(auth.workspace_id).await?;
    Ok(Json(json!({ "items": kbs.iter().map(knowledge_base_json).collect::<Vec<_>>() })))
}

async fn read(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_knowledge_base_id(&id)?;
    Ok(Json(knowledge_base_json(&state.store.get_knowledge_base(auth.workspace_id, id).await?)))
}

async fn rename(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<KnowledgeBaseBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_knowledge_base_id(&id)?;
    let mut errors = FieldErrors::default();
    let name = body.name(&mut errors);
    errors.finish()?;
    let name = name.ok_or_else(|| ApiError::BadRequest("invalid knowledge base".into()))?;
    Ok(Json(knowledge_base_json(&state.store.rename_knowledge_base(auth.workspace_id, id, &name).await?)))
}

/// Deletes the knowledge base with its documents, and detaches it from the assistants.
async fn delete(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_knowledge_base_id(&id)?;
    state.store.delete_knowledge_base(auth.workspace_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?q=` (required) and `limit` (1 to 20, default 5). Read as plain strings so a bad value is
/// a 422 with the field named, not a framework error.
async fn search(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_knowledge_base_id(&id)?;
    let mut errors = FieldErrors::default();
    let query = params.get("q").map(|q| q.trim().to_string()).filter(|q| !q.is_empty());
    if query.is_none() {
        errors.push("q", "q is required: the question or keywords to search for");
    }
    let limit = match params.get("limit") {
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
    state.store.get_knowledge_base(auth.workspace_id, id).await?;
    errors.finish()?;
    let (Some(query), Some(limit)) = (query, limit) else {
        return Err(ApiError::BadRequest("invalid search".into()));
    };
    let passages = state.store.search_knowledge(auth.workspace_id, &[id], &query, limit).await?;
    Ok(Json(json!({ "items": passages.iter().map(passage_json).collect::<Vec<_>>() })))
}

pub(super) fn parse_knowledge_base_id(id: &str) -> Result<KnowledgeBaseId, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound("knowledge base"))
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
