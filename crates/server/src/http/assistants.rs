//! `/api/v1/assistants`: create, list, read, partial update and (soft) delete. Create and
//! update share one body type and one parser, so the rules cannot drift apart.

use super::api_schemas::{self, ErrorBody, ValidationErrorBody};
use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::path_param::ApiPath;
use super::{ApiError, ApiKeyAuth};
use crate::config::Settings;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use confab_domain::assistant::parse_assistant_name;
use confab_domain::data_field::parse_data_fields;
use confab_domain::timezone::parse_timezone;
use confab_domain::{
    AfterEnd, Assistant, AssistantId, Availability, InactivityTimeout, KnowledgeBaseId, KnowledgeMode, ResponseDelay,
    Temperature, ToolName, WorkspaceId,
};
use confab_storage::{AssistantChanges, NewAssistant, StoreError, ASSISTANT_IN_USE};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, update, delete))
}

/// The body of both `POST` (where `name` and `system_prompt` are required) and `PATCH` (where
/// every field is optional, and `null` clears an optional one).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssistantBody {
    /// Required on create; 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub(crate) name: Option<String>,
    /// Required on create; 1 to 100000 characters.
    #[schema(min_length = 1, max_length = 100000, pattern = r"\S")]
    pub(crate) system_prompt: Option<String>,
    /// Sent when a conversation starts.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub(crate) first_message: Option<Option<String>>,
    /// Sent when the model fails.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub(crate) fallback_message: Option<Option<String>>,
    /// How long to wait for more customer messages before answering.
    #[schema(minimum = 0, maximum = 300000)]
    pub(crate) response_delay_ms: Option<i64>,
    /// Minutes without messages after which the conversation ends.
    #[schema(minimum = 1, maximum = 1440)]
    pub(crate) inactivity_timeout_minutes: Option<i64>,
    /// An IANA name such as `Europe/Madrid`.
    #[schema(max_length = 64, pattern = r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")]
    pub(crate) timezone: Option<String>,
    /// `null` for the server's default. Besides these two, the name of a provider the
    /// server configures in `llm_providers`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<api_schemas::LlmProvider>)]
    pub(crate) provider: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub(crate) model: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 2)]
    pub(crate) temperature: Option<Option<f64>>,
    /// Built-in tool names and the names of the workspace's HTTP tools (`/api/v1/tools`).
    pub(crate) tools: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    pub(crate) knowledge_base_ids: Option<Vec<KnowledgeBaseId>>,
    /// What to extract from ended conversations: `{"fields": [{"name", "type", "description"}]}`.
    #[schema(value_type = Option<api_schemas::ExtractionSchema>)]
    pub(crate) extraction_schema: Option<Value>,
    #[schema(value_type = Option<api_schemas::KnowledgeMode>)]
    pub(crate) knowledge_mode: Option<String>,
    #[schema(value_type = Option<api_schemas::AfterEnd>)]
    pub(crate) after_end: Option<String>,
    /// The fields `collect_data` asks the customer for (at most 30).
    #[schema(value_type = Option<Vec<api_schemas::DataField>>, max_items = 30)]
    pub(crate) data_fields: Option<Value>,
    /// When `schedule_appointment` may book; `null` for no appointments.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<api_schemas::Availability>)]
    pub(crate) availability: Option<Option<Value>>,
}

/// The body of `POST`, for the document: `AssistantBody` with `name` and `system_prompt`
/// required (the handler checks that itself).
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // described only
pub(super) struct NewAssistantBody {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    #[schema(min_length = 1, max_length = 100000, pattern = r"\S")]
    system_prompt: String,
    #[serde(flatten)]
    rest: AssistantBody,
}

/// A present field (`null` included) is `Some`; an absent one stays `None` through `default`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl AssistantBody {
    /// Checks every field given, noting each problem in `errors`; the fields that are valid
    /// come back as changes.
    fn parse(self, errors: &mut FieldErrors) -> AssistantChanges {
        let name = self.name.and_then(|n| errors.check(parse_assistant_name(&n)));
        if self.system_prompt.as_ref().is_some_and(|p| p.trim().is_empty() || p.len() > 100_000) {
            errors.push("system_prompt", "system_prompt must be 1 to 100000 characters");
        }
        let response_delay = self.response_delay_ms.and_then(|ms| errors.check(ResponseDelay::from_millis(ms)));
        let inactivity_timeout =
            self.inactivity_timeout_minutes.and_then(|m| errors.check(InactivityTimeout::from_minutes(m)));
        let temperature = self.temperature.and_then(|t| errors.check(t.map(Temperature::new).transpose()));
        let tools = self
            .tools
            .and_then(|tools| errors.check(tools.iter().map(|t| ToolName::parse(t)).collect::<Result<Vec<_>, _>>()));
        let timezone =
            self.timezone.and_then(|tz| errors.check(parse_timezone("timezone", &tz)).map(|_| tz.trim().to_string()));
        if let Some(schema) = &self.extraction_schema {
            errors.check(confab_domain::extraction::parse_extraction_schema(schema));
        }
        let knowledge_mode = self.knowledge_mode.and_then(|m| errors.check(KnowledgeMode::parse(&m)));
        let after_end = self.after_end.and_then(|m| errors.check(AfterEnd::parse(&m)));
        AssistantChanges {
            name,
            system_prompt: self.system_prompt,
            first_message: self.first_message,
            fallback_message: self.fallback_message,
            response_delay,
            inactivity_timeout,
            timezone,
            provider: self.provider,
            model: self.model,
            temperature,
            tools,
            knowledge_base_ids: self.knowledge_base_ids,
            extraction_schema: self.extraction_schema,
            knowledge_mode,
            after_end,
            data_fields: self.data_fields.and_then(|fields| errors.check(parse_data_fields(&fields))),
            availability: self.availability.and_then(|a| errors.check(a.as_ref().map(Availability::parse).transpose())),
        }
    }
}

