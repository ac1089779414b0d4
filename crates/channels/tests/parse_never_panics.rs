//! Property tests: the webhook parser and the signature check never panic, whatever arrives.
//!
//! Three generators: arbitrary bytes; arbitrary JSON values (a small recursive strategy); and
//! webhook-shaped JSON whose leaves are arbitrary, which reaches deep into the walk where
//! random JSON rarely goes.

#![allow(clippy::unwrap_used)]

use confab_channels::whatsapp::{parse_webhook, sign, verify_signature};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
        // Words the parser looks for, so random objects hit real branches.
        prop::sample::select(vec![
            "whatsapp_business_account",
            "messages",
            "statuses",
            "text",
            "image",
            "audio",
            "interactive",
            "reaction",
            "edit",
            "revoke",
            "nfm_reply",
            "1697043223",
            "-1",
            "99999999999999999999",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        let keys = prop::sample::select(vec![
            "object",
            "entry",
            "changes",
            "field",
            "value",
            "metadata",
            "phone_number_id",
            "messages",
            "statuses",
            "message_echoes",
            "contacts",
            "errors",
            "id",
            "from",
            "from_user_id",
            "timestamp",
            "type",
            "text",
            "body",
            "context",
            "interactive",
            "reaction",
            "emoji",
            "edit",
            "message",
            "response_json",
            "product_items",
            "quantity",
            "wa_id",
            "profile",
            "name",
            "status",
            "x",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..6).prop_map(|pairs| Value::Object(
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>()
            )),
        ]
    })
}

/// A webhook envelope whose messages, statuses and echoes are arbitrary JSON.
fn webhook_shaped() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(any_json(), 0..4),
        prop::collection::vec(any_json(), 0..3),
        prop::collection::vec(any_json(), 0..3),
        any_json(),
        prop::sample::select(vec!["messages", "smb_message_echoes", "account_update"]),
    )
        .prop_map(|(messages, statuses, echoes, contacts, field)| {
            json!({
                "object": "whatsapp_business_account",
                "entry": [{"id": "1", "changes": [{"field": field, "value": {
                    "metadata": {"phone_number_id": "1", "display_phone_number": "15550001111"},
                    "contacts": contacts,
                    "messages": messages,
                    "statuses": statuses,
                    "message_echoes": echoes
                }}]}]
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_webhook(&bytes);
        let _ = verify_signature(b"secret", &bytes, std::str::from_utf8(&bytes).ok());
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        let bytes = serde_json::to_vec(&value).expect("serialises");
        let _ = parse_webhook(&bytes);
    }

    #[test]
    fn webhook_shaped_json_never_panics_and_loses_nothing(value in webhook_shaped()) {
        let bytes = serde_json::to_vec(&value).expect("serialises");
        let batch = parse_webhook(&bytes).expect("a well-formed envelope always parses");
        for m in &batch.messages {
            prop_assert!(m.payload.is_object());
            prop_assert!(m.from.is_some() || m.business_scoped_user_id.is_some());
        }
        let items = |key: &str| value["entry"][0]["changes"][0]["value"][key].as_array().map_or(0, Vec::len);
        let field = value["entry"][0]["changes"][0]["field"].as_str().unwrap_or_default();
        let accounted = batch.messages.len() + batch.statuses.len() + batch.echoes.len() + batch.unparsed.len();
        match field {
            "messages" => prop_assert_eq!(accounted, items("messages") + items("statuses")),
            "smb_message_echoes" => prop_assert_eq!(accounted, items("message_echoes")),
            _ => prop_assert_eq!(batch.other_events.len(), 1),
        }
    }

    #[test]
    fn signing_round_trips(secret in prop::collection::vec(any::<u8>(), 0..80), body in prop::collection::vec(any::<u8>(), 0..256)) {
        let header = sign(&secret, &body);
        prop_assert_eq!(verify_signature(&secret, &body, Some(&header)), Ok(()));
    }
}
