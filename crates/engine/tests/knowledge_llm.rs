//! Knowledge bases with a model, end to end through a real OpenAI-compatible client against
//! the scripted fake LLM inside a real turn: in `tool` mode the model calls
//! `search_knowledge_base` and the tool message is stored with the passages it read; in
//! `prompt` mode the best passages for the customer's message are in the system prompt.

#![allow(clippy::unwrap_used)]

mod support;

use confab_assistant::{OpenAiClient, OpenAiConfig, PriceTable};
use confab_domain::*;
use confab_engine::chunking::chunk_document;
use confab_engine::clock::ManualClock;
use confab_engine::llm_responder::LlmResponder;
use confab_engine::tools::{ToolCatalog, SEARCH_KNOWLEDGE_BASE};
use confab_engine::turn_worker::{StepOutcome, TurnPolicy, TurnWorker};
use confab_sim::fake_llm::{FakeLlm, Step};
use confab_storage::*;
use serde_json::json;
use std::sync::Arc;
use support::Fixture;
use time::OffsetDateTime;

const GUIDE: &str = "# Opening hours\nWe are open Monday to Friday from 9:00 to 18:00.\n\n\
# Returns\nYou can return any item within 30 days with its receipt for a full refund.\n";

/// A fixture whose assistant uses one knowledge base holding [`GUIDE`], in `mode`.
async fn fixture(mode: KnowledgeMode) -> Fixture {
    let fx = Fixture::new(|_| {}).await;
    let kb = fx.store.create_knowledge_base(fx.ws, "FAQ").await.unwrap();
    let document = NewDocument {
        knowledge_base_id: kb.id,
        title: "Store guide".into(),
        format: DocumentFormat::Md,
        content: GUIDE.into(),
        chunks: chunk_document(DocumentFormat::Md, GUIDE),
    };
    fx.store.add_document(fx.ws, document).await.unwrap();
    let changes = AssistantChanges {
        knowledge_base_ids: Some(vec![kb.id]),
        knowledge_mode: Some(mode),
        ..AssistantChanges::default()
    };
    fx.store.update_assistant(fx.ws, fx.assistant.id, changes).await.unwrap();
    fx
}

/// A worker whose clock stands at `now`.
fn worker(fx: &Fixture, fake: &FakeLlm, now: OffsetDateTime) -> TurnWorker {
    let client = Arc::new(OpenAiClient::new(OpenAiConfig::compatible(fake.base_url())).unwrap());
    let responder = LlmResponder::new(client, "gpt-4o-mini", PriceTable::default())
        .with_tools(ToolCatalog::with_store(fx.store.clone()));
    TurnWorker::new(
        fx.store.clone(),
        Arc::new(responder),
        Arc::new(ManualClock::new(now)),
        "w",
        TurnPolicy::default(),
        Arc::new(tokio::sync::Notify::new()),
    )
}

#[tokio::test]
async fn the_model_searches_the_knowledge_base_and_the_tool_message_keeps_the_passages() {
    let fx = fixture(KnowledgeMode::Tool).await;
    let fake = FakeLlm::start().await.unwrap();
    fake.script([
        Step::tool_call(SEARCH_KNOWLEDGE_BASE, json!({ "query": "refund returns" })),
        Step::reply("You can return it within 30 days with the receipt."),
    ]);
    let now = OffsetDateTime::now_utc();
    let w = worker(&fx, &fake, now);
    let conv = fx.customer_writes("+16505551234", "Can I get my money back?", now).await;
    assert_eq!(w.step().await.unwrap(), StepOutcome::Committed(conv));

    let messages = fx.store.list_messages(fx.ws, conv, None, 50).await.unwrap();
    let roles: Vec<_> = messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Tool, Role::Assistant]);
    let call = messages[1].tool_call.as_ref().unwrap();
    assert_eq!(call.name, SEARCH_KNOWLEDGE_BASE);
    let passages = call.result.as_ref().unwrap()["passages"].as_array().unwrap().clone();
    assert_eq!(passages[0]["document"], "Store guide");
    assert_eq!(passages[0]["heading"], "Returns");
    assert!(passages[0]["text"].as_str().unwrap().contains("full refund"));
    assert_eq!(messages[2].content, "You can return it within 30 days with the receipt.");

    let requests = fake.requests();
    let offered: Vec<&str> =
        requests[0].body["tools"].as_array().unwrap().iter().filter_map(|t| t["function"]["name"].as_str()).collect();
    assert_eq!(offered, [SEARCH_KNOWLEDGE_BASE], "offered because the assistant has a knowledge base");
    let tool_result = requests[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .and_then(|m| m["content"].as_str())
        .unwrap()
        .to_string();
    assert!(tool_result.contains("full refund"), "the model read the passage: {tool_result}");
}

#[tokio::test]
async fn in_prompt_mode_the_best_passages_are_in_the_system_prompt() {
    let fx = fixture(KnowledgeMode::Prompt).await;
    let fake = FakeLlm::start().await.unwrap();
    fake.script([Step::reply("We open at 9:00.")]);
    let now = OffsetDateTime::now_utc();
    let w = worker(&fx, &fake, now);
    let conv = fx.customer_writes("+16505551234", "What are your opening hours?", now).await;
    assert_eq!(w.step().await.unwrap(), StepOutcome::Committed(conv));

    let request = &fake.requests()[0].body;
    assert!(request.get("tools").is_none_or(|t| t.as_array().is_none_or(Vec::is_empty)), "no search tool: {request}");
    let system = request["messages"][0]["content"].as_str().unwrap();
    assert!(system.starts_with("Help."), "{system}");
    assert!(system.contains("[1] Store guide > Opening hours\nWe are open Monday to Friday"), "{system}");
}
