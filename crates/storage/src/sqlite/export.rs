//! The message export's batches on SQLite: the conversations' index gives them in list
//! order, and `messages_conversation_idx` each one's messages in order, so a batch is one
//! nested-loop query that stops after `limit` rows (no sort, no temporary table).

use super::conversations::push_conversation_filter;
use super::{micros, SqliteStore};
use crate::rows::{self, EXPORT_JOIN, EXPORT_ORDER};
use crate::{ConversationFilter, ExportCursor, ExportStore, ExportedMessage, Result};
use async_trait::async_trait;
use confab_domain::WorkspaceId;
use sqlx::{QueryBuilder, Sqlite};

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
            let mut q = QueryBuilder::<Sqlite>::new(rows::export_head());
            q.push("id = ").push_bind(after.conversation.id.as_uuid());
            q.push(" AND workspace_id = ").push_bind(workspace_id.as_uuid());
            q.push(EXPORT_JOIN);
            q.push(" AND (messages.created_at, messages.id) > (")
                .push_bind(micros(after.message_created_at))
                .push(", ")
                .push_bind(after.message_id.as_uuid())
                .push(")");
            q.push(EXPORT_ORDER).push_bind(i64::from(limit));
            for row in q.build().fetch_all(&self.reader).await? {
                batch.push(rows::exported_message(&row)?);
            }
        }
        let left = limit as usize - batch.len();
        if left > 0 {
            let mut q = QueryBuilder::<Sqlite>::new(rows::export_head());
            push_conversation_filter(&mut q, workspace_id, filter);
            if let Some(after) = after {
                q.push(" AND (created_at, id) < (")
                    .push_bind(micros(after.conversation.created_at))
                    .push(", ")
                    .push_bind(after.conversation.id.as_uuid())
                    .push(")");
            }
            q.push(EXPORT_JOIN);
            q.push(EXPORT_ORDER).push_bind(left as i64);
            for row in q.build().fetch_all(&self.reader).await? {
                batch.push(rows::exported_message(&row)?);
            }
        }
        Ok(batch)
    }
}
