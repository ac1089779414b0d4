//! HTTP tools through the REST API: CRUD with write-only header values, workspace scoping,
//! field errors, assistants enabling them by name — and one end to end turn in which the fake
//! LLM calls an HTTP tool that a fake API on 127.0.0.1 answers.

#![allow(clippy::unwrap_used)]

mod support;

use confab_assistant::{OpenAiClient, OpenAiConfig, PriceTable};
use confab_domain::Role;
use confab_engine::clock::SystemClock;
use confab_engine::llm_responder::LlmResponder;
use confab_engine::tools::{HttpToolClient, ToolCatalog};
use confab_engine::turn_worker::{StepOutcome, TurnPolicy, TurnWorker};
use confab_sim::fake_llm::{FakeLlm, Step};
use confab_sim::fake_upstream::{FakeUpstream, UpstreamReply};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

const SECRET: &str = "Bearer sk-live-never-shown";

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

fn tool_body(name: &str, url: &str) -> Value {
    json!({
        "name": name,
        "description": "Looks up an order by its number",
        "method": "GET",
        "url": url,
        "headers": { "Authorization": SECRET },
        "parameters": {
            "type": "object",
            "properties": { "order_id": { "type": "string", "description": "e.g. A-100" } },
            "required": ["order_id"],
        },
        "timeout_secs": 5,
    })
}

async fn field_errors(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "validation_failed");
    body["fields"].clone()
}

#[tokio::test]
async fn http_tools_are_created_listed_patched_and_deleted_without_showing_header_values() {
    for backend in backends() {
        let app = spawn_app_on(backend).await;
        let key = app.api_key(app.workspace).await;
        let res = send(
            &app,
            Method::POST,
            "/api/v1/tools",
            Some(&key),
            Some(tool_body("get_order", "https://api.example.com/orders/{order_id}")),
        )
        .await;
        assert_eq!(res.status(), 201);
        let text = res.text().await.unwrap();
        assert!(!text.contains("sk-live"), "header values are write-only: {text}");
        let created: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(created["name"], "get_order");
        assert_eq!(created["method"], "GET");
        assert_eq!(created["headers"], json!({ "authorization": "***" }));
        assert_eq!(created["timeout_secs"], 5);
        assert_eq!(created["parameters"]["required"], json!(["order_id"]));
        let path = format!("/api/v1/tools/{}", created["id"].as_str().unwrap());

        // defaults: GET, no headers, no parameters, 10 s
        let minimal = json!({ "name": "ping", "description": "Checks the API", "url": "https://api.example.com/ping" });
        let res = send(&app, Method::POST, "/api/v1/tools", Some(&key), Some(minimal)).await;
        assert_eq!(res.status(), 201);
        let ping: Value = res.json().await.unwrap();
        assert_eq!((ping["method"].clone(), ping["timeout_secs"].clone()), (json!("GET"), json!(10)));
        assert_eq!(ping["headers"], json!({}));

        let list: Value = app.get("/api/v1/tools", Some(&key)).await.json().await.unwrap();
        let names: Vec<_> = list["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["get_order", "ping"]);
        let text = app.get(&path, Some(&key)).await.text().await.unwrap();
        assert!(!text.contains("sk-live"));

        let res =
            send(&app, Method::PATCH, &path, Some(&key), Some(json!({ "method": "post", "timeout_secs": 30 }))).await;
        assert_eq!(res.status(), 200);
        let patched: Value = res.json().await.unwrap();
        assert_eq!((patched["method"].clone(), patched["timeout_secs"].clone()), (json!("POST"), json!(30)));
        assert_eq!(patched["url"], created["url"], "what was not given stays");
        assert_eq!(patched["headers"], json!({ "authorization": "***" }), "headers kept when not given");
        let stored =
            app.store.get_http_tool(app.workspace, created["id"].as_str().unwrap().parse().unwrap()).await.unwrap();
        assert_eq!(stored.definition.headers.iter().next().unwrap().1.expose(), SECRET, "the value itself is kept");
        let res = send(&app, Method::PATCH, &path, Some(&key), Some(json!({ "headers": { "X-Api-Key": "k2" } }))).await;
        let replaced: Value = res.json().await.unwrap();
        assert_eq!(replaced["headers"], json!({ "x-api-key": "***" }), "given headers replace them all");

        // a PATCH that would leave a placeholder undeclared is refused
        let res =
            send(&app, Method::PATCH, &path, Some(&key), Some(json!({ "url": "https://api.example.com/{sku}" }))).await;
        assert!(field_errors(res).await["url"].as_str().unwrap().contains("{sku}"));
        // renaming onto another tool's name conflicts
        let res = send(&app, Method::PATCH, &path, Some(&key), Some(json!({ "name": "ping" }))).await;
        assert_eq!(res.status(), 409);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "tool_name_taken");

        assert_eq!(send(&app, Method::DELETE, &path, Some(&key), None).await.status(), 204);
        assert_eq!(app.get(&path, Some(&key)).await.status(), 404);
        assert_eq!(send(&app, Method::DELETE, &path, Some(&key), None).await.status(), 404);
        assert_eq!(app.get("/api/v1/tools/not-a-uuid", Some(&key)).await.status(), 404);
    }
}

