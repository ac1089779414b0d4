//! The body of a Meta WhatsApp Cloud API webhook POST, walked into a [`WebhookBatch`].
//!
//! This module owns the envelope (`object`, `entry[]`, `changes[]`, `field`, `value`) and
//! what each `field` becomes:
//! - `messages`: `value.messages[]` → [`InboundWhatsappMessage`], `value.statuses[]` →
//!   [`StatusUpdate`], `value.errors[]` → [`ChangeError`];
//! - `smb_message_echoes`: `value.message_echoes[]` → [`EchoMessage`];
//! - any other field (`message_template_status_update`, `account_update`, `calls`,
//!   `user_preferences`, `history`…) → [`OtherEvent`] with its value kept whole: never an error.
//!
//! Only a body that is not a WhatsApp webhook at all fails ([`WebhookParseError`]). Inside a
//! good body, anything that cannot be used (a message without a wamid, an entry that is not an
//! object…) lands in [`WebhookBatch::unparsed`] with the reason, and the rest still parses.
//! Parsing never panics, whatever the bytes. The signature must be checked on the raw bytes
//! *before* calling [`parse_webhook`] (see `signature`).

use super::echo_message::EchoMessage;
use super::inbound_message::InboundWhatsappMessage;
use super::json_fields::{array_field, id_field, kind_of, str_field, unix_timestamp, Object};
use super::provider_error::delivery_errors;
use super::routing::Routing;
use super::status_update::StatusUpdate;
use confab_domain::DeliveryError;
use serde_json::Value;
use time::OffsetDateTime;

/// The `object` value of every WhatsApp Business webhook.
pub const WHATSAPP_OBJECT: &str = "whatsapp_business_account";

/// Everything one webhook body carried, sorted by what confab does with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WebhookBatch {
    /// Customer messages, in payload order.
    pub messages: Vec<InboundWhatsappMessage>,
    /// Delivery status updates for outbound messages, in payload order.
    pub statuses: Vec<StatusUpdate>,
    /// Messages a person sent from the WhatsApp Business app (store as role `agent`).
    pub echoes: Vec<EchoMessage>,
    /// Errors Meta reported for a whole change (`value.errors[]`), e.g. an unsupported payload.
    pub change_errors: Vec<ChangeError>,
    /// Changes of fields confab does not turn into messages: acknowledge and keep.
    pub other_events: Vec<OtherEvent>,
    /// Parts of the body that could not be used, each with the reason.
    pub unparsed: Vec<Unparsed>,
}

impl WebhookBatch {
    /// Whether the body carried nothing at all.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
            && self.statuses.is_empty()
            && self.echoes.is_empty()
            && self.change_errors.is_empty()
            && self.other_events.is_empty()
            && self.unparsed.is_empty()
    }
}

/// An error Meta attached to a whole change rather than to one message or status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeError {
    pub field: String,
    pub phone_number_id: Option<String>,
    pub error: DeliveryError,
}

/// A change of a field confab does not parse further, kept whole.
#[derive(Clone, Debug, PartialEq)]
pub struct OtherEvent {
    /// `changes[].field`, e.g. `message_template_status_update`, `account_update`, `calls`.
    pub field: String,
    /// `entry[].id`: the WhatsApp Business Account id (templates and account events are per
    /// account, not per number).
    pub business_account_id: Option<String>,
    /// `value.metadata.phone_number_id`, for fields that carry one (`calls`, `user_preferences`).
    pub phone_number_id: Option<String>,
    /// `entry[].time`, when Meta sent one.
    pub time: Option<OffsetDateTime>,
    /// `changes[].value` exactly as Meta sent it (`null` if absent).
    pub value: Value,
}

/// A piece of the body that could not be used, kept with the reason.
#[derive(Clone, Debug, PartialEq)]
pub struct Unparsed {
    /// What is wrong and where, e.g. `entry[0].changes[0].value.messages[2]: message has no `id``.
    pub reason: String,
    /// The business number of the change it came from, when known.
    pub phone_number_id: Option<String>,
    /// The offending piece, as it was.
    pub value: Value,
}

