//! The responder when no LLM provider is configured: it answers once with the assistant's
//! fallback message (or a plain "a person will reply" line) and hands the conversation to a
//! person, with a system note that says why — deliberate, never a silent gap.
//! (Answering from knowledge bases comes with knowledge search.)

use crate::responder::{Responder, TurnInput, TurnOutcome};
use async_trait::async_trait;
use confab_domain::Role;
use confab_storage::NewMessage;

pub const DEFAULT_HANDOVER_REPLY: &str = "Thanks for your message! A member of our team will reply here shortly.";

pub const NO_LLM_NOTE: &str =
    "No LLM provider is configured, so the assistant handed this conversation to a person. Set CONFAB_LLM_PROVIDER to let it answer.";

pub struct OfflineResponder;

#[async_trait]
impl Responder for OfflineResponder {
    async fn respond(&self, input: TurnInput<'_>) -> TurnOutcome {
        let reply = input
            .assistant
            .fallback_message
            .clone()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_HANDOVER_REPLY.into());
        TurnOutcome {
            messages: vec![NewMessage::text(Role::Assistant, reply), NewMessage::text(Role::System, NO_LLM_NOTE)],
            hand_over: true,
            end: false,
            variables: serde_json::Map::new(),
        }
    }
}
