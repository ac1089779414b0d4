//! What a WhatsApp message *says*: its [`MessageKind`], a readable `content` line, and the
//! structured `payload`, for every message `type` Meta sends.
//!
//! Shared by inbound customer messages and by echoes of messages a person sent from the
//! WhatsApp Business app: both carry the same `type` + `<type>` object shape.
//!
//! The payload contract (what storage keeps and the dashboard renders):
//! - known types: the `<type>` object exactly as Meta sent it (`image` → `{id, mime_type,
//!   sha256, caption?, url?}`, `location` → `{latitude, longitude, name?, …}`, …), with every
//!   other message-level field that is not an envelope field (`context`, `referral`, `errors`,
//!   `identity`, …) merged in under its own name. A `<type>` value that is not an object (the
//!   `contacts` array) is wrapped as `{"contacts": [...]}`, so the payload is always an object.
//!   A message-level field whose name the `<type>` object already uses is kept as
//!   `message_<name>`.
//! - unknown types: the whole message minus the envelope (`type` included), so nothing is lost.
//!
//! Only what Meta sent goes into the payload; nothing computed is added. This module does no
//! routing and no validation of ids or times (the callers own the envelope).

use super::json_fields::{array_field, flag, object_field, str_field, Object};
use confab_domain::MessageKind;
use serde_json::{Map, Value};

/// The kind, content and payload of one message, plus the wamid it acts on (reactions, edits,
/// deletions).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MessageContent {
    pub kind: MessageKind,
    pub content: String,
    pub payload: Value,
    pub target_message_id: Option<String>,
}

/// Describes a message whose envelope fields (`id`, `from`, `timestamp`…) the caller has
/// already taken out; consumes the rest.
pub(crate) fn describe(mut message: Object) -> MessageContent {
    let type_name = match message.remove("type") {
        Some(Value::String(name)) => name,
        other => {
            if let Some(odd) = other {
                message.insert("type".to_owned(), odd);
            }
            return MessageContent {
                kind: MessageKind::Unsupported,
                content: "[message without a type]".to_owned(),
                payload: Value::Object(message),
                target_message_id: None,
            };
        }
    };
    let body = message.remove(&type_name);
    match summarize(&type_name, body.as_ref()) {
        Some(Summary { kind, content, target_message_id }) => MessageContent {
            kind,
            content,
            payload: Value::Object(merge_payload(&type_name, body, message)),
            target_message_id,
        },
        None => {
            let content = format!("[unsupported message type: {type_name}]");
            if let Some(body) = body {
                message.insert(type_name.clone(), body);
            }
            message.insert("type".to_owned(), Value::String(type_name));
            MessageContent {
                kind: MessageKind::Unsupported,
                content,
                payload: Value::Object(message),
                target_message_id: None,
            }
        }
    }
}

struct Summary {
    kind: MessageKind,
    content: String,
    target_message_id: Option<String>,
}

impl Summary {
    fn new(kind: MessageKind, content: impl Into<String>) -> Self {
        Self { kind, content: content.into(), target_message_id: None }
    }

    fn acting_on(mut self, target: Option<&str>) -> Self {
        self.target_message_id = target.filter(|t| !t.is_empty()).map(str::to_owned);
        self
    }
}