/// Why a body is not a WhatsApp webhook at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookParseError {
    #[error("the webhook body is not valid JSON: {0}")]
    NotJson(String),
    #[error("the webhook body is {0}, not a JSON object")]
    NotAnObject(&'static str),
    #[error("the webhook body has no `object` field (a WhatsApp webhook has \"object\": \"{WHATSAPP_OBJECT}\")")]
    MissingObject,
    #[error(
        "the webhook's `object` is {0}, not \"{WHATSAPP_OBJECT}\"; is this the WhatsApp Business Account webhook?"
    )]
    WrongObject(String),
    #[error("the webhook body has no `entry` array")]
    MissingEntry,
    #[error("the webhook's `entry` is {0}, not an array")]
    EntryNotArray(&'static str),
}

/// Parses a webhook body (already signature-checked) into a [`WebhookBatch`].
pub fn parse_webhook(raw_body: &[u8]) -> Result<WebhookBatch, WebhookParseError> {
    let mut root: Value = serde_json::from_slice(raw_body).map_err(|e| WebhookParseError::NotJson(e.to_string()))?;
    crate::storable_text::make_json_storable(&mut root);
    let Value::Object(mut root) = root else {
        return Err(WebhookParseError::NotAnObject(kind_of(&root)));
    };
    match root.get("object") {
        None => return Err(WebhookParseError::MissingObject),
        Some(Value::String(s)) if s == WHATSAPP_OBJECT => {}
        Some(other) => return Err(WebhookParseError::WrongObject(truncated(other.to_string()))),
    }
    let entries = match root.remove("entry") {
        None | Some(Value::Null) => return Err(WebhookParseError::MissingEntry),
        Some(Value::Array(entries)) => entries,
        Some(other) => return Err(WebhookParseError::EntryNotArray(kind_of(&other))),
    };
    let mut batch = WebhookBatch::default();
    for (i, entry) in entries.into_iter().enumerate() {
        walk_entry(&mut batch, &format!("entry[{i}]"), entry);
    }
    Ok(batch)
}

fn walk_entry(batch: &mut WebhookBatch, at: &str, entry: Value) {
    let Value::Object(mut entry) = entry else {
        return batch.set_aside(format!("{at} is {}, not an object", kind_of(&entry)), None, entry);
    };
    let changes = match entry.remove("changes") {
        Some(Value::Array(changes)) => changes,
        other => {
            let why = other.as_ref().map_or("missing", kind_of);
            if let Some(v) = other {
                entry.insert("changes".to_owned(), v);
            }
            return batch.set_aside(format!("{at}.changes is {why}, not an array"), None, Value::Object(entry));
        }
    };
    let account = EntryInfo {
        business_account_id: id_field(&entry, "id"),
        time: entry.get("time").and_then(|t| unix_timestamp(Some(t)).ok()),
    };
    for (j, change) in changes.into_iter().enumerate() {
        walk_change(batch, &format!("{at}.changes[{j}]"), &account, change);
    }
}

struct EntryInfo {
    business_account_id: Option<String>,
    time: Option<OffsetDateTime>,
}

fn walk_change(batch: &mut WebhookBatch, at: &str, account: &EntryInfo, change: Value) {
    let Value::Object(mut change) = change else {
        return batch.set_aside(format!("{at} is {}, not an object", kind_of(&change)), None, change);
    };
    let Some(field) = str_field(&change, "field").map(str::to_owned) else {
        return batch.set_aside(format!("{at} has no `field` string"), None, Value::Object(change));
    };
    let value = change.remove("value").unwrap_or(Value::Null);
    match (field.as_str(), value) {
        ("messages", Value::Object(value)) if has_any(&value, &["messages", "statuses", "errors"]) => {
            walk_messages_value(batch, &format!("{at}.value"), &field, false, value);
        }
        ("smb_message_echoes", Value::Object(value)) if has_any(&value, &["message_echoes", "errors"]) => {
            walk_messages_value(batch, &format!("{at}.value"), &field, true, value);
        }
        (_, value) => batch.other_events.push(OtherEvent {
            phone_number_id: Routing::phone_number_id_of(value.as_object()),
            field,
            business_account_id: account.business_account_id.clone(),
            time: account.time,
            value,
        }),
    }
}

fn has_any(value: &Object, keys: &[&str]) -> bool {
    keys.iter().any(|k| value.contains_key(*k))
}

