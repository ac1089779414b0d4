//! Settings → WhatsApp numbers (`/settings/senders`): every sender with its assistant, status,
//! quality and AI switch. Everyone signed in reads it; admins and owners switch a number's AI
//! on or off (the same change as `PATCH /api/v1/senders/{id}` with `ai_enabled`).

use super::page::{render, Layout, PageError};
use super::session::CurrentUser;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use confab_domain::SenderId;
use confab_storage::SenderChanges;
use serde::Deserialize;
use std::collections::HashMap;

pub struct SenderRow {
    pub id: String,
    pub phone: String,
    pub provider: &'static str,
    pub assistant: String,
    pub status: String,
    pub quality: String,
    pub ai_enabled: bool,
}

#[derive(Template)]
#[template(path = "senders.html")]
struct SendersPage {
    layout: Layout,
    can_configure: bool,
    senders: Vec<SenderRow>,
}

pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let ws = current.user.workspace_id;
    let assistants: HashMap<_, _> =
        state.store.list_assistants(ws).await?.into_iter().map(|a| (a.id, a.name)).collect();
    let senders = state
        .store
        .list_senders(ws)
        .await?
        .into_iter()
        .map(|s| SenderRow {
            id: s.id.to_string(),
            phone: s.display_phone.as_str().to_string(),
            provider: match s.provider {
                confab_domain::Provider::Meta => "Meta Cloud API",
                confab_domain::Provider::Twilio => "Twilio",
            },
            assistant: assistants.get(&s.assistant_id).cloned().unwrap_or_else(|| "deleted assistant".into()),
            status: format!("{:?}", s.status).to_lowercase(),
            quality: s.quality_rating.clone().unwrap_or_else(|| "—".into()),
            ai_enabled: s.ai_enabled,
        })
        .collect();
    let page = SendersPage {
        layout: Layout::new(&state, &current, "settings", "WhatsApp numbers"),
        can_configure: current.user.role.can_configure(),
        senders,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct AiForm {
    enabled: String,
}

/// `POST /settings/senders/{id}/ai`
pub async fn set_ai(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(form): Form<AiForm>,
) -> Result<Response, PageError> {
    super::page::require_admin(&current)?;
    let id: SenderId = id.parse().map_err(|_| PageError::NotFound("sender"))?;
    let enabled = matches!(form.enabled.as_str(), "true" | "1" | "on");
    let changes = SenderChanges { ai_enabled: Some(enabled), ..Default::default() };
    state.store.update_sender(current.user.workspace_id, id, changes).await?;
    tracing::info!(sender_id = %id, user_id = %current.user.id, enabled, "sender AI switched from the dashboard");
    Ok(Redirect::to("/settings/senders").into_response())
}
