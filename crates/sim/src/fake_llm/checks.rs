//! The request checks the fake makes before answering, each refusing as the real service
//! does (same status, a message worded like the provider's): the mistakes an LLM client
//! could make in its request body. Not every rule of either API is here; the ones that are
//! are the ones confab's clients must get right.

use serde_json::{Map, Value};

/// A request the fake refuses: HTTP 400 with this message (and OpenAI's `param`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Refusal {
    pub message: String,
    pub param: Option<String>,
}

fn refuse(message: impl Into<String>, param: Option<String>) -> Option<Refusal> {
    Some(Refusal { message: message.into(), param })
}

/// OpenAI chat completions: model, messages and their roles, tool calls answered (and only
/// those), arguments as strings, tools before `tool_choice`, temperature 0–2.
pub(super) fn openai(body: &Value) -> Option<Refusal> {
    let Some(body) = body.as_object() else {
        return refuse("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)", None);
    };
    if body.get("model").and_then(Value::as_str).is_none_or(str::is_empty) {
        return refuse("you must provide a model parameter", Some("model".into()));
    }
    let messages = match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(Value::Array(_)) => return refuse("[] is too short - 'messages'", Some("messages".into())),
        _ => return refuse("Missing required parameter: 'messages'.", Some("messages".into())),
    };
    let mut pending: Vec<String> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or_default();
        if role != "tool" && !pending.is_empty() {
            return unanswered_openai(&pending, i);
        }
        match role {
            "system" | "developer" | "user" => {
                if !matches!(message.get("content"), Some(Value::String(_) | Value::Array(_))) {
                    return refuse(
                        format!("Invalid type for 'messages[{i}].content': expected one of a string or array of objects."),
                        Some(format!("messages[{i}].content")),
                    );
                }
            }
            "assistant" => match message.get("tool_calls") {
                None | Some(Value::Null) => {
                    if !matches!(message.get("content"), Some(Value::String(_) | Value::Array(_))) {
                        return refuse(
                            format!("Invalid value for 'messages[{i}].content': expected a string, got null."),
                            Some(format!("messages[{i}].content")),
                        );
                    }
                }
                Some(Value::Array(calls)) if calls.is_empty() => {
                    return refuse(
                        format!("Invalid 'messages[{i}].tool_calls': empty array. Expected an array with minimum length 1, but got an empty array instead."),
                        Some(format!("messages[{i}].tool_calls")),
                    );
                }
                Some(Value::Array(calls)) => {
                    for (j, call) in calls.iter().enumerate() {
                        let param = format!("messages[{i}].tool_calls[{j}]");
                        let Some(id) = call.get("id").and_then(Value::as_str) else {
                            return refuse(format!("Missing required parameter: '{param}.id'."), Some(param));
                        };
                        if call.get("type").and_then(Value::as_str) != Some("function")
                            || call.pointer("/function/name").and_then(Value::as_str).is_none()
                        {
                            return refuse(format!("Missing required parameter: '{param}.function'."), Some(param));
                        }
                        if !call.pointer("/function/arguments").is_some_and(Value::is_string) {
                            return refuse(
                                format!("Invalid type for '{param}.function.arguments': expected a string, but got an object instead."),
                                Some(format!("{param}.function.arguments")),
                            );
                        }
                        pending.push(id.to_owned());
                    }
                }
                Some(_) => {
                    return refuse(
                        format!("Invalid type for 'messages[{i}].tool_calls': expected an array of objects."),
                        Some(format!("messages[{i}].tool_calls")),
                    )
                }
            },
            "tool" => {
                let id = message.get("tool_call_id").and_then(Value::as_str).unwrap_or_default();
                let Some(at) = pending.iter().position(|p| p == id) else {
                    return refuse(
                        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
                        Some(format!("messages.[{i}].role")),
                    );
                };
                pending.remove(at);
            }
            other => {
                return refuse(
                    format!("Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function', and 'developer'."),
                    Some(format!("messages[{i}].role")),
                )
            }
        }
    }
    if !pending.is_empty() {
        return unanswered_openai(&pending, messages.len());
    }
    let tool_names = tool_names(body, "/function/name");
    if tool_names.is_empty() {
        for key in ["tool_choice", "parallel_tool_calls"] {
            if body.get(key).is_some() {
                return refuse(
                    format!("Invalid value for '{key}': '{key}' is only allowed when 'tools' are specified."),
                    Some(key.into()),
                );
            }
        }
    }
    match body.get("tool_choice") {
        None => {}
        Some(Value::String(choice)) if ["none", "auto", "required"].contains(&choice.as_str()) => {}
        Some(Value::Object(choice)) if choice.get("type").and_then(Value::as_str) == Some("function") => {
            let name = choice.get("function").and_then(|f| f.get("name")).and_then(Value::as_str).unwrap_or_default();
            if !tool_names.iter().any(|n| n == name) {
                return refuse(
                    format!("Invalid value for 'tool_choice': function '{name}' not found in 'tools'."),
                    Some("tool_choice".into()),
                );
            }
        }
        Some(_) => return refuse("Invalid value for 'tool_choice'.", Some("tool_choice".into())),
    }
    number_at_most(body, "temperature", 2.0)
}

