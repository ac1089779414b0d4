//! Assistants, senders and WhatsApp sends through the REST API.

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::{DeliveryStatus, MessageKind, Role};
use confab_sim::meta_webhook::{messages_payload, text_message, BusinessNumber, Customer};
use serde_json::{json, Value};
use support::*;
use time::{Duration, OffsetDateTime};

const PHONE_NUMBER_ID: &str = "106540352242922";

async fn post(app: &TestApp, path: &str, key: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).json(&body);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    req.send().await.unwrap()
}

/// An assistant and a sender made through the API; returns (assistant id, sender id).
async fn configure(app: &TestApp, key: &str) -> (String, String) {
    let res =
        post(app, "/api/v1/assistants", Some(key), json!({ "name": "Front desk", "system_prompt": "You help." })).await;
    assert_eq!(res.status(), 201);
    let assistant: Value = res.json().await.unwrap();
    let res = post(
        app,
        "/api/v1/senders",
        Some(key),
        json!({
            "provider": "meta",
            "phone_number_id": PHONE_NUMBER_ID,
            "display_phone_number": "+1 555 078 3881",
            "access_token": "EAAG-secret-token",
            "assistant_id": assistant["id"],
        }),
    )
    .await;
    assert_eq!(res.status(), 201);
    let sender: Value = res.json().await.unwrap();
    (assistant["id"].as_str().unwrap().into(), sender["id"].as_str().unwrap().into())
}

async fn customer_writes(app: &TestApp, wa_id: &str, ago: Duration) {
    let number = BusinessNumber { phone_number_id: PHONE_NUMBER_ID.into(), display_phone_number: "15550783881".into() };
    let customer = Customer { wa_id: wa_id.into(), name: "Ana".into() };
    let sent = OffsetDateTime::now_utc() - ago;
    let payload = messages_payload(
        &number,
        &[&customer],
        vec![text_message(&customer, &format!("wamid.{wa_id}.{}", sent.unix_timestamp()), "hi", sent)],
        vec![],
    );
    assert_eq!(app.post_signed(&payload).await.status(), 200);
}

#[tokio::test]
async fn assistants_are_created_validated_and_scoped() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let res = post(&app, "/api/v1/assistants", Some(&key), json!({ "name": "Desk", "system_prompt": "Help.", "response_delay_ms": 1500, "tools": ["transfer_to_human"], "temperature": 0.3 })).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(
        (created["response_delay_ms"].as_i64(), created["inactivity_timeout_minutes"].as_i64()),
        (Some(1500), Some(30))
    );
    let got: Value = app
        .get(&format!("/api/v1/assistants/{}", created["id"].as_str().unwrap()), Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, created);

    let bad = post(&app, "/api/v1/assistants", Some(&key), json!({ "name": " ", "system_prompt": "x", "response_delay_ms": 999_999, "tools": ["no spaces allowed"], "temperature": 7 })).await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    for field in ["name", "response_delay_ms", "tools", "temperature"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let missing = post(&app, "/api/v1/assistants", Some(&key), json!({ "name": "No prompt" })).await;
    assert_eq!(missing.status(), 422);
    let body: Value = missing.json().await.unwrap();
    assert!(body["fields"]["system_prompt"].is_string(), "{body}");
    let not_json = app
        .client
        .post(app.url("/api/v1/assistants"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert_eq!(post(&app, "/api/v1/assistants", None, json!({})).await.status(), 401);

    let other = app.store.create_workspace("Other").await.unwrap();
    let other_key = app.api_key(other.id).await;
    assert_eq!(
        app.get(&format!("/api/v1/assistants/{}", created["id"].as_str().unwrap()), Some(&other_key)).await.status(),
        404
    );
    assert_eq!(app.get("/api/v1/assistants/not-a-uuid", Some(&key)).await.status(), 404);
}

#[tokio::test]
async fn senders_never_show_their_token() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let (assistant_id, sender_id) = configure(&app, &key).await;
    let res = app.get(&format!("/api/v1/senders/{sender_id}"), Some(&key)).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains("EAAG-secret-token"), "{text}");
    let sender: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (sender["display_phone_number"].as_str(), sender["status"].as_str()),
        (Some("+15550783881"), Some("online"))
    );

    let again = json!({ "provider": "meta", "phone_number_id": PHONE_NUMBER_ID, "display_phone_number": "+15550783881", "access_token": "t", "assistant_id": assistant_id });
    let dup = post(&app, "/api/v1/senders", Some(&key), again).await;
    assert_eq!(dup.status(), 409);
    let bad = post(&app, "/api/v1/senders", Some(&key), json!({ "provider": "sms", "phone_number_id": "x", "display_phone_number": "12", "access_token": "", "assistant_id": assistant_id })).await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    for field in ["provider", "display_phone_number", "access_token"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let other = app.store.create_workspace("Other").await.unwrap();
    let other_key = app.api_key(other.id).await;
    assert_eq!(app.get(&format!("/api/v1/senders/{sender_id}"), Some(&other_key)).await.status(), 404);
    let foreign = json!({ "provider": "meta", "phone_number_id": "777", "display_phone_number": "+15550783882", "access_token": "t", "assistant_id": assistant_id });
    assert_eq!(
        post(&app, "/api/v1/senders", Some(&other_key), foreign).await.status(),
        422,
        "another workspace's assistant"
    );
}

