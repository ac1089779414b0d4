//! What a channel hands to ingest: one observed message (from the customer, or from a person
//! at the business replying outside confab), already parsed and routed.

use crate::{
    AssistantId, ConversationId, ConversationType, CustomerIdentity, MessageId, MessageKind, ResponseDelay, Role,
    SenderId, WorkspaceId,
};
use time::OffsetDateTime;

/// One inbound message, routed to a workspace, assistant and (for WhatsApp) sender.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundMessage {
    pub workspace_id: WorkspaceId,
    /// `User` for the customer; `Agent` for a person who replied from the WhatsApp Business
    /// app (such a message neither opens the window nor asks for a reply).
    pub role: Role,
    pub conversation_type: ConversationType,
    pub assistant_id: AssistantId,
    pub sender_id: Option<SenderId>,
    /// The conversation, when the channel already knows it (API and test chats); otherwise
    /// ingest finds the customer's active conversation or starts one.
    pub conversation_id: Option<ConversationId>,
    pub customer: CustomerIdentity,
    pub customer_name: Option<String>,
    /// The provider's id; the idempotency key. `None` only for channels without one.
    pub provider_message_id: Option<String>,
    pub kind: MessageKind,
    pub content: String,
    pub payload: serde_json::Value,
    pub reply_to: Option<String>,
    pub forwarded: bool,
    /// The customer's own timestamp: the window counts from here.
    pub sent_at: OffsetDateTime,
    /// From the assistant: the conversation becomes due this long after the message arrives.
    pub response_delay: ResponseDelay,
    /// Whether the assistant should answer (false for stale replays and AI-off senders: the
    /// message is stored but never becomes pending work).
    pub wants_reply: bool,
    /// A system note stored right after the message (e.g. why it was not answered).
    pub system_note: Option<String>,
}

/// What ingest did with one inbound message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngestOutcome {
    Stored {
        conversation_id: ConversationId,
        message_id: MessageId,
        conversation_created: bool,
    },
    /// The provider id was seen before; nothing changed.
    Duplicate,
}
