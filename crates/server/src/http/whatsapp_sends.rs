//! Sending to WhatsApp customers through the API:
//! `GET /api/v1/whatsapp/session-status?sender_id=&recipient=` (read-only: is the 24-hour
//! window open?), `POST /api/v1/whatsapp/messages` (free-form; refused with 409
//! `window_closed` outside the window, before anything reaches the provider) and
//! `POST /api/v1/whatsapp/templates/send` (approved templates, any time). Sends are stored in
//! the customer's conversation and queued for the outbox; the answer is 202 with their ids.

use super::api_schemas::{self, ErrorBody, ValidationErrorBody};
use super::json_body::ApiJson;
use super::query::ApiQuery;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use confab_domain::{
    parse_template_language, Conversation, ConversationId, ConversationStatus, MessageId, MessageKind, PhoneNumber,
    Provider, Role, Sender, SenderId, ServiceWindow, TemplateName, ValidationError, WorkspaceId,
};
use confab_storage::{ConversationFilter, NewMessage, PageRequest};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(session_status)).routes(routes!(send_message)).routes(routes!(send_template))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SessionQuery {
    /// The business number's sender id.
    #[param(value_type = uuid::Uuid, required)]
    sender_id: Option<String>,
    /// The customer's number, E.164.
    #[param(value_type = String, required, pattern = r"^\+[1-9][0-9]{7,14}$")]
    recipient: Option<String>,
}

/// Whether WhatsApp's 24-hour window with this customer is open. Read-only.
#[utoipa::path(get, path = "/whatsapp/session-status", tag = "whatsapp", params(SessionQuery), responses(
    (status = 200, description = "The session status", body = api_schemas::SessionStatus),
    (status = 404, description = "No such sender in this workspace", body = ErrorBody),
    (status = 422, description = "Missing or invalid parameters", body = ValidationErrorBody),
))]
async fn session_status(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> Result<Json<Value>, ApiError> {
    let sender_id = q.sender_id.ok_or_else(|| ValidationError::new("sender_id", "sender_id is required"))?;
    let recipient = q.recipient.ok_or_else(|| ValidationError::new("recipient", "recipient is required"))?;
    let sender = find_sender(&state, auth.workspace_id, &sender_id).await?;
    let recipient = parse_recipient("recipient", &recipient)?;
    let conversation = latest_conversation(&state, &sender, &recipient).await?;
    let window = conversation.map_or(ServiceWindow::new(None), |c| c.window());
    Ok(Json(serde_json::to_value(window.session_status(OffsetDateTime::now_utc())).unwrap_or_default()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SendMessage {
    #[schema(format = Uuid)]
    sender_id: String,
    /// The customer's number, E.164.
    #[schema(pattern = r"^\+[1-9][0-9]{7,14}$")]
    to: String,
    #[schema(pattern = r"\S")]
    text: String,
}

/// A free-form message; refused outside the 24-hour window.
#[utoipa::path(post, path = "/whatsapp/messages", tag = "whatsapp", request_body = SendMessage, responses(
    (status = 202, description = "Queued for sending", body = api_schemas::Queued),
    (status = 404, description = "No such sender in this workspace", body = ErrorBody),
    (status = 409, description = "`window_closed`: send a template; `details.session_status` says more", body = ErrorBody),
    (status = 422, description = "Invalid fields", body = ValidationErrorBody),
))]

async fn send_message(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<SendMessage>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let sender = find_sender(&state, auth.workspace_id, &body.sender_id).await?;
    let to = parse_recipient("to", &body.to)?;
    if body.text.trim().is_empty() {
        return Err(ValidationError::new("text", "text must not be empty").into());
    }
    let now = OffsetDateTime::now_utc();
    let conversation = state.store.open_whatsapp_conversation(&sender, &to, now).await?;
    let status = conversation.window().session_status(now);
    if !status.can_send_freeform {
        return Err(ApiError::ConflictWith {
            code: "window_closed",
            message: format!("{} Use POST /api/v1/whatsapp/templates/send.", status.message),
            details: json!({ "session_status": status }),
        });
    }
    let parts: Vec<NewMessage> = confab_channels::whatsapp::split_for_whatsapp(&body.text)
        .into_iter()
        .map(|part| NewMessage::text(Role::Agent, part))
        .collect();
    Ok(accepted(queue(&state, &conversation, &parts, now).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SendTemplate {
    #[schema(format = Uuid)]
    sender_id: String,
    /// The customer's number, E.164.
    #[schema(pattern = r"^\+[1-9][0-9]{7,14}$")]
    to: String,
    /// Meta: the template's name; Twilio: its Content SID (`HX…`).
    template: String,
    /// A template language code such as `en_US`.
    #[schema(min_length = 1, max_length = 15, pattern = "^[A-Za-z_]+$")]
    language: String,
    /// Values for the body's `{{1}}`, `{{2}}`…
    #[serde(default)]
    parameters: Vec<String>,
    /// Meta's full `components` array, for header, button or media parameters; used as is
    /// instead of `parameters` when given.
    #[schema(value_type = Option<Vec<Object>>)]
    components: Option<Value>,
}

/// An approved template, any time; stored in the customer's conversation.
#[utoipa::path(post, path = "/whatsapp/templates/send", tag = "whatsapp", request_body = SendTemplate, responses(
    (status = 202, description = "Queued for sending", body = api_schemas::Queued),
    (status = 404, description = "No such sender in this workspace", body = ErrorBody),
    (status = 422, description = "Invalid fields", body = ValidationErrorBody),
))]

async fn send_template(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<SendTemplate>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let sender = find_sender(&state, auth.workspace_id, &body.sender_id).await?;
    let to = parse_recipient("to", &body.to)?;
    let choice = TemplateChoice {
        template: &body.template,
        language: &body.language,
        parameters: &body.parameters,
        components: body.components.as_ref(),
    };
    Ok(accepted(queue_template(&state, &sender, &to, &choice).await?))
}

/// A template to send and the values of its parameters: what the API's
/// `POST /whatsapp/templates/send` and the dashboard's template picker both give.
pub(crate) struct TemplateChoice<'a> {
    /// Meta: the template's name; Twilio: its Content SID.
    pub template: &'a str,
    pub language: &'a str,
    /// Values for the body's `{{1}}`, `{{2}}`…
    pub parameters: &'a [String],
    /// Meta's full `components` array, used as is instead of `parameters` when given.
    pub components: Option<&'a Value>,
}

