//! Settings → Templates (`/settings/templates`): the WhatsApp message templates confab knows,
//! with their body and review status. Everyone signed in reads it; admins and owners add one
//! (name, language, category, body text with `{{n}}` parameters; status APPROVED by default,
//! as confab records templates approved in Meta's WhatsApp Manager; optionally its Twilio
//! Content SID, for Twilio numbers) and delete one. Saving
//! checks the fields exactly as `POST /api/v1/whatsapp/templates` does.

use super::page::{render, require_admin, Layout, PageError};
use super::session::CurrentUser;
use crate::http::whatsapp_templates::{template_definition, TemplateFields, MAX_BODY_CHARS};
use crate::http::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use confab_domain::{parameter_count, TemplateCategory, TemplateId, TemplateStatus};
use serde::Deserialize;
use std::collections::BTreeMap;

pub struct TemplateRow {
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: &'static str,
    pub status: &'static str,
    pub body: String,
    pub parameter_count: usize,
    pub twilio_content_sid: Option<String>,
}

#[derive(Template)]
#[template(path = "whatsapp_templates.html")]
struct TemplatesPage {
    layout: Layout,
    can_configure: bool,
    templates: Vec<TemplateRow>,
    categories: Vec<&'static str>,
    statuses: Vec<&'static str>,
    form: AddForm,
    /// Each refused field's message, by field name.
    field_errors: BTreeMap<String, String>,
    max_body_chars: usize,
}

#[derive(Deserialize, Default)]
pub struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    twilio_content_sid: String,
}

async fn page(
    state: &AppState,
    current: &CurrentUser,
    form: AddForm,
    field_errors: BTreeMap<String, String>,
) -> Result<TemplatesPage, PageError> {
    let templates = state
        .store
        .list_templates(current.user.workspace_id, false)
        .await?
        .into_iter()
        .map(|t| TemplateRow {
            id: t.id.to_string(),
            name: t.name.as_str().to_string(),
            language: t.language.clone(),
            category: t.category.as_str(),
            status: t.status.as_str(),
            body: t.body_text().to_string(),
            parameter_count: parameter_count(t.body_text()),
            twilio_content_sid: t.twilio_content_sid.clone(),
        })
        .collect();
    Ok(TemplatesPage {
        layout: Layout::new(state, current, "settings", "Templates"),
        can_configure: current.user.role.can_configure(),
        templates,
        categories: TemplateCategory::ALL.into_iter().map(TemplateCategory::as_str).collect(),
        statuses: TemplateStatus::ALL.into_iter().map(TemplateStatus::as_str).collect(),
        form,
        field_errors,
        max_body_chars: MAX_BODY_CHARS,
    })
}

pub async fn show(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
) -> Result<Response, PageError> {
    let form = AddForm { category: "UTILITY".into(), status: "APPROVED".into(), ..AddForm::default() };
    Ok(render(StatusCode::OK, &page(&state, &current, form, BTreeMap::new()).await?))
}

/// `POST /settings/templates`: saves the template (one with the same name and language is
/// replaced); a refused field is shown next to it, the form kept.
pub async fn add(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let fields = TemplateFields {
        name: form.name.clone(),
        language: form.language.clone(),
        category: form.category.clone(),
        status: Some(form.status.clone()).filter(|s| !s.is_empty()),
        body: Some(form.body.clone()),
        components: None,
        twilio_content_sid: Some(form.twilio_content_sid.clone()),
    };
    let definition = match template_definition(fields) {
        Ok(definition) => definition,
        Err(ApiError::Validation(errors)) => {
            let field_errors = errors.into_iter().map(|e| (e.field.to_string(), e.message)).collect();
            let p = page(&state, &current, form, field_errors).await?;
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &p));
        }
        Err(other) => return Err(other.into()),
    };
    let template = state.store.upsert_template(current.user.workspace_id, definition).await?;
    tracing::info!(template_id = %template.id, user_id = %current.user.id, "template saved from the dashboard");
    Ok(Redirect::to("/settings/templates").into_response())
}

/// `POST /settings/templates/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&current)?;
    let id: TemplateId = id.parse().map_err(|_| PageError::NotFound("template"))?;
    state.store.delete_template(current.user.workspace_id, id).await?;
    tracing::info!(template_id = %id, user_id = %current.user.id, "template deleted from the dashboard");
    Ok(Redirect::to("/settings/templates").into_response())
}
