//! Conversations that run over the API itself ("API" and "Test" conversations):
//! `POST /api/v1/conversations` starts one (answering with the assistant's first message),
//! `POST /api/v1/conversations/{id}/messages` adds the caller's message and answers with the
//! assistant's reply and its function calls once the turn commits (202 with where to poll if
//! that takes longer than the reply timeout), and `POST /api/v1/generate-reply` does both for
//! a (assistant, customer identifier) pair in one call. An `Idempotency-Key` header makes a
//! retried message count once.

use super::api_schemas::{self, ErrorBody, ValidationErrorBody};
use super::conversation_json::message_json;
use super::conversations::detail_json;
use super::json_body::ApiJson;
use super::path_param::ApiPath;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use confab_domain::{
    AssistantId, Conversation, ConversationId, ConversationStatus, ConversationType, CustomerIdentity, InboundMessage,
    IngestOutcome, MessageKind, Role, ValidationError,
};
use confab_storage::{ConversationFilter, NewConversation, PageRequest};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create)).routes(routes!(post_message)).routes(routes!(generate_reply))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateConversation {
    #[schema(value_type = uuid::Uuid)]
    assistant_id: AssistantId,
    /// `api` by default.
    #[serde(rename = "type")]
    #[schema(value_type = Option<api_schemas::ApiConversationType>)]
    kind: Option<String>,
    /// Your id for the customer, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    customer_identifier: Option<String>,
    /// Values the assistant's prompt can use.
    #[serde(default)]
    #[schema(value_type = Object)]
    variables: serde_json::Map<String, Value>,
}

/// Starts an API or test conversation; the answer carries the assistant's first message, if
/// it has one.
#[utoipa::path(post, path = "/conversations", tag = "conversations", request_body = CreateConversation, responses(
    (status = 201, description = "Started", body = api_schemas::ConversationDetail),
    (status = 422, description = "Invalid fields (an unknown `assistant_id` included)", body = ValidationErrorBody),
))]

