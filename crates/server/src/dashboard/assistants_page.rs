//! Settings → Assistants (`/settings/assistants`): each assistant's prompt, model and behaviour
//! at a glance, and its **test chat**: a new Test conversation (the API's own start path, with
//! the assistant's first message) where the tester writes as the customer and the assistant
//! answers through the running turn worker.

use super::display;
use super::page::{render, Layout, PageError};
use super::session::CurrentUser;
use crate::http::api_conversations::start;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use confab_domain::{AssistantId, ConversationType};

pub struct AssistantRow {
    pub id: String,
    pub name: String,
    pub model: String,
    pub prompt: String,
    pub first_message: String,
    pub tools: String,
    pub response_delay: String,
    pub inactivity: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "assistants.html")]
struct AssistantsPage {
    layout: Layout,
    can_configure: bool,
    assistants: Vec<AssistantRow>,
}

pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let assistants = state
        .store
        .list_assistants(current.user.workspace_id)
        .await?
        .into_iter()
        .map(|a| AssistantRow {
            id: a.id.to_string(),
            model: match (&a.provider, &a.model) {
                (Some(p), Some(m)) => format!("{p} · {m}"),
                (None, Some(m)) => m.clone(),
                (Some(p), None) => format!("{p} · the configured model"),
                (None, None) => "the configured default".into(),
            },
            prompt: a.system_prompt.clone(),
            first_message: a.first_message.clone().unwrap_or_else(|| "—".into()),
            tools: if a.tools.is_empty() {
                "none".into()
            } else {
                a.tools.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            },
            response_delay: format!("{} ms", a.response_delay.as_millis()),
            inactivity: format!("{} min", a.inactivity_timeout.as_minutes()),
            updated: display::datetime(a.updated_at),
            name: a.name,
        })
        .collect();
    let page = AssistantsPage {
        layout: Layout::new(&state, &current, "settings", "Assistants"),
        can_configure: current.user.role.can_configure(),
        assistants,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /settings/assistants/{id}/test-chat`: a new Test conversation, opened.
pub async fn test_chat(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: AssistantId = id.parse().map_err(|_| PageError::NotFound("assistant"))?;
    let conversation =
        start(&state, current.user.workspace_id, id, ConversationType::Test, None, serde_json::Map::new()).await?;
    tracing::info!(conversation_id = %conversation.id, user_id = %current.user.id, "test chat started from the dashboard");
    Ok(Redirect::to(&format!("/conversations/{}", conversation.id)).into_response())
}