fn unanswered_openai(pending: &[String], i: usize) -> Option<Refusal> {
    refuse(
        format!("An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}", pending.join(", ")),
        Some(format!("messages.[{i}].role")),
    )
}

/// Anthropic Messages: model, `max_tokens`, user/assistant roles only, non-empty content,
/// every `tool_use` answered by a `tool_result` in the very next message (and no result
/// without its call), tools before `tool_choice`, temperature 0–1.
pub(super) fn anthropic(body: &Value) -> Option<Refusal> {
    let Some(body) = body.as_object() else {
        return refuse("The request body is not valid JSON.", None);
    };
    if body.get("model").and_then(Value::as_str).is_none_or(str::is_empty) {
        return refuse("model: Field required", None);
    }
    if body.get("max_tokens").and_then(Value::as_u64).is_none_or(|n| n < 1) {
        return refuse("max_tokens: Field required", None);
    }
    if body.get("system").is_some_and(|s| !s.is_string() && !s.is_array()) {
        return refuse("system: Input should be a valid string", None);
    }
    let messages = match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        _ => return refuse("messages: Field required", None),
    };
    // tool_use ids of the previous assistant message, still to be answered
    let mut expected: Vec<String> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or_default();
        match role {
            "user" | "assistant" => {}
            "system" => {
                return refuse(
                    "messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.",
                    None,
                )
            }
            _ => return refuse(format!("messages.{i}.role: Input should be 'user' or 'assistant'"), None),
        }
        let blocks: Vec<Value> = match message.get("content") {
            Some(Value::String(text)) if text.is_empty() => {
                return refuse(format!("messages.{i}: {role} messages must have non-empty content"), None)
            }
            Some(Value::String(text)) => vec![serde_json::json!({"type": "text", "text": text})],
            Some(Value::Array(blocks)) if !blocks.is_empty() => blocks.clone(),
            _ => {
                return refuse(
                    format!("messages.{i}: all messages must have non-empty content except for the optional final assistant message"),
                    None,
                )
            }
        };
        let mut used = Vec::new();
        let mut answered = Vec::new();
        for (j, block) in blocks.iter().enumerate() {
            let kind = block.get("type").and_then(Value::as_str).unwrap_or_default();
            match (role, kind) {
                (_, "text") => {
                    if block.get("text").and_then(Value::as_str).is_none_or(str::is_empty) {
                        return refuse("messages: text content blocks must be non-empty", None);
                    }
                }
                ("assistant", "tool_use") => {
                    let id = block.get("id").and_then(Value::as_str).unwrap_or_default();
                    if id.is_empty() || block.get("name").and_then(Value::as_str).is_none() {
                        return refuse(format!("messages.{i}.content.{j}.tool_use: Field required"), None);
                    }
                    if !block.get("input").is_some_and(Value::is_object) {
                        return refuse(
                            format!("messages.{i}.content.{j}.tool_use.input: Input should be a valid dictionary"),
                            None,
                        );
                    }
                    used.push(id.to_owned());
                }
                ("user", "tool_result") => {
                    let id = block.get("tool_use_id").and_then(Value::as_str).unwrap_or_default();
                    if !expected.iter().any(|e| e == id) {
                        return refuse(
                            format!("messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."),
                            None,
                        );
                    }
                    answered.push(id.to_owned());
                }
                (_, other) => {
                    return refuse(
                        format!("messages.{i}.content.{j}.type: Input tag '{other}' found using 'type' does not match any of the expected tags for a {role} message"),
                        None,
                    )
                }
            }
        }
        let missing: Vec<&str> = expected.iter().filter(|e| !answered.contains(e)).map(String::as_str).collect();
        if !missing.is_empty() {
            return refuse(
                format!("messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", missing.join(", ")),
                None,
            );
        }
        expected = used;
    }
    if !expected.is_empty() {
        return refuse(
            format!("messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", messages.len() - 1, expected.join(", ")),
            None,
        );
    }
    let tool_names = tool_names(body, "/name");
    if let Some(tool) = body
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|t| t.iter().find(|t| !t.get("input_schema").is_some_and(Value::is_object)))
    {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
        return refuse(format!("tools.{name}.input_schema: Field required"), None);
    }
    if let Some(choice) = body.get("tool_choice") {
        if tool_names.is_empty() {
            return refuse("tool_choice may only be specified while providing tools.", None);
        }
        match choice.get("type").and_then(Value::as_str) {
            Some("auto" | "any" | "none") => {}
            Some("tool") => {
                let name = choice.get("name").and_then(Value::as_str).unwrap_or_default();
                if !tool_names.iter().any(|n| n == name) {
                    return refuse(format!("Tool '{name}' not found in provided tools"), None);
                }
            }
            _ => return refuse(
                "tool_choice.type: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
                None,
            ),
        }
    }
    number_at_most(body, "temperature", 1.0)
        .map(|_| Refusal { message: "temperature: Input should be less than or equal to 1".into(), param: None })
}