/// What a send queued.
pub(crate) struct Queued {
    pub conversation_id: ConversationId,
    pub message_ids: Vec<MessageId>,
}

/// Queues a template to `to` from `sender`, in the customer's active conversation (opened if
/// there is none), whatever the state of the 24-hour window.
pub(crate) async fn queue_template(
    state: &AppState,
    sender: &Sender,
    to: &PhoneNumber,
    choice: &TemplateChoice<'_>,
) -> Result<Queued, ApiError> {
    let payload = match sender.provider {
        Provider::Meta => meta_template(choice)?,
        Provider::Twilio => twilio_template(choice)?,
    };
    let now = OffsetDateTime::now_utc();
    let conversation = state.store.open_whatsapp_conversation(sender, to, now).await?;
    let mut message =
        NewMessage::text(Role::Agent, template_summary(choice.template, choice.language, choice.parameters));
    message.kind = MessageKind::Template;
    message.payload = payload;
    queue(state, &conversation, &[message], now).await
}

/// Meta sends templates by name and language, with Meta's `components` for parameters.
fn meta_template(choice: &TemplateChoice<'_>) -> Result<Value, ApiError> {
    let name = TemplateName::parse(choice.template)?;
    let language = parse_template_language(choice.language)?;
    let components = match choice.components {
        Some(Value::Array(components)) => Value::Array(components.clone()),
        Some(_) => return Err(ValidationError::new("components", "components must be Meta's components array").into()),
        None if choice.parameters.is_empty() => json!([]),
        None => json!([{
            "type": "body",
            "parameters": choice.parameters.iter().map(|p| json!({ "type": "text", "text": p })).collect::<Vec<_>>(),
        }]),
    };
    Ok(json!({ "template": { "name": name.as_str(), "language": { "code": language }, "components": components } }))
}

/// Twilio sends templates by Content SID (`HX…`), with positional variables.
fn twilio_template(choice: &TemplateChoice<'_>) -> Result<Value, ApiError> {
    let sid = confab_channels::twilio::ContentSid::parse(choice.template).map_err(|_| {
        ValidationError::new(
            "template",
            "for a Twilio number, template is the Content SID (HX followed by 32 hex digits)",
        )
    })?;
    let variables: serde_json::Map<String, Value> =
        choice.parameters.iter().enumerate().map(|(i, p)| ((i + 1).to_string(), Value::String(p.clone()))).collect();
    Ok(json!({ "template": { "content_sid": sid.as_str(), "language": choice.language, "variables": variables } }))
}

fn template_summary(name: &str, language: &str, parameters: &[String]) -> String {
    if parameters.is_empty() {
        format!("[template {name} ({language})]")
    } else {
        format!("[template {name} ({language})] {}", parameters.join(" · "))
    }
}

async fn queue(
    state: &AppState,
    conversation: &Conversation,
    messages: &[NewMessage],
    now: OffsetDateTime,
) -> Result<Queued, ApiError> {
    let message_ids = state.store.enqueue_outbound(conversation.workspace_id, conversation.id, messages, now).await?;
    state.outbox_wake.notify_one();
    Ok(Queued { conversation_id: conversation.id, message_ids })
}

/// The API's answer to a send: 202 with what was queued.
fn accepted(queued: Queued) -> (StatusCode, Json<Value>) {
    (
        StatusCode::ACCEPTED,
        Json(
            json!({ "conversation_id": queued.conversation_id, "message_ids": queued.message_ids, "status": "queued" }),
        ),
    )
}

async fn find_sender(state: &AppState, workspace_id: WorkspaceId, id: &str) -> Result<Sender, ApiError> {
    let id: SenderId = id.parse().map_err(|_| ValidationError::new("sender_id", "sender_id is not a sender's id"))?;
    Ok(state.store.get_sender(workspace_id, id).await?)
}

fn parse_recipient(field: &'static str, raw: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(raw).map_err(|e| ValidationError::new(field, e.message).into())
}

/// The newest conversation of this customer on this number, active or not: the window is the
/// customer's, whichever conversation their last message landed in.
async fn latest_conversation(
    state: &AppState,
    sender: &Sender,
    customer: &PhoneNumber,
) -> Result<Option<Conversation>, ApiError> {
    let filter = ConversationFilter {
        sender_id: Some(sender.id),
        customer: Some(customer.as_str().to_string()),
        ..Default::default()
    };
    let page = state.store.list_conversations(sender.workspace_id, &filter, PageRequest::first(5)).await?;
    Ok(page.items.iter().find(|c| c.status == ConversationStatus::Active).or(page.items.first()).cloned())
}