async fn create(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiJson(body): ApiJson<CreateConversation>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let kind = match body.kind.as_deref().unwrap_or("api") {
        "api" => ConversationType::Api,
        "test" => ConversationType::Test,
        _ => {
            return Err(ValidationError::new(
                "type",
                "type must be api or test (WhatsApp conversations start with the customer)",
            )
            .into())
        }
    };
    let identifier = parse_identifier(body.customer_identifier.as_deref())?;
    let conversation = start(&state, auth.workspace_id, body.assistant_id, kind, identifier, body.variables).await?;
    Ok((StatusCode::CREATED, Json(detail_json(&state, &conversation).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PostMessage {
    /// The customer's message.
    #[schema(pattern = r"\S")]
    message: String,
}

/// Adds the caller's message and answers with the assistant's reply once the turn is done.
#[utoipa::path(post, path = "/conversations/{id}/messages", tag = "conversations", request_body = PostMessage,
    params(("id" = uuid::Uuid, Path, description = "The conversation's id"), ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key is stored once")),
    responses(
        (status = 200, description = "The reply (or `ai_disabled`, or `duplicate`)", body = api_schemas::Reply),
        (status = 202, description = "The turn is still running: poll `poll`", body = api_schemas::Reply),
        (status = 404, description = "No such conversation in this workspace", body = ErrorBody),
        (status = 409, description = "`not_an_api_conversation`", body = ErrorBody),
        (status = 422, description = "Invalid body", body = ValidationErrorBody),
    ))]

async fn post_message(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PostMessage>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id: ConversationId = id.parse().map_err(|_| ApiError::NotFound("conversation"))?;
    let conversation = state.store.get_conversation(auth.workspace_id, id).await?;
    if !matches!(conversation.kind, ConversationType::Api | ConversationType::Test) {
        return Err(ApiError::Conflict {
            code: "not_an_api_conversation",
            message: "messages can be posted only to api and test conversations; reply to WhatsApp customers with agent-messages".into(),
        });
    }
    let idempotency_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    exchange(&state, &conversation, body.message, idempotency_key).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct GenerateReply {
    #[schema(value_type = uuid::Uuid)]
    assistant_id: AssistantId,
    /// Your id for the customer: their active API conversation is reused.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    customer_identifier: String,
    #[schema(pattern = r"\S")]
    message: String,
    /// Used when a conversation is started.
    #[serde(default)]
    #[schema(value_type = Object)]
    variables: serde_json::Map<String, Value>,
}

/// Finds or starts the customer's API conversation, adds the message and returns the reply
/// without sending it anywhere.
#[utoipa::path(post, path = "/generate-reply", tag = "conversations", request_body = GenerateReply,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key is stored once")),
    responses(
        (status = 200, description = "The reply (or `ai_disabled: true` when a person has taken over)", body = api_schemas::Reply),
        (status = 202, description = "The turn is still running: poll `poll`", body = api_schemas::Reply),
        (status = 422, description = "Invalid fields (an unknown `assistant_id` included)", body = ValidationErrorBody),
    ))]

async fn generate_reply(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<GenerateReply>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let identifier = parse_identifier(Some(&body.customer_identifier))?;
    let filter = ConversationFilter {
        kind: Some(ConversationType::Api),
        assistant_id: Some(body.assistant_id),
        status: Some(ConversationStatus::Active),
        customer: identifier.clone(),
        ..Default::default()
    };
    let existing = state
        .store
        .list_conversations(auth.workspace_id, &filter, PageRequest::first(1))
        .await?
        .items
        .into_iter()
        .next();
    let conversation = match existing {
        // the caller's variables update the running conversation's (a null removes one)
        Some(c) if !body.variables.is_empty() => {
            state.store.merge_conversation_variables(auth.workspace_id, c.id, &body.variables).await?
        }
        Some(c) => c,
        None => {
            start(&state, auth.workspace_id, body.assistant_id, ConversationType::Api, identifier, body.variables)
                .await?
        }
    };
    let idempotency_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    exchange(&state, &conversation, body.message, idempotency_key).await
}

/// Starts an API or test conversation with the assistant's first message (also the dashboard's
/// test chat).
pub(crate) async fn start(
    state: &AppState,
    workspace_id: confab_domain::WorkspaceId,
    assistant_id: AssistantId,
    kind: ConversationType,
    customer_identifier: Option<String>,
    variables: serde_json::Map<String, Value>,
) -> Result<Conversation, ApiError> {
    let assistant = state.store.get_assistant(workspace_id, assistant_id).await.map_err(|e| match e {
        confab_storage::StoreError::NotFound(_) => {
            ApiError::Validation(vec![ValidationError::new("assistant_id", "no such assistant in this workspace")])
        }
        other => other.into(),
    })?;
    let new = NewConversation {
        workspace_id,
        assistant_id,
        kind,
        customer_identifier,
        variables,
        first_message: assistant.first_message,
    };
    Ok(state.store.create_conversation(new, OffsetDateTime::now_utc()).await?)
}

/// Stores the caller's message, waits for the turn that answers it, and returns the reply
/// (also the dashboard's test chat).
pub(crate) async fn exchange(
    state: &AppState,
    conversation: &Conversation,
    text: String,
    idempotency_key: Option<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if text.trim().is_empty() {
        return Err(ValidationError::new("message", "message must not be empty").into());
    }
    let mut committed = state.turn_committed.subscribe();
    let inbound = InboundMessage {
        workspace_id: conversation.workspace_id,
        role: Role::User,
        conversation_type: conversation.kind,
        assistant_id: conversation.assistant_id,
        sender_id: None,
        conversation_id: Some(conversation.id),
        customer: CustomerIdentity::External(format!("conversation:{}", conversation.id)),
        customer_name: None,
        provider_message_id: idempotency_key.map(|k| format!("api:{}:{k}", conversation.id)),
        kind: MessageKind::Text,
        content: text,
        payload: Value::Null,
        reply_to: None,
        forwarded: false,
        sent_at: OffsetDateTime::now_utc(),
        response_delay: Default::default(),
        wants_reply: conversation.ai_enabled,
        system_note: None,
    };
    let message_id = match state.store.ingest(&[inbound], OffsetDateTime::now_utc()).await?[0] {
        IngestOutcome::Stored { message_id, .. } => message_id,
        IngestOutcome::Duplicate => {
            return Ok((
                StatusCode::OK,
                Json(
                    json!({ "conversation_id": conversation.id, "duplicate": true, "poll": poll_url(conversation.id) }),
                ),
            ));
        }
    };
    if !conversation.ai_enabled {
        return Ok((
            StatusCode::OK,
            Json(
                json!({ "conversation_id": conversation.id, "message_id": message_id, "ai_disabled": true, "reply": null, "function_calls": [] }),
            ),
        ));
    }
    state.turn_wake.notify_one();
    let timeout = Duration::from_secs(state.settings.api_reply_timeout_secs);
    let answered = tokio::time::timeout(timeout, async {
        loop {
            match committed.recv().await {
                Ok(id) if id == conversation.id => return true,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    if !answered {
        return Ok((
            StatusCode::ACCEPTED,
            Json(
                json!({ "conversation_id": conversation.id, "message_id": message_id, "status": "pending", "poll": poll_url(conversation.id) }),
            ),
        ));
    }
    let after = state.store.list_messages(conversation.workspace_id, conversation.id, Some(message_id), 200).await?;
    let reply: Vec<&str> = after.iter().filter(|m| m.role == Role::Assistant).map(|m| m.content.as_str()).collect();
    let function_calls: Vec<Value> = after
        .iter()
        .filter(|m| m.role == Role::Tool)
        .map(message_json)
        .flat_map(|m| m["function_calls"].as_array().cloned().unwrap_or_default())
        .collect();
    let cost: i64 = after.iter().map(|m| m.cost.0).sum();
    let handed_over = !state.store.get_conversation(conversation.workspace_id, conversation.id).await?.ai_enabled;
    Ok((
        StatusCode::OK,
        Json(json!({
            "conversation_id": conversation.id,
            "message_id": message_id,
            "reply": if reply.is_empty() { Value::Null } else { Value::String(reply.join("\n\n")) },
            "messages": after.iter().map(message_json).collect::<Vec<_>>(),
            "function_calls": function_calls,
            "cost_micros": cost,
            "ai_disabled": handed_over,
        })),
    ))
}

fn poll_url(id: ConversationId) -> String {
    format!("/api/v1/conversations/{id}")
}

fn parse_identifier(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some(id) if id.is_empty() || id.len() > 200 => {
            Err(ValidationError::new("customer_identifier", "customer_identifier must be 1 to 200 characters").into())
        }
        Some(id) => Ok(Some(id.to_string())),
    }
}
