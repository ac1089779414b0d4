//! One delivery status callback from a `messages` webhook change (`value.statuses[]`).
//!
//! This module owns reading a status: which outbound wamid it is about, the status (mapped to
//! [`DeliveryStatus`], with Meta's raw word kept: `played` reads as `read`, and a word we do
//! not know stays raw with no mapped status), when, to whom, Meta's errors, and the billing
//! objects (`conversation`, `pricing`) kept as Meta sent them. It does not apply the status:
//! forward-only progression is `DeliveryStatus::advance_to`, used by the engine.

use super::json_fields::{array_field, id_field, object_field, str_field, text_field, unix_timestamp};
use super::provider_error::delivery_errors;
use super::routing::Routing;
use confab_domain::{DeliveryError, DeliveryStatus};
use serde_json::Value;
use time::OffsetDateTime;

/// A status update for a message we (or a person in the Business app) sent.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusUpdate {
    /// The business number the message was sent from: the routing key.
    pub phone_number_id: String,
    pub display_phone_number: Option<String>,
    /// The wamid of the outbound message.
    pub wamid: String,
    /// `status` mapped to the domain; `None` for a word we do not know (see `raw_status`).
    pub status: Option<DeliveryStatus>,
    /// `status` exactly as Meta sent it (`sent`, `delivered`, `read`, `played`, `failed`…).
    pub raw_status: String,
    pub timestamp: OffsetDateTime,
    /// The customer's `wa_id`, or a group id for group messages. Absent for some users
    /// reached by business-scoped user id.
    pub recipient_id: Option<String>,
    /// The customer's business-scoped user id: `recipient_user_id`, else the `user_id` of the
    /// change's contact whose `wa_id` is `recipient_id`.
    pub recipient_user_id: Option<String>,
    /// `recipient_type`, e.g. `group`; absent for one-to-one messages.
    pub recipient_type: Option<String>,
    /// Every `errors[]` entry; the first explains a `failed` status (see [`Self::error`]).
    pub errors: Vec<DeliveryError>,
    /// `conversation` (`{id, expiration_timestamp?, origin: {type}}`) as Meta sent it.
    pub conversation: Option<Value>,
    /// `pricing` (`{billable, pricing_model, category, type?}`) as Meta sent it.
    pub pricing: Option<Value>,
    /// `biz_opaque_callback_data`: the tracker string we attached when sending.
    pub biz_opaque_callback_data: Option<String>,
}

impl StatusUpdate {
    /// The error that explains a failure: the first of `errors`.
    pub fn error(&self) -> Option<&DeliveryError> {
        self.errors.first()
    }

    /// `pricing.billable`, when Meta said.
    pub fn billable(&self) -> Option<bool> {
        self.pricing.as_ref()?.get("billable")?.as_bool()
    }

    /// `pricing.category` (`service`, `marketing`, `utility`, `authentication`…), when Meta said.
    pub fn pricing_category(&self) -> Option<&str> {
        self.pricing.as_ref()?.get("category")?.as_str()
    }

    /// Parses one element of `value.statuses[]`; `Err` explains why not, giving it back.
    pub(crate) fn from_wire(routing: &Routing, contacts: &[Value], status: Value) -> Result<Self, (String, Value)> {
        let Some(obj) = status.as_object() else {
            return Err(("a status is not a JSON object".to_owned(), status));
        };
        let Some(wamid) = text_field(obj, "id") else {
            return Err(("status has no `id` (wamid)".to_owned(), status));
        };
        let Some(raw_status) = str_field(obj, "status").map(str::to_owned) else {
            return Err((format!("status for {wamid} has no `status` string"), status));
        };
        let timestamp = match unix_timestamp(obj.get("timestamp")) {
            Ok(t) => t,
            Err(why) => return Err((format!("status for {wamid}: {why}"), status)),
        };
        let recipient_id = id_field(obj, "recipient_id");
        let recipient_user_id = text_field(obj, "recipient_user_id").or_else(|| {
            let wa_id = recipient_id.as_deref()?;
            contacts
                .iter()
                .filter_map(Value::as_object)
                .find(|c| str_field(c, "wa_id") == Some(wa_id))
                .and_then(|c| text_field(c, "user_id"))
        });
        Ok(Self {
            phone_number_id: routing.phone_number_id.clone(),
            display_phone_number: routing.display_phone_number.clone(),
            status: DeliveryStatus::parse(&raw_status),
            raw_status,
            timestamp,
            recipient_id,
            recipient_user_id,
            recipient_type: text_field(obj, "recipient_type"),
            errors: delivery_errors(array_field(obj, "errors")),
            conversation: object_field(obj, "conversation").cloned().map(Value::Object),
            pricing: object_field(obj, "pricing").cloned().map(Value::Object),
            biz_opaque_callback_data: text_field(obj, "biz_opaque_callback_data"),
            wamid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn routing() -> Routing {
        Routing { phone_number_id: "111".into(), display_phone_number: None }
    }

    #[test]
    fn parses_a_failed_status() {
        let s = StatusUpdate::from_wire(
            &routing(),
            &[],
            json!({"id": "wamid.A", "status": "failed", "timestamp": "1689380458", "recipient_id": "15551234567",
                   "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "24h passed"}}]}),
        )
        .expect("parses");
        assert_eq!(s.status, Some(DeliveryStatus::Failed));
        assert_eq!(s.error().and_then(|e| e.code), Some(131047));
        assert_eq!(s.error().and_then(|e| e.details.as_deref()), Some("24h passed"));
        assert_eq!(s.billable(), None);
    }

    #[test]
    fn unknown_words_are_kept_raw_and_played_reads_as_read() {
        let s = StatusUpdate::from_wire(&routing(), &[], json!({"id": "w", "status": "warning", "timestamp": "1"}))
            .expect("parses");
        assert_eq!((s.status, s.raw_status.as_str()), (None, "warning"));
        let p = StatusUpdate::from_wire(&routing(), &[], json!({"id": "w", "status": "played", "timestamp": "1"}))
            .expect("parses");
        assert_eq!((p.status, p.raw_status.as_str()), (Some(DeliveryStatus::Read), "played"));
    }

    #[test]
    fn refuses_statuses_without_id_status_or_time() {
        for bad in [
            json!([]),
            json!({"status": "sent", "timestamp": "1"}),
            json!({"id": "w", "timestamp": "1"}),
            json!({"id": "w", "status": "sent"}),
        ] {
            let (_, back) = StatusUpdate::from_wire(&routing(), &[], bad.clone()).expect_err("refused");
            assert_eq!(back, bad);
        }
    }
}
