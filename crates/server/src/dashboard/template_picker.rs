//! The template picker of a WhatsApp conversation whose 24-hour window is closed: instead of
//! the reply box, the reason and a form per approved template (name, language, its body, an
//! input per `{{n}}` parameter). `POST /conversations/{id}/template` sends the chosen one
//! through the API's own path ([`queue_template`]), for agents and up. On a Twilio number a
//! template is sent by its Twilio Content SID, so only templates that have one are offered.
//! Without approved templates the picker says where to add one (Settings → Templates).

use super::display;
use super::page::PageError;
use super::session::CurrentUser;
use crate::http::whatsapp_sends::{queue_template, TemplateChoice};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use confab_domain::{
    parameter_count, Conversation, ConversationId, ConversationStatus, ConversationType, Provider, TemplateId,
    TemplateStatus,
};
use time::OffsetDateTime;

/// One approved template, ready to fill in.
pub struct PickerTemplate {
    pub id: String,
    pub name: String,
    pub language: String,
    pub body: String,
    /// `1..=n` for the body's `{{n}}` parameters.
    pub parameters: Vec<usize>,
}

/// What replaces the reply box while the window is closed.
pub struct TemplatePicker {
    /// Why free-form replies are refused, with since when.
    pub reason: String,
    pub templates: Vec<PickerTemplate>,
    /// The conversation's number is on Twilio: only templates with a Content SID are offered.
    pub twilio: bool,
}

/// The picker for `c`, when it is an active WhatsApp conversation whose window is closed.
pub async fn for_conversation(
    state: &AppState,
    c: &Conversation,
    now: OffsetDateTime,
) -> Result<Option<TemplatePicker>, PageError> {
    if c.kind != ConversationType::Whatsapp || c.status != ConversationStatus::Active {
        return Ok(None);
    }
    let status = c.window().session_status(now);
    if status.can_send_freeform {
        return Ok(None);
    }
    let reason = match status.expired_at {
        Some(at) => format!(
            "The 24-hour window has been closed since {}: free-form replies are refused until the customer writes again; \
             only an approved template can be sent.",
            display::datetime(at)
        ),
        None => status.message,
    };
    let twilio = match c.sender_id {
        Some(sender_id) => state.store.get_sender(c.workspace_id, sender_id).await?.provider == Provider::Twilio,
        None => false,
    };
    let templates = state
        .store
        .list_templates(c.workspace_id, true)
        .await?
        .into_iter()
        .filter(|t| !twilio || t.twilio_content_sid.is_some())
        .map(|t| PickerTemplate {
            id: t.id.to_string(),
            name: t.name.as_str().to_string(),
            language: t.language.clone(),
            body: t.body_text().to_string(),
            parameters: (1..=parameter_count(t.body_text())).collect(),
        })
        .collect();
    Ok(Some(TemplatePicker { reason, templates, twilio }))
}

/// `POST /conversations/{id}/template`: fields `template_id` and one `parameter` per `{{n}}`,
/// in order. A refusal shows the conversation again with the reason.
pub async fn send(
    State(state): State<AppState>,
    Extension(current): Extension<CurrentUser>,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    super::conversation_page::require_agent(&current)?;
    let ws = current.user.workspace_id;
    let id: ConversationId = id.parse().map_err(|_| PageError::NotFound("conversation"))?;
    let conversation = state.store.get_conversation(ws, id).await?;
    match send_chosen(&state, &conversation, &fields).await {
        Ok(()) => {
            tracing::info!(conversation_id = %conversation.id, user_id = %current.user.id, "template sent from the dashboard");
            Ok(Redirect::to(&format!("/conversations/{}", conversation.id)).into_response())
        }
        Err(PageError::Conflict(message)) => {
            super::conversation_page::with_error(&state, &current, &conversation, StatusCode::CONFLICT, message).await
        }
        Err(PageError::Invalid(message)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            super::conversation_page::with_error(&state, &current, &conversation, status, message).await
        }
        Err(other) => Err(other),
    }
}

async fn send_chosen(state: &AppState, c: &Conversation, fields: &[(String, String)]) -> Result<(), PageError> {
    if c.kind != ConversationType::Whatsapp || c.status != ConversationStatus::Active {
        return Err(PageError::Conflict("Templates are sent in active WhatsApp conversations only.".into()));
    }
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let template_id: TemplateId = field("template_id")
        .and_then(|raw| raw.parse().ok())
        .ok_or_else(|| PageError::Invalid("Choose a template.".into()))?;
    let template = state.store.get_template(c.workspace_id, template_id).await?;
    if template.status != TemplateStatus::Approved {
        return Err(PageError::Conflict(format!(
            "The template {} is {}, not approved: WhatsApp would refuse it.",
            template.name.as_str(),
            template.status.as_str()
        )));
    }
    let parameters: Vec<String> =
        fields.iter().filter(|(k, _)| k == "parameter").map(|(_, v)| v.trim().to_string()).collect();
    let expected = parameter_count(template.body_text());
    if parameters.len() != expected || parameters.iter().any(String::is_empty) {
        return Err(PageError::Invalid(format!(
            "The template {} takes {expected} parameter(s): fill in every one.",
            template.name.as_str()
        )));
    }
    let sender_id =
        c.sender_id.ok_or_else(|| PageError::Conflict("This conversation has no WhatsApp number.".into()))?;
    let sender = state.store.get_sender(c.workspace_id, sender_id).await?;
    let customer = state.store.customers_by_ids(c.workspace_id, &[c.customer_id]).await?;
    let to = customer
        .first()
        .and_then(|customer| customer.phone.clone())
        .ok_or_else(|| PageError::Conflict("The customer has no phone number to send a template to.".into()))?;
    let template_ref = match sender.provider {
        Provider::Meta => template.name.as_str(),
        Provider::Twilio => template.twilio_content_sid.as_deref().ok_or_else(|| {
            PageError::Conflict(format!(
                "The template {} has no Twilio Content SID, which a Twilio number needs: add it under Settings → Templates.",
                template.name.as_str()
            ))
        })?,
    };
    let choice = TemplateChoice {
        template: template_ref,
        language: &template.language,
        parameters: &parameters,
        components: None,
    };
    queue_template(state, &sender, &to, &choice).await?;
    Ok(())
}
