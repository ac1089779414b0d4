//! The LLM responder through a real OpenAI-compatible client against the scripted fake LLM,
//! inside a real turn: tools, cost and tokens recorded; an unreachable model hands over.

#![allow(clippy::unwrap_used)]

mod support;

use confab_assistant::{OpenAiClient, OpenAiConfig, PriceTable, RetryPolicy};
use confab_domain::*;
use confab_engine::clock::ManualClock;
use confab_engine::llm_responder::LlmResponder;
use confab_engine::turn_worker::{StepOutcome, TurnPolicy, TurnWorker};
use confab_sim::fake_llm::{FakeLlm, Step};
use std::sync::Arc;
use support::Fixture;
use time::OffsetDateTime;

async fn worker(fx: &Fixture, fake: &FakeLlm) -> TurnWorker {
    let config = OpenAiConfig::compatible(fake.base_url())
        .with_retry(RetryPolicy { max_attempts: 2, ..RetryPolicy::no_retries() });
    let client = Arc::new(OpenAiClient::new(config).unwrap());
    let responder = LlmResponder::new(client, "gpt-4o-mini", PriceTable::default());
    TurnWorker::new(
        fx.store.clone(),
        Arc::new(responder),
        Arc::new(ManualClock::new(OffsetDateTime::now_utc())),
        "w",
        TurnPolicy::default(),
        Arc::new(tokio::sync::Notify::new()),
    )
}

#[tokio::test]
async fn a_tool_call_is_run_recorded_and_answered_with_costs() {
    let fx = Fixture::new(|a| {
        a.system_prompt = "You are {{assistant_name}}. The customer is {{customer_phone}}.".into();
        a.tools = vec![ToolName::parse("transfer_to_human").unwrap()];
    })
    .await;
    let fake = FakeLlm::start().await.unwrap();
    fake.script([
        Step::tool_call("transfer_to_human", serde_json::json!({ "reason": "billing dispute" })),
        Step::reply("I've asked a colleague to join; they'll reply here shortly."),
    ]);
    let conv = fx.customer_writes("+16505551234", "I was charged twice!", OffsetDateTime::now_utc()).await;
    let w = worker(&fx, &fake).await;
    assert_eq!(w.step().await.unwrap(), StepOutcome::Committed(conv));

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0].body;
    assert_eq!(first["model"], "gpt-4o-mini");
    assert!(first["messages"][0]["content"].as_str().unwrap().contains("You are Desk. The customer is +16505551234."));
    assert!(first["messages"][0]["content"].as_str().unwrap().contains("WhatsApp formatting"));
    assert_eq!(first["tools"][0]["function"]["name"], "transfer_to_human");
    assert_eq!(requests[1].body["messages"].as_array().unwrap().last().unwrap()["role"], "tool");

    let messages = fx.messages(conv).await;
    let roles: Vec<_> = messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Tool, Role::System, Role::Assistant]);
    let tool = messages[1].tool_call.as_ref().unwrap();
    assert_eq!((tool.name.as_str(), tool.arguments["reason"].as_str()), ("transfer_to_human", Some("billing dispute")));
    assert_eq!(tool.result.as_ref().unwrap()["status"], "transferred");
    assert!(messages[1].usage.is_some() && messages[3].usage.is_some(), "every model call's tokens are kept");
    assert!(messages[1].cost.0 > 0 && messages[3].cost.0 > 0, "and priced");
    let conversation = fx.store.get_conversation(fx.ws, conv).await.unwrap();
    assert_eq!(conversation.total_cost, messages.iter().map(|m| m.cost).sum());
    assert!(conversation.total_tokens > 0);
    assert!(!conversation.ai_enabled, "transferred to a person");
}

#[tokio::test]
async fn an_llm_that_keeps_failing_hands_over_with_the_fallback() {
    let fx = Fixture::new(|a| a.fallback_message = Some("Sorry, a colleague will answer you soon.".into())).await;
    let fake = FakeLlm::start().await.unwrap();
    fake.script([Step::error(500, "upstream exploded"), Step::error(500, "upstream exploded")]);
    let conv = fx.customer_writes("+16505551234", "hello", OffsetDateTime::now_utc()).await;
    worker(&fx, &fake).await.step().await.unwrap();
    assert_eq!(fake.requests().len(), 2, "retried once, then gave up");
    let messages = fx.messages(conv).await;
    let texts: Vec<_> = messages.iter().map(|m| (m.role, m.content.as_str())).collect();
    assert_eq!(texts[1], (Role::Assistant, "Sorry, a colleague will answer you soon."));
    assert_eq!(texts[2].0, Role::System);
    assert!(texts[2].1.contains("could not reach its LLM"));
    assert_eq!(messages[1].payload["llm_error"], "server", "the metrics count it by kind");
    assert!(!fx.store.get_conversation(fx.ws, conv).await.unwrap().ai_enabled);
}

#[tokio::test]
async fn the_model_can_end_the_conversation() {
    let fx = Fixture::new(|a| a.tools = vec![ToolName::parse("end_conversation").unwrap()]).await;
    let fake = FakeLlm::start().await.unwrap();
    fake.script([
        Step::tool_call("end_conversation", serde_json::json!({ "summary": "order status given" })),
        Step::reply("Have a great day!"),
    ]);
    let conv = fx.customer_writes("+16505551234", "that's all, thanks", OffsetDateTime::now_utc()).await;
    worker(&fx, &fake).await.step().await.unwrap();
    let conversation = fx.store.get_conversation(fx.ws, conv).await.unwrap();
    assert_eq!(conversation.status, ConversationStatus::Ended);
    let messages = fx.messages(conv).await;
    assert!(messages.iter().any(|m| m.role == Role::System && m.content.contains("order status given")));
    assert_eq!(messages.last().unwrap().content, "Have a great day!");
}

