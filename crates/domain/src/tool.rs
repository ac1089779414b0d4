//! Tools an assistant can call, and the record of one call.

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A function name as LLM providers accept it: 1 to 64 of `a-z A-Z 0-9 _ -`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ToolName(String);

impl ToolName {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(ValidationError::new(
                "tools",
                format!("`{s}` is not a valid tool name: use 1 to 64 letters, digits, _ or -"),
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ToolName {
    type Error = ValidationError;
    fn try_from(v: String) -> Result<Self, Self::Error> {
        Self::parse(&v)
    }
}

impl From<ToolName> for String {
    fn from(v: ToolName) -> Self {
        v.0
    }
}

impl fmt::Debug for ToolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ToolName({})", self.0)
    }
}

impl fmt::Display for ToolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The built-in tools every assistant may enable.
pub const BUILT_IN_TOOLS: [&str; 5] =
    ["transfer_to_human", "end_conversation", "collect_data", "schedule_appointment", "search_knowledge_base"];

/// One function call made during a turn: stored as a `tool` message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id, which ties the call to its result.
    pub call_id: String,
    pub name: String,
    pub arguments: serde_json::Value,
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names() {
        for name in BUILT_IN_TOOLS {
            assert!(ToolName::parse(name).is_ok());
        }
        assert!(ToolName::parse("get-order_2").is_ok());
        assert!(ToolName::parse("has space").is_err());
        assert!(ToolName::parse(&"a".repeat(65)).is_err());
    }
}
