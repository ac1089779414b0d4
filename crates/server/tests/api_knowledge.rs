//! Knowledge bases and documents through the REST API: create, list, read, rename, delete,
//! add documents and search them; 401 without a key, 404 for another workspace's ids, 422 with
//! field errors; and the assistant's `knowledge_mode` and `knowledge_base_ids` checks.

#![allow(clippy::unwrap_used)]

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::*;

async fn send(app: &TestApp, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn ok_json(res: reqwest::Response, status: u16) -> Value {
    let code = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(code, status, "{body}");
    body
}

const GUIDE: &str = "# Opening hours\nWe are open Monday to Friday from 9:00 to 18:00.\n\n\
# Returns\nReturn any item within 30 days for a full refund.\n";

#[tokio::test]
async fn knowledge_bases_and_documents_round_trip_and_search() {
    for backend in backends() {
        let app = spawn_app_on(backend).await;
        let key = app.api_key(app.workspace).await;
        let key = Some(key.as_str());
        let kb = ok_json(
            send(&app, Method::POST, "/api/v1/knowledge-bases", key, Some(json!({ "name": " FAQ " }))).await,
            201,
        )
        .await;
        assert_eq!(kb["name"], "FAQ");
        let kb_path = format!("/api/v1/knowledge-bases/{}", kb["id"].as_str().unwrap());
        let listed = ok_json(send(&app, Method::GET, "/api/v1/knowledge-bases", key, None).await, 200).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        let renamed =
            ok_json(send(&app, Method::PATCH, &kb_path, key, Some(json!({ "name": "Store FAQ" }))).await, 200).await;
        assert_eq!(renamed["name"], "Store FAQ");
        assert_eq!(ok_json(send(&app, Method::GET, &kb_path, key, None).await, 200).await, renamed);

        let docs_path = format!("{kb_path}/documents");
        let doc = ok_json(
            send(
                &app,
                Method::POST,
                &docs_path,
                key,
                Some(json!({ "title": "Guide", "format": "md", "content": GUIDE })),
            )
            .await,
            201,
        )
        .await;
        assert_eq!(
            (doc["status"].as_str(), doc["chunk_count"].as_i64(), doc["format"].as_str()),
            (Some("ready"), Some(2), Some("md"))
        );
        let doc_path = format!("{docs_path}/{}", doc["id"].as_str().unwrap());
        let full = ok_json(send(&app, Method::GET, &doc_path, key, None).await, 200).await;
        assert_eq!(full["content"], GUIDE);
        let listed = ok_json(send(&app, Method::GET, &docs_path, key, None).await, 200).await;
        assert_eq!(listed["items"][0]["id"], doc["id"]);
        assert!(listed["items"][0].get("content").is_none(), "lists leave the text out");

        let found = ok_json(
            send(&app, Method::GET, &format!("{kb_path}/search?q=refund%3F%20\"*&limit=3"), key, None).await,
            200,
        )
        .await;
        let first = &found["items"][0];
        assert_eq!((first["heading"].as_str(), first["document_title"].as_str()), (Some("Returns"), Some("Guide")));
        assert!(first["text"].as_str().unwrap().contains("full refund"));
        let none =
            ok_json(send(&app, Method::GET, &format!("{kb_path}/search?q=NEAR%20-%20*"), key, None).await, 200).await;
        assert!(none["items"].as_array().unwrap().is_empty());

        // an assistant using it, in prompt mode
        let assistant = ok_json(
            send(
                &app,
                Method::POST,
                "/api/v1/assistants",
                key,
                Some(json!({ "name": "Desk", "system_prompt": "Help.", "knowledge_base_ids": [kb["id"]], "knowledge_mode": "prompt" })),
            )
            .await,
            201,
        )
        .await;
        assert_eq!(
            (assistant["knowledge_mode"].as_str(), &assistant["knowledge_base_ids"]),
            (Some("prompt"), &json!([kb["id"]]))
        );
        let assistant_path = format!("/api/v1/assistants/{}", assistant["id"].as_str().unwrap());
        let patched = ok_json(
            send(&app, Method::PATCH, &assistant_path, key, Some(json!({ "knowledge_mode": "tool" }))).await,
            200,
        )
        .await;
        assert_eq!(patched["knowledge_mode"], "tool");
        let plain = ok_json(
            send(&app, Method::POST, "/api/v1/assistants", key, Some(json!({ "name": "B", "system_prompt": "x" })))
                .await,
            201,
        )
        .await;
        assert_eq!(plain["knowledge_mode"], "tool", "the default");

        assert_eq!(send(&app, Method::DELETE, &doc_path, key, None).await.status(), 204);
        assert_eq!(send(&app, Method::GET, &doc_path, key, None).await.status(), 404);
        let gone = ok_json(send(&app, Method::GET, &format!("{kb_path}/search?q=refund"), key, None).await, 200).await;
        assert!(gone["items"].as_array().unwrap().is_empty(), "a deleted document is not found any more");
        assert_eq!(send(&app, Method::DELETE, &kb_path, key, None).await.status(), 204);
        assert_eq!(send(&app, Method::GET, &kb_path, key, None).await.status(), 404);
        let detached = ok_json(send(&app, Method::GET, &assistant_path, key, None).await, 200).await;
        assert_eq!(detached["knowledge_base_ids"], json!([]), "deleting a knowledge base detaches it");
    }
}

#[tokio::test]
async fn every_route_needs_a_key_and_hides_other_workspaces() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let other = app.store.create_workspace("Other").await.unwrap();
    let other_key = app.api_key(other.id).await;
    let kb = ok_json(
        send(&app, Method::POST, "/api/v1/knowledge-bases", Some(&key), Some(json!({ "name": "FAQ" }))).await,
        201,
    )
    .await;
    let kb_path = format!("/api/v1/knowledge-bases/{}", kb["id"].as_str().unwrap());
    let doc = ok_json(
        send(
            &app,
            Method::POST,
            &format!("{kb_path}/documents"),
            Some(&key),
            Some(json!({ "title": "T", "format": "txt", "content": "Parking is free." })),
        )
        .await,
        201,
    )
    .await;
    let doc_path = format!("{kb_path}/documents/{}", doc["id"].as_str().unwrap());
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/knowledge-bases".into(), None),
        (Method::POST, "/api/v1/knowledge-bases".into(), Some(json!({ "name": "x" }))),
        (Method::GET, kb_path.clone(), None),
        (Method::PATCH, kb_path.clone(), Some(json!({ "name": "x" }))),
        (Method::DELETE, kb_path.clone(), None),
        (Method::GET, format!("{kb_path}/search?q=parking"), None),
        (Method::GET, format!("{kb_path}/documents"), None),
        (Method::POST, format!("{kb_path}/documents"), Some(json!({ "title": "T", "format": "txt", "content": "x" }))),
        (Method::GET, doc_path.clone(), None),
        (Method::DELETE, doc_path.clone(), None),
    ];
    for (method, path, body) in &routes {
        let res = send(&app, method.clone(), path, None, body.clone()).await;
        assert_eq!(res.status(), 401, "{method} {path}");
        let res = send(&app, method.clone(), path, Some("cfk_wrong"), body.clone()).await;
        assert_eq!(res.status(), 401, "{method} {path} with a bad key");
    }
    // the other workspace sees none of it (its own list is empty; ids are not found)
    for (method, path, body) in routes.iter().skip(2) {
        let res = send(&app, method.clone(), path, Some(&other_key), body.clone()).await;
        let status = res.status();
        let error: Value = res.json().await.unwrap();
        assert_eq!(status, 404, "{method} {path}: {error}");
        assert_eq!(error["error"], "not_found");
    }
    let theirs = ok_json(send(&app, Method::GET, "/api/v1/knowledge-bases", Some(&other_key), None).await, 200).await;
    assert_eq!(theirs["items"], json!([]));
    for path in ["/api/v1/knowledge-bases/not-an-id", &format!("{kb_path}/documents/not-an-id")] {
        assert_eq!(send(&app, Method::GET, path, Some(&key), None).await.status(), 404);
    }
    // still there for its owner
    assert_eq!(send(&app, Method::GET, &doc_path, Some(&key), None).await.status(), 200);
    // an assistant of the other workspace cannot use this knowledge base
    let res = send(
        &app,
        Method::POST,
        "/api/v1/assistants",
        Some(&other_key),
        Some(json!({ "name": "Theirs", "system_prompt": "x", "knowledge_base_ids": [kb["id"]] })),
    )
    .await;
    let body = ok_json(res, 422).await;
    assert!(body["fields"]["knowledge_base_ids"].as_str().unwrap().contains("does not exist in this workspace"));
}

