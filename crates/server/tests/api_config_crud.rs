//! Listing, changing and deleting assistants and senders through the REST API, and the
//! per-key rate limit.

#![allow(clippy::unwrap_used)]

mod support;

use async_trait::async_trait;
use confab_engine::responder::{Responder, TurnInput, TurnOutcome};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

async fn send(app: &TestApp, method: reqwest::Method, path: &str, key: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn create(app: &TestApp, key: &str, path: &str, body: Value) -> Value {
    let res = send(app, reqwest::Method::POST, path, key, Some(body)).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn sender_body(phone_number_id: &str, assistant_id: &str) -> Value {
    json!({
        "provider": "meta",
        "phone_number_id": phone_number_id,
        "display_phone_number": "+1 555 078 3881",
        "access_token": "EAAG-secret-token",
        "assistant_id": assistant_id,
    })
}

#[tokio::test]
async fn assistants_are_listed_patched_in_part_and_deleted() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let other_ws = app.store.create_workspace("Other").await.unwrap();
    let other_key = app.api_key(other_ws.id).await;
    let desk = create(
        &app,
        &key,
        "/api/v1/assistants",
        json!({ "name": "Desk", "system_prompt": "Help.", "first_message": "Hi!", "temperature": 0.2 }),
    )
    .await;
    let sales = create(&app, &key, "/api/v1/assistants", json!({ "name": "Sales", "system_prompt": "Sell." })).await;

    let listed: Value = app.get("/api/v1/assistants", Some(&key)).await.json().await.unwrap();
    let ids: Vec<_> = listed["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec![id(&desk), id(&sales)]);
    let theirs: Value = app.get("/api/v1/assistants", Some(&other_key)).await.json().await.unwrap();
    assert_eq!(theirs["items"], json!([]));

    let path = format!("/api/v1/assistants/{}", id(&desk));
    let res = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &key,
        Some(json!({ "name": "Front desk", "first_message": null, "response_delay_ms": 1200 })),
    )
    .await;
    assert_eq!(res.status(), 200);
    let patched: Value = res.json().await.unwrap();
    assert_eq!(
        (&patched["name"], &patched["first_message"], &patched["response_delay_ms"]),
        (&json!("Front desk"), &Value::Null, &json!(1200))
    );
    assert_eq!((&patched["system_prompt"], &patched["temperature"]), (&json!("Help."), &json!(0.2)), "untouched");
    assert!(patched["updated_at"].as_str().unwrap() > desk["updated_at"].as_str().unwrap());
    assert_eq!(app.get(&path, Some(&key)).await.json::<Value>().await.unwrap(), patched);

    // the same rules as create, every field reported at once
    let bad = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &key,
        Some(json!({ "name": " ", "system_prompt": "", "tools": ["no spaces allowed"], "provider": "acme" })),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"], "validation_failed");
    for field in ["name", "system_prompt", "tools", "provider"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let unknown = send(&app, reqwest::Method::PATCH, &path, &key, Some(json!({ "colour": "red" }))).await;
    assert_eq!(unknown.status(), 422);

    // another workspace's assistant does not exist for this key
    for method in [reqwest::Method::PATCH, reqwest::Method::DELETE] {
        let res = send(&app, method, &path, &other_key, Some(json!({ "name": "Mine" }))).await;
        assert_eq!(res.status(), 404);
    }
    assert_eq!(send(&app, reqwest::Method::DELETE, "/api/v1/assistants/nope", &key, None).await.status(), 404);

    // in use by a sender: refused; once the sender moves on, deleted
    let sender = create(&app, &key, "/api/v1/senders", sender_body("106540352242922", id(&desk))).await;
    let res = send(&app, reqwest::Method::DELETE, &path, &key, None).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "assistant_in_use");
    let sender_path = format!("/api/v1/senders/{}", id(&sender));
    let res = send(&app, reqwest::Method::PATCH, &sender_path, &key, Some(json!({ "assistant_id": id(&sales) }))).await;
    assert_eq!(res.status(), 200);
    assert_eq!(send(&app, reqwest::Method::DELETE, &path, &key, None).await.status(), 204);
    assert_eq!(app.get(&path, Some(&key)).await.status(), 404);
    assert_eq!(send(&app, reqwest::Method::PATCH, &path, &key, Some(json!({ "name": "Back" }))).await.status(), 404);
    assert_eq!(send(&app, reqwest::Method::DELETE, &path, &key, None).await.status(), 404);
    let listed: Value = app.get("/api/v1/assistants", Some(&key)).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    // and a deleted assistant cannot be linked again
    let res = send(&app, reqwest::Method::PATCH, &sender_path, &key, Some(json!({ "assistant_id": id(&desk) }))).await;
    assert_eq!(res.status(), 422);
    assert!(res.json::<Value>().await.unwrap()["fields"]["assistant_id"].is_string());
}

#[tokio::test]
async fn senders_are_listed_patched_and_deleted_without_showing_the_token() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let other_ws = app.store.create_workspace("Other").await.unwrap();
    let other_key = app.api_key(other_ws.id).await;
    let desk = create(&app, &key, "/api/v1/assistants", json!({ "name": "Desk", "system_prompt": "Help." })).await;
    let theirs =
        create(&app, &other_key, "/api/v1/assistants", json!({ "name": "Theirs", "system_prompt": "x" })).await;
    let sender = create(&app, &key, "/api/v1/senders", sender_body("106540352242922", id(&desk))).await;

    let res = app.get("/api/v1/senders", Some(&key)).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains("EAAG-secret-token"), "{text}");
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed["items"].as_array().unwrap().iter().map(id).collect::<Vec<_>>(), vec![id(&sender)]);
    let none: Value = app.get("/api/v1/senders", Some(&other_key)).await.json().await.unwrap();
    assert_eq!(none["items"], json!([]));

    let path = format!("/api/v1/senders/{}", id(&sender));
    let res = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &key,
        Some(json!({ "access_token": "EAAG-rotated-token", "ai_enabled": false, "status": "offline", "display_phone_number": "+1 555 000 0002" })),
    )
    .await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains("EAAG-rotated-token"), "{text}");
    let patched: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (&patched["ai_enabled"], &patched["status"], &patched["display_phone_number"], &patched["assistant_id"]),
        (&json!(false), &json!("offline"), &json!("+15550000002"), &desk["id"])
    );
    let stored = app.store.get_sender(app.workspace, id(&sender).parse().unwrap()).await.unwrap();
    assert_eq!(stored.access_token.expose(), "EAAG-rotated-token");

    let bad = send(
        &app,
        reqwest::Method::PATCH,
        &path,
        &key,
        Some(json!({ "status": "asleep", "display_phone_number": "call me", "access_token": " ", "phone_number_id": "1" })),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    for field in ["status", "display_phone_number", "access_token", "phone_number_id"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let foreign = send(&app, reqwest::Method::PATCH, &path, &key, Some(json!({ "assistant_id": id(&theirs) }))).await;
    assert_eq!(foreign.status(), 422);
    assert!(foreign.json::<Value>().await.unwrap()["fields"]["assistant_id"].is_string());
    assert_eq!(send(&app, reqwest::Method::PATCH, &path, &other_key, Some(json!({}))).await.status(), 404);
    assert_eq!(send(&app, reqwest::Method::DELETE, &path, &other_key, None).await.status(), 404);

    // a sender without conversations is deleted; one with conversations is kept
    assert_eq!(send(&app, reqwest::Method::DELETE, &path, &key, None).await.status(), 204);
    assert_eq!(app.get(&path, Some(&key)).await.status(), 404);
    let kept = app.meta_sender("106540352242923").await;
    let conversation = app
        .store
        .open_whatsapp_conversation(
            &kept,
            &confab_domain::PhoneNumber::parse("+34600000001").unwrap(),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    assert_eq!(conversation.sender_id, Some(kept.id));
    let res = send(&app, reqwest::Method::DELETE, &format!("/api/v1/senders/{}", kept.id), &key, None).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "sender_in_use");
}

/// Never answers: these tests need a worker only because `spawn_app_with` takes one.
struct Silent;

#[async_trait]
impl Responder for Silent {
    async fn respond(&self, _: TurnInput<'_>) -> TurnOutcome {
        std::future::pending().await
    }
}

#[tokio::test]
async fn each_api_key_has_its_own_rate_limit() {
    let app = spawn_app_with(Backend::Sqlite, Arc::new(Silent), |s| s.api_rate_limit_per_minute = 3).await;
    let key = app.api_key(app.workspace).await;
    let other = app.api_key(app.workspace).await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/whoami", Some(&key)).await.status(), 200);
    }
    let limited = app.get("/api/v1/assistants", Some(&key)).await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert!(body["request_id"].is_string());

    assert_eq!(app.get("/api/v1/whoami", Some(&other)).await.status(), 200, "another key is unaffected");
    // requests without a valid key are not counted against anyone, and still answer 401
    assert_eq!(app.get("/api/v1/whoami", Some("cfk_wrong")).await.status(), 401);
    assert_eq!(app.get("/api/v1/whoami", None).await.status(), 401);
}