/// An assistant may name `openai`, `anthropic` or one of the providers this server
/// configures (`llm_providers`).
fn check_provider(settings: &Settings, changes: &AssistantChanges, errors: &mut FieldErrors) {
    let Some(Some(provider)) = &changes.provider else { return };
    if !matches!(provider.as_str(), "openai" | "anthropic") && !settings.llm_providers.contains_key(provider) {
        let mut known: Vec<&str> = vec!["openai", "anthropic"];
        known.extend(settings.llm_providers.keys().map(String::as_str));
        errors.push("provider", format!("provider must be one of {} (configured in llm_providers)", known.join(", ")));
    }
}

/// Creates an assistant (`name` and `system_prompt` are required).
#[utoipa::path(post, path = "/assistants", tag = "assistants", request_body = NewAssistantBody, responses(
    (status = 201, description = "Created", body = api_schemas::Assistant),
    (status = 409, description = "It would duplicate an existing record", body = ErrorBody),
    (status = 422, description = "Invalid fields", body = ValidationErrorBody),
))]
async fn create(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<AssistantBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let assistant = create_in(&state, auth.workspace_id, body).await?;
    Ok((StatusCode::CREATED, Json(assistant_json(&assistant))))
}

/// Checks `body` (name and system prompt required) and creates the assistant in `workspace_id`
/// with defaults for what it leaves out (also the dashboard's assistant form).
pub(crate) async fn create_in(
    state: &AppState,
    workspace_id: confab_domain::WorkspaceId,
    body: AssistantBody,
) -> Result<Assistant, ApiError> {
    let mut errors = FieldErrors::default();
    let (has_name, has_prompt) = (body.name.is_some(), body.system_prompt.is_some());
    let changes = body.parse(&mut errors);
    check_provider(&state.settings, &changes, &mut errors);
    super::http_tools::check_enabled_tools(state, workspace_id, changes.tools.as_deref(), &mut errors).await?;
    if !has_name {
        errors.push("name", "name is required");
    }
    if !has_prompt {
        errors.push("system_prompt", "system_prompt is required");
    }
    check_knowledge_bases(state, workspace_id, changes.knowledge_base_ids.as_deref(), &mut errors).await?;
    errors.finish()?;
    let (Some(name), Some(system_prompt)) = (changes.name.clone(), changes.system_prompt.clone()) else {
        return Err(ApiError::BadRequest("invalid assistant".into()));
    };
    // the defaults of a new assistant, with what the caller gave on top
    let defaults = NewAssistant::new(workspace_id, name, system_prompt);
    Ok(state
        .store
        .create_assistant(NewAssistant {
            first_message: changes.first_message.flatten(),
            fallback_message: changes.fallback_message.flatten(),
            response_delay: changes.response_delay.unwrap_or(defaults.response_delay),
            inactivity_timeout: changes.inactivity_timeout.unwrap_or(defaults.inactivity_timeout),
            timezone: changes.timezone.unwrap_or(defaults.timezone.clone()),
            provider: changes.provider.flatten(),
            model: changes.model.flatten(),
            temperature: changes.temperature.flatten(),
            tools: changes.tools.unwrap_or_default(),
            knowledge_base_ids: changes.knowledge_base_ids.unwrap_or_default(),
            extraction_schema: changes.extraction_schema.unwrap_or(defaults.extraction_schema.clone()),
            knowledge_mode: changes.knowledge_mode.unwrap_or(defaults.knowledge_mode),
            after_end: changes.after_end.unwrap_or(defaults.after_end),
            data_fields: changes.data_fields.unwrap_or_default(),
            availability: changes.availability.flatten(),
            ..defaults
        })
        .await?)
}

/// The workspace's assistants.
#[utoipa::path(get, path = "/assistants", tag = "assistants",
    responses((status = 200, description = "Every assistant", body = api_schemas::AssistantList)))]
async fn list(State(state): State<AppState>, auth: ApiKeyAuth) -> Result<Json<Value>, ApiError> {
    let assistants = state.store.list_assistants(auth.workspace_id).await?;
    Ok(Json(json!({ "items": assistants.iter().map(assistant_json).collect::<Vec<_>>() })))
}

