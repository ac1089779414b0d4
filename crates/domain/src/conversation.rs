//! One thread between a customer and an assistant on one channel.

use crate::{
    AssistantId, ConversationId, ConversationType, CustomerId, MicroUsd, SenderId, ServiceWindow, WorkspaceId,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Active,
    Ended,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "ended" => Some(Self::Ended),
            _ => None,
        }
    }
}

/// A stored conversation with its running totals.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversation {
    pub id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub kind: ConversationType,
    pub status: ConversationStatus,
    pub assistant_id: AssistantId,
    pub sender_id: Option<SenderId>,
    pub customer_id: CustomerId,
    pub ai_enabled: bool,
    pub variables: serde_json::Map<String, serde_json::Value>,
    /// When the customer last wrote (their timestamp): the WhatsApp window's anchor.
    pub last_customer_message_at: Option<OffsetDateTime>,
    pub message_count: i64,
    pub customer_message_count: i64,
    pub total_tokens: i64,
    pub total_cost: MicroUsd,
    pub created_at: OffsetDateTime,
    pub last_message_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
}

impl Conversation {
    pub fn window(&self) -> ServiceWindow {
        ServiceWindow::new(self.last_customer_message_at)
    }
}
