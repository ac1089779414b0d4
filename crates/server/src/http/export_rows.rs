//! How the export writes one row: a conversation or a message as a CSV row or a JSON line,
//! written straight into the output buffer. JSON lines are serialised from borrowed views of
//! the stored rows, with the keys in the order (alphabetical) and shapes the API's
//! `conversation_json`/`message_json` give them.

use super::conversation_json::rfc3339;
use super::csv_row::CsvRow;
use confab_domain::{Conversation, ConversationId, ConversationType, Customer, Message, MessageId, Role};
use confab_storage::ExportedMessage;
use serde::Serialize;
use serde_json::Value;

pub const CONVERSATION_HEADER: [&str; 17] = [
    "id",
    "type",
    "status",
    "assistant_id",
    "sender_id",
    "customer_name",
    "customer_phone",
    "customer_identifier",
    "ai_enabled",
    "message_count",
    "customer_message_count",
    "total_tokens",
    "total_cost_micros",
    "created_at",
    "last_message_at",
    "ended_at",
    "variables",
];

pub const MESSAGE_HEADER: [&str; 15] = [
    "conversation_id",
    "conversation_type",
    "message_id",
    "role",
    "type",
    "content",
    "created_at",
    "status",
    "provider_message_id",
    "error_code",
    "error_title",
    "function_calls",
    "input_tokens",
    "output_tokens",
    "cost_micros",
];

pub fn write_header(out: &mut Vec<u8>, header: &[&str]) {
    let mut row = CsvRow::new(out);
    for name in header {
        row.text(name);
    }
    row.end();
}

/// A conversation as a CSV row.
pub fn write_conversation_csv(out: &mut Vec<u8>, c: &Conversation, customer: Option<&Customer>) {
    let mut row = CsvRow::new(out);
    row.plain(c.id)
        .plain(c.kind.as_str())
        .plain(c.status.as_str())
        .plain(c.assistant_id)
        .optional(c.sender_id)
        .text(customer.and_then(|c| c.name.as_deref()).unwrap_or_default())
        .text(customer.and_then(|c| c.phone.as_ref()).map(|p| p.as_str()).unwrap_or_default())
        .text(customer_identifier(customer).unwrap_or_default())
        .plain(c.ai_enabled)
        .plain(c.message_count)
        .plain(c.customer_message_count)
        .plain(c.total_tokens)
        .plain(c.total_cost.0)
        .plain(rfc3339(c.created_at))
        .plain(rfc3339(c.last_message_at))
        .optional(c.ended_at.map(rfc3339))
        .text(&serde_json::to_string(&c.variables).unwrap_or_default());
    row.end();
}

/// What `identifier` shows of a customer.
fn customer_identifier(customer: Option<&Customer>) -> Option<&str> {
    customer.and_then(|c| c.external_identifier.as_deref().or(c.business_scoped_user_id.as_deref()))
}

/// A message as a CSV row; `scratch` is reused for its function calls' JSON.
pub fn write_message_csv(out: &mut Vec<u8>, scratch: &mut Vec<u8>, e: &ExportedMessage) {
    let m = &e.message;
    let calls = function_calls(m);
    scratch.clear();
    if !calls.is_empty() {
        // serialising borrowed values into a Vec cannot fail
        let _ = serde_json::to_writer(&mut *scratch, &calls);
    }
    let mut row = CsvRow::new(out);
    row.plain(m.conversation_id)
        .plain(e.conversation_type.as_str())
        .plain(m.id)
        .plain(m.role.as_str())
        .plain(m.kind.as_str())
        .text(&m.content)
        .plain(rfc3339(m.created_at))
        .plain(m.status.as_str())
        .text(m.provider_message_id.as_deref().unwrap_or_default())
        .optional(m.error.as_ref().and_then(|e| e.code))
        .text(m.error.as_ref().map(|e| e.title.as_str()).unwrap_or_default())
        .text(std::str::from_utf8(scratch).unwrap_or_default())
        .optional(m.usage.map(|u| u.input_tokens))
        .optional(m.usage.map(|u| u.output_tokens))
        .plain(m.cost.0);
    row.end();
}

/// A message as a JSON line.
pub fn write_message_json(out: &mut Vec<u8>, e: &ExportedMessage) -> serde_json::Result<()> {
    let m = &e.message;
    let line = MessageLine {
        content: &m.content,
        conversation_id: m.conversation_id,
        conversation_type: e.conversation_type,
        cost_micros: m.cost.0,
        created_at: rfc3339(m.created_at),
        error: m.error.as_ref().map(|e| ErrorLine { code: e.code, details: e.details.as_deref(), title: &e.title }),
        forwarded: m.forwarded,
        function_calls: function_calls(m),
        id: m.id,
        payload: &m.payload,
        provider_message_id: m.provider_message_id.as_deref(),
        reply_to: m.reply_to.as_deref(),
        role: m.role.as_str(),
        sent_at: rfc3339(m.sent_at),
        status: m.status.as_str(),
        kind: m.kind.as_str(),
        usage: m.usage.map(|u| UsageLine {
            cached_input_tokens: u.cached_input_tokens,
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
        }),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.push(b'\n');
    Ok(())
}

/// A tool message's call (the others have none), as `message_json` shows it.
fn function_calls(m: &Message) -> Vec<FunctionCallLine<'_>> {
    match (&m.tool_call, m.role) {
        (Some(call), Role::Tool) => vec![FunctionCallLine {
            arguments: &call.arguments,
            duration_ms: call.duration_ms,
            error: call.error.as_deref(),
            name: &call.name,
            result: call.result.as_ref(),
        }],
        _ => Vec::new(),
    }
}

/// A message's JSON line: its `message_json` fields and its conversation's id and type.
#[derive(Serialize)]
struct MessageLine<'a> {
    content: &'a str,
    conversation_id: ConversationId,
    #[serde(serialize_with = "conversation_type_name")]
    conversation_type: ConversationType,
    cost_micros: i64,
    created_at: String,
    error: Option<ErrorLine<'a>>,
    forwarded: bool,
    function_calls: Vec<FunctionCallLine<'a>>,
    id: MessageId,
    payload: &'a Value,
    provider_message_id: Option<&'a str>,
    reply_to: Option<&'a str>,
    role: &'a str,
    sent_at: String,
    status: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    usage: Option<UsageLine>,
}

fn conversation_type_name<S: serde::Serializer>(kind: &ConversationType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    code: Option<i64>,
    details: Option<&'a str>,
    title: &'a str,
}

#[derive(Serialize)]
struct FunctionCallLine<'a> {
    arguments: &'a Value,
    duration_ms: i64,
    error: Option<&'a str>,
    name: &'a str,
    result: Option<&'a Value>,
}

#[derive(Serialize)]
struct UsageLine {
    cached_input_tokens: u64,
    input_tokens: u64,
    output_tokens: u64,
}