/// A responder with a default provider and a named one (`local`), each a fake LLM.
fn routed_worker(fx: &Fixture, default: &FakeLlm, local: &FakeLlm) -> TurnWorker {
    let client = |fake: &FakeLlm| Arc::new(OpenAiClient::new(OpenAiConfig::compatible(fake.base_url())).unwrap());
    let responder = LlmResponder::new(client(default), "gpt-4o-mini", PriceTable::default()).with_named_provider(
        "local",
        client(local),
        Some("llama3.2".into()),
    );
    TurnWorker::new(
        fx.store.clone(),
        Arc::new(responder),
        Arc::new(ManualClock::new(OffsetDateTime::now_utc())),
        "w",
        TurnPolicy::default(),
        Arc::new(tokio::sync::Notify::new()),
    )
}

#[tokio::test]
async fn an_assistant_that_names_a_provider_is_answered_by_it() {
    let fx = Fixture::new(|a| a.provider = Some("local".into())).await;
    let (default, local) = (FakeLlm::start().await.unwrap(), FakeLlm::start().await.unwrap());
    local.script([Step::reply("Hi from the local model.")]);
    let conv = fx.customer_writes("+16505551234", "hello", OffsetDateTime::now_utc()).await;
    assert_eq!(routed_worker(&fx, &default, &local).step().await.unwrap(), StepOutcome::Committed(conv));
    assert!(default.requests().is_empty(), "the default provider was not asked");
    assert_eq!(local.requests()[0].body["model"], "llama3.2", "the named provider's default model");
    assert_eq!(fx.messages(conv).await.last().unwrap().content, "Hi from the local model.");
}

#[tokio::test]
async fn an_assistant_that_names_an_unconfigured_provider_hands_over_and_says_why() {
    let fx = Fixture::new(|a| {
        a.provider = Some("anthropic".into());
        a.fallback_message = Some("A colleague will answer shortly.".into());
    })
    .await;
    let (default, local) = (FakeLlm::start().await.unwrap(), FakeLlm::start().await.unwrap());
    let conv = fx.customer_writes("+16505551234", "hello", OffsetDateTime::now_utc()).await;
    assert_eq!(routed_worker(&fx, &default, &local).step().await.unwrap(), StepOutcome::Committed(conv));
    assert!(default.requests().is_empty() && local.requests().is_empty());
    let messages = fx.messages(conv).await;
    assert_eq!(messages[1].content, "A colleague will answer shortly.");
    assert_eq!(messages[1].role, Role::Assistant);
    assert!(
        messages[2].content.contains("`anthropic`, which this server does not configure"),
        "{}",
        messages[2].content
    );
    assert!(!fx.store.get_conversation(fx.ws, conv).await.unwrap().ai_enabled);
}

#[tokio::test]
async fn an_ended_conversation_is_extracted_with_the_assistants_schema() {
    use confab_engine::extraction::{ExtractionWorker, LlmExtractor, RECORD_OUTCOME};
    let fx = Fixture::new(|a| {
        a.tools = vec![ToolName::parse("end_conversation").unwrap()];
        a.extraction_schema = serde_json::json!({ "fields": [
            { "name": "order_id", "type": "string", "description": "The order number" },
            { "name": "refund_requested", "type": "boolean" },
            { "name": "items", "type": "integer" },
        ] });
    })
    .await;
    let fake = FakeLlm::start().await.unwrap();
    fake.script([
        Step::tool_call("end_conversation", serde_json::json!({ "summary": "refund arranged" })),
        Step::reply("Done, your refund is on its way."),
        Step::tool_call(
            RECORD_OUTCOME,
            serde_json::json!({ "status": "resolved", "summary": "Refund for order 1234.", "order_id": "1234",
                                "refund_requested": true, "items": "two" }),
        ),
    ]);
    let conv = fx.customer_writes("+16505551234", "Refund order 1234 please", OffsetDateTime::now_utc()).await;
    assert_eq!(worker(&fx, &fake).await.step().await.unwrap(), StepOutcome::Committed(conv));
    let cost_before = fx.store.get_conversation(fx.ws, conv).await.unwrap().total_cost;

    let client = Arc::new(OpenAiClient::new(OpenAiConfig::compatible(fake.base_url())).unwrap());
    let routes = LlmResponder::new(client, "gpt-4o-mini", PriceTable::default()).routes();
    let extraction =
        ExtractionWorker::new(fx.store.clone(), Arc::new(LlmExtractor::new(routes, PriceTable::default())));
    assert_eq!(extraction.step(OffsetDateTime::now_utc()).await.unwrap(), 1);
    assert_eq!(extraction.step(OffsetDateTime::now_utc()).await.unwrap(), 0, "once");

    let requests = fake.requests();
    let request = &requests.last().unwrap().body;
    assert_eq!(request["tool_choice"]["function"]["name"], RECORD_OUTCOME);
    let schema = &request["tools"][0]["function"]["parameters"]["properties"];
    assert!(schema["order_id"].is_object() && schema["status"]["enum"].is_array(), "{schema}");
    assert!(request["messages"][1]["content"].as_str().unwrap().contains("Customer: Refund order 1234 please"));

    let conversation = fx.store.get_conversation(fx.ws, conv).await.unwrap();
    assert_eq!(conversation.extraction, ExtractionStatus::Done);
    assert_eq!(conversation.extracted["status"], "resolved");
    assert_eq!(conversation.extracted["order_id"], "1234");
    assert_eq!(conversation.extracted["refund_requested"], true);
    assert!(conversation.extracted["items"].is_null(), "a value of the wrong type is dropped");
    assert!(conversation.total_cost > cost_before, "the extraction's model call is paid for");
}
