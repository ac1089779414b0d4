//! A WhatsApp business number linked to an assistant.

use crate::{AssistantId, PhoneNumber, Provider, Secret, SenderId, ValidationError, WorkspaceId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderStatus {
    Online,
    Offline,
    /// Something needs a person: the access token expired, the number was flagged…
    NeedsAttention,
}

impl SenderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Offline => "offline",
            Self::NeedsAttention => "needs_attention",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "online" => Some(Self::Online),
            "offline" => Some(Self::Offline),
            "needs_attention" => Some(Self::NeedsAttention),
            _ => None,
        }
    }
}

/// The provider's address of the number: Meta's phone-number id (digits) or the Twilio sender
/// (`whatsapp:+E164`, kept as the E.164 number).
pub fn parse_provider_sender_id(provider: Provider, raw: &str) -> Result<String, ValidationError> {
    let raw = raw.trim();
    match provider {
        Provider::Meta => {
            if raw.is_empty() || raw.len() > 32 || !raw.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ValidationError::new(
                    "phone_number_id",
                    "Meta's phone number id is the digits shown in WhatsApp Manager",
                ));
            }
            Ok(raw.to_string())
        }
        Provider::Twilio => {
            let number = raw.strip_prefix("whatsapp:").unwrap_or(raw);
            Ok(PhoneNumber::parse(number).map_err(|e| ValidationError::new("phone_number_id", e.message))?.to_string())
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    pub id: SenderId,
    pub workspace_id: WorkspaceId,
    pub provider: Provider,
    /// Meta phone-number id or the Twilio sender number; see [`parse_provider_sender_id`].
    pub provider_sender_id: String,
    pub display_phone: PhoneNumber,
    pub access_token: Secret,
    pub assistant_id: AssistantId,
    pub ai_enabled: bool,
    pub status: SenderStatus,
    pub quality_rating: Option<String>,
    pub messaging_limit: Option<String>,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_sender_ids() {
        assert_eq!(parse_provider_sender_id(Provider::Meta, " 106540352242922 ").unwrap(), "106540352242922");
        assert!(parse_provider_sender_id(Provider::Meta, "+1555").is_err());
        assert_eq!(parse_provider_sender_id(Provider::Twilio, "whatsapp:+14155238886").unwrap(), "+14155238886");
        assert!(parse_provider_sender_id(Provider::Twilio, "whatsapp:abc").is_err());
    }
}
