//! How conversations and messages look in API answers and exports (DESIGN §8).

use confab_domain::{Booking, Conversation, Customer, Message, Role, WindowState};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub fn customer_json(customer: Option<&Customer>) -> Value {
    match customer {
        Some(c) => json!({
            "name": c.name,
            "phone": c.phone.as_ref().map(|p| p.as_str().to_string()),
            "identifier": c.external_identifier.clone().or_else(|| c.business_scoped_user_id.clone()),
        }),
        None => json!({ "name": null, "phone": null, "identifier": null }),
    }
}

/// A conversation's fields as list items and the detail carry them.
pub fn conversation_json(c: &Conversation, customer: Option<&Customer>, now: OffsetDateTime) -> Value {
    let window = match c.window().state(now) {
        WindowState::Open { expires_at } => json!({ "is_open": true, "expires_at": rfc3339(expires_at) }),
        WindowState::Closed { expired_at } => json!({ "is_open": false, "expires_at": expired_at.map(rfc3339) }),
    };
    json!({
        "id": c.id,
        "type": c.kind.as_str(),
        "status": c.status.as_str(),
        "assistant_id": c.assistant_id,
        "sender_id": c.sender_id,
        "customer": customer_json(customer),
        "ai_enabled": c.ai_enabled,
        "message_count": c.message_count,
        "customer_message_count": c.customer_message_count,
        "total_tokens": c.total_tokens,
        "total_cost_micros": c.total_cost.0,
        "created_at": rfc3339(c.created_at),
        "last_message_at": rfc3339(c.last_message_at),
        "ended_at": c.ended_at.map(rfc3339),
        "variables": c.variables,
        "extracted": c.extracted,
        "extraction_status": c.extraction.as_str(),
        "window": window,
    })
}

pub fn message_json(m: &Message) -> Value {
    let function_calls: Vec<Value> = match (&m.tool_call, m.role) {
        (Some(call), Role::Tool) => vec![json!({
            "name": call.name,
            "arguments": call.arguments,
            "result": call.result,
            "error": call.error,
            "duration_ms": call.duration_ms,
        })],
        _ => Vec::new(),
    };
    json!({
        "id": m.id,
        "role": m.role.as_str(),
        "type": m.kind.as_str(),
        "content": m.content,
        "payload": m.payload,
        "created_at": rfc3339(m.created_at),
        "sent_at": rfc3339(m.sent_at),
        "status": m.status.as_str(),
        "provider_message_id": m.provider_message_id,
        "error": m.error.as_ref().map(|e| json!({ "code": e.code, "title": e.title, "details": e.details })),
        "reply_to": m.reply_to,
        "forwarded": m.forwarded,
        "function_calls": function_calls,
        "usage": m.usage,
        "cost_micros": m.cost.0,
    })
}

/// An appointment `schedule_appointment` booked in the conversation.
pub fn booking_json(b: &Booking) -> Value {
    json!({
        "id": b.id,
        "assistant_id": b.assistant_id,
        "status": b.status.as_str(),
        "starts_at": rfc3339(b.starts_at),
        "ends_at": rfc3339(b.ends_at),
        "customer_name": b.customer_name,
        "notes": b.notes,
        "created_at": rfc3339(b.created_at),
    })
}
