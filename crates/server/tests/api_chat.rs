//! API and test conversations: start one, post messages and get the assistant's reply in the
//! answer, idempotent retries, AI off, generate-reply, and the 202 when the turn is slow.

#![allow(clippy::unwrap_used)]

mod support;

use async_trait::async_trait;
use confab_domain::Role;
use confab_engine::responder::{Responder, TurnInput, TurnOutcome};
use confab_storage::{NewAssistant, NewMessage};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

/// Answers "You said: <the pending texts>".
struct Echo;

#[async_trait]
impl Responder for Echo {
    async fn respond(&self, input: TurnInput<'_>) -> TurnOutcome {
        let said: Vec<&str> = input.pending.iter().map(|m| m.content.as_str()).collect();
        let mut reply = NewMessage::text(Role::Assistant, format!("You said: {}", said.join(" / ")));
        reply.cost = confab_domain::MicroUsd(250);
        TurnOutcome { messages: vec![reply], ..Default::default() }
    }
}

/// Never answers.
struct Silent;

#[async_trait]
impl Responder for Silent {
    async fn respond(&self, _: TurnInput<'_>) -> TurnOutcome {
        std::future::pending().await
    }
}

async fn post(app: &TestApp, path: &str, key: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(key).json(&body).send().await.unwrap()
}

async fn assistant(app: &TestApp) -> String {
    let mut new = NewAssistant::new(app.workspace, "Desk", "Help.");
    new.first_message = Some("Hi! I'm the desk assistant.".into());
    app.store.create_assistant(new).await.unwrap().id.to_string()
}

#[tokio::test]
async fn an_api_conversation_answers_in_the_response() {
    let app = spawn_app_with(Backend::Sqlite, Arc::new(Echo), |_| {}).await;
    let key = app.api_key(app.workspace).await;
    let assistant_id = assistant(&app).await;
    let res = post(
        &app,
        "/api/v1/conversations",
        &key,
        json!({ "assistant_id": assistant_id, "customer_identifier": "crm-1", "variables": { "plan": "gold" } }),
    )
    .await;
    assert_eq!(res.status(), 201);
    let conversation: Value = res.json().await.unwrap();
    assert_eq!(conversation["type"], "api");
    assert_eq!(conversation["variables"]["plan"], "gold");
    assert_eq!(conversation["messages"][0]["content"], "Hi! I'm the desk assistant.");
    let id = conversation["id"].as_str().unwrap();

    let res =
        post(&app, &format!("/api/v1/conversations/{id}/messages"), &key, json!({ "message": "where is my order?" }))
            .await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["reply"], "You said: where is my order?");
    assert_eq!(answer["cost_micros"], 250);
    let detail: Value = app.get(&format!("/api/v1/conversations/{id}"), Some(&key)).await.json().await.unwrap();
    let roles: Vec<_> =
        detail["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap().to_string()).collect();
    assert_eq!(roles, ["assistant", "user", "assistant"]);
    assert_eq!(detail["customer"]["identifier"], "crm-1");
    assert_eq!(detail["total_cost_micros"], 250);

    // a retried request with the same Idempotency-Key counts once
    let retry = |key: &str| {
        app.client
            .post(app.url(&format!("/api/v1/conversations/{id}/messages")))
            .bearer_auth(key)
            .header("idempotency-key", "req-7")
            .json(&json!({ "message": "once" }))
            .send()
    };
    let first: Value = retry(&key).await.unwrap().json().await.unwrap();
    assert_eq!(first["reply"], "You said: once");
    let second: Value = retry(&key).await.unwrap().json().await.unwrap();
    assert_eq!(second["duplicate"], true);

    // with the AI off, the message is stored and nobody answers
    post(&app, &format!("/api/v1/conversations/{id}/ai"), &key, json!({ "enabled": false })).await;
    let off: Value = post(&app, &format!("/api/v1/conversations/{id}/messages"), &key, json!({ "message": "hello?" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((off["ai_disabled"].as_bool(), off["reply"].is_null()), (Some(true), true));

    let bad =
        post(&app, "/api/v1/conversations", &key, json!({ "assistant_id": assistant_id, "type": "whatsapp" })).await;
    assert_eq!(bad.status(), 422);
    let other = app.store.create_workspace("Other").await.unwrap();
    let other_key = app.api_key(other.id).await;
    assert_eq!(
        post(&app, &format!("/api/v1/conversations/{id}/messages"), &other_key, json!({ "message": "hi" }))
            .await
            .status(),
        404
    );
    assert_eq!(
        post(&app, "/api/v1/conversations", &other_key, json!({ "assistant_id": assistant_id })).await.status(),
        422
    );
}

#[tokio::test]
async fn generate_reply_keeps_one_conversation_per_customer() {
    let app = spawn_app_with(Backend::Sqlite, Arc::new(Echo), |_| {}).await;
    let key = app.api_key(app.workspace).await;
    let assistant_id = assistant(&app).await;
    let ask = |message: &'static str| {
        post(
            &app,
            "/api/v1/generate-reply",
            &key,
            json!({ "assistant_id": assistant_id, "customer_identifier": "user-9", "message": message }),
        )
    };
    let first: Value = ask("one").await.json().await.unwrap();
    let second: Value = ask("two").await.json().await.unwrap();
    assert_eq!(first["reply"], "You said: one");
    assert_eq!(second["reply"], "You said: two");
    assert_eq!(first["conversation_id"], second["conversation_id"]);
}

#[tokio::test]
async fn generate_reply_merges_variables_into_the_running_conversation() {
    let app = spawn_app_with(Backend::Sqlite, Arc::new(Echo), |_| {}).await;
    let key = app.api_key(app.workspace).await;
    let assistant_id = assistant(&app).await;
    let ask = |variables: Value| {
        post(
            &app,
            "/api/v1/generate-reply",
            &key,
            json!({ "assistant_id": assistant_id, "customer_identifier": "user-7", "message": "hi", "variables": variables }),
        )
    };
    let first: Value = ask(json!({ "plan": "gold", "city": "Lisbon" })).await.json().await.unwrap();
    let second: Value = ask(json!({ "plan": "platinum", "city": null, "seats": 3 })).await.json().await.unwrap();
    assert_eq!(first["conversation_id"], second["conversation_id"]);
    let id = second["conversation_id"].as_str().unwrap();
    let res = app.client.get(app.url(&format!("/api/v1/conversations/{id}"))).bearer_auth(&key).send().await.unwrap();
    let conversation: Value = res.json().await.unwrap();
    assert_eq!(conversation["variables"], json!({ "plan": "platinum", "seats": 3 }));
}

#[tokio::test]
async fn a_slow_turn_answers_202_with_where_to_poll() {
    let app = spawn_app_with(Backend::Sqlite, Arc::new(Silent), |s| s.api_reply_timeout_secs = 1).await;
    let key = app.api_key(app.workspace).await;
    let assistant_id = assistant(&app).await;
    let conversation: Value =
        post(&app, "/api/v1/conversations", &key, json!({ "assistant_id": assistant_id, "type": "test" }))
            .await
            .json()
            .await
            .unwrap();
    let id = conversation["id"].as_str().unwrap();
    let res = post(&app, &format!("/api/v1/conversations/{id}/messages"), &key, json!({ "message": "hi" })).await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["poll"], format!("/api/v1/conversations/{id}"));
}
