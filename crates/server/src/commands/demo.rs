//! `confab demo`: the server with a demo workspace and pretend customers, for a first look
//! without a Meta account. It makes (once) an assistant with a knowledge base and a WhatsApp
//! number, starts the fake Graph API from `crates/sim` on 127.0.0.1 (replies are "sent" there
//! and its status webhooks come back signed, as Meta's would), and lets a few simulated
//! customers write in every few seconds. The assistant answers with the configured LLM, or
//! with the offline responder from the knowledge base. Everything else is `confab serve`.

use crate::config::Settings;
use anyhow::Context;
use confab_domain::{
    DocumentFormat, KnowledgeBaseId, KnowledgeMode, PhoneNumber, Provider, ResponseDelay, Secret, SenderStatus,
    ToolName, WorkspaceId,
};
use confab_engine::chunking::chunk_document;
use confab_sim::fake_graph_api::{FakeGraphApi, FakeGraphConfig, StatusWebhook};
use confab_sim::meta_webhook::{messages_payload, sign, text_message, BusinessNumber, Customer};
use confab_storage::{NewAssistant, NewDocument, NewSender, Store};
use std::time::Duration;
use time::OffsetDateTime;

/// The demo number's Meta ids (made up; only the fake Graph API knows them).
const DEMO_PHONE_NUMBER_ID: &str = "100000000000001";
const DEMO_DISPLAY_NUMBER: &str = "15550100001";
const DEMO_ACCESS_TOKEN: &str = "demo-access-token";
const DEMO_ASSISTANT: &str = "Demo café assistant";

/// What the demo café's knowledge base says.
const DEMO_KNOWLEDGE: &str =
    "# Opening hours\n\nWe are open Monday to Friday from 8:00 to 18:00, and on Saturday from \
9:00 to 14:00. We are closed on Sundays and public holidays.\n\n# Delivery\n\nWe deliver within 5 km for a flat fee of \
$3. Orders over $30 are delivered free. Delivery takes about 40 minutes.\n\n# Menu\n\nCoffee, tea, fresh juices, \
sandwiches and pastries. Vegan and gluten-free pastries are marked on the menu.\n\n# Payments and refunds\n\nWe take \
cards and cash. A wrong or damaged order is refunded in full: reply with your order number.";

/// Who writes in, and what they ask, in turn.
const CUSTOMERS: [(&str, &str); 4] =
    [("16505550101", "Ana"), ("16505550102", "Bruno"), ("447700900103", "Chloé"), ("5511955550104", "Diego")];
const QUESTIONS: [&str; 8] = [
    "Hi! What are your opening hours on Saturday?",
    "Do you deliver? How much does delivery cost?",
    "Do you have vegan pastries?",
    "Can I pay by card?",
    "My order arrived damaged, can I get a refund?",
    "Are you open on Sunday?",
    "How long does delivery take?",
    "I'd like to talk to a person please",
];

pub async fn run(mut settings: Settings) -> anyhow::Result<()> {
    if settings.database_url == Settings::default().database_url {
        // a demo never mixes its pretend customers into the real database
        settings.database_url = "sqlite://./data/demo.db".into();
    }
    // the fake Graph API posts status webhooks back to us, signed with the demo's app secret
    let app_secret = settings.whatsapp_app_secret.clone().unwrap_or_else(|| Secret::new("confab-demo-app-secret"));
    settings.whatsapp_app_secret = Some(app_secret.clone());
    let base = format!("http://{}", settings.bind);
    let graph = FakeGraphApi::start(
        FakeGraphConfig::new()
            .with_number(DEMO_PHONE_NUMBER_ID, DEMO_DISPLAY_NUMBER, DEMO_ACCESS_TOKEN)
            .with_status_webhook(StatusWebhook::new(format!("{base}/webhooks/whatsapp"), app_secret.expose())),
    )
    .await
    .context("cannot start the fake WhatsApp Graph API on 127.0.0.1")?;
    settings.whatsapp_graph_url = graph.base_url();

    let store = super::open_store(&settings).await?;
    let workspace = store.ensure_default_workspace(&settings.default_workspace_name).await?;
    seed_demo_workspace(store.as_ref(), workspace.id).await?;
    drop(store);
    println!("confab demo: simulated customers will write to the demo number every few seconds.");
    println!("confab demo: open {base}/ (replies go to a fake WhatsApp API on {})", graph.base_url());

    let customers = tokio::spawn(simulate_customers(base, app_secret));
    let served = super::serve::run(settings).await;
    customers.abort();
    drop(graph);
    served
}

