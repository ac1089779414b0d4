//! The bodies the fake answers with, spelled as each provider spells them: OpenAI's chat
//! completion object and `{"error": {message, type, param, code}}`; Anthropic's Message object
//! and `{"type": "error", "error": {type, message}, "request_id"}`.

use super::step::{ScriptedArguments, ScriptedCall};
use super::WireFormat;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use confab_domain::Usage;
use serde_json::{json, Value};

/// An answer: status, extra headers and body.
pub(super) struct Answer {
    pub http_status: u16,
    pub headers: Vec<(String, String)>,
    pub body: AnswerBody,
}

pub(super) enum AnswerBody {
    Json(Value),
    Raw(String),
}

impl Answer {
    pub fn json(http_status: u16, body: Value) -> Self {
        Self { http_status, headers: Vec::new(), body: AnswerBody::Json(body) }
    }

    pub fn raw(http_status: u16, body: String) -> Self {
        Self { http_status, headers: Vec::new(), body: AnswerBody::Raw(body) }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self.body {
            AnswerBody::Json(body) => (status, axum::Json(body)).into_response(),
            AnswerBody::Raw(body) => (status, [(header::CONTENT_TYPE, "text/html")], body).into_response(),
        };
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}

/// The provider's error body for `http_status` around `message`.
pub(super) fn error(
    format: WireFormat,
    http_status: u16,
    message: &str,
    param: Option<&str>,
    request_id: &str,
) -> Answer {
    match format {
        WireFormat::OpenAi => {
            let (kind, code) = match http_status {
                401 => ("invalid_request_error", Some("invalid_api_key")),
                404 => ("invalid_request_error", Some("model_not_found")),
                429 => ("requests", Some("rate_limit_exceeded")),
                500..=599 => ("server_error", None),
                _ => ("invalid_request_error", None),
            };
            Answer::json(
                http_status,
                json!({ "error": { "message": message, "type": kind, "param": param, "code": code } }),
            )
        }
        WireFormat::Anthropic => {
            let kind = match http_status {
                401 => "authentication_error",
                402 => "billing_error",
                403 => "permission_error",
                404 => "not_found_error",
                413 => "request_too_large",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                500..=599 => "api_error",
                _ => "invalid_request_error",
            };
            Answer::json(
                http_status,
                json!({ "type": "error", "error": { "type": kind, "message": message }, "request_id": request_id }),
            )
        }
    }
}

/// What a successful answer says.
pub(super) struct Reply<'a> {
    pub text: &'a str,
    pub calls: &'a [ScriptedCall],
    pub model: &'a str,
    pub usage: Usage,
    pub finish: Option<&'a str>,
    pub serial: u64,
}

/// OpenAI's chat completion object.
pub(super) fn openai_completion(reply: &Reply<'_>) -> Value {
    let serial = reply.serial;
    let calls: Vec<Value> = reply
        .calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let arguments = match &call.arguments {
                ScriptedArguments::Json(value) => value.to_string(),
                ScriptedArguments::Raw(raw) => raw.clone(),
            };
            json!({
                "id": format!("call_fake{serial}x{i}"),
                "type": "function",
                "function": { "name": call.name, "arguments": arguments },
            })
        })
        .collect();
    let mut message = json!({
        "role": "assistant",
        "content": if reply.text.is_empty() && !calls.is_empty() { Value::Null } else { json!(reply.text) },
        "refusal": null,
        "annotations": [],
    });
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    let finish = reply.finish.unwrap_or(if reply.calls.is_empty() { "stop" } else { "tool_calls" });
    let usage = reply.usage;
    json!({
        "id": format!("chatcmpl-fake{serial}"),
        "object": "chat.completion",
        "created": time::OffsetDateTime::now_utc().unix_timestamp(),
        "model": reply.model,
        "choices": [{ "index": 0, "message": message, "logprobs": null, "finish_reason": finish }],
        "usage": {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.output_tokens,
            "prompt_tokens_details": { "cached_tokens": usage.cached_input_tokens, "audio_tokens": 0 },
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    })
}

/// Anthropic's Message object. `input_tokens` counts only uncached input, as Anthropic's does.
pub(super) fn anthropic_message(reply: &Reply<'_>) -> Value {
    let serial = reply.serial;
    let mut content = Vec::new();
    if !reply.text.is_empty() {
        content.push(json!({ "type": "text", "text": reply.text }));
    }
    for (i, call) in reply.calls.iter().enumerate() {
        let input = match &call.arguments {
            ScriptedArguments::Json(value) => value.clone(),
            ScriptedArguments::Raw(raw) => json!(raw),
        };
        content.push(
            json!({ "type": "tool_use", "id": format!("toolu_fake{serial}x{i}"), "name": call.name, "input": input }),
        );
    }
    let stop = reply.finish.unwrap_or(if reply.calls.is_empty() { "end_turn" } else { "tool_use" });
    let usage = reply.usage;
    let cached = usage.cached_input_tokens.min(usage.input_tokens);
    json!({
        "id": format!("msg_fake{serial}"),
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": {
            "input_tokens": usage.input_tokens - cached,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached,
            "output_tokens": usage.output_tokens,
            "service_tier": "standard",
        },
    })
}

/// The last text the customer wrote, in either format: a user message's string content, or
/// the text parts of its content array (tool results are skipped).
pub(super) fn last_user_text(body: &Value) -> Option<String> {
    let messages = body.get("messages")?.as_array()?;
    messages.iter().rev().filter(|m| m.get("role").and_then(Value::as_str) == Some("user")).find_map(|m| {
        match m.get("content")? {
            Value::String(text) => Some(text.clone()),
            Value::Array(parts) => {
                let text: Vec<&str> = parts
                    .iter()
                    .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect();
                (!text.is_empty()).then(|| text.join(" "))
            }
            _ => None,
        }
    })
}

/// About four bytes per token, at least one: the fake's usage when a step gives none.
pub(super) fn estimate_usage(request_bytes: usize, text: &str, calls: &[ScriptedCall]) -> Usage {
    let tokens = |bytes: usize| u64::try_from(bytes.div_ceil(4).max(1)).unwrap_or(u64::MAX);
    let call_bytes: usize = calls
        .iter()
        .map(|c| {
            c.name.len()
                + match &c.arguments {
                    ScriptedArguments::Json(v) => v.to_string().len(),
                    ScriptedArguments::Raw(r) => r.len(),
                }
        })
        .sum();
    Usage {
        input_tokens: tokens(request_bytes),
        output_tokens: tokens(text.len() + call_bytes),
        cached_input_tokens: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_last_user_text_in_both_formats() {
        let openai = json!({"messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "image_url", "image_url": {}}]},
            {"role": "tool", "tool_call_id": "c", "content": "r"}
        ]});
        assert_eq!(last_user_text(&openai).as_deref(), Some("second"));
        let anthropic = json!({"messages": [
            {"role": "user", "content": "hola"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "r"}]}
        ]});
        assert_eq!(last_user_text(&anthropic).as_deref(), Some("hola"));
        assert_eq!(last_user_text(&json!({"messages": []})), None);
    }

    #[test]
    fn estimates_at_least_one_token() {
        assert_eq!(estimate_usage(0, "", &[]), Usage { input_tokens: 1, output_tokens: 1, cached_input_tokens: 0 });
        assert_eq!(estimate_usage(9, "abcd", &[]).input_tokens, 3);
    }
}
