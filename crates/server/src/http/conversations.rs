//! Conversations through the REST API: `GET /api/v1/conversations` (filters and cursor
//! pagination), `GET /api/v1/conversations/{id}` (with messages, variables and the window),
//! `POST /api/v1/conversations/{id}/ai` (take over / hand back) and
//! `POST /api/v1/conversations/{id}/agent-messages` (a person replies through the
//! conversation's channel; on WhatsApp refused with 409 `window_closed` outside the window).

use super::api_schemas::{self, ErrorBody, ValidationErrorBody};
use super::conversation_json::{booking_json, conversation_json, message_json};
use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::path_param::ApiPath;
use super::query::ApiQuery;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use confab_domain::{
    AssistantId, Conversation, ConversationId, ConversationStatus, ConversationType, Customer, Role, SenderId,
    ValidationError, WorkspaceId,
};
use confab_storage::{ConversationFilter, Cursor, NewMessage, PageRequest};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Messages returned with one conversation.
const MESSAGE_LIMIT: u32 = 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read))
        .routes(routes!(set_ai))
        .routes(routes!(agent_message))
}

/// The list filters of DESIGN §8, shared with the export.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[serde(rename = "type")]
    #[param(value_type = Option<api_schemas::ConversationType>)]
    pub kind: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub assistant_id: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub sender_id: Option<String>,
    /// The business number (E.164), as an alternative to `sender_id`.
    #[param(pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub sender_phone: Option<String>,
    /// The customer's phone number or external identifier.
    pub customer: Option<String>,
    /// The same as `customer`.
    pub external_identifier: Option<String>,
    #[param(value_type = Option<api_schemas::ConversationStatus>)]
    pub status: Option<String>,
    /// Created at or after: a date (`2026-11-25`) or an RFC 3339 time.
    pub from: Option<String>,
    /// Created before: a date or an RFC 3339 time.
    pub to: Option<String>,
    /// `true`: only conversations with at least one failed delivery.
    pub has_failed_deliveries: Option<bool>,
    /// Page size, 1 to 100 (default 50). Read as text so the export, which flattens these
    /// parameters, takes it too; checked in [`ListQuery::filter`].
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// The store filter, or 422 naming each bad parameter.
    pub fn filter(&self) -> Result<ConversationFilter, ApiError> {
        let mut errors = FieldErrors::default();
        let kind = self.kind.as_deref().and_then(|t| errors.check(ConversationType::parse(t)));
        let assistant_id =
            self.assistant_id.as_deref().and_then(|id| errors.check(parse_id::<AssistantId>("assistant_id", id)));
        let sender_id = self.sender_id.as_deref().and_then(|id| errors.check(parse_id::<SenderId>("sender_id", id)));
        let status = self.status.as_deref().and_then(|s| {
            errors.check(
                ConversationStatus::parse(s)
                    .ok_or_else(|| ValidationError::new("status", "status must be active or ended")),
            )
        });
        let from = self.from.as_deref().and_then(|t| errors.check(parse_time("from", t)));
        let to = self.to.as_deref().and_then(|t| errors.check(parse_time("to", t)));
        if self.limit().is_err() {
            errors.push("limit", "limit must be between 1 and 100");
        }
        errors.finish()?;
        let customer = self.customer.clone().or_else(|| self.external_identifier.clone());
        Ok(ConversationFilter {
            kind,
            assistant_id,
            sender_id,
            status,
            customer,
            from,
            to,
            with_failed_deliveries: self.has_failed_deliveries.unwrap_or(false),
        })
    }

    /// The filter with `sender_phone` resolved to the workspace's sender on that number;
    /// `None` when no sender has it (so nothing can match).
    pub async fn resolve(
        &self,
        state: &AppState,
        workspace_id: WorkspaceId,
    ) -> Result<Option<ConversationFilter>, ApiError> {
        let mut filter = self.filter()?;
        let Some(raw) = &self.sender_phone else { return Ok(Some(filter)) };
        let phone =
            confab_domain::PhoneNumber::parse(raw).map_err(|e| ValidationError::new("sender_phone", e.message))?;
        let senders = state.store.list_senders(workspace_id).await?;
        let Some(sender) = senders.iter().find(|s| s.display_phone == phone) else { return Ok(None) };
        if filter.sender_id.is_some_and(|id| id != sender.id) {
            return Ok(None);
        }
        filter.sender_id = Some(sender.id);
        Ok(Some(filter))
    }

    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let after = match &self.cursor {
            Some(token) => Some(
                Cursor::decode(token)
                    .ok_or_else(|| ValidationError::new("cursor", "cursor is not one this API gave out"))?,
            ),
            None => None,
        };
        Ok(PageRequest { limit: self.limit()?, after })
    }

    /// The page size asked for (50 by default), or an error outside 1 to 100.
    fn limit(&self) -> Result<u32, ApiError> {
        match self.limit.as_deref().map(str::parse::<u32>) {
            None => Ok(50),
            Some(Ok(limit)) if (1..=PageRequest::MAX_LIMIT).contains(&limit) => Ok(limit),
            Some(_) => Err(ValidationError::new("limit", "limit must be between 1 and 100").into()),
        }
    }
}

