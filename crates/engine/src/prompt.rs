//! What the model is told: the assistant's system prompt with its variables filled in, a
//! channel hint, knowledge-base passages in knowledge mode `prompt`, and the conversation as chat messages, trimmed to a budget from the oldest
//! end without ever separating a tool call from its result.

use confab_assistant::{ChatMessage, ToolCallRequest};
use confab_domain::timezone::{local_date_and_time, zone_or_utc};
use confab_domain::{Assistant, Conversation, ConversationType, Customer, Message, Passage, Role};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Roughly how much history a turn sends, in characters (about 4 per token).
pub const HISTORY_BUDGET_CHARS: usize = 48_000;

const WHATSAPP_HINT: &str = "You are writing WhatsApp messages: use WhatsApp formatting (*bold*, _italic_), \
keep paragraphs short, and never use tables, headings or Markdown links.";

/// The system prompt with `{{variables}}` replaced: the system ones (`current_date` and
/// `current_time` on the wall clock of the assistant's time zone, e.g. `2026-03-29` and
/// `03:05 Europe/Madrid`; `customer_phone`, `customer_name`, `assistant_name`, `channel`) and
/// the conversation's own. Unknown names are left as written.
pub fn system_prompt(
    assistant: &Assistant,
    conversation: &Conversation,
    customer: Option<&Customer>,
    now: OffsetDateTime,
) -> String {
    let mut values: HashMap<String, String> = HashMap::new();
    let (date, time) = local_date_and_time(now, &zone_or_utc(&assistant.timezone));
    values.insert("current_date".into(), date);
    values.insert("current_time".into(), format!("{time} {}", assistant.timezone));
    values.insert(
        "customer_phone".into(),
        customer.and_then(|c| c.phone.as_ref()).map(|p| p.as_str().to_string()).unwrap_or_default(),
    );
    values.insert("customer_name".into(), customer.and_then(|c| c.name.clone()).unwrap_or_default());
    values.insert("assistant_name".into(), assistant.name.clone());
    values.insert("channel".into(), conversation.kind.as_str().into());
    for (name, value) in &conversation.variables {
        values.insert(name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_string));
    }
    let mut prompt = fill(&assistant.system_prompt, &values);
    if conversation.kind == ConversationType::Whatsapp {
        prompt.push_str("\n\n");
        prompt.push_str(WHATSAPP_HINT);
    }
    prompt
}

/// Passages put into the system prompt in knowledge mode `prompt`, per turn.
pub const PROMPT_PASSAGES: u32 = 3;

/// The knowledge-base passages of a `prompt`-mode turn, as a section appended to the system
/// prompt; `None` when there are none.
pub fn knowledge_section(passages: &[Passage]) -> Option<String> {
    if passages.is_empty() {
        return None;
    }
    let mut section = String::from(
        "Knowledge base passages that may answer the customer (use them when relevant; do not invent facts \
         they do not state):",
    );
    for (i, p) in passages.iter().enumerate() {
        let heading = if p.heading.is_empty() { String::new() } else { format!(" > {}", p.heading) };
        section.push_str(&format!("\n\n[{}] {}{}\n{}", i + 1, p.document_title, heading, p.text.trim()));
    }
    Some(section)
}

fn fill(template: &str, values: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.get(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The conversation as chat messages, newest kept first within `budget` characters. Each
/// stored tool call becomes the model's call and its result, kept or dropped together.
/// System notes are for people, not the model.
pub fn chat_history(history: &[Message], budget: usize) -> Vec<ChatMessage> {
    let groups: Vec<(usize, Vec<ChatMessage>)> = history
        .iter()
        .filter_map(|m| match (m.role, &m.tool_call) {
            (Role::User, _) => Some((m.content.len(), vec![ChatMessage::user(m.content.clone())])),
            (Role::Assistant | Role::Agent, _) if !m.content.is_empty() => {
                Some((m.content.len(), vec![ChatMessage::assistant(m.content.clone())]))
            }
            (Role::Tool, Some(call)) => {
                let request = ToolCallRequest {
                    id: call.call_id.clone(),
                    name: call.name.clone(),
                    arguments: call.arguments.clone(),
                };
                let result = call
                    .result
                    .as_ref()
                    .map(ToString::to_string)
                    .or_else(|| call.error.as_ref().map(|e| format!("error: {e}")))
                    .unwrap_or_default();
                let size = result.len() + call.arguments.to_string().len();
                Some((
                    size,
                    vec![
                        ChatMessage::assistant_tool_calls(None, vec![request]),
                        ChatMessage::tool_result(call.call_id.clone(), result),
                    ],
                ))
            }
            _ => None,
        })
        .collect();
    let mut kept = Vec::new();
    let mut used = 0;
    for (size, group) in groups.into_iter().rev() {
        if used + size > budget && !kept.is_empty() {
            break;
        }
        used += size;
        kept.push(group);
    }
    kept.into_iter().rev().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_known_variables_and_leaves_the_rest() {
        let mut values = HashMap::new();
        values.insert("name".to_string(), "Ana".to_string());
        assert_eq!(fill("Hi {{name}}, {{ name }}! {{unknown}} {{", &values), "Hi Ana, Ana! {{unknown}} {{");
        assert_eq!(fill("no variables", &values), "no variables");
    }
}
