//! `POST /api/v1/assistants` and `GET /api/v1/assistants/{id}`.

use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use confab_domain::assistant::parse_assistant_name;
use confab_domain::{Assistant, AssistantId, InactivityTimeout, KnowledgeBaseId, ResponseDelay, Temperature, ToolName};
use confab_storage::NewAssistant;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

pub fn router() -> Router<AppState> {
    Router::new().route("/assistants", post(create)).route("/assistants/{id}", get(read))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAssistant {
    name: String,
    system_prompt: String,
    first_message: Option<String>,
    fallback_message: Option<String>,
    response_delay_ms: Option<i64>,
    inactivity_timeout_minutes: Option<i64>,
    timezone: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    temperature: Option<f64>,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    knowledge_base_ids: Vec<KnowledgeBaseId>,
    extraction_schema: Option<Value>,
}

async fn create(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<CreateAssistant>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut errors = FieldErrors::default();
    let name = errors.check(parse_assistant_name(&body.name));
    if body.system_prompt.trim().is_empty() || body.system_prompt.len() > 100_000 {
        errors.push("system_prompt", "system_prompt must be 1 to 100000 characters");
    }
    let response_delay = errors.check(ResponseDelay::from_millis(body.response_delay_ms.unwrap_or(0)));
    let inactivity_timeout = errors.check(
        body.inactivity_timeout_minutes.map_or(Ok(InactivityTimeout::default()), InactivityTimeout::from_minutes),
    );
    let temperature = errors.check(body.temperature.map(Temperature::new).transpose());
    let tools = errors.check(body.tools.iter().map(|t| ToolName::parse(t)).collect::<Result<Vec<_>, _>>());
    let timezone = body.timezone.unwrap_or_else(|| "UTC".into());
    if !is_plausible_timezone(&timezone) {
        errors.push("timezone", "timezone must be an IANA name such as Europe/Madrid or UTC");
    }
    if body.provider.as_deref().is_some_and(|p| !matches!(p, "openai" | "anthropic")) {
        errors.push("provider", "provider must be openai or anthropic");
    }
    let extraction_schema = body.extraction_schema.unwrap_or_else(|| json!({}));
    if !extraction_schema.is_object() {
        errors.push("extraction_schema", "extraction_schema must be a JSON object");
    }
    errors.finish()?;
    let (Some(name), Some(response_delay), Some(inactivity_timeout), Some(temperature), Some(tools)) =
        (name, response_delay, inactivity_timeout, temperature, tools)
    else {
        return Err(ApiError::BadRequest("invalid assistant".into()));
    };
    let assistant = state
        .store
        .create_assistant(NewAssistant {
            workspace_id: auth.workspace_id,
            name,
            system_prompt: body.system_prompt,
            first_message: body.first_message,
            fallback_message: body.fallback_message,
            response_delay,
            inactivity_timeout,
            timezone,
            provider: body.provider,
            model: body.model,
            temperature,
            tools,
            knowledge_base_ids: body.knowledge_base_ids,
            extraction_schema,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(assistant_json(&assistant))))
}

async fn read(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: AssistantId = id.parse().map_err(|_| ApiError::NotFound("assistant"))?;
    Ok(Json(assistant_json(&state.store.get_assistant(auth.workspace_id, id).await?)))
}

fn is_plausible_timezone(tz: &str) -> bool {
    !tz.is_empty()
        && tz.len() <= 64
        && tz
            .split('/')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b)))
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
    })
}