#[tokio::test]
async fn session_status_follows_the_customers_last_message() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let (_, sender_id) = configure(&app, &key).await;
    let status = |recipient: &'static str| {
        let (app, key, sender_id) = (&app, &key, &sender_id);
        async move {
            let res = app
                .get(&format!("/api/v1/whatsapp/session-status?sender_id={sender_id}&recipient={recipient}"), Some(key))
                .await;
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let never = status("16505550001").await;
    assert_eq!((never["is_open"].as_bool(), never["requires_template"].as_bool()), (Some(false), Some(true)));
    customer_writes(&app, "16505550001", Duration::minutes(30)).await;
    let open = status("16505550001").await;
    assert_eq!((open["is_open"].as_bool(), open["can_send_freeform"].as_bool()), (Some(true), Some(true)));
    assert_eq!(open["minutes_remaining"].as_i64(), Some(23 * 60 + 29));
    customer_writes(&app, "16505550002", Duration::hours(25)).await;
    let closed = status("16505550002").await;
    assert_eq!(closed["is_open"].as_bool(), Some(false));
    assert!(closed["expired_at"].is_string());
    let res = app.get(&format!("/api/v1/whatsapp/session-status?sender_id={sender_id}"), Some(&key)).await;
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn free_form_sends_are_refused_outside_the_window_and_templates_go() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let (_, sender_id) = configure(&app, &key).await;
    customer_writes(&app, "16505550003", Duration::hours(25)).await;

    let refused = post(
        &app,
        "/api/v1/whatsapp/messages",
        Some(&key),
        json!({ "sender_id": sender_id, "to": "+16505550003", "text": "hello?" }),
    )
    .await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "window_closed");
    assert_eq!(body["details"]["session_status"]["requires_template"], true);
    assert!(body["details"]["session_status"]["expired_at"].is_string(), "{body}");

    let template = json!({ "sender_id": sender_id, "to": "+16505550003", "template": "order_update", "language": "en_US", "parameters": ["Ana", "#1234"] });
    let res = post(&app, "/api/v1/whatsapp/templates/send", Some(&key), template).await;
    assert_eq!(res.status(), 202);
    let queued: Value = res.json().await.unwrap();
    let conversation_id = queued["conversation_id"].as_str().unwrap().parse().unwrap();
    let messages = app.store.list_messages(app.workspace, conversation_id, None, 10).await.unwrap();
    let sent = messages.last().unwrap();
    assert_eq!((sent.role, sent.kind, sent.status), (Role::Agent, MessageKind::Template, DeliveryStatus::Queued));
    assert_eq!(sent.payload["template"]["components"][0]["parameters"][1]["text"], "#1234");
    assert_eq!(messages.iter().filter(|m| m.role == Role::Agent).count(), 1, "the refused message was not stored");

    customer_writes(&app, "16505550003", Duration::minutes(1)).await;
    let long = "word ".repeat(2000);
    let res = post(
        &app,
        "/api/v1/whatsapp/messages",
        Some(&key),
        json!({ "sender_id": sender_id, "to": "16505550003", "text": long }),
    )
    .await;
    assert_eq!(res.status(), 202);
    let queued: Value = res.json().await.unwrap();
    assert_eq!(
        queued["message_ids"].as_array().unwrap().len(),
        3,
        "10,000 characters go as three messages of at most 4096"
    );

    let bad_template =
        json!({ "sender_id": sender_id, "to": "+16505550003", "template": "Order Update", "language": "en_US" });
    assert_eq!(post(&app, "/api/v1/whatsapp/templates/send", Some(&key), bad_template).await.status(), 422);
    let bad_to = json!({ "sender_id": sender_id, "to": "call me", "text": "x" });
    assert_eq!(post(&app, "/api/v1/whatsapp/messages", Some(&key), bad_to).await.status(), 422);
}
