//! `/api/v1/tools`: the workspace's HTTP tools — create, list, read, partial update, delete.
//! Header values are write-only: answers show each header's name with `"***"`. A `PATCH` that
//! gives `headers` replaces them all (send every value again). Also the check assistants use:
//! every tool name they enable is built in or one of the workspace's HTTP tools.

use super::api_schemas::{self, ErrorBody, ValidationErrorBody};
use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::path_param::ApiPath;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use confab_domain::http_tool::{parse_http_tool_description, parse_http_tool_name};
use confab_domain::tool::BUILT_IN_TOOLS;
use confab_domain::{
    HttpMethod, HttpTool, HttpToolDefinition, HttpToolHeaders, HttpToolId, HttpToolTimeout, ParameterSchema, ToolName,
    UrlTemplate, WorkspaceId,
};
use confab_storage::{StoreError, HTTP_TOOL_NAME_TAKEN};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, update, delete))
}

/// The body of both `POST` (name, description and url required; method GET, no headers, no
/// parameters and a 10 s timeout by default) and `PATCH` (every field optional).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpToolBody {
    /// What the model calls it: 1 to 64 letters, digits, `_` or `-`, not a built-in tool's name.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub(crate) name: Option<String>,
    /// When to call it, for the model: 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub(crate) description: Option<String>,
    #[schema(value_type = Option<api_schemas::HttpMethod>)]
    pub(crate) method: Option<String>,
    /// `http://` or `https://`, at most 2048 characters; `{name}` is filled with the argument
    /// of that name (which `parameters` must declare).
    #[schema(max_length = 2048, pattern = r"^https?://[^/?#{}@\s]+[^#\s]*$")]
    pub(crate) url: Option<String>,
    /// Sent with every call (at most 20); write-only. A `PATCH` that gives them replaces them all.
    pub(crate) headers: Option<BTreeMap<String, String>>,
    /// A JSON Schema object of the tool's arguments (`{"type": "object", "properties": …}`).
    #[schema(value_type = Option<Object>)]
    pub(crate) parameters: Option<Value>,
    #[schema(minimum = 1, maximum = 30)]
    pub(crate) timeout_secs: Option<i64>,
}

/// The body of `POST`, for the document: `HttpToolBody` with name, description and url
/// required (the handler checks that itself).
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // described only
pub(super) struct NewHttpToolBody {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    name: String,
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    description: String,
    #[schema(max_length = 2048, pattern = r"^https?://[^/?#{}@\s]+[^#\s]*$")]
    url: String,
    #[serde(flatten)]
    rest: HttpToolBody,
}

/// Each field given, checked; `None` for a field absent or invalid (then noted in `errors`).
struct HttpToolChanges {
    name: Option<ToolName>,
    description: Option<String>,
    method: Option<HttpMethod>,
    url: Option<UrlTemplate>,
    headers: Option<HttpToolHeaders>,
    parameters: Option<ParameterSchema>,
    timeout: Option<HttpToolTimeout>,
}

impl HttpToolBody {
    fn parse(self, errors: &mut FieldErrors) -> HttpToolChanges {
        HttpToolChanges {
            name: self.name.and_then(|n| errors.check(parse_http_tool_name(&n))),
            description: self.description.and_then(|d| errors.check(parse_http_tool_description(&d))),
            method: self.method.and_then(|m| errors.check(HttpMethod::parse(&m))),
            url: self.url.and_then(|u| errors.check(UrlTemplate::parse(&u))),
            headers: self.headers.and_then(|h| errors.check(HttpToolHeaders::parse(h))),
            parameters: self.parameters.and_then(|p| errors.check(ParameterSchema::parse(p))),
            timeout: self.timeout_secs.and_then(|t| errors.check(HttpToolTimeout::from_secs(t))),
        }
    }
}

/// Creates an HTTP tool.
#[utoipa::path(post, path = "/tools", tag = "tools", request_body = NewHttpToolBody, responses(
    (status = 201, description = "Created", body = api_schemas::HttpTool),
        (status = 409, description = "`tool_name_taken`: the workspace has a tool of that name", body = ErrorBody),
    (status = 422, description = "Invalid fields", body = ValidationErrorBody),
))]
async fn create(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<HttpToolBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tool = create_in(&state, auth.workspace_id, body).await?;
    Ok((StatusCode::CREATED, Json(http_tool_json(&tool))))
}

/// Checks `body` (name, description and url required) and creates the tool in `workspace_id`
/// (also the dashboard's tools page).
pub(crate) async fn create_in(
    state: &AppState,
    workspace_id: WorkspaceId,
    body: HttpToolBody,
) -> Result<HttpTool, ApiError> {
    let mut errors = FieldErrors::default();
    let required =
        [("name", body.name.is_some()), ("description", body.description.is_some()), ("url", body.url.is_some())];
    let changes = body.parse(&mut errors);
    for (field, given) in required {
        if !given {
            errors.push(field, format!("{field} is required"));
        }
    }
    let (Some(name), Some(description), Some(url)) = (changes.name, changes.description, changes.url) else {
        errors.finish()?;
        return Err(ApiError::BadRequest("invalid HTTP tool".into()));
    };
    let definition = HttpToolDefinition {
        name,
        description,
        method: changes.method.unwrap_or(HttpMethod::Get),
        url,
        headers: changes.headers.unwrap_or_default(),
        parameters: changes.parameters.unwrap_or_else(ParameterSchema::empty),
        timeout: changes.timeout.unwrap_or_default(),
    };
    errors.check(definition.check());
    errors.finish()?;
    state.store.create_http_tool(workspace_id, definition).await.map_err(name_taken)
}