/// A `messages` change value (`messages[]`, `statuses[]`, `errors[]`), or with `echoes` an
/// `smb_message_echoes` one (`message_echoes[]`, `errors[]`).
fn walk_messages_value(batch: &mut WebhookBatch, at: &str, field: &str, echoes: bool, mut value: Object) {
    let Some(routing) = Routing::of_change(&value) else {
        return batch.set_aside(
            format!("{at} has no `metadata.phone_number_id` to route by"),
            None,
            Value::Object(value),
        );
    };
    let pnid = Some(routing.phone_number_id.clone());
    for error in delivery_errors(array_field(&value, "errors")) {
        batch.change_errors.push(ChangeError { field: field.to_owned(), phone_number_id: pnid.clone(), error });
    }
    if echoes {
        for (i, echo) in take_array(batch, &mut value, "message_echoes", at, &pnid).into_iter().enumerate() {
            match EchoMessage::from_wire(&routing, echo) {
                Ok(e) => batch.echoes.push(e),
                Err((why, v)) => batch.set_aside(format!("{at}.message_echoes[{i}]: {why}"), pnid.clone(), v),
            }
        }
        return;
    }
    let statuses = take_array(batch, &mut value, "statuses", at, &pnid);
    let messages = take_array(batch, &mut value, "messages", at, &pnid);
    let contacts = array_field(&value, "contacts");
    for (i, status) in statuses.into_iter().enumerate() {
        match StatusUpdate::from_wire(&routing, contacts, status) {
            Ok(s) => batch.statuses.push(s),
            Err((why, v)) => batch.set_aside(format!("{at}.statuses[{i}]: {why}"), pnid.clone(), v),
        }
    }
    for (i, message) in messages.into_iter().enumerate() {
        match InboundWhatsappMessage::from_wire(&routing, contacts, message) {
            Ok(m) => batch.messages.push(m),
            Err((why, v)) => batch.set_aside(format!("{at}.messages[{i}]: {why}"), pnid.clone(), v),
        }
    }
}

/// Takes `value[key]` out as an array; anything else there is set aside.
fn take_array(batch: &mut WebhookBatch, value: &mut Object, key: &str, at: &str, pnid: &Option<String>) -> Vec<Value> {
    match value.remove(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            batch.set_aside(format!("{at}.{key} is {}, not an array", kind_of(&other)), pnid.clone(), other);
            Vec::new()
        }
    }
}

impl WebhookBatch {
    fn set_aside(&mut self, reason: String, phone_number_id: Option<String>, value: Value) {
        self.unparsed.push(Unparsed { reason, phone_number_id, value });
    }
}

