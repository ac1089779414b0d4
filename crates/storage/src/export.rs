//! The message export's read: keyset-paged batches of messages across many conversations, one
//! query per batch, in the order the export writes them (conversations newest first as the
//! list shows them, each one's messages oldest first).

use crate::{ConversationFilter, Cursor, Result};
use async_trait::async_trait;
use confab_domain::{ConversationType, Message, MessageId};
use time::OffsetDateTime;

/// Where a batch continues: after this message of this conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportCursor {
    /// The conversation's place in the list order.
    pub conversation: Cursor,
    pub message_created_at: OffsetDateTime,
    pub message_id: MessageId,
}

/// One exported message with what the export says of its conversation.
#[derive(Clone, Debug)]
pub struct ExportedMessage {
    pub conversation_type: ConversationType,
    pub conversation_created_at: OffsetDateTime,
    pub message: Message,
}

impl ExportedMessage {
    /// Where the batch after this message starts.
    pub fn cursor(&self) -> ExportCursor {
        ExportCursor {
            conversation: Cursor { created_at: self.conversation_created_at, id: self.message.conversation_id },
            message_created_at: self.message.created_at,
            message_id: self.message.id,
        }
    }
}

#[async_trait]
pub trait ExportStore: Send + Sync {
    /// Up to `limit` messages of the workspace's conversations matching `filter`, after
    /// `after`: conversations newest first, each one's messages oldest first. Fewer than
    /// `limit` means there are no more.
    async fn export_messages(
        &self,
        workspace_id: confab_domain::WorkspaceId,
        filter: &ConversationFilter,
        after: Option<ExportCursor>,
        limit: u32,
    ) -> Result<Vec<ExportedMessage>>;
}