/// Conversations matching the filters, newest first, a page at a time.
#[utoipa::path(get, path = "/conversations", tag = "conversations", params(ListQuery), responses(
    (status = 200, description = "A page of conversations", body = api_schemas::ConversationPage),
    (status = 422, description = "Invalid filters", body = ValidationErrorBody),
))]
async fn list(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let resolved = query.resolve(&state, auth.workspace_id).await?;
    let page_request = query.page()?;
    let Some(filter) = resolved else {
        return Ok(Json(json!({ "items": [], "next_cursor": null })));
    };
    let page = state.store.list_conversations(auth.workspace_id, &filter, page_request).await?;
    let customers = customers_of(&state, auth.workspace_id, &page.items).await?;
    let now = OffsetDateTime::now_utc();
    let items: Vec<Value> =
        page.items.iter().map(|c| conversation_json(c, customers.get(&c.customer_id), now)).collect();
    Ok(Json(json!({ "items": items, "next_cursor": page.next.map(|c| c.encode()) })))
}

/// One conversation with its messages, variables and window.
#[utoipa::path(get, path = "/conversations/{id}", tag = "conversations", params(("id" = uuid::Uuid, Path, description = "The conversation's id")),
    responses(
        (status = 200, description = "The conversation", body = api_schemas::ConversationDetail),
        (status = 404, description = "No such conversation in this workspace", body = ErrorBody),
    ))]
async fn read(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let conversation = find(&state, auth.workspace_id, &id).await?;
    Ok(Json(detail_json(&state, &conversation).await?))
}

/// One conversation with its customer, messages, variables and the bookings made in it.
pub async fn detail_json(state: &AppState, conversation: &Conversation) -> Result<Value, ApiError> {
    let ws = conversation.workspace_id;
    let customers = customers_of(state, ws, std::slice::from_ref(conversation)).await?;
    let messages = state.store.list_messages(ws, conversation.id, None, MESSAGE_LIMIT).await?;
    let mut body = conversation_json(conversation, customers.get(&conversation.customer_id), OffsetDateTime::now_utc());
    body["messages"] = messages.iter().map(message_json).collect();
    let bookings = state.store.conversation_bookings(ws, conversation.id).await?;
    body["bookings"] = bookings.iter().map(booking_json).collect();
    Ok(body)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SetAi {
    /// `false`: a person takes over (the assistant stops answering); `true`: hand back.
    enabled: bool,
}

/// Takes the conversation over from the assistant, or hands it back.
#[utoipa::path(post, path = "/conversations/{id}/ai", tag = "conversations", request_body = SetAi, params(("id" = uuid::Uuid, Path, description = "The conversation's id")),
    responses(
        (status = 200, description = "The conversation", body = api_schemas::Conversation),
        (status = 404, description = "No such conversation in this workspace", body = ErrorBody),
        (status = 422, description = "Invalid body", body = ValidationErrorBody),
    ))]
