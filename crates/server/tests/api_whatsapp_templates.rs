//! `/api/v1/whatsapp/templates` (list, save, delete) and Meta's template status webhook.

#![allow(clippy::unwrap_used)]

mod support;

use confab_domain::{TemplateName, TemplateStatus};
use confab_storage::WebhookEventKind;
use serde_json::{json, Value};
use support::*;

async fn save(app: &TestApp, key: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = app.client.post(app.url("/api/v1/whatsapp/templates")).json(&body);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    req.send().await.unwrap()
}

async fn delete(app: &TestApp, key: Option<&str>, id: &str) -> reqwest::Response {
    let mut req = app.client.delete(app.url(&format!("/api/v1/whatsapp/templates/{id}")));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    req.send().await.unwrap()
}

fn order_update() -> Value {
    json!({ "name": "order_update", "language": "en_US", "category": "UTILITY", "body": "Hi {{1}}, order {{2}} has shipped." })
}

#[tokio::test]
async fn templates_are_saved_listed_replaced_and_deleted() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let res = save(&app, Some(&key), order_update()).await;
    assert_eq!(res.status(), 200);
    let saved: Value = res.json().await.unwrap();
    assert_eq!((saved["status"].as_str(), saved["category"].as_str()), (Some("APPROVED"), Some("UTILITY")));
    assert_eq!(
        (saved["body"].as_str(), saved["parameter_count"].as_u64()),
        (Some("Hi {{1}}, order {{2}} has shipped."), Some(2))
    );
    assert_eq!(saved["components"], json!([{ "type": "BODY", "text": "Hi {{1}}, order {{2}} has shipped." }]));
    assert_eq!(saved["twilio_content_sid"], Value::Null);

    let pending = json!({ "name": "winback", "language": "es", "category": "marketing", "status": "PENDING",
        "components": [{ "type": "BODY", "text": "Te extrañamos" }] });
    assert_eq!(save(&app, Some(&key), pending).await.status(), 200);
    let all: Value = app.get("/api/v1/whatsapp/templates", Some(&key)).await.json().await.unwrap();
    let names: Vec<_> = all["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["order_update", "winback"]);
    let approved: Value =
        app.get("/api/v1/whatsapp/templates?approved_only=true", Some(&key)).await.json().await.unwrap();
    assert_eq!(approved["items"].as_array().unwrap().len(), 1);
    assert_eq!(approved["items"][0]["id"], saved["id"]);

    // the same name and language replaces it
    let mut changed = order_update();
    changed["body"] = json!("Your order {{1}} is on its way.");
    changed["twilio_content_sid"] = json!("HXb5b62575e6e4ff6129ad7c8efe1f983e");
    let replaced: Value = save(&app, Some(&key), changed).await.json().await.unwrap();
    assert_eq!((&replaced["id"], replaced["parameter_count"].as_u64()), (&saved["id"], Some(1)));
    assert_eq!(replaced["twilio_content_sid"], "HXb5b62575e6e4ff6129ad7c8efe1f983e", "Twilio numbers can send it");

    // another workspace sees none of them and cannot delete them
    let other = app.store.create_workspace("Other").await.unwrap();
    let other_key = app.api_key(other.id).await;
    let theirs: Value = app.get("/api/v1/whatsapp/templates", Some(&other_key)).await.json().await.unwrap();
    assert_eq!(theirs["items"], json!([]));
    let id = saved["id"].as_str().unwrap();
    assert_eq!(delete(&app, Some(&other_key), id).await.status(), 404);

    assert_eq!(delete(&app, Some(&key), id).await.status(), 204);
    assert_eq!(delete(&app, Some(&key), id).await.status(), 404);
    assert_eq!(delete(&app, Some(&key), "not-an-id").await.status(), 404);
    let left: Value = app.get("/api/v1/whatsapp/templates", Some(&key)).await.json().await.unwrap();
    assert_eq!(left["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn templates_need_a_key_and_valid_fields() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/whatsapp/templates", None).await.status(), 401);
    assert_eq!(save(&app, None, order_update()).await.status(), 401);
    assert_eq!(delete(&app, None, &confab_domain::TemplateId::new().to_string()).await.status(), 401);

    let key = app.api_key(app.workspace).await;
    let bad = json!({ "name": "Order Update", "language": "en-US", "category": "PROMO", "status": "MAYBE", "body": " ",
        "twilio_content_sid": "HX-not-a-sid" });
    let res = save(&app, Some(&key), bad).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let mut fields: Vec<_> = body["fields"].as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["body", "category", "language", "name", "status", "twilio_content_sid"],
        "every bad field at once: {body}"
    );

    let both = json!({ "name": "a", "language": "en", "category": "UTILITY", "body": "x", "components": [{ "type": "BODY", "text": "x" }] });
    assert_eq!(save(&app, Some(&key), both).await.status(), 422);
    let neither = json!({ "name": "a", "language": "en", "category": "UTILITY" });
    assert_eq!(save(&app, Some(&key), neither).await.status(), 422);
    let unknown_field = json!({ "name": "a", "language": "en", "category": "UTILITY", "body": "x", "header": "y" });
    assert_eq!(save(&app, Some(&key), unknown_field).await.status(), 422);
    let long = json!({ "name": "a", "language": "en", "category": "UTILITY", "body": "x".repeat(1025) });
    assert_eq!(save(&app, Some(&key), long).await.status(), 422);
    let bad_query = app.get("/api/v1/whatsapp/templates?approved_only=perhaps", Some(&key)).await;
    assert_eq!(bad_query.status(), 422);
    let listed: Value = app.get("/api/v1/whatsapp/templates", Some(&key)).await.json().await.unwrap();
    assert_eq!(listed["items"], json!([]), "nothing refused was stored");
}

