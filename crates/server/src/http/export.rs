//! `GET /api/v1/conversations/export?format=csv|jsonl&level=conversation|message` with the list
//! filters: streamed page by page through keyset pagination (at message level one query per
//! batch of a few hundred messages across as many conversations as they fill), each page
//! written straight into the chunk the response sends, so memory stays flat whatever the size
//! of the export or of any one conversation. At message level a task of its own reads the
//! next batch while the current one is written and sent, so reading and writing use both
//! cores; it stays at most one batch ahead.

use super::api_schemas::ValidationErrorBody;
use super::conversation_json::conversation_json;
use super::conversations::{customers_of, ListQuery};
use super::export_rows::{
    write_conversation_csv, write_header, write_message_csv, write_message_json, CONVERSATION_HEADER, MESSAGE_HEADER,
};
use super::query::ApiQuery;
use super::{ApiError, ApiKeyAuth};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use confab_domain::{Conversation, ValidationError, WorkspaceId};
use confab_storage::{ConversationFilter, Cursor, ExportedMessage, PageRequest, StoreError};
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Conversations read per store round trip.
const PAGE: u32 = 100;
/// Messages read per store round trip (and written per chunk of the response).
const MESSAGE_BATCH: u32 = 500;

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
        batches: None,
        read: false,
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
    /// Conversation level: where the next page of conversations starts.
    after: Option<Cursor>,
    /// Message level: the batches the read-ahead task has read (started with the first chunk).
    batches: Option<mpsc::Receiver<Result<Vec<ExportedMessage>, StoreError>>>,
    /// Nothing is left to read.
    read: bool,
    started: bool,
    /// The stream ended (finished, or stopped by an error).
    stopped: bool,
}

impl Exporter {
    /// The next piece of the file: the header first (CSV), then one page of conversations or
    /// one batch of messages — so memory stays bounded by a page whatever the size of the
    /// export or of a conversation.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
        if self.stopped {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(256 * 1024);
        if !self.started {
            self.started = true;
            if self.format == Format::Csv {
                write_header(
                    &mut out,
                    if self.level == Level::Message { &MESSAGE_HEADER } else { &CONVERSATION_HEADER },
                );
            }
        }
        let filter = match &self.filter {
            Some(filter) if !self.read => filter,
            _ => {
                self.stopped = true;
                return Ok((!out.is_empty()).then(|| Bytes::from(out)));
            }
        };
        match self.level {
            Level::Conversation => {
                let page = self
                    .state
                    .store
                    .list_conversations(self.workspace_id, filter, PageRequest { limit: PAGE, after: self.after })
                    .await?;
                self.after = page.next;
                self.read = page.next.is_none();
                self.write_conversations(&mut out, &page.items).await?;
            }
            Level::Message => {
                let batches = self
                    .batches
                    .get_or_insert_with(|| read_ahead(self.state.clone(), self.workspace_id, filter.clone()));
                let Some(batch) = batches.recv().await else {
                    self.stopped = true;
                    return Ok((!out.is_empty()).then(|| Bytes::from(out)));
                };
                let mut scratch = Vec::new();
                for message in &batch? {
                    match self.format {
                        Format::Csv => write_message_csv(&mut out, &mut scratch, message),
                        Format::Jsonl => {
                            write_message_json(&mut out, message).map_err(|e| ApiError::Internal(e.into()))?
                        }
                    }
                }
            }
        }
        Ok(Some(Bytes::from(out)))
    }

    async fn write_conversations(&self, out: &mut Vec<u8>, conversations: &[Conversation]) -> Result<(), ApiError> {
        let customers = customers_of(&self.state, self.workspace_id, conversations).await?;
        let now = time::OffsetDateTime::now_utc();
        for c in conversations {
            let customer = customers.get(&c.customer_id);
            match self.format {
                Format::Csv => write_conversation_csv(out, c, customer),
                Format::Jsonl => {
                    serde_json::to_writer(&mut *out, &conversation_json(c, customer, now))
                        .map_err(|e| ApiError::Internal(e.into()))?;
                    out.push(b'\n');
                }
            }
        }
        Ok(())
    }
}

/// Reads the export's message batches one after another into a channel that holds one, so the
/// next batch is read while the last is written — and only then: a batch is read once the
/// channel has room for it, so at most two are in memory. Stops after the last batch, after an
/// error, or when the response is dropped (the client went away).
fn read_ahead(
    state: AppState,
    workspace_id: WorkspaceId,
    filter: ConversationFilter,
) -> mpsc::Receiver<Result<Vec<ExportedMessage>, StoreError>> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut after = None;
        loop {
            let Ok(room) = tx.reserve().await else { break };
            let batch = state.store.export_messages(workspace_id, &filter, after, MESSAGE_BATCH).await;
            let last = match &batch {
                Ok(batch) => {
                    after = batch.last().map(ExportedMessage::cursor);
                    batch.len() < MESSAGE_BATCH as usize
                }
                Err(_) => true,
            };
            room.send(batch);
            if last {
                break;
            }
        }
    });
    rx
}
