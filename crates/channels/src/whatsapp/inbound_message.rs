//! One customer message from a `messages` webhook change (`value.messages[]`).
//!
//! This module owns the envelope of an inbound message: its routing key, wamid, sender ids and
//! profile, the customer's own timestamp, reply and forward context, and Meta's per-message
//! errors. What the message says (kind, content, payload) comes from `message_content`.
//! A message without a wamid, a usable timestamp or any sender id cannot be ingested
//! idempotently or attributed, so it is refused here and set aside by the webhook walk.
//!
//! It does not route to a workspace or decide whether to answer; that is the engine's.

use super::json_fields::{array_field, flag, object_field, text_field, unix_timestamp, Object};
use super::message_content::describe;
use super::provider_error::delivery_errors;
use super::routing::Routing;
use super::sender_profile::SenderProfile;
use confab_domain::{CustomerIdentity, DeliveryError, MessageKind, PhoneNumber};
use serde_json::Value;
use time::OffsetDateTime;

/// An inbound WhatsApp message, parsed but not yet routed to a workspace.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundWhatsappMessage {
    /// The business number it was sent to (`metadata.phone_number_id`): the routing key.
    pub phone_number_id: String,
    /// `metadata.display_phone_number` of the business number, as Meta formats it.
    pub display_phone_number: Option<String>,
    /// Meta's message id (`wamid.…`), the idempotency key.
    pub wamid: String,
    /// The customer's phone `wa_id` (`from`), digits without `+`. Absent for users who hide
    /// their number behind a username.
    pub from: Option<String>,
    /// The business-scoped user id (`from_user_id`, else the matched contact's `user_id`).
    pub business_scoped_user_id: Option<String>,
    /// `contacts[].profile.name` of the sender.
    pub profile_name: Option<String>,
    /// `contacts[].profile.username` of the sender, when the user has one.
    pub username: Option<String>,
    /// When the customer sent it: the 24-hour window counts from here.
    pub timestamp: OffsetDateTime,
    pub kind: MessageKind,
    /// The text, caption, or a short readable summary of non-text content.
    pub content: String,
    /// What Meta sent for this type; see `message_content` for the exact contract.
    pub payload: Value,
    /// `context.id`: the wamid this message replies to (a quoted message, a template's button).
    pub reply_to: Option<String>,
    /// The wamid this message acts on: the reacted-to message for reactions, the original for
    /// edits and deletions (`revoke`).
    pub target_message_id: Option<String>,
    /// `context.forwarded` or `context.frequently_forwarded`.
    pub forwarded: bool,
    /// Meta's per-message `errors[]` (e.g. 131051 for an unsupported type).
    pub errors: Vec<DeliveryError>,
}

impl InboundWhatsappMessage {
    /// The customer as the domain names one. A `from` that is not a valid E.164 number is left
    /// out (the raw string stays in [`Self::from`]).
    pub fn customer_identity(&self) -> CustomerIdentity {
        CustomerIdentity::Whatsapp {
            wa_id: self.from.as_deref().and_then(|f| PhoneNumber::parse(f).ok()),
            business_scoped_user_id: self.business_scoped_user_id.clone(),
        }
    }

    /// Parses one element of `value.messages[]`; `Err` explains why it cannot be ingested,
    /// and gives the element back untouched.
    pub(crate) fn from_wire(routing: &Routing, contacts: &[Value], message: Value) -> Result<Self, (String, Value)> {
        let Value::Object(mut obj) = message else {
            return Err(("a message is not a JSON object".to_owned(), message));
        };
        let Some(wamid) = text_field(&obj, "id") else {
            return Err(("message has no `id` (wamid)".to_owned(), Value::Object(obj)));
        };
        let timestamp = match unix_timestamp(obj.get("timestamp")) {
            Ok(t) => t,
            Err(why) => return Err((format!("message {wamid}: {why}"), Value::Object(obj))),
        };
        let sender = SenderProfile::resolve(&obj, contacts);
        if sender.wa_id.is_none() && sender.business_scoped_user_id.is_none() {
            return Err((
                format!("message {wamid} names no sender: neither `from` nor `from_user_id` (nor a matching contact)"),
                Value::Object(obj),
            ));
        }
        let (reply_to, forwarded) = context_of(&obj);
        let errors = delivery_errors(array_field(&obj, "errors"));
        for envelope in ["id", "timestamp", "from", "from_user_id"] {
            obj.remove(envelope);
        }
        let content = describe(obj);
        Ok(Self {
            phone_number_id: routing.phone_number_id.clone(),
            display_phone_number: routing.display_phone_number.clone(),
            wamid,
            from: sender.wa_id,
            business_scoped_user_id: sender.business_scoped_user_id,
            profile_name: sender.name,
            username: sender.username,
            timestamp,
            kind: content.kind,
            content: content.content,
            payload: content.payload,
            reply_to,
            target_message_id: content.target_message_id,
            forwarded,
            errors,
        })
    }
}

/// `(context.id, forwarded)` of a message.
pub(crate) fn context_of(message: &Object) -> (Option<String>, bool) {
    match object_field(message, "context") {
        Some(ctx) => (text_field(ctx, "id"), flag(ctx, "forwarded") || flag(ctx, "frequently_forwarded")),
        None => (None, false),
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
    fn parses_the_envelope() {
        let contacts = [json!({"wa_id": "15551234567", "user_id": "US.1", "profile": {"name": "Ann"}})];
        let m = InboundWhatsappMessage::from_wire(
            &routing(),
            &contacts,
            json!({
                "from": "15551234567", "id": "wamid.A", "timestamp": "1697043223", "type": "text",
                "text": {"body": "hi"}, "context": {"id": "wamid.Q", "frequently_forwarded": true}
            }),
        )
        .expect("parses");
        assert_eq!(m.wamid, "wamid.A");
        assert_eq!(m.from.as_deref(), Some("15551234567"));
        assert_eq!(m.business_scoped_user_id.as_deref(), Some("US.1"));
        assert_eq!(m.profile_name.as_deref(), Some("Ann"));
        assert_eq!(m.timestamp.unix_timestamp(), 1_697_043_223);
        assert_eq!((m.kind, m.content.as_str()), (MessageKind::Text, "hi"));
        assert_eq!(m.reply_to.as_deref(), Some("wamid.Q"));
        assert!(m.forwarded);
        assert_eq!(m.payload, json!({"body": "hi", "context": {"id": "wamid.Q", "frequently_forwarded": true}}));
        assert_eq!(
            m.customer_identity(),
            CustomerIdentity::Whatsapp {
                wa_id: Some(PhoneNumber::parse("+15551234567").expect("valid")),
                business_scoped_user_id: Some("US.1".into())
            }
        );
    }

    #[test]
    fn refuses_what_cannot_be_ingested() {
        let cases = [
            (json!("text"), "not a JSON object"),
            (json!({"from": "1", "timestamp": "1", "type": "text"}), "no `id`"),
            (json!({"from": "1", "id": "wamid.A", "type": "text"}), "`timestamp` is missing"),
            (json!({"from": "1", "id": "wamid.A", "timestamp": "soon"}), "not a whole number"),
            (json!({"id": "wamid.A", "timestamp": "1", "type": "text"}), "names no sender"),
        ];
        for (message, why) in cases {
            let (reason, back) =
                InboundWhatsappMessage::from_wire(&routing(), &[], message.clone()).expect_err("refused");
            assert!(reason.contains(why), "{reason}");
            assert_eq!(back, message);
        }
    }
}
