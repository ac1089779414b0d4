//! The HTTP core: health, readiness, API-key authentication and JSON errors.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::*;

#[tokio::test]
async fn health_and_readiness() {
    for backend in backends() {
        let app = spawn_app_on(backend).await;
        let health = app.get("/healthz", None).await;
        assert_eq!(health.status(), 200);
        assert_eq!(health.text().await.unwrap(), "ok");
        let ready = app.get("/readyz", None).await;
        assert_eq!(ready.status(), 200);
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        assert_eq!(body["database"], app.store.backend());
    }
}

#[tokio::test]
async fn whoami_answers_the_keys_workspace() {
    for backend in backends() {
        let app = spawn_app_on(backend).await;
        let key = app.api_key(app.workspace).await;
        let other = app.store.create_workspace("Other business").await.unwrap();
        let other_key = app.api_key(other.id).await;

        let res = app.get("/api/v1/whoami", Some(&key)).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["workspace"]["id"], app.workspace.to_string());
        assert_eq!(body["workspace"]["name"], "Test workspace");
        assert!(key.starts_with(body["api_key"]["prefix"].as_str().unwrap()));
        assert!(!body.to_string().contains(&key), "the key itself is never echoed");

        let body: Value = app.get("/api/v1/whoami", Some(&other_key)).await.json().await.unwrap();
        assert_eq!(body["workspace"]["name"], "Other business");
    }
}

#[tokio::test]
async fn missing_or_wrong_keys_get_401_json() {
    let app = spawn_app().await;
    for key in [None, Some("cfk_0000000000000000000000000000000000000000000000000000000000000000"), Some("")] {
        let res = app.get("/api/v1/whoami", key).await;
        assert_eq!(res.status(), 401, "{key:?}");
        let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
        assert!(!body["message"].as_str().unwrap().is_empty());
        assert_eq!(body["request_id"], request_id);
    }
    let res = app.client.get(app.url("/api/v1/whoami")).header("authorization", "Basic abc").send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_revoked_key_stops_working() {
    let app = spawn_app().await;
    let secret = confab_domain::ApiKeySecret::from_random([9; 32]);
    let key = app.store.create_api_key(app.workspace, "temp", &secret).await.unwrap();
    assert_eq!(app.get("/api/v1/whoami", Some(secret.secret.expose())).await.status(), 200);
    app.store.revoke_api_key(app.workspace, key.id).await.unwrap();
    assert_eq!(app.get("/api/v1/whoami", Some(secret.secret.expose())).await.status(), 401);
}

#[tokio::test]
async fn unknown_api_routes_are_json_404_and_request_ids_are_echoed() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/api/v1/nope")).header("x-request-id", "trace-123").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["x-request-id"], "trace-123");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    assert_eq!(body["request_id"], "trace-123");
}

/// Bodies over `max_body_bytes` are refused with 413 (JSON on the API), and nothing is stored.
#[tokio::test]
async fn oversize_bodies_are_refused_with_413() {
    let responder = std::sync::Arc::new(confab_engine::offline_responder::OfflineResponder::new());
    let app = spawn_app_with(Backend::Sqlite, responder, |s| s.max_body_bytes = 2048).await;
    let key = app.api_key(app.workspace).await;
    let big = serde_json::json!({ "name": "Desk", "system_prompt": "x".repeat(4096) });
    let res = app.client.post(app.url("/api/v1/assistants")).bearer_auth(&key).json(&big).send().await.unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "payload_too_large", "{body}");
    assert!(body["message"].as_str().unwrap().contains("max_body_bytes"));
    assert!(app.store.list_assistants(app.workspace).await.unwrap().is_empty(), "nothing was stored");

    let res = app.post_whatsapp(vec![b' '; 4096], Some("sha256=00")).await;
    assert_eq!(res.status(), 413, "a webhook body over the limit is refused before its signature is read");
}
