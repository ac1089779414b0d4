//! What answers a turn: given the assistant, the conversation, its recent history and the
//! customer messages waiting for an answer, produce the messages to commit. Implementations
//! never fail: an LLM that cannot be reached becomes the assistant's fallback message and a
//! hand-over, so no conversation is left silently unanswered.

use async_trait::async_trait;
use confab_assistant::PriceTable;
use confab_domain::{Assistant, Conversation, Customer, Message};
use confab_storage::NewMessage;

pub struct TurnInput<'a> {
    pub assistant: &'a Assistant,
    pub conversation: &'a Conversation,
    pub customer: Option<&'a Customer>,
    /// The conversation so far, oldest first (the pending messages included).
    pub history: &'a [Message],
    /// The customer messages this turn answers, oldest first.
    pub pending: &'a [Message],
    /// The workspace's own price table, when it has one (else the responder's default).
    pub prices: Option<&'a PriceTable>,
}

#[derive(Clone, Debug, Default)]
pub struct TurnOutcome {
    /// Replies, tool calls and notes, in order.
    pub messages: Vec<NewMessage>,
    /// Hand the conversation to a person (AI off for it).
    pub hand_over: bool,
    /// End the conversation (the assistant decided it is done).
    pub end: bool,
    /// Merged into the conversation's variables (e.g. what `collect_data` validated).
    pub variables: serde_json::Map<String, serde_json::Value>,
}

#[async_trait]
pub trait Responder: Send + Sync {
    async fn respond(&self, input: TurnInput<'_>) -> TurnOutcome;
}