#[tokio::test]
async fn bad_input_is_422_with_field_errors() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let key = Some(key.as_str());
    let body =
        ok_json(send(&app, Method::POST, "/api/v1/knowledge-bases", key, Some(json!({ "name": "  " }))).await, 422)
            .await;
    assert!(body["fields"]["name"].is_string(), "{body}");
    let body = ok_json(send(&app, Method::POST, "/api/v1/knowledge-bases", key, Some(json!({}))).await, 422).await;
    assert_eq!(body["fields"]["name"], "name is required");
    let kb =
        ok_json(send(&app, Method::POST, "/api/v1/knowledge-bases", key, Some(json!({ "name": "FAQ" }))).await, 201)
            .await;
    let kb_path = format!("/api/v1/knowledge-bases/{}", kb["id"].as_str().unwrap());
    let body =
        ok_json(send(&app, Method::PATCH, &kb_path, key, Some(json!({ "name": "x".repeat(101) }))).await, 422).await;
    assert!(body["fields"]["name"].is_string());

    let docs = format!("{kb_path}/documents");
    let body = ok_json(
        send(&app, Method::POST, &docs, key, Some(json!({ "title": "", "format": "pdf", "content": " " }))).await,
        422,
    )
    .await;
    for field in ["title", "format", "content"] {
        assert!(body["fields"][field].is_string(), "{field}: {body}");
    }
    let body = ok_json(send(&app, Method::POST, &docs, key, Some(json!({}))).await, 422).await;
    assert_eq!(body["fields"]["content"], "content is required: the document's text");
    let too_big = "a".repeat(1024 * 1024 + 1);
    let body = ok_json(
        send(&app, Method::POST, &docs, key, Some(json!({ "title": "Big", "format": "txt", "content": too_big })))
            .await,
        422,
    )
    .await;
    assert!(body["fields"]["content"].as_str().unwrap().contains("at most 1048576 bytes"), "{body}");
    let body = ok_json(
        send(&app, Method::POST, &docs, key, Some(json!({ "title": "T", "format": "md", "content": "x", "extra": 1 })))
            .await,
        422,
    )
    .await;
    assert_eq!(body["error"], "validation_failed");

    let body = ok_json(send(&app, Method::GET, &format!("{kb_path}/search"), key, None).await, 422).await;
    assert!(body["fields"]["q"].is_string());
    let body = ok_json(send(&app, Method::GET, &format!("{kb_path}/search?q=x&limit=0"), key, None).await, 422).await;
    assert!(body["fields"]["limit"].is_string());

    let bad_mode = json!({ "name": "Desk", "system_prompt": "x", "knowledge_mode": "both", "knowledge_base_ids": [uuid::Uuid::now_v7()] });
    let body = ok_json(send(&app, Method::POST, "/api/v1/assistants", key, Some(bad_mode)).await, 422).await;
    assert_eq!(body["fields"]["knowledge_mode"], "knowledge_mode must be tool or prompt");
    assert!(body["fields"]["knowledge_base_ids"].as_str().unwrap().contains("does not exist"));
    let assistant = ok_json(
        send(&app, Method::POST, "/api/v1/assistants", key, Some(json!({ "name": "Desk", "system_prompt": "x" })))
            .await,
        201,
    )
    .await;
    let path = format!("/api/v1/assistants/{}", assistant["id"].as_str().unwrap());
    let body = ok_json(
        send(&app, Method::PATCH, &path, key, Some(json!({ "knowledge_base_ids": [kb["id"], kb["id"]] }))).await,
        422,
    )
    .await;
    assert!(body["fields"]["knowledge_base_ids"].as_str().unwrap().contains("twice"));
}
