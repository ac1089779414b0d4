//! One entry of a conversation: who said it, what kind of thing it is, and what became of it.

use crate::{ConversationId, DeliveryError, DeliveryStatus, MessageId, MicroUsd, ToolCall, Usage, WorkspaceId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Who a message is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The customer.
    User,
    /// The AI assistant.
    Assistant,
    /// A person replying through the dashboard, the API or the WhatsApp Business app.
    Agent,
    /// An event note (hand-over, stale message not answered, window closed…).
    System,
    /// A function call with its arguments and result.
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Agent => "agent",
            Self::System => "system",
            Self::Tool => "tool",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "user" => Self::User,
            "assistant" => Self::Assistant,
            "agent" => Self::Agent,
            "system" => Self::System,
            "tool" => Self::Tool,
            _ => return None,
        })
    }
}

/// What kind of content a message carries. WhatsApp's types map one to one; details (media
/// ids, coordinates, contact cards, button payloads…) live in the message's `payload`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Image,
    Audio,
    Voice,
    Video,
    Document,
    Sticker,
    Location,
    Contacts,
    /// An interactive reply: button, list or WhatsApp Flow (`nfm_reply`).
    Interactive,
    /// A template quick-reply button press.
    Button,
    Reaction,
    Order,
    /// A WhatsApp system event (the customer changed number or identity).
    System,
    /// The customer edited an earlier message.
    Edit,
    /// The customer deleted an earlier message.
    Revoke,
    /// An outbound approved template.
    Template,
    /// Something WhatsApp could not show us (`unsupported`) or a type we do not know yet.
    Unsupported,
}

impl MessageKind {
    pub const ALL: [Self; 18] = [
        Self::Text,
        Self::Image,
        Self::Audio,
        Self::Voice,
        Self::Video,
        Self::Document,
        Self::Sticker,
        Self::Location,
        Self::Contacts,
        Self::Interactive,
        Self::Button,
        Self::Reaction,
        Self::Order,
        Self::System,
        Self::Edit,
        Self::Revoke,
        Self::Template,
        Self::Unsupported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Voice => "voice",
            Self::Video => "video",
            Self::Document => "document",
            Self::Sticker => "sticker",
            Self::Location => "location",
            Self::Contacts => "contacts",
            Self::Interactive => "interactive",
            Self::Button => "button",
            Self::Reaction => "reaction",
            Self::Order => "order",
            Self::System => "system",
            Self::Edit => "edit",
            Self::Revoke => "revoke",
            Self::Template => "template",
            Self::Unsupported => "unsupported",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub role: Role,
    pub kind: MessageKind,
    /// The text, caption, or a short human-readable summary of non-text content.
    pub content: String,
    /// Structured details of the content, as the channel gave them.
    pub payload: serde_json::Value,
    /// The provider's id (`wamid…`, Twilio `SM…`), unique per workspace.
    pub provider_message_id: Option<String>,
    pub status: DeliveryStatus,
    pub error: Option<DeliveryError>,
    /// The provider id of the message this one replies to.
    pub reply_to: Option<String>,
    pub forwarded: bool,
    /// When the author sent it: the customer's timestamp for inbound, ours for outbound.
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    /// When confab stored it.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub cost: MicroUsd,
    pub usage: Option<Usage>,
    pub tool_call: Option<ToolCall>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_roles_round_trip() {
        for k in MessageKind::ALL {
            assert_eq!(MessageKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
        for r in [Role::User, Role::Assistant, Role::Agent, Role::System, Role::Tool] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