/// `None` for a type we do not know.
fn summarize(type_name: &str, body: Option<&Value>) -> Option<Summary> {
    let obj = body.and_then(Value::as_object);
    let field = |key: &str| obj.and_then(|o| str_field(o, key)).map(str::trim).filter(|s| !s.is_empty());
    Some(match type_name {
        "text" => Summary::new(MessageKind::Text, obj.and_then(|o| str_field(o, "body")).unwrap_or_default()),
        "image" => Summary::new(MessageKind::Image, field("caption").unwrap_or("[image]")),
        "video" => Summary::new(MessageKind::Video, field("caption").unwrap_or("[video]")),
        "sticker" => Summary::new(MessageKind::Sticker, field("caption").unwrap_or("[sticker]")),
        "document" => Summary::new(
            MessageKind::Document,
            match (field("caption"), field("filename")) {
                (Some(caption), _) => caption.to_owned(),
                (None, Some(name)) => format!("[document: {name}]"),
                (None, None) => "[document]".to_owned(),
            },
        ),
        "audio" if obj.is_some_and(|o| flag(o, "voice")) => {
            Summary::new(MessageKind::Voice, field("caption").unwrap_or("[voice message]"))
        }
        "audio" => Summary::new(MessageKind::Audio, field("caption").unwrap_or("[audio]")),
        "location" => Summary::new(MessageKind::Location, location(obj)),
        "contacts" => Summary::new(MessageKind::Contacts, contacts(body)),
        "interactive" => Summary::new(MessageKind::Interactive, interactive(obj)),
        "button" => Summary::new(MessageKind::Button, field("text").or(field("payload")).unwrap_or("[button]")),
        "reaction" => {
            let target = field("message_id");
            let content = match (field("emoji"), target) {
                (Some(emoji), Some(id)) => format!("Reacted {emoji} to {id}"),
                (Some(emoji), None) => format!("Reacted {emoji}"),
                (None, Some(id)) => format!("Removed reaction from {id}"),
                (None, None) => "Removed reaction".to_owned(),
            };
            Summary::new(MessageKind::Reaction, content).acting_on(target)
        }
        "order" => Summary::new(MessageKind::Order, order(obj)),
        "system" => Summary::new(
            MessageKind::System,
            match (field("body"), field("type")) {
                (Some(body), _) => body.to_owned(),
                (None, Some(kind)) => format!("[system: {kind}]"),
                (None, None) => "[system event]".to_owned(),
            },
        ),
        "request_welcome" => Summary::new(MessageKind::System, "[the customer opened the chat for the first time]"),
        "unsupported" => Summary::new(
            MessageKind::Unsupported,
            field("type").map_or_else(|| "[unsupported message]".to_owned(), |t| format!("[unsupported message: {t}]")),
        ),
        "edit" => {
            let edited = obj.and_then(|o| object_field(o, "message"));
            let content = edited
                .and_then(|m| {
                    let inner_type = str_field(m, "type")?;
                    summarize(inner_type, m.get(inner_type))
                })
                .map_or_else(|| "[edited a message]".to_owned(), |inner| inner.content);
            Summary::new(MessageKind::Edit, content).acting_on(field("original_message_id"))
        }
        "revoke" => Summary::new(MessageKind::Revoke, "Deleted a message").acting_on(field("original_message_id")),
        "template" => Summary::new(
            MessageKind::Template,
            field("name").map_or_else(|| "[template]".to_owned(), |name| format!("[template: {name}]")),
        ),
        _ => return None,
    })
}

fn location(obj: Option<&Object>) -> String {
    let Some(obj) = obj else { return "📍 Location".to_owned() };
    let words: Vec<&str> =
        ["name", "address"].iter().filter_map(|k| str_field(obj, k)).map(str::trim).filter(|s| !s.is_empty()).collect();
    if !words.is_empty() {
        return format!("📍 Location: {}", words.join(", "));
    }
    match (obj.get("latitude").and_then(Value::as_f64), obj.get("longitude").and_then(Value::as_f64)) {
        (Some(lat), Some(long)) => format!("📍 Location: {lat}, {long}"),
        _ => "📍 Location".to_owned(),
    }
}

