//! What confab asks a language model, in no provider's terms.
//!
//! This module owns the provider-neutral request: the system prompt, the conversation so far
//! (customer text, the assistant's earlier answers and tool calls, tool results), the tools the
//! model may call and how it must choose among them. Each client turns a [`ChatRequest`] into
//! its own wire format (`openai_wire`, `anthropic_wire`); nothing here knows either.
//!
//! It does not assemble prompts, fill variables or decide which tools an assistant has: the
//! turn does that and hands the result here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One call to a chat model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model's name as its provider spells it, e.g. `gpt-4o-mini` or `claude-3-5-haiku-latest`.
    pub model: String,
    /// The system prompt; empty for none.
    pub system: String,
    /// The conversation so far, oldest first.
    pub messages: Vec<ChatMessage>,
    /// The functions the model may call; empty for none.
    pub tools: Vec<ToolSpec>,
    /// How the model must choose among `tools`. Ignored when there are none.
    pub tool_choice: ToolChoice,
    /// Sampling temperature, 0 to 2 (Anthropic accepts 0 to 1: its client clamps).
    pub temperature: Option<f64>,
    /// The longest answer to generate, in tokens. Anthropic requires one: its client supplies
    /// a default when this is `None`.
    pub max_tokens: Option<u32>,
}

/// One entry of the conversation sent to the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum ChatMessage {
    /// What the customer wrote.
    User { content: String },
    /// What the model answered earlier: text, tool calls, or both.
    Assistant {
        content: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallRequest>,
    },
    /// The result of the tool call `call_id` (a [`ToolCallRequest::id`]), usually JSON text.
    Tool { call_id: String, content: String },
}

impl ChatMessage {
    pub fn user(content: impl Into<String>) -> Self {
        Self::User { content: content.into() }
    }

    /// An earlier text answer of the model.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::Assistant { content: Some(content.into()), tool_calls: Vec::new() }
    }

    /// An earlier answer of the model that called tools (and perhaps said something first).
    pub fn assistant_tool_calls(content: Option<String>, tool_calls: Vec<ToolCallRequest>) -> Self {
        Self::Assistant { content, tool_calls }
    }

    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self::Tool { call_id: call_id.into(), content: content.into() }
    }
}

/// A function the model may call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// 1 to 64 of `a-z A-Z 0-9 _ -` (see `confab_domain::ToolName`).
    pub name: String,
    /// What the tool does and when to use it: the model reads this.
    pub description: String,
    /// A JSON Schema object describing the arguments, e.g. `{"type": "object", "properties":
    /// {...}, "required": [...]}`.
    pub parameters: Value,
}

impl ToolSpec {
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Self { name: name.into(), description: description.into(), parameters }
    }
}

/// How the model must choose among the tools.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides whether to call tools.
    #[default]
    Auto,
    /// The model must not call tools (it still sees them).
    None,
    /// The model must call at least one tool.
    Required,
    /// The model must call the named tool.
    Tool(String),
}

/// A tool call the model asked for (or asked for earlier, when sent back in the history).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRequest {
    /// The provider's call id (`call_…`, `toolu_…`); the tool's result must quote it.
    pub id: String,
    pub name: String,
    /// The arguments as parsed JSON (usually an object).
    pub arguments: Value,
}

impl ToolCallRequest {
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> Self {
        Self { id: id.into(), name: name.into(), arguments }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_round_trip_through_serde() {
        let messages = vec![
            ChatMessage::user("hi"),
            ChatMessage::assistant_tool_calls(None, vec![ToolCallRequest::new("c1", "f", json!({"a": 1}))]),
            ChatMessage::tool_result("c1", "{\"ok\":true}"),
            ChatMessage::assistant("done"),
        ];
        let value = serde_json::to_value(&messages).unwrap();
        assert_eq!(value[0], json!({"role": "user", "content": "hi"}));
        assert_eq!(value[2], json!({"role": "tool", "call_id": "c1", "content": "{\"ok\":true}"}));
        assert_eq!(value[3], json!({"role": "assistant", "content": "done"}));
        let back: Vec<ChatMessage> = serde_json::from_value(value).unwrap();
        assert_eq!(back, messages);
        assert_eq!(ChatRequest::default().tool_choice, ToolChoice::Auto);
    }
}
