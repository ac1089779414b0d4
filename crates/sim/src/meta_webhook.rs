//! Webhook bodies as Meta's WhatsApp Cloud API posts them (`object`, `entry[].changes[]`,
//! `value.metadata`, `contacts`, `messages`, `statuses`), and their `X-Hub-Signature-256`.

use crate::ascii_json::to_ascii_json;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// The business number a simulated webhook is addressed to.
#[derive(Clone, Debug)]
pub struct BusinessNumber {
    pub phone_number_id: String,
    pub display_phone_number: String,
}

/// A customer writing to a business.
#[derive(Clone, Debug)]
pub struct Customer {
    pub wa_id: String,
    pub name: String,
}

/// A body ready to post: the exact bytes and the signature header over them.
#[derive(Clone, Debug)]
pub struct SignedWebhook {
    pub body: Vec<u8>,
    pub signature: String,
}

pub fn sign(app_secret: &str, payload: &Value) -> SignedWebhook {
    let body = to_ascii_json(payload);
    let signature = confab_channels::whatsapp::sign(app_secret.as_bytes(), &body);
    SignedWebhook { body, signature }
}

/// A customer's text message item (`value.messages[]`).
pub fn text_message(customer: &Customer, wamid: &str, text: &str, sent_at: OffsetDateTime) -> Value {
    json!({
        "from": customer.wa_id,
        "id": wamid,
        "timestamp": sent_at.unix_timestamp().to_string(),
        "type": "text",
        "text": { "body": text },
    })
}

/// A `statuses[]` item for a message we sent.
pub fn status(wamid: &str, status: &str, recipient_wa_id: &str, at: OffsetDateTime) -> Value {
    let mut item = json!({
        "id": wamid,
        "status": status,
        "timestamp": at.unix_timestamp().to_string(),
        "recipient_id": recipient_wa_id,
    });
    if status != "failed" {
        // a reply inside the customer service window: free, as Meta reports it since July 2025
        item["pricing"] = json!({ "billable": false, "pricing_model": "PMP", "category": "service", "type": "free_customer_service" });
    }
    item
}

/// Meta's `pricing` for a template message of `category` (`marketing`, `utility`,
/// `authentication`), billed per message.
pub fn template_pricing(category: &str) -> Value {
    json!({ "billable": true, "pricing_model": "PMP", "category": category, "type": "regular" })
}

/// A full webhook body carrying `messages` from `customers` (their contacts listed once each)
/// and `statuses`, in one change of one entry.
pub fn messages_payload(
    number: &BusinessNumber,
    customers: &[&Customer],
    messages: Vec<Value>,
    statuses: Vec<Value>,
) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": number.display_phone_number,
            "phone_number_id": number.phone_number_id,
        },
    });
    if !messages.is_empty() {
        value["contacts"] =
            customers.iter().map(|c| json!({ "profile": { "name": c.name }, "wa_id": c.wa_id })).collect();
        value["messages"] = Value::Array(messages);
    }
    if !statuses.is_empty() {
        value["statuses"] = Value::Array(statuses);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [{ "value": value, "field": "messages" }] }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_channels::whatsapp::{parse_webhook, verify_signature};

    #[test]
    fn builds_what_the_parser_reads_and_signs_the_exact_bytes() {
        let number =
            BusinessNumber { phone_number_id: "106540352242922".into(), display_phone_number: "15550783881".into() };
        let ana = Customer { wa_id: "16505551234".into(), name: "Ana Müller".into() };
        let now = OffsetDateTime::now_utc();
        let payload = messages_payload(
            &number,
            &[&ana],
            vec![text_message(&ana, "wamid.A", "¿Qué tal? 😀", now)],
            vec![status("wamid.B", "delivered", &ana.wa_id, now)],
        );
        let signed = sign("secret", &payload);
        assert!(signed.body.is_ascii());
        verify_signature(b"secret", &signed.body, Some(&signed.signature)).expect("signature verifies");
        let batch = parse_webhook(&signed.body).expect("parses");
        assert_eq!(batch.messages.len(), 1);
        assert_eq!(batch.messages[0].content, "¿Qué tal? 😀");
        assert_eq!(batch.messages[0].profile_name.as_deref(), Some("Ana Müller"));
        assert_eq!(batch.statuses.len(), 1);
        assert!(batch.unparsed.is_empty());
    }
}
