//! HTTP tools inside real turns: the fake LLM calls a workspace's HTTP tool, the request goes
//! (or is refused) to a fake API on 127.0.0.1, and the call is recorded as a tool message.

#![allow(clippy::unwrap_used)]

mod support;

use confab_assistant::{OpenAiClient, OpenAiConfig, PriceTable, RetryPolicy};
use confab_domain::*;
use confab_engine::clock::ManualClock;
use confab_engine::llm_responder::LlmResponder;
use confab_engine::tools::{HttpToolClient, HttpToolPolicy, ToolCatalog};
use confab_engine::turn_worker::{StepOutcome, TurnPolicy, TurnWorker};
use confab_sim::fake_llm::{FakeLlm, Step};
use confab_sim::fake_upstream::{FakeUpstream, UpstreamReply};
use serde_json::{json, Value};
use std::sync::Arc;
use support::Fixture;
use time::OffsetDateTime;

const SECRET: &str = "Bearer sk-live-very-secret-123";

fn worker(fx: &Fixture, llm: &FakeLlm, policy: HttpToolPolicy) -> TurnWorker {
    let config = OpenAiConfig::compatible(llm.base_url())
        .with_retry(RetryPolicy { max_attempts: 1, ..RetryPolicy::no_retries() });
    let client = Arc::new(OpenAiClient::new(config).unwrap());
    let catalog =
        ToolCatalog::with_store(fx.store.clone()).with_http_tools(Arc::new(HttpToolClient::new(policy).unwrap()));
    let responder = LlmResponder::new(client, "gpt-4o-mini", PriceTable::default()).with_tools(catalog);
    TurnWorker::new(
        fx.store.clone(),
        Arc::new(responder),
        Arc::new(ManualClock::new(OffsetDateTime::now_utc())),
        "w",
        TurnPolicy::default(),
        Arc::new(tokio::sync::Notify::new()),
    )
}

async fn fixture() -> Fixture {
    Fixture::new(|a| {
        a.tools = vec![ToolName::parse("get_order").unwrap(), ToolName::parse("end_conversation").unwrap()]
    })
    .await
}

fn definition(method: HttpMethod, url: &str, timeout_secs: i64) -> HttpToolDefinition {
    HttpToolDefinition {
        name: ToolName::parse("get_order").unwrap(),
        description: "Looks up an order by its number".into(),
        method,
        url: UrlTemplate::parse(url).unwrap(),
        headers: HttpToolHeaders::parse([("Authorization".to_string(), SECRET.to_string())].into()).unwrap(),
        parameters: ParameterSchema::parse(json!({
            "type": "object",
            "properties": {
                "order_id": { "type": "string", "minLength": 3 },
                "verbose": { "type": "boolean" },
                "note": { "type": "string" },
            },
            "required": ["order_id"],
        }))
        .unwrap(),
        timeout: HttpToolTimeout::from_secs(timeout_secs).unwrap(),
    }
}

/// Runs one turn in which the model calls `get_order` with `arguments`, then answers; returns
/// the stored tool call and the text the model was given as the tool's result.
async fn turn_calling(fx: &Fixture, policy: HttpToolPolicy, arguments: Value) -> (Message, String) {
    let llm = FakeLlm::start().await.unwrap();
    llm.script([Step::tool_call("get_order", arguments), Step::reply("Here is what I found.")]);
    let conversation = fx.customer_writes("+16505551234", "Where is my order?", OffsetDateTime::now_utc()).await;
    assert_eq!(worker(fx, &llm, policy).step().await.unwrap(), StepOutcome::Committed(conversation));
    let requests = llm.requests();
    assert_eq!(requests.len(), 2, "the model saw the tool's outcome and answered");
    let tool_result =
        requests[1].body["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_string();
    let messages = fx.messages(conversation).await;
    let roles: Vec<_> = messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Tool, Role::Assistant]);
    (messages[1].clone(), tool_result)
}

