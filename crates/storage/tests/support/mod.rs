//! Shared set-up for the conformance suite: a fresh database per test, and a workspace with an
//! assistant and a WhatsApp sender.

use confab_domain::*;
use confab_storage::*;
use std::sync::Arc;
use time::OffsetDateTime;

pub async fn sqlite_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("confab.db").display());
    let store = connect(&url).await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    (store, dir)
}

/// A fresh database on the server named by `CONFAB_TEST_POSTGRES_URL`, or `None` (with a
/// printed reason) when it is not set. Under `CI=true` a missing URL is a failure.
pub async fn postgres_store() -> Option<Arc<dyn Store>> {
    let Ok(base) = std::env::var("CONFAB_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but CONFAB_TEST_POSTGRES_URL is not set: the PostgreSQL suite must run in CI"
        );
        eprintln!("skipping the PostgreSQL case: set CONFAB_TEST_POSTGRES_URL=postgres://… to run it");
        return None;
    };
    let url = confab_storage::postgres::testing::fresh_database(&base).await.expect("create a test database");
    let store = connect(&url).await.expect("open postgres");
    store.migrate().await.expect("migrate postgres");
    Some(store)
}

pub struct Fixture {
    pub ws: WorkspaceId,
    pub assistant: Assistant,
    pub sender: Sender,
}

impl Fixture {
    pub async fn new(store: &Arc<dyn Store>) -> Self {
        let ws = store.create_workspace("Acme").await.unwrap().id;
        let assistant =
            store.create_assistant(NewAssistant::new(ws, "Front desk", "You help customers.")).await.unwrap();
        let sender = store.create_sender(meta_sender(ws, assistant.id)).await.unwrap();
        Self { ws, assistant, sender }
    }

    pub fn new_sender(&self) -> NewSender {
        meta_sender(self.ws, self.assistant.id)
    }

    pub fn inbound(&self, wamid: &str, phone: &str, text: &str) -> InboundMessage {
        InboundMessage {
            workspace_id: self.ws,
            role: Role::User,
            conversation_type: ConversationType::Whatsapp,
            assistant_id: self.assistant.id,
            sender_id: Some(self.sender.id),
            conversation_id: None,
            customer: CustomerIdentity::Whatsapp {
                wa_id: Some(PhoneNumber::parse(phone).unwrap()),
                business_scoped_user_id: None,
            },
            customer_name: Some("Ana".into()),
            provider_message_id: Some(wamid.into()),
            kind: MessageKind::Text,
            content: text.into(),
            payload: serde_json::json!({ "body": text }),
            reply_to: None,
            forwarded: false,
            sent_at: OffsetDateTime::now_utc(),
            response_delay: ResponseDelay::default(),
            wants_reply: true,
            system_note: None,
        }
    }
}

fn meta_sender(workspace_id: WorkspaceId, assistant_id: AssistantId) -> NewSender {
    NewSender {
        workspace_id,
        provider: Provider::Meta,
        provider_sender_id: "106540352242922".into(),
        display_phone: PhoneNumber::parse("+15550783881").unwrap(),
        access_token: Secret::new("EAAG-token"),
        assistant_id,
        ai_enabled: true,
        status: SenderStatus::Online,
    }
}

/// A one-message assistant reply answering through `seq`.
pub fn reply(seq: i64, text: &str) -> TurnCommit {
    let mut message = NewMessage::text(Role::Assistant, text);
    message.cost = MicroUsd(120);
    message.usage = Some(Usage { input_tokens: 10, output_tokens: 5, cached_input_tokens: 0 });
    TurnCommit { messages: vec![message], ..TurnCommit::nothing(seq) }
}

/// Times as both backends keep them (microseconds).
pub fn trunc(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000
}
