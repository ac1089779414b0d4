//! The OpenAI Chat Completions wire format (`POST {base}/chat/completions`), as OpenAI
//! documents it and as OpenAI-compatible servers (Ollama, vLLM, llama.cpp, OpenRouter, Azure
//! OpenAI) accept it.
//!
//! This module owns three translations, all pure:
//! - [`request_body`]: a [`ChatRequest`] as the JSON body. The system prompt becomes the first
//!   `{"role": "system"}` message; an earlier answer with tool calls becomes an `assistant`
//!   message with `tool_calls: [{id, type: "function", function: {name, arguments}}]`, where
//!   `arguments` is a JSON *string*; each tool result a `{"role": "tool", "tool_call_id",
//!   "content"}` message. Tools are `{"type": "function", "function": {name, description,
//!   parameters}}`; `tool_choice` is `"auto"`, `"none"`, `"required"` or `{"type": "function",
//!   "function": {"name"}}`. `tools`, `tool_choice` and `parallel_tool_calls` are left out
//!   when there are no tools (OpenAI refuses them without tools).
//! - [`parse_response`]: the chat completion object (`choices[0].message.{content,
//!   tool_calls}`, `finish_reason`, `model`, `usage.{prompt_tokens, completion_tokens,
//!   prompt_tokens_details.cached_tokens}`) as a [`ChatResponse`]. Tool-call arguments are
//!   parsed from their JSON string; invalid JSON is a `MalformedToolArguments` error that
//!   still reports the tokens billed. Lenient where compatible servers differ: a missing call
//!   id gets one, arguments already given as an object are taken as they are, an empty
//!   arguments string means `{}`, text given as content parts is joined.
//! - [`parse_error_body`]: OpenAI's `{"error": {"message", "type", "param", "code"}}`, and the
//!   shapes compatible servers use instead (`{"error": "text"}`, vLLM's top-level
//!   `{"object": "error", "message", "type", "code"}`).
//!
//! It does no I/O; `openai_client` sends what this builds.

use crate::llm::{
    body_excerpt, BilledAttempt, ChatMessage, ChatRequest, ChatResponse, FinishReason, LlmError, LlmErrorKind,
    ProviderErrorBody, ToolCallRequest, ToolChoice,
};
use confab_domain::Usage;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The provider name OpenAI-compatible clients report.
pub const PROVIDER: &str = "openai";

/// Which field carries the answer-length limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxTokensField {
    /// `max_tokens`: understood by every compatible server and by OpenAI's older models.
    #[default]
    MaxTokens,
    /// `max_completion_tokens`: what OpenAI now documents, and the only one its reasoning
    /// models (o-series, gpt-5) accept.
    MaxCompletionTokens,
}

/// Choices of the wire format that are the client's, not the request's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenAiWireOptions {
    pub max_tokens_field: MaxTokensField,
    /// Sent as `parallel_tool_calls` when there are tools; `None` leaves the server's default
    /// (parallel calls allowed).
    pub parallel_tool_calls: Option<bool>,
}

/// The JSON body of a chat completions request for `request`.
pub fn request_body(request: &ChatRequest, options: &OpenAiWireOptions) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({ "role": "system", "content": request.system }));
    }
    messages.extend(request.messages.iter().map(message));
    let mut body = Map::new();
    body.insert("model".into(), json!(request.model));
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let tools = request.tools.iter().map(|tool| {
            let mut function = Map::new();
            function.insert("name".into(), json!(tool.name));
            if !tool.description.is_empty() {
                function.insert("description".into(), json!(tool.description));
            }
            if !tool.parameters.is_null() {
                function.insert("parameters".into(), tool.parameters.clone());
            }
            json!({ "type": "function", "function": function })
        });
        body.insert("tools".into(), tools.collect());
        body.insert("tool_choice".into(), tool_choice(&request.tool_choice));
        if let Some(parallel) = options.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), json!(parallel));
        }
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if let Some(max_tokens) = request.max_tokens {
        let field = match options.max_tokens_field {
            MaxTokensField::MaxTokens => "max_tokens",
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
        };
        body.insert(field.into(), json!(max_tokens));
    }
    Value::Object(body)
}

