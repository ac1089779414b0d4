//! Who sent an inbound message: phone `wa_id`, business-scoped user id (BSUID), profile name.
//!
//! Meta puts the sender's ids on the message (`from`, and `from_user_id` since the BSUID
//! rollout) and the profile in the change's `contacts[]` (`wa_id`, `user_id`,
//! `parent_user_id`, `profile.name`, `profile.username`). This module owns matching the two:
//! a contact belongs to a message when its `wa_id` equals `from` or its `user_id` equals
//! `from_user_id`; failing both, the change's only contact is used unless one of its ids
//! contradicts the message's. Either id may be absent (users with a username may hide their
//! phone number), so the BSUID falls back to the matched contact's `user_id`.

use super::json_fields::{object_field, text_field, Object};
use serde_json::Value;

/// The sender of one message, as far as the payload tells.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SenderProfile {
    pub wa_id: Option<String>,
    pub business_scoped_user_id: Option<String>,
    pub name: Option<String>,
    pub username: Option<String>,
}

impl SenderProfile {
    /// Resolves the sender of `message` against the change's `contacts`.
    pub(crate) fn resolve(message: &Object, contacts: &[Value]) -> Self {
        let from = text_field(message, "from");
        let from_user_id = text_field(message, "from_user_id");
        let cards: Vec<&Object> = contacts.iter().filter_map(Value::as_object).collect();
        let matches = |card: &&Object, key: &str, id: &Option<String>| {
            id.is_some() && text_field(card, key).as_ref() == id.as_ref()
        };
        let contradicts = |card: &Object, key: &str, id: &Option<String>| matches!((text_field(card, key), id), (Some(theirs), Some(ours)) if theirs != *ours);
        let contact = cards
            .iter()
            .find(|c| matches(c, "wa_id", &from))
            .or_else(|| cards.iter().find(|c| matches(c, "user_id", &from_user_id)))
            .or_else(|| match cards.as_slice() {
                [only] if !contradicts(only, "wa_id", &from) && !contradicts(only, "user_id", &from_user_id) => {
                    Some(only)
                }
                _ => None,
            })
            .copied();
        let profile = contact.and_then(|c| object_field(c, "profile"));
        Self {
            wa_id: from.or_else(|| contact.and_then(|c| text_field(c, "wa_id"))),
            business_scoped_user_id: from_user_id.or_else(|| contact.and_then(|c| text_field(c, "user_id"))),
            name: profile.and_then(|p| text_field(p, "name")),
            username: profile.and_then(|p| text_field(p, "username")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolve(message: Value, contacts: Value) -> SenderProfile {
        let contacts = contacts.as_array().cloned().unwrap_or_default();
        SenderProfile::resolve(message.as_object().expect("object"), &contacts)
    }

    #[test]
    fn matches_by_wa_id_among_many() {
        let p = resolve(
            json!({"from": "2"}),
            json!([{"wa_id": "1", "profile": {"name": "One"}}, {"wa_id": "2", "user_id": "US.2", "profile": {"name": "Two"}}]),
        );
        assert_eq!(p.name.as_deref(), Some("Two"));
        assert_eq!(p.business_scoped_user_id.as_deref(), Some("US.2"));
    }

    #[test]
    fn bsuid_only_sender() {
        let p = resolve(
            json!({"from_user_id": "US.9"}),
            json!([{"user_id": "US.9", "profile": {"name": "Nine", "username": "@nine"}}]),
        );
        assert_eq!(p.wa_id, None);
        assert_eq!(p.business_scoped_user_id.as_deref(), Some("US.9"));
        assert_eq!(p.username.as_deref(), Some("@nine"));
    }

    #[test]
    fn the_only_contact_is_not_used_when_it_contradicts() {
        let p = resolve(
            json!({"from": "16505551234"}),
            json!([{"wa_id": "972987654321", "user_id": "US.1", "profile": {"name": "X"}}]),
        );
        assert_eq!(p, SenderProfile { wa_id: Some("16505551234".into()), ..SenderProfile::default() });
        let only = resolve(json!({}), json!([{"wa_id": "1", "user_id": "US.1", "profile": {"name": "X"}}]));
        assert_eq!(only.wa_id.as_deref(), Some("1"));
        assert_eq!(only.name.as_deref(), Some("X"));
    }
}
