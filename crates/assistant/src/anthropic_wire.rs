//! The Anthropic Messages API wire format (`POST /v1/messages`), as Anthropic documents it.
//!
//! This module owns three translations, all pure:
//! - [`request_body`]: a [`ChatRequest`] as the JSON body. The system prompt is the top-level
//!   `system` field (Anthropic has no system role); `max_tokens` is required, so a default is
//!   supplied; `temperature` is clamped to Anthropic's 0–1. An earlier answer with tool calls
//!   becomes an `assistant` message of content blocks (`{"type": "text"}` first when it said
//!   something, then `{"type": "tool_use", "id", "name", "input"}`); consecutive tool results
//!   become *one* `user` message of `{"type": "tool_result", "tool_use_id", "content"}` blocks,
//!   as Anthropic requires every result of a turn's calls in the next user message. Tools are
//!   `{name, description, input_schema}`; `tool_choice` is `{"type": "auto" | "none" | "any"}`
//!   or `{"type": "tool", "name"}` (with `disable_parallel_tool_use` when configured). An
//!   earlier answer with no text and no calls is left out: Anthropic refuses empty content.
//! - [`parse_response`]: the Message object (`content` blocks of `text` and `tool_use`,
//!   `stop_reason`, `model`, `usage`) as a [`ChatResponse`]. Anthropic's `input_tokens` counts
//!   only uncached input, so confab's input tokens are `input_tokens + cache_read_input_tokens
//!   + cache_creation_input_tokens`, of which `cache_read_input_tokens` are cached.
//! - [`parse_error_body`]: `{"type": "error", "error": {"type", "message"}, "request_id"}`.
//!
//! It does no I/O; `anthropic_client` sends what this builds.

use crate::llm::{
    body_excerpt, BilledAttempt, ChatMessage, ChatRequest, ChatResponse, FinishReason, LlmError, LlmErrorKind,
    ProviderErrorBody, ToolCallRequest, ToolChoice,
};
use confab_domain::Usage;
use serde_json::{json, Map, Value};

/// The provider name Anthropic clients report.
pub const PROVIDER: &str = "anthropic";

/// `max_tokens` when the request gives none.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// Choices of the wire format that are the client's, not the request's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnthropicWireOptions {
    /// `max_tokens` when the request has none (Anthropic requires it).
    pub default_max_tokens: u32,
    /// Sends `disable_parallel_tool_use: true` in `tool_choice`: at most one call per answer.
    pub disable_parallel_tool_use: bool,
}

impl Default for AnthropicWireOptions {
    fn default() -> Self {
        Self { default_max_tokens: DEFAULT_MAX_TOKENS, disable_parallel_tool_use: false }
    }
}

/// The JSON body of a Messages API request for `request`.
pub fn request_body(request: &ChatRequest, options: &AnthropicWireOptions) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    body.insert("max_tokens".into(), json!(request.max_tokens.unwrap_or(options.default_max_tokens)));
    if !request.system.is_empty() {
        body.insert("system".into(), json!(request.system));
    }
    body.insert("messages".into(), Value::Array(messages(&request.messages)));
    if !request.tools.is_empty() {
        let tools = request.tools.iter().map(|tool| {
            let schema = if tool.parameters.is_null() {
                json!({"type": "object", "properties": {}})
            } else {
                tool.parameters.clone()
            };
            let mut spec = Map::new();
            spec.insert("name".into(), json!(tool.name));
            if !tool.description.is_empty() {
                spec.insert("description".into(), json!(tool.description));
            }
            spec.insert("input_schema".into(), schema);
            Value::Object(spec)
        });
        body.insert("tools".into(), tools.collect());
        let mut choice = match &request.tool_choice {
            ToolChoice::Auto => json!({ "type": "auto" }),
            ToolChoice::None => json!({ "type": "none" }),
            ToolChoice::Required => json!({ "type": "any" }),
            ToolChoice::Tool(name) => json!({ "type": "tool", "name": name }),
        };
        if options.disable_parallel_tool_use && request.tool_choice != ToolChoice::None {
            choice["disable_parallel_tool_use"] = json!(true);
        }
        body.insert("tool_choice".into(), choice);
    }
    if let Some(temperature) = request.temperature {
        let clamped = temperature.clamp(0.0, 1.0);
        if clamped != temperature {
            tracing::debug!(temperature, clamped, "anthropic accepts temperatures from 0 to 1");
        }
        body.insert("temperature".into(), json!(clamped));
    }
    Value::Object(body)
}