/// One assistant.
#[utoipa::path(get, path = "/assistants/{id}", tag = "assistants",
    params(("id" = uuid::Uuid, Path, description = "The assistant's id")),
    responses(
        (status = 200, description = "The assistant", body = api_schemas::Assistant),
        (status = 404, description = "No such assistant in this workspace", body = ErrorBody),
    ))]
async fn read(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(assistant_json(&state.store.get_assistant(auth.workspace_id, id).await?)))
}

/// Changes the fields given; `null` clears an optional one.
#[utoipa::path(patch, path = "/assistants/{id}", tag = "assistants", request_body = AssistantBody,
    params(("id" = uuid::Uuid, Path, description = "The assistant's id")),
    responses(
        (status = 200, description = "The updated assistant", body = api_schemas::Assistant),
        (status = 404, description = "No such assistant in this workspace", body = ErrorBody),
        (status = 409, description = "It would duplicate an existing record", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ValidationErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AssistantBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(assistant_json(&update_in(&state, auth.workspace_id, id, body).await?)))
}

/// Checks `body` and applies the fields it gives (also the dashboard's assistant form).
pub(crate) async fn update_in(
    state: &AppState,
    workspace_id: confab_domain::WorkspaceId,
    id: AssistantId,
    body: AssistantBody,
) -> Result<Assistant, ApiError> {
    let mut errors = FieldErrors::default();
    let changes = body.parse(&mut errors);
    check_provider(&state.settings, &changes, &mut errors);
    check_knowledge_bases(state, workspace_id, changes.knowledge_base_ids.as_deref(), &mut errors).await?;
    super::http_tools::check_enabled_tools(state, workspace_id, changes.tools.as_deref(), &mut errors).await?;
    errors.finish()?;
    Ok(state.store.update_assistant(workspace_id, id, changes).await?)
}

/// Deletes an assistant no sender uses (its conversations keep it, soft-deleted).
#[utoipa::path(delete, path = "/assistants/{id}", tag = "assistants",
    params(("id" = uuid::Uuid, Path, description = "The assistant's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such assistant in this workspace", body = ErrorBody),
        (status = 409, description = "`assistant_in_use`: a sender still uses it", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    match state.store.delete_assistant(auth.workspace_id, id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::Conflict { constraint }) if constraint == ASSISTANT_IN_USE => Err(ApiError::Conflict {
            code: "assistant_in_use",
            message: "a sender still uses this assistant: link the sender to another assistant or delete it first"
                .into(),
        }),
        Err(err) => Err(err.into()),
    }
}

/// Notes a field error unless every id is one of the workspace's knowledge bases (at most
/// [`MAX_KNOWLEDGE_BASES`], no repeats).
async fn check_knowledge_bases(
    state: &AppState,
    workspace_id: WorkspaceId,
    ids: Option<&[KnowledgeBaseId]>,
    errors: &mut FieldErrors,
) -> Result<(), ApiError> {
    let Some(ids) = ids else { return Ok(()) };
    if ids.len() > MAX_KNOWLEDGE_BASES {
        errors
            .push("knowledge_base_ids", format!("an assistant can use at most {MAX_KNOWLEDGE_BASES} knowledge bases"));
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(*id) {
            errors.push("knowledge_base_ids", format!("knowledge base {id} is listed twice"));
            return Ok(());
        }
        match state.store.get_knowledge_base(workspace_id, *id).await {
            Ok(_) => {}
            Err(StoreError::NotFound(_)) => {
                errors.push(
                    "knowledge_base_ids",
                    format!("knowledge base {id} does not exist in this workspace: create it first with POST /api/v1/knowledge-bases"),
                );
                return Ok(());
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// The most knowledge bases one assistant may use.
const MAX_KNOWLEDGE_BASES: usize = 20;

fn parse_id(id: &str) -> Result<AssistantId, ApiError> {
    super::path_param::resource_id(id, "assistant")
}

pub fn assistant_json(a: &Assistant) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "system_prompt": a.system_prompt,
        "first_message": a.first_message,
        "fallback_message": a.fallback_message,
        "response_delay_ms": a.response_delay.as_millis(),
        "inactivity_timeout_minutes": a.inactivity_timeout.as_minutes(),
        "timezone": a.timezone,
        "provider": a.provider,
        "model": a.model,
        "temperature": a.temperature.map(Temperature::value),
        "tools": a.tools,
        "knowledge_base_ids": a.knowledge_base_ids,
        "extraction_schema": a.extraction_schema,
        "created_at": a.created_at.format(&Rfc3339).unwrap_or_default(),
        "updated_at": a.updated_at.format(&Rfc3339).unwrap_or_default(),
        "knowledge_mode": a.knowledge_mode.as_str(),
        "after_end": a.after_end.as_str(),
        "data_fields": a.data_fields,
        "availability": a.availability,
    })
}
