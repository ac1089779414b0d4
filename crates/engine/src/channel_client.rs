//! What the outbox needs from a channel: hand one message to the provider, and say — in the
//! provider's own terms, already classified — why it did not go.

use async_trait::async_trait;
use confab_domain::DeliveryError;
use confab_storage::OutboundJob;
use std::time::Duration;

/// A provider's client for outbound messages (Meta's Graph API, Twilio's Messages API…).
#[async_trait]
pub trait ChannelClient: Send + Sync {
    /// Sends the job's message; returns the provider's message id.
    async fn send(&self, job: &OutboundJob) -> Result<String, SendFailure>;
}

/// Why a send did not go, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendFailure {
    pub error: DeliveryError,
    pub disposition: Disposition,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// A passing condition (rate limit, 5xx, timeout): try again, after `after` if the
    /// provider said.
    Retry { after: Option<Duration> },
    /// Final for this message. `sender_needs_attention`: the fault is the number's (an
    /// expired token…), and a person must act.
    Fail { sender_needs_attention: bool },
}

/// Tells the customer their message was seen and an answer is coming (WhatsApp's blue ticks
/// and typing indicator). Best effort: a failure is logged, never fatal to the turn.
#[async_trait]
pub trait ReadReceipts: Send + Sync {
    async fn mark_read_and_typing(&self, sender: &confab_domain::Sender, provider_message_id: &str);
}