/// The conversation as Anthropic messages, consecutive tool results grouped.
fn messages(history: &[ChatMessage]) -> Vec<Value> {
    let mut out = Vec::with_capacity(history.len());
    let mut results: Vec<Value> = Vec::new();
    for message in history {
        if let ChatMessage::Tool { call_id, content } = message {
            results.push(json!({ "type": "tool_result", "tool_use_id": call_id, "content": content }));
            continue;
        }
        if !results.is_empty() {
            out.push(json!({ "role": "user", "content": std::mem::take(&mut results) }));
        }
        match message {
            ChatMessage::User { content } => out.push(json!({ "role": "user", "content": content })),
            ChatMessage::Assistant { content, tool_calls } => {
                let text = content.as_deref().filter(|t| !t.is_empty());
                if tool_calls.is_empty() {
                    if let Some(text) = text {
                        out.push(json!({ "role": "assistant", "content": text }));
                    }
                    continue;
                }
                let mut blocks: Vec<Value> = text.map(|t| json!({ "type": "text", "text": t })).into_iter().collect();
                blocks.extend(tool_calls.iter().map(|call| {
                    let input = if call.arguments.is_null() { json!({}) } else { call.arguments.clone() };
                    json!({ "type": "tool_use", "id": call.id, "name": call.name, "input": input })
                }));
                out.push(json!({ "role": "assistant", "content": blocks }));
            }
            ChatMessage::Tool { .. } => {}
        }
    }
    if !results.is_empty() {
        out.push(json!({ "role": "user", "content": results }));
    }
    out
}

/// Reads a successful (2xx) Message body. `requested_model` names the model when the body
/// does not.
pub fn parse_response(http_status: u16, body: &[u8], requested_model: &str) -> Result<ChatResponse, LlmError> {
    let malformed =
        |what: String| LlmError::new(PROVIDER, LlmErrorKind::MalformedResponse, what).with_http_status(http_status);
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        malformed(match body_excerpt(body) {
            Some(excerpt) => format!("the answer is not JSON: {excerpt}"),
            None => "the answer is empty".to_owned(),
        })
    })?;
    let usage = value.get("usage").map(parse_usage).unwrap_or_default();
    let model = value.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or(requested_model);
    let billed = (usage != Usage::default()).then(|| BilledAttempt { model: model.to_owned(), usage });
    let Some(blocks) = value.get("content").and_then(Value::as_array) else {
        return Err(malformed("the answer has no content blocks".into()).with_billed(billed));
    };
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or_default()),
            Some("tool_use") => {
                let field = |key: &str| block.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
                let (Some(id), Some(name)) = (field("id"), field("name")) else {
                    return Err(malformed(format!("tool_use block {index} has no id or name")).with_billed(billed));
                };
                let arguments = block.get("input").cloned().filter(|i| !i.is_null()).unwrap_or_else(|| json!({}));
                tool_calls.push(ToolCallRequest { id: id.to_owned(), name: name.to_owned(), arguments });
            }
            // thinking, redacted_thinking and server-tool blocks are not for the customer
            _ => {}
        }
    }
    let finish = match value.get("stop_reason").and_then(Value::as_str) {
        Some("end_turn" | "stop_sequence") | None => FinishReason::Stop,
        Some("max_tokens") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_owned()),
    };
    Ok(ChatResponse {
        content: (!text.is_empty()).then_some(text),
        tool_calls,
        usage,
        model: model.to_owned(),
        finish,
        latency: std::time::Duration::ZERO,
        discarded: Vec::new(),
    })
}

/// Anthropic `usage` in confab's terms: all input (uncached, cache reads, cache writes) as
/// input, cache reads as cached.
fn parse_usage(usage: &Value) -> Usage {
    let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
    let cache_read = count("cache_read_input_tokens");
    Usage {
        input_tokens: count("input_tokens") + cache_read + count("cache_creation_input_tokens"),
        output_tokens: count("output_tokens"),
        cached_input_tokens: cache_read,
    }
}

