//! `/api/v1/price-table`: the defaults until a workspace stores its own; a stored table prices
//! the next turn; bad tables are refused with field errors; DELETE goes back to the defaults.

#![allow(clippy::unwrap_used)]

mod support;

use confab_assistant::{OpenAiClient, OpenAiConfig, PriceTable};
use confab_domain::Usage;
use confab_engine::llm_responder::LlmResponder;
use confab_sim::fake_llm::{FakeLlm, Step};
use confab_storage::NewAssistant;
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

async fn put(app: &TestApp, key: &str, body: Value) -> reqwest::Response {
    app.client.put(app.url("/api/v1/price-table")).bearer_auth(key).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn a_stored_price_table_prices_the_next_turn() {
    let llm = FakeLlm::start().await.unwrap();
    let client = Arc::new(OpenAiClient::new(OpenAiConfig::compatible(llm.base_url())).unwrap());
    let responder = LlmResponder::new(client, "house-model", PriceTable::default());
    let app = spawn_app_with(Backend::Sqlite, Arc::new(responder), |_| {}).await;
    let key = app.api_key(app.workspace).await;
    let assistant = app.store.create_assistant(NewAssistant::new(app.workspace, "Desk", "Help.")).await.unwrap();

    let before: Value = app.get("/api/v1/price-table", Some(&key)).await.json().await.unwrap();
    assert_eq!(before["customized"], false);
    assert!(before["models"]["gpt-4o-mini"]["input_per_million"].as_i64().unwrap() > 0);
    assert!(before["models"].get("house-model").is_none(), "the defaults do not price our model");

    // a GET's answer, edited and sent back: $2 in, $1 cached, $8 out per million tokens
    let mut edited = before.clone();
    edited["models"]["house-model"] = json!({ "input_per_million": 2_000_000, "cached_input_per_million": 1_000_000, "output_per_million": 8_000_000 });
    let res = put(&app, &key, edited).await;
    assert_eq!(res.status(), 200);
    let stored: Value = app.get("/api/v1/price-table", Some(&key)).await.json().await.unwrap();
    assert_eq!(stored["customized"], true);
    assert_eq!(stored["models"]["house-model"]["output_per_million"], 8_000_000);

    llm.script([Step::reply("Hello!").with_usage(Usage {
        input_tokens: 1000,
        output_tokens: 500,
        cached_input_tokens: 0,
    })]);
    let conversation: Value = app
        .client
        .post(app.url("/api/v1/conversations"))
        .bearer_auth(&key)
        .json(&json!({ "assistant_id": assistant.id, "type": "test" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = conversation["id"].as_str().unwrap();
    let reply: Value = app
        .client
        .post(app.url(&format!("/api/v1/conversations/{id}/messages")))
        .bearer_auth(&key)
        .json(&json!({ "message": "hi" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["reply"], "Hello!");
    let detail: Value = app.get(&format!("/api/v1/conversations/{id}"), Some(&key)).await.json().await.unwrap();
    // 1000 × $2/M + 500 × $8/M = $0.002 + $0.004
    assert_eq!(detail["total_cost_micros"], 6_000, "{detail}");

    assert_eq!(app.client.delete(app.url("/api/v1/price-table")).bearer_auth(&key).send().await.unwrap().status(), 204);
    let reset: Value = app.get("/api/v1/price-table", Some(&key)).await.json().await.unwrap();
    assert_eq!(reset["customized"], false);
    assert_eq!(reset, before);
}

#[tokio::test]
async fn bad_tables_are_refused_with_field_errors() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let negative = json!({ "models": { "m": { "input_per_million": -1, "cached_input_per_million": 0, "output_per_million": 0 } } });
    let res = put(&app, &key, negative).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "validation_failed", "{body}");
    assert!(body.to_string().contains("must not be negative"), "{body}");

    let res = put(&app, &key, json!({ "channel_fees": { "whatsapp_template_marketing": -5 } })).await;
    assert_eq!(res.status(), 422);
    let res = put(&app, &key, json!({ "modles": {} })).await;
    assert_eq!(res.status(), 422, "a misspelt key is an error, not silently ignored");
    let res = put(&app, &key, json!({ "channel_fees": { "widget": "free" } })).await;
    assert_eq!(res.status(), 422);

    let stored: Value = app.get("/api/v1/price-table", Some(&key)).await.json().await.unwrap();
    assert_eq!(stored["customized"], false, "nothing refused was stored");
    assert_eq!(app.get("/api/v1/price-table", None).await.status(), 401);
    assert_eq!(put(&app, "cfk_wrong", json!({})).await.status(), 401);
}

#[tokio::test]
async fn each_workspace_has_its_own_table() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let other = app.store.create_workspace("Other").await.unwrap();
    let other_key = app.api_key(other.id).await;
    let res = put(&app, &key, json!({ "models": {} })).await;
    assert_eq!(res.status(), 200);
    let mine: Value = app.get("/api/v1/price-table", Some(&key)).await.json().await.unwrap();
    let theirs: Value = app.get("/api/v1/price-table", Some(&other_key)).await.json().await.unwrap();
    assert_eq!(mine["models"], json!({}));
    assert_eq!(theirs["customized"], false);
    assert!(!theirs["models"].as_object().unwrap().is_empty());
}
