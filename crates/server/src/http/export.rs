//! `GET /api/v1/conversations/export?format=csv|jsonl&level=conversation|message` with the list
//! filters: streamed page by page (keyset pagination through the store; at message level one
//! page of one conversation's messages at a time), so memory stays flat whatever the size of
//! the export or of any one conversation.

use super::api_schemas::ValidationErrorBody;
use super::conversation_json::{conversation_json, message_json, rfc3339};
use super::conversations::{customers_of, ListQuery};
use super::query::ApiQuery;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use confab_domain::{Conversation, MessageId, ValidationError, WorkspaceId};
use confab_storage::{ConversationFilter, Cursor, PageRequest};
use serde::Deserialize;
use serde_json::Value;
use std::collections::VecDeque;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Conversations read per store round trip.
const PAGE: u32 = 100;
/// Messages read per store round trip.
const MESSAGE_PAGE: u32 = 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Jsonl,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Conversation,
    Message,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// `csv` by default.
    #[param(value_type = Option<super::api_schemas::ExportFormat>)]
    format: Option<String>,
    /// `conversation` (default: one row per conversation) or `message` (one per message).
    #[param(value_type = Option<super::api_schemas::ExportLevel>)]
    level: Option<String>,
    /// The filters of `GET /api/v1/conversations` (`limit` and `cursor` are ignored).
    #[param(ignore)]
    #[serde(flatten)]
    filters: ListQuery,
}

const CONVERSATION_HEADER: [&str; 17] = [
    "id",
    "type",
    "status",
    "assistant_id",
    "sender_id",
    "customer_name",
    "customer_phone",
    "customer_identifier",
    "ai_enabled",
    "message_count",
    "customer_message_count",
    "total_tokens",
    "total_cost_micros",
    "created_at",
    "last_message_at",
    "ended_at",
    "variables",
];

const MESSAGE_HEADER: [&str; 15] = [
    "conversation_id",
    "conversation_type",
    "message_id",
    "role",
    "type",
    "content",
    "created_at",
    "status",
    "provider_message_id",
    "error_code",
    "error_title",
    "function_calls",
    "input_tokens",
    "output_tokens",
    "cost_micros",
];

/// Every matching conversation or message, streamed as CSV or JSON lines.
#[utoipa::path(get, path = "/conversations/export", tag = "conversations", params(ExportQuery, ListQuery),
    responses(
        (status = 200, description = "The file, streamed (`Content-Disposition: attachment`)",
            content((String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 422, description = "Invalid parameters", body = ValidationErrorBody),
    ))]
async fn export(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    export_response(state, auth.workspace_id, query.format.as_deref(), query.level.as_deref(), &query.filters).await
}

/// The streamed export of `workspace_id`'s conversations matching `filters`: what the API
/// answers, and what the dashboard's export buttons download.
pub(crate) async fn export_response(
    state: AppState,
    workspace_id: WorkspaceId,
    format: Option<&str>,
    level: Option<&str>,
    filters: &ListQuery,
) -> Result<Response, ApiError> {
    let format = match format.unwrap_or("csv") {
        "csv" => Format::Csv,
        "jsonl" => Format::Jsonl,
        _ => return Err(ValidationError::new("format", "format must be csv or jsonl").into()),
    };
    let level = match level.unwrap_or("conversation") {
        "conversation" => Level::Conversation,
        "message" => Level::Message,
        _ => return Err(ValidationError::new("level", "level must be conversation or message").into()),
    };
    // `None`: no sender has the number asked for, so nothing matches (the file is just a header)
    let filter = filters.resolve(&state, workspace_id).await?;
    let exporter = Exporter {
        state,
        workspace_id,
        filter,
        format,
        level,
        after: None,
        conversations_read: false,
        queue: VecDeque::new(),
        message_after: None,
        started: false,
        stopped: false,
    };
    let stream = futures_util::stream::unfold(exporter, |mut exporter| async move {
        match exporter.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok::<Bytes, std::io::Error>(chunk), exporter)),
            Ok(None) => None,
            Err(err) => {
                tracing::error!(error = %err, "export stopped by an error");
                exporter.stopped = true;
                Some((Err(std::io::Error::other(err.to_string())), exporter))
            }
        }
    });
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Jsonl => ("application/x-ndjson", "jsonl"),
    };
    let level_name = if level == Level::Message { "messages" } else { "conversations" };
    let disposition = format!("attachment; filename=\"confab-{level_name}.{extension}\"");
    Ok((
        [(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_DISPOSITION, disposition)],
        Body::from_stream(stream),
    )
        .into_response())
}

struct Exporter {
    state: AppState,
    workspace_id: WorkspaceId,
    /// `None` when nothing can match.
    filter: Option<ConversationFilter>,
    format: Format,
    level: Level,
    /// Where the next page of conversations starts.
    after: Option<Cursor>,
    /// No page of conversations is left to read.
    conversations_read: bool,
    /// Message level: conversations read whose messages are not all written yet, and where
    /// the first one's next page of messages starts.
    queue: VecDeque<Conversation>,
    message_after: Option<MessageId>,
    started: bool,
    /// The stream ended (finished, or stopped by an error).
    stopped: bool,
}

