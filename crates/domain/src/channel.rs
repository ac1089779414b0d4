//! Which channel a conversation runs on, and which provider carries a WhatsApp number.

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A conversation's type, as the dashboard filters it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationType {
    Whatsapp,
    Widget,
    Test,
    Api,
}

impl ConversationType {
    pub const ALL: [Self; 4] = [Self::Whatsapp, Self::Widget, Self::Test, Self::Api];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Whatsapp => "whatsapp",
            Self::Widget => "widget",
            Self::Test => "test",
            Self::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ValidationError::new("type", "type must be one of whatsapp, widget, test, api"))
    }
}

impl fmt::Display for ConversationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who carries a WhatsApp sender's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Meta's WhatsApp Cloud API (Graph API).
    Meta,
    Twilio,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Meta => "meta",
            Self::Twilio => "twilio",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "meta" => Ok(Self::Meta),
            "twilio" => Ok(Self::Twilio),
            _ => Err(ValidationError::new("provider", "provider must be meta or twilio")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for t in ConversationType::ALL {
            assert_eq!(ConversationType::parse(t.as_str()).unwrap(), t);
        }
        assert!(ConversationType::parse("sms").is_err());
        assert_eq!(Provider::parse("twilio").unwrap(), Provider::Twilio);
        assert!(Provider::parse("Meta").is_err());
    }
}
