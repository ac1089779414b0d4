//! Settings → Assistants → new / edit (`/settings/assistants/new`, `/settings/assistants/{id}/edit`):
//! the prompt editor and the assistant's model, provider, temperature, tools, response delay,
//! inactivity timeout, time zone, extraction schema, first and fallback messages. Admins and
//! owners save through the API's own checks (`http::assistants`), so the rules cannot drift.

use super::page::{render, require_admin, Layout, PageError};
use super::session::CurrentUser;
use crate::http::assistants::{create_in, update_in, AssistantBody};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use confab_domain::{Assistant, AssistantId, Temperature};
use serde::Deserialize;

/// The form's fields as text, as the browser sends them and as the page shows them again.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssistantFields {
    pub name: String,
    pub system_prompt: String,
    pub first_message: String,
    pub fallback_message: String,
    pub provider: String,
    pub model: String,
    pub temperature: String,
    /// Tool names, separated by commas.
    pub tools: String,
    pub response_delay_ms: String,
    pub inactivity_timeout_minutes: String,
    pub timezone: String,
    pub extraction_schema: String,
}

impl AssistantFields {
    fn of(a: &Assistant) -> Self {
        Self {
            name: a.name.clone(),
            system_prompt: a.system_prompt.clone(),
            first_message: a.first_message.clone().unwrap_or_default(),
            fallback_message: a.fallback_message.clone().unwrap_or_default(),
            provider: a.provider.clone().unwrap_or_default(),
            model: a.model.clone().unwrap_or_default(),
            temperature: a.temperature.map(|t| Temperature::value(t).to_string()).unwrap_or_default(),
            tools: a.tools.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            response_delay_ms: a.response_delay.as_millis().to_string(),
            inactivity_timeout_minutes: a.inactivity_timeout.as_minutes().to_string(),
            timezone: a.timezone.clone(),
            extraction_schema: serde_json::to_string_pretty(&a.extraction_schema).unwrap_or_default(),
        }
    }

    /// The API body these fields mean: an empty optional text clears it; the numbers and the
    /// schema must parse (else the messages saying why).
    fn body(&self) -> Result<AssistantBody, Vec<String>> {
        let mut problems = Vec::new();
        let optional = |v: &str| Some(Some(v.trim().to_string()).filter(|v| !v.is_empty()));
        let mut number = |field: &str, v: &str| -> Option<i64> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            v.parse().map_err(|_| problems.push(format!("{field} must be a whole number"))).ok()
        };
        let response_delay_ms = number("Response delay", &self.response_delay_ms);
        let inactivity_timeout_minutes = number("Inactivity timeout", &self.inactivity_timeout_minutes);
        let temperature = match self.temperature.trim() {
            "" => Some(None),
            t => match t.parse::<f64>() {
                Ok(t) => Some(Some(t)),
                Err(_) => {
                    problems.push("Temperature must be a number such as 0.7".into());
                    None
                }
            },
        };
        let extraction_schema = match self.extraction_schema.trim() {
            "" => Some(serde_json::json!({})),
            text => match serde_json::from_str(text) {
                Ok(schema) => Some(schema),
                Err(e) => {
                    problems.push(format!("The extraction schema is not JSON: {e}"));
                    None
                }
            },
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(AssistantBody {
            name: Some(self.name.trim().to_string()),
            system_prompt: Some(self.system_prompt.clone()),
            first_message: optional(&self.first_message),
            fallback_message: optional(&self.fallback_message),
            response_delay_ms,
            inactivity_timeout_minutes,
            timezone: Some(self.timezone.trim().to_string()).filter(|t| !t.is_empty()),
            provider: optional(&self.provider),
            model: optional(&self.model),
            temperature,
            tools: Some(self.tools.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()),
            knowledge_base_ids: None,
            extraction_schema,
            knowledge_mode: None,
            after_end: None,
            data_fields: None,
            availability: None,
        })
    }
}

#[derive(Template)]
#[template(path = "assistant_form.html")]
struct AssistantFormPage {
    layout: Layout,
    /// Where the form posts: `/settings/assistants` or `/settings/assistants/{id}`.
    action: String,
    heading: String,
    f: AssistantFields,
    error: Option<String>,
    /// `openai`, `anthropic` and the providers this server configures by name.
    providers: Vec<String>,
}

fn form_page(
    state: &AppState,
    current: &CurrentUser,
    id: Option<AssistantId>,
    f: AssistantFields,
    error: Option<String>,
) -> AssistantFormPage {
    let (action, heading) = match id {
        Some(id) => (format!("/settings/assistants/{id}"), format!("Edit {}", f.name)),
        None => ("/settings/assistants".to_string(), "New assistant".to_string()),
    };
    let providers = ["openai".to_string(), "anthropic".to_string()]
        .into_iter()
        .chain(state.settings.llm_providers.keys().cloned())
        .collect();
    AssistantFormPage {
        layout: Layout::new(state, current, "settings", heading.clone()),
        action,
        heading,
        f,
        error,
        providers,
    }
}

pub async fn new(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let fields = AssistantFields {
        response_delay_ms: "0".into(),
        inactivity_timeout_minutes: "30".into(),
        timezone: "UTC".into(),
        ..Default::default()
    };
    Ok(render(StatusCode::OK, &form_page(&state, &current, None, fields, None)))
}

pub async fn edit(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let id: AssistantId = id.parse().map_err(|_| PageError::NotFound("assistant"))?;
    let assistant = state.store.get_assistant(current.user.workspace_id, id).await?;
    Ok(render(StatusCode::OK, &form_page(&state, &current, Some(id), AssistantFields::of(&assistant), None)))
}

/// `POST /settings/assistants`
pub async fn create(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Form(fields): Form<AssistantFields>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    save(&state, &current, None, fields).await
}

/// `POST /settings/assistants/{id}`
pub async fn update(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(fields): Form<AssistantFields>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let id: AssistantId = id.parse().map_err(|_| PageError::NotFound("assistant"))?;
    save(&state, &current, Some(id), fields).await
}

async fn save(
    state: &AppState,
    current: &CurrentUser,
    id: Option<AssistantId>,
    fields: AssistantFields,
) -> Result<Response, PageError> {
    let again = |fields: AssistantFields, message: String| {
        render(StatusCode::UNPROCESSABLE_ENTITY, &form_page(state, current, id, fields, Some(message)))
    };
    let body = match fields.body() {
        Ok(body) => body,
        Err(problems) => return Ok(again(fields, problems.join("; "))),
    };
    let ws = current.user.workspace_id;
    let saved = match id {
        Some(id) => update_in(state, ws, id, body).await,
        None => create_in(state, ws, body).await,
    };
    match saved.map_err(PageError::from) {
        Ok(assistant) => {
            tracing::info!(assistant_id = %assistant.id, user_id = %current.user.id, "assistant saved from the dashboard");
            Ok(Redirect::to("/settings/assistants").into_response())
        }
        Err(PageError::Invalid(message)) => Ok(again(fields, message)),
        Err(other) => Err(other),
    }
}