fn message(message: &ChatMessage) -> Value {
    match message {
        ChatMessage::User { content } => json!({ "role": "user", "content": content }),
        ChatMessage::Assistant { content, tool_calls } if tool_calls.is_empty() => {
            json!({ "role": "assistant", "content": content.as_deref().unwrap_or_default() })
        }
        ChatMessage::Assistant { content, tool_calls } => {
            let calls: Vec<Value> = tool_calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": { "name": call.name, "arguments": call.arguments.to_string() },
                    })
                })
                .collect();
            json!({ "role": "assistant", "content": content, "tool_calls": calls })
        }
        ChatMessage::Tool { call_id, content } => {
            json!({ "role": "tool", "tool_call_id": call_id, "content": content })
        }
    }
}

fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({ "type": "function", "function": { "name": name } }),
    }
}

/// Reads a successful (2xx) chat completion body. `requested_model` names the model when the
/// body does not.
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
    let Some(choice) = value.get("choices").and_then(|c| c.get(0)) else {
        // OpenRouter answers some upstream failures with HTTP 200 and an error object
        if let Some(error) = value.get("error").filter(|e| !e.is_null()) {
            let parsed = error_fields(error);
            let message = parsed.message.unwrap_or_else(|| "the answer carries an error and no choices".into());
            return Err(LlmError::new(PROVIDER, LlmErrorKind::Server, message)
                .with_http_status(http_status)
                .with_provider_code(parsed.code.or(parsed.error_type))
                .with_billed(billed));
        }
        return Err(malformed("the answer has no choices".into()).with_billed(billed));
    };
    let message = choice.get("message").unwrap_or(&Value::Null);
    let content = text_of(message.get("content"))
        .or_else(|| message.get("refusal").and_then(Value::as_str).filter(|r| !r.is_empty()).map(str::to_owned));
    let mut tool_calls = Vec::new();
    for (index, call) in message.get("tool_calls").and_then(Value::as_array).into_iter().flatten().enumerate() {
        match tool_call(index, call) {
            Ok(call) => tool_calls.push(call),
            Err(error) => return Err(error.with_http_status(http_status).with_billed(billed)),
        }
    }
    let finish = match choice.get("finish_reason").and_then(Value::as_str) {
        Some("stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some("tool_calls" | "function_call") => FinishReason::ToolCalls,
        Some("content_filter") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_owned()),
        // some compatible servers leave it out; the answer itself tells
        None if !tool_calls.is_empty() => FinishReason::ToolCalls,
        None => FinishReason::Stop,
    };
    Ok(ChatResponse {
        content,
        tool_calls,
        usage,
        model: model.to_owned(),
        finish,
        latency: std::time::Duration::ZERO,
        discarded: Vec::new(),
    })
}

/// `usage`: `prompt_tokens` (cached ones included), `completion_tokens`,
/// `prompt_tokens_details.cached_tokens`.
fn parse_usage(usage: &Value) -> Usage {
    let count = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    let input_tokens = count(usage.get("prompt_tokens"));
    let cached = count(usage.get("prompt_tokens_details").and_then(|d| d.get("cached_tokens")));
    Usage {
        input_tokens,
        output_tokens: count(usage.get("completion_tokens")),
        cached_input_tokens: cached.min(input_tokens),
    }
}

/// Message content: a string, or content parts whose texts are joined.
fn text_of(content: Option<&Value>) -> Option<String> {
    let text = match content? {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

fn tool_call(index: usize, call: &Value) -> Result<ToolCallRequest, LlmError> {
    let function = call.get("function").unwrap_or(&Value::Null);
    let Some(name) = function.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) else {
        return Err(LlmError::new(
            PROVIDER,
            LlmErrorKind::MalformedResponse,
            format!("tool call {index} of the answer has no function name"),
        ));
    };
    let id = call
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map_or_else(|| format!("call_{index}"), str::to_owned);
    let arguments = match function.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(raw)) if raw.trim().is_empty() => json!({}),
        Some(Value::String(raw)) => serde_json::from_str(raw).map_err(|e| {
            LlmError::new(
                PROVIDER,
                LlmErrorKind::MalformedToolArguments,
                format!("the model's arguments for tool `{name}` (call {id}) are not valid JSON: {e}"),
            )
        })?,
        Some(other) => other.clone(),
    };
    Ok(ToolCallRequest { id, name: name.to_owned(), arguments })
}

