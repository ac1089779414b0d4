//! An AI persona and the settings that bound it.

use crate::{
    AssistantId, Availability, DataField, KnowledgeBaseId, KnowledgeMode, ToolName, ValidationError, WorkspaceId,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How long to wait after a customer message before answering, so a burst of messages becomes
/// one turn. 0 to 300 seconds, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ResponseDelay(i64);

impl ResponseDelay {
    pub const MAX_MS: i64 = 300_000;

    pub fn from_millis(ms: i64) -> Result<Self, ValidationError> {
        if (0..=Self::MAX_MS).contains(&ms) {
            Ok(Self(ms))
        } else {
            Err(ValidationError::new("response_delay_ms", "response_delay_ms must be between 0 and 300000 (5 minutes)"))
        }
    }

    pub fn as_millis(self) -> i64 {
        self.0
    }

    pub fn as_duration(self) -> time::Duration {
        time::Duration::milliseconds(self.0)
    }
}

impl TryFrom<i64> for ResponseDelay {
    type Error = ValidationError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Self::from_millis(v)
    }
}

impl From<ResponseDelay> for i64 {
    fn from(v: ResponseDelay) -> Self {
        v.0
    }
}

/// Minutes of silence after which a conversation ends: 1 to 1440, default 30.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct InactivityTimeout(i64);

impl InactivityTimeout {
    pub fn from_minutes(minutes: i64) -> Result<Self, ValidationError> {
        if (1..=1440).contains(&minutes) {
            Ok(Self(minutes))
        } else {
            Err(ValidationError::new(
                "inactivity_timeout_minutes",
                "inactivity_timeout_minutes must be between 1 and 1440 (24 hours)",
            ))
        }
    }

    pub fn as_minutes(self) -> i64 {
        self.0
    }
}

impl Default for InactivityTimeout {
    fn default() -> Self {
        Self(30)
    }
}

impl TryFrom<i64> for InactivityTimeout {
    type Error = ValidationError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Self::from_minutes(v)
    }
}

impl From<InactivityTimeout> for i64 {
    fn from(v: InactivityTimeout) -> Self {
        v.0
    }
}

/// LLM sampling temperature, 0.0 to 2.0.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Temperature(f64);

impl Temperature {
    pub fn new(v: f64) -> Result<Self, ValidationError> {
        if v.is_finite() && (0.0..=2.0).contains(&v) {
            Ok(Self(v))
        } else {
            Err(ValidationError::new("temperature", "temperature must be between 0 and 2"))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Temperature {
    type Error = ValidationError;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<Temperature> for f64 {
    fn from(v: Temperature) -> Self {
        v.0
    }
}

/// What a customer's message does once their conversation has ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterEnd {
    /// It starts a new conversation (its own history, variables and extraction).
    #[default]
    NewConversation,
    /// It reopens the customer's last ended conversation, which continues where it stopped
    /// (and is extracted again when it ends again).
    Reopen,
}

impl AfterEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewConversation => "new_conversation",
            Self::Reopen => "reopen",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "new_conversation" => Ok(Self::NewConversation),
            "reopen" => Ok(Self::Reopen),
            _ => Err(ValidationError::new("after_end", "after_end must be new_conversation or reopen")),
        }
    }
}

/// An assistant. The same assistant serves every channel.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assistant {
    pub id: AssistantId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub system_prompt: String,
    pub first_message: Option<String>,
    pub fallback_message: Option<String>,
    pub response_delay: ResponseDelay,
    pub inactivity_timeout: InactivityTimeout,
    /// An IANA time-zone name, e.g. `Europe/Madrid`.
    pub timezone: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub temperature: Option<Temperature>,
    pub tools: Vec<ToolName>,
    pub knowledge_base_ids: Vec<KnowledgeBaseId>,
    pub extraction_schema: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// How the assistant uses its knowledge bases.
    pub knowledge_mode: KnowledgeMode,
    /// What `collect_data` asks for.
    pub data_fields: Vec<DataField>,
    /// When `schedule_appointment` may book; `None` until the assistant is given hours.
    pub availability: Option<Availability>,
    /// What a customer's message does after their conversation ended.
    pub after_end: AfterEnd,
}

/// Checks an assistant's name: 1 to 100 characters after trimming.
pub fn parse_assistant_name(name: &str) -> Result<String, ValidationError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ValidationError::new("name", "name must be 1 to 100 characters"));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_enforced() {
        assert!(ResponseDelay::from_millis(0).is_ok());
        assert!(ResponseDelay::from_millis(300_000).is_ok());
        assert!(ResponseDelay::from_millis(300_001).is_err());
        assert!(ResponseDelay::from_millis(-1).is_err());
        assert!(InactivityTimeout::from_minutes(0).is_err());
        assert!(InactivityTimeout::from_minutes(1441).is_err());
        assert_eq!(InactivityTimeout::default().as_minutes(), 30);
        assert!(Temperature::new(f64::NAN).is_err());
        assert!(Temperature::new(2.1).is_err());
        assert!(serde_json::from_str::<ResponseDelay>("400000").is_err());
        assert!(parse_assistant_name("   ").is_err());
    }
}
