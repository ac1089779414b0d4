//! confab's LLM clients against the fake LLM, end to end on 127.0.0.1: both wire formats for
//! text, tool-call round trips, parallel calls and cached-token usage; retries on 500, 429
//! (with `Retry-After`), 529 and proxy pages; no retries where they cannot help; the fallback
//! after persistent failures; timeouts and refused connections; and the fake's own checks
//! refusing malformed requests as the providers do.
//!
//! (These live in `sim`, not `assistant`: the fake speaks wire formats and must not depend on
//! the clients it checks, so `sim` takes `assistant` only as a dev-dependency.)

#![allow(clippy::unwrap_used)]

use confab_assistant::anthropic_wire::{self, AnthropicWireOptions};
use confab_assistant::openai_wire::{self, OpenAiWireOptions};
use confab_assistant::{
    AnthropicClient, AnthropicConfig, ChatMessage, ChatRequest, FinishReason, LlmClient, LlmErrorKind, OpenAiClient,
    OpenAiConfig, RetryPolicy, ToolCallRequest, ToolChoice, ToolSpec, WithFallback,
};
use confab_domain::{Secret, Usage};
use confab_sim::fake_llm::{FakeLlm, FakeLlmConfig, Step, WireFormat};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "sk-test-0123456789abcdef";

/// Retries that keep tests fast: 3 attempts, 1–4 ms apart, `Retry-After` up to 5 s.
fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        max_retry_after: Duration::from_secs(5),
        jitter: false,
    }
}

fn openai_client(fake: &FakeLlm) -> OpenAiClient {
    let config = OpenAiConfig::compatible(fake.base_url()).with_api_key(Secret::new(KEY)).with_retry(fast_retries());
    OpenAiClient::new(config).unwrap()
}

fn anthropic_client(fake: &FakeLlm) -> AnthropicClient {
    let config = AnthropicConfig::new(Secret::new(KEY)).with_base_url(fake.root_url()).with_retry(fast_retries());
    AnthropicClient::new(config).unwrap()
}

/// Both clients, each with the format it speaks and a model name of its provider.
fn both(fake: &FakeLlm) -> Vec<(Arc<dyn LlmClient>, WireFormat, &'static str)> {
    vec![
        (Arc::new(openai_client(fake)), WireFormat::OpenAi, "gpt-4o-mini"),
        (Arc::new(anthropic_client(fake)), WireFormat::Anthropic, "claude-3-5-haiku-latest"),
    ]
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            "check_availability",
            "Free tables for a date and party size.",
            json!({"type": "object", "properties": {"party_size": {"type": "integer"}, "date": {"type": "string"}}, "required": ["party_size"]}),
        ),
        ToolSpec::new(
            "get_weather",
            "Current weather in a city.",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        ),
    ]
}

fn ask(model: &str, text: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        system: "You are the assistant of Casa Pepe.".into(),
        messages: vec![ChatMessage::user(text)],
        tools: tools(),
        tool_choice: ToolChoice::Auto,
        temperature: Some(0.2),
        max_tokens: Some(200),
    }
}

fn expected_body(format: WireFormat, request: &ChatRequest) -> serde_json::Value {
    match format {
        WireFormat::OpenAi => openai_wire::request_body(request, &OpenAiWireOptions::default()),
        WireFormat::Anthropic => anthropic_wire::request_body(request, &AnthropicWireOptions::default()),
    }
}

