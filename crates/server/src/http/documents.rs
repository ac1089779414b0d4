//! `/api/v1/knowledge-bases/{id}/documents`: add a plain-text or Markdown document (split into
//! passages and searchable when the call returns), list, read (with its text) and delete.

use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::knowledge_bases::parse_knowledge_base_id;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use confab_domain::knowledge::parse_document_title;
use confab_domain::{Document, DocumentFormat, DocumentId};
use confab_engine::chunking::chunk_document;
use confab_storage::NewDocument;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

/// The largest document text accepted, in bytes (bodies above the server's `max_body_bytes`
/// are refused with 413 before this).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/knowledge-bases/{id}/documents", get(list).post(create))
        .route("/knowledge-bases/{id}/documents/{document_id}", get(read).delete(delete))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentBody {
    title: Option<String>,
    format: Option<String>,
    content: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(kb_id): Path<String>,
    ApiJson(body): ApiJson<DocumentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let kb_id = parse_knowledge_base_id(&kb_id)?;
    let mut errors = FieldErrors::default();
    let title = match body.title {
        Some(title) => errors.check(parse_document_title(&title)),
        None => {
            errors.push("title", "title is required");
            None
        }
    };
    let format = match body.format.as_deref().map(|f| (f, DocumentFormat::parse(f))) {
        Some((_, Some(format @ (DocumentFormat::Txt | DocumentFormat::Md)))) => Some(format),
        Some(_) => {
            errors.push("format", "format must be txt or md (more formats come later)");
            None
        }
        None => {
            errors.push("format", "format is required: txt or md");
            None
        }
    };
    let content = match body.content {
        Some(content) if content.len() > MAX_DOCUMENT_BYTES => {
            errors.push(
                "content",
                format!("content must be at most {MAX_DOCUMENT_BYTES} bytes (1 MiB): split the document into several"),
            );
            None
        }
        Some(content) if content.trim().is_empty() => {
            errors.push("content", "content must not be empty");
            None
        }
        Some(content) => Some(content),
        None => {
            errors.push("content", "content is required: the document's text");
            None
        }
    };
    // not found before validation errors, as everywhere
    state.store.get_knowledge_base(auth.workspace_id, kb_id).await?;
    errors.finish()?;
    let (Some(title), Some(format), Some(content)) = (title, format, content) else {
        return Err(ApiError::BadRequest("invalid document".into()));
    };
    let chunks = chunk_document(format, &content);
    let document = state
        .store
        .add_document(auth.workspace_id, NewDocument { knowledge_base_id: kb_id, title, format, content, chunks })
        .await?;
    Ok((StatusCode::CREATED, Json(document_json(&document))))
}

async fn list(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(kb_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let kb_id = parse_knowledge_base_id(&kb_id)?;
    let documents = state.store.list_documents(auth.workspace_id, kb_id).await?;
    Ok(Json(json!({ "items": documents.iter().map(document_json).collect::<Vec<_>>() })))
}

async fn read(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path((kb_id, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (kb_id, id) = (parse_knowledge_base_id(&kb_id)?, parse_document_id(&id)?);
    let found = state.store.get_document(auth.workspace_id, kb_id, id).await?;
    let mut body = document_json(&found.document);
    body["content"] = json!(found.content);
    Ok(Json(body))
}

async fn delete(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path((kb_id, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (kb_id, id) = (parse_knowledge_base_id(&kb_id)?, parse_document_id(&id)?);
    state.store.delete_document(auth.workspace_id, kb_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn parse_document_id(id: &str) -> Result<DocumentId, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound("document"))
}

pub fn document_json(d: &Document) -> Value {
    json!({
        "id": d.id,
        "knowledge_base_id": d.knowledge_base_id,
        "title": d.title,
        "format": d.format.as_str(),
        "status": d.status.as_str(),
        "chunk_count": d.chunk_count,
        "content_chars": d.content_chars,
        "created_at": d.created_at.format(&Rfc3339).unwrap_or_default(),
    })
}