fn contacts(body: Option<&Value>) -> String {
    let cards = body.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let names: Vec<String> = cards
        .iter()
        .filter_map(|card| {
            let name = object_field(card.as_object()?, "name")?;
            if let Some(formatted) = str_field(name, "formatted_name").map(str::trim).filter(|s| !s.is_empty()) {
                return Some(formatted.to_owned());
            }
            let parts: Vec<&str> = ["first_name", "last_name"]
                .iter()
                .filter_map(|k| str_field(name, k))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
        .collect();
    match names.len() {
        0 if cards.is_empty() => "👤 Contacts".to_owned(),
        0 => format!("👤 Contacts: {} cards", cards.len()),
        1 => format!("👤 Contact: {}", names.join("")),
        _ => format!("👤 Contacts: {}", names.join(", ")),
    }
}

fn interactive(obj: Option<&Object>) -> String {
    let Some(obj) = obj else { return "[interactive]".to_owned() };
    let sub_type = str_field(obj, "type").unwrap_or_default();
    let reply = object_field(obj, sub_type);
    let reply_field = |key: &str| reply.and_then(|r| str_field(r, key)).map(str::trim).filter(|s| !s.is_empty());
    match sub_type {
        "button_reply" | "list_reply" => {
            reply_field("title").or(reply_field("id")).unwrap_or("[interactive reply]").to_owned()
        }
        "nfm_reply" => flow_response(reply),
        "call_permission_reply" => reply_field("response")
            .map_or_else(|| "📞 Call permission reply".to_owned(), |r| format!("📞 Call permission: {r}")),
        _ => object_field(obj, "body")
            .and_then(|b| str_field(b, "text"))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| {
                if sub_type.is_empty() {
                    "[interactive]".to_owned()
                } else {
                    format!("[interactive: {sub_type}]")
                }
            }),
    }
}

/// A WhatsApp Flow's answers, from the JSON string in `nfm_reply.response_json`, without the
/// opaque `flow_token`.
fn flow_response(reply: Option<&Object>) -> String {
    let answers: Option<Map<String, Value>> = reply
        .and_then(|r| str_field(r, "response_json"))
        .and_then(|json| serde_json::from_str::<Value>(json).ok())
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        });
    let pairs: Vec<String> = answers
        .iter()
        .flatten()
        .filter(|(key, _)| key.as_str() != "flow_token")
        .map(|(key, value)| match value {
            Value::String(s) => format!("{key}: {s}"),
            other => format!("{key}: {other}"),
        })
        .collect();
    if !pairs.is_empty() {
        return format!("📋 Form response: {}", pairs.join(", "));
    }
    let body = reply.and_then(|r| str_field(r, "body")).map(str::trim).filter(|s| !s.is_empty());
    body.map_or_else(|| "📋 Form response".to_owned(), |b| format!("📋 Form response: {b}"))
}

fn order(obj: Option<&Object>) -> String {
    let Some(obj) = obj else { return "🛒 Order".to_owned() };
    let items: Vec<String> = array_field(obj, "product_items")
        .iter()
        .filter_map(Value::as_object)
        .map(|item| {
            let product = str_field(item, "product_retailer_id").unwrap_or("item");
            match item.get("quantity") {
                Some(Value::Number(n)) => format!("{n}× {product}"),
                Some(Value::String(s)) => format!("{s}× {product}"),
                _ => product.to_owned(),
            }
        })
        .collect();
    let mut line = if items.is_empty() { "🛒 Order".to_owned() } else { format!("🛒 Order: {}", items.join(", ")) };
    if let Some(note) = str_field(obj, "text").map(str::trim).filter(|s| !s.is_empty()) {
        line.push_str(" — ");
        line.push_str(note);
    }
    line
}