/// At most 100 characters of a rendered value, for error messages.
fn truncated(mut s: String) -> String {
    if let Some((cut, _)) = s.char_indices().nth(100) {
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_domain::MessageKind;
    use serde_json::json;

    fn body(value: Value) -> Vec<u8> {
        serde_json::to_vec(&value).expect("serialises")
    }

    fn messages_change(value: Value) -> Vec<u8> {
        body(
            json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]}),
        )
    }

    #[test]
    fn envelope_errors_say_what_is_wrong() {
        let cases: [(&[u8], WebhookParseError); 4] = [
            (b"", WebhookParseError::NotJson(String::new())),
            (b"[1]", WebhookParseError::NotAnObject("an array")),
            (br#"{"entry": []}"#, WebhookParseError::MissingObject),
            (br#"{"object": "whatsapp_business_account"}"#, WebhookParseError::MissingEntry),
        ];
        for (raw, expected) in cases {
            let err = parse_webhook(raw).expect_err("refused");
            assert_eq!(std::mem::discriminant(&err), std::mem::discriminant(&expected), "{err}");
        }
        let wrong = parse_webhook(br#"{"object": "page", "entry": []}"#).expect_err("refused");
        assert_eq!(wrong, WebhookParseError::WrongObject("\"page\"".into()));
        assert!(wrong.to_string().contains("whatsapp_business_account"));
        let entry = parse_webhook(br#"{"object": "whatsapp_business_account", "entry": {}}"#).expect_err("refused");
        assert_eq!(entry, WebhookParseError::EntryNotArray("an object"));
    }

    #[test]
    fn one_bad_message_does_not_lose_the_rest() {
        let raw = messages_change(json!({
            "metadata": {"phone_number_id": "111", "display_phone_number": "15550001111"},
            "messages": [
                {"from": "15551234567", "id": "wamid.1", "timestamp": "1", "type": "text", "text": {"body": "a"}},
                {"from": "15551234567", "timestamp": "1", "type": "text", "text": {"body": "no id"}},
                42,
                {"from": "15551234567", "id": "wamid.3", "timestamp": "1", "type": "text", "text": {"body": "c"}}
            ],
            "statuses": [{"id": "wamid.9", "status": "sent"}, {"id": "wamid.8", "status": "read", "timestamp": "2"}],
            "errors": [{"code": 131000, "title": "Something went wrong"}]
        }));
        let batch = parse_webhook(&raw).expect("parses");
        let ids: Vec<&str> = batch.messages.iter().map(|m| m.wamid.as_str()).collect();
        assert_eq!(ids, ["wamid.1", "wamid.3"]);
        assert_eq!(batch.statuses.len(), 1);
        assert_eq!(batch.unparsed.len(), 3);
        assert!(
            batch.unparsed[0].reason.starts_with("entry[0].changes[0].value.statuses[0]"),
            "{}",
            batch.unparsed[0].reason
        );
        assert!(batch.unparsed.iter().all(|u| u.phone_number_id.as_deref() == Some("111")));
        assert_eq!(batch.change_errors.len(), 1);
        assert_eq!(batch.change_errors[0].error.code, Some(131000));
    }

    #[test]
    fn odd_structure_is_set_aside_not_fatal() {
        let raw = body(json!({"object": "whatsapp_business_account", "entry": [
            7,
            {"id": "1"},
            {"id": "1", "changes": [3, {"value": {}}, {"field": "messages", "value": {"messages": []}}, {"field": "messages", "value": {"metadata": {"phone_number_id": "1"}, "messages": {}}}]}
        ]}));
        let batch = parse_webhook(&raw).expect("parses");
        assert_eq!(batch.unparsed.len(), 6, "{:#?}", batch.unparsed);
        assert!(batch.messages.is_empty());
    }

    #[test]
    fn other_fields_are_kept_whole() {
        let raw = body(
            json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "time": 1751247548, "changes": [
                {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_id": 1}},
                {"field": "brand_new_field"},
                {"field": "messages", "value": {"metadata": {"phone_number_id": "1"}, "contacts": []}}
            ]}]}),
        );
        let batch = parse_webhook(&raw).expect("parses");
        assert!(batch.unparsed.is_empty());
        let fields: Vec<&str> = batch.other_events.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["message_template_status_update", "brand_new_field", "messages"]);
        let first = &batch.other_events[0];
        assert_eq!(first.business_account_id.as_deref(), Some("WABA"));
        assert_eq!(first.time.map(|t| t.unix_timestamp()), Some(1_751_247_548));
        assert_eq!(first.value["event"], "APPROVED");
        assert_eq!(batch.other_events[1].value, Value::Null);
        assert_eq!(batch.other_events[2].phone_number_id.as_deref(), Some("1"));
    }

    #[test]
    fn a_change_without_routing_is_set_aside() {
        let raw = messages_change(json!({"messages": [{"from": "1", "id": "w", "timestamp": "1", "type": "text"}]}));
        let batch = parse_webhook(&raw).expect("parses");
        assert!(batch.messages.is_empty());
        assert_eq!(batch.unparsed.len(), 1);
        assert!(batch.unparsed[0].reason.contains("phone_number_id"));
    }

    #[test]
    fn many_messages_in_one_change() {
        let messages: Vec<Value> = (0..1000)
            .map(|i| json!({"from": "15551234567", "id": format!("wamid.{i}"), "timestamp": "1697043223", "type": "text", "text": {"body": format!("message {i}")}}))
            .collect();
        let raw = messages_change(json!({
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": "111", "display_phone_number": "15550001111"},
            "contacts": [{"wa_id": "15551234567", "profile": {"name": "Ann"}}],
            "messages": messages
        }));
        let batch = parse_webhook(&raw).expect("parses");
        assert_eq!(batch.messages.len(), 1000);
        assert!(batch.unparsed.is_empty());
        assert!(batch.messages.iter().all(|m| m.kind == MessageKind::Text && m.profile_name.as_deref() == Some("Ann")));
        assert_eq!(batch.messages[999].content, "message 999");
    }

    #[test]
    fn long_wrong_objects_are_truncated() {
        let raw = format!(r#"{{"object": "{}", "entry": []}}"#, "é".repeat(500));
        let err = parse_webhook(raw.as_bytes()).expect_err("refused");
        assert!(err.to_string().chars().count() < 250);
    }
}
