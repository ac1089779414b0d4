//! Outbound WhatsApp end to end: API send → outbox → the fake Graph API (Meta's wire format)
//! → signed status webhooks back into the server; and every class of Meta error ending in the
//! right retry or failure state. The outbox is driven one step at a time.

#![allow(clippy::unwrap_used)]

mod support;

use confab_channels::whatsapp::GraphClient;
use confab_domain::{DeliveryStatus, MessageId, Provider, SenderStatus};
use confab_engine::clock::SystemClock;
use confab_engine::meta_channel::MetaChannel;
use confab_engine::offline_responder::OfflineResponder;
use confab_engine::outbox::{Outbox, OutboxPolicy};
use confab_engine::send_pacing::SendPacing;
use confab_engine::turn_worker::{StepOutcome, TurnPolicy, TurnWorker};
use confab_sim::fake_graph_api::{FakeGraphApi, FakeGraphConfig, StatusWebhook};
use confab_sim::meta_webhook::{messages_payload, text_message, BusinessNumber, Customer};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;
use time::{Duration, OffsetDateTime};

const PHONE_NUMBER_ID: &str = "106540352242922";

struct Rig {
    app: TestApp,
    fake: FakeGraphApi,
    outbox: Outbox,
    key: String,
    sender: confab_domain::Sender,
}

async fn rig() -> Rig {
    let app = spawn_app().await;
    let key = app.api_key(app.workspace).await;
    let sender = app.meta_sender(PHONE_NUMBER_ID).await;
    let config = FakeGraphConfig::new()
        .with_number(PHONE_NUMBER_ID, "15550783881", "EAAG-test-token")
        .with_status_webhook(StatusWebhook::new(app.url("/webhooks/whatsapp"), APP_SECRET));
    let fake = FakeGraphApi::start(config).await.expect("fake Graph API");
    let graph = GraphClient::new(&fake.base_url(), "v23.0", std::time::Duration::from_secs(5)).expect("client");
    let outbox = Outbox::new(app.store.clone(), SendPacing::per_second(80), OutboxPolicy::default())
        .with_channel(Provider::Meta, Arc::new(MetaChannel::new(graph)));
    Rig { app, fake, outbox, key, sender }
}

impl Rig {
    async fn customer_writes(&self, wa_id: &str) {
        let number =
            BusinessNumber { phone_number_id: PHONE_NUMBER_ID.into(), display_phone_number: "15550783881".into() };
        let customer = Customer { wa_id: wa_id.into(), name: "Ana".into() };
        let now = OffsetDateTime::now_utc();
        let payload = messages_payload(
            &number,
            &[&customer],
            vec![text_message(&customer, &format!("wamid.in.{wa_id}"), "hi", now)],
            vec![],
        );
        assert_eq!(self.app.post_signed(&payload).await.status(), 200);
    }

    /// Sends `text` through the API; returns the queued message's id.
    async fn api_send(&self, to: &str, text: &str) -> MessageId {
        let body = json!({ "sender_id": self.sender.id, "to": to, "text": text });
        let res = self
            .app
            .client
            .post(self.app.url("/api/v1/whatsapp/messages"))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        let queued: Value = res.json().await.unwrap();
        queued["message_ids"][0].as_str().unwrap().parse().unwrap()
    }

    async fn message(&self, id: MessageId) -> confab_domain::Message {
        let page = self
            .app
            .store
            .list_conversations(self.app.workspace, &Default::default(), confab_storage::PageRequest::first(100))
            .await
            .unwrap();
        for conversation in page.items {
            let messages = self.app.store.list_messages(self.app.workspace, conversation.id, None, 100).await.unwrap();
            if let Some(m) = messages.into_iter().find(|m| m.id == id) {
                return m;
            }
        }
        panic!("message {id} not found");
    }
}

#[tokio::test]
async fn a_reply_goes_out_through_the_graph_api_and_its_statuses_come_back() {
    let rig = rig().await;
    rig.customer_writes("16505551234").await;
    let id = rig.api_send("+16505551234", "Your order ships today.").await;
    assert_eq!(rig.outbox.step(OffsetDateTime::now_utc()).await.unwrap(), 1);

    let sent = rig.fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].phone_number_id, PHONE_NUMBER_ID);
    assert_eq!(sent[0].token.as_deref(), Some("EAAG-test-token"));
    assert_eq!(sent[0].body["to"], "16505551234");
    assert_eq!(sent[0].body["type"], "text");
    assert_eq!(sent[0].body["text"]["body"], "Your order ships today.");
    let wamid = sent[0].wamid.clone().expect("accepted");
    let message = rig.message(id).await;
    assert_eq!(message.provider_message_id.as_deref(), Some(wamid.as_str()));

    // the fake posts sent, delivered, read back to our webhook, signed
    rig.fake.wait_for_status_posts(3).await.expect("status webhooks");
    let message = rig.message(id).await;
    assert_eq!(message.status, DeliveryStatus::Read);
    assert_eq!(message.cost, confab_domain::MicroUsd::ZERO, "a reply inside the window is free");
    assert_eq!(rig.outbox.step(OffsetDateTime::now_utc()).await.unwrap(), 0, "nothing left to send");
}

