//! The message export's batches on SQLite: the conversations' index gives them in list
//! order, and `messages_conversation_idx` each one's messages in order, so a batch is one
//! nested-loop query that stops after `limit` rows (no sort, no temporary table). SQLite
//! packs the batch into one JSON value ([`super::packed_rows`]), so the whole batch crosses
//! from sqlx's worker thread as one value instead of row by row.

use super::conversations::push_conversation_filter;
use super::packed_rows::{PackedColumns, Packing};
use super::{micros, SqliteStore};
use crate::rows::{self, EXPORT_CONVERSATION_COLUMNS, EXPORT_JOIN, EXPORT_ORDER, MESSAGE_COLUMNS};
use crate::{ConversationFilter, ExportCursor, ExportStore, ExportedMessage, Result};
use async_trait::async_trait;
use confab_domain::WorkspaceId;
use sqlx::{QueryBuilder, Sqlite};
use std::sync::LazyLock;

/// An exported message's columns, packed.
static COLUMNS: LazyLock<PackedColumns> = LazyLock::new(|| {
    let names = MESSAGE_COLUMNS.split(", ").chain(EXPORT_CONVERSATION_COLUMNS.split(", "));
    let columns: Vec<_> = names
        .map(|name| {
            let packing = match name {
                "id" | "workspace_id" | "conversation_id" => Packing::Uuid,
                "payload" | "tool_call" => Packing::Json,
                _ => Packing::Plain,
            };
            (name, name, packing)
        })
        .collect();
    PackedColumns::new(&columns)
});

/// The start of a packed batch query: the packed rows in the export's order, one value.
fn packed_head() -> String {
    format!(
        "SELECT '[' || group_concat(packed, ',' ORDER BY order_1 DESC, order_2 DESC, order_3, order_4) || ']' \
         FROM ({}",
        rows::export_head_selecting(&format!(
            "{} AS packed, conversation_created_at AS order_1, export_conversation_id AS order_2, \
             messages.created_at AS order_3, messages.id AS order_4",
            COLUMNS.json_array()
        ))
    )
}

impl SqliteStore {
    async fn packed_batch(
        &self,
        mut q: QueryBuilder<'_, Sqlite>,
        limit: usize,
        batch: &mut Vec<ExportedMessage>,
    ) -> Result<()> {
        q.push(EXPORT_ORDER).push_bind(limit as i64).push(")");
        let packed: Option<String> = q.build_query_scalar().fetch_one(&self.reader).await?;
        for row in COLUMNS.unpack(packed.as_deref())? {
            batch.push(rows::exported_message(&row)?);
        }
        Ok(())
    }
}

#[async_trait]
impl ExportStore for SqliteStore {
    async fn export_messages(
        &self,
        workspace_id: WorkspaceId,
        filter: &ConversationFilter,
        after: Option<ExportCursor>,
        limit: u32,
    ) -> Result<Vec<ExportedMessage>> {
        let mut batch = Vec::with_capacity(limit as usize);
        if let Some(after) = after {
            // the rest of the conversation the last batch stopped in
            let mut q = QueryBuilder::<Sqlite>::new(packed_head());
            q.push("id = ").push_bind(after.conversation.id.as_uuid());
            q.push(" AND workspace_id = ").push_bind(workspace_id.as_uuid());
            q.push(EXPORT_JOIN);
            q.push(" AND (messages.created_at, messages.id) > (")
                .push_bind(micros(after.message_created_at))
                .push(", ")
                .push_bind(after.message_id.as_uuid())
                .push(")");
            self.packed_batch(q, limit as usize, &mut batch).await?;
        }
        let left = limit as usize - batch.len();
        if left > 0 {
            let mut q = QueryBuilder::<Sqlite>::new(packed_head());
            push_conversation_filter(&mut q, workspace_id, filter);
            if let Some(after) = after {
                q.push(" AND (created_at, id) < (")
                    .push_bind(micros(after.conversation.created_at))
                    .push(", ")
                    .push_bind(after.conversation.id.as_uuid())
                    .push(")");
            }
            q.push(EXPORT_JOIN);
            self.packed_batch(q, left, &mut batch).await?;
        }
        Ok(batch)
    }
}
