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
    /// What the post-conversation extraction found (`status`, `summary` and the assistant's
    /// schema fields); empty until it ran.
    pub extracted: serde_json::Map<String, serde_json::Value>,
    pub extraction: ExtractionStatus,
}

/// Where a conversation's post-conversation extraction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtractionStatus {
    /// Not run yet: it runs once the conversation has ended.
    Pending,
    Running,
    Done,
    /// The model could not be reached or gave nothing usable.
    Failed,
    /// Not run (the conversation ended before extraction existed).
    Skipped,
}

impl ExtractionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Running, Self::Done, Self::Failed, Self::Skipped].into_iter().find(|v| v.as_str() == s)
    }
}

impl Conversation {
    pub fn window(&self) -> ServiceWindow {
        ServiceWindow::new(self.last_customer_message_at)
    }
}