#[tokio::test]
async fn templates_reach_meta_in_its_shape() {
    let rig = rig().await;
    let body = json!({ "sender_id": rig.sender.id, "to": "+16505550042", "template": "order_update", "language": "en_US", "parameters": ["Ana"] });
    let res = rig
        .app
        .client
        .post(rig.app.url("/api/v1/whatsapp/templates/send"))
        .bearer_auth(&rig.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "a template needs no open window");
    rig.outbox.step(OffsetDateTime::now_utc()).await.unwrap();
    let sent = rig.fake.sent();
    assert_eq!(sent[0].body["type"], "template");
    assert_eq!(sent[0].body["template"]["name"], "order_update");
    assert_eq!(sent[0].body["template"]["language"]["code"], "en_US");
    assert_eq!(sent[0].body["template"]["components"][0]["parameters"][0]["text"], "Ana");

    // Meta bills a template: its statuses report utility pricing, charged once at the
    // workspace's utility fee (the default table's, $0.004)
    rig.fake.wait_for_status_posts(3).await.expect("status webhooks");
    let wamid = sent[0].wamid.clone().expect("accepted");
    let message = rig.app.store.message_by_provider_id(rig.app.workspace, &wamid).await.unwrap().unwrap();
    assert_eq!(message.status, DeliveryStatus::Read);
    assert_eq!(message.cost, confab_domain::MicroUsd(4_000));
    let conversation = rig.app.store.get_conversation(rig.app.workspace, message.conversation_id).await.unwrap();
    assert_eq!(conversation.total_cost, confab_domain::MicroUsd(4_000));
}

/// (HTTP status, Meta code, whether the message waits for a retry)
const ERROR_CLASSES: &[(u16, i64, bool)] = &[
    (500, 2, true),
    (400, 130429, true),
    (400, 131056, true),
    (400, 131000, true),
    (400, 131047, false),
    (400, 131026, false),
    (400, 132001, false),
    (400, 100, false),
    (401, 190, false),
];

#[tokio::test]
async fn each_meta_error_class_ends_in_the_right_state() {
    let rig = rig().await;
    for (i, &(http_status, code, retried)) in ERROR_CLASSES.iter().enumerate() {
        let wa_id = format!("1650555{i:04}");
        rig.customer_writes(&wa_id).await;
        let id = rig.api_send(&wa_id, "hello").await;
        rig.fake.fail_next(1, http_status, code, "Injected by the test");
        let now = OffsetDateTime::now_utc();
        assert_eq!(rig.outbox.step(now).await.unwrap(), 1, "code {code}");
        let message = rig.message(id).await;
        assert_eq!(message.error.as_ref().and_then(|e| e.code), Some(code), "code {code} is recorded");
        if retried {
            assert_eq!(message.status, DeliveryStatus::Queued, "code {code} waits for a retry");
            // and succeeds on the retry once its time comes
            let retried_at = now + Duration::minutes(1);
            assert_eq!(rig.outbox.step(retried_at).await.unwrap(), 1, "code {code} retried");
            let message = rig.message(id).await;
            assert!(
                matches!(message.status, DeliveryStatus::Sent | DeliveryStatus::Delivered | DeliveryStatus::Read),
                "code {code}: {:?}",
                message.status
            );
        } else {
            assert_eq!(message.status, DeliveryStatus::Failed, "code {code} fails for good");
            assert_eq!(rig.outbox.step(now + Duration::hours(1)).await.unwrap(), 0, "code {code} is not retried");
        }
        let sender = rig.app.store.get_sender(rig.app.workspace, rig.sender.id).await.unwrap();
        assert_eq!(
            sender.status == SenderStatus::NeedsAttention,
            code == 190,
            "code {code}: sender status {:?}",
            sender.status
        );
    }
}

#[tokio::test]
async fn an_inbound_delivered_three_times_at_once_gets_one_reply() {
    let rig = rig().await;
    let number = BusinessNumber { phone_number_id: PHONE_NUMBER_ID.into(), display_phone_number: "15550783881".into() };
    let ana = Customer { wa_id: "16505551234".into(), name: "Ana".into() };
    let payload = messages_payload(
        &number,
        &[&ana],
        vec![text_message(&ana, "wamid.three", "is anyone there?", OffsetDateTime::now_utc())],
        vec![],
    );
    let posts = (0..3).map(|_| rig.app.post_signed(&payload));
    for res in futures_util::future::join_all(posts).await {
        assert_eq!(res.status(), 200);
    }
    let graph = GraphClient::new(&rig.fake.base_url(), "v23.0", std::time::Duration::from_secs(5)).unwrap();
    let turns = TurnWorker::new(
        rig.app.store.clone(),
        Arc::new(OfflineResponder::new()),
        Arc::new(SystemClock),
        "w",
        TurnPolicy::default(),
        Arc::new(tokio::sync::Notify::new()),
    )
    .with_read_receipts(Arc::new(MetaChannel::new(graph)));
    assert!(matches!(turns.step().await.unwrap(), StepOutcome::Committed(_)));
    assert_eq!(turns.step().await.unwrap(), StepOutcome::Idle, "one turn for three deliveries");
    while rig.outbox.step(OffsetDateTime::now_utc()).await.unwrap() > 0 {}
    let sent = rig.fake.sent();
    assert_eq!(sent.len(), 1, "exactly one reply reached WhatsApp");
    assert_eq!(sent[0].body["to"], "16505551234");
    assert_eq!(sent[0].body["text"]["body"], confab_engine::offline_responder::DEFAULT_HANDOVER_REPLY);
    // the customer saw blue ticks and "typing…" for the message being answered
    let read = rig.fake.read_marks().first().cloned().expect("a read receipt");
    assert_eq!(read.message_id.as_deref(), Some("wamid.three"));
    assert!(read.typing_indicator);
    assert_eq!(read.phone_number_id, PHONE_NUMBER_ID);
}