/// Reads an error body. Never fails: what cannot be read is left `None`.
pub fn parse_error_body(body: &[u8]) -> ProviderErrorBody {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return ProviderErrorBody::default();
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let error = value.get("error");
    ProviderErrorBody {
        message: text(error.and_then(|e| e.get("message"))),
        error_type: text(error.and_then(|e| e.get("type"))),
        code: text(error.and_then(|e| e.get("details")).and_then(|d| d.get("error_code"))),
        request_id: text(value.get("request_id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolSpec;

    /// A request with everything: system prompt, history with parallel tool calls and their
    /// results, two tools, a forced tool choice, temperature; no token limit (the default).
    fn full_request() -> ChatRequest {
        ChatRequest {
            model: "claude-3-5-haiku-latest".into(),
            system: "You are the assistant of Casa Pepe. Answer briefly.".into(),
            messages: vec![
                ChatMessage::user("Is it raining in Madrid or Lisboa?"),
                ChatMessage::assistant_tool_calls(
                    Some("I'll check both.".into()),
                    vec![
                        ToolCallRequest::new("toolu_01A", "get_weather", json!({"city": "Madrid"})),
                        ToolCallRequest::new("toolu_01B", "get_weather", json!({"city": "Lisboa"})),
                    ],
                ),
                ChatMessage::tool_result("toolu_01A", "{\"rain\":false}"),
                ChatMessage::tool_result("toolu_01B", "{\"rain\":true}"),
                ChatMessage::assistant("Dry in Madrid, raining in Lisboa."),
                ChatMessage::user("Book me a table in Madrid then"),
            ],
            tools: vec![
                ToolSpec::new(
                    "get_weather",
                    "Current weather in a city.",
                    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
                ),
                ToolSpec::new(
                    "book_table",
                    "Books a table.",
                    json!({"type": "object", "properties": {"time": {"type": "string"}}, "required": ["time"]}),
                ),
            ],
            tool_choice: ToolChoice::Tool("book_table".into()),
            temperature: Some(0.3),
            max_tokens: None,
        }
    }

    #[test]
    fn request_body_matches_the_documented_format() {
        let body = request_body(&full_request(), &AnthropicWireOptions::default());
        let expected = json!({
            "model": "claude-3-5-haiku-latest",
            "max_tokens": 1024,
            "system": "You are the assistant of Casa Pepe. Answer briefly.",
            "messages": [
                {"role": "user", "content": "Is it raining in Madrid or Lisboa?"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "I'll check both."},
                    {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Madrid"}},
                    {"type": "tool_use", "id": "toolu_01B", "name": "get_weather", "input": {"city": "Lisboa"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "{\"rain\":false}"},
                    {"type": "tool_result", "tool_use_id": "toolu_01B", "content": "{\"rain\":true}"}
                ]},
                {"role": "assistant", "content": "Dry in Madrid, raining in Lisboa."},
                {"role": "user", "content": "Book me a table in Madrid then"}
            ],
            "tools": [
                {
                    "name": "get_weather",
                    "description": "Current weather in a city.",
                    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
                },
                {
                    "name": "book_table",
                    "description": "Books a table.",
                    "input_schema": {"type": "object", "properties": {"time": {"type": "string"}}, "required": ["time"]}
                }
            ],
            "tool_choice": {"type": "tool", "name": "book_table"},
            "temperature": 0.3
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn request_body_options_and_omissions() {
        let options = AnthropicWireOptions { default_max_tokens: 300, disable_parallel_tool_use: true };
        for (choice, wire) in [
            (ToolChoice::Auto, json!({"type": "auto", "disable_parallel_tool_use": true})),
            (ToolChoice::Required, json!({"type": "any", "disable_parallel_tool_use": true})),
            (ToolChoice::None, json!({"type": "none"})),
        ] {
            let request = ChatRequest { tool_choice: choice, ..full_request() };
            assert_eq!(request_body(&request, &options)["tool_choice"], wire);
        }
        let limited = ChatRequest { max_tokens: Some(64), temperature: Some(1.4), ..full_request() };
        let body = request_body(&limited, &options);
        assert_eq!((body["max_tokens"].clone(), body["temperature"].clone()), (json!(64), json!(1.0)));

        // no system prompt, no tools, tool results last, a silent answer left out
        let bare = ChatRequest {
            model: "claude-sonnet-4-0".into(),
            messages: vec![
                ChatMessage::user("hi"),
                ChatMessage::Assistant { content: Some(String::new()), tool_calls: vec![] },
                ChatMessage::user("still there?"),
                ChatMessage::assistant_tool_calls(None, vec![ToolCallRequest::new("toolu_1", "f", Value::Null)]),
                ChatMessage::tool_result("toolu_1", "ok"),
            ],
            ..ChatRequest::default()
        };
        assert_eq!(
            request_body(&bare, &options),
            json!({
                "model": "claude-sonnet-4-0",
                "max_tokens": 300,
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "user", "content": "still there?"},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}
                ]
            })
        );
    }

    #[test]
    fn parses_a_text_answer() {
        // the shape of Anthropic's documented Message object
        let body = json!({
            "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
            "type": "message",
            "role": "assistant",
            "model": "claude-3-5-haiku-20241022",
            "content": [{"type": "text", "text": "Hi! My name is Claude."}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        });
        let r = parse_response(200, body.to_string().as_bytes(), "claude-3-5-haiku-latest").unwrap();
        assert_eq!(r.content.as_deref(), Some("Hi! My name is Claude."));
        assert_eq!((r.model.as_str(), r.finish.clone()), ("claude-3-5-haiku-20241022", FinishReason::Stop));
        assert_eq!(r.usage, Usage { input_tokens: 2095, output_tokens: 503, cached_input_tokens: 0 });
    }

    #[test]
    fn parses_parallel_tool_use_and_cache_usage() {
        let body = json!({
            "id": "msg_01Aq9w938a90dw8q",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-20250514",
            "content": [
                {"type": "text", "text": "I'll check the weather in both cities."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"city": "Madrid"}},
                {"type": "tool_use", "id": "toolu_01B09q90qw90lq917835lq9", "name": "get_weather", "input": {"city": "Lisboa"}}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": 50, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 1800, "output_tokens": 120,
                      "service_tier": "standard"}
        });
        let r = parse_response(200, body.to_string().as_bytes(), "claude-sonnet-4-0").unwrap();
        assert_eq!(r.content.as_deref(), Some("I'll check the weather in both cities."));
        assert_eq!(r.finish, FinishReason::ToolCalls);
        assert_eq!(
            r.tool_calls,
            vec![
                ToolCallRequest::new("toolu_01A09q90qw90lq917835lq9", "get_weather", json!({"city": "Madrid"})),
                ToolCallRequest::new("toolu_01B09q90qw90lq917835lq9", "get_weather", json!({"city": "Lisboa"})),
            ]
        );
        assert_eq!(r.usage, Usage { input_tokens: 2050, output_tokens: 120, cached_input_tokens: 1800 });
    }

    #[test]
    fn stop_reasons_and_odd_bodies() {
        for (reason, finish) in [
            ("max_tokens", FinishReason::Length),
            ("stop_sequence", FinishReason::Stop),
            ("refusal", FinishReason::ContentFilter),
            ("pause_turn", FinishReason::Other("pause_turn".into())),
        ] {
            let body = json!({"content": [], "stop_reason": reason});
            let r = parse_response(200, body.to_string().as_bytes(), "m").unwrap();
            assert_eq!((r.finish, r.content, r.model.as_str()), (finish, None, "m"));
        }
        let no_content = json!({"model": "m2", "usage": {"input_tokens": 3, "output_tokens": 1}});
        let e = parse_response(200, no_content.to_string().as_bytes(), "m").unwrap_err();
        assert_eq!(e.kind(), LlmErrorKind::MalformedResponse);
        assert_eq!(e.billed()[0].model, "m2");
        let bad_block = json!({"content": [{"type": "tool_use", "name": "f", "input": {}}]});
        assert!(parse_response(200, bad_block.to_string().as_bytes(), "m").is_err());
        assert!(parse_response(200, b"Overloaded", "m").unwrap_err().message().contains("not JSON"));
    }

    #[test]
    fn error_bodies() {
        let overloaded = json!({
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"
        });
        let parsed = parse_error_body(overloaded.to_string().as_bytes());
        assert_eq!(
            parsed,
            ProviderErrorBody {
                message: Some("Overloaded".into()),
                error_type: Some("overloaded_error".into()),
                code: None,
                request_id: Some("req_011CSHoEeqs5C35K2UUqR7Fy".into()),
            }
        );
        let spend = json!({"type": "error", "error": {"type": "rate_limit_error", "message": "limit",
                           "details": {"error_code": "enforced_spend_limit_reached"}}});
        assert_eq!(
            parse_error_body(spend.to_string().as_bytes()).code.as_deref(),
            Some("enforced_spend_limit_reached")
        );
        assert_eq!(parse_error_body(b"upstream connect error"), ProviderErrorBody::default());
    }
}
