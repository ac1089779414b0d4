//! Conversations through the REST API: `GET /api/v1/conversations` (filters and cursor
//! pagination), `GET /api/v1/conversations/{id}` (with messages, variables and the window),
//! `POST /api/v1/conversations/{id}/ai` (take over / hand back) and
//! `POST /api/v1/conversations/{id}/agent-messages` (a person replies through the
//! conversation's channel; on WhatsApp refused with 409 `window_closed` outside the window).

use super::conversation_json::{booking_json, conversation_json, message_json};
use super::field_errors::FieldErrors;
use super::json_body::ApiJson;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
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

/// Messages returned with one conversation.
const MESSAGE_LIMIT: u32 = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/conversations", get(list))
        .route("/conversations/{id}", get(read))
        .route("/conversations/{id}/ai", post(set_ai))
        .route("/conversations/{id}/agent-messages", post(agent_message))
}

/// The list filters of DESIGN §8, shared with the export.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub assistant_id: Option<String>,
    pub sender_id: Option<String>,
    /// The business number, as an alternative to `sender_id`.
    pub sender_phone: Option<String>,
    pub customer: Option<String>,
    pub external_identifier: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// `true`: only conversations with at least one failed delivery.
    pub has_failed_deliveries: Option<bool>,
    pub limit: Option<u32>,
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
        if self.limit.is_some_and(|l| l == 0 || l > PageRequest::MAX_LIMIT) {
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
        Ok(PageRequest { limit: self.limit.unwrap_or(50), after })
    }
}

async fn list(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Query(query): Query<ListQuery>,
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

async fn read(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(id): Path<String>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetAi {
    enabled: bool,
}

async fn set_ai(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetAi>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_path_id(&id)?;
    let conversation = state.store.set_conversation_ai(auth.workspace_id, id, body.enabled).await?;
    let customers = customers_of(&state, auth.workspace_id, std::slice::from_ref(&conversation)).await?;
    Ok(Json(conversation_json(&conversation, customers.get(&conversation.customer_id), OffsetDateTime::now_utc())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentMessage {
    text: String,
}

async fn agent_message(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(id): Path<String>,
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