#[tokio::test]
async fn text_replies_in_both_formats_with_exact_bodies_and_headers() {
    let fake = FakeLlm::start_with(FakeLlmConfig::new().with_api_key(KEY)).await.unwrap();
    for (client, format, model) in both(&fake) {
        let usage = Usage { input_tokens: 120, output_tokens: 9, cached_input_tokens: 0 };
        fake.push(Step::reply("¡Hola! ¿En qué puedo ayudarte?").with_usage(usage).answered_by(format!("{model}-2025")));
        let request = ask(model, "hola");
        let r = client.chat(&request).await.unwrap();
        assert_eq!(r.content.as_deref(), Some("¡Hola! ¿En qué puedo ayudarte?"));
        assert!(r.tool_calls.is_empty());
        assert_eq!((r.model, r.finish, r.usage), (format!("{model}-2025"), FinishReason::Stop, usage));
        assert!(r.discarded.is_empty());

        let recorded = fake.requests().pop().unwrap();
        assert_eq!((recorded.format, recorded.http_status), (format, 200));
        assert_eq!(recorded.body, expected_body(format, &request));
        assert_eq!(recorded.header("content-type"), Some("application/json"));
        match format {
            WireFormat::OpenAi => {
                assert_eq!(recorded.path, "/v1/chat/completions");
                assert_eq!(recorded.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
                assert_eq!(recorded.header("x-api-key"), None);
            }
            WireFormat::Anthropic => {
                assert_eq!(recorded.path, "/v1/messages");
                assert_eq!(recorded.header("x-api-key"), Some(KEY));
                assert_eq!(recorded.header("anthropic-version"), Some("2023-06-01"));
                assert_eq!(recorded.header("authorization"), None);
            }
        }
    }
}

#[tokio::test]
async fn azure_style_deployments_send_api_key_and_api_version() {
    let fake = FakeLlm::start_with(FakeLlmConfig::new()).await.unwrap();
    let config = OpenAiConfig::azure(fake.base_url(), Secret::new(KEY), "2024-10-21").with_retry(fast_retries());
    let r = OpenAiClient::new(config).unwrap().chat(&ask("gpt-4o-mini", "hi")).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("You said: hi"));
    let recorded = fake.requests().pop().unwrap();
    assert_eq!(recorded.path, "/v1/chat/completions?api-version=2024-10-21");
    assert_eq!((recorded.header("api-key"), recorded.header("authorization")), (Some(KEY), None));
    assert_eq!(recorded.body["max_completion_tokens"], 200);
}

#[tokio::test]
async fn an_empty_script_echoes_the_last_user_text() {
    let fake = FakeLlm::start().await.unwrap();
    let local = OpenAiClient::new(OpenAiConfig::compatible(fake.base_url())).unwrap();
    let r = local.chat(&ask("llama3.2", "what time do you open?")).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("You said: what time do you open?"));
    assert!(r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
    assert_eq!(fake.requests()[0].header("authorization"), None, "no key, no header");
    let r = anthropic_client(&fake).chat(&ask("claude-3-5-haiku-latest", "¿abrís hoy?")).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("You said: ¿abrís hoy?"));
    assert_eq!(fake.pending_steps(), 0);
}

