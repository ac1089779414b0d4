//! `GET /openapi.json`: an OpenAPI 3.1 document whose `$ref`s all resolve, that lists every
//! route the router serves and serves every route it lists. Routes are registered with
//! `utoipa_axum::routes!`, which puts them in the router and the document together; the one
//! way around that, a plain `.route(...)`, is caught here by scanning the sources.

#![allow(clippy::unwrap_used)]

mod support;

use confab_server::http::openapi::{NOT_API_ROUTES, PLAIN_ROUTES};
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::*;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json", None).await;
    assert_eq!(response.status(), 200, "the document is served without a key");
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// (method, path) of every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                all.push((method.to_string(), path.clone()));
            }
        }
    }
    all
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_every_ref_resolves() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."), "openapi is {}", doc["openapi"]);
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 20, "the document uses shared schemas");
    for reference in refs {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("{reference} is not local"));
        assert!(doc.pointer(pointer).is_some(), "{reference} does not resolve");
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                out.push(reference.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_api_operation_needs_the_key_and_documents_its_errors() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let api: Vec<_> = operations(&doc).into_iter().filter(|(_, path)| path.starts_with("/api/v1/")).collect();
    assert!(api.len() >= 20, "only {} /api/v1 operations documented", api.len());
    for (method, path) in api {
        let operation = &doc["paths"][&path][&method];
        let what = format!("{} {path}", method.to_uppercase());
        assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]), "{what} needs the bearer key");
        let responses = operation["responses"].as_object().unwrap();
        for status in ["400", "401", "429"] {
            assert!(responses.contains_key(status), "{what} documents no {status}");
        }
        assert!(responses.keys().any(|s| s.starts_with('2')), "{what} documents no success");
        if operation.get("requestBody").is_some() {
            assert!(responses.contains_key("422"), "{what} takes a body but documents no 422");
        }
        assert!(operation["tags"].as_array().is_some_and(|t| !t.is_empty()), "{what} has no tag");
        let answer = request(&app, &method, &path, None).await;
        assert_eq!(answer.status(), 401, "{what} without a key");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
    }
}

/// The document lists no route the router lacks.
#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let doc = document(&app).await;
    for (method, path) in operations(&doc) {
        let answer = request(&app, &method, &path, Some(&key)).await;
        let what = format!("{} {path}", method.to_uppercase());
        assert_ne!(answer.status(), 405, "{what} is documented but not served");
        let status = answer.status();
        let body = answer.text().await.unwrap();
        assert!(
            !(status == 404 && (body.is_empty() || body.contains("route not found"))),
            "{what} is documented but not served: {status} {body}"
        );
    }
}

/// The router serves no route the document lacks: every route goes through `routes!`, except
/// the few in `PLAIN_ROUTES`, which the document lists too.
#[tokio::test]
async fn every_route_the_router_serves_is_documented() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let sources = rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(sources.len() > 10);
    for file in sources {
        let text = std::fs::read_to_string(&file).unwrap();
        for call in [".route(", ".route_service(", ".nest_service("] {
            for (at, _) in text.match_indices(call) {
                let rest = text[at + call.len()..].trim_start();
                let path = rest.strip_prefix('"').and_then(|r| r.split('"').next());
                let allowed = path.is_some_and(|p| PLAIN_ROUTES.contains(&p) || NOT_API_ROUTES.contains(&p));
                assert!(
                    allowed,
                    "{}: `{call}` registers a route the OpenAPI document cannot see; register it with \
                     `utoipa_axum::routes!` (see the module doc of http/openapi.rs)",
                    file.display()
                );
            }
        }
    }
    for path in PLAIN_ROUTES {
        assert!(doc["paths"].get(path).is_some(), "{path} is served but not documented");
    }
    for path in NOT_API_ROUTES {
        assert!(!path.starts_with("/api/"), "{path} is an API route: document it");
    }
}

/// Odd input that schemathesis sends is answered with the API's JSON errors, not axum's text.
#[tokio::test]
async fn odd_input_is_answered_in_the_api_error_format() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let cases = [
        ("/api/v1/assistants/%FF", 400, None),
        ("/api/v1/webhook-events?limit=abc", 422, Some("limit")),
        ("/api/v1/webhook-events?limit=99999999999", 422, Some("limit")),
        ("/api/v1/conversations?limit=0", 422, Some("limit")),
        ("/api/v1/conversations?limit=5&limit=6", 422, Some("query")),
        ("/api/v1/conversations/export?limit=x", 422, Some("limit")),
        // PostgreSQL cannot store NUL in text: refused at the door, on every backend
        ("/api/v1/conversations?customer=a%00b", 422, Some("customer")),
    ];
    for (path, status, field) in cases {
        let answer = app.get(path, Some(&key)).await;
        assert_eq!(answer.status(), status, "{path}");
        let body: Value = answer.json().await.unwrap();
        assert!(body["request_id"].is_string(), "{path}: {body}");
        if let Some(field) = field {
            assert!(body["fields"][field].is_string(), "{path}: {body}");
        }
    }
    // the export takes the list's filters, `limit` included (it pages by itself)
    assert_eq!(app.get("/api/v1/conversations/export?limit=5", Some(&key)).await.status(), 200);
    let answer = app
        .client
        .post(app.url("/api/v1/assistants"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "name": "a", "system_prompt": "b", "response_delay_ms": "soon" }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let body: Value = answer.json().await.unwrap();
    assert!(body["fields"]["response_delay_ms"].as_str().unwrap().contains("is not valid"), "{body}");
    // nor a number PostgreSQL keeps as a decimal too large to read back as a float
    for bad in [
        serde_json::json!({ "name": "a\u{0}b", "system_prompt": "b" }),
        serde_json::json!({ "name": "a", "system_prompt": "b", "extraction_schema": { "x": 1.7976931348623155e308 } }),
    ] {
        let answer = app.client.post(app.url("/api/v1/assistants")).bearer_auth(&key).json(&bad).send().await.unwrap();
        assert_eq!(answer.status(), 422, "{bad}");
        let body: Value = answer.json().await.unwrap();
        assert!(body["fields"].as_object().is_some_and(|f| f.len() == 1), "{body}");
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// `method path` with any `{param}` replaced by a fresh id.
async fn request(app: &TestApp, method: &str, path: &str, key: Option<&str>) -> reqwest::Response {
    let concrete: String = path
        .split('/')
        .map(|part| if part.starts_with('{') { uuid::Uuid::now_v7().to_string() } else { part.to_string() })
        .collect::<Vec<_>>()
        .join("/");
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut builder = app.client.request(method, app.url(&concrete));
    if let Some(key) = key {
        builder = builder.bearer_auth(key);
    }
    builder.send().await.unwrap()
}