impl Exporter {
    /// The next piece of the file: the header first (CSV), then one page of conversations, or
    /// at message level one page of one conversation's messages — so memory stays bounded by
    /// a page whatever the size of a conversation.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
        if self.stopped {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(64 * 1024);
        if !self.started {
            self.started = true;
            if self.format == Format::Csv {
                let header: &[&str] = if self.level == Level::Message { &MESSAGE_HEADER } else { &CONVERSATION_HEADER };
                write_csv_row(&mut out, header.iter().map(|h| (*h).to_string()))?;
            }
        }
        loop {
            if let Some(conversation) = self.queue.front().cloned() {
                self.write_message_page(&mut out, &conversation).await?;
                return Ok(Some(Bytes::from(out)));
            }
            let filter = match &self.filter {
                Some(filter) if !self.conversations_read => filter,
                _ => {
                    self.stopped = true;
                    return Ok((!out.is_empty()).then(|| Bytes::from(out)));
                }
            };
            let page = self
                .state
                .store
                .list_conversations(self.workspace_id, filter, PageRequest { limit: PAGE, after: self.after })
                .await?;
            self.after = page.next;
            self.conversations_read = page.next.is_none();
            match self.level {
                Level::Conversation => {
                    self.write_conversations(&mut out, &page.items).await?;
                    return Ok(Some(Bytes::from(out)));
                }
                Level::Message => self.queue.extend(page.items),
            }
        }
    }

    async fn write_conversations(&self, out: &mut Vec<u8>, conversations: &[Conversation]) -> Result<(), ApiError> {
        let customers = customers_of(&self.state, self.workspace_id, conversations).await?;
        let now = time::OffsetDateTime::now_utc();
        for c in conversations {
            let json = conversation_json(c, customers.get(&c.customer_id), now);
            match self.format {
                Format::Jsonl => write_json_line(out, &json)?,
                Format::Csv => write_csv_row(
                    out,
                    [
                        c.id.to_string(),
                        c.kind.as_str().into(),
                        c.status.as_str().into(),
                        c.assistant_id.to_string(),
                        c.sender_id.map(|s| s.to_string()).unwrap_or_default(),
                        text(&json["customer"]["name"]),
                        text(&json["customer"]["phone"]),
                        text(&json["customer"]["identifier"]),
                        c.ai_enabled.to_string(),
                        c.message_count.to_string(),
                        c.customer_message_count.to_string(),
                        c.total_tokens.to_string(),
                        c.total_cost.0.to_string(),
                        rfc3339(c.created_at),
                        rfc3339(c.last_message_at),
                        c.ended_at.map(rfc3339).unwrap_or_default(),
                        Value::Object(c.variables.clone()).to_string(),
                    ],
                )?,
            }
        }
        Ok(())
    }

    /// Writes the next page of the first queued conversation's messages; the conversation
    /// leaves the queue with its last page.
    async fn write_message_page(&mut self, out: &mut Vec<u8>, c: &Conversation) -> Result<(), ApiError> {
        let messages =
            self.state.store.list_messages(self.workspace_id, c.id, self.message_after, MESSAGE_PAGE).await?;
        for m in &messages {
            let mut json = message_json(m);
            match self.format {
                Format::Jsonl => {
                    json["conversation_id"] = Value::String(c.id.to_string());
                    json["conversation_type"] = Value::String(c.kind.as_str().into());
                    write_json_line(out, &json)?;
                }
                Format::Csv => write_csv_row(
                    out,
                    [
                        c.id.to_string(),
                        c.kind.as_str().into(),
                        m.id.to_string(),
                        m.role.as_str().into(),
                        m.kind.as_str().into(),
                        m.content.clone(),
                        rfc3339(m.created_at),
                        m.status.as_str().into(),
                        m.provider_message_id.clone().unwrap_or_default(),
                        m.error.as_ref().and_then(|e| e.code).map(|c| c.to_string()).unwrap_or_default(),
                        m.error.as_ref().map(|e| e.title.clone()).unwrap_or_default(),
                        if json["function_calls"].as_array().is_some_and(|a| !a.is_empty()) {
                            json["function_calls"].to_string()
                        } else {
                            String::new()
                        },
                        m.usage.map(|u| u.input_tokens.to_string()).unwrap_or_default(),
                        m.usage.map(|u| u.output_tokens.to_string()).unwrap_or_default(),
                        m.cost.0.to_string(),
                    ],
                )?,
            }
        }
        if messages.len() < MESSAGE_PAGE as usize {
            self.queue.pop_front();
            self.message_after = None;
        } else {
            self.message_after = messages.last().map(|m| m.id);
        }
        Ok(())
    }
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_default()
}

fn write_csv_row(out: &mut Vec<u8>, fields: impl IntoIterator<Item = String>) -> Result<(), ApiError> {
    let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(out);
    writer.write_record(fields.into_iter().collect::<Vec<_>>()).map_err(|e| ApiError::Internal(e.into()))?;
    writer.flush().map_err(|e| ApiError::Internal(e.into()))?;
    Ok(())
}

fn write_json_line(out: &mut Vec<u8>, value: &Value) -> Result<(), ApiError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| ApiError::Internal(e.into()))?;
    out.push(b'\n');
    Ok(())
}
