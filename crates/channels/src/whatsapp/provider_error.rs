//! Meta's error objects (`errors[]` on messages, statuses and change values) as domain errors.
//!
//! Meta spells one error as `{code, title, message, error_data: {details}, href}`, with any
//! field possibly absent. This module owns turning that into [`DeliveryError`]: the code, the
//! title (falling back to `message`), and the details (`error_data.details`, falling back to
//! `message` when that says more than the title). It does not classify errors (retryable,
//! window closed…); the Graph client's error classification does that.

use super::json_fields::{object_field, str_field, Object};
use confab_domain::DeliveryError;
use serde_json::Value;

/// One Meta error object as a [`DeliveryError`]; `None` when `value` is not an object.
pub fn delivery_error(value: &Value) -> Option<DeliveryError> {
    let obj = value.as_object()?;
    Some(from_object(obj))
}

/// Every error object of an `errors` array, in order; entries that are not objects are skipped.
pub fn delivery_errors(errors: &[Value]) -> Vec<DeliveryError> {
    errors.iter().filter_map(delivery_error).collect()
}

fn from_object(obj: &Object) -> DeliveryError {
    let code = obj.get("code").and_then(|c| match c {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let non_empty = |s: &&str| !s.trim().is_empty();
    let title = str_field(obj, "title").filter(non_empty);
    let message = str_field(obj, "message").filter(non_empty);
    let details = object_field(obj, "error_data")
        .and_then(|data| str_field(data, "details"))
        .filter(non_empty)
        .or(message.filter(|m| title.is_some_and(|t| t != *m)));
    let title = match (title, message, code) {
        (Some(t), _, _) | (None, Some(t), _) => t.to_owned(),
        (None, None, Some(code)) => format!("WhatsApp error {code}"),
        (None, None, None) => "unknown WhatsApp error".to_owned(),
    };
    DeliveryError { code, title, details: details.map(str::to_owned) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_error_object() {
        let e = delivery_error(&json!({
            "code": 130472,
            "title": "User's number is part of an experiment",
            "message": "User's number is part of an experiment",
            "error_data": {"details": "Failed to send message because this user's phone number is part of an experiment"},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
        }))
        .expect("object");
        assert_eq!(e.code, Some(130472));
        assert_eq!(e.title, "User's number is part of an experiment");
        assert_eq!(
            e.details.as_deref(),
            Some("Failed to send message because this user's phone number is part of an experiment")
        );
    }

    #[test]
    fn sparse_error_objects() {
        let only_message = delivery_error(&json!({"code": 12455, "message": "ERROR_TITLE"})).expect("object");
        assert_eq!(only_message, DeliveryError { code: Some(12455), title: "ERROR_TITLE".into(), details: None });
        let different_message = delivery_error(
            &json!({"code": "131047", "title": "Re-engagement message", "message": "More than 24 hours"}),
        )
        .expect("object");
        assert_eq!(different_message.code, Some(131047));
        assert_eq!(different_message.details.as_deref(), Some("More than 24 hours"));
        assert_eq!(delivery_error(&json!({})).expect("object").title, "unknown WhatsApp error");
        assert_eq!(delivery_error(&json!("oops")), None);
        assert_eq!(delivery_errors(&[json!(1), json!({"code": 1})]).len(), 1);
    }
}