#[tokio::test]
async fn a_tool_call_round_trip_in_both_formats() {
    let fake = FakeLlm::start().await.unwrap();
    for (client, format, model) in both(&fake) {
        fake.script([
            Step::tool_call("check_availability", json!({"party_size": 2, "date": "2025-06-13"})),
            Step::reply("We have a table at 21:30."),
        ]);
        let mut request = ask(model, "table for two tonight?");
        let first = client.chat(&request).await.unwrap();
        assert_eq!(first.content, None);
        assert_eq!(first.finish, FinishReason::ToolCalls);
        assert_eq!(first.tool_calls.len(), 1);
        let call = first.tool_calls[0].clone();
        assert_eq!(
            (call.name.as_str(), &call.arguments),
            ("check_availability", &json!({"party_size": 2, "date": "2025-06-13"}))
        );

        request.messages.push(ChatMessage::assistant_tool_calls(first.content.clone(), first.tool_calls.clone()));
        request.messages.push(ChatMessage::tool_result(&call.id, r#"{"available":true,"times":["21:30"]}"#));
        let second = client.chat(&request).await.unwrap();
        assert_eq!(second.content.as_deref(), Some("We have a table at 21:30."));

        // the fake accepted the history (its checks pair results with calls) and it is exact
        let recorded = fake.requests().pop().unwrap();
        assert_eq!(recorded.http_status, 200, "{format:?}");
        assert_eq!(recorded.body, expected_body(format, &request));
    }
}

#[tokio::test]
async fn parallel_tool_calls_and_their_grouped_results() {
    let fake = FakeLlm::start().await.unwrap();
    for (client, format, model) in both(&fake) {
        fake.push(
            Step::tool_call("get_weather", json!({"city": "Madrid"}))
                .and_tool_call("get_weather", json!({"city": "Lisboa"}))
                .with_text("I'll check both."),
        );
        let mut request = ask(model, "rain in Madrid or Lisboa?");
        let r = client.chat(&request).await.unwrap();
        assert_eq!(r.content.as_deref(), Some("I'll check both."));
        let cities: Vec<_> = r.tool_calls.iter().map(|c| c.arguments["city"].as_str().unwrap()).collect();
        assert_eq!(cities, ["Madrid", "Lisboa"]);
        assert_ne!(r.tool_calls[0].id, r.tool_calls[1].id);

        request.messages.push(ChatMessage::assistant_tool_calls(r.content.clone(), r.tool_calls.clone()));
        for call in &r.tool_calls {
            request.messages.push(ChatMessage::tool_result(
                &call.id,
                format!("{{\"city\":{},\"rain\":false}}", call.arguments["city"]),
            ));
        }
        let echo = client.chat(&request).await.unwrap();
        assert_eq!(echo.content.as_deref(), Some("You said: rain in Madrid or Lisboa?"));
        let body = fake.requests().pop().unwrap().body;
        match format {
            WireFormat::OpenAi => {
                let roles: Vec<_> =
                    body["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
                assert_eq!(roles, ["system", "user", "assistant", "tool", "tool"]);
            }
            WireFormat::Anthropic => {
                let last = &body["messages"][2];
                assert_eq!(last["role"], "user");
                assert_eq!(last["content"].as_array().unwrap().len(), 2, "both results in one user message");
            }
        }
    }
}

#[tokio::test]
async fn cached_tokens_are_reported_in_confab_terms_by_both() {
    let fake = FakeLlm::start().await.unwrap();
    let usage = Usage { input_tokens: 2_006, output_tokens: 300, cached_input_tokens: 1_920 };
    for (client, format, model) in both(&fake) {
        fake.push(Step::reply("ok").with_usage(usage));
        let r = client.chat(&ask(model, "hi")).await.unwrap();
        assert_eq!(r.usage, usage, "{format:?}");
        assert_eq!(r.billed().len(), 1);
    }
}

#[tokio::test]
async fn a_500_is_retried_and_then_answered() {
    let fake = FakeLlm::start().await.unwrap();
    for (client, _, model) in both(&fake) {
        let before = fake.requests().len();
        fake.script([Step::error(500, "The server had an error while processing your request."), Step::reply("ok")]);
        let r = client.chat(&ask(model, "hi")).await.unwrap();
        assert_eq!(r.content.as_deref(), Some("ok"));
        let statuses: Vec<_> = fake.requests()[before..].iter().map(|r| r.http_status).collect();
        assert_eq!(statuses, [500, 200]);
    }
    // Anthropic's 529 and a proxy's HTML page are retried the same way
    fake.script([
        Step::error(529, "Overloaded"),
        Step::error_body(502, "<html><h1>502 Bad Gateway</h1></html>"),
        Step::reply("ok"),
    ]);
    let r = anthropic_client(&fake).chat(&ask("claude-3-5-haiku-latest", "hi")).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("ok"));
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_as_long_as_retry_after_says() {
    let fake = FakeLlm::start().await.unwrap();
    // seconds, the standard header
    fake.script([Step::error(429, "Rate limit reached for requests").with_retry_after(1), Step::reply("ok")]);
    let client = anthropic_client(&fake);
    let r = client.chat(&ask("claude-3-5-haiku-latest", "hi")).await.unwrap();
    let requests = fake.requests();
    let waited = requests[1].at - requests[0].at;
    assert!(waited >= Duration::from_secs(1), "waited {waited:?}");
    assert!(r.latency >= Duration::from_secs(1));
    // milliseconds, OpenAI's finer header, wins over seconds
    fake.script([
        Step::error(429, "Rate limit reached for requests").with_retry_after(4).with_retry_after_ms(150),
        Step::reply("ok"),
    ]);
    openai_client(&fake).chat(&ask("gpt-4o-mini", "hi")).await.unwrap();
    let requests = fake.requests();
    let waited = requests[3].at - requests[2].at;
    assert!((Duration::from_millis(150)..Duration::from_secs(4)).contains(&waited), "waited {waited:?}");
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_ends_the_call_with_the_hint() {
    let fake = FakeLlm::start().await.unwrap();
    fake.push(Step::error(429, "Rate limit reached for requests").with_retry_after(120));
    let e = openai_client(&fake).chat(&ask("gpt-4o-mini", "hi")).await.unwrap_err();
    assert_eq!((e.kind(), e.attempts(), e.http_status()), (LlmErrorKind::RateLimited, 1, Some(429)));
    assert!(e.is_retryable(), "the caller may try again later");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(e.provider_code(), Some("rate_limit_exceeded"));
    assert_eq!(e.request_id(), Some(fake.requests()[0].request_id.as_str()));
}

#[tokio::test]
async fn retries_stop_after_max_attempts_and_say_so() {
    let fake = FakeLlm::start().await.unwrap();
    for (client, _, model) in both(&fake) {
        fake.script((0..3).map(|_| Step::error(503, "Service Unavailable")));
        let e = client.chat(&ask(model, "hi")).await.unwrap_err();
        assert_eq!((e.kind(), e.attempts(), e.http_status()), (LlmErrorKind::Server, 3, Some(503)));
        assert!(e.is_retryable());
        assert_eq!(e.message(), "Service Unavailable");
        assert!(e.billed().is_empty(), "failed requests are not billed");
    }
    assert_eq!(fake.pending_steps(), 0);
}

#[tokio::test]
async fn errors_that_retrying_cannot_fix_are_not_retried() {
    let fake = FakeLlm::start().await.unwrap();
    let quota = json!({"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                                 "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}});
    let cases = [
        (Step::error(400, "Invalid 'messages[1].content'"), LlmErrorKind::BadRequest),
        (Step::error(404, "The model `gpt-9` does not exist or you do not have access to it."), LlmErrorKind::NotFound),
        (Step::error_body(429, quota.to_string()), LlmErrorKind::QuotaExceeded),
        (Step::error(500, "retry me not").with_header("x-should-retry", "false"), LlmErrorKind::Server),
    ];
    let client = openai_client(&fake);
    for (step, kind) in cases {
        let before = fake.requests().len();
        fake.push(step);
        let e = client.chat(&ask("gpt-4o-mini", "hi")).await.unwrap_err();
        assert_eq!((e.kind(), e.attempts(), e.is_retryable()), (kind, 1, false), "{e}");
        assert_eq!(fake.requests().len(), before + 1);
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_never_shown() {
    let fake = FakeLlm::start_with(FakeLlmConfig::new().with_api_key("sk-right-key-0000")).await.unwrap();
    for (client, _, model) in both(&fake) {
        let e = client.chat(&ask(model, "hi")).await.unwrap_err();
        assert_eq!((e.kind(), e.http_status(), e.attempts()), (LlmErrorKind::Unauthorized, Some(401), 1));
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(KEY) && !shown.contains("0123456789abcdef") && !shown.contains("cdef."), "{shown}");
        assert!(e.request_id().is_some());
    }
    // OpenAI quotes the key back masked; the client masks what is left
    let openai_error = openai_client(&fake).chat(&ask("gpt-4o-mini", "hi")).await.unwrap_err();
    assert!(
        openai_error.message().starts_with("Incorrect API key provided: sk-[redacted]."),
        "{}",
        openai_error.message()
    );
}

#[tokio::test]
async fn malformed_tool_arguments_are_an_error_that_reports_the_billed_tokens() {
    let fake = FakeLlm::start().await.unwrap();
    let usage = Usage { input_tokens: 80, output_tokens: 12, cached_input_tokens: 0 };
    fake.push(
        Step::tool_call_raw("check_availability", r#"{"party_size": 2"#)
            .with_usage(usage)
            .answered_by("gpt-4o-mini-2024-07-18"),
    );
    let e = openai_client(&fake).chat(&ask("gpt-4o-mini", "hi")).await.unwrap_err();
    assert_eq!((e.kind(), e.attempts(), e.is_retryable()), (LlmErrorKind::MalformedToolArguments, 1, false));
    assert!(e.message().contains("check_availability"), "{}", e.message());
    assert_eq!(e.billed().len(), 1);
    assert_eq!((e.billed()[0].model.as_str(), e.billed()[0].usage), ("gpt-4o-mini-2024-07-18", usage));
}

#[tokio::test]
async fn persistent_failures_fall_back_to_another_provider_and_model() {
    let fake = FakeLlm::start().await.unwrap();
    fake.script((0..3).map(|_| Step::error(500, "The server had an error")));
    fake.push(Step::reply("from the fallback").answered_by("claude-3-5-haiku-20241022"));
    let client = WithFallback::new(Arc::new(openai_client(&fake)), Arc::new(anthropic_client(&fake)))
        .with_fallback_model("claude-3-5-haiku-latest");
    let r = client.chat(&ask("gpt-4o-mini", "hi")).await.unwrap();
    assert_eq!((r.content.as_deref(), r.model.as_str()), (Some("from the fallback"), "claude-3-5-haiku-20241022"));
    let requests = fake.requests();
    let formats: Vec<_> = requests.iter().map(|r| r.format).collect();
    assert_eq!(formats, [WireFormat::OpenAi, WireFormat::OpenAi, WireFormat::OpenAi, WireFormat::Anthropic]);
    assert_eq!(requests[3].body["model"], "claude-3-5-haiku-latest");
    assert_eq!(requests[0].body["model"], "gpt-4o-mini");

    // and when the fallback fails too, the error tells both stories
    fake.script((0..3).map(|_| Step::error(500, "primary down")));
    fake.script((0..3).map(|_| Step::error(529, "Overloaded")));
    let e = client.chat(&ask("gpt-4o-mini", "hi")).await.unwrap_err();
    assert_eq!(
        (e.provider(), e.kind(), e.attempts(), e.http_status()),
        ("anthropic", LlmErrorKind::Server, 6, Some(529))
    );
    assert_eq!(e.message(), "Overloaded (after the primary openai failed: primary down)");
}

#[tokio::test]
async fn a_slow_answer_times_out_on_every_attempt() {
    let fake = FakeLlm::start().await.unwrap();
    fake.script((0..2).map(|_| Step::reply("too late").with_latency(Duration::from_secs(30))));
    let config = OpenAiConfig::compatible(fake.base_url())
        .with_request_timeout(Duration::from_millis(150))
        .with_retry(RetryPolicy { max_attempts: 2, ..fast_retries() });
    let e = OpenAiClient::new(config).unwrap().chat(&ask("gpt-4o-mini", "hi")).await.unwrap_err();
    assert_eq!((e.kind(), e.attempts(), e.http_status()), (LlmErrorKind::Timeout, 2, None));
    assert!(e.is_retryable());
    assert!(e.message().starts_with("no answer within 150ms"), "{}", e.message());
    assert_eq!(fake.requests().len(), 2, "both attempts reached the fake");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = AnthropicConfig::new(Secret::new(KEY))
        .with_base_url(format!("http://127.0.0.1:{port}"))
        .with_retry(fast_retries());
    let e = AnthropicClient::new(config).unwrap().chat(&ask("claude-3-5-haiku-latest", "hi")).await.unwrap_err();
    assert_eq!((e.kind(), e.attempts(), e.http_status()), (LlmErrorKind::Connect, 3, None));
    assert!(!e.message().contains("127.0.0.1"), "no URL in the message: {}", e.message());
}

#[tokio::test]
async fn the_fake_refuses_malformed_requests_as_the_providers_do() {
    let fake = FakeLlm::start().await.unwrap();
    fake.push(Step::reply("never used"));
    // a tool call whose result never came
    let mut request = ask("gpt-4o-mini", "hi");
    request.messages.push(ChatMessage::assistant_tool_calls(
        None,
        vec![ToolCallRequest::new("call_1", "get_weather", json!({"city": "Madrid"}))],
    ));
    request.messages.push(ChatMessage::user("and?"));
    let e = openai_client(&fake).chat(&request).await.unwrap_err();
    assert_eq!((e.kind(), e.http_status(), e.attempts()), (LlmErrorKind::BadRequest, Some(400), 1));
    assert!(e.message().contains("did not have response messages: call_1"), "{}", e.message());
    let e = anthropic_client(&fake)
        .chat(&ChatRequest { model: "claude-3-5-haiku-latest".into(), ..request })
        .await
        .unwrap_err();
    assert_eq!((e.kind(), e.http_status()), (LlmErrorKind::BadRequest, Some(400)));
    assert!(e.message().contains("`tool_use` ids were found without `tool_result` blocks"), "{}", e.message());
    assert_eq!(fake.pending_steps(), 1, "refused requests use no step");

    // a forced tool that is not offered
    let request = ChatRequest { tool_choice: ToolChoice::Tool("nope".into()), ..ask("gpt-4o-mini", "hi") };
    let e = openai_client(&fake).chat(&request).await.unwrap_err();
    assert!(e.message().contains("'nope' not found"), "{}", e.message());

    // Anthropic insists on its version header; other paths are 404s
    let http = reqwest::Client::new();
    let body = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
    let response = http.post(format!("{}/v1/messages", fake.root_url())).json(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["error"]["message"], "anthropic-version: header is required");
    let response = http.post(format!("{}/v1/completions", fake.root_url())).json(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
}