#[tokio::test]
async fn every_route_needs_a_key_and_another_workspaces_tool_is_not_found() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let other_workspace = app.store.create_workspace("Other").await.unwrap();
    let other_key = app.api_key(other_workspace.id).await;
    let res = send(
        &app,
        Method::POST,
        "/api/v1/tools",
        Some(&key),
        Some(tool_body("get_order", "https://a.example/{order_id}")),
    )
    .await;
    let path = format!("/api/v1/tools/{}", res.json::<Value>().await.unwrap()["id"].as_str().unwrap());

    for (method, route) in [
        (Method::GET, "/api/v1/tools"),
        (Method::POST, "/api/v1/tools"),
        (Method::GET, &path),
        (Method::PATCH, &path),
        (Method::DELETE, &path),
    ] {
        let res = send(&app, method.clone(), route, None, Some(json!({}))).await;
        assert_eq!(res.status(), 401, "{method} {route}");
    }
    assert_eq!(app.get(&path, Some(&other_key)).await.status(), 404);
    assert_eq!(
        send(&app, Method::PATCH, &path, Some(&other_key), Some(json!({ "timeout_secs": 3 }))).await.status(),
        404
    );
    assert_eq!(send(&app, Method::DELETE, &path, Some(&other_key), None).await.status(), 404);
    let theirs: Value = app.get("/api/v1/tools", Some(&other_key)).await.json().await.unwrap();
    assert_eq!(theirs["items"], json!([]));
    // the same name in another workspace is fine
    let res = send(
        &app,
        Method::POST,
        "/api/v1/tools",
        Some(&other_key),
        Some(tool_body("get_order", "https://b.example/{order_id}")),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(app.get(&path, Some(&key)).await.status(), 200, "untouched");
}

#[tokio::test]
async fn bad_definitions_are_refused_with_field_errors() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let post = |body: Value| send(&app, Method::POST, "/api/v1/tools", Some(&key), Some(body));
    let with = |field: &str, value: Value| {
        let mut body = tool_body("get_order", "https://api.example.com/orders/{order_id}");
        body[field] = value;
        body
    };

    let fields = field_errors(post(with("url", json!("ftp://api.example.com/x"))).await).await;
    assert!(fields["url"].as_str().unwrap().contains("http:// or https://"));
    let fields = field_errors(post(with("url", json!("https://api.example.com/orders/{sku}"))).await).await;
    assert!(fields["url"].as_str().unwrap().contains("`{sku}` is not declared"), "{fields}");
    let fields = field_errors(
        post(with(
            "parameters",
            json!({ "type": "object", "properties": { "order_id": { "type": "string", "pattern": "^A" } } }),
        ))
        .await,
    )
    .await;
    assert!(fields["parameters"].as_str().unwrap().contains("`pattern` is not supported"), "{fields}");
    let fields = field_errors(post(with("parameters", json!({ "type": "array" }))).await).await;
    assert!(fields["parameters"].as_str().unwrap().contains("root must be"), "{fields}");
    for timeout in [0, 31] {
        let fields = field_errors(post(with("timeout_secs", json!(timeout))).await).await;
        assert_eq!(fields["timeout_secs"], "timeout_secs must be between 1 and 30");
    }
    let fields = field_errors(post(with("name", json!("transfer_to_human"))).await).await;
    assert!(fields["name"].as_str().unwrap().contains("built-in"), "{fields}");
    let fields = field_errors(post(with("method", json!("HEAD"))).await).await;
    assert!(fields["method"].is_string());
    let fields = field_errors(post(with("headers", json!({ "Host": "evil.example" }))).await).await;
    assert!(fields["headers"].is_string());
    let fields = field_errors(post(json!({ "url": "https://a.example/x" })).await).await;
    assert_eq!(
        (fields["name"].as_str(), fields["description"].as_str()),
        (Some("name is required"), Some("description is required"))
    );

    assert_eq!(post(with("timeout_secs", json!(5))).await.status(), 201);
    let res = post(with("timeout_secs", json!(5))).await;
    assert_eq!(res.status(), 409, "duplicate name");
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "tool_name_taken");
}