/// Reads an error body. Never fails: what cannot be read is left `None`.
pub fn parse_error_body(body: &[u8]) -> ProviderErrorBody {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return ProviderErrorBody::default();
    };
    match value.get("error") {
        Some(Value::String(message)) => ProviderErrorBody { message: Some(message.clone()), ..Default::default() },
        Some(error @ Value::Object(_)) => error_fields(error),
        _ => error_fields(&value),
    }
}

/// `message`, `type` and `code` (a string or a number) of an error object.
fn error_fields(error: &Value) -> ProviderErrorBody {
    let text = |key: &str| match error.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    ProviderErrorBody { message: text("message"), error_type: text("type"), code: text("code"), request_id: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolSpec;

    /// A request with everything: system prompt, history with a tool call and its result, two
    /// tools, a forced tool choice, temperature and a token limit.
    fn full_request() -> ChatRequest {
        ChatRequest {
            model: "gpt-4o-mini".into(),
            system: "You are the assistant of Casa Pepe. Answer briefly.".into(),
            messages: vec![
                ChatMessage::user("Do you have a table for two tonight?"),
                ChatMessage::assistant_tool_calls(
                    Some("Let me check.".into()),
                    vec![ToolCallRequest::new(
                        "call_abc123",
                        "check_availability",
                        json!({"date": "2025-06-13", "party_size": 2}),
                    )],
                ),
                ChatMessage::tool_result("call_abc123", "{\"available\":true,\"times\":[\"20:00\",\"21:30\"]}"),
                ChatMessage::assistant("Yes: 20:00 or 21:30. Which one?"),
                ChatMessage::user("21:30 please"),
            ],
            tools: vec![
                ToolSpec::new(
                    "check_availability",
                    "Free tables for a date and party size.",
                    json!({
                        "type": "object",
                        "properties": {"party_size": {"type": "integer"}, "date": {"type": "string", "format": "date"}},
                        "required": ["party_size", "date"]
                    }),
                ),
                ToolSpec::new(
                    "book_table",
                    "Books a table.",
                    json!({
                        "type": "object",
                        "properties": {"time": {"type": "string"}, "name": {"type": "string"}},
                        "required": ["time"]
                    }),
                ),
            ],
            tool_choice: ToolChoice::Tool("book_table".into()),
            temperature: Some(0.3),
            max_tokens: Some(512),
        }
    }

    #[test]
    fn request_body_matches_the_documented_format() {
        let body = request_body(&full_request(), &OpenAiWireOptions::default());
        let expected = json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are the assistant of Casa Pepe. Answer briefly."},
                {"role": "user", "content": "Do you have a table for two tonight?"},
                {
                    "role": "assistant",
                    "content": "Let me check.",
                    "tool_calls": [{
                        "id": "call_abc123",
                        "type": "function",
                        "function": {"name": "check_availability", "arguments": "{\"date\":\"2025-06-13\",\"party_size\":2}"}
                    }]
                },
                {"role": "tool", "tool_call_id": "call_abc123", "content": "{\"available\":true,\"times\":[\"20:00\",\"21:30\"]}"},
                {"role": "assistant", "content": "Yes: 20:00 or 21:30. Which one?"},
                {"role": "user", "content": "21:30 please"}
            ],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "check_availability",
                        "description": "Free tables for a date and party size.",
                        "parameters": {
                            "type": "object",
                            "properties": {"party_size": {"type": "integer"}, "date": {"type": "string", "format": "date"}},
                            "required": ["party_size", "date"]
                        }
                    }
                },
                {
                    "type": "function",
                    "function": {
                        "name": "book_table",
                        "description": "Books a table.",
                        "parameters": {
                            "type": "object",
                            "properties": {"time": {"type": "string"}, "name": {"type": "string"}},
                            "required": ["time"]
                        }
                    }
                }
            ],
            "tool_choice": {"type": "function", "function": {"name": "book_table"}},
            "temperature": 0.3,
            "max_tokens": 512
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn request_body_options_and_omissions() {
        let options = OpenAiWireOptions {
            max_tokens_field: MaxTokensField::MaxCompletionTokens,
            parallel_tool_calls: Some(false),
        };
        let body = request_body(&full_request(), &options);
        assert_eq!(body["max_completion_tokens"], json!(512));
        assert!(body.get("max_tokens").is_none());
        assert_eq!(body["parallel_tool_calls"], json!(false));
        for (choice, wire) in [
            (ToolChoice::Auto, json!("auto")),
            (ToolChoice::None, json!("none")),
            (ToolChoice::Required, json!("required")),
        ] {
            let request = ChatRequest { tool_choice: choice, ..full_request() };
            assert_eq!(request_body(&request, &options)["tool_choice"], wire);
        }

        // no system prompt, no tools, no temperature, no limit: none of their fields
        let bare = ChatRequest {
            model: "llama3.2".into(),
            messages: vec![
                ChatMessage::user("hi"),
                ChatMessage::assistant_tool_calls(None, vec![ToolCallRequest::new("c", "f", json!({}))]),
                ChatMessage::tool_result("c", "ok"),
            ],
            tool_choice: ToolChoice::Required,
            ..ChatRequest::default()
        };
        assert_eq!(
            request_body(&bare, &options),
            json!({
                "model": "llama3.2",
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "c", "content": "ok"}
                ]
            })
        );
    }

    #[test]
    fn parses_a_text_answer() {
        // the shape of OpenAI's documented chat completion object
        let body = json!({
            "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            "object": "chat.completion",
            "created": 1741569952,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": null, "annotations": []},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {
                "prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
            },
            "service_tier": "default",
            "system_fingerprint": "fp_06737a9306"
        });
        let r = parse_response(200, body.to_string().as_bytes(), "gpt-4o-mini").unwrap();
        assert_eq!(r.content.as_deref(), Some("Hello! How can I assist you today?"));
        assert!(r.tool_calls.is_empty());
        assert_eq!(r.model, "gpt-4o-mini-2024-07-18");
        assert_eq!(r.finish, FinishReason::Stop);
        assert_eq!(r.usage, Usage { input_tokens: 19, output_tokens: 10, cached_input_tokens: 0 });
    }

    #[test]
    fn parses_parallel_tool_calls_and_cached_tokens() {
        let body = json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1741569952,
            "model": "gpt-4.1-mini-2025-04-14",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Madrid\"}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lisboa\"}"}}
                    ],
                    "refusal": null
                },
                "logprobs": null,
                "finish_reason": "tool_calls"
            }],
            "usage": {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
                      "prompt_tokens_details": {"cached_tokens": 1920}}
        });
        let r = parse_response(200, body.to_string().as_bytes(), "gpt-4.1-mini").unwrap();
        assert_eq!(r.content, None);
        assert_eq!(r.finish, FinishReason::ToolCalls);
        assert_eq!(
            r.tool_calls,
            vec![
                ToolCallRequest::new("call_1", "get_weather", json!({"city": "Madrid"})),
                ToolCallRequest::new("call_2", "get_weather", json!({"city": "Lisboa"})),
            ]
        );
        assert_eq!(r.usage, Usage { input_tokens: 2006, output_tokens: 300, cached_input_tokens: 1920 });
    }

    #[test]
    fn compatible_servers_leniencies() {
        // Ollama-style: no ids, arguments as an object, no finish reason, no usage details
        let body = json!({
            "model": "llama3.2",
            "choices": [{"message": {"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "a", "arguments": {"x": 1}}},
                {"function": {"name": "b", "arguments": ""}}
            ]}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3}
        });
        let r = parse_response(200, body.to_string().as_bytes(), "llama3.2").unwrap();
        assert_eq!(r.content, None);
        assert_eq!(r.finish, FinishReason::ToolCalls);
        assert_eq!(
            r.tool_calls,
            vec![ToolCallRequest::new("call_0", "a", json!({"x": 1})), ToolCallRequest::new("call_1", "b", json!({}))]
        );
        // content parts, no model, no usage, a refusal
        let parts = json!({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, "finish_reason": "length"}]});
        let r = parse_response(200, parts.to_string().as_bytes(), "asked").unwrap();
        assert_eq!((r.content.as_deref(), r.model.as_str(), r.finish), (Some("ab"), "asked", FinishReason::Length));
        assert_eq!(r.usage, Usage::default());
        let refusal = json!({"choices": [{"message": {"content": null, "refusal": "I can't help with that."}, "finish_reason": "stop"}]});
        let r = parse_response(200, refusal.to_string().as_bytes(), "m").unwrap();
        assert_eq!(r.content.as_deref(), Some("I can't help with that."));
    }

    #[test]
    fn malformed_arguments_are_an_error_that_keeps_the_usage() {
        let body = json!({
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_9", "type": "function", "function": {"name": "book_table", "arguments": "{\"time\": \"21:30\""}}
            ]}, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 12, "prompt_tokens_details": {"cached_tokens": 0}}
        });
        let e = parse_response(200, body.to_string().as_bytes(), "gpt-4o-mini").unwrap_err();
        assert_eq!(e.kind(), LlmErrorKind::MalformedToolArguments);
        assert!(!e.is_retryable());
        assert!(e.message().contains("`book_table`") && e.message().contains("call_9"), "{}", e.message());
        assert_eq!(
            e.billed(),
            &[BilledAttempt {
                model: "gpt-4o-mini-2024-07-18".into(),
                usage: Usage { input_tokens: 50, output_tokens: 12, cached_input_tokens: 0 }
            }]
        );
    }

    #[test]
    fn unusable_success_bodies() {
        for (body, needle) in [
            (&b"<html>oops</html>"[..], "not JSON: <html>oops</html>"),
            (b"", "empty"),
            (b"{\"choices\": []}", "no choices"),
            (b"{\"choices\": [{\"message\": {\"tool_calls\": [{\"function\": {}}]}}]}", "no function name"),
        ] {
            let e = parse_response(200, body, "m").unwrap_err();
            assert_eq!(e.kind(), LlmErrorKind::MalformedResponse);
            assert!(e.message().contains(needle), "{}", e.message());
        }
        let openrouter = json!({"error": {"code": 502, "message": "Upstream provider error"}, "usage": {"prompt_tokens": 5, "completion_tokens": 0}});
        let e = parse_response(200, openrouter.to_string().as_bytes(), "openai/gpt-4o-mini").unwrap_err();
        assert_eq!((e.kind(), e.is_retryable(), e.message()), (LlmErrorKind::Server, true, "Upstream provider error"));
        assert_eq!(e.billed().len(), 1);
    }

    #[test]
    fn error_bodies() {
        let openai = json!({"error": {
            "message": "Rate limit reached for gpt-4o-mini in organization org-x on tokens per min (TPM): Limit 200000, Used 199000, Requested 1500.",
            "type": "tokens", "param": null, "code": "rate_limit_exceeded"
        }});
        let parsed = parse_error_body(openai.to_string().as_bytes());
        assert_eq!(parsed.code.as_deref(), Some("rate_limit_exceeded"));
        assert_eq!(parsed.error_type.as_deref(), Some("tokens"));
        assert!(parsed.message.as_deref().is_some_and(|m| m.starts_with("Rate limit reached")));
        let ollama = parse_error_body(br#"{"error": "model \"llama9\" not found, try pulling it first"}"#);
        assert_eq!(ollama.message.as_deref(), Some("model \"llama9\" not found, try pulling it first"));
        let vllm = parse_error_body(
            br#"{"object": "error", "message": "The model `x` does not exist.", "type": "NotFoundError", "param": null, "code": 404}"#,
        );
        assert_eq!((vllm.error_type.as_deref(), vllm.code.as_deref()), (Some("NotFoundError"), Some("404")));
        assert_eq!(parse_error_body(b"<html>"), ProviderErrorBody::default());
    }
}
