//! Conversations through the REST API: list, filters, pages, detail, take-over, agent
//! replies, and the streamed export parsed back.

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::ConversationType;
use confab_sim::meta_webhook::{messages_payload, text_message, BusinessNumber, Customer};
use confab_storage::NewConversation;
use serde_json::{json, Value};
use support::*;
use time::{Duration, OffsetDateTime};

const PHONE_NUMBER_ID: &str = "106540352242922";

async fn customer_writes(app: &TestApp, wa_id: &str, text: &str, ago: Duration) {
    let number = BusinessNumber { phone_number_id: PHONE_NUMBER_ID.into(), display_phone_number: "15550783881".into() };
    let customer = Customer { wa_id: wa_id.into(), name: format!("Customer {wa_id}") };
    let sent = OffsetDateTime::now_utc() - ago;
    let wamid = format!("wamid.{wa_id}.{}", uuid::Uuid::now_v7());
    let payload = messages_payload(&number, &[&customer], vec![text_message(&customer, &wamid, text, sent)], vec![]);
    assert_eq!(app.post_signed(&payload).await.status(), 200);
}

async fn post(app: &TestApp, path: &str, key: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(key).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn list_filter_page_and_read_conversations() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let sender = app.meta_sender(PHONE_NUMBER_ID).await;
    for i in 0..12 {
        customer_writes(&app, &format!("1650555{i:04}"), "hello, my order is late", Duration::minutes(5)).await;
    }
    let api = app
        .store
        .create_conversation(
            NewConversation {
                workspace_id: app.workspace,
                assistant_id: sender.assistant_id,
                kind: ConversationType::Api,
                customer_identifier: Some("crm-42".into()),
                variables: serde_json::Map::new(),
                first_message: Some("Hi!".into()),
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();

    let mut ids = Vec::new();
    let mut url = "/api/v1/conversations?limit=5".to_string();
    loop {
        let page: Value = app.get(&url, Some(&key)).await.json().await.unwrap();
        ids.extend(page["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("/api/v1/conversations?limit=5&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), 13);
    assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), 13, "no repeats across pages");
    assert_eq!(ids[0], api.id.to_string(), "newest first");

    let whatsapp: Value =
        app.get("/api/v1/conversations?type=whatsapp&limit=100", Some(&key)).await.json().await.unwrap();
    let items = whatsapp["items"].as_array().unwrap();
    assert_eq!(items.len(), 12);
    let first = &items[0];
    assert_eq!(first["customer"]["phone"].as_str().map(|p| p.starts_with("+1650555")), Some(true));
    assert_eq!(first["window"]["is_open"], true);
    assert_eq!(first["sender_id"], sender.id.to_string());
    let by_number: Value = app
        .get("/api/v1/conversations?sender_phone=%2B1%20555%20078%203881&limit=100", Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_number["items"].as_array().unwrap().len(), 12, "the sender's number, typed any way");
    let other_number: Value =
        app.get("/api/v1/conversations?sender_phone=%2B15559999999", Some(&key)).await.json().await.unwrap();
    assert!(other_number["items"].as_array().unwrap().is_empty());
    assert_eq!(app.get("/api/v1/conversations?sender_phone=call-me", Some(&key)).await.status(), 422);
    let by_customer: Value =
        app.get("/api/v1/conversations?external_identifier=crm-42", Some(&key)).await.json().await.unwrap();
    assert_eq!(by_customer["items"].as_array().unwrap().len(), 1);
    assert_eq!(by_customer["items"][0]["customer"]["identifier"], "crm-42");
    let today = OffsetDateTime::now_utc().date();
    let ranged: Value = app
        .get(&format!("/api/v1/conversations?from={today}&to={}", today.next_day().unwrap()), Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ranged["items"].as_array().unwrap().len(), 13);
    let empty: Value = app.get(&format!("/api/v1/conversations?to={today}"), Some(&key)).await.json().await.unwrap();
    assert!(empty["items"].as_array().unwrap().is_empty());

    let bad = app.get("/api/v1/conversations?type=sms&limit=500&from=yesterday&cursor=zzz", Some(&key)).await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    for field in ["type", "limit", "from"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }

    let detail: Value = app
        .get(&format!("/api/v1/conversations/{}", items[0]["id"].as_str().unwrap()), Some(&key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["messages"][0]["role"], "user");
    assert_eq!(detail["messages"][0]["content"], "hello, my order is late");
    assert!(detail["messages"][0]["provider_message_id"].as_str().unwrap().starts_with("wamid."));

    let other = app.store.create_workspace("Other").await.unwrap();
    let other_key = app.api_key(other.id).await;
    assert_eq!(app.get(&format!("/api/v1/conversations/{}", api.id), Some(&other_key)).await.status(), 404);
    let theirs: Value = app.get("/api/v1/conversations", Some(&other_key)).await.json().await.unwrap();
    assert!(theirs["items"].as_array().unwrap().is_empty());
    assert_eq!(app.get("/api/v1/conversations", None).await.status(), 401);
}

#[tokio::test]
async fn take_over_reply_as_agent_and_hand_back() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    app.meta_sender(PHONE_NUMBER_ID).await;
    customer_writes(&app, "16505550001", "I want a person", Duration::minutes(1)).await;
    customer_writes(&app, "16505550002", "old message", Duration::hours(30)).await;
    let list: Value = app.get("/api/v1/conversations?customer=%2B16505550001", Some(&key)).await.json().await.unwrap();
    let id = list["items"][0]["id"].as_str().unwrap().to_string();

    let off: Value = post(&app, &format!("/api/v1/conversations/{id}/ai"), &key, json!({ "enabled": false }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(off["ai_enabled"], false);
    let res = post(
        &app,
        &format!("/api/v1/conversations/{id}/agent-messages"),
        &key,
        json!({ "text": "Hi, this is Marta from support." }),
    )
    .await;
    assert_eq!(res.status(), 202);
    let detail: Value = app.get(&format!("/api/v1/conversations/{id}"), Some(&key)).await.json().await.unwrap();
    let last = detail["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["role"].as_str(), last["status"].as_str()), (Some("agent"), Some("queued")));
    let on: Value = post(&app, &format!("/api/v1/conversations/{id}/ai"), &key, json!({ "enabled": true }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(on["ai_enabled"], true);

    let stale: Value = app.get("/api/v1/conversations?customer=%2B16505550002", Some(&key)).await.json().await.unwrap();
    let stale_id = stale["items"][0]["id"].as_str().unwrap();
    let refused = post(
        &app,
        &format!("/api/v1/conversations/{stale_id}/agent-messages"),
        &key,
        json!({ "text": "sorry for the wait" }),
    )
    .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "window_closed");
    assert_eq!(
        post(&app, &format!("/api/v1/conversations/{id}/ai"), &key, json!({ "enabled": "yes" })).await.status(),
        422
    );
    assert_eq!(post(&app, "/api/v1/conversations/not-an-id/ai", &key, json!({ "enabled": true })).await.status(), 404);
}

#[tokio::test]
async fn exports_stream_every_row_and_parse_back() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    app.meta_sender(PHONE_NUMBER_ID).await;
    // 130 conversations (more than one export page), texts with commas, quotes and new lines
    for i in 0..130 {
        customer_writes(
            &app,
            &format!("1650555{i:04}"),
            &format!("line one, \"quoted\"\nline two #{i}"),
            Duration::minutes(1),
        )
        .await;
    }
    let res = app.get("/api/v1/conversations/export?format=csv&level=message", Some(&key)).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("confab-messages.csv"));
    let body = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let content = headers.iter().position(|h| h == "content").unwrap();
    let role = headers.iter().position(|h| h == "role").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).filter(|r| &r[role] == "user").collect();
    assert_eq!(rows.len(), 130);
    let mut texts: Vec<_> = rows.iter().map(|r| r[content].to_string()).collect();
    texts.sort();
    let mut expected: Vec<_> = (0..130).map(|i| format!("line one, \"quoted\"\nline two #{i}")).collect();
    expected.sort();
    assert_eq!(texts, expected, "the same rows, byte for byte");

    let jsonl = app
        .get("/api/v1/conversations/export?format=jsonl&level=conversation&type=whatsapp", Some(&key))
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 130);
    assert!(lines.iter().all(|c| c["type"] == "whatsapp" && c["customer_message_count"] == 1));
    let unknown_number = app
        .get("/api/v1/conversations/export?format=csv&sender_phone=%2B15559999999", Some(&key))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(unknown_number.lines().count(), 1, "no sender on that number: just the header");
    let none = app.get("/api/v1/conversations/export?format=csv&type=api", Some(&key)).await.text().await.unwrap();
    assert_eq!(none.lines().count(), 1, "just the header");
    assert_eq!(app.get("/api/v1/conversations/export?format=xml", Some(&key)).await.status(), 422);
    assert_eq!(app.get("/api/v1/conversations/export", None).await.status(), 401);
}