async fn set_ai(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SetAi>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_path_id(&id)?;
    let conversation = state.store.set_conversation_ai(auth.workspace_id, id, body.enabled).await?;
    let customers = customers_of(&state, auth.workspace_id, std::slice::from_ref(&conversation)).await?;
    Ok(Json(conversation_json(&conversation, customers.get(&conversation.customer_id), OffsetDateTime::now_utc())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AgentMessage {
    /// What the person says; long WhatsApp texts are split.
    #[schema(pattern = r"\S")]
    text: String,
}

/// A person replies through the conversation's channel.
#[utoipa::path(post, path = "/conversations/{id}/agent-messages", tag = "conversations", request_body = AgentMessage, params(("id" = uuid::Uuid, Path, description = "The conversation's id")),
    responses(
        (status = 202, description = "Queued for sending", body = api_schemas::Queued),
        (status = 404, description = "No such conversation in this workspace", body = ErrorBody),
        (status = 409, description = "`window_closed`: WhatsApp's 24-hour window is closed; `details.session_status` says more", body = ErrorBody),
        (status = 422, description = "Invalid body", body = ValidationErrorBody),
    ))]
async fn agent_message(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AgentMessage>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let conversation = find(&state, auth.workspace_id, &id).await?;
    let ids =
        send_agent_message(&state, &conversation, &body.text, "Use POST /api/v1/whatsapp/templates/send.").await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "conversation_id": conversation.id, "message_ids": ids }))))
}

/// A person's reply to the customer of `conversation`, queued for its channel. On WhatsApp it
/// is refused with 409 `window_closed` outside the 24-hour window (the message ends with
/// `what_instead`, which tells the caller how to reach the customer anyway).
pub(crate) async fn send_agent_message(
    state: &AppState,
    conversation: &Conversation,
    text: &str,
    what_instead: &str,
) -> Result<Vec<confab_domain::MessageId>, ApiError> {
    if text.trim().is_empty() {
        return Err(ValidationError::new("text", "text must not be empty").into());
    }
    let now = OffsetDateTime::now_utc();
    let parts: Vec<NewMessage> = if conversation.kind == ConversationType::Whatsapp {
        let status = conversation.window().session_status(now);
        if !status.can_send_freeform {
            return Err(ApiError::ConflictWith {
                code: "window_closed",
                message: format!("{} {what_instead}", status.message),
                details: json!({ "session_status": status }),
            });
        }
        confab_channels::whatsapp::split_for_whatsapp(text)
            .into_iter()
            .map(|p| NewMessage::text(Role::Agent, p))
            .collect()
    } else {
        vec![NewMessage::text(Role::Agent, text)]
    };
    let ids = state.store.enqueue_outbound(conversation.workspace_id, conversation.id, &parts, now).await?;
    state.outbox_wake.notify_one();
    Ok(ids)
}

async fn find(state: &AppState, workspace_id: WorkspaceId, id: &str) -> Result<Conversation, ApiError> {
    Ok(state.store.get_conversation(workspace_id, parse_path_id(id)?).await?)
}

fn parse_path_id(id: &str) -> Result<ConversationId, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound("conversation"))
}

pub async fn customers_of(
    state: &AppState,
    workspace_id: WorkspaceId,
    conversations: &[Conversation],
) -> Result<HashMap<confab_domain::CustomerId, Customer>, ApiError> {
    let ids: Vec<_> = conversations.iter().map(|c| c.customer_id).collect();
    let customers = state.store.customers_by_ids(workspace_id, &ids).await?;
    Ok(customers.into_iter().map(|c| (c.id, c)).collect())
}

pub(crate) fn parse_id<T: std::str::FromStr>(field: &'static str, raw: &str) -> Result<T, ValidationError> {
    raw.parse().map_err(|_| ValidationError::new(field, format!("{field} is not a valid id")))
}

/// An RFC 3339 time, or a date (`2026-11-25`, meaning its start in UTC).
pub(crate) fn parse_time(field: &'static str, raw: &str) -> Result<OffsetDateTime, ValidationError> {
    OffsetDateTime::parse(raw, &Rfc3339)
        .or_else(|_| {
            Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]"))
                .map(|d| d.midnight().assume_utc())
        })
        .map_err(|_| ValidationError::new(field, format!("{field} must be a date (2026-11-25) or an RFC 3339 time")))
}