/// The `<type>` value as the base object, with the remaining message-level fields merged in.
fn merge_payload(type_name: &str, body: Option<Value>, rest: Object) -> Object {
    let mut payload = match body {
        Some(Value::Object(obj)) => obj,
        Some(other) => Map::from_iter([(type_name.to_owned(), other)]),
        None => Map::new(),
    };
    for (key, value) in rest {
        if payload.contains_key(&key) {
            payload.entry(format!("message_{key}")).or_insert(value);
        } else {
            payload.insert(key, value);
        }
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(message: Value) -> MessageContent {
        describe(message.as_object().cloned().expect("object"))
    }

    #[test]
    fn media_uses_caption_or_a_placeholder() {
        let image = run(json!({"type": "image", "image": {"id": "1", "mime_type": "image/jpeg"}}));
        assert_eq!((image.kind, image.content.as_str()), (MessageKind::Image, "[image]"));
        assert_eq!(image.payload, json!({"id": "1", "mime_type": "image/jpeg"}));
        let doc = run(json!({"type": "document", "document": {"id": "1", "filename": "a.pdf"}}));
        assert_eq!(doc.content, "[document: a.pdf]");
        let video = run(json!({"type": "video", "video": {"id": "1", "caption": " look "}}));
        assert_eq!(video.content, "look");
        let voice = run(json!({"type": "audio", "audio": {"id": "1", "voice": true}}));
        assert_eq!((voice.kind, voice.content.as_str()), (MessageKind::Voice, "[voice message]"));
        let audio = run(json!({"type": "audio", "audio": {"id": "1", "voice": "yes"}}));
        assert_eq!(audio.kind, MessageKind::Audio);
    }

    #[test]
    fn extras_are_merged_and_collisions_kept() {
        let m = run(json!({
            "type": "text", "text": {"body": "hi", "referral": "inner"},
            "referral": {"source_id": "ADID"}, "context": {"forwarded": true}
        }));
        assert_eq!(
            m.payload,
            json!({"body": "hi", "referral": "inner", "message_referral": {"source_id": "ADID"}, "context": {"forwarded": true}})
        );
    }

    #[test]
    fn contacts_are_wrapped_and_named() {
        let m = run(json!({"type": "contacts", "contacts": [
            {"name": {"formatted_name": "Chandler Bing"}}, {"name": {"first_name": "Monica"}}
        ]}));
        assert_eq!(m.content, "👤 Contacts: Chandler Bing, Monica");
        assert!(m.payload["contacts"].is_array());
    }

    #[test]
    fn reactions_and_unreactions() {
        let r = run(json!({"type": "reaction", "reaction": {"message_id": "wamid.A", "emoji": "👍"}}));
        assert_eq!((r.content.as_str(), r.target_message_id.as_deref()), ("Reacted 👍 to wamid.A", Some("wamid.A")));
        let u = run(json!({"type": "reaction", "reaction": {"message_id": "wamid.A", "emoji": ""}}));
        assert_eq!(u.content, "Removed reaction from wamid.A");
        assert_eq!(u.kind, MessageKind::Reaction);
    }

    #[test]
    fn location_order_flow_and_edit() {
        let loc = run(json!({"type": "location", "location": {"latitude": 1.5, "longitude": -2.25}}));
        assert_eq!(loc.content, "📍 Location: 1.5, -2.25");
        let order = run(
            json!({"type": "order", "order": {"product_items": [{"product_retailer_id": "A", "quantity": 2}], "text": "fast"}}),
        );
        assert_eq!(order.content, "🛒 Order: 2× A — fast");
        let flow = run(json!({"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {
            "response_json": "{\"flow_token\":\"t\",\"rating\":\"4\",\"n\":2}", "body": "Sent"
        }}}));
        assert_eq!(flow.content, "📋 Form response: n: 2, rating: 4");
        let bad_flow = run(
            json!({"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {"response_json": "{", "body": "Sent"}}}),
        );
        assert_eq!(bad_flow.content, "📋 Form response: Sent");
        let edit = run(
            json!({"type": "edit", "edit": {"original_message_id": "wamid.O", "message": {"type": "text", "text": {"body": "new"}}}}),
        );
        assert_eq!(
            (edit.kind, edit.content.as_str(), edit.target_message_id.as_deref()),
            (MessageKind::Edit, "new", Some("wamid.O"))
        );
    }

    #[test]
    fn unknown_and_missing_types_keep_everything() {
        let m = run(json!({"type": "hologram", "hologram": {"x": 1}, "extra": true}));
        assert_eq!(m.kind, MessageKind::Unsupported);
        assert_eq!(m.content, "[unsupported message type: hologram]");
        assert_eq!(m.payload, json!({"type": "hologram", "hologram": {"x": 1}, "extra": true}));
        let untyped = run(json!({"type": 7, "text": {"body": "?"}}));
        assert_eq!(untyped.kind, MessageKind::Unsupported);
        assert_eq!(untyped.payload, json!({"type": 7, "text": {"body": "?"}}));
    }

    #[test]
    fn wrong_shaped_bodies_do_not_panic() {
        for ty in [
            "text",
            "image",
            "audio",
            "location",
            "contacts",
            "interactive",
            "button",
            "reaction",
            "order",
            "system",
            "edit",
            "revoke",
            "unsupported",
            "template",
            "request_welcome",
        ] {
            for body in [
                json!(null),
                json!(3),
                json!("s"),
                json!([1, {"a": 2}]),
                json!({"type": 5, "message": 3, "product_items": 4}),
            ] {
                let m = run(json!({"type": ty, ty: body}));
                assert!(m.payload.is_object(), "{ty}");
            }
        }
    }
}
