//! Settings → WhatsApp numbers → add or edit a number (`/settings/senders/new`,
//! `/settings/senders/{id}/edit`), for admins and owners. The form is checked exactly as
//! `POST /api/v1/senders` and `PATCH /api/v1/senders/{id}` check their bodies (the same
//! functions); a refused field is shown next to it with the form kept. The provider and its
//! number id are what a sender is: fixed once added. The access token is write-only: editing
//! with it empty keeps the current one.

use super::page::{render, require_admin, Layout, PageError};
use super::session::CurrentUser;
use crate::http::senders::{create_sender, update_sender, SenderBody};
use crate::http::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use confab_domain::{AssistantId, Sender, SenderId, SenderStatus};
use serde::Deserialize;
use std::collections::BTreeMap;

pub struct AssistantOption {
    pub id: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "sender_form.html")]
struct SenderFormPage {
    layout: Layout,
    heading: String,
    action: String,
    /// Editing: the provider and number id are shown, not changed.
    editing: bool,
    f: SenderForm,
    assistants: Vec<AssistantOption>,
    statuses: Vec<&'static str>,
    field_errors: BTreeMap<String, String>,
    error: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct SenderForm {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    phone_number_id: String,
    #[serde(default)]
    display_phone_number: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    assistant_id: String,
    #[serde(default)]
    status: String,
}

impl SenderForm {
    fn of(sender: &Sender) -> Self {
        Self {
            provider: sender.provider.as_str().into(),
            phone_number_id: sender.provider_sender_id.clone(),
            display_phone_number: sender.display_phone.as_str().into(),
            access_token: String::new(),
            assistant_id: sender.assistant_id.to_string(),
            status: sender.status.as_str().into(),
        }
    }

    /// The API's body: every field given (empty ones too, so each is checked), except that
    /// an edit leaves the provider, the number id and an empty token out.
    fn body(&self, editing: bool) -> SenderBody {
        let given = |v: &str| Some(v.trim().to_string());
        SenderBody {
            provider: (!editing).then(|| self.provider.clone()),
            phone_number_id: (!editing).then(|| self.phone_number_id.clone()),
            display_phone_number: given(&self.display_phone_number),
            access_token: if editing && self.access_token.trim().is_empty() { None } else { given(&self.access_token) },
            assistant_id: self.assistant_id.parse::<AssistantId>().ok(),
            ai_enabled: None,
            status: given(&self.status),
        }
    }
}

async fn page(
    state: &AppState,
    current: &CurrentUser,
    editing: Option<SenderId>,
    f: SenderForm,
    field_errors: BTreeMap<String, String>,
    error: Option<String>,
) -> Result<SenderFormPage, PageError> {
    let assistants = state
        .store
        .list_assistants(current.user.workspace_id)
        .await?
        .into_iter()
        .map(|a| AssistantOption { id: a.id.to_string(), name: a.name })
        .collect();
    let (heading, action) = match editing {
        Some(id) => (format!("Edit {}", f.display_phone_number), format!("/settings/senders/{id}")),
        None => ("Add a WhatsApp number".to_string(), "/settings/senders".to_string()),
    };
    Ok(SenderFormPage {
        layout: Layout::new(state, current, "settings", heading.clone()),
        heading,
        action,
        editing: editing.is_some(),
        f,
        assistants,
        statuses: [SenderStatus::Online, SenderStatus::Offline, SenderStatus::NeedsAttention]
            .into_iter()
            .map(SenderStatus::as_str)
            .collect(),
        field_errors,
        error,
    })
}

/// `GET /settings/senders/new`
pub async fn new(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let f = SenderForm { provider: "meta".into(), status: "online".into(), ..SenderForm::default() };
    Ok(render(StatusCode::OK, &page(&state, &current, None, f, BTreeMap::new(), None).await?))
}

/// `GET /settings/senders/{id}/edit`
pub async fn edit(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let id: SenderId = id.parse().map_err(|_| PageError::NotFound("sender"))?;
    let sender = state.store.get_sender(current.user.workspace_id, id).await?;
    let f = SenderForm::of(&sender);
    Ok(render(StatusCode::OK, &page(&state, &current, Some(id), f, BTreeMap::new(), None).await?))
}

/// `POST /settings/senders`
pub async fn create(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Form(f): Form<SenderForm>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let saved = create_sender(&state, current.user.workspace_id, f.body(false)).await;
    finish(&state, &current, None, f, saved).await
}

/// `POST /settings/senders/{id}`
pub async fn update(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(f): Form<SenderForm>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let id: SenderId = id.parse().map_err(|_| PageError::NotFound("sender"))?;
    let current_sender = state.store.get_sender(current.user.workspace_id, id).await?;
    // what cannot change is shown from the sender itself
    let f = SenderForm {
        provider: current_sender.provider.as_str().into(),
        phone_number_id: current_sender.provider_sender_id.clone(),
        ..f
    };
    let saved = update_sender(&state, current.user.workspace_id, id, f.body(true)).await;
    finish(&state, &current, Some(id), f, saved).await
}

/// Back to the list when saved; otherwise the form again with what was refused.
async fn finish(
    state: &AppState,
    current: &CurrentUser,
    editing: Option<SenderId>,
    f: SenderForm,
    saved: Result<Sender, ApiError>,
) -> Result<Response, PageError> {
    let (status, field_errors, error) = match saved {
        Ok(sender) => {
            tracing::info!(sender_id = %sender.id, user_id = %current.user.id, "sender saved from the dashboard");
            return Ok(Redirect::to("/settings/senders").into_response());
        }
        Err(ApiError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors.into_iter().map(|e| (e.field.to_string(), e.message)).collect(),
            None,
        ),
        Err(ApiError::Conflict { message, .. }) => (StatusCode::CONFLICT, BTreeMap::new(), Some(message)),
        Err(other) => return Err(other.into()),
    };
    let f = SenderForm { access_token: String::new(), ..f };
    Ok(render(status, &page(state, current, editing, f, field_errors, error).await?))
}