fn template_review(event: &str, name: &str, language: &str) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "time": 1751247548, "changes": [{
            "field": "message_template_status_update",
            "value": { "event": event, "message_template_id": 1689556908129832_u64, "message_template_name": name,
                "message_template_language": language, "reason": "NONE", "message_template_category": "UTILITY" }
        }] }]
    })
}

#[tokio::test]
async fn meta_template_reviews_update_a_known_templates_status() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let mut pending = order_update();
    pending["status"] = json!("PENDING");
    assert_eq!(save(&app, Some(&key), pending).await.status(), 200);
    let name = TemplateName::parse("order_update").unwrap();
    let status_of = |app: &TestApp| {
        let store = app.store.clone();
        let workspace = app.workspace;
        let name = name.clone();
        async move {
            let templates = store.list_templates(workspace, false).await.unwrap();
            templates.into_iter().find(|t| t.name == name).map(|t| t.status)
        }
    };

    assert_eq!(app.post_signed(&template_review("APPROVED", "order_update", "en_US")).await.status(), 200);
    assert_eq!(status_of(&app).await, Some(TemplateStatus::Approved));
    assert_eq!(app.post_signed(&template_review("PAUSED", "order_update", "en_US")).await.status(), 200);
    assert_eq!(status_of(&app).await, Some(TemplateStatus::Paused));
    // another language, an unknown template, an event confab does not track: nothing changes
    for (event, template, language) in
        [("APPROVED", "order_update", "es"), ("APPROVED", "never_saved", "en_US"), ("FLAGGED", "order_update", "en_US")]
    {
        assert_eq!(app.post_signed(&template_review(event, template, language)).await.status(), 200);
    }
    assert_eq!(status_of(&app).await, Some(TemplateStatus::Paused));
    assert_eq!(app.store.list_templates(app.workspace, false).await.unwrap().len(), 1, "reviews create nothing");
    // every review is still kept for inspection
    let kept = app.store.list_webhook_events(Some(app.workspace), Some(WebhookEventKind::Event), 10).await.unwrap();
    assert_eq!(kept.iter().filter(|e| e.field.as_deref() == Some("message_template_status_update")).count(), 5);
}