fn tool_names(body: &Map<String, Value>, pointer: &str) -> Vec<String> {
    body.get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.pointer(pointer).and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// `key`, when present, must be a number from 0 to `max`.
fn number_at_most(body: &Map<String, Value>, key: &str, max: f64) -> Option<Refusal> {
    let value = body.get(key)?;
    match value.as_f64() {
        Some(n) if (0.0..=max).contains(&n) => None,
        _ => refuse(format!("Invalid '{key}': expected a number from 0 to {max}, got {value}."), Some(key.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn openai_refuses(body: Value, needle: &str) {
        let refusal = openai(&body).unwrap_or_else(|| panic!("accepted {body}"));
        assert!(refusal.message.contains(needle), "{}", refusal.message);
    }

    fn anthropic_refuses(body: Value, needle: &str) {
        let refusal = anthropic(&body).unwrap_or_else(|| panic!("accepted {body}"));
        assert!(refusal.message.contains(needle), "{}", refusal.message);
    }

    #[test]
    fn openai_accepts_a_proper_tool_round_trip() {
        let body = json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "b", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": "b", "content": "1"},
                {"role": "tool", "tool_call_id": "a", "content": "2"},
                {"role": "assistant", "content": "done"}
            ],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "parallel_tool_calls": false,
            "temperature": 1.5
        });
        assert_eq!(openai(&body), None);
    }

    #[test]
    fn openai_refuses_what_openai_refuses() {
        let call = json!({"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}});
        openai_refuses(json!([1]), "could not parse");
        openai_refuses(json!({"messages": [{"role": "user", "content": "u"}]}), "model");
        openai_refuses(json!({"model": "m", "messages": []}), "too short");
        openai_refuses(json!({"model": "m", "messages": [{"role": "bot", "content": "u"}]}), "Invalid value: 'bot'");
        openai_refuses(
            json!({"model": "m", "messages": [{"role": "tool", "tool_call_id": "x", "content": "1"}]}),
            "must be a response to a preceeding message",
        );
        openai_refuses(
            json!({"model": "m", "messages": [{"role": "assistant", "content": null, "tool_calls": [call]}, {"role": "user", "content": "u"}]}),
            "did not have response messages: a",
        );
        openai_refuses(
            json!({"model": "m", "messages": [{"role": "assistant", "content": null, "tool_calls": [call]}]}),
            "did not have response messages: a",
        );
        openai_refuses(
            json!({"model": "m", "messages": [{"role": "assistant", "content": null, "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": {}}}]}]}),
            "expected a string",
        );
        openai_refuses(json!({"model": "m", "messages": [{"role": "assistant", "content": null}]}), "got null");
        openai_refuses(
            json!({"model": "m", "messages": [{"role": "user", "content": "u"}], "tool_choice": "auto"}),
            "only allowed when 'tools'",
        );
        openai_refuses(
            json!({"model": "m", "messages": [{"role": "user", "content": "u"}], "parallel_tool_calls": true}),
            "only allowed when 'tools'",
        );
        let tools = json!([{"type": "function", "function": {"name": "f"}}]);
        openai_refuses(
            json!({"model": "m", "messages": [{"role": "user", "content": "u"}], "tools": tools, "tool_choice": {"type": "function", "function": {"name": "g"}}}),
            "not found",
        );
        openai_refuses(
            json!({"model": "m", "messages": [{"role": "user", "content": "u"}], "tools": tools, "tool_choice": "any"}),
            "tool_choice",
        );
        openai_refuses(
            json!({"model": "m", "messages": [{"role": "user", "content": "u"}], "temperature": 2.5}),
            "temperature",
        );
    }

    #[test]
    fn anthropic_accepts_a_proper_tool_round_trip() {
        let body = json!({
            "model": "m",
            "max_tokens": 10,
            "system": "s",
            "messages": [
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "checking"},
                    {"type": "tool_use", "id": "a", "name": "f", "input": {}},
                    {"type": "tool_use", "id": "b", "name": "f", "input": {"x": 1}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "a", "content": "1"},
                    {"type": "tool_result", "tool_use_id": "b", "content": "2"}
                ]},
                {"role": "assistant", "content": "done"}
            ],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "tool", "name": "f"},
            "temperature": 0.5
        });
        assert_eq!(anthropic(&body), None);
    }

    #[test]
    fn anthropic_refuses_what_anthropic_refuses() {
        let user = json!({"role": "user", "content": "u"});
        let uses = json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": "a", "name": "f", "input": {}},
            {"type": "tool_use", "id": "b", "name": "f", "input": {}}
        ]});
        let result =
            |id: &str| json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "1"}]});
        anthropic_refuses(json!({"max_tokens": 1, "messages": [user]}), "model");
        anthropic_refuses(json!({"model": "m", "messages": [user]}), "max_tokens");
        anthropic_refuses(json!({"model": "m", "max_tokens": 1, "messages": []}), "messages");
        anthropic_refuses(
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "system", "content": "s"}]}),
            "top-level `system`",
        );
        anthropic_refuses(
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": ""}]}),
            "non-empty",
        );
        anthropic_refuses(
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}),
            "text content blocks must be non-empty",
        );
        // results split over two user messages: the second call is unanswered in the next one
        anthropic_refuses(
            json!({"model": "m", "max_tokens": 1, "messages": [user, uses, result("a"), result("b")]}),
            "without `tool_result` blocks immediately after: b",
        );
        anthropic_refuses(json!({"model": "m", "max_tokens": 1, "messages": [user, uses]}), "immediately after: a, b");
        anthropic_refuses(
            json!({"model": "m", "max_tokens": 1, "messages": [user, result("z")]}),
            "unexpected `tool_use_id`",
        );
        anthropic_refuses(
            json!({"model": "m", "max_tokens": 1, "messages": [user], "tool_choice": {"type": "auto"}}),
            "only be specified while providing tools",
        );
        anthropic_refuses(
            json!({"model": "m", "max_tokens": 1, "messages": [user], "tools": [{"name": "f"}]}),
            "input_schema",
        );
        anthropic_refuses(
            json!({"model": "m", "max_tokens": 1, "messages": [user], "temperature": 1.2}),
            "less than or equal to 1",
        );
    }
}
