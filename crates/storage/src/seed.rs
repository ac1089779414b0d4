//! Bulk seeding (`confab bench seed`): whole conversations — customers, conversations and
//! their messages — written set-based in one transaction per batch, straight into the tables,
//! for demos and for measuring the read paths on realistic volumes.
//!
//! The caller says what happened (who wrote what, when, at what cost); the store derives
//! everything else a conversation row keeps about its messages here, once for both backends,
//! so the counters always agree with the messages: `message_count`, `customer_message_count`,
//! `total_tokens`, `total_cost_micros`, `last_message_at`, `last_customer_message_at`, and the
//! work-queue sequence (every customer message numbered and answered, nothing due).

use crate::{Result, StoreError};
use async_trait::async_trait;
use confab_domain::{
    AssistantId, ConversationId, ConversationStatus, ConversationType, CustomerId, DeliveryError, DeliveryStatus,
    MessageId, MessageKind, MicroUsd, PhoneNumber, Role, SenderId, ToolCall, Usage, WorkspaceId,
};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Writes seeded history in bulk. Not for live traffic: it bypasses ingest (no duplicate
/// checks, no work queue) and, between [`SeedStore::begin_bulk_load`] and
/// [`SeedStore::end_bulk_load`], trades durability for speed.
#[async_trait]
pub trait SeedStore: Send + Sync {
    /// Tunes the connection for bulk loading (SQLite: no fsync, a large page cache;
    /// PostgreSQL: asynchronous commit). A crash meanwhile may lose the last batches.
    async fn begin_bulk_load(&self) -> Result<()>;
    /// Inserts one batch in one transaction. A batch holds whole conversations: every message
    /// of each of its conversations, and the customers first seen in it.
    async fn seed_batch(&self, batch: &SeedBatch) -> Result<()>;
    /// Recomputes the metrics rollup (which the bulk inserts bypass), restores the normal
    /// settings and refreshes the planner's statistics.
    async fn end_bulk_load(&self) -> Result<()>;
}

/// Customers, conversations and messages to insert together.
#[derive(Clone, Debug, Default)]
pub struct SeedBatch {
    pub customers: Vec<SeedCustomer>,
    pub conversations: Vec<SeedConversation>,
    /// Each conversation's messages in the order they were written.
    pub messages: Vec<SeedMessage>,
}

#[derive(Clone, Debug)]
pub struct SeedCustomer {
    pub id: CustomerId,
    pub workspace_id: WorkspaceId,
    pub phone: Option<PhoneNumber>,
    pub external_identifier: Option<String>,
    pub name: Option<String>,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct SeedConversation {
    pub id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub kind: ConversationType,
    pub status: ConversationStatus,
    pub assistant_id: AssistantId,
    pub sender_id: Option<SenderId>,
    pub customer_id: CustomerId,
    pub variables: serde_json::Map<String, serde_json::Value>,
    pub created_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
}

#[derive(Clone, Debug)]
pub struct SeedMessage {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub role: Role,
    pub kind: MessageKind,
    pub content: String,
    pub payload: serde_json::Value,
    pub provider_message_id: Option<String>,
    pub status: DeliveryStatus,
    pub error: Option<DeliveryError>,
    pub created_at: OffsetDateTime,
    pub cost: MicroUsd,
    pub usage: Option<Usage>,
    pub tool_call: Option<ToolCall>,
    pub response_time_ms: Option<i64>,
    pub llm_latency_ms: Option<i64>,
}

/// What a conversation row keeps about its messages, derived from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SeedTotals {
    pub message_count: i64,
    pub customer_message_count: i64,
    pub total_tokens: i64,
    pub total_cost_micros: i64,
    pub last_message_at: OffsetDateTime,
    pub last_customer_message_at: Option<OffsetDateTime>,
}

impl SeedBatch {
    /// Each conversation's totals (in `conversations` order) and each message's inbound seq
    /// (in `messages` order: 1, 2, … for a conversation's customer messages, `None` for
    /// others). Fails when a message names a conversation outside the batch.
    pub(crate) fn derive(&self) -> Result<(Vec<SeedTotals>, Vec<Option<i64>>)> {
        let index: HashMap<ConversationId, usize> =
            self.conversations.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        let mut totals: Vec<SeedTotals> = self
            .conversations
            .iter()
            .map(|c| SeedTotals {
                message_count: 0,
                customer_message_count: 0,
                total_tokens: 0,
                total_cost_micros: 0,
                last_message_at: c.created_at,
                last_customer_message_at: None,
            })
            .collect();
        let mut seqs = Vec::with_capacity(self.messages.len());
        for m in &self.messages {
            let i = *index.get(&m.conversation_id).ok_or_else(|| {
                StoreError::Corrupt(format!("seeded message {} names a conversation outside its batch", m.id))
            })?;
            let t = &mut totals[i];
            t.message_count += 1;
            t.total_cost_micros += m.cost.0;
            t.total_tokens += m.usage.map_or(0, |u| i64::try_from(u.input_tokens + u.output_tokens).unwrap_or(0));
            t.last_message_at = t.last_message_at.max(m.created_at);
            if m.role == Role::User {
                t.customer_message_count += 1;
                t.last_customer_message_at =
                    Some(t.last_customer_message_at.map_or(m.created_at, |l| l.max(m.created_at)));
                seqs.push(Some(t.customer_message_count));
            } else {
                seqs.push(None);
            }
        }
        Ok((totals, seqs))
    }
}

/// A tool call as its column stores it.
pub(crate) fn tool_call_json(call: Option<&ToolCall>) -> Result<Option<String>> {
    call.map(serde_json::to_string).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))
}
