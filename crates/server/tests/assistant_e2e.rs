//! WhatsApp in → AI with a tool call → WhatsApp out, through the real server, a real
//! OpenAI-compatible client against the fake LLM, the turn worker and the outbox against the
//! fake Graph API — each driven one step at a time.

#![allow(clippy::unwrap_used)]

mod support;

use confab_assistant::{OpenAiClient, OpenAiConfig, PriceTable};
use confab_channels::whatsapp::GraphClient;
use confab_domain::{DeliveryStatus, Provider, Role, ToolName};
use confab_engine::clock::SystemClock;
use confab_engine::llm_responder::LlmResponder;
use confab_engine::meta_channel::MetaChannel;
use confab_engine::outbox::{Outbox, OutboxPolicy};
use confab_engine::send_pacing::SendPacing;
use confab_engine::turn_worker::{StepOutcome, TurnPolicy, TurnWorker};
use confab_sim::fake_graph_api::{FakeGraphApi, FakeGraphConfig, StatusWebhook};
use confab_sim::fake_llm::{FakeLlm, Step};
use confab_sim::meta_webhook::{messages_payload, text_message, BusinessNumber, Customer};
use confab_storage::NewSender;
use std::sync::Arc;
use support::*;
use time::OffsetDateTime;

#[tokio::test]
async fn whatsapp_in_a_tool_call_and_the_reply_out_with_costs() {
    let app = spawn_app().await;
    let mut new_assistant =
        confab_storage::NewAssistant::new(app.workspace, "Front desk", "You are {{assistant_name}}.");
    new_assistant.tools = vec![ToolName::parse("transfer_to_human").unwrap()];
    let assistant = app.store.create_assistant(new_assistant).await.unwrap();
    app.store
        .create_sender(NewSender {
            workspace_id: app.workspace,
            provider: Provider::Meta,
            provider_sender_id: "106540352242922".into(),
            display_phone: confab_domain::PhoneNumber::parse("+15550783881").unwrap(),
            access_token: confab_domain::Secret::new("EAAG-test-token"),
            assistant_id: assistant.id,
            ai_enabled: true,
            status: confab_domain::SenderStatus::Online,
        })
        .await
        .unwrap();
    let graph_fake = FakeGraphApi::start(
        FakeGraphConfig::new()
            .with_number("106540352242922", "15550783881", "EAAG-test-token")
            .with_status_webhook(StatusWebhook::new(app.url("/webhooks/whatsapp"), APP_SECRET)),
    )
    .await
    .unwrap();
    let llm = FakeLlm::start().await.unwrap();
    llm.script([
        Step::tool_call("transfer_to_human", serde_json::json!({ "reason": "refund request" })),
        Step::reply("A colleague from billing will reply here in a few minutes."),
    ]);

    let number =
        BusinessNumber { phone_number_id: "106540352242922".into(), display_phone_number: "15550783881".into() };
    let ana = Customer { wa_id: "16505551234".into(), name: "Ana".into() };
    let payload = messages_payload(
        &number,
        &[&ana],
        vec![text_message(&ana, "wamid.refund", "I want a refund", OffsetDateTime::now_utc())],
        vec![],
    );
    assert_eq!(app.post_signed(&payload).await.status(), 200);

    let client = Arc::new(OpenAiClient::new(OpenAiConfig::compatible(llm.base_url())).unwrap());
    let graph = GraphClient::new(&graph_fake.base_url(), "v23.0", std::time::Duration::from_secs(5)).unwrap();
    let meta = Arc::new(MetaChannel::new(graph));
    let turns = TurnWorker::new(
        app.store.clone(),
        Arc::new(LlmResponder::new(client, "gpt-4o-mini", PriceTable::default())),
        Arc::new(SystemClock),
        "w",
        TurnPolicy::default(),
        Arc::new(tokio::sync::Notify::new()),
    )
    .with_read_receipts(meta.clone());
    let outbox = Outbox::new(app.store.clone(), SendPacing::per_second(80), OutboxPolicy::default())
        .with_channel(Provider::Meta, meta);

    let StepOutcome::Committed(conversation_id) = turns.step().await.unwrap() else { panic!("a turn was due") };
    while outbox.step(OffsetDateTime::now_utc()).await.unwrap() > 0 {}
    let sent = graph_fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["text"]["body"], "A colleague from billing will reply here in a few minutes.");
    graph_fake.wait_for_status_posts(3).await.unwrap();

    let messages = app.store.list_messages(app.workspace, conversation_id, None, 50).await.unwrap();
    let roles: Vec<_> = messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Tool, Role::System, Role::Assistant]);
    let tool = messages[1].tool_call.as_ref().unwrap();
    assert_eq!(tool.name, "transfer_to_human");
    let reply = &messages[3];
    assert_eq!(reply.status, DeliveryStatus::Read, "the fake's status webhooks came back");
    assert!(reply.usage.unwrap().output_tokens > 0);
    let conversation = app.store.get_conversation(app.workspace, conversation_id).await.unwrap();
    assert!(conversation.total_cost.0 > 0);
    assert_eq!(conversation.total_cost, messages.iter().map(|m| m.cost).sum());
    assert!(!conversation.ai_enabled, "handed to a person as the tool asked");
}