/// The demo assistant, its knowledge base and its number; nothing is made twice.
async fn seed_demo_workspace(store: &dyn Store, workspace_id: WorkspaceId) -> anyhow::Result<()> {
    if store.sender_by_provider_id(Provider::Meta, DEMO_PHONE_NUMBER_ID).await?.is_some() {
        return Ok(());
    }
    let kb = store.create_knowledge_base(workspace_id, "Demo café").await?;
    let chunks = chunk_document(DocumentFormat::Md, DEMO_KNOWLEDGE);
    let document = NewDocument {
        knowledge_base_id: kb.id,
        title: "About the café".into(),
        format: DocumentFormat::Md,
        content: DEMO_KNOWLEDGE.into(),
        chunks,
    };
    store.add_document(workspace_id, document).await?;
    let assistant = store.create_assistant(demo_assistant(workspace_id, kb.id)?).await?;
    store
        .create_sender(NewSender {
            workspace_id,
            provider: Provider::Meta,
            provider_sender_id: DEMO_PHONE_NUMBER_ID.into(),
            display_phone: PhoneNumber::parse(&format!("+{DEMO_DISPLAY_NUMBER}"))?,
            access_token: Secret::new(DEMO_ACCESS_TOKEN),
            assistant_id: assistant.id,
            ai_enabled: true,
            status: SenderStatus::Online,
        })
        .await?;
    Ok(())
}

fn demo_assistant(workspace_id: WorkspaceId, kb: KnowledgeBaseId) -> anyhow::Result<NewAssistant> {
    let mut assistant = NewAssistant::new(
        workspace_id,
        DEMO_ASSISTANT,
        "You are the friendly assistant of a small café. Answer from the knowledge base; when you cannot help, \
         hand the conversation to a person. It is {{current_time}}; the customer is {{customer_name}}.",
    );
    assistant.first_message = Some("Hi! I'm the café's assistant. How can I help?".into());
    assistant.fallback_message = Some("Thanks! A member of our team will answer you here shortly.".into());
    assistant.response_delay = ResponseDelay::from_millis(1_500)?;
    assistant.knowledge_base_ids = vec![kb];
    assistant.knowledge_mode = KnowledgeMode::Tool;
    assistant.tools = vec![ToolName::parse("transfer_to_human")?, ToolName::parse("end_conversation")?];
    assistant.extraction_schema = serde_json::json!({ "fields": [
        { "name": "topic", "type": "string", "description": "What the customer asked about" },
        { "name": "wants_refund", "type": "boolean", "description": "Whether the customer asked for a refund" },
    ] });
    Ok(assistant)
}

/// Every few seconds one of the customers asks the next question, as a signed Meta webhook.
async fn simulate_customers(base: String, app_secret: Secret) {
    let client = reqwest::Client::new();
    // wait for the server to answer
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let number = BusinessNumber {
        phone_number_id: DEMO_PHONE_NUMBER_ID.into(),
        display_phone_number: DEMO_DISPLAY_NUMBER.into(),
    };
    let run = OffsetDateTime::now_utc().unix_timestamp();
    for turn in 0usize.. {
        let (wa_id, name) = CUSTOMERS[turn % CUSTOMERS.len()];
        let question = QUESTIONS[(turn + turn / CUSTOMERS.len()) % QUESTIONS.len()];
        let customer = Customer { wa_id: wa_id.into(), name: name.into() };
        let wamid = format!("wamid.demo.{run}.{turn}");
        let message = text_message(&customer, &wamid, question, OffsetDateTime::now_utc());
        let signed = sign(app_secret.expose(), &messages_payload(&number, &[&customer], vec![message], vec![]));
        let sent = client
            .post(format!("{base}/webhooks/whatsapp"))
            .header(confab_channels::whatsapp::SIGNATURE_HEADER, &signed.signature)
            .header("content-type", "application/json")
            .body(signed.body)
            .send()
            .await;
        if let Err(err) = sent {
            tracing::warn!(error = %err, "demo customer could not reach the server");
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
}
