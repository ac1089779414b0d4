//! A SQLite store with a workspace, an assistant and a Meta sender, and helpers to make
//! customers write — shared by the engine's integration tests.

#![allow(dead_code)]

use confab_domain::*;
use confab_storage::*;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub ws: WorkspaceId,
    pub assistant: Assistant,
    pub sender: Sender,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn new(assistant: impl FnOnce(&mut NewAssistant)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = connect(&format!("sqlite://{}", dir.path().join("db.sqlite").display())).await.unwrap();
        store.migrate().await.unwrap();
        let ws = store.create_workspace("Acme").await.unwrap().id;
        let mut new_assistant = NewAssistant::new(ws, "Desk", "Help.");
        assistant(&mut new_assistant);
        let assistant = store.create_assistant(new_assistant).await.unwrap();
        let sender = store
            .create_sender(NewSender {
                workspace_id: ws,
                provider: Provider::Meta,
                provider_sender_id: "106540352242922".into(),
                display_phone: PhoneNumber::parse("+15550783881").unwrap(),
                access_token: Secret::new("token"),
                assistant_id: assistant.id,
                ai_enabled: true,
                status: SenderStatus::Online,
            })
            .await
            .unwrap();
        Self { store, ws, assistant, sender, _dir: dir }
    }

    /// A customer message as the WhatsApp ingest builds it, sent `ago` before `now`.
    pub fn inbound(&self, phone: &str, text: &str, sent_at: OffsetDateTime, wants_reply: bool) -> InboundMessage {
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
            customer_name: None,
            provider_message_id: Some(format!("wamid.{}", MessageId::new())),
            kind: MessageKind::Text,
            content: text.into(),
            payload: serde_json::Value::Null,
            reply_to: None,
            forwarded: false,
            sent_at,
            response_delay: self.assistant.response_delay,
            wants_reply,
            system_note: None,
        }
    }

    /// The customer at `phone` writes `text` at `now`; returns the conversation.
    pub async fn customer_writes(&self, phone: &str, text: &str, now: OffsetDateTime) -> ConversationId {
        match self.store.ingest(&[self.inbound(phone, text, now, true)], now).await.unwrap()[0] {
            IngestOutcome::Stored { conversation_id, .. } => conversation_id,
            other => panic!("{other:?}"),
        }
    }

    /// A conversation whose customer last wrote `ago` (nothing due).
    pub async fn quiet_conversation(&self, ago: Duration) -> Conversation {
        let now = OffsetDateTime::now_utc();
        let inbound = self.inbound("+16505551234", "hi", now - ago, false);
        let IngestOutcome::Stored { conversation_id, .. } = self.store.ingest(&[inbound], now).await.unwrap()[0] else {
            panic!()
        };
        self.store.get_conversation(self.ws, conversation_id).await.unwrap()
    }

    pub async fn messages(&self, conversation: ConversationId) -> Vec<Message> {
        self.store.list_messages(self.ws, conversation, None, 500).await.unwrap()
    }
}