#[tokio::test]
async fn an_assistant_may_name_a_provider_the_server_configures() {
    let local = confab_server::config::NamedLlmProvider {
        kind: "openai".into(),
        base_url: Some("http://127.0.0.1:11434/v1".into()),
        api_key: None,
        model: Some("llama3.2".into()),
    };
    let app =
        spawn_app_with(Backend::Sqlite, Arc::new(confab_engine::offline_responder::OfflineResponder::new()), |s| {
            s.llm_providers.insert("local".into(), local);
        })
        .await;
    let key = app.api_key(app.workspace).await;
    let body = |provider: &str| Some(json!({ "name": "Desk", "system_prompt": "Help.", "provider": provider }));
    let created = send(&app, reqwest::Method::POST, "/api/v1/assistants", &key, body("local")).await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.json::<Value>().await.unwrap()["provider"], "local");
    let refused = send(&app, reqwest::Method::POST, "/api/v1/assistants", &key, body("cloudy")).await;
    assert_eq!(refused.status(), 422);
    let message = refused.json::<Value>().await.unwrap()["fields"]["provider"].as_str().unwrap().to_string();
    assert!(message.contains("openai, anthropic, local"), "{message}");
}

#[tokio::test]
async fn after_end_is_an_assistant_setting() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let body = json!({ "name": "Desk", "system_prompt": "Help." });
    let created: Value =
        send(&app, reqwest::Method::POST, "/api/v1/assistants", &key, Some(body)).await.json().await.unwrap();
    assert_eq!(created["after_end"], "new_conversation");
    let path = format!("/api/v1/assistants/{}", created["id"].as_str().unwrap());
    let patched = send(&app, reqwest::Method::PATCH, &path, &key, Some(json!({ "after_end": "reopen" }))).await;
    assert_eq!(patched.json::<Value>().await.unwrap()["after_end"], "reopen");
    let bad = send(&app, reqwest::Method::PATCH, &path, &key, Some(json!({ "after_end": "sometimes" }))).await;
    assert_eq!(bad.status(), 422);
    assert!(bad.json::<Value>().await.unwrap()["fields"]["after_end"].is_string());
}
