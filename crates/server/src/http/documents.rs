//! `/api/v1/knowledge-bases/{id}/documents`: add a plain-text or Markdown document (split into
//! passages and searchable when the call returns), list, read (with its text) and delete.

use super::api_schemas::{self, ErrorBody, ValidationErrorBody};
use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::knowledge_bases::parse_knowledge_base_id;
use super::path_param::ApiPath;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use confab_domain::knowledge::parse_document_title;
use confab_domain::{Document, DocumentFormat, DocumentId, KnowledgeBaseId, WorkspaceId};
use confab_engine::chunking::chunk_document;
use confab_storage::NewDocument;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest document text accepted, in bytes (bodies above the server's `max_body_bytes`
/// are refused with 413 before this).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, delete))
}

/// The body of `POST`: every field is required (the handler checks that itself, to name
/// every missing one at once).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocumentBody {
    /// 1 to 200 characters.
    #[schema(required = true, min_length = 1, max_length = 200, pattern = r"\S")]
    pub(crate) title: Option<String>,
    #[schema(required = true, value_type = api_schemas::DocumentFormat)]
    pub(crate) format: Option<String>,
    /// The text, at most 1 MiB.
    #[schema(required = true, min_length = 1, max_length = 1048576, pattern = r"\S")]
    pub(crate) content: Option<String>,
}

/// Adds a document: split into passages and searchable when the call returns.
#[utoipa::path(post, path = "/knowledge-bases/{id}/documents", tag = "knowledge bases", request_body = DocumentBody,
    params(("id" = uuid::Uuid, Path, description = "The knowledge base's id")),
    responses(
        (status = 201, description = "Added", body = api_schemas::Document),
        (status = 404, description = "No such knowledge base in this workspace", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(kb_id): ApiPath<String>,
    ApiJson(body): ApiJson<DocumentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let kb_id = parse_knowledge_base_id(&kb_id)?;
    let document = add_in(&state, auth.workspace_id, kb_id, body).await?;
    Ok((StatusCode::CREATED, Json(document_json(&document))))
}

/// Checks `body` and adds the document to knowledge base `kb_id` of `workspace_id`, split into
/// passages (also the dashboard's knowledge page).
pub(crate) async fn add_in(
    state: &AppState,
    workspace_id: WorkspaceId,
    kb_id: KnowledgeBaseId,
    body: DocumentBody,
) -> Result<Document, ApiError> {
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
    state.store.get_knowledge_base(workspace_id, kb_id).await?;
    errors.finish()?;
    let (Some(title), Some(format), Some(content)) = (title, format, content) else {
        return Err(ApiError::BadRequest("invalid document".into()));
    };
    let chunks = chunk_document(format, &content);
    Ok(state
        .store
        .add_document(workspace_id, NewDocument { knowledge_base_id: kb_id, title, format, content, chunks })
        .await?)
}

/// A knowledge base's documents (without their text).
#[utoipa::path(get, path = "/knowledge-bases/{id}/documents", tag = "knowledge bases",
    params(("id" = uuid::Uuid, Path, description = "The knowledge base's id")),
    responses(
        (status = 200, description = "Every document", body = api_schemas::DocumentList),
        (status = 404, description = "No such knowledge base in this workspace", body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(kb_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let kb_id = parse_knowledge_base_id(&kb_id)?;
    let documents = state.store.list_documents(auth.workspace_id, kb_id).await?;
    Ok(Json(json!({ "items": documents.iter().map(document_json).collect::<Vec<_>>() })))
}

/// One document with its text.
#[utoipa::path(get, path = "/knowledge-bases/{id}/documents/{document_id}", tag = "knowledge bases",
    params(("id" = uuid::Uuid, Path, description = "The knowledge base's id"), ("document_id" = uuid::Uuid, Path, description = "The document's id")),
    responses(
        (status = 200, description = "The document", body = api_schemas::DocumentWithContent),
        (status = 404, description = "No such knowledge base or document in this workspace", body = ErrorBody),
    ))]
async fn read(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath((kb_id, id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (kb_id, id) = (parse_knowledge_base_id(&kb_id)?, parse_document_id(&id)?);
    let found = state.store.get_document(auth.workspace_id, kb_id, id).await?;
    let mut body = document_json(&found.document);
    body["content"] = json!(found.content);
    Ok(Json(body))
}

/// Deletes a document and its passages.
#[utoipa::path(delete, path = "/knowledge-bases/{id}/documents/{document_id}", tag = "knowledge bases",
    params(("id" = uuid::Uuid, Path, description = "The knowledge base's id"), ("document_id" = uuid::Uuid, Path, description = "The document's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such knowledge base or document in this workspace", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath((kb_id, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (kb_id, id) = (parse_knowledge_base_id(&kb_id)?, parse_document_id(&id)?);
    state.store.delete_document(auth.workspace_id, kb_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn parse_document_id(id: &str) -> Result<DocumentId, ApiError> {
    super::path_param::resource_id(id, "document")
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
