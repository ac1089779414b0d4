//! Meta's `message_template_status_update` webhook field: the review result of a message
//! template (`event`: `APPROVED`, `REJECTED`, `PAUSED`, `DISABLED`, `REINSTATED`…), named by
//! `message_template_name` and `message_template_language`.

use super::webhook::OtherEvent;

/// The webhook field this module reads.
pub const TEMPLATE_STATUS_FIELD: &str = "message_template_status_update";

/// One template's new review status, as Meta sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateStatusUpdate {
    /// `event`, e.g. `APPROVED`.
    pub event: String,
    pub name: String,
    pub language: String,
    /// `reason`, when Meta gave one other than `NONE`.
    pub reason: Option<String>,
}

impl TemplateStatusUpdate {
    /// The update an event carries, if it is a template status update with the name,
    /// language and event Meta always sends; `None` for any other event.
    pub fn from_event(event: &OtherEvent) -> Option<Self> {
        if event.field != TEMPLATE_STATUS_FIELD {
            return None;
        }
        let text = |key: &str| event.value.get(key).and_then(serde_json::Value::as_str).map(str::to_string);
        Some(Self {
            event: text("event")?,
            name: text("message_template_name")?,
            language: text("message_template_language")?,
            reason: text("reason").filter(|r| r != "NONE"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(field: &str, value: serde_json::Value) -> OtherEvent {
        OtherEvent { field: field.into(), business_account_id: None, phone_number_id: None, time: None, value }
    }

    #[test]
    fn reads_the_template_and_its_event() {
        let value = json!({ "event": "REJECTED", "message_template_id": 1, "message_template_name": "abandoned_cart",
            "message_template_language": "en", "reason": "INVALID_FORMAT" });
        let update = TemplateStatusUpdate::from_event(&event(TEMPLATE_STATUS_FIELD, value)).unwrap();
        assert_eq!(
            update,
            TemplateStatusUpdate {
                event: "REJECTED".into(),
                name: "abandoned_cart".into(),
                language: "en".into(),
                reason: Some("INVALID_FORMAT".into()),
            }
        );
        let approved = json!({ "event": "APPROVED", "message_template_name": "a", "message_template_language": "en", "reason": "NONE" });
        assert_eq!(TemplateStatusUpdate::from_event(&event(TEMPLATE_STATUS_FIELD, approved)).unwrap().reason, None);
        assert_eq!(
            TemplateStatusUpdate::from_event(&event(TEMPLATE_STATUS_FIELD, json!({ "event": "APPROVED" }))),
            None
        );
        assert_eq!(TemplateStatusUpdate::from_event(&event("account_update", json!({}))), None);
    }
}