#[tokio::test]
async fn http_tool_to_127_0_0_1_is_refused_by_default() {
    let fx = fixture().await;
    let upstream = FakeUpstream::start().await.unwrap();
    let url = format!("{}/orders/{{order_id}}", upstream.url());
    fx.store.create_http_tool(fx.ws, definition(HttpMethod::Get, &url, 5)).await.unwrap();

    let (message, seen) = turn_calling(&fx, HttpToolPolicy::public_only(), json!({ "order_id": "A-100" })).await;
    let call = message.tool_call.unwrap();
    assert_eq!(call.name, "get_order");
    assert_eq!(call.arguments, json!({ "order_id": "A-100" }));
    assert_eq!(call.result, None);
    let error = call.error.unwrap();
    assert!(error.contains("refused: 127.0.0.1 is a loopback address"), "{error}");
    assert!(seen.starts_with("error: refused"), "the model reads the refusal: {seen}");
    assert!(upstream.requests().is_empty(), "no request reached the server");
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_too() {
    let fx = fixture().await;
    let upstream = FakeUpstream::start().await.unwrap();
    let url = format!("http://localhost:{}/orders/{{order_id}}", upstream.addr().port());
    fx.store.create_http_tool(fx.ws, definition(HttpMethod::Get, &url, 5)).await.unwrap();

    let (message, _) = turn_calling(&fx, HttpToolPolicy::public_only(), json!({ "order_id": "A-100" })).await;
    let error = message.tool_call.unwrap().error.unwrap();
    assert!(error.contains("refused: localhost resolves to"), "{error}");
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn allowed_when_listed_with_the_secret_header_sent_and_never_stored() {
    let fx = fixture().await;
    let upstream = FakeUpstream::start().await.unwrap();
    upstream.reply(UpstreamReply::json(200, json!({ "order": "A 1/7", "status": "shipped" })));
    let url = format!("{}/orders/{{order_id}}?source=confab", upstream.url());
    fx.store.create_http_tool(fx.ws, definition(HttpMethod::Get, &url, 5)).await.unwrap();

    let policy = HttpToolPolicy::parse("127.0.0.1").unwrap();
    let (message, seen) = turn_calling(&fx, policy, json!({ "order_id": "A 1/7", "verbose": true })).await;

    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/orders/A%201%2F7", "the placeholder is percent-encoded");
    assert_eq!(requests[0].query.as_deref(), Some("source=confab&verbose=true"), "the other arguments as query");
    assert_eq!(requests[0].header("authorization"), Some(SECRET));

    let call = message.tool_call.clone().unwrap();
    assert_eq!(call.error, None);
    assert_eq!(call.result.unwrap(), json!({ "status": 200, "body": { "order": "A 1/7", "status": "shipped" } }));
    assert!(call.duration_ms >= 0);
    assert!(seen.contains("shipped"), "the model reads the response: {seen}");
    let stored = format!("{} {:?} {}", message.content, message.tool_call, message.payload);
    assert!(!stored.contains("sk-live"), "the secret header is never in the stored tool message");
}

#[tokio::test]
async fn post_sends_the_arguments_as_json_and_a_failing_status_is_a_tool_error() {
    let fx = fixture().await;
    let upstream = FakeUpstream::start().await.unwrap();
    upstream.reply(UpstreamReply::json(404, json!({ "error": "no such order" })));
    let url = format!("{}/orders/{{order_id}}/notes", upstream.url());
    fx.store.create_http_tool(fx.ws, definition(HttpMethod::Post, &url, 5)).await.unwrap();

    let policy = HttpToolPolicy::parse("127.0.0.1").unwrap();
    let (message, seen) = turn_calling(&fx, policy, json!({ "order_id": "A-100", "note": "leave at door" })).await;
    let requests = upstream.requests();
    assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("POST", "/orders/A-100/notes"));
    assert_eq!(requests[0].json(), json!({ "note": "leave at door" }));
    let error = message.tool_call.unwrap().error.unwrap();
    assert!(error.starts_with("the API answered HTTP 404"), "{error}");
    assert!(error.contains("no such order"), "{error}");
    assert!(seen.contains("404"));
}

#[tokio::test]
async fn invalid_arguments_never_reach_the_server() {
    let fx = fixture().await;
    let upstream = FakeUpstream::start().await.unwrap();
    let url = format!("{}/orders/{{order_id}}", upstream.url());
    fx.store.create_http_tool(fx.ws, definition(HttpMethod::Get, &url, 5)).await.unwrap();

    let policy = HttpToolPolicy::parse("127.0.0.1").unwrap();
    let (message, seen) = turn_calling(&fx, policy, json!({ "order_id": 42 })).await;
    let error = message.tool_call.unwrap().error.unwrap();
    assert_eq!(error, "invalid arguments, nothing was sent: `order_id` must be a string");
    assert!(seen.contains("must be a string"));
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn a_slow_api_times_out_as_a_tool_error() {
    let fx = fixture().await;
    let upstream = FakeUpstream::start().await.unwrap();
    upstream.reply(UpstreamReply::hang());
    let url = format!("{}/orders/{{order_id}}", upstream.url());
    fx.store.create_http_tool(fx.ws, definition(HttpMethod::Get, &url, 1)).await.unwrap();

    let policy = HttpToolPolicy::parse("127.0.0.1").unwrap();
    let (message, _) = turn_calling(&fx, policy, json!({ "order_id": "A-100" })).await;
    let call = message.tool_call.unwrap();
    assert_eq!(call.error.as_deref(), Some("the API did not answer within 1 s (the tool's timeout)"));
    assert!((1000..5000).contains(&call.duration_ms), "{}", call.duration_ms);
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test]
async fn an_oversized_response_is_capped_with_a_note() {
    let fx = fixture().await;
    let upstream = FakeUpstream::start().await.unwrap();
    upstream.reply(UpstreamReply::text(200, "x".repeat(300_000)));
    let url = format!("{}/orders/{{order_id}}", upstream.url());
    fx.store.create_http_tool(fx.ws, definition(HttpMethod::Get, &url, 5)).await.unwrap();

    let policy = HttpToolPolicy::parse("127.0.0.1").unwrap();
    let (message, _) = turn_calling(&fx, policy, json!({ "order_id": "A-100" })).await;
    let result = message.tool_call.unwrap().result.unwrap();
    assert_eq!(result["truncated"], true);
    let body = result["body"].as_str().unwrap();
    assert!(body.starts_with(&"x".repeat(65_536)));
    assert!(!body.contains(&"x".repeat(65_537)));
    assert!(body.ends_with("only the first 65536 are shown]"), "{}", &body[65_536..]);
}

#[tokio::test]
async fn an_ipv4_mapped_ipv6_literal_is_judged_by_its_ipv4_address() {
    let fx = fixture().await;
    let upstream = FakeUpstream::start().await.unwrap();
    let url = format!("http://[::ffff:127.0.0.1]:{}/orders/{{order_id}}", upstream.addr().port());
    fx.store.create_http_tool(fx.ws, definition(HttpMethod::Get, &url, 5)).await.unwrap();

    let (message, _) = turn_calling(&fx, HttpToolPolicy::public_only(), json!({ "order_id": "A-100" })).await;
    let error = message.tool_call.unwrap().error.unwrap();
    assert!(error.contains("is a loopback address"), "{error}");
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let fx = fixture().await;
    let upstream = FakeUpstream::start().await.unwrap();
    let mut redirect = UpstreamReply::text(302, "moved");
    redirect.content_type = "text/plain".into();
    upstream.reply(redirect);
    let url = format!("{}/orders/{{order_id}}", upstream.url());
    fx.store.create_http_tool(fx.ws, definition(HttpMethod::Get, &url, 5)).await.unwrap();

    let policy = HttpToolPolicy::parse("127.0.0.1").unwrap();
    let (message, _) = turn_calling(&fx, policy, json!({ "order_id": "A-100" })).await;
    let error = message.tool_call.unwrap().error.unwrap();
    assert!(error.starts_with("the API answered HTTP 302 (redirects are not followed)"), "{error}");
    assert_eq!(upstream.requests().len(), 1, "only the first hop");
}