#[tokio::test]
async fn assistants_enable_http_tools_by_name_and_unknown_names_are_refused() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let other_workspace = app.store.create_workspace("Other").await.unwrap();
    let other_key = app.api_key(other_workspace.id).await;
    send(&app, Method::POST, "/api/v1/tools", Some(&key), Some(tool_body("get_order", "https://a.example/{order_id}")))
        .await;

    let assistant = |tools: Value| json!({ "name": "Desk", "system_prompt": "Help.", "tools": tools });
    let res = send(
        &app,
        Method::POST,
        "/api/v1/assistants",
        Some(&key),
        Some(assistant(json!(["get_order", "end_conversation"]))),
    )
    .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    let res = send(&app, Method::POST, "/api/v1/assistants", Some(&key), Some(assistant(json!(["get_ordr"])))).await;
    assert!(field_errors(res).await["tools"].as_str().unwrap().contains("`get_ordr` is neither a built-in tool"));
    let res =
        send(&app, Method::PATCH, &format!("/api/v1/assistants/{id}"), Some(&key), Some(json!({ "tools": ["nope"] })))
            .await;
    assert!(field_errors(res).await["tools"].is_string());
    // another workspace's tool is not this workspace's to enable
    let res =
        send(&app, Method::POST, "/api/v1/assistants", Some(&other_key), Some(assistant(json!(["get_order"])))).await;
    assert!(field_errors(res).await["tools"].is_string());
}

#[tokio::test]
async fn whatsapp_in_the_model_calls_an_http_tool_and_answers_with_its_result() {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let upstream = FakeUpstream::start().await.unwrap();
    upstream.reply(UpstreamReply::json(200, json!({ "order_id": "A-100", "status": "shipped", "eta": "tomorrow" })));
    let url = format!("{}/orders/{{order_id}}", upstream.url());
    let res = send(&app, Method::POST, "/api/v1/tools", Some(&key), Some(tool_body("get_order", &url))).await;
    assert_eq!(res.status(), 201);
    let sender = app.meta_sender("106540352242922").await;
    let res = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/assistants/{}", sender.assistant_id),
        Some(&key),
        Some(json!({ "tools": ["get_order"] })),
    )
    .await;
    assert_eq!(res.status(), 200);

    let llm = FakeLlm::start().await.unwrap();
    llm.script([
        Step::tool_call("get_order", json!({ "order_id": "A-100" })),
        Step::reply("Your order A-100 has shipped and arrives tomorrow."),
    ]);
    let number = confab_sim::meta_webhook::BusinessNumber {
        phone_number_id: "106540352242922".into(),
        display_phone_number: "15550783881".into(),
    };
    let ana = confab_sim::meta_webhook::Customer { wa_id: "16505551234".into(), name: "Ana".into() };
    let payload = confab_sim::meta_webhook::messages_payload(
        &number,
        &[&ana],
        vec![confab_sim::meta_webhook::text_message(
            &ana,
            "wamid.order",
            "Where is A-100?",
            time::OffsetDateTime::now_utc(),
        )],
        vec![],
    );
    assert_eq!(app.post_signed(&payload).await.status(), 200);

    // the tools come from the store, sent through a client that may reach the fake on 127.0.0.1
    let settings =
        confab_server::config::Settings { http_tools_allowed_hosts: "127.0.0.1".into(), ..Default::default() };
    let http_tools = Arc::new(HttpToolClient::new(settings.http_tool_policy().unwrap()).unwrap());
    let catalog = ToolCatalog::with_store(app.store.clone()).with_http_tools(http_tools);
    let client = Arc::new(OpenAiClient::new(OpenAiConfig::compatible(llm.base_url())).unwrap());
    let turns = TurnWorker::new(
        app.store.clone(),
        Arc::new(LlmResponder::new(client, "gpt-4o-mini", PriceTable::default()).with_tools(catalog)),
        Arc::new(SystemClock),
        "w",
        TurnPolicy::default(),
        Arc::new(tokio::sync::Notify::new()),
    );
    let StepOutcome::Committed(conversation_id) = turns.step().await.unwrap() else { panic!("a turn was due") };

    let upstream_requests = upstream.requests();
    assert_eq!(upstream_requests.len(), 1);
    assert_eq!(upstream_requests[0].path, "/orders/A-100");
    assert_eq!(upstream_requests[0].header("authorization"), Some(SECRET));
    let first = &llm.requests()[0].body;
    assert_eq!(first["tools"][0]["function"]["name"], "get_order");
    assert_eq!(first["tools"][0]["function"]["parameters"]["required"], json!(["order_id"]));

    let messages = app.store.list_messages(app.workspace, conversation_id, None, 50).await.unwrap();
    let roles: Vec<_> = messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Tool, Role::Assistant]);
    let call = messages[1].tool_call.as_ref().unwrap();
    assert_eq!(call.name, "get_order");
    assert_eq!(call.arguments, json!({ "order_id": "A-100" }));
    assert_eq!(call.result.as_ref().unwrap()["body"]["status"], "shipped");
    assert_eq!(call.error, None);
    assert!(call.duration_ms >= 0);
    assert_eq!(messages[2].content, "Your order A-100 has shipped and arrives tomorrow.");

    // and the API shows the call with its arguments and result, never the secret
    let conversation =
        app.get(&format!("/api/v1/conversations/{conversation_id}"), Some(&key)).await.text().await.unwrap();
    assert!(conversation.contains("shipped"));
    assert!(!conversation.contains("sk-live"));
}