/// The workspace's HTTP tools.
#[utoipa::path(get, path = "/tools", tag = "tools",
    responses((status = 200, description = "Every HTTP tool", body = api_schemas::HttpToolList)))]
async fn list(State(state): State<AppState>, auth: ApiKeyAuth) -> Result<Json<Value>, ApiError> {
    let tools = state.store.list_http_tools(auth.workspace_id).await?;
    Ok(Json(json!({ "items": tools.iter().map(http_tool_json).collect::<Vec<_>>() })))
}

/// One HTTP tool.
#[utoipa::path(get, path = "/tools/{id}", tag = "tools",
    params(("id" = uuid::Uuid, Path, description = "The tool's id")),
    responses(
        (status = 200, description = "The tool", body = api_schemas::HttpTool),
        (status = 404, description = "No such HTTP tool in this workspace", body = ErrorBody),
    ))]
async fn read(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(http_tool_json(&state.store.get_http_tool(auth.workspace_id, id).await?)))
}

/// Changes the fields given; `headers`, when given, replace them all.
#[utoipa::path(patch, path = "/tools/{id}", tag = "tools", request_body = HttpToolBody,
    params(("id" = uuid::Uuid, Path, description = "The tool's id")),
    responses(
        (status = 200, description = "The updated tool", body = api_schemas::HttpTool),
        (status = 404, description = "No such HTTP tool in this workspace", body = ErrorBody),
        (status = 409, description = "`tool_name_taken`: the workspace has a tool of that name", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<HttpToolBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(http_tool_json(&update_in(&state, auth.workspace_id, id, body).await?)))
}

/// Checks the fields `body` gives and changes them on tool `id` of `workspace_id` (also the
/// dashboard's tools page).
pub(crate) async fn update_in(
    state: &AppState,
    workspace_id: WorkspaceId,
    id: HttpToolId,
    body: HttpToolBody,
) -> Result<HttpTool, ApiError> {
    let mut errors = FieldErrors::default();
    let changes = body.parse(&mut errors);
    errors.finish()?;
    let current = state.store.get_http_tool(workspace_id, id).await?.definition;
    let definition = HttpToolDefinition {
        name: changes.name.unwrap_or(current.name),
        description: changes.description.unwrap_or(current.description),
        method: changes.method.unwrap_or(current.method),
        url: changes.url.unwrap_or(current.url),
        headers: changes.headers.unwrap_or(current.headers),
        parameters: changes.parameters.unwrap_or(current.parameters),
        timeout: changes.timeout.unwrap_or(current.timeout),
    };
    definition.check()?;
    state.store.update_http_tool(workspace_id, id, definition).await.map_err(name_taken)
}

/// Deletes an HTTP tool (assistants that enable it no longer get it).
#[utoipa::path(delete, path = "/tools/{id}", tag = "tools",
    params(("id" = uuid::Uuid, Path, description = "The tool's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such HTTP tool in this workspace", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    state.store.delete_http_tool(auth.workspace_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn parse_id(id: &str) -> Result<HttpToolId, ApiError> {
    super::path_param::resource_id(id, "http tool")
}

fn name_taken(err: StoreError) -> ApiError {
    if err.is_conflict_on(HTTP_TOOL_NAME_TAKEN, "http_tools.workspace_id, http_tools.name") {
        ApiError::Conflict {
            code: "tool_name_taken",
            message: "this workspace already has an HTTP tool of that name: choose another or update that one".into(),
        }
    } else {
        err.into()
    }
}

/// A tool as the API shows it: header values replaced by `"***"`.
pub fn http_tool_json(tool: &HttpTool) -> Value {
    let d = &tool.definition;
    let headers: serde_json::Map<String, Value> =
        d.headers.names().map(|name| (name.to_string(), json!("***"))).collect();
    json!({
        "id": tool.id,
        "name": d.name,
        "description": d.description,
        "method": d.method.as_str(),
        "url": d.url.as_str(),
        "headers": headers,
        "parameters": d.parameters.as_value(),
        "timeout_secs": d.timeout.as_secs(),
        "created_at": tool.created_at.format(&Rfc3339).unwrap_or_default(),
        "updated_at": tool.updated_at.format(&Rfc3339).unwrap_or_default(),
    })
}

/// Notes on `tools` every name that is neither built in nor one of the workspace's HTTP tools.
pub async fn check_enabled_tools(
    state: &AppState,
    workspace_id: WorkspaceId,
    tools: Option<&[ToolName]>,
    errors: &mut FieldErrors,
) -> Result<(), ApiError> {
    let unknown: Vec<&ToolName> =
        tools.unwrap_or_default().iter().filter(|name| !BUILT_IN_TOOLS.contains(&name.as_str())).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let http_tools = state.store.list_http_tools(workspace_id).await?;
    for name in unknown {
        if !http_tools.iter().any(|tool| tool.definition.name == *name) {
            errors.push(
                "tools",
                format!(
                    "`{name}` is neither a built-in tool ({}) nor one of this workspace's HTTP tools (POST /api/v1/tools)",
                    BUILT_IN_TOOLS.join(", ")
                ),
            );
        }
    }
    Ok(())
}
