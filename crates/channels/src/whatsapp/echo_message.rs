//! A message a person sent from the WhatsApp Business app on a coexistence number
//! (`smb_message_echoes` changes, `value.message_echoes[]`).
//!
//! These are outbound messages written by a human, so they are stored with role `agent`
//! ([`EchoMessage::ROLE`]) and never answered. This module owns their envelope (wamid,
//! business and customer ids, time); what they say comes from `message_content`, exactly as
//! for inbound messages (text, media, `edit`, `revoke`…).

use super::inbound_message::context_of;
use super::json_fields::{text_field, unix_timestamp};
use super::message_content::describe;
use super::routing::Routing;
use confab_domain::{MessageKind, Role};
use serde_json::Value;
use time::OffsetDateTime;

/// An echo of a message sent by a person from the WhatsApp Business app.
#[derive(Clone, Debug, PartialEq)]
pub struct EchoMessage {
    /// The business number it was sent from: the routing key.
    pub phone_number_id: String,
    pub display_phone_number: Option<String>,
    pub wamid: String,
    /// `from` as Meta sent it: normally the business number.
    pub from: Option<String>,
    /// `to` as Meta sent it: normally the customer's `wa_id`.
    pub to: Option<String>,
    /// `to_user_id`: the customer's business-scoped user id, when Meta sends one.
    pub to_user_id: Option<String>,
    pub timestamp: OffsetDateTime,
    pub kind: MessageKind,
    pub content: String,
    pub payload: Value,
    pub reply_to: Option<String>,
    /// The wamid acted on, for reactions, edits and deletions.
    pub target_message_id: Option<String>,
}

impl EchoMessage {
    /// Who wrote an echo: a person, through the Business app.
    pub const ROLE: Role = Role::Agent;

    /// The customer's `wa_id`: `to`, unless `to` is the business's own display number and
    /// `from` is not (some payloads, including pywa's edit/delete samples, swap the two).
    pub fn customer_wa_id(&self) -> Option<&str> {
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let business = self.display_phone_number.as_deref().map(digits).filter(|d| !d.is_empty());
        let is_business = |n: &Option<String>| n.as_deref().map(digits).is_some_and(|d| Some(d) == business);
        if is_business(&self.to) && self.from.is_some() && !is_business(&self.from) {
            self.from.as_deref()
        } else {
            self.to.as_deref()
        }
    }

    /// Parses one element of `value.message_echoes[]`; `Err` explains why not, giving it back.
    pub(crate) fn from_wire(routing: &Routing, echo: Value) -> Result<Self, (String, Value)> {
        let Value::Object(mut obj) = echo else {
            return Err(("an echo is not a JSON object".to_owned(), echo));
        };
        let Some(wamid) = text_field(&obj, "id") else {
            return Err(("echo has no `id` (wamid)".to_owned(), Value::Object(obj)));
        };
        let timestamp = match unix_timestamp(obj.get("timestamp")) {
            Ok(t) => t,
            Err(why) => return Err((format!("echo {wamid}: {why}"), Value::Object(obj))),
        };
        let from = text_field(&obj, "from");
        let to = text_field(&obj, "to");
        let to_user_id = text_field(&obj, "to_user_id");
        let (reply_to, _) = context_of(&obj);
        for envelope in ["id", "timestamp", "from", "to", "to_user_id"] {
            obj.remove(envelope);
        }
        let content = describe(obj);
        Ok(Self {
            phone_number_id: routing.phone_number_id.clone(),
            display_phone_number: routing.display_phone_number.clone(),
            wamid,
            from,
            to,
            to_user_id,
            timestamp,
            kind: content.kind,
            content: content.content,
            payload: content.payload,
            reply_to,
            target_message_id: content.target_message_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn routing() -> Routing {
        Routing { phone_number_id: "111".into(), display_phone_number: Some("15550001111".into()) }
    }

    #[test]
    fn customer_is_to_unless_swapped() {
        let normal = EchoMessage::from_wire(
            &routing(),
            json!({"id": "w", "timestamp": "1", "from": "15550001111", "to": "15551234567", "type": "text", "text": {"body": "x"}}),
        )
        .expect("parses");
        assert_eq!(normal.customer_wa_id(), Some("15551234567"));
        let swapped = EchoMessage::from_wire(
            &routing(),
            json!({"id": "w", "timestamp": "1", "from": "15551234567", "to": "+1 555 000 1111", "type": "revoke", "revoke": {"original_message_id": "o"}}),
        )
        .expect("parses");
        assert_eq!(swapped.customer_wa_id(), Some("15551234567"));
        assert_eq!((swapped.kind, swapped.target_message_id.as_deref()), (MessageKind::Revoke, Some("o")));
    }

    #[test]
    fn refuses_echoes_without_id_or_time() {
        assert!(EchoMessage::from_wire(&routing(), json!({"timestamp": "1"})).is_err());
        assert!(EchoMessage::from_wire(&routing(), json!({"id": "w"})).is_err());
        assert!(EchoMessage::from_wire(&routing(), json!(null)).is_err());
    }
}
